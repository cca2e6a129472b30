#include <catch2/catch.hpp>

#include <cmath>

#include "fixtures/scipy_reference.hpp"
#include "pml/distributions/bernoulli.hpp"
#include "pml/distributions/beta_binomial.hpp"
#include "pml/distributions/binomial.hpp"
#include "pml/distributions/categorical.hpp"
#include "pml/distributions/dirichlet_multinomial.hpp"
#include "pml/distributions/multinomial.hpp"
#include "pml/distributions/negative_binomial.hpp"
#include "pml/distributions/kl.hpp"
#include "pml/distributions/poisson.hpp"
#include "test_helpers.hpp"

using Catch::Matchers::Contains;
using pml_test::scipy_reference;

namespace {
// The pmf sums to one over the given support, and sampling frequencies pass chi-square.
template <class D> void check_pmf_and_sampler(const D& d, long upper, pml::Rng& rng, int n = 40000) {
  double total = 0, mean = 0, second = 0;
  std::vector<double> expected(static_cast<std::size_t>(upper + 1)), observed(static_cast<std::size_t>(upper + 1), 0);
  for (long k = 0; k <= upper; ++k) {
    const double p = std::exp(static_cast<double>(d.log_prob(k)));
    total += p;
    mean += k * p;
    second += double(k) * double(k) * p;
    expected[static_cast<std::size_t>(k)] = n * p;
  }
  CHECK(total == Approx(1.0).epsilon(1e-10));
  CHECK(mean == Approx(d.mean()).epsilon(1e-9));
  CHECK(second - mean * mean == Approx(d.variance()).epsilon(1e-8));
  const pml::IntVector draws = d.sample(rng, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    REQUIRE(draws(i) >= 0);
    if (draws(i) <= upper) observed[static_cast<std::size_t>(draws(i))] += 1;
  }
  const auto chi = pml_test::chi_square_test(observed, expected);
  CHECK(chi.statistic < chi.critical);
}
}  // namespace

TEST_CASE("Bernoulli: probabilities, moments, fit, errors", "[distributions][bernoulli]") {
  const pml::Bernoulli<double> d(0.3);
  CHECK(d.log_prob(1) == Approx(std::log(0.3)));
  CHECK(d.log_prob(0) == Approx(std::log(0.7)));
  CHECK(d.log_prob(2) == -std::numeric_limits<double>::infinity());
  CHECK(d.entropy() == Approx(-0.3 * std::log(0.3) - 0.7 * std::log(0.7)));
  CHECK(d.mode() == 0);
  CHECK(pml::Bernoulli<double>(0.0).entropy() == 0.0);
  pml::Rng rng(1);
  check_pmf_and_sampler(d, 1, rng);
  pml::IntVector x(5);
  x << 1, 0, 1, 1, 0;
  CHECK(pml::Bernoulli<double>::fit(x).p() == Approx(0.6));
  Eigen::VectorXd w(5);
  w << 1, 0, 1, 1, 3;
  CHECK(pml::Bernoulli<double>::fit(x, w).p() == Approx(0.5));
  x(2) = 3;
  CHECK_THROWS_WITH(pml::Bernoulli<double>::fit(x), Contains("Bernoulli::fit: x must contain only 0 and 1") && Contains("index 2"));
  CHECK_THROWS_WITH(pml::Bernoulli<double>(1.2), Contains("Bernoulli: p must be a probability") && Contains("1.2"));
  CHECK(pml::Bernoulli<float>(0.25f).variance() == Approx(0.1875f));
}

TEST_CASE("Binomial matches scipy", "[distributions][binomial]") {
  const pml::Binomial<double> d(10, 0.3);
  for (long k : {0L, 3L, 10L})
    CHECK(d.log_prob(k) == Approx(scipy_reference("binom(10,0.3).logpmf(" + std::to_string(k) + ")")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("binom(10,0.3).entropy")).epsilon(1e-13));
  CHECK(d.mode() == 3);
  CHECK(pml::Binomial<double>(10, 1.0).log_prob(10) == 0.0);
  pml::Rng rng(2);
  check_pmf_and_sampler(d, 10, rng);
  const auto f = pml::Binomial<double>::fit(10, d.sample(rng, 50000));
  CHECK(f.p() == Approx(0.3).margin(0.005));
  CHECK_THROWS_WITH(pml::Binomial<double>(-1, 0.5), Contains("trials must be non-negative"));
  pml::IntVector bad(1);
  bad << 11;
  CHECK_THROWS_WITH(pml::Binomial<double>::fit(10, bad), Contains("k must lie in 0..trials"));
}

