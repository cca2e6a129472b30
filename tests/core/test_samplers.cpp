#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <Eigen/Cholesky>

#include "pml/core/random.hpp"
#include "test_helpers.hpp"

using Catch::Matchers::Contains;
using pml_test::ks_critical;
using pml_test::ks_statistic;

namespace {
constexpr int n = 50000;
Eigen::VectorXd draw(int count, const std::function<double()>& f) {
  Eigen::VectorXd x(count);
  for (int i = 0; i < count; ++i) x(i) = f();
  return x;
}
}  // namespace

TEST_CASE("normal sampler passes Kolmogorov-Smirnov", "[core][samplers]") {
  pml::Rng rng(2024);
  Eigen::VectorXd x(n);
  pml::random::fill_normal(rng, x, 1.0, 2.0);
  const double d = ks_statistic(x, [](double v) { return 0.5 * std::erfc(-(v - 1.0) / (2.0 * std::sqrt(2.0))); });
  CHECK(d < ks_critical(n));
  // tails: P(|z| > r) (r = 3.654..., the ziggurat's tail region) is sampled at the right rate
  Eigen::VectorXd z(400000);
  pml::random::fill_normal(rng, z);
  const double tail = (z.array().abs() > 3.6541528853610088).cast<double>().mean();
  const double expected = std::erfc(3.6541528853610088 / std::sqrt(2.0));
  CHECK(tail == Approx(expected).epsilon(0.2));
  CHECK(z.maxCoeff() > 3.9);
  CHECK(z.minCoeff() < -3.9);
}

TEST_CASE("truncated normal sampler passes Kolmogorov-Smirnov on both of its branches, and tiny bounds end", "[core][samplers]") {
  pml::Rng rng(11);
  const auto phi = [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); };
  for (const double b : {0.3, 0.999, 1.0, 2.5}) {  // below 1: uniform proposals; from 1: normal ones
    CAPTURE(b);
    Eigen::VectorXd x(n);
    pml::random::fill_truncated_normal(rng, x, b);
    CHECK(x.cwiseAbs().maxCoeff() <= b);
    const double lo = phi(-b), mass = phi(b) - lo;
    CHECK(ks_statistic(x, [&](double v) { return (phi(v) - lo) / mass; }) < ks_critical(n));
  }
  Eigen::VectorXf tiny(1000);  // acceptance stays above 60% however small the bound
  pml::random::fill_truncated_normal(rng, tiny, 1e-30);
  CHECK(tiny.cwiseAbs().maxCoeff() <= 1e-30f);
  Eigen::VectorXd wide(1000), plain(1000);  // an infinite bound: normal draws
  pml::Rng r1(3), r2(3);
  pml::random::fill_truncated_normal(r1, wide, std::numeric_limits<double>::infinity());
  pml::random::fill_normal(r2, plain);
  CHECK(wide == plain);
  CHECK_THROWS_WITH(pml::random::fill_truncated_normal(rng, wide, 0.0), Contains("random::fill_truncated_normal") && Contains("bound") && Contains("0"));
  CHECK_THROWS_WITH(pml::random::truncated_normal(rng, std::nan("")), Contains("random::truncated_normal") && Contains("bound") && Contains("nan"));
}

TEST_CASE("batch samplers fill blocks and are reproducible from the seed", "[core][samplers]") {
  pml::Rng a(1), b(1);
  Eigen::MatrixXd m(10, 4);
  pml::random::fill_normal(a, m.block(2, 1, 3, 2));  // a temporary block is writable
  CHECK(m.block(2, 1, 3, 2).cwiseAbs().sum() > 0);
  Eigen::MatrixXf f(3, 2);
  pml::random::fill_normal(b, f);
  CHECK(f(0, 0) == static_cast<float>(m(2, 1)));  // float and double draw the same stream
  Eigen::ArrayXXd u(100, 3);
  pml::random::fill_uniform(a, u);
  CHECK((u >= 0).all());
  CHECK((u < 1).all());
  CHECK_THROWS_AS(pml::random::fill_normal(a, m, 0.0, -1.0), std::domain_error);
  CHECK(pml::random::normal(a, 5.0, 1e-9) == Approx(5.0));
  CHECK_THROWS_AS(pml::random::normal(a, 0.0, 0.0), std::domain_error);
  CHECK_THROWS_AS(pml::random::uniform(a, 1.0, 1.0), std::domain_error);
}

