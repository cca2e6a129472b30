// Sequential Bayesian updating of a coin's bias: a Beta prior, one toss at a time (PRML §2.1.1,
// Fig. 2.3; the coin example of the first seed document). Prints how the posterior narrows, the
// predictive probability of heads, and the evidence for "biased coin" against "fair coin".
#include <cmath>
#include <cstdio>

#include <pml/conjugate/beta_bernoulli.hpp>

int main() {
  pml::Rng rng(2026);
  const double true_bias = 0.7;
  const pml::Bernoulli<double> coin(true_bias);
  const pml::IntVector tosses = coin.sample(rng, 200);

  pml::BetaBernoulliModel<double> model(pml::Beta<double>(2, 2));
  std::printf("Beta-Bernoulli: learning a coin's bias (true P(heads) = %.2f), prior Beta(2, 2)\n\n", true_bias);
  std::printf("%6s %6s %14s %10s %10s %12s\n", "tosses", "heads", "posterior", "mean", "stddev", "P(next=H)");
  long heads = 0;
  for (Eigen::Index i = 0; i < tosses.size(); ++i) {
    model.update(tosses(i));
    heads += tosses(i);
    const long n = static_cast<long>(i) + 1;
    if (n <= 3 || n == 5 || n == 10 || n == 20 || n == 50 || n == 100 || n == 200) {
      const auto& post = model.posterior();
      char label[64];
      std::snprintf(label, sizeof label, "Beta(%g, %g)", post.a(), post.b());
      std::printf("%6ld %6ld %14s %10.4f %10.4f %12.4f\n", n, heads, label, post.mean(), std::sqrt(post.variance()),
                  model.posterior_predictive().p());
    }
  }
  // Model comparison by the evidence: a uniform prior on the bias against a fair coin (mu = 1/2).
  const pml::BetaBernoulliModel<double> uniform_prior(pml::Beta<double>(1, 1));
  const double log_evidence_biased = uniform_prior.log_marginal_likelihood(tosses);
  const double log_evidence_fair = static_cast<double>(tosses.size()) * std::log(0.5);
  std::printf("\nlog evidence, bias ~ Beta(1, 1): %.3f\n", log_evidence_biased);
  std::printf("log evidence, fair coin:         %.3f\n", log_evidence_fair);
  std::printf("Bayes factor (biased : fair) = %.2f\n", std::exp(log_evidence_biased - log_evidence_fair));
  const double mode = model.posterior().mode();
  std::printf("MAP estimate of the bias: %.4f (maximum likelihood: %.4f)\n", mode,
              pml::Bernoulli<double>::fit(tosses).p());
  return std::abs(model.posterior().mean() - true_bias) < 0.15 ? 0 : 1;
}
