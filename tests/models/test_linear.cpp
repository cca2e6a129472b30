#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "fixtures/sklearn_reference.hpp"
#include "test_helpers.hpp"
#include "pml/models/linear.hpp"

using Catch::Matchers::Contains;
namespace sk = pml_test::sklearn;
using pml_test::rows;
using pml_test::vec;

namespace {
double max_rel(const Eigen::VectorXd& a, const Eigen::VectorXd& b) { return ((a - b).array().abs() / b.array().abs()).maxCoeff(); }
}  // namespace

TEST_CASE("BayesianLinearRegression reproduces scikit-learn's BayesianRidge", "[models][blr]") {
  const Eigen::MatrixXd x = rows(sk::br_X, 100, 5);
  const Eigen::VectorXd y = vec(sk::br_y);
  pml::BayesianLinearRegression<double> blr(pml::BayesianLinearRegression<double>::bayesian_ridge_options());
  blr.fit(x, y);
  CHECK(max_rel(blr.mean(), vec(sk::br_coef)) < 1e-6);
  CHECK(blr.intercept() == Approx(sk::br_intercept[0]).epsilon(1e-6));
  CHECK(blr.beta() == Approx(sk::br_alpha[0]).epsilon(1e-6));    // noise precision
  CHECK(blr.alpha() == Approx(sk::br_lambda[0]).epsilon(1e-6));  // weight precision
  CHECK(blr.iterations() == static_cast<int>(sk::br_n_iter[0]));
  const auto pred = blr.predict(x.topRows(5));
  CHECK(max_rel(pred.mean, vec(sk::br_predict_mean)) < 1e-6);
  CHECK(max_rel(pred.variance.cwiseSqrt(), vec(sk::br_predict_std)) < 1e-6);
  CHECK((pred.variance - pred.aleatoric - pred.epistemic).cwiseAbs().maxCoeff() < 1e-15);
  CHECK(pred.mean.rows() == 5);
  CHECK(pred.mean.cols() == 1);  // one pml::Prediction for every regressor: N x outputs
}

TEST_CASE("Evidence maximisation: fixed point of PRML 3.92/3.95 and the evidence peaks at a middle order", "[models][blr]") {
  // PRML §1.1 / Fig. 3.14: t = sin(2 pi x) + noise; the evidence against polynomial order peaks in the middle
  pml::Rng rng(10);
  const int n = 30;
  Eigen::MatrixXd x(n, 1);
  pml::random::fill_uniform(rng, x);
  Eigen::VectorXd t = (2 * M_PI * x.col(0).array()).sin().matrix();
  Eigen::VectorXd noise(n);
  pml::random::fill_normal(rng, noise, 0.0, 0.2);
  t += noise;
  std::vector<double> evidence;
  for (int degree = 0; degree <= 9; ++degree) {
    pml::BayesianLinearRegression<double> blr({.alpha = 5e-3, .beta = 11.1, .max_iterations = 100000, .tolerance = 1e-12});
    blr.fit(pml::design_matrix(pml::PolynomialBasis{degree}, x), t);
    evidence.push_back(blr.log_marginal_likelihood());
    // at the fixed point: alpha = gamma / m'm and beta = (N - gamma) / ||t - Phi m||^2
    const Eigen::MatrixXd phi = pml::design_matrix(pml::PolynomialBasis{degree}, x);
    CHECK(blr.converged());
    CHECK(blr.alpha() == Approx(blr.effective_parameters() / blr.mean().squaredNorm()).epsilon(1e-6));
    CHECK(blr.beta() == Approx((n - blr.effective_parameters()) / (t - phi * blr.mean()).squaredNorm()).epsilon(1e-6));
    CHECK(blr.effective_parameters() <= degree + 1 + 1e-9);
  }
  const auto best = std::max_element(evidence.begin(), evidence.end()) - evidence.begin();
  CHECK(best >= 3);
  CHECK(best <= 7);
  CHECK(evidence[0] < evidence[static_cast<std::size_t>(best)] - 5);
}

