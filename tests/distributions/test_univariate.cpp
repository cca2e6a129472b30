#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "fixtures/scipy_reference.hpp"
#include "pml/distributions/beta.hpp"
#include "pml/distributions/gamma.hpp"
#include "pml/distributions/inverse_gamma.hpp"
#include "pml/distributions/laplace.hpp"
#include "pml/distributions/normal.hpp"
#include "pml/distributions/scale_mixture_normal.hpp"
#include "pml/distributions/student_t.hpp"
#include "test_helpers.hpp"

using Catch::Matchers::Contains;
using pml_test::integrate;
using pml_test::scipy_reference;

namespace {
// Sample mean and variance of n draws match the distribution's moments within 5 standard errors.
template <class D> void check_moments(const D& d, pml::Rng& rng, int n = 200000) {
  const Eigen::VectorXd x = d.sample(rng, n).template cast<double>();
  const double mean = x.mean(), var = (x.array() - mean).square().mean();
  CHECK(mean == Approx(d.mean()).margin(5 * std::sqrt(d.variance() / n)));
  CHECK(var == Approx(d.variance()).epsilon(0.05));
}
}  // namespace

TEST_CASE("Normal matches scipy and fits its samples", "[distributions][normal]") {
  const pml::Normal<double> d(1.5, 2.0);
  for (double x : {-1.5, 0.3, 4.0})
    CHECK(d.log_prob(x) == Approx(scipy_reference("normal(1.5,2).logpdf(" + pml_test::py(x) + ")")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("normal(1.5,2).entropy")).epsilon(1e-14));
  CHECK(d.cdf(0.3) == Approx(scipy_reference("normal(1.5,2).cdf(0.3)")).epsilon(1e-13));
  Eigen::VectorXd xs(3);
  xs << -1.5, 0.3, 4.0;
  const Eigen::VectorXd batch = d.log_prob(xs);
  for (int i = 0; i < 3; ++i) CHECK(batch(i) == Approx(d.log_prob(xs(i))).epsilon(1e-15));
  CHECK(integrate([&](double x) { return std::exp(d.log_prob(x)); }, -20, 23) == Approx(1.0).epsilon(1e-10));
  pml::Rng rng(1);
  check_moments(d, rng);
  const auto fitted = pml::Normal<double>::fit(d.sample(rng, 100000));
  CHECK(fitted.mean() == Approx(1.5).margin(0.02));
  CHECK(fitted.stddev() == Approx(2.0).epsilon(0.01));
  // weights: weight 2 equals repeating a point
  Eigen::VectorXd x3(3), w(3), x4(4);
  x3 << 1, 2, 4;
  w << 1, 2, 1;
  x4 << 1, 2, 2, 4;
  const auto a = pml::Normal<double>::fit(x3, w), b = pml::Normal<double>::fit(x4);
  CHECK(a.mean() == Approx(b.mean()));
  CHECK(a.stddev() == Approx(b.stddev()));
  CHECK(d.mode() == 1.5);
  CHECK(d.variance() == 4.0);
}

TEST_CASE("Normal rejects bad input naming the argument", "[distributions][normal]") {
  CHECK_THROWS_WITH(pml::Normal<double>(0.0, -2.0), Contains("Normal: stddev must be positive") && Contains("-2"));
  CHECK_THROWS_WITH(pml::Normal<double>(std::nan(""), 1.0), Contains("mean must be finite"));
  CHECK_THROWS_AS(pml::Normal<double>::fit(Eigen::VectorXd()), std::invalid_argument);
  CHECK_THROWS_WITH(pml::Normal<double>::fit(Eigen::VectorXd::Ones(4)), Contains("positive spread"));
  Eigen::VectorXd bad(2);
  bad << 1, std::nan("");
  CHECK_THROWS_WITH(pml::Normal<double>::fit(bad), Contains("x must have finite entries"));
  CHECK_THROWS_WITH(pml::Normal<double>::fit(Eigen::VectorXd::LinSpaced(3, 0, 1), Eigen::VectorXd::Ones(2)),
                    Contains("weights has length 2, expected 3"));
}

TEST_CASE("Normal works in float", "[distributions][normal]") {
  const pml::Normal<float> d(1.5f, 2.0f);
  CHECK(d.log_prob(0.3f) == Approx(scipy_reference("normal(1.5,2).logpdf(0.3)")).epsilon(1e-6));
  pml::Rng rng(3);
  const Eigen::VectorXf x = d.sample(rng, 1000);
  CHECK(pml::Normal<float>::fit(x).mean() == Approx(1.5f).margin(0.3f));
}

