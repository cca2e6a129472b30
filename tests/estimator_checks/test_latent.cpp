// The estimator check suite over PCA and probabilistic PCA
// (checks in estimator_checks.hpp, shared adapter helpers in adapters.hpp).

#include "estimator_checks/adapters.hpp"

#include "pml/models/latent.hpp"

namespace {

using namespace pml_test::estimator;

template <bool All> struct PCAAdapter : AdapterDefaults {
  static constexpr const char* name = All ? "PCA(all components)" : "PCA(2 components)";
  static constexpr const char* function = "PCA";
  static constexpr std::array arguments{"x", "components"};
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    pml::PCA<T> pca({.components = All ? 0 : 2});
    pca.fit(p.x);
    const double d = double(p.x.cols());
    return {location("mean", pca.mean().transpose()),
            scaled("components", pca.components(), 0, false, true),
            scaled("explained_variance", pca.explained_variance(), 2),
            scaled("explained_variance_ratio", pca.explained_variance_ratio(), 0),
            scaled("noise_variance", double(pca.noise_variance()), 2),
            scaled("transform(query)", pca.transform(p.query), 1, true, true),
            log_density("score_samples(query)", pca.score_samples(p.query), d, true)};
  }
};

template <pml::PPCASolver S> struct ProbabilisticPCAAdapter : AdapterDefaults {
  static constexpr const char* name = S == pml::PPCASolver::em ? "ProbabilisticPCA(em)" : "ProbabilisticPCA(closed form)";
  static constexpr const char* function = "ProbabilisticPCA";
  static constexpr std::array arguments{"x", "components"};
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    pml::ProbabilisticPCA<T> ppca({.components = 2, .solver = S});
    ppca.fit(p.x, seed);
    const double d = double(p.x.cols());
    return {location("mean", ppca.mean().transpose()),
            scaled("covariance (W W' + s2 I)", ppca.covariance(), 2),
            scaled("noise_variance", double(ppca.noise_variance()), 2),
            log_density("score (mean log-likelihood of the training rows)", double(ppca.score(p.x)), d, false),
            log_density("score_samples(query)", ppca.score_samples(p.query), d, true)};
  }
};

using Models = std::tuple<PCAAdapter<false>,
                          PCAAdapter<true>,
                          ProbabilisticPCAAdapter<pml::PPCASolver::closed_form>,
                          ProbabilisticPCAAdapter<pml::PPCASolver::em>>;

}  // namespace

PML_ESTIMATOR_CHECKS(Models, "[estimator_checks][latent]")
