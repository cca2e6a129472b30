#include <catch2/catch.hpp>

#include <cmath>

#include <Eigen/LU>

#include "fixtures/scipy_reference.hpp"
#include "pml/distributions/dirichlet.hpp"
#include "pml/distributions/multinomial.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/distributions/multivariate_normal_diag.hpp"
#include "pml/distributions/multivariate_student_t.hpp"
#include "pml/distributions/normal.hpp"
#include "pml/distributions/normal_gamma.hpp"
#include "pml/distributions/normal_wishart.hpp"
#include "pml/distributions/wishart.hpp"

using Catch::Matchers::Contains;
using pml_test::scipy_reference;

namespace {
Eigen::VectorXd mu3() { return (Eigen::VectorXd(3) << 1.0, -0.5, 2.0).finished(); }
Eigen::MatrixXd cov3() {
  return (Eigen::MatrixXd(3, 3) << 2.0, 0.3, -0.4, 0.3, 1.0, 0.2, -0.4, 0.2, 1.5).finished();
}
Eigen::MatrixXd pts3() {
  return (Eigen::MatrixXd(3, 3) << 0.0, 0.0, 0.0, 1.0, -0.5, 2.0, 3.0, 1.0, -1.0).finished();
}
}  // namespace

TEST_CASE("MultivariateNormal matches scipy point-wise and in batch", "[distributions][mvn]") {
  const pml::MultivariateNormal<double> d(mu3(), cov3());
  const Eigen::MatrixXd x = pts3();
  const Eigen::VectorXd batch = d.log_prob(x);
  for (int i = 0; i < 3; ++i) {
    const double expected = scipy_reference("mvn(mu,cov).logpdf(pts[" + std::to_string(i) + "])");
    CHECK(batch(i) == Approx(expected).epsilon(1e-13));
    CHECK(d.log_prob(Eigen::VectorXd(x.row(i).transpose())) == Approx(expected).epsilon(1e-13));
  }
  CHECK(d.entropy() == Approx(scipy_reference("mvn(mu,cov).entropy")).epsilon(1e-14));
  CHECK((d.covariance() - cov3()).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((d.precision() * cov3() - Eigen::MatrixXd::Identity(3, 3)).cwiseAbs().maxCoeff() < 1e-13);
  const auto from_prec = pml::MultivariateNormal<double>::from_precision(mu3(), d.precision());
  CHECK(from_prec.log_prob(x)(2) == Approx(batch(2)).epsilon(1e-12));
  // float: the same numbers to float precision
  const pml::MultivariateNormal<float> f(mu3().cast<float>(), cov3().cast<float>());
  CHECK(f.log_prob(Eigen::MatrixXf(x.cast<float>()))(2) == Approx(batch(2)).epsilon(1e-5));
}

TEST_CASE("MultivariateNormal samples and fits", "[distributions][mvn]") {
  const pml::MultivariateNormal<double> d(mu3(), cov3());
  pml::Rng rng(1);
  const Eigen::MatrixXd x = d.sample(rng, 200000);
  const auto f = pml::MultivariateNormal<double>::fit(x);
  CHECK((f.mean() - mu3()).cwiseAbs().maxCoeff() < 0.015);
  CHECK((f.covariance() - cov3()).cwiseAbs().maxCoeff() < 0.03);
  // weighted fit equals the fit with repeated rows
  Eigen::MatrixXd small = x.topRows(10);
  Eigen::VectorXd w = Eigen::VectorXd::Ones(10);
  w(3) = 2;
  Eigen::MatrixXd repeated(11, 3);
  repeated << small, small.row(3);
  const auto a = pml::MultivariateNormal<double>::fit(small, w), b = pml::MultivariateNormal<double>::fit(repeated);
  CHECK((a.covariance() - b.covariance()).cwiseAbs().maxCoeff() < 1e-12);
  CHECK_THROWS_WITH(pml::MultivariateNormal<double>::fit(x.topRows(2)), Contains("positive definite covariance"));
  CHECK_NOTHROW(pml::MultivariateNormal<double>::fit(x.topRows(2), Eigen::VectorXd(), 1e-3));
}

TEST_CASE("MultivariateNormal rejects bad parameters", "[distributions][mvn]") {
  Eigen::MatrixXd bad = cov3();
  bad(0, 0) = -1;
  CHECK_THROWS_WITH(pml::MultivariateNormal<double>(mu3(), bad), Contains("MultivariateNormal: covariance must be positive definite"));
  bad = cov3();
  bad(0, 1) = 5;
  CHECK_THROWS_WITH(pml::MultivariateNormal<double>(mu3(), bad), Contains("covariance must be symmetric"));
  CHECK_THROWS_WITH(pml::MultivariateNormal<double>(Eigen::VectorXd::Zero(2), cov3()), Contains("covariance has rows 3, expected 2"));
  const pml::MultivariateNormal<double> d(mu3(), cov3());
  CHECK_THROWS_WITH(d.log_prob(Eigen::MatrixXd::Zero(4, 2)), Contains("x has columns 2, expected 3"));
}

TEST_CASE("MultivariateNormalDiag is a product of normals", "[distributions][mvn_diag]") {
  Eigen::VectorXd mu(3), sd(3);
  mu << 1, -2, 0.5;
  sd << 0.5, 2, 1;
  const pml::MultivariateNormalDiag<double> d(mu, sd);
  const Eigen::MatrixXd x = pts3();
  const Eigen::VectorXd lp = d.log_prob(x);
  double h = 0;
  for (int j = 0; j < 3; ++j) h += pml::Normal<double>(mu(j), sd(j)).entropy();
  CHECK(d.entropy() == Approx(h).epsilon(1e-14));
  for (int i = 0; i < 3; ++i) {
    double expected = 0;
    for (int j = 0; j < 3; ++j) expected += pml::Normal<double>(mu(j), sd(j)).log_prob(x(i, j));
    CHECK(lp(i) == Approx(expected).epsilon(1e-14));
    CHECK(d.log_prob(Eigen::VectorXd(x.row(i).transpose())) == Approx(expected).epsilon(1e-14));
  }
  pml::Rng rng(2);
  const auto f = pml::MultivariateNormalDiag<double>::fit(d.sample(rng, 100000));
  CHECK((f.mean() - mu).cwiseAbs().maxCoeff() < 0.03);
  CHECK((f.stddev() - sd).cwiseAbs().maxCoeff() < 0.03);
  CHECK_THROWS_WITH(pml::MultivariateNormalDiag<double>(mu, -sd), Contains("stddev must have positive finite entries"));
}

TEST_CASE("MultivariateStudentT matches scipy and fits", "[distributions][mvt]") {
  const pml::MultivariateStudentT<double> d(4.5, mu3(), cov3());
  const Eigen::VectorXd lp = d.log_prob(pts3());
  for (int i = 0; i < 3; ++i)
    CHECK(lp(i) == Approx(scipy_reference("mvt(4.5,mu,cov).logpdf(pts[" + std::to_string(i) + "])")).epsilon(1e-12));
  pml::Rng rng(3);
  const Eigen::MatrixXd x = d.sample(rng, 200000);
  // entropy: against scipy when it has it, else the Monte Carlo estimate -E[log p]
  const Eigen::VectorXd lpx = d.log_prob(x);
  const double mc = -lpx.mean();
  const double se = std::sqrt((lpx.array() + mc).square().mean() / static_cast<double>(x.rows()));
  if (pml_test::has_scipy_reference("mvt(4.5,mu,cov).entropy"))
    CHECK(d.entropy() == Approx(scipy_reference("mvt(4.5,mu,cov).entropy")).epsilon(1e-12));
  CHECK(d.entropy() == Approx(mc).margin(5 * se));
  CHECK((x.colwise().mean().transpose() - mu3()).cwiseAbs().maxCoeff() < 0.03);
  const auto f = pml::MultivariateStudentT<double>::fit(4.5, x);
  CHECK((f.location() - mu3()).cwiseAbs().maxCoeff() < 0.02);
  CHECK((f.scale() - cov3()).cwiseAbs().maxCoeff() < 0.04);
  CHECK_THROWS_WITH(pml::MultivariateStudentT<double>(2.0, mu3(), cov3()).covariance(), Contains("df must exceed 2"));
}

TEST_CASE("Dirichlet matches scipy and its MLE recovers alpha", "[distributions][dirichlet]") {
  Eigen::VectorXd alpha(3);
  alpha << 0.7, 2.0, 3.5;
  const pml::Dirichlet<double> d(alpha);
  Eigen::VectorXd x0(3), x1(3);
  x0 << 0.2, 0.3, 0.5;
  x1 << 0.05, 0.05, 0.9;
  CHECK(d.log_prob(x0) == Approx(scipy_reference("dirichlet([0.7,2,3.5]).logpdf(x0)")).epsilon(1e-13));
  CHECK(d.log_prob(x1) == Approx(scipy_reference("dirichlet([0.7,2,3.5]).logpdf(x1)")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("dirichlet([0.7,2,3.5]).entropy")).epsilon(1e-12));
  Eigen::MatrixXd rows(2, 3);
  rows << x0.transpose(), x1.transpose();
  CHECK(d.log_prob(rows)(1) == Approx(d.log_prob(x1)));
  x0 << 0.5, 0.6, 0.1;
  CHECK(d.log_prob(x0) == -std::numeric_limits<double>::infinity());
  pml::Rng rng(4);
  const Eigen::MatrixXd s = d.sample(rng, 100000);
  CHECK((s.colwise().mean().transpose() - d.mean()).cwiseAbs().maxCoeff() < 0.005);
  const auto f = pml::Dirichlet<double>::fit(s);
  CHECK((f.alpha() - alpha).cwiseQuotient(alpha).cwiseAbs().maxCoeff() < 0.03);
  CHECK_THROWS_WITH(d.mode(), Contains("alpha must exceed 1"));
  CHECK(pml::Dirichlet<double>(Eigen::Vector3d(2, 3, 5)).mode()(2) == Approx(4.0 / 7.0));
  CHECK_THROWS_AS(pml::Dirichlet<double>(Eigen::VectorXd::Ones(1)), std::invalid_argument);
  CHECK_THROWS_WITH(pml::Dirichlet<double>(Eigen::Vector3d(1, 0, 1)), Contains("alpha must have positive finite entries"));
}

TEST_CASE("Wishart matches scipy and its MLE recovers df and scale", "[distributions][wishart]") {
  Eigen::MatrixXd scale(2, 2), x(2, 2);
  scale << 1.0, 0.3, 0.3, 0.5;
  x << 2.0, -0.2, -0.2, 1.5;
  const pml::Wishart<double> d(4.5, scale);
  CHECK(d.log_prob(x) == Approx(scipy_reference("wishart(4.5,wscale).logpdf(wx)")).epsilon(1e-13));
  CHECK(d.entropy() == Approx(scipy_reference("wishart(4.5,wscale).entropy")).epsilon(1e-12));
  CHECK(d.log_prob(Eigen::MatrixXd(-x)) == -std::numeric_limits<double>::infinity());
  CHECK((d.mode() - 1.5 * scale).cwiseAbs().maxCoeff() < 1e-14);
  pml::Rng rng(5);
  const auto draws = d.sample(rng, 50000);
  const auto f = pml::Wishart<double>::fit(draws);
  CHECK(f.df() == Approx(4.5).epsilon(0.03));
  CHECK((f.scale() - scale).cwiseAbs().maxCoeff() < 0.02);
  CHECK_THROWS_WITH(pml::Wishart<double>(0.5, scale), Contains("Wishart: df must be greater than 1"));
  CHECK_THROWS_WITH(pml::Wishart<double>(2.5, scale).mode(), Contains("df must be at least D + 1"));
}

TEST_CASE("NormalGamma: density factorises, moments, entropy, fit", "[distributions][normal_gamma]") {
  const pml::NormalGamma<double> d(1.0, 2.0, 3.0, 1.5);
  CHECK(d.log_prob(0.5, 1.2) == Approx(pml::Normal<double>(1.0, 1 / std::sqrt(2.0 * 1.2)).log_prob(0.5) +
                                       pml::Gamma<double>(3.0, 1.5).log_prob(1.2)).epsilon(1e-14));
  pml::Rng rng(6);
  const Eigen::MatrixXd s = d.sample(rng, 200000);
  CHECK(s.col(0).mean() == Approx(1.0).margin(0.01));
  CHECK(s.col(1).mean() == Approx(2.0).margin(0.01));
  CHECK((s.col(0).array() - s.col(0).mean()).square().mean() == Approx(d.variance().mean).epsilon(0.03));
  const Eigen::VectorXd lp = d.log_prob(s.col(0), s.col(1));
  CHECK(d.entropy() == Approx(-lp.mean()).margin(0.01));
  const auto f = pml::NormalGamma<double>::fit(s.col(0), s.col(1));
  CHECK(f.mu0() == Approx(1.0).margin(0.01));
  CHECK(f.kappa() == Approx(2.0).epsilon(0.02));
  CHECK(f.a() == Approx(3.0).epsilon(0.02));
  CHECK(f.b() == Approx(1.5).epsilon(0.02));
  // the marginal of the mean is the stated Student-t
  const auto marginal = d.mean_marginal();
  CHECK(marginal.variance() == Approx(d.variance().mean).epsilon(1e-12));
  CHECK(d.mode().precision == Approx(2.5 / 1.5));
  CHECK_THROWS_WITH(pml::NormalGamma<double>(0, -1, 1, 1), Contains("kappa must be positive"));
}

TEST_CASE("NormalWishart: density factorises, moments, entropy, fit", "[distributions][normal_wishart]") {
  Eigen::MatrixXd w(2, 2);
  w << 0.5, 0.1, 0.1, 0.8;
  const Eigen::Vector2d m0(1, -1);
  const pml::NormalWishart<double> d(m0, 1.5, 5.0, w);
  pml::Rng rng(7);
  const auto s = d.sample(rng, 40000);
  Eigen::Vector2d mean_mu = Eigen::Vector2d::Zero();
  Eigen::Matrix2d mean_prec = Eigen::Matrix2d::Zero();
  double neg_lp = 0;
  for (const auto& draw : s) {
    mean_mu += draw.mean;
    mean_prec += draw.precision;
    neg_lp -= d.log_prob(draw.mean, draw.precision);
  }
  mean_mu /= static_cast<double>(s.size());
  mean_prec /= static_cast<double>(s.size());
  neg_lp /= static_cast<double>(s.size());
  CHECK((mean_mu - m0).cwiseAbs().maxCoeff() < 0.02);
  CHECK((mean_prec - 5.0 * w).cwiseAbs().maxCoeff() < 0.05);
  CHECK(d.entropy() == Approx(neg_lp).margin(0.03));
  const double direct = pml::MultivariateNormal<double>::from_precision(m0, 1.5 * s[0].precision).log_prob(s[0].mean) +
                        d.precision_marginal().log_prob(s[0].precision);
  CHECK(d.log_prob(s[0].mean, s[0].precision) == Approx(direct).epsilon(1e-12));
  const auto f = pml::NormalWishart<double>::fit(s);
  CHECK((f.mu0() - m0).cwiseAbs().maxCoeff() < 0.02);
  CHECK(f.kappa() == Approx(1.5).epsilon(0.03));
  CHECK(f.nu() == Approx(5.0).epsilon(0.03));
  CHECK((f.scale() - w).cwiseAbs().maxCoeff() < 0.02);
  // marginal of the mean: covariance W^{-1} / (kappa (nu - D - 1))
  const Eigen::MatrixXd marginal_cov = d.mean_marginal().covariance();
  CHECK((marginal_cov - w.inverse() / (1.5 * (5.0 - 3.0))).cwiseAbs().maxCoeff() < 1e-12);
  CHECK_THROWS_WITH(pml::NormalWishart<double>(Eigen::Vector3d::Zero(), 1, 5, w), Contains("mu0 has length 3, expected 2"));
}

// ---- issue 12: large concentrations and degrees of freedom ------------------------------------------
#include "distributions/grid_check.hpp"
#include "fixtures/mpmath_reference.hpp"

TEST_CASE("Dirichlet, multivariate Student-t and Wishart entropies match mpmath at extreme parameters",
          "[distributions][extremes]") {
  namespace mp = pml_test::mp;
  using pml_test::check_grid;
  check_grid("Dirichlet::entropy", mp::dirichlet_entropy, [](const auto& r) {
    Eigen::VectorXd a(3);
    a << r[0], r[1], r[2];
    return pml::Dirichlet<double>(a).entropy();
  }, 1e-12, 1e-3);
  check_grid("MultivariateStudentT::entropy", mp::mvt_entropy, [](const auto& r) {
    const int d = int(r[1]);
    return pml::MultivariateStudentT<double>(r[0], Eigen::VectorXd::Zero(d), Eigen::MatrixXd::Identity(d, d)).entropy();
  }, 1e-12, 1e-3);
  check_grid("Wishart::entropy", mp::wishart_entropy, [](const auto& r) {
    return pml::Wishart<double>(r[0], Eigen::Matrix2d::Identity() / r[0]).entropy();
  }, 1e-12, 1e-3);
  // the Wishart entropy's rearranged form agrees with PRML B.82 where that does not cancel
  const Eigen::Matrix2d w = (Eigen::Matrix2d() << 2.0, 0.3, 0.3, 0.5).finished();
  const pml::Wishart<double> wish(4.5, w);
  CHECK(wish.entropy() == Approx(-wish.log_normaliser() - 0.5 * (4.5 - 3) * wish.mean_log_det() + 4.5).epsilon(1e-13));
  // large-ν multivariate Student-t density tends to the Gaussian
  Eigen::VectorXd mu(2), x(2);  // dynamic size: GCC 12 warns (-Warray-bounds) on 2-vectors through Ref
  mu << 1, -1;
  x << 0.3, 0.2;
  const pml::MultivariateStudentT<double> t(1e300, mu, w);
  CHECK(t.log_prob(x) == Approx(pml::MultivariateNormal<double>(mu, w).log_prob(x)).epsilon(1e-14));
}

TEST_CASE("Wishart log-density for large df matches mpmath; D = 1 is the Gamma density (issue 12)", "[distributions][wishart][extremes]") {
  // before: log B(W, nu) and (nu - D - 1)/2 log|X| - tr(W^-1 X)/2 were summed separately: digits lost
  // from nu ~ 1e8, meaningless past 1e15
  namespace mp = pml_test::mp;
  pml_test::check_grid("Wishart::log_prob", mp::wishart_log_prob, [](const auto& r) {
    Eigen::Matrix2d x;
    x << r[1], r[2], r[2], r[3];
    return pml::Wishart<double>(r[0], Eigen::Matrix2d::Identity() / r[0]).log_prob(x);
  }, 1e-12, 1.0);
  for (const double nu : {0.3, 2.5, 40.0, 1e6, 1e12, 1e18}) {
    Eigen::MatrixXd w(1, 1), x(1, 1);
    w << 0.7 / nu;
    x << 1.3;
    const pml::Gamma<double> g(0.5 * nu, 1.0 / (2.0 * w(0, 0)));
    INFO("nu = " << nu);
    CHECK(pml::Wishart<double>(nu, w).log_prob(x) == Approx(g.log_prob(1.3)).epsilon(1e-12).margin(1e-12));
  }
  // agrees with the textbook form (PRML B.78) where that does not cancel; not positive definite: -inf
  Eigen::Matrix3d w, x;
  w << 2.0, 0.3, 0.1, 0.3, 0.5, 0.05, 0.1, 0.05, 1.2;
  x << 3.0, -0.4, 0.2, -0.4, 1.1, 0.3, 0.2, 0.3, 2.2;
  const pml::Wishart<double> wish(6.5, w);
  const double direct = wish.log_normaliser() + 0.5 * (6.5 - 4) * std::log(x.determinant()) - 0.5 * (w.inverse() * x).trace();
  CHECK(wish.log_prob(x) == Approx(direct).epsilon(1e-13));
  CHECK(pml::Wishart<float>(6.5f, w.cast<float>()).log_prob(x.cast<float>()) == Approx(direct).epsilon(1e-5));
  Eigen::Matrix3d indefinite = x;
  indefinite(2, 2) = -0.5;
  CHECK(wish.log_prob(indefinite) == -std::numeric_limits<double>::infinity());
  CHECK(wish.log_prob(Eigen::Matrix3d(-x)) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("Dirichlet log-density near the mode for large concentrations", "[distributions][extremes]") {
  // Dir(x | 1e15 (1, 2, 3)) at its mean: -log B(a) + sum (a_k - 1) log x_k, which cancels in 1e16-sized
  // terms; the saddle-point form keeps it. Reference: mpmath, 700 digits.
  Eigen::VectorXd a(3), x(3), p(3);
  a << 1e15, 2e15, 3e15;
  x << 1.0 / 6, 2.0 / 6, 3.0 / 6;
  p << 0.25, 0.25, 0.5;
  CHECK(pml::Dirichlet<double>(a).log_prob(x) == Approx(36.117884813263676).epsilon(1e-12));
  // multinomial at 2^53 trials
  pml::IntVector m(3);
  m << (1L << 51), (1L << 51), (1L << 52);
  CHECK(pml::Multinomial<double>(1L << 53, p).log_prob(m) == Approx(-36.841809684686584).epsilon(1e-12));
}

TEST_CASE("MultivariateNormal(Diag)::fit near 1e300: finite stddevs, or a domain_error naming the fit and x",
          "[distributions][mvn][extremes]") {
  pml::Rng rng(21);
  Eigen::MatrixXd x(50, 3);
  pml::random::fill_normal(rng, x);
  const auto d1 = pml::MultivariateNormalDiag<double>::fit(x);
  const double big = 1e300 / 20;
  const auto db = pml::MultivariateNormalDiag<double>::fit(x * big);
  for (int j = 0; j < 3; ++j) {
    CHECK(db.stddev()(j) == Approx(d1.stddev()(j) * big).epsilon(1e-12));
    CHECK(db.mean()(j) == Approx(d1.mean()(j) * big).epsilon(1e-12));
  }
  CHECK(std::isfinite(db.log_prob(Eigen::VectorXd(x.row(0).transpose() * big))));
  const Eigen::MatrixXf xf = x.cast<float>() * 5e33f;
  const auto df = pml::MultivariateNormalDiag<float>::fit(xf);
  for (int j = 0; j < 3; ++j) CHECK(double(df.stddev()(j)) == Approx(d1.stddev()(j) * 5e33).epsilon(1e-4));
  // the covariance (~1e600) is not representable: one clear exception from the fit
  CHECK_THROWS_AS(pml::MultivariateNormal<double>::fit(x * big), std::domain_error);
  CHECK_THROWS_WITH(pml::MultivariateNormal<double>::fit(x * big),
                    Catch::Matchers::StartsWith("MultivariateNormal::fit: x must") && Contains("largest |x|"));
  CHECK_THROWS_WITH(pml::MultivariateNormal<float>::fit(xf), Catch::Matchers::StartsWith("MultivariateNormal::fit: x must"));
  // ordinary data are unaffected
  CHECK(pml::MultivariateNormal<double>::fit(x * 1e100).covariance()(0, 0) > 0);
}