TEST_CASE("Poisson and NegativeBinomial match scipy", "[distributions][poisson][negative_binomial]") {
  const pml::Poisson<double> p(3.2);
  const pml::NegativeBinomial<double> nb(2.5, 0.3);
  for (long k : {0L, 3L, 10L}) {
    CHECK(p.log_prob(k) == Approx(scipy_reference("poisson(3.2).logpmf(" + std::to_string(k) + ")")).epsilon(1e-13));
    CHECK(nb.log_prob(k) == Approx(scipy_reference("nbinom(2.5,0.3).logpmf(" + std::to_string(k) + ")")).epsilon(1e-13));
  }
  CHECK(p.entropy() == Approx(scipy_reference("poisson(3.2).entropy")).epsilon(1e-12));
  CHECK(nb.variance() == Approx(scipy_reference("nbinom(2.5,0.3).var")).epsilon(1e-14));
  pml::Rng rng(3);
  check_pmf_and_sampler(p, 60, rng);
  check_pmf_and_sampler(nb, 400, rng);
  CHECK(pml::Poisson<double>::fit(p.sample(rng, 50000)).rate() == Approx(3.2).margin(0.05));
  CHECK(nb.mode() == 3);
  CHECK_THROWS_WITH(pml::NegativeBinomial<double>(1, 0), Contains("p must lie in (0, 1]"));
  CHECK_THROWS_WITH(pml::Poisson<double>::fit(pml::IntVector::Zero(3)), Contains("positive count"));
}

TEST_CASE("BetaBinomial matches scipy", "[distributions][beta_binomial]") {
  const pml::BetaBinomial<double> d(10, 2.5, 0.7);
  for (long k : {0L, 3L, 10L})
    CHECK(d.log_prob(k) == Approx(scipy_reference("betabinom(10,2.5,0.7).logpmf(" + std::to_string(k) + ")")).epsilon(1e-12));
  CHECK(d.variance() == Approx(scipy_reference("betabinom(10,2.5,0.7).var")).epsilon(1e-13));
  CHECK(d.mode() == 10);
  pml::Rng rng(4);
  check_pmf_and_sampler(d, 10, rng);
  CHECK(d.entropy() > 0);
}

TEST_CASE("BetaBinomial::mode: the enumerated maximum for small n, O(1) for 2^53 trials", "[distributions][beta_binomial][extremes]") {
  for (const long n : {0L, 1L, 2L, 7L, 30L})
    for (const double a : {0.3, 1.0, 2.0, 7.5})
      for (const double b : {0.3, 1.0, 2.0, 7.5}) {
        const pml::BetaBinomial<double> d(n, a, b);
        long best = 0;
        for (long k = 1; k <= n; ++k)
          if (d.log_prob(k) > d.log_prob(best)) best = k;
        INFO("n = " << n << ", a = " << a << ", b = " << b);
        CHECK(d.mode() == best);
      }
  // before: a loop over 0..n (2^53 log_probs)
  const long n = 1L << 53;
  const pml::BetaBinomial<double> big(n, 3.0, 5.0);
  const long m = big.mode();
  CHECK(std::abs(double(m) - double(n) * 2.0 / 6.0) < 2.0);
  CHECK(big.log_prob(m) >= big.log_prob(m - 1));
  CHECK(big.log_prob(m) >= big.log_prob(m + 1));
  CHECK(pml::BetaBinomial<double>(n, 0.5, 0.7).mode() == 0);  // U-shaped: an end point
}

