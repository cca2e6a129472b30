// A downstream program: fits a Beta–Bernoulli model and a Gaussian, and checks the answers.
#include <cmath>
#include <cstdio>

#include <pml/pml.hpp>

int main() {
  pml::BetaBernoulliModel<double> coin(pml::Beta<double>(2, 2));
  coin.update(pml::IntVector::Constant(1, 1));
  const auto& post = coin.posterior();
  pml::Rng rng(42);
  const auto x = pml::Normal<double>(3.0, 0.5).sample(rng, 20000);
  const auto fitted = pml::Normal<double>::fit(x);
  std::printf("posterior Beta(%g, %g); fitted N(%.3f, %.3f)\n", post.a(), post.b(), fitted.mean(), fitted.stddev());
  const bool ok = post.a() == 3 && post.b() == 2 && std::abs(fitted.mean() - 3.0) < 0.02 &&
                  std::abs(fitted.stddev() - 0.5) < 0.02;
  return ok ? 0 : 1;
}
