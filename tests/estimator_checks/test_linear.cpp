// The estimator check suite over Bayesian linear and logistic regression
// (checks in estimator_checks.hpp, shared adapter helpers in adapters.hpp).

#include "estimator_checks/adapters.hpp"

#include "pml/models/linear.hpp"

namespace {

using namespace pml_test::estimator;

struct BayesianLinearRegressionAdapter : AdapterDefaults {
  static constexpr const char* name = "BayesianLinearRegression(intercept, evidence)";
  static constexpr const char* function = "BayesianLinearRegression";
  static constexpr std::array arguments{"phi", "t"};
  static constexpr Target target = Target::continuous;
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  // Shifts and scales apply to the inputs (phi = x); the targets stay. With an unregularised intercept
  // and evidence-fitted alpha the model is equivariant: coefficients scale by 1/s, alpha by s^2, the
  // predictions and the evidence do not change.
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    // The default stopping rule sum |delta m| < 1e-3 is absolute in the units of the coefficients (as
    // scikit-learn's), so default fits are equivariant only to about that; the checks compare the
    // evidence fixed point itself.
    pml::BayesianLinearRegression<T> blr({.fit_intercept = true, .tolerance = T(1e-12)});
    blr.fit(p.x, p.y);
    const auto pred = blr.predict(p.query);
    return {scaled("mean (coefficients)", blr.mean(), -1),
            scaled("alpha", double(blr.alpha()), 2),
            scaled("beta", double(blr.beta()), 0),
            scaled("log_marginal_likelihood", double(blr.log_marginal_likelihood()), 0),
            scaled("predict(query).mean", pred.mean, 0, true),
            scaled("predict(query).variance", pred.variance, 0, true)};
  }
};

struct BayesianLogisticRegressionAdapter : AdapterDefaults {
  static constexpr const char* name = "BayesianLogisticRegression";
  static constexpr const char* function = "BayesianLogisticRegression";
  static constexpr std::array arguments{"phi", "t"};
  static constexpr Target target = Target::binary;
  static constexpr Index wide = 200;  // the Laplace posterior covariance is M x M: O(M^3) per Newton step is the model's own cost
  static const char* not_applicable(Check c) {
    if (c == Check::shift || c == Check::scale)
      return "the prior N(0, 1/alpha I) on the weights (bias included) is fixed in the units of phi, so the MAP is "
             "not equivariant by design";
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    Matrix<T> phi(p.x.rows(), p.x.cols() + 1), q(p.query.rows(), p.query.cols() + 1);
    phi << Matrix<T>::Ones(p.x.rows(), 1), p.x;
    q << Matrix<T>::Ones(p.query.rows(), 1), p.query;
    pml::BayesianLogisticRegression<T> blr;
    blr.fit(phi, p.labels);
    return {scaled("mean (MAP weights)", blr.mean(), 0), scaled("covariance", blr.covariance(), 0),
            scaled("log_marginal_likelihood", double(blr.log_marginal_likelihood()), 0),
            scaled("predict_proba(query)", blr.predict_proba(q), 0, true)};
  }
};

using Models = std::tuple<BayesianLinearRegressionAdapter,
                          BayesianLogisticRegressionAdapter>;

}  // namespace

PML_ESTIMATOR_CHECKS(Models, "[estimator_checks][linear]")