TEST_CASE("gamma sampler passes KS for shapes below and above one", "[core][samplers]") {
  pml::Rng rng(7);
  // shape 2: F(x) = 1 - e^{-x}(1 + x)
  auto g2 = draw(n, [&] { return pml::random::gamma(rng, 2.0); });
  CHECK(ks_statistic(g2, [](double x) { return 1 - std::exp(-x) * (1 + x); }) < ks_critical(n));
  // shape 1/2, rate 1: F(x) = erf(sqrt(x))
  auto gh = draw(n, [&] { return pml::random::gamma(rng, 0.5); });
  CHECK(ks_statistic(gh, [](double x) { return std::erf(std::sqrt(x)); }) < ks_critical(n));
  // rate scales: Gamma(1, rate 3) is Exponential(3)
  auto g1 = draw(n, [&] { return pml::random::gamma(rng, 1.0, 3.0); });
  CHECK(ks_statistic(g1, [](double x) { return 1 - std::exp(-3 * x); }) < ks_critical(n));
  auto e = draw(n, [&] { return pml::random::exponential(rng, 3.0); });
  CHECK(ks_statistic(e, [](double x) { return 1 - std::exp(-3 * x); }) < ks_critical(n));
  // tiny shape: the log-space draw stays finite
  for (int i = 0; i < 1000; ++i) REQUIRE(std::isfinite(pml::random::log_gamma(rng, 1e-4)));
  CHECK_THROWS_AS(pml::random::gamma(rng, -1.0), std::domain_error);
}

TEST_CASE("beta, Student-t and chi-squared samplers pass KS", "[core][samplers]") {
  pml::Rng rng(11);
  auto arcsine = draw(n, [&] { return pml::random::beta(rng, 0.5, 0.5); });
  CHECK(ks_statistic(arcsine, [](double x) { return 2 / M_PI * std::asin(std::sqrt(x)); }) < ks_critical(n));
  auto b = draw(n, [&] { return pml::random::beta(rng, 1.0, 3.0); });
  CHECK(ks_statistic(b, [](double x) { return 1 - std::pow(1 - x, 3); }) < ks_critical(n));
  auto cauchy = draw(n, [&] { return pml::random::student_t(rng, 1.0); });
  CHECK(ks_statistic(cauchy, [](double x) { return 0.5 + std::atan(x) / M_PI; }) < ks_critical(n));
  auto chi2 = draw(n, [&] { return pml::random::chi_squared(rng, 2.0); });
  CHECK(ks_statistic(chi2, [](double x) { return 1 - std::exp(-x / 2); }) < ks_critical(n));
}

TEST_CASE("Dirichlet sampler has the right moments, even for tiny concentrations", "[core][samplers]") {
  pml::Rng rng(5);
  Eigen::VectorXd alpha(3);
  alpha << 0.5, 1.5, 3.0;
  Eigen::MatrixXd x(n, 3);
  for (int i = 0; i < n; ++i) x.row(i) = pml::random::dirichlet(rng, alpha).transpose();
  const double a0 = alpha.sum();
  for (int k = 0; k < 3; ++k) {
    const double mean = alpha(k) / a0, var = alpha(k) * (a0 - alpha(k)) / (a0 * a0 * (a0 + 1));
    CHECK(x.col(k).mean() == Approx(mean).margin(5 * std::sqrt(var / n)));
    const double sample_var = (x.col(k).array() - x.col(k).mean()).square().mean();
    CHECK(sample_var == Approx(var).epsilon(0.05));
  }
  CHECK((x.rowwise().sum().array() - 1).abs().maxCoeff() < 1e-12);
  Eigen::VectorXd tiny = Eigen::VectorXd::Constant(4, 1e-3);
  for (int i = 0; i < 100; ++i) {
    const Eigen::VectorXd p = pml::random::dirichlet(rng, tiny);
    REQUIRE(p.allFinite());
    REQUIRE(p.sum() == Approx(1.0));
  }
  CHECK_THROWS_AS(pml::random::dirichlet(rng, Eigen::VectorXd::Zero(2)), std::domain_error);
}

