// Gaussian mixture by EM on three 2-D clusters: the fitted weights, means and covariances against
// the truth, the log-likelihood per iteration (it never decreases), and BIC for choosing K.
#include <cmath>
#include <cstdio>

#include <pml/distributions/multivariate_normal.hpp>
#include <pml/models/cluster.hpp>

int main() {
  pml::Rng rng(4);
  Eigen::Matrix2d c0, c1, c2;
  c0 << 1.0, 0.6, 0.6, 1.0;
  c1 << 0.4, 0.0, 0.0, 1.5;
  c2 << 0.8, -0.5, -0.5, 0.8;
  Eigen::MatrixXd x(1500, 2);
  x << pml::MultivariateNormal<double>(Eigen::Vector2d(0, 0), c0).sample(rng, 750),
      pml::MultivariateNormal<double>(Eigen::Vector2d(5, 1), c1).sample(rng, 450),
      pml::MultivariateNormal<double>(Eigen::Vector2d(1, 5), c2).sample(rng, 300);

  pml::GaussianMixture<double> gmm({.components = 3, .covariance = pml::Covariance::full, .tolerance = 1e-6});
  gmm.fit(x, rng);
  std::printf("GaussianMixture (full covariances) on 1500 points from 3 clusters\n");
  std::printf("true weights 0.50 / 0.30 / 0.20, means (0,0) (5,1) (1,5)\n\n");
  std::printf("%4s %8s %18s %34s\n", "k", "weight", "mean", "covariance");
  for (int k = 0; k < 3; ++k) {
    const Eigen::MatrixXd c = gmm.covariance(k);
    std::printf("%4d %8.3f   (%6.3f, %6.3f)   [[%6.3f, %6.3f], [%6.3f, %6.3f]]\n", k, gmm.weights()(k), gmm.means()(k, 0),
                gmm.means()(k, 1), c(0, 0), c(0, 1), c(1, 0), c(1, 1));
  }
  std::printf("\nEM: %d iterations, converged: %s; mean log-likelihood per iteration:\n", gmm.iterations(),
              gmm.converged() ? "yes" : "no");
  const auto& h = gmm.log_likelihood_history();
  for (std::size_t i = 0; i < h.size(); ++i)
    if (i < 5 || i + 1 == h.size()) std::printf("  %3zu  %.6f\n", i + 1, h[i]);
  std::printf("\n%4s %12s\n", "K", "BIC");
  double best_bic = 1e300;
  int best_k = 0;
  for (int k = 1; k <= 6; ++k) {
    pml::GaussianMixture<double> m({.components = k, .restarts = 2});
    m.fit(x, rng);
    const double bic = m.bic(x);
    std::printf("%4d %12.1f\n", k, bic);
    if (bic < best_bic) {
      best_bic = bic;
      best_k = k;
    }
  }
  std::printf("BIC chooses K = %d\n", best_k);

  // Variational Bayes (PRML 10.2) with 8 components and a tiny weight concentration alpha0 = 1e-3:
  // the components the data do not need are switched off (PRML Fig. 10.6).
  pml::VariationalGaussianMixtureOptions<double> vo;
  vo.components = 8;
  vo.weight_concentration = 1e-3;
  vo.tolerance = 1e-8;
  vo.max_iterations = 500;
  pml::VariationalGaussianMixture<double> vgmm(vo);
  vgmm.fit(x, rng);
  std::printf("\nVariationalGaussianMixture, K = 8, alpha0 = 1e-3: %d iterations, ELBO per point %.4f -> %.4f\n",
              vgmm.iterations(), vgmm.elbo_history().front(), vgmm.lower_bound());
  std::printf("expected weights:");
  for (int k = 0; k < 8; ++k) std::printf(" %.3f", vgmm.weights()(k));
  std::printf("\neffective components (weight > 0.01): %ld\n", static_cast<long>(vgmm.effective_components()));
  return best_k == 3 && vgmm.effective_components() == 3 ? 0 : 1;
}
