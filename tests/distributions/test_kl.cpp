#include <catch2/catch.hpp>

#include <cmath>

#include "pml/distributions/kl.hpp"

namespace {
// Monte Carlo estimate E_p[log p - log q] with its standard error.
template <class P, class Q, class Draw> std::pair<double, double> mc_kl(const P& p, const Q& q, Draw draw, int n) {
  Eigen::VectorXd d(n);
  for (int i = 0; i < n; ++i) {
    const auto x = draw();
    d(i) = p.log_prob(x) - q.log_prob(x);
  }
  const double mean = d.mean();
  return {mean, std::sqrt((d.array() - mean).square().mean() / n)};
}
}  // namespace

TEST_CASE("closed-form KL agrees with Monte Carlo for continuous families", "[distributions][kl][quality]") {
  pml::Rng rng(1);
  const int n = 100000;
  {
    const pml::Normal<double> p(0.5, 1.2), q(-0.3, 2.0);
    auto [mc, se] = mc_kl(p, q, [&] { return p.sample(rng); }, n);
    CHECK(pml::kl_divergence(p, q) == Approx(mc).margin(5 * se));
  }
  {
    const pml::Beta<double> p(2.0, 5.0), q(1.5, 1.5);
    auto [mc, se] = mc_kl(p, q, [&] { return p.sample(rng); }, n);
    CHECK(pml::kl_divergence(p, q) == Approx(mc).margin(5 * se));
  }
  {
    const pml::Gamma<double> p(3.0, 2.0), q(1.5, 0.7);
    auto [mc, se] = mc_kl(p, q, [&] { return p.sample(rng); }, n);
    CHECK(pml::kl_divergence(p, q) == Approx(mc).margin(5 * se));
  }
  {
    const pml::Dirichlet<double> p(Eigen::Vector3d(1.0, 2.0, 3.0)), q(Eigen::Vector3d(2.0, 2.0, 0.8));
    auto [mc, se] = mc_kl(p, q, [&] { return Eigen::VectorXd(p.sample(rng)); }, n);
    CHECK(pml::kl_divergence(p, q) == Approx(mc).margin(5 * se));
  }
  {
    Eigen::Matrix2d s1, s2;
    s1 << 1.0, 0.4, 0.4, 0.8;
    s2 << 2.0, -0.3, -0.3, 1.0;
    const pml::MultivariateNormal<double> p(Eigen::Vector2d(0, 1), s1), q(Eigen::Vector2d(1, -1), s2);
    auto [mc, se] = mc_kl(p, q, [&] { return Eigen::VectorXd(p.sample(rng)); }, n);
    CHECK(pml::kl_divergence(p, q) == Approx(mc).margin(5 * se));
    const pml::Wishart<double> wp(4.0, s1), wq(6.0, 0.5 * s2);
    auto [mcw, sew] = mc_kl(wp, wq, [&] { return Eigen::MatrixXd(wp.sample(rng)); }, n);
    CHECK(pml::kl_divergence(wp, wq) == Approx(mcw).margin(5 * sew));
  }
  {
    const pml::MultivariateNormalDiag<double> p(Eigen::Vector2d(0, 1), Eigen::Vector2d(1, 0.5)),
        q(Eigen::Vector2d(1, 0), Eigen::Vector2d(2, 1));
    const pml::MultivariateNormal<double> pf(p.mean(), p.covariance()), qf(q.mean(), q.covariance());
    CHECK(pml::kl_divergence(p, q) == Approx(pml::kl_divergence(pf, qf)).epsilon(1e-13));
  }
}

