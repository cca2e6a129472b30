#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "pml/core/linalg.hpp"
#include "pml/core/special.hpp"

using Catch::Matchers::Contains;

TEST_CASE("digamma and trigamma match known values", "[core][special]") {
  const double gamma = 0.57721566490153286;
  CHECK(pml::digamma(1.0) == Approx(-gamma).epsilon(1e-14));
  CHECK(pml::digamma(0.5) == Approx(-gamma - 2 * std::log(2.0)).epsilon(1e-14));
  CHECK(pml::digamma(10.0) == Approx(2.2517525890667211).epsilon(1e-14));
  CHECK(pml::digamma(1e-3) == Approx(-1000.5755719318103).epsilon(1e-13));
  CHECK(pml::digamma(-0.5) == Approx(0.03648997397857652).epsilon(1e-12));
  CHECK(std::isnan(pml::digamma(-2.0)));
  CHECK(pml::trigamma(1.0) == Approx(M_PI * M_PI / 6).epsilon(1e-14));
  CHECK(pml::trigamma(0.5) == Approx(M_PI * M_PI / 2).epsilon(1e-14));
  CHECK(pml::trigamma(25.0) == Approx(0.04081066325722558).epsilon(1e-14));  // scipy polygamma(1, 25)
  CHECK(pml::digamma(3.5f) == Approx(1.1031566406452432).epsilon(1e-6));
  // inverse
  for (double x : {0.01, 0.3, 1.0, 7.5, 200.0}) CHECK(pml::inverse_digamma(pml::digamma(x)) == Approx(x).epsilon(1e-12));
}

TEST_CASE("digamma is the derivative of lgamma", "[core][special]") {
  for (double x : {0.2, 1.7, 4.0, 33.0}) {
    const double h = 1e-6 * x;
    const double fd = (std::lgamma(x + h) - std::lgamma(x - h)) / (2 * h);
    CHECK(pml::digamma(x) == Approx(fd).epsilon(1e-7));
    const double fd2 = (pml::digamma(x + h) - pml::digamma(x - h)) / (2 * h);
    CHECK(pml::trigamma(x) == Approx(fd2).epsilon(1e-6));
  }
}

TEST_CASE("multivariate lgamma reduces to products of gammas", "[core][special]") {
  // Gamma_1(a) = Gamma(a); Gamma_2(a) = sqrt(pi) Gamma(a) Gamma(a - 1/2)
  CHECK(pml::lmgamma(1, 3.3) == Approx(std::lgamma(3.3)).epsilon(1e-14));
  CHECK(pml::lmgamma(2, 3.3) == Approx(0.5 * std::log(M_PI) + std::lgamma(3.3) + std::lgamma(2.8)).epsilon(1e-14));
  CHECK(pml::mdigamma(2, 3.3) == Approx(pml::digamma(3.3) + pml::digamma(2.8)).epsilon(1e-14));
}

