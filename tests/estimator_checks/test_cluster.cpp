// The estimator check suite over k-means (k-means++ and k-means|| seeding) and the variational Gaussian mixture
// (checks in estimator_checks.hpp, shared adapter helpers in adapters.hpp).

#include "estimator_checks/adapters.hpp"

#include "pml/models/cluster/kmeans.hpp"
#include "pml/models/cluster/variational_gaussian_mixture.hpp"

namespace {

using namespace pml_test::estimator;

template <pml::KMeansInit Init> struct KMeansAdapter : AdapterDefaults {
  static constexpr const char* name = Init == pml::KMeansInit::k_means_plus_plus ? "KMeans" : "KMeans(k-means||)";
  static constexpr const char* function = "KMeans";
  static constexpr std::array arguments{"x", "clusters", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    pml::KMeans<T> km({.clusters = p.k, .init = Init});
    km.fit(p.x, seed, weights_of(p));
    const auto order = order_by_first_column<T>(km.centres());
    return {location("centres", rows_in<T>(km.centres(), order)),
            scaled("inertia", double(km.inertia()), 2),
            discrete("predict(query)", relabel(km.predict(p.query), order)),
            scaled("transform(query) (squared distances)", cols_in<T>(km.transform(p.query), order), 2, true),
            scaled("score(query)", double(km.score(p.query)), 2, true)};
  }
};

struct VariationalGaussianMixtureAdapter : AdapterDefaults {
  static constexpr const char* name = "VariationalGaussianMixture";
  static constexpr const char* function = "VariationalGaussianMixture";
  static constexpr std::array arguments{"x", "components", "degrees_of_freedom"};
  static constexpr Index wide = 200;  // D x D scale matrices per component
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    // reg_covar: as for GaussianMixture (an absolute amount: off on the standard data)
    pml::VariationalGaussianMixture<T> vg({.components = p.k, .reg_covar = p.degenerate ? T(1e-6) : T(0), .tolerance = T(1e-12), .max_iterations = 300});
    vg.fit(p.x, seed);
    const auto order = order_by_first_column<T>(vg.means());
    Matrix<T> cov(p.k * p.x.cols(), p.x.cols());
    for (std::size_t i = 0; i < order.size(); ++i) cov.middleRows(Index(i) * p.x.cols(), p.x.cols()) = vg.covariance(order[i]);
    const Vector<T> w = vg.weights();
    Vector<T> wo(w.size());
    for (std::size_t i = 0; i < order.size(); ++i) wo(Index(i)) = w(order[i]);
    return {location("means", rows_in<T>(vg.means(), order)), scaled("weights", wo, 0), scaled("covariances", cov, 2),
            log_density("lower_bound (ELBO per row)", double(vg.lower_bound()), double(p.x.cols()), false),
            scaled("predict_proba(query)", cols_in<T>(vg.predict_proba(p.query), order), 0, true)};
  }
};

using Models = std::tuple<VariationalGaussianMixtureAdapter, KMeansAdapter<pml::KMeansInit::k_means_plus_plus>,
                          KMeansAdapter<pml::KMeansInit::k_means_parallel>>;

}  // namespace

PML_ESTIMATOR_CHECKS(Models, "[estimator_checks][cluster]")