TEST_CASE("Sequential updates equal the batch posterior; predictive split", "[models][blr]") {
  pml::Rng rng(11);
  Eigen::MatrixXd x(40, 1);
  pml::random::fill_uniform(rng, x);
  const Eigen::MatrixXd phi = pml::design_matrix(pml::GaussianBasis<double>{Eigen::VectorXd::LinSpaced(9, 0, 1), 0.1}, x);
  Eigen::VectorXd t = (2 * M_PI * x.col(0).array()).sin().matrix();
  pml::BayesianLinearRegression<double> batch({.alpha = 2.0, .beta = 25.0, .fit_hyperparameters = false});
  batch.fit(phi, t);
  pml::BayesianLinearRegression<double> seq({.alpha = 2.0, .beta = 25.0, .fit_hyperparameters = false});
  for (int i = 0; i < 40; i += 8) seq.update(phi.middleRows(i, 8), t.segment(i, 8));
  CHECK((seq.mean() - batch.mean()).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((seq.covariance() - batch.covariance()).cwiseAbs().maxCoeff() < 1e-10);
  // far from the data the epistemic part grows; the aleatoric part is 1/beta everywhere
  Eigen::MatrixXd grid(2, 1);
  grid << 0.5, 3.0;
  const auto pred = batch.predict(pml::design_matrix(pml::GaussianBasis<double>{Eigen::VectorXd::LinSpaced(9, 0, 1), 0.1}, grid));
  CHECK(pred.aleatoric(0) == Approx(1.0 / 25.0));
  CHECK(pred.epistemic(1) > 10 * pred.epistemic(0));
  // posterior function draws scatter around the predictive mean with the epistemic variance
  const Eigen::MatrixXd f = batch.sample_functions(rng, pml::design_matrix(pml::GaussianBasis<double>{Eigen::VectorXd::LinSpaced(9, 0, 1), 0.1}, grid), 20000);
  CHECK(f.row(0).mean() == Approx(pred.mean(0)).margin(5 * std::sqrt(pred.epistemic(0) / 20000)));
  const double var0 = (f.row(0).array() - f.row(0).mean()).square().mean();
  CHECK(var0 == Approx(pred.epistemic(0)).epsilon(0.05));
}

TEST_CASE("BayesianLinearRegression rejects bad input", "[models][blr]") {
  CHECK_THROWS_WITH(pml::BayesianLinearRegression<double>({.alpha = -1}), Contains("alpha must be positive"));
  CHECK_THROWS_WITH(pml::BayesianLinearRegression<double>({.alpha = 1, .beta = -2}), Contains("beta must be non-negative"));
  pml::BayesianLinearRegression<double> blr;
  CHECK_THROWS_WITH(blr.fit(Eigen::MatrixXd::Ones(5, 2), Eigen::VectorXd::Ones(4)), Contains("t has length 4, expected 5"));
  Eigen::VectorXd t = Eigen::VectorXd::LinSpaced(5, 0, 1);
  t(2) = std::nan("");
  CHECK_THROWS_WITH(blr.fit(Eigen::MatrixXd::Random(5, 2), t), Contains("t must have finite entries"));
  CHECK_THROWS_AS(blr.predict(Eigen::MatrixXd::Ones(2, 2)), std::logic_error);
  pml::BayesianLinearRegression<double> centred({.fit_intercept = true});
  CHECK_THROWS_AS(centred.update(Eigen::MatrixXd::Ones(2, 2), Eigen::VectorXd::Ones(2)), std::logic_error);
  CHECK_THROWS_WITH(pml::design_matrix(pml::PolynomialBasis{2}, Eigen::MatrixXd::Ones(3, 2)), Contains("x has columns 2, expected 1"));
}

TEST_CASE("BayesianLogisticRegression: MAP equals scikit-learn's L2 LogisticRegression", "[models][logistic]") {
  const Eigen::MatrixXd x = rows(sk::lr_X, 150, 4);
  const pml::IntVector t = vec(sk::lr_y).cast<long>();
  pml::BayesianLogisticRegression<double> blr({.alpha = 0.7});
  blr.fit(x, t);
  CHECK(blr.converged());
  CHECK(max_rel(blr.mean(), vec(sk::lr_coef)) < 1e-5);  // lbfgs stops near 1e-6; our Newton MAP has gradient < 1e-8
  // the gradient of the log posterior vanishes at the MAP
  const Eigen::VectorXd y = pml::sigmoid((x * blr.mean()).array().eval()).matrix();
  CHECK((x.transpose() * (y - t.cast<double>()) + 0.7 * blr.mean()).cwiseAbs().maxCoeff() < 1e-8);
}

TEST_CASE("BayesianLogisticRegression: probit predictive, moderation, Laplace evidence", "[models][logistic]") {
  pml::Rng rng(21);
  const int n = 400;
  Eigen::MatrixXd x(n, 2);
  x.col(0).setOnes();
  pml::random::fill_normal(rng, x.col(1));
  pml::IntVector t(n);
  for (int i = 0; i < n; ++i) t(i) = pml::random::uniform<double>(rng) < pml::sigmoid(0.3 + 1.5 * x(i, 1)) ? 1 : 0;
  pml::BayesianLogisticRegression<double> blr({.alpha = 0.01});
  blr.fit(x, t);
  CHECK(blr.mean()(1) == Approx(1.5).margin(0.35));
  // the probit approximation agrees with Monte Carlo over the Laplace posterior
  Eigen::MatrixXd grid(3, 2);
  grid << 1, -1, 1, 0, 1, 4;
  const Eigen::VectorXd probit = blr.predict_proba(grid);
  const Eigen::VectorXd mc = blr.predict_proba_sampled(rng, grid, 200000);
  CHECK((probit - mc).cwiseAbs().maxCoeff() < 0.01);
  // moderation: the predictive is pulled towards 1/2 relative to the MAP plug-in
  const Eigen::VectorXd map = blr.predict_proba_map(grid);
  CHECK(std::abs(probit(2) - 0.5) < std::abs(map(2) - 0.5));
  CHECK(blr.predict(grid)(2) == 1);
  // Laplace evidence against brute-force integration over the 2-D weight space
  const auto log_joint = [&](double w0, double w1) {
    const Eigen::VectorXd a = x * Eigen::Vector2d(w0, w1);
    return -(pml::softplus(a.array()) - t.cast<double>().array() * a.array()).sum() - 0.005 * (w0 * w0 + w1 * w1) +
           std::log(0.01) - std::log(2 * M_PI);
  };
  const Eigen::Vector2d m = blr.mean();
  const double s0 = std::sqrt(blr.covariance()(0, 0)), s1 = std::sqrt(blr.covariance()(1, 1));
  double peak = log_joint(m(0), m(1)), total = 0;
  const int g = 200;
  const double h0 = 16 * s0 / g, h1 = 16 * s1 / g;
  for (int i = 0; i < g; ++i)
    for (int j = 0; j < g; ++j) total += std::exp(log_joint(m(0) - 8 * s0 + (i + 0.5) * h0, m(1) - 8 * s1 + (j + 0.5) * h1) - peak);
  const double exact = peak + std::log(total * h0 * h1);
  CHECK(blr.log_marginal_likelihood() == Approx(exact).margin(0.05));
  // separable data: the prior keeps the MAP finite
  pml::IntVector sep = (x.col(1).array() > 0).cast<long>();
  pml::BayesianLogisticRegression<double> strong({.alpha = 1.0});
  strong.fit(x, sep);
  CHECK(strong.mean().allFinite());
  CHECK(strong.converged());
  pml::IntVector bad = t;
  bad(3) = 2;
  CHECK_THROWS_WITH(blr.fit(x, bad), Contains("t must contain only 0 and 1") && Contains("index 3"));
  CHECK_THROWS_WITH(pml::BayesianLogisticRegression<double>({.alpha = 0}), Contains("alpha must be positive"));
  CHECK_THROWS_WITH(blr.predict_proba(Eigen::MatrixXd::Ones(2, 3)), Contains("phi has columns 3, expected 2"));
}

TEST_CASE("parse_basis reads and writes the basis texts; NamedBasis builds the same design matrices", "[models][basis]") {
  Eigen::MatrixXd x(5, 1);
  x << -1, -0.5, 0, 0.5, 2;
  const pml::NamedBasis poly = pml::parse_basis("poly:3");
  CHECK(poly.str() == "poly:3");
  CHECK(poly.design_matrix<double>(x) == pml::design_matrix(pml::PolynomialBasis{3}, x));
  CHECK(pml::parse_basis("identity").design_matrix<double>(x) == pml::design_matrix(pml::IdentityBasis{}, x));
  const pml::NamedBasis open = pml::parse_basis("rbf:3:0.5");
  CHECK_FALSE(open.has_range());
  CHECK_THROWS_WITH(open.design_matrix<double>(x), Contains("no range"));
  const pml::NamedBasis rbf = open.with_range(x);
  CHECK(rbf.str() == "rbf:3:0.5:-1:2");
  pml::GaussianBasis<double> g{Eigen::MatrixXd((Eigen::MatrixXd(3, 1) << -1, 0.5, 2).finished()), 0.5};
  CHECK(rbf.design_matrix<double>(x) == g.design_matrix(x));
  CHECK(pml::parse_basis(rbf.str()).str() == rbf.str());
  const pml::NamedBasis sig = pml::parse_basis("sigmoid:2:0.25:0:1");
  CHECK(sig.design_matrix<double>(x) == pml::SigmoidBasis<double>{Eigen::Vector2d(0, 1), 0.25}.design_matrix(x));
  CHECK(pml::parse_basis("sigmoid:4:0.1:0.1:0.30000000000000004").str() == "sigmoid:4:0.1:0.1:0.30000000000000004");
  for (const char* bad : {"", "poly", "poly:x", "poly:-1", "poly:3:4", "rbf:0:1", "rbf:3", "rbf:3:-1", "rbf:3:1:2:1", "rbf:3:1:0", "spline:3", "identity:2"})
    CHECK_THROWS_WITH(pml::parse_basis(bad), Contains("parse_basis: basis '" + std::string(bad) + "'"));
}

TEST_CASE("Bayesian linear and logistic regression save and load: bit-identical predictions, clear errors", "[models][files]") {
  namespace fs = std::filesystem;
  pml::Rng rng(8);
  Eigen::MatrixXd x(60, 1);
  pml::random::fill_uniform(rng, x);
  Eigen::VectorXd t = (6 * x.col(0)).array().sin();
  for (Eigen::Index i = 0; i < t.size(); ++i) t(i) += 0.1 * pml::random::normal<double>(rng);
  const fs::path dir = fs::temp_directory_path();
  const fs::path file = dir / "pml_blr.pml";
  for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json})
    for (const bool intercept : {false, true}) {
      pml::BayesianLinearRegressionOptions<double> o;
      o.fit_intercept = intercept;
      o.basis = "poly:5";
      const Eigen::MatrixXd phi = pml::parse_basis(o.basis).design_matrix<double>(x);
      pml::BayesianLinearRegression<double> blr(o);
      blr.fit(phi, t);
      blr.save(file, format);
      const auto loaded = pml::BayesianLinearRegression<double>::load(file);
      const auto a = blr.predict(phi), b = loaded.predict(phi);
      CHECK(a.mean == b.mean);
      CHECK(a.variance == b.variance);
      CHECK(loaded.options().basis == "poly:5");
      CHECK(loaded.options().fit_intercept == intercept);
      CHECK(loaded.alpha() == blr.alpha());
      CHECK(loaded.log_marginal_likelihood() == blr.log_marginal_likelihood());
      CHECK(loaded.iterations() == blr.iterations());
      CHECK(loaded.converged() == blr.converged());
      pml::Rng r1(3), r2(3);
      CHECK(loaded.sample_functions(r1, phi, 4) == blr.sample_functions(r2, phi, 4));
      CHECK(pml::BayesianLinearRegression<float>::load(file).predict(phi.cast<float>()).mean.isApprox(a.mean.cast<float>(), 1e-5f));
    }
  // a loaded model goes on with sequential updates exactly like the original
  pml::BayesianLinearRegression<double> seq({.alpha = 2.0, .beta = 25.0, .fit_hyperparameters = false});
  const Eigen::MatrixXd phi = pml::design_matrix(pml::PolynomialBasis{3}, x);
  seq.update(phi.topRows(30), t.head(30));
  seq.save(file);
  auto resumed = pml::BayesianLinearRegression<double>::load(file);
  seq.update(phi.bottomRows(30), t.tail(30));
  resumed.update(phi.bottomRows(30), t.tail(30));
  CHECK(resumed.mean() == seq.mean());

  pml::IntVector labels = (t.array() > 0).cast<long>();
  pml::BayesianLogisticRegression<double> logistic({.alpha = 0.5, .basis = "poly:3"});
  logistic.fit(phi, labels);
  const fs::path lfile = dir / "pml_blogr.pml";
  for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
    logistic.save(lfile, format);
    const auto loaded = pml::BayesianLogisticRegression<double>::load(lfile);
    CHECK(loaded.predict_proba(phi) == logistic.predict_proba(phi));
    CHECK(loaded.log_marginal_likelihood() == logistic.log_marginal_likelihood());
    CHECK(loaded.options().alpha == 0.5);
    CHECK(loaded.options().basis == "poly:3");
  }
  CHECK_THROWS_WITH(pml::BayesianLogisticRegression<double>::load(file),
                    Contains("BayesianLogisticRegression::load") && Contains("holds a BayesianLinearRegression, not a BayesianLogisticRegression"));
  CHECK_THROWS_WITH(pml::BayesianLinearRegression<double>().save(dir / "pml_unfitted.pml"), Contains("not fitted"));
  CHECK_THROWS_WITH(pml::BayesianLogisticRegression<double>().save(dir / "pml_unfitted.pml"), Contains("not fitted"));
  CHECK_FALSE(fs::exists(dir / "pml_unfitted.pml"));
  fs::remove(file);
  fs::remove(lfile);
}