TEST_CASE("Laplace matches scipy, fits by median", "[distributions][laplace]") {
  const pml::Laplace<double> d(0.5, 1.5);
  for (double x : {-1.5, 0.3, 4.0})
    CHECK(d.log_prob(x) == Approx(scipy_reference("laplace(0.5,1.5).logpdf(" + pml_test::py(x) + ")")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("laplace(0.5,1.5).entropy")).epsilon(1e-14));
  CHECK(integrate([&](double x) { return std::exp(d.log_prob(x)); }, -40, 0.5) +
            integrate([&](double x) { return std::exp(d.log_prob(x)); }, 0.5, 41) ==
        Approx(1.0).epsilon(1e-9));
  pml::Rng rng(2);
  check_moments(d, rng);
  const auto f = pml::Laplace<double>::fit(d.sample(rng, 100000));
  CHECK(f.location() == Approx(0.5).margin(0.02));
  CHECK(f.scale() == Approx(1.5).epsilon(0.02));
  CHECK_THROWS_WITH(pml::Laplace<double>(0, 0), Contains("Laplace: scale must be positive"));
}

TEST_CASE("StudentT matches scipy and fits location and scale by EM", "[distributions][student_t]") {
  const pml::StudentT<double> d(3.5, 0.5, 2.0);
  for (double x : {-1.5, 0.3, 4.0})
    CHECK(d.log_prob(x) == Approx(scipy_reference("t(3.5,0.5,2).logpdf(" + pml_test::py(x) + ")")).epsilon(1e-12));
  CHECK(d.entropy() == Approx(scipy_reference("t(3.5,0.5,2).entropy")).epsilon(1e-12));
  CHECK(d.variance() == Approx(scipy_reference("t(3.5,0.5,2).var")).epsilon(1e-14));
  Eigen::VectorXd xs(2);
  xs << -1.5, 4.0;
  CHECK(d.log_prob(xs)(1) == Approx(d.log_prob(4.0)).epsilon(1e-14));
  pml::Rng rng(4);
  const auto f = pml::StudentT<double>::fit(3.5, d.sample(rng, 100000));
  CHECK(f.location() == Approx(0.5).margin(0.03));
  CHECK(f.scale() == Approx(2.0).epsilon(0.02));
  CHECK_THROWS_WITH(pml::StudentT<double>(1.0, 0.0, 1.0).variance(), Contains("df must exceed 2"));
  CHECK_THROWS_WITH(pml::StudentT<double>(0.5, 0.0, 1.0).mean(), Contains("df must exceed 1"));
  CHECK_THROWS_WITH(pml::StudentT<double>(-1.0, 0.0, 1.0), Contains("StudentT: df must be positive"));
}

TEST_CASE("Beta matches scipy and its MLE recovers the parameters", "[distributions][beta]") {
  const pml::Beta<double> d(2.5, 0.7);
  for (double x : {0.05, 0.3, 0.9})
    CHECK(d.log_prob(x) == Approx(scipy_reference("beta(2.5,0.7).logpdf(" + pml_test::py(x) + ")")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("beta(2.5,0.7).entropy")).epsilon(1e-12));
  CHECK(d.variance() == Approx(scipy_reference("beta(2.5,0.7).var")).epsilon(1e-14));
  CHECK(d.log_prob(1.5) == -std::numeric_limits<double>::infinity());
  const pml::Beta<double> e(2.0, 3.0);
  CHECK(integrate([&](double x) { return std::exp(e.log_prob(x)); }, 0, 1) == Approx(1.0).epsilon(1e-10));
  CHECK(e.mode() == Approx(1.0 / 3.0));
  CHECK(pml::Beta<double>(0.5, 2.0).mode() == 0.0);
  CHECK_THROWS_WITH(pml::Beta<double>(0.5, 0.5).mode(), Contains("unique mode"));
  pml::Rng rng(5);
  check_moments(d, rng);
  const auto f = pml::Beta<double>::fit(d.sample(rng, 100000));
  CHECK(f.a() == Approx(2.5).epsilon(0.03));
  CHECK(f.b() == Approx(0.7).epsilon(0.03));
  Eigen::VectorXd bad(2);
  bad << 0.5, 1.0;
  CHECK_THROWS_WITH(pml::Beta<double>::fit(bad), Contains("strictly inside (0, 1)") && Contains("index 1"));
  CHECK_THROWS_WITH(pml::Beta<double>(-1, 1), Contains("Beta: a must be positive"));
}