TEST_CASE("log_sum_exp is stable and exact", "[core][special]") {
  Eigen::VectorXd x(3);
  x << 1000, 1000, 1000;
  CHECK(pml::log_sum_exp(x) == Approx(1000 + std::log(3.0)).epsilon(1e-15));
  x << -1000, -1001, -1e308;
  CHECK(pml::log_sum_exp(x) == Approx(-1000 + std::log1p(std::exp(-1.0))).epsilon(1e-15));
  const double ninf = -std::numeric_limits<double>::infinity();
  x << ninf, ninf, ninf;
  CHECK(pml::log_sum_exp(x) == ninf);
  CHECK(pml::log_sum_exp(Eigen::VectorXd()) == ninf);
  CHECK(pml::log_sum_exp(2.0, ninf) == 2.0);

  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, -800, -800, ninf;
  const Eigen::VectorXd rows = pml::log_sum_exp_rows(m);
  CHECK(rows(0) == Approx(std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0))));
  CHECK(rows(1) == Approx(-800 + std::log(2.0)));
  const Eigen::RowVectorXd cols = pml::log_sum_exp_cols(m);
  CHECK(cols(0) == Approx(1.0));
  CHECK(cols(2) == 3.0);
  Eigen::MatrixXd all_inf = Eigen::MatrixXd::Constant(1, 2, ninf);
  CHECK(pml::log_sum_exp_rows(all_inf)(0) == ninf);
  // softmax of rows: sums to one, far tails without overflow, a -inf logit gets probability 0
  const Eigen::MatrixXd p = pml::softmax_rows(m);
  CHECK(p.rowwise().sum().isApprox(Eigen::VectorXd::Ones(2)));
  CHECK(p(0, 2) == Approx(std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0))));
  CHECK(p(1, 0) == Approx(0.5));
  CHECK(p(1, 2) == 0.0);

  // The same with enough rows for Eigen's vectorised exp, which clamps exp(-inf) to ~1e-308: the answer
  // must not depend on the number of rows (issue 13: a far point scored -708.4 with 4 rows, -inf with 1).
  for (const Eigen::Index n : {1, 2, 4, 5, 17}) {
    const Eigen::MatrixXd none = Eigen::MatrixXd::Constant(n, 3, ninf);
    CHECK((pml::log_sum_exp_rows(none).array() == ninf).all());
    Eigen::MatrixXf nonef = Eigen::MatrixXf::Constant(n, 5, -std::numeric_limits<float>::infinity());
    CHECK((pml::log_sum_exp_rows(nonef).array() == -std::numeric_limits<float>::infinity()).all());
    Eigen::MatrixXd some = Eigen::MatrixXd::Constant(n, 3, ninf);
    some.col(1).setConstant(-1000.0);
    const Eigen::MatrixXd q = pml::softmax_rows(some);
    CHECK((q.col(0).array() == 0.0).all());
    CHECK((q.col(2).array() == 0.0).all());
    CHECK((q.col(1).array() == 1.0).all());
  }
}

TEST_CASE("softplus, sigmoid and friends hold in the tails", "[core][special]") {
  CHECK(pml::softplus(1000.0) == 1000.0);
  CHECK(pml::softplus(-1000.0) == Approx(0.0).margin(1e-300));
  CHECK(pml::softplus(0.0) == Approx(std::log(2.0)));
  CHECK(pml::softplus(-40.0) == Approx(std::exp(-40.0)).epsilon(1e-12));
  CHECK(pml::log1p_exp(3.0) == Approx(std::log1p(std::exp(3.0))));
  CHECK(pml::sigmoid(800.0) == 1.0);
  CHECK(pml::sigmoid(-800.0) >= 0.0);
  CHECK(pml::sigmoid(-30.0) == Approx(std::exp(-30.0) / (1 + std::exp(-30.0))).epsilon(1e-12));
  CHECK(pml::log_sigmoid(-800.0) == Approx(-800.0));
  CHECK(pml::logit(pml::sigmoid(1.3)) == Approx(1.3));
  Eigen::ArrayXd a(4);
  a << -1000, -1, 2, 1000;
  const Eigen::ArrayXd sp = pml::softplus(a);
  const Eigen::ArrayXd sg = pml::sigmoid(a);
  for (int i = 0; i < 4; ++i) {
    CHECK(sp(i) == Approx(pml::softplus(a(i))).margin(1e-300));
    CHECK(sg(i) == Approx(pml::sigmoid(a(i))).epsilon(1e-14).margin(1e-300));
  }
  CHECK(pml::lbeta(2.0, 3.0) == Approx(std::log(1.0 / 12)));
  CHECK(pml::lchoose(10.0, 3.0) == Approx(std::log(120.0)));
}

