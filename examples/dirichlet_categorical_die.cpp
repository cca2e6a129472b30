// Is this die loaded? A Dirichlet prior over the six faces, updated with rolls (PRML §2.2.1).
// Prints the posterior mean of each face with its standard deviation, the predictive distribution
// of the next roll, and the evidence for "loaded" against "fair".
#include <cmath>
#include <cstdio>

#include <pml/conjugate/dirichlet_categorical.hpp>

int main() {
  pml::Rng rng(7);
  Eigen::VectorXd loaded(6);
  loaded << 0.1, 0.1, 0.1, 0.1, 0.1, 0.5;
  const pml::IntVector rolls = pml::Categorical<double>(loaded).sample(rng, 120);

  pml::DirichletCategoricalModel<double> model(6, 1.0);
  model.update(rolls);
  const auto& post = model.posterior();
  const Eigen::VectorXd mean = post.mean(), sd = post.variance().cwiseSqrt();
  const pml::DirichletCategoricalModel<double> prior(6, 1.0);
  const Eigen::VectorXd counts = prior.counts(rolls);
  std::printf("Dirichlet-Categorical: 120 rolls of a die whose six comes up half the time\n\n");
  std::printf("%5s %7s %10s %10s %10s\n", "face", "count", "true p", "post mean", "post sd");
  for (int k = 0; k < 6; ++k)
    std::printf("%5d %7.0f %10.3f %10.3f %10.3f\n", k + 1, counts(k), loaded(k), mean(k), sd(k));
  const auto predictive = model.posterior_predictive();
  std::printf("\nP(next roll is a six) = %.3f\n", std::exp(predictive.log_prob(5)));
  const double log_evidence_loaded = prior.log_marginal_likelihood(rolls);
  const double log_evidence_fair = static_cast<double>(rolls.size()) * std::log(1.0 / 6.0);
  std::printf("log evidence, p ~ Dir(1,...,1): %.3f\nlog evidence, fair die:         %.3f\n", log_evidence_loaded,
              log_evidence_fair);
  std::printf("log Bayes factor (loaded : fair) = %.2f\n", log_evidence_loaded - log_evidence_fair);
  std::printf("posterior entropy of the next roll: %.3f nats (fair die: %.3f)\n", predictive.entropy(), std::log(6.0));
  return log_evidence_loaded > log_evidence_fair ? 0 : 1;
}