TEST_CASE("Categorical: probabilities, sampling, fit", "[distributions][categorical]") {
  Eigen::VectorXd p(4);
  p << 0.1, 0.2, 0.3, 0.4;
  const pml::Categorical<double> d(p);
  CHECK(d.log_prob(2) == Approx(std::log(0.3)));
  CHECK(d.log_prob(4) == -std::numeric_limits<double>::infinity());
  CHECK(d.mode() == 3);
  CHECK(d.entropy() == Approx(-(p.array() * p.array().log()).sum()));
  CHECK(d.covariance()(0, 1) == Approx(-0.02));
  pml::Rng rng(5);
  const pml::IntVector x = d.sample(rng, 50000);
  std::vector<double> obs(4, 0), exp(4);
  for (Eigen::Index i = 0; i < x.size(); ++i) obs[static_cast<std::size_t>(x(i))] += 1;
  for (int k = 0; k < 4; ++k) exp[static_cast<std::size_t>(k)] = 50000 * p(k);
  const auto chi = pml_test::chi_square_test(obs, exp);
  CHECK(chi.statistic < chi.critical);
  const auto f = pml::Categorical<double>::fit(4, x);
  CHECK((f.probs() - p).cwiseAbs().maxCoeff() < 0.01);
  Eigen::VectorXd logits(3);
  logits << 1000, 1000, -1000;
  const auto s = pml::Categorical<double>::from_logits(logits);
  CHECK(s.probs()(0) == Approx(0.5));
  Eigen::VectorXd zero_mass(3);
  zero_mass << 0.5, 0.0, 0.5;
  const pml::IntVector z = pml::Categorical<double>(zero_mass).sample(rng, 10000);
  CHECK((z.array() != 1).all());
  p << 0.1, 0.2, 0.3, 0.5;
  CHECK_THROWS_WITH(pml::Categorical<double>{p}, Contains("Categorical: probs must sum to 1"));
  pml::IntVector bad(2);
  bad << 0, 7;
  CHECK_THROWS_WITH(pml::Categorical<double>::fit(4, bad), Contains("labels must lie in 0..categories-1"));
}

TEST_CASE("Multinomial matches scipy; mode is exact", "[distributions][multinomial]") {
  Eigen::VectorXd p(3);
  p << 0.2, 0.5, 0.3;
  const pml::Multinomial<double> d(10, p);
  pml::IntVector m(3);
  m << 2, 5, 3;
  CHECK(d.log_prob(m) == Approx(scipy_reference("multinomial(10,[0.2,0.5,0.3]).logpmf([2,5,3])")).epsilon(1e-13));
  m << 0, 0, 10;
  CHECK(d.log_prob(m) == Approx(scipy_reference("multinomial(10,[0.2,0.5,0.3]).logpmf([0,0,10])")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("multinomial(10,[0.2,0.5,0.3]).entropy")).epsilon(1e-12));
  m << 1, 5, 3;
  CHECK(d.log_prob(m) == -std::numeric_limits<double>::infinity());
  pml::IntMatrix rows(2, 3);
  rows << 2, 5, 3, 0, 0, 10;
  const Eigen::VectorXd batch = d.log_prob(rows);
  CHECK(batch(1) == Approx(scipy_reference("multinomial(10,[0.2,0.5,0.3]).logpmf([0,0,10])")));
  // exhaustive mode check: no count vector is more probable than mode()
  const pml::IntVector mode = d.mode();
  CHECK(mode.sum() == 10);
  double best = -1e300;
  for (long a = 0; a <= 10; ++a)
    for (long b = 0; a + b <= 10; ++b) {
      pml::IntVector c(3);
      c << a, b, 10 - a - b;
      best = std::max(best, d.log_prob(c));
    }
  CHECK(d.log_prob(mode) == Approx(best).epsilon(1e-14));
  pml::Rng rng(6);
  const pml::IntMatrix draws = d.sample(rng, 20000);
  const auto f = pml::Multinomial<double>::fit(draws);
  CHECK((f.probs() - p).cwiseAbs().maxCoeff() < 0.01);
  CHECK(f.trials() == 10);
  CHECK_THROWS_AS(d.log_prob(pml::IntVector::Zero(4)), std::invalid_argument);
}