TEST_CASE("Gamma matches scipy and its MLE recovers the parameters", "[distributions][gamma]") {
  const pml::Gamma<double> d(2.5, 1.5);
  for (double x : {0.1, 1.0, 3.7})
    CHECK(d.log_prob(x) == Approx(scipy_reference("gamma(2.5,rate=1.5).logpdf(" + pml_test::py(x) + ")")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("gamma(2.5,rate=1.5).entropy")).epsilon(1e-13));
  CHECK(pml::Gamma<double>(0.3, 2.0).entropy() == Approx(scipy_reference("gamma(0.3,rate=2).entropy")).epsilon(1e-12));
  CHECK(integrate([&](double x) { return std::exp(d.log_prob(x)); }, 1e-12, 40) == Approx(1.0).epsilon(1e-8));
  CHECK(d.mode() == Approx(1.0));
  CHECK_THROWS_WITH(pml::Gamma<double>(0.5, 1).mode(), Contains("shape must be at least 1"));
  pml::Rng rng(6);
  check_moments(d, rng);
  const auto f = pml::Gamma<double>::fit(d.sample(rng, 100000));
  CHECK(f.shape() == Approx(2.5).epsilon(0.02));
  CHECK(f.rate() == Approx(1.5).epsilon(0.02));
  const auto small = pml::Gamma<double>::fit(pml::Gamma<double>(0.2, 3.0).sample(rng, 100000));
  CHECK(small.shape() == Approx(0.2).epsilon(0.03));
  CHECK_THROWS_WITH(pml::Gamma<double>::fit(-Eigen::VectorXd::Ones(3)), Contains("x must have positive finite entries"));
}

TEST_CASE("InverseGamma matches scipy and fits", "[distributions][inverse_gamma]") {
  const pml::InverseGamma<double> d(3.5, 2.0);
  for (double x : {0.1, 1.0, 3.7})
    CHECK(d.log_prob(x) == Approx(scipy_reference("invgamma(3.5,scale=2).logpdf(" + pml_test::py(x) + ")")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("invgamma(3.5,scale=2).entropy")).epsilon(1e-12));
  CHECK(d.variance() == Approx(scipy_reference("invgamma(3.5,scale=2).var")).epsilon(1e-14));
  CHECK(d.mode() == Approx(2.0 / 4.5));
  pml::Rng rng(7);
  const auto f = pml::InverseGamma<double>::fit(d.sample(rng, 100000));
  CHECK(f.shape() == Approx(3.5).epsilon(0.03));
  CHECK(f.scale() == Approx(2.0).epsilon(0.03));
  CHECK_THROWS_WITH(pml::InverseGamma<double>(0.5, 1).mean(), Contains("shape must exceed 1"));
  CHECK_THROWS_WITH(pml::InverseGamma<double>::fit(Eigen::VectorXd::Constant(3, 2.0)), Contains("InverseGamma::fit: x must have positive spread"));
}

TEST_CASE("ScaleMixtureNormal: density, entropy by quadrature, EM fit", "[distributions][scale_mixture]") {
  const pml::ScaleMixtureNormal<double> d(0.25, 1.0, std::exp(-6.0));
  const double s2 = std::exp(-6.0);
  for (double x : {0.0, 0.001, 0.5, 3.0}) {
    const double p = 0.25 * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI) +
                     0.75 * std::exp(-0.5 * x * x / (s2 * s2)) / (std::sqrt(2 * M_PI) * s2);
    CHECK(d.log_prob(x) == Approx(std::log(p)).epsilon(1e-13));
  }
  CHECK(std::isfinite(d.log_prob(30.0)));  // no underflow of the narrow component
  const double h = -(pml_test::integrate([&](double x) { return std::exp(d.log_prob(x)) * d.log_prob(x); }, -0.05, 0.05, 200000) +
                     2 * pml_test::integrate([&](double x) { return std::exp(d.log_prob(x)) * d.log_prob(x); }, 0.05, 12, 200000));
  CHECK(d.entropy() == Approx(h).epsilon(1e-6));
  pml::Rng rng(8);
  check_moments(d, rng);
  const auto f = pml::ScaleMixtureNormal<double>::fit(d.sample(rng, 100000));
  CHECK(f.pi() == Approx(0.25).margin(0.01));
  CHECK(f.sigma1() == Approx(1.0).epsilon(0.02));
  CHECK(f.sigma2() == Approx(s2).epsilon(0.02));
  CHECK_THROWS_WITH(pml::ScaleMixtureNormal<double>(1.5, 1, 1), Contains("pi must be a probability"));
  CHECK(pml::ScaleMixtureNormal<float>(0.5f, 1.0f, 0.01f).log_prob(0.0f) == Approx(d.log_prob(0.0) - std::log(0.75 / s2 + 0.25) + std::log(0.5 / 0.01 + 0.5)).epsilon(1e-5));
}

