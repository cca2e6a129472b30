// The estimator check suite over the distributions' fit() and the conjugate models
// (checks in estimator_checks.hpp, shared adapter helpers in adapters.hpp).

#include "estimator_checks/adapters.hpp"

#include "pml/conjugate/normal_gamma_model.hpp"
#include "pml/conjugate/normal_wishart_model.hpp"
#include "pml/distributions/gamma.hpp"
#include "pml/distributions/laplace.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/distributions/multivariate_normal_diag.hpp"
#include "pml/distributions/normal.hpp"
#include "pml/distributions/student_t.hpp"

namespace {

using namespace pml_test::estimator;

// ---- distribution fits (column 0 for the univariate ones)

struct NormalFitAdapter : AdapterDefaults {
  static constexpr const char* name = "Normal::fit";
  static constexpr const char* function = "Normal::fit";
  static constexpr std::array arguments{"x", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto n = pml::Normal<T>::fit(p.x.col(0), weights_of(p));
    return {location("mean", double(n.mean())), scaled("stddev", double(n.stddev()), 1),
            log_density("log_prob(query)", n.log_prob(p.query.col(0)), 1, true)};
  }
};

struct LaplaceFitAdapter : AdapterDefaults {
  static constexpr const char* name = "Laplace::fit";
  static constexpr const char* function = "Laplace::fit";
  static constexpr std::array arguments{"x", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto l = pml::Laplace<T>::fit(p.x.col(0), weights_of(p));
    return {location("location", double(l.location())), scaled("scale", double(l.scale()), 1),
            log_density("log_prob(query)", l.log_prob(p.query.col(0)), 1, true)};
  }
};

struct StudentTFitAdapter : AdapterDefaults {
  static constexpr const char* name = "StudentT::fit(df = 4)";
  static constexpr const char* function = "StudentT::fit";
  static constexpr std::array arguments{"x", "weights", "df"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto t = pml::StudentT<T>::fit(T(4), p.x.col(0), weights_of(p));
    return {location("location", double(t.location())), scaled("scale", double(t.scale()), 1),
            log_density("log_prob(query)", t.log_prob(p.query.col(0)), 1, true)};
  }
};

struct MultivariateNormalFitAdapter : AdapterDefaults {
  static constexpr const char* name = "MultivariateNormal::fit";
  static constexpr const char* function = "MultivariateNormal::fit";
  static constexpr std::array arguments{"x", "weights"};
  static constexpr Index wide = 200;  // a D x D covariance
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto m = pml::MultivariateNormal<T>::fit(p.x, weights_of(p));
    const Matrix<T> q = p.query;
    return {location("mean", m.mean().transpose()), scaled("covariance", m.covariance(), 2),
            log_density("log_prob(query)", Vector<T>(m.log_prob(q)), double(p.x.cols()), true)};
  }
};

struct MultivariateNormalDiagFitAdapter : AdapterDefaults {
  static constexpr const char* name = "MultivariateNormalDiag::fit";
  static constexpr const char* function = "MultivariateNormalDiag::fit";
  static constexpr std::array arguments{"x", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto m = pml::MultivariateNormalDiag<T>::fit(p.x, weights_of(p));
    const Matrix<T> q = p.query;
    return {location("mean", m.mean().transpose()), scaled("stddev", m.stddev(), 1),
            log_density("log_prob(query)", Vector<T>(m.log_prob(q)), double(p.x.cols()), true)};
  }
};

struct GammaFitAdapter : AdapterDefaults {
  static constexpr const char* name = "Gamma::fit";
  static constexpr const char* function = "Gamma::fit";
  static constexpr std::array arguments{"x", "weights"};
  static constexpr Domain domain = Domain::positive;
  static const char* not_applicable(Check c) {
    return c == Check::shift ? "the Gamma family has no location parameter: fit(x + c) is a different distribution" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto g = pml::Gamma<T>::fit(p.x.col(0), weights_of(p));
    return {scaled("shape", double(g.shape()), 0), scaled("rate", double(g.rate()), -1),
            log_density("log_prob(query)", g.log_prob(p.query.col(0)), 1, true)};
  }
};

// ---- conjugate models: the prior is fixed in the data's units, so fit(x + c) and fit(s x) are different
// posteriors (not a defect); row order, float vs double, the seed and degenerate data apply.

constexpr const char* conjugate_prior_reason = "the prior is fixed in the units of the data, so the posterior of x + c or s x differs by design";

struct NormalGammaModelAdapter : AdapterDefaults {
  static constexpr const char* name = "NormalGammaModel::posterior";
  static constexpr const char* function = "NormalGammaModel";
  static constexpr std::array arguments{"data", "x"};
  static const char* not_applicable(Check c) {
    if (c == Check::shift || c == Check::scale) return conjugate_prior_reason;
    return c == Check::duplicate_weight ? "posterior() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const pml::NormalGammaModel<T> model(pml::NormalGamma<T>(T(0), T(1), T(1), T(1)));
    const auto post = model.posterior(p.x.col(0));
    const pml::NormalGammaModel<T> updated(post);
    return {scaled("posterior (mu0, kappa, a, b)", (Vector<T>(4) << post.mu0(), post.kappa(), post.a(), post.b()).finished(), 0),
            scaled("log_marginal_likelihood", double(model.log_marginal_likelihood(p.x.col(0))), 0),
            scaled("posterior_predictive log_prob(query)", updated.posterior_predictive().log_prob(p.query.col(0)), 0, true)};
  }
};

struct NormalWishartModelAdapter : AdapterDefaults {
  static constexpr const char* name = "NormalWishartModel::posterior";
  static constexpr const char* function = "NormalWishartModel";
  static constexpr std::array arguments{"data", "x"};
  static constexpr Index wide = 200;  // D x D scale matrix
  static const char* not_applicable(Check c) {
    if (c == Check::shift || c == Check::scale) return conjugate_prior_reason;
    return c == Check::duplicate_weight ? "posterior() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const Index d = p.x.cols();
    const pml::NormalWishartModel<T> model(pml::NormalWishart<T>(Vector<T>::Zero(d), T(1), T(d + 2), Matrix<T>::Identity(d, d)));
    const auto post = model.posterior(p.x);
    const pml::NormalWishartModel<T> updated(post);
    const Matrix<T> q = p.query;
    return {scaled("posterior mu0", post.mu0().transpose(), 0),
            scaled("posterior (kappa, nu)", (Vector<T>(2) << post.kappa(), post.nu()).finished(), 0),
            scaled("posterior scale W", post.scale(), 0),
            scaled("log_marginal_likelihood", double(model.log_marginal_likelihood(p.x)), 0),
            scaled("posterior_predictive log_prob(query)", Vector<T>(updated.posterior_predictive().log_prob(q)), 0, true)};
  }
};

using Models = std::tuple<NormalFitAdapter,
                          LaplaceFitAdapter,
                          StudentTFitAdapter,
                          MultivariateNormalFitAdapter,
                          MultivariateNormalDiagFitAdapter,
                          GammaFitAdapter,
                          NormalGammaModelAdapter,
                          NormalWishartModelAdapter>;

}  // namespace

PML_ESTIMATOR_CHECKS(Models, "[estimator_checks][distributions]")
