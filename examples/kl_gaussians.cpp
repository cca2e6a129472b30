// KL divergences between Gaussians: the closed forms against Monte Carlo estimates, the asymmetry of
// KL, and the VAE's KL(N(mu, sigma^2) || N(0, 1)) term (Kingma & Welling 2013, appendix B).
#include <cmath>
#include <cstdio>

#include <pml/distributions/kl.hpp>

namespace {
template <class P, class Q> double monte_carlo_kl(const P& p, const Q& q, pml::Rng& rng, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const auto x = p.sample(rng);
    sum += p.log_prob(x) - q.log_prob(x);
  }
  return sum / n;
}
}  // namespace

int main() {
  pml::Rng rng(3);
  std::printf("KL divergences between Gaussians (closed form vs Monte Carlo with 200000 draws)\n\n");
  std::printf("%-34s %12s %12s\n", "pair", "closed form", "Monte Carlo");
  const pml::Normal<double> p(0.0, 1.0), q(1.0, 2.0);
  const double kpq = pml::kl_divergence(p, q), kqp = pml::kl_divergence(q, p);
  std::printf("%-34s %12.5f %12.5f\n", "KL(N(0,1) || N(1,2^2))", kpq, monte_carlo_kl(p, q, rng, 200000));
  std::printf("%-34s %12.5f %12.5f\n", "KL(N(1,2^2) || N(0,1))", kqp, monte_carlo_kl(q, p, rng, 200000));

  Eigen::Matrix2d s1, s2;
  s1 << 1.0, 0.9, 0.9, 1.0;
  s2 << 1.0, 0.0, 0.0, 1.0;
  const pml::MultivariateNormal<double> correlated(Eigen::Vector2d::Zero(), s1), isotropic(Eigen::Vector2d::Zero(), s2);
  std::printf("%-34s %12.5f %12.5f\n", "KL(correlated || isotropic) 2-D", pml::kl_divergence(correlated, isotropic),
              monte_carlo_kl(correlated, isotropic, rng, 200000));
  std::printf("%-34s %12.5f %12.5f\n", "KL(isotropic || correlated) 2-D", pml::kl_divergence(isotropic, correlated),
              monte_carlo_kl(isotropic, correlated, rng, 200000));

  // The VAE regulariser: KL(N(mu, diag sigma^2) || N(0, I)) = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)
  Eigen::Vector3d mu(0.5, -1.0, 0.0), sigma(0.8, 1.2, 0.1);
  const pml::MultivariateNormalDiag<double> posterior(mu, sigma), standard(Eigen::Vector3d::Zero(), Eigen::Vector3d::Ones());
  const double vae = 0.5 * (mu.array().square() + sigma.array().square() - 1 - sigma.array().square().log()).sum();
  std::printf("\nVAE KL term for mu = (0.5, -1, 0), sigma = (0.8, 1.2, 0.1): %.5f (formula: %.5f)\n",
              pml::kl_divergence(posterior, standard), vae);
  std::printf("KL is not symmetric: KL(p||q) - KL(q||p) = %.5f for the 1-D pair\n", kpq - kqp);
  return std::abs(pml::kl_divergence(posterior, standard) - vae) < 1e-12 ? 0 : 1;
}