// ---- issue 12: large shapes and degrees of freedom -------------------------------------------------
#include "distributions/grid_check.hpp"
#include "fixtures/mpmath_reference.hpp"

TEST_CASE("StudentT and Gamma entropies: the examples of issue 12", "[distributions][extremes]") {
  CHECK(pml::StudentT<double>(1e15, 0, 1).entropy() == Approx(1.4189385332046738).epsilon(1e-15));
  CHECK(pml::StudentT<double>(1e10, 0, 1).entropy() == Approx(1.4189385333046727).epsilon(1e-15));
  CHECK(pml::Gamma<double>(1e15, 1).entropy() == Approx(18.688326730660016).epsilon(1e-15));
  CHECK(pml::Gamma<double>(1e20, 1).entropy() == Approx(24.444789463145131).epsilon(1e-15));
  // the Student-t tends to the normal: density and entropy
  const pml::StudentT<double> t(1e300, 0.5, 2.0);
  const pml::Normal<double> n(0.5, 2.0);
  CHECK(t.entropy() == Approx(n.entropy()).epsilon(1e-15));
  CHECK(t.log_prob(3.0) == Approx(n.log_prob(3.0)).epsilon(1e-15));
}

TEST_CASE("univariate entropies and log-densities match mpmath from 1e-300 to 1e300", "[distributions][extremes]") {
  namespace mp = pml_test::mp;
  using pml_test::check_grid;
  check_grid("Gamma::entropy", mp::gamma_entropy, [](const auto& r) { return pml::Gamma<double>(r[0], r[1]).entropy(); },
             1e-12, 1e-3);
  check_grid("InverseGamma::entropy", mp::inverse_gamma_entropy,
             [](const auto& r) { return pml::InverseGamma<double>(r[0], r[1]).entropy(); }, 1e-12, 1e-3);
  check_grid("StudentT::entropy", mp::student_t_entropy,
             [](const auto& r) { return pml::StudentT<double>(r[0], 0, 1).entropy(); }, 1e-12, 1e-3);
  check_grid("StudentT::log_prob", mp::student_t_log_prob,
             [](const auto& r) { return pml::StudentT<double>(r[0], 0, 1).log_prob(r[1]); }, 1e-12, 1e-3);
  check_grid("Gamma::log_prob", mp::gamma_log_prob,
             [](const auto& r) { return pml::Gamma<double>(r[0], r[1]).log_prob(r[2]); }, 1e-12, 1e-3);
  check_grid("Beta::entropy", mp::beta_entropy, [](const auto& r) { return pml::Beta<double>(r[0], r[1]).entropy(); },
             1e-12, 1e-3);
  check_grid("Beta::log_prob", mp::beta_log_prob,
             [](const auto& r) { return pml::Beta<double>(r[0], r[1]).log_prob(r[2]); }, 1e-12, 1e-3);
  // InverseGamma's density is the Gamma density of 1/x with the Jacobian
  for (const auto& r : mp::gamma_log_prob) {
    const double x = r[2];
    if (x < 1e-250 || x > 1e250) continue;
    CHECK(pml::InverseGamma<double>(r[0], r[1]).log_prob(1 / x) ==
          Approx(r[3] + 2 * std::log(x)).epsilon(1e-12).margin(1e-13));
  }
}

TEST_CASE("univariate entropies in float match mpmath to 1e-5", "[distributions][extremes]") {
  namespace mp = pml_test::mp;
  using pml_test::check_grid;
  check_grid("StudentT<float>::entropy", mp::student_t_entropy_float,
             [](const auto& r) { return pml::StudentT<float>(float(r[0]), 0, 1).entropy(); }, 1e-5, 1e-3);
  check_grid("Gamma<float>::entropy", mp::gamma_entropy_float,
             [](const auto& r) { return pml::Gamma<float>(float(r[0]), float(r[1])).entropy(); }, 1e-5, 1e-3);
  CHECK(pml::StudentT<float>(1e30f, 0, 1).entropy() == Approx(1.4189385332046727).epsilon(1e-6));
  CHECK(pml::Gamma<float>(1e30f, 1).entropy() == Approx(35.957714935639091).epsilon(1e-6));
}

// Estimator checks (issue 12): a shift of 1e9 spreads leaves the StudentT fit's scale and log-densities
// unchanged to 1e-9 (the EM runs on centred data), and data near the top of the range give a finite fit.
namespace {
template <class T> Eigen::Matrix<T, Eigen::Dynamic, 1> heavy_sample(int n, std::uint64_t seed) {
  pml::Rng rng(seed);
  return pml::StudentT<double>(4.0, 0.3, 1.7).sample(rng, n).template cast<T>();
}
}  // namespace