TEST_CASE("KL of discrete families equals the direct sum", "[distributions][kl]") {
  Eigen::VectorXd a(3), b(3);
  a << 0.2, 0.5, 0.3;
  b << 0.4, 0.4, 0.2;
  const pml::Categorical<double> p(a), q(b);
  CHECK(pml::kl_divergence(p, q) == Approx((a.array() * (a.array() / b.array()).log()).sum()).epsilon(1e-14));
  const pml::Binomial<double> bp(8, 0.3), bq(8, 0.6);
  double direct = 0;
  for (long k = 0; k <= 8; ++k) direct += std::exp(bp.log_prob(k)) * (bp.log_prob(k) - bq.log_prob(k));
  CHECK(pml::kl_divergence(bp, bq) == Approx(direct).epsilon(1e-12));
  CHECK(pml::kl_divergence(pml::Bernoulli<double>(0.3), pml::Bernoulli<double>(0.6)) == Approx(direct / 8).epsilon(1e-12));
  CHECK(pml::kl_divergence(pml::Multinomial<double>(5, a), pml::Multinomial<double>(5, b)) ==
        Approx(5 * pml::kl_divergence(p, q)).epsilon(1e-14));
  // support mismatch gives +inf, not NaN
  Eigen::VectorXd c(3);
  c << 0.5, 0.5, 0.0;
  CHECK(std::isinf(pml::kl_divergence(p, pml::Categorical<double>(c))));
  CHECK(pml::kl_divergence(pml::Categorical<double>(c), p) < 1.0);
  CHECK_THROWS_AS(pml::kl_divergence(pml::Binomial<double>(3, 0.5), pml::Binomial<double>(4, 0.5)), std::invalid_argument);
}

TEST_CASE("KL is non-negative and zero exactly on equal arguments", "[distributions][kl]") {
  pml::Rng rng(2);
  for (int trial = 0; trial < 50; ++trial) {
    const double m1 = pml::random::normal(rng, 0.0, 2.0), s1 = pml::random::gamma(rng, 2.0) + 0.1;
    const double m2 = pml::random::normal(rng, 0.0, 2.0), s2 = pml::random::gamma(rng, 2.0) + 0.1;
    CHECK(pml::kl_divergence(pml::Normal<double>(m1, s1), pml::Normal<double>(m2, s2)) >= 0);
    CHECK(pml::kl_divergence(pml::Gamma<double>(s1, s2), pml::Gamma<double>(s2, s1)) >= 0);
    CHECK(pml::kl_divergence(pml::Beta<double>(s1, s2), pml::Beta<double>(s2 + 0.3, s1)) >= 0);
    const Eigen::VectorXd a = pml::random::dirichlet(rng, Eigen::Vector4d::Ones());
    const Eigen::VectorXd b = pml::random::dirichlet(rng, Eigen::Vector4d::Ones());
    CHECK(pml::kl_divergence(pml::Categorical<double>(a), pml::Categorical<double>(b)) >= 0);
    CHECK(pml::kl_divergence(pml::Dirichlet<double>(a * 5), pml::Dirichlet<double>(b * 5)) >= 0);
  }
  Eigen::Matrix2d s;
  s << 1.0, 0.4, 0.4, 0.8;
  const pml::MultivariateNormal<double> mvn(Eigen::Vector2d(1, 2), s);
  CHECK(pml::kl_divergence(mvn, mvn) == Approx(0.0).margin(1e-14));
  CHECK(pml::kl_divergence(pml::Wishart<double>(3.5, s), pml::Wishart<double>(3.5, s)) == Approx(0.0).margin(1e-13));
  CHECK(pml::kl_divergence(pml::Gamma<double>(2, 3), pml::Gamma<double>(2, 3)) == Approx(0.0).margin(1e-14));
  CHECK(pml::kl_divergence(pml::Beta<double>(2, 3), pml::Beta<double>(2, 3)) == Approx(0.0).margin(1e-14));
  CHECK(pml::kl_divergence(pml::Dirichlet<double>(Eigen::Vector2d(2, 3)), pml::Dirichlet<double>(Eigen::Vector2d(2, 3))) ==
        Approx(0.0).margin(1e-14));
  CHECK(pml::kl_divergence(pml::Normal<float>(1, 2), pml::Normal<float>(1, 2)) == Approx(0.0f).margin(1e-6));
}

