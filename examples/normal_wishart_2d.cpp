// Learning the mean and covariance of 2-D Gaussian data with a Normal-Wishart prior (PRML §2.3.6).
// Prints how the posterior expectation of the covariance approaches the truth as data arrive, the
// multivariate Student-t predictive, and the evidence as a function of the data seen.
#include <cmath>
#include <cstdio>

#include <Eigen/LU>

#include <pml/conjugate/normal_wishart_model.hpp>
#include <pml/distributions/multivariate_normal.hpp>

int main() {
  Eigen::Vector2d true_mean(1.0, -2.0);
  Eigen::Matrix2d true_cov;
  true_cov << 1.0, 0.8, 0.8, 2.0;
  pml::Rng rng(11);
  const Eigen::MatrixXd data = pml::MultivariateNormal<double>(true_mean, true_cov).sample(rng, 500);

  const pml::NormalWishart<double> prior(Eigen::Vector2d::Zero(), 0.1, 3.0, Eigen::Matrix2d::Identity());
  std::printf("Normal-Wishart: mean and covariance of 2-D data\n");
  std::printf("true mean (%.2f, %.2f), true covariance [[%.2f, %.2f], [%.2f, %.2f]]\n\n", true_mean(0), true_mean(1),
              true_cov(0, 0), true_cov(0, 1), true_cov(1, 0), true_cov(1, 1));
  std::printf("%5s %18s %30s %14s\n", "N", "E[mu]", "E[Sigma] = (nu_N W_N)^-1 approx", "log evidence");
  double error = 0;
  for (int n : {2, 10, 50, 500}) {
    const pml::NormalWishartModel<double> model(prior);
    const Eigen::MatrixXd seen = data.topRows(n);
    const auto post = model.posterior(seen);
    // E[Lambda^-1] = W_N^-1 / (nu_N - D - 1), the posterior mean of the covariance
    const Eigen::Matrix2d expected_cov = post.scale().inverse() / (post.nu() - 3.0);
    std::printf("%5d (%7.3f, %7.3f)   [[%6.3f, %6.3f], [%6.3f, %6.3f]] %14.3f\n", n, post.mu0()(0), post.mu0()(1),
                expected_cov(0, 0), expected_cov(0, 1), expected_cov(1, 0), expected_cov(1, 1),
                model.log_marginal_likelihood(seen));
    error = (expected_cov - true_cov).cwiseAbs().maxCoeff();
  }
  pml::NormalWishartModel<double> model(prior);
  model.update(data);
  const auto predictive = model.posterior_predictive();
  std::printf("\npredictive: Student-t with %.0f degrees of freedom; log p(x = true mean) = %.3f\n", predictive.df(),
              predictive.log_prob(Eigen::VectorXd(true_mean)));
  return error < 0.3 ? 0 : 1;
}