TEST_CASE("discrete samplers pass chi-square", "[core][samplers]") {
  pml::Rng rng(13);
  Eigen::VectorXd p(4);
  p << 0.1, 0.2, 0.3, 0.4;
  std::vector<double> observed(4, 0), expected(4);
  for (int i = 0; i < n; ++i) observed[static_cast<std::size_t>(pml::random::categorical(rng, p))] += 1;
  for (int k = 0; k < 4; ++k) expected[static_cast<std::size_t>(k)] = n * p(k);
  const auto chi = pml_test::chi_square_test(observed, expected);
  CHECK(chi.statistic < chi.critical);

  std::vector<double> bin_obs(11, 0), bin_exp(11);
  for (int i = 0; i < n; ++i) bin_obs[static_cast<std::size_t>(pml::random::binomial(rng, 10, 0.3))] += 1;
  for (int k = 0; k <= 10; ++k)
    bin_exp[static_cast<std::size_t>(k)] = n * std::exp(std::lgamma(11.0) - std::lgamma(k + 1.0) - std::lgamma(11.0 - k) +
                                                        k * std::log(0.3) + (10 - k) * std::log(0.7));
  const auto chi_bin_obs = pml_test::chi_square_test(bin_obs, bin_exp);
  CHECK(chi_bin_obs.statistic < chi_bin_obs.critical);

  Eigen::MatrixXd counts(n, 4);
  for (int i = 0; i < n; ++i) {
    const pml::IntVector m = pml::random::multinomial(rng, 20, p);
    REQUIRE(m.sum() == 20);
    counts.row(i) = m.cast<double>().transpose();
  }
  for (int k = 0; k < 4; ++k) CHECK(counts.col(k).mean() == Approx(20 * p(k)).margin(5 * std::sqrt(20 * p(k) * (1 - p(k)) / n)));
  double poisson_mean = 0;
  for (int i = 0; i < n; ++i) poisson_mean += static_cast<double>(pml::random::poisson(rng, 4.5));
  CHECK(poisson_mean / n == Approx(4.5).margin(5 * std::sqrt(4.5 / n)));
  CHECK(pml::random::categorical(rng, Eigen::Vector3d(0, 0, 1)) == 2);
}

TEST_CASE("Wishart sampler (Bartlett) has mean df*V and the right variances", "[core][samplers]") {
  pml::Rng rng(17);
  Eigen::Matrix2d v;
  v << 1.0, 0.3, 0.3, 0.5;
  const Eigen::MatrixXd l = v.llt().matrixL();
  const double df = 5.5;
  Eigen::Matrix2d mean = Eigen::Matrix2d::Zero(), sq = Eigen::Matrix2d::Zero();
  const int m = 40000;
  for (int i = 0; i < m; ++i) {
    const Eigen::MatrixXd w = pml::random::wishart_from_cholesky(rng, df, l);
    mean += w;
    sq += w.cwiseProduct(w);
  }
  mean /= m;
  sq /= m;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      const double var = df * (v(i, j) * v(i, j) + v(i, i) * v(j, j));
      CHECK(mean(i, j) == Approx(df * v(i, j)).margin(5 * std::sqrt(var / m)));
      CHECK(sq(i, j) - mean(i, j) * mean(i, j) == Approx(var).epsilon(0.06));
    }
  CHECK_THROWS_AS(pml::random::wishart_from_cholesky(rng, 0.5, l), std::domain_error);
}

TEST_CASE("batch fill_* samplers draw from the right laws", "[core][samplers]") {
  pml::Rng rng(19);
  Eigen::ArrayXd g(n), e(n), b(n);
  pml::random::fill_gamma(rng, g, 2.0, 1.0);
  CHECK(ks_statistic(g, [](double x) { return 1 - std::exp(-x) * (1 + x); }) < ks_critical(n));
  pml::random::fill_exponential(rng, e, 3.0);
  CHECK(ks_statistic(e, [](double x) { return 1 - std::exp(-3 * x); }) < ks_critical(n));
  pml::random::fill_beta(rng, b, 1.0, 3.0);
  CHECK(ks_statistic(b, [](double x) { return 1 - std::pow(1 - x, 3); }) < ks_critical(n));
  Eigen::Matrix<long, Eigen::Dynamic, 1> labels(n);
  pml::random::fill_categorical(rng, labels, Eigen::Vector3d(0.2, 0.3, 0.5));
  std::vector<double> observed(3, 0), expected{0.2 * n, 0.3 * n, 0.5 * n};
  for (Eigen::Index i = 0; i < n; ++i) observed[static_cast<std::size_t>(labels(i))] += 1;
  const auto chi = pml_test::chi_square_test(observed, expected);
  CHECK(chi.statistic < chi.critical);
  Eigen::MatrixXf f(10, 10);
  pml::random::fill_gamma(rng, f.topRows(3), 0.5f);
  CHECK((f.topRows(3).array() > 0).all());
  CHECK_THROWS_WITH(pml::random::fill_gamma(rng, g, -1.0), Contains("fill_gamma: shape must be positive"));
  CHECK_THROWS_WITH(pml::random::fill_categorical(rng, labels, Eigen::Vector2d(0.5, -0.5)), Contains("probs must have non-negative"));
}