TEST_CASE("StudentT::fit is shift-equivariant at a shift of 1e9 spreads", "[distributions][student_t][fit]") {
  // three clusters on a 1/1024 grid (the estimator-check data), so x + c is exact and the EM converges slowly:
  // the EM used to sum w u x of size 1e9 (scale off by 1.65e-8)
  std::mt19937_64 gen(20261130);
  std::normal_distribution<double> normal;
  const double centres[3] = {0, 12, -5};
  Eigen::VectorXd x(60);
  for (int i = 0; i < 60; ++i) x(i) = std::round((centres[i % 3] + normal(gen)) * 1024) / 1024;
  const double spread = std::sqrt((x.array() - x.mean()).square().mean());
  const double c = std::round(1e9 * spread);
  const Eigen::VectorXd xc = x.array() + c;
  Eigen::VectorXd q(3), qc(3);
  q << -2.0, 0.4, 3.5;
  qc = q.array() + c;
  const auto a = pml::StudentT<double>::fit(4.0, x), b = pml::StudentT<double>::fit(4.0, xc);
  const double eps = std::numeric_limits<double>::epsilon();
  CHECK(std::abs((b.location() - c) - a.location()) <= 8 * eps * c);
  CHECK(std::abs(b.scale() / a.scale() - 1) <= 1e-9);
  const Eigen::VectorXd la = a.log_prob(q), lb = b.log_prob(qc);
  for (int i = 0; i < 3; ++i) CHECK(std::abs(lb(i) - la(i)) <= 64 * eps * 1e9 * std::max(1.0, std::abs(la(i))));
  // weighted: weight 2 equals repeating the point
  Eigen::VectorXd w = Eigen::VectorXd::Ones(x.size());
  w(0) = 2;
  Eigen::VectorXd x2(x.size() + 1);
  x2 << xc, xc(0);
  const auto d = pml::StudentT<double>::fit(4.0, xc, w), e = pml::StudentT<double>::fit(4.0, x2);
  CHECK(d.scale() == Approx(e.scale()).epsilon(1e-9));
}

TEST_CASE("Normal::fit and StudentT::fit give finite fits for data near 1e300 (1e35 in float)", "[distributions][fit][extremes]") {
  const Eigen::VectorXd x = heavy_sample<double>(200, 12);
  const auto t1 = pml::StudentT<double>::fit(4.0, x);
  const auto n1 = pml::Normal<double>::fit(x);
  const double big = 1e300 / 20;
  const Eigen::VectorXd xb = x * big;
  const auto tb = pml::StudentT<double>::fit(4.0, xb);
  CHECK(std::isfinite(tb.location()));
  CHECK(tb.scale() == Approx(t1.scale() * big).epsilon(1e-9));
  CHECK(tb.location() == Approx(t1.location() * big).epsilon(1e-9));
  CHECK(std::isfinite(tb.log_prob(xb(0))));
  const auto nb = pml::Normal<double>::fit(xb);
  CHECK(nb.stddev() == Approx(n1.stddev() * big).epsilon(1e-12));  // the variance (~1e600) is not representable
  CHECK(nb.mean() == Approx(n1.mean() * big).epsilon(1e-12));
  // the extremes of the range: stddev = DBL_MAX is representable
  const double top = std::numeric_limits<double>::max();
  Eigen::VectorXd ends(2);
  ends << -top, top;
  CHECK(pml::Normal<double>::fit(ends).stddev() == top);
  CHECK(pml::StudentT<double>::fit(4.0, ends).scale() > 0);
  CHECK(std::isfinite(pml::StudentT<double>::fit(4.0, ends).scale()));
  // tiny values: a positive, finite stddev rather than an underflowed variance
  const Eigen::VectorXd xs = x * 1e-300;
  CHECK(pml::Normal<double>::fit(xs).stddev() == Approx(n1.stddev() * 1e-300).epsilon(1e-12));
  CHECK(pml::StudentT<double>::fit(4.0, xs).scale() == Approx(t1.scale() * 1e-300).epsilon(1e-9));
  // float near 1e35
  const Eigen::VectorXf xf = heavy_sample<float>(200, 12) * 5e33f;
  const auto tf = pml::StudentT<float>::fit(4.0f, xf);
  const auto nf = pml::Normal<float>::fit(xf);
  CHECK(std::isfinite(tf.location()));
  CHECK(double(tf.scale()) == Approx(t1.scale() * 5e33).epsilon(1e-4));
  CHECK(double(nf.stddev()) == Approx(n1.stddev() * 5e33).epsilon(1e-4));
}
