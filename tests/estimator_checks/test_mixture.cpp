// The estimator check suite over the Gaussian mixture (four covariance types)
// (checks in estimator_checks.hpp, shared adapter helpers in adapters.hpp).

#include "estimator_checks/adapters.hpp"

#include "pml/models/cluster/gaussian_mixture.hpp"

namespace {

using namespace pml_test::estimator;

constexpr const char* gmm_name(pml::Covariance c) {
  switch (c) {
    case pml::Covariance::full: return "GaussianMixture(full)";
    case pml::Covariance::tied: return "GaussianMixture(tied)";
    case pml::Covariance::diagonal: return "GaussianMixture(diagonal)";
    case pml::Covariance::spherical: return "GaussianMixture(spherical)";
  }
  return "GaussianMixture";
}

template <pml::Covariance C> struct GaussianMixtureAdapter : AdapterDefaults {
  static constexpr const char* name = gmm_name(C);
  static constexpr const char* function = "GaussianMixture";
  static constexpr std::array arguments{"x", "components", "weights", "reg_covar"};
  // full and tied hold D x D matrices: O(D^3) per iteration is the model's own cost, not a defect
  static constexpr Index wide = C == pml::Covariance::full || C == pml::Covariance::tied ? 200 : 2000;
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    // tolerance far below the default: the blobs are separated, EM reaches its fixed point in a few
    // steps, and the checks compare fixed points rather than where a stopping rule happened to stop
    // reg_covar is an absolute amount added to every variance (as scikit-learn's), so it breaks scale
    // equivariance by design: off for the well-conditioned standard data, the default for degenerate data
    pml::GaussianMixture<T> gm({.components = p.k, .covariance = C, .tolerance = T(1e-12),
                                .reg_covar = p.degenerate ? T(1e-6) : T(0), .max_iterations = 200});
    gm.fit(p.x, seed, weights_of(p));
    const Vector<T> w_rows = p.weights.size() ? p.weights : Vector<T>::Ones(p.x.rows());
    const double train_score = double(w_rows.dot(gm.score_samples(p.x)) / w_rows.sum());  // weighted: a duplicate = weight 2
    const auto order = order_by_first_column<T>(gm.means());
    // full and tied: the K stacked D x D matrices; diagonal and spherical: their K x D diagonals
    const bool full = C == pml::Covariance::full || C == pml::Covariance::tied;
    Matrix<T> cov(full ? p.k * p.x.cols() : p.k, p.x.cols());
    for (std::size_t i = 0; i < order.size(); ++i) {
      const Matrix<T> c = gm.covariance(order[i]);
      if (full) cov.middleRows(Index(i) * p.x.cols(), p.x.cols()) = c;
      else cov.row(Index(i)) = c.diagonal().transpose();
    }
    const Vector<T> w = gm.weights();
    Vector<T> wo(w.size());
    for (std::size_t i = 0; i < order.size(); ++i) wo(Index(i)) = w(order[i]);
    const double d = double(p.x.cols());
    return {location("means", rows_in<T>(gm.means(), order)),
            scaled("weights", wo, 0),
            scaled("covariances", cov, 2),
            log_density("weighted mean log-likelihood of the training rows", train_score, d, false),
            log_density("score_samples(query)", gm.score_samples(p.query), d, true),
            scaled("predict_proba(query)", cols_in<T>(gm.predict_proba(p.query), order), 0, true),
            discrete("predict(query)", relabel(gm.predict(p.query), order))};
  }
};

using Models = std::tuple<GaussianMixtureAdapter<pml::Covariance::full>,
                          GaussianMixtureAdapter<pml::Covariance::tied>,
                          GaussianMixtureAdapter<pml::Covariance::diagonal>,
                          GaussianMixtureAdapter<pml::Covariance::spherical>>;

}  // namespace

PML_ESTIMATOR_CHECKS(Models, "[estimator_checks][mixture]")
