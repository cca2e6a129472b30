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
