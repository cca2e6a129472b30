// Bayesian linear regression on the sinusoidal data of PRML §1.1: the predictive band of a
// polynomial model with evidence-maximised alpha and beta, and the log evidence against polynomial
// order, which peaks at a middle order (PRML Fig. 3.14).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <pml/models/linear.hpp>

int main() {
  pml::Rng rng(10);
  const int n = 30;
  Eigen::MatrixXd x(n, 1);
  pml::random::fill_uniform(rng, x);
  Eigen::VectorXd noise(n);
  pml::random::fill_normal(rng, noise, 0.0, 0.2);
  const Eigen::VectorXd t = (2 * M_PI * x.col(0).array()).sin().matrix() + noise;

  std::printf("Bayesian polynomial regression on t = sin(2 pi x) + N(0, 0.2^2), N = %d\n\n", n);
  std::printf("%6s %14s %10s %10s %8s\n", "order", "log evidence", "alpha", "beta", "gamma");
  std::vector<double> evidence;
  for (int degree = 0; degree <= 9; ++degree) {
    pml::BayesianLinearRegression<double> blr({.alpha = 5e-3, .beta = 11.1, .max_iterations = 100000, .tolerance = 1e-10});
    blr.fit(pml::design_matrix(pml::PolynomialBasis{degree}, x), t);
    evidence.push_back(blr.log_marginal_likelihood());
    std::printf("%6d %14.3f %10.3g %10.3f %8.2f\n", degree, blr.log_marginal_likelihood(), blr.alpha(), blr.beta(),
                blr.effective_parameters());
  }
  const int best = static_cast<int>(std::max_element(evidence.begin(), evidence.end()) - evidence.begin());
  std::printf("\nthe evidence prefers order %d (true noise precision 1/0.2^2 = 25)\n\n", best);

  pml::BayesianLinearRegression<double> blr({.alpha = 5e-3, .beta = 11.1, .max_iterations = 100000, .tolerance = 1e-10});
  blr.fit(pml::design_matrix(pml::PolynomialBasis{best}, x), t);
  Eigen::MatrixXd grid(11, 1);
  grid.col(0) = Eigen::VectorXd::LinSpaced(11, 0.0, 1.2);
  const auto pred = blr.predict(pml::design_matrix(pml::PolynomialBasis{best}, grid));
  std::printf("%6s %10s %10s %12s %12s %10s\n", "x", "truth", "mean", "aleatoric", "epistemic", "95% band");
  for (int i = 0; i < grid.rows(); ++i)
    std::printf("%6.2f %10.3f %10.3f %12.4f %12.4f   +-%.3f\n", grid(i, 0), std::sin(2 * M_PI * grid(i, 0)), pred.mean(i),
                pred.aleatoric(i), pred.epistemic(i), 1.96 * std::sqrt(pred.variance(i)));
  std::printf("(x > 1 is outside the data: the epistemic part grows)\n");
  return best >= 3 && best <= 7 ? 0 : 1;
}