TEST_CASE("DirichletMultinomial sums to one and has the stated moments", "[distributions][dirichlet_multinomial]") {
  Eigen::VectorXd alpha(3);
  alpha << 0.7, 2.0, 3.5;
  const pml::DirichletMultinomial<double> d(6, alpha);
  double total = 0;
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  Eigen::Matrix3d second = Eigen::Matrix3d::Zero();
  for (long a = 0; a <= 6; ++a)
    for (long b = 0; a + b <= 6; ++b) {
      pml::IntVector c(3);
      c << a, b, 6 - a - b;
      const double p = std::exp(d.log_prob(c));
      total += p;
      const Eigen::Vector3d cd = c.cast<double>();
      mean += p * cd;
      second += p * cd * cd.transpose();
    }
  CHECK(total == Approx(1.0).epsilon(1e-12));
  CHECK((mean - d.mean()).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((second - mean * mean.transpose() - d.covariance()).cwiseAbs().maxCoeff() < 1e-10);
  pml::Rng rng(7);
  const pml::IntMatrix draws = d.sample(rng, 20000);
  CHECK((draws.cast<double>().colwise().mean().transpose() - d.mean()).cwiseAbs().maxCoeff() < 0.05);
}

// ---- issue 12: counts up to 2^53 ---------------------------------------------------------------------
#include "distributions/grid_check.hpp"
#include "fixtures/mpmath_reference.hpp"

TEST_CASE("Binomial at 1e18 trials: the example of issue 12", "[distributions][extremes]") {
  CHECK(pml::Binomial<double>(1000000000000000000L, 1e-16).log_prob(100) == Approx(-3.2223569567543531).epsilon(1e-14));
  CHECK(pml::Binomial<float>(1000000000000000000L, 1e-16f).log_prob(100) == Approx(-3.2223569567543531).epsilon(1e-5));
  // endpoints and a tiny p
  CHECK(pml::Binomial<double>(10, 1e-300).log_prob(0) == Approx(-1e-299).epsilon(1e-15));
  CHECK(pml::Binomial<double>(10, 1e-300).log_prob(1) == Approx(std::log(10.0) + std::log(1e-300)).epsilon(1e-15));
  CHECK(pml::Binomial<double>(10, 0.0).log_prob(1) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("count distributions match mpmath for counts up to 2^53", "[distributions][extremes]") {
  namespace mp = pml_test::mp;
  using pml_test::check_grid;
  check_grid("Binomial::log_prob", mp::binomial_log_prob,
             [](const auto& r) { return pml::Binomial<double>(long(r[0]), r[1]).log_prob(long(r[2])); }, 1e-12, 1e-3);
  check_grid("Poisson::log_prob", mp::poisson_log_prob,
             [](const auto& r) { return pml::Poisson<double>(r[0]).log_prob(long(r[1])); }, 1e-12, 1e-3);
  check_grid("NegativeBinomial::log_prob", mp::negative_binomial_log_prob,
             [](const auto& r) { return pml::NegativeBinomial<double>(r[0], r[1]).log_prob(long(r[2])); }, 1e-12, 1e-3);
  check_grid("BetaBinomial::log_prob", mp::beta_binomial_log_prob,
             [](const auto& r) { return pml::BetaBinomial<double>(long(r[0]), r[1], r[2]).log_prob(long(r[3])); }, 1e-12,
             1e-3);
  // before: rows with trials beyond 1e-3 of a large concentration were ~1e-8 off and left out of the grid
  check_grid("DirichletMultinomial::log_prob", mp::dirichlet_multinomial_log_prob, [](const auto& r) {
    const long n = long(r[2]) + long(r[3]) + long(r[4]);
    const Eigen::Vector3d alpha(r[0], r[0] * 2.5, r[0] * r[1]);
    pml::IntVector counts(3);
    counts << long(r[2]), long(r[3]), long(r[4]);
    return pml::DirichletMultinomial<double>(n, alpha).log_prob(counts);
  }, 1e-12, 1e-3);
}

TEST_CASE("count entropies at large counts: a series or a clear exception, never a hang", "[distributions][extremes]") {
  // Poisson: the asymptotic series above 1e5 continues the exact sum below it
  const double below = pml::Poisson<double>(99999.0).entropy(), above = pml::Poisson<double>(1e5).entropy();
  CHECK(above - below == Approx(0.5 * std::log(1e5 / 99999.0) + 1 / (12 * 99999.0) - 1 / 12e5).epsilon(1e-7));
  CHECK(pml::Poisson<double>(1e15).entropy() == Approx(0.5 * std::log(2 * M_PI * M_E * 1e15)).epsilon(1e-15));
  // Binomial: exact over the window around the mean, then a clear exception
  CHECK(pml::Binomial<double>(1000000000000000000L, 1e-16).entropy() ==
        Approx(pml::Poisson<double>(100.0).entropy()).epsilon(1e-12));
  CHECK_THROWS_WITH(pml::Binomial<double>(1000000000000000000L, 0.5).entropy(), Contains("Binomial::entropy: trials"));
  CHECK_THROWS_WITH(pml::BetaBinomial<double>(1L << 40, 2.0, 3.0).entropy(), Contains("BetaBinomial::entropy: trials"));
  CHECK_THROWS_WITH(pml::js_divergence(pml::Binomial<double>(1L << 50, 0.5), pml::Binomial<double>(1L << 50, 0.4)),
                    Contains("js_divergence"));
}