TEST_CASE("Jensen-Shannon is symmetric, bounded by log 2 and zero on equal arguments", "[distributions][js]") {
  Eigen::VectorXd a(3), b(3), c(3), d(3);
  a << 0.2, 0.5, 0.3;
  b << 0.4, 0.4, 0.2;
  c << 1, 0, 0;
  d << 0, 0.5, 0.5;
  const pml::Categorical<double> p(a), q(b);
  CHECK(pml::js_divergence(p, q) == Approx(pml::js_divergence(q, p)).epsilon(1e-15));
  CHECK(pml::js_divergence(p, p) == Approx(0.0).margin(1e-15));
  CHECK(pml::js_divergence(pml::Categorical<double>(c), pml::Categorical<double>(d)) == Approx(std::log(2.0)).epsilon(1e-14));
  CHECK(pml::js_divergence(pml::Bernoulli<double>(0.0), pml::Bernoulli<double>(1.0)) == Approx(std::log(2.0)));
  CHECK(pml::js_divergence(pml::Bernoulli<double>(0.3), pml::Bernoulli<double>(0.6)) ==
        Approx(pml::js_divergence(pml::Categorical<double>(Eigen::Vector2d(0.7, 0.3)), pml::Categorical<double>(Eigen::Vector2d(0.4, 0.6)))));
  const double js = pml::js_divergence(pml::Binomial<double>(6, 0.2), pml::Binomial<double>(6, 0.7));
  CHECK(js > 0);
  CHECK(js < std::log(2.0));
}

// ---- issue 12: divergences between members with large parameters ------------------------------------
#include "distributions/grid_check.hpp"
#include "fixtures/mpmath_reference.hpp"

// KL >= 0 is held to 1e-12 relative above 1 and 1e-12 absolute below: a KL of 1e-13 between, e.g.,
// Beta(1e4, 1e-12) and Beta(1.5e4, 1e-12) lives below the rounding of a + b.
TEST_CASE("Gamma, Beta and Dirichlet KL divergences match mpmath at extreme parameters", "[distributions][kl][extremes]") {
  namespace mp = pml_test::mp;
  using pml_test::check_grid;
  check_grid("kl(Gamma, Gamma)", mp::kl_gamma, [](const auto& r) {
    return pml::kl_divergence(pml::Gamma<double>(r[0], r[1]), pml::Gamma<double>(r[2], r[3]));
  }, 1e-12, 1.0);
  check_grid("kl(Beta, Beta)", mp::kl_beta, [](const auto& r) {
    return pml::kl_divergence(pml::Beta<double>(r[0], r[1]), pml::Beta<double>(r[2], r[3]));
  }, 1e-12, 1.0);
  check_grid("kl(Dirichlet, Dirichlet)", mp::kl_dirichlet, [](const auto& r) {
    const Eigen::Vector3d p(r[0], r[1], r[0] + r[1]);
    const Eigen::Vector3d q(r[0] * r[2], r[1], (r[0] + r[1]) / r[2]);
    return pml::kl_divergence(pml::Dirichlet<double>(p), pml::Dirichlet<double>(q));
  }, 1e-12, 1.0);
  // KL is 0 between equal members and the Wishart KL goes through lgamma_remainder
  CHECK(pml::kl_divergence(pml::Gamma<double>(1e300, 2), pml::Gamma<double>(1e300, 2)) == 0.0);
  const Eigen::Matrix2d w = Eigen::Matrix2d::Identity();
  CHECK(pml::kl_divergence(pml::Wishart<double>(1e20, w), pml::Wishart<double>(1e20, w)) == Approx(0.0).margin(1e-300));
  // a 1 x 1 Wishart(ν, w) is Gamma(ν/2, rate 1/(2w)): the two KL code paths agree at large ν
  const Eigen::Matrix<double, 1, 1> w1 = Eigen::Matrix<double, 1, 1>::Constant(2.0), w2 = Eigen::Matrix<double, 1, 1>::Constant(0.5);
  for (const double nu : {3.0, 1e8, 1e20}) {
    const double kw = pml::kl_divergence(pml::Wishart<double>(nu, w1), pml::Wishart<double>(1.5 * nu, w2));
    const double kg = pml::kl_divergence(pml::Gamma<double>(0.5 * nu, 0.25), pml::Gamma<double>(0.75 * nu, 1.0));
    CHECK(kw == Approx(kg).epsilon(1e-12));
  }
}