TEST_CASE("BayesianLinearRegression on a wide design (N < M) uses the N x N side and equals the direct posterior", "[models][blr][extremes]") {
  pml::Rng rng(9);
  Eigen::MatrixXd phi(3, 400);
  pml::random::fill_normal(rng, phi);
  const Eigen::VectorXd t = (Eigen::VectorXd(3) << 1.0, -0.5, 2.0).finished();
  for (bool intercept : {false, true}) {
    INFO("fit_intercept " << intercept);
    pml::BayesianLinearRegressionOptions<double> o;
    o.alpha = 2.0;
    o.beta = 5.0;
    o.fit_hyperparameters = false;
    o.fit_intercept = intercept;
    pml::BayesianLinearRegression<double> blr(o);
    blr.fit(phi, t);
    // direct: A = alpha I + beta Z^T Z, m = beta A^{-1} Z^T t (Z, t centred with the intercept)
    Eigen::MatrixXd z = phi;
    Eigen::VectorXd tc = t;
    if (intercept) {
      z = phi.rowwise() - phi.colwise().mean();
      tc = t.array() - t.mean();
    }
    Eigen::MatrixXd a = 5.0 * z.transpose() * z;
    a.diagonal().array() += 2.0;
    const Eigen::LLT<Eigen::MatrixXd> llt(a);
    const Eigen::VectorXd m = 5.0 * llt.solve(z.transpose() * tc);
    CHECK((blr.mean() - m).cwiseAbs().maxCoeff() < 1e-12 * (1 + m.cwiseAbs().maxCoeff()));
    const Eigen::MatrixXd s = llt.solve(Eigen::MatrixXd::Identity(400, 400));
    CHECK((blr.covariance() - s).cwiseAbs().maxCoeff() < 1e-12);
    const double rss = (tc - z * m).squaredNorm();
    const double log_det = 2.0 * Eigen::MatrixXd(llt.matrixL()).diagonal().array().log().sum();
    const double evidence = 0.5 * 400 * std::log(2.0) + 0.5 * 3 * std::log(5.0) - 2.5 * rss - 1.0 * m.squaredNorm() -
                            0.5 * log_det - 1.5 * std::log(2 * M_PI);
    CHECK(blr.log_marginal_likelihood() == Approx(evidence).epsilon(1e-10));
  }
  pml::BayesianLinearRegression<double> fitted;  // evidence maximisation runs on the N x N side too
  fitted.fit(phi, t);
  CHECK(std::isfinite(fitted.log_marginal_likelihood()));
}