TEST_CASE("cholesky_jitter repairs a semi-definite matrix and reports the jitter", "[core][linalg]") {
  Eigen::MatrixXd pd(2, 2);
  pd << 4, 2, 2, 3;
  auto ok = pml::cholesky_jitter(pd);
  CHECK(ok.success);
  CHECK(ok.jitter == 0.0);
  CHECK(pml::log_det(ok.llt) == Approx(std::log(8.0)));
  CHECK(pml::log_det_from_cholesky(ok.matrix_l()) == Approx(std::log(8.0)));

  const Eigen::MatrixXd singular = Eigen::MatrixXd::Ones(3, 3);
  auto fixed = pml::cholesky_jitter(singular);
  CHECK(fixed.success);
  CHECK(fixed.jitter > 0.0);
  CHECK(fixed.jitter < 1e-6);
  const Eigen::MatrixXd recon = fixed.matrix_l() * fixed.matrix_l().transpose();
  CHECK((recon - singular).cwiseAbs().maxCoeff() == Approx(fixed.jitter).epsilon(1e-6));

  Eigen::MatrixXd negative = -Eigen::MatrixXd::Identity(2, 2);
  auto failed = pml::cholesky_jitter(negative, 3);
  CHECK_FALSE(failed.success);

  CHECK_THROWS_AS(pml::cholesky_jitter(Eigen::MatrixXd(2, 3)), std::invalid_argument);
  CHECK_THROWS_WITH(pml::cholesky_checked("f", "sigma", negative), Contains("f: sigma must be positive definite"));
  Eigen::MatrixXd asym(2, 2);
  asym << 1, 0.5, 0, 1;
  CHECK_THROWS_WITH(pml::cholesky_checked("f", "sigma", asym), Contains("sigma must be symmetric"));
}

// ---- issue 12: differences of large log-gamma terms ------------------------------------------------
#include "distributions/grid_check.hpp"
#include "fixtures/mpmath_reference.hpp"

namespace mpref = pml_test::mp;
using pml_test::check_grid;

TEST_CASE("lbeta and lchoose: the examples of issue 12", "[core][special][extremes]") {
  CHECK(pml::lbeta(1e20, 3.0) == Approx(-137.46195839908279).epsilon(1e-15));
  CHECK(pml::lchoose(1e18, 100.0) == Approx(3780.9137918337187).epsilon(1e-15));
  // special values and symmetry
  CHECK(pml::lchoose(7.0, 0.0) == 0.0);
  CHECK(pml::lchoose(7.0, 7.0) == 0.0);
  CHECK(pml::lchoose(10.0, 3.0) == Approx(std::log(120.0)).epsilon(1e-15));
  CHECK(pml::lbeta(2.0, 3.0) == Approx(-std::log(12.0)).epsilon(1e-15));
  CHECK(pml::lbeta(3.5, 1e12) == Approx(pml::lbeta(1e12, 3.5)).epsilon(1e-16));
  CHECK(pml::lgamma_ratio(12.5, 10.0) == Approx(std::lgamma(12.5) - std::lgamma(10.0)).epsilon(1e-14));
}

TEST_CASE("special functions do not throw or print on bad input: NaN or inf", "[core][special][extremes]") {
  CHECK(std::isnan(pml::lbeta(-1.0, 2.0)));
  CHECK(pml::lbeta(0.0, 2.0) == std::numeric_limits<double>::infinity());
  CHECK(std::isnan(pml::lchoose(3.0, 4.0)));
  CHECK(std::isnan(pml::lchoose(3.0, -1.0)));
  CHECK(std::isnan(pml::lgamma_difference(-1.0, 0.5)));
  CHECK(std::isnan(pml::lgamma_difference(1.0, -2.0)));
  CHECK(std::isnan(pml::digamma_difference(0.0, 1.0)));
  CHECK(std::isnan(pml::stirling_error(0.0)));
  CHECK(std::isnan(pml::trigamma(-3.0)));
  CHECK(std::isnan(pml::gamma_entropy_core(-1.0)));
  CHECK(pml::log1pmx(-1.0) == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(pml::log1pmx(-2.0)));
  CHECK(pml::lgamma(1e300) == Approx(1e300 * (std::log(1e300) - 1)).epsilon(1e-14));
}

