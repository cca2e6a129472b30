// Probabilistic PCA (Tipping & Bishop 1999) on data with a planted 2-D subspace in 10-D: the
// closed-form and EM solutions reach the same log-likelihood; the noise variance is recovered; the
// explained variance of ordinary PCA shows the two dominant directions.
#include <cmath>
#include <cstdio>

#include <pml/models/latent.hpp>

int main() {
  pml::Rng rng(12);
  const int n = 5000, d = 10;
  Eigen::MatrixXd w(d, 2), z(n, 2), noise(n, d);
  pml::random::fill_normal(rng, w);
  pml::random::fill_normal(rng, z);
  pml::random::fill_normal(rng, noise, 0.0, 0.5);
  const Eigen::MatrixXd x = z * w.transpose() + noise;

  pml::PCA<double> pca;
  pca.fit(x);
  std::printf("PCA on %d points in %d dimensions with a planted 2-D subspace and noise sd 0.5\n", n, d);
  std::printf("explained variance ratio:");
  for (int i = 0; i < d; ++i) std::printf(" %.3f", pca.explained_variance_ratio()(i));
  std::printf("\n\n");

  pml::ProbabilisticPCA<double> closed({.components = 2});
  closed.fit(x);
  pml::ProbabilisticPCA<double> em({.components = 2, .solver = pml::PPCASolver::em});
  em.fit(x, rng);
  std::printf("%-12s %18s %16s %12s\n", "solver", "log-likelihood", "noise variance", "iterations");
  std::printf("%-12s %18.4f %16.5f %12s\n", "closed form", closed.log_likelihood(x), closed.noise_variance(), "-");
  std::printf("%-12s %18.4f %16.5f %12d\n", "EM", em.log_likelihood(x), em.noise_variance(), em.iterations());
  std::printf("true noise variance: 0.25\n");
  const auto post = closed.posterior(x.topRows(1));
  std::printf("\nposterior of z for the first point: mean (%.3f, %.3f), sd (%.3f, %.3f)\n", post.mean(0, 0), post.mean(0, 1),
              std::sqrt(post.covariance(0, 0)), std::sqrt(post.covariance(1, 1)));
  std::printf("(z is identified only up to a rotation of W, so it is not compared with the planted z)\n");
  const bool ok = std::abs(em.log_likelihood(x) - closed.log_likelihood(x)) < 1e-6 * std::abs(closed.log_likelihood(x)) &&
                  std::abs(closed.noise_variance() - 0.25) < 0.02;
  return ok ? 0 : 1;
}