TEST_CASE("GaussianBasis: design matrix far from the origin", "[models][basis][extremes]") {
  pml::GaussianBasis<double> basis{(Eigen::MatrixXd(2, 1) << 1e8, 1e8 + 1).finished(), 0.5};
  const Eigen::MatrixXd x = (Eigen::MatrixXd(2, 1) << 1e8 + 0.25, 1e8 + 1).finished();
  const Eigen::MatrixXd phi = basis.design_matrix(x);
  CHECK(phi(0, 1) == Approx(std::exp(-0.0625 / 0.5)).epsilon(1e-12));  // before: the expansion lost every digit
  CHECK(phi(0, 2) == Approx(std::exp(-0.5625 / 0.5)).epsilon(1e-12));
  CHECK(phi(1, 2) == 1.0);
}

TEST_CASE("BayesianLogisticRegression refuses a design matrix whose squares overflow", "[models][logistic]") {
  Eigen::MatrixXd phi(4, 2);
  phi << 1, 1e300, 1, -1e300, 1, 2e300, 1, -2e300;
  pml::IntVector t(4);
  t << 1, 0, 1, 0;
  CHECK_THROWS_AS(pml::BayesianLogisticRegression<double>().fit(phi, t), std::domain_error);
  CHECK_THROWS_WITH(pml::BayesianLogisticRegression<double>().fit(phi, t), Contains("BayesianLogisticRegression::fit: phi must") && Contains("2.0000000000000001e+300"));
  const Eigen::MatrixXf phif = (phi / 1e265).cast<float>();  // entries near 1e35
  CHECK_THROWS_WITH(pml::BayesianLogisticRegression<float>().fit(phif, t), Contains("BayesianLogisticRegression::fit: phi must"));
}