TEST_CASE("Stirling error, lgamma and digamma differences, lbeta, lchoose match mpmath on the grids",
          "[core][special][extremes]") {
  check_grid("stirling_error", mpref::stirling_error, [](const auto& r) { return pml::stirling_error(r[0]); }, 1e-12, 1e-300);
  check_grid("lgamma_difference", mpref::lgamma_difference,
             [](const auto& r) { return pml::lgamma_difference(r[0], r[1]); }, 1e-12, 1e-300);
  check_grid("digamma_difference", mpref::digamma_difference,
             [](const auto& r) { return pml::digamma_difference(r[0], r[1]); }, 1e-12, 1e-300);
  check_grid("lbeta", mpref::lbeta, [](const auto& r) { return pml::lbeta(r[0], r[1]); }, 1e-12, 1e-300);
  check_grid("lchoose", mpref::lchoose, [](const auto& r) { return pml::lchoose(r[0], r[1]); }, 1e-12, 1e-300);
  // lgamma_difference_scaled and lgamma_remainder are identities of lgamma_difference and digamma
  for (const auto& r : mpref::lgamma_difference) {
    const double x = r[0], d = r[1];
    if (x < 1e-3 || x > 1e250 || d > 1e250 || std::abs(d) < 1e-200 || r[2] == 0) continue;
    const double ref = r[2] - d * std::log(x);
    CHECK(std::abs(pml::lgamma_difference_scaled(x, d) - ref) <= 1e-12 * (std::abs(r[2]) + std::abs(d * std::log(x))));
  }
  CHECK(pml::lgamma_remainder(1e20, 1e10) == Approx(0.5).epsilon(1e-9));  // d^2 psi'(x)/2 = 1e20/(2e20)
  CHECK(pml::lgamma_remainder(3.0, 0.0) == 0.0);
  CHECK(pml::lgamma_remainder(2.5, 1e-4) == Approx(0.5e-8 * pml::trigamma(2.5)).epsilon(1e-4));
}

TEST_CASE("special functions in float agree with mpmath to 1e-5", "[core][special][extremes]") {
  check_grid("lbeta<float>", mpref::lbeta_float, [](const auto& r) { return pml::lbeta(float(r[0]), float(r[1])); },
             1e-5, 1e-30);
  check_grid("lgamma_difference<float>", mpref::lgamma_difference_float,
             [](const auto& r) { return pml::lgamma_difference(float(r[0]), float(r[1])); }, 1e-5, 1e-30);
  check_grid("digamma_difference<float>", mpref::digamma_difference_float,
             [](const auto& r) { return pml::digamma_difference(float(r[0]), float(r[1])); }, 1e-5, 1e-30);
  CHECK(pml::lchoose(1e6f, 3.0f) == Approx(std::log(1e6 * 999999.0 * 999998.0 / 6)).epsilon(1e-6));
}

TEST_CASE("multivariate log-beta and its ratio", "[core][special][extremes]") {
  Eigen::Vector3d alpha(2.5, 0.7, 4.0);
  CHECK(pml::lmbeta(alpha) ==
        Approx(std::lgamma(2.5) + std::lgamma(0.7) + std::lgamma(4.0) - std::lgamma(7.2)).epsilon(1e-14));
  const Eigen::Vector3d m(3, 0, 5);
  CHECK(pml::lmbeta_ratio(alpha, m) == Approx(pml::lmbeta(Eigen::Vector3d(alpha + m)) - pml::lmbeta(alpha)).epsilon(1e-13));
  // large concentrations: log B(a + m) - log B(a) with a = 1e20 (1, 2, 3), m = (3, 0, 5): the log-likelihood
  // of the counts under the mean probabilities, 3 log(1/6) + 5 log(1/2), to O(1e-20)
  const Eigen::Vector3d big(1e20, 2e20, 3e20);
  CHECK(pml::lmbeta_ratio(big, m) == Approx(3 * std::log(1.0 / 6) + 5 * std::log(0.5)).epsilon(1e-14));
  CHECK_THROWS_WITH(pml::lmbeta_ratio(alpha, Eigen::Vector2d(1, 2)), Contains("lmbeta_ratio"));
  CHECK(pml::lmgamma_difference(3, 1e15, 2.5) ==
        Approx(2.5 * (std::log(1e15) + std::log(1e15 - 0.5) + std::log(1e15 - 1))).epsilon(1e-14));
}
