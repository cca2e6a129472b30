#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>

#include <Eigen/LU>

#include "pml/conjugate.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "test_helpers.hpp"

using Catch::Matchers::Contains;

// For every conjugate pair the evidence must equal the chain rule
//   log p(x_1..x_N) = sum_i log p(x_i | x_1..x_{i-1}),
// each factor computed by an independent path: the posterior predictive after sequential updates.

TEST_CASE("Beta-Bernoulli: the coin example, sequential = batch, evidence", "[conjugate][beta_bernoulli]") {
  pml::BetaBernoulliModel<double> coin(pml::Beta<double>(2, 2));
  coin.update(1);  // PRML Fig. 2.3: Beta(2,2) and one head give Beta(3,2)
  CHECK(coin.posterior().a() == 3.0);
  CHECK(coin.posterior().b() == 2.0);
  CHECK(coin.posterior_predictive().p() == Approx(0.6));

  pml::IntVector data(8);
  data << 1, 0, 1, 1, 0, 1, 1, 1;
  pml::BetaBernoulliModel<double> batch(pml::Beta<double>(2, 2)), seq(pml::Beta<double>(2, 2));
  batch.update(data);
  double chain = 0;
  for (Eigen::Index i = 0; i < data.size(); ++i) {
    chain += seq.posterior_predictive().log_prob(data(i));
    seq.update(data(i));
  }
  CHECK(seq.posterior().a() == batch.posterior().a());
  CHECK(seq.posterior().b() == batch.posterior().b());
  const pml::BetaBernoulliModel<double> prior(pml::Beta<double>(2, 2));
  CHECK(prior.log_marginal_likelihood(data) == Approx(chain).epsilon(1e-13));
  // and against numerical integration of the likelihood times the prior
  const double integral = pml_test::integrate(
      [&](double mu) { return std::pow(mu, 6) * std::pow(1 - mu, 2) * std::exp(pml::Beta<double>(2, 2).log_prob(mu)); }, 0, 1);
  CHECK(prior.log_marginal_likelihood(data) == Approx(std::log(integral)).epsilon(1e-9));
  // the evidence splits across updates
  CHECK(prior.log_marginal_likelihood(data) ==
        Approx(prior.log_marginal_likelihood(data.head(3)) +
               pml::BetaBernoulliModel<double>(prior.posterior(data.head(3))).log_marginal_likelihood(data.tail(5))));
  CHECK(batch.prior().a() == 2.0);
  data(3) = 2;
  CHECK_THROWS_WITH(prior.posterior(data), Contains("data must contain only 0 and 1") && Contains("index 3"));
}

TEST_CASE("Beta-Binomial: predictive is the beta-binomial; evidence", "[conjugate][beta_binomial]") {
  pml::BetaBinomialModel<double> model(5, pml::Beta<double>(1.5, 2.5));
  pml::IntVector k(4);
  k << 2, 5, 0, 3;
  const auto post = model.posterior(k);
  CHECK(post.a() == Approx(1.5 + 10));
  CHECK(post.b() == Approx(2.5 + 10));
  pml::BetaBinomialModel<double> seq(5, pml::Beta<double>(1.5, 2.5));
  double chain = 0;
  for (Eigen::Index i = 0; i < k.size(); ++i) {
    chain += seq.posterior_predictive().log_prob(k(i));
    seq.update(k.segment(i, 1));
  }
  CHECK(model.log_marginal_likelihood(k) == Approx(chain).epsilon(1e-13));
  CHECK(seq.posterior().a() == post.a());
  pml::IntVector bad(1);
  bad << 6;
  CHECK_THROWS_WITH(model.update(bad), Contains("data must lie in 0..trials = 5"));
  CHECK(model.posterior().a() == 1.5);  // a failed update leaves the model unchanged
}

TEST_CASE("Dirichlet-Categorical and Dirichlet-Multinomial", "[conjugate][dirichlet]") {
  pml::DirichletCategoricalModel<double> model(3, 0.5);
  pml::IntVector labels(7);
  labels << 0, 2, 2, 1, 2, 0, 2;
  const auto post = model.posterior(labels);
  CHECK(post.alpha()(2) == Approx(4.5));
  pml::DirichletCategoricalModel<double> seq(3, 0.5);
  double chain = 0;
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    chain += seq.posterior_predictive().log_prob(labels(i));
    seq.update(labels.segment(i, 1));
  }
  CHECK(model.log_marginal_likelihood(labels) == Approx(chain).epsilon(1e-13));
  CHECK((seq.posterior().alpha() - post.alpha()).norm() == 0.0);
  labels(1) = 3;
  CHECK_THROWS_WITH(model.posterior(labels), Contains("labels must lie in 0..K-1 = 2"));

  pml::DirichletMultinomialModel<double> mm(pml::Dirichlet<double>(Eigen::Vector3d(1.0, 2.0, 0.5)));
  pml::IntMatrix counts(3, 3);
  counts << 1, 2, 0, 0, 0, 4, 3, 1, 1;
  pml::DirichletMultinomialModel<double> mseq(mm.prior());
  double mchain = 0;
  for (Eigen::Index i = 0; i < counts.rows(); ++i) {
    mchain += mseq.posterior_predictive(counts.row(i).sum()).log_prob(pml::IntVector(counts.row(i).transpose()));
    mseq.update(counts.row(i));
  }
  CHECK(mm.log_marginal_likelihood(counts) == Approx(mchain).epsilon(1e-13));
  CHECK((mm.posterior(counts).alpha() - mseq.posterior().alpha()).norm() == 0.0);
  CHECK_THROWS_WITH(mm.update(pml::IntMatrix::Zero(1, 2)), Contains("counts has columns 2, expected 3"));
}

TEST_CASE("Normal mean with known variance: evidence equals the joint Gaussian", "[conjugate][normal_known_variance]") {
  const double s0 = 1.5, sigma = 0.8, mu0 = 0.3;
  pml::NormalKnownVarianceModel<double> model(pml::Normal<double>(mu0, s0), sigma);
  Eigen::VectorXd x(5);
  x << 0.9, 1.4, 0.2, 1.1, 2.0;
  const auto post = model.posterior(x);
  const double prec = 1 / (s0 * s0) + 5 / (sigma * sigma);
  CHECK(post.variance() == Approx(1 / prec));
  CHECK(post.mean() == Approx((mu0 / (s0 * s0) + x.sum() / (sigma * sigma)) / prec));
  // x ~ N(mu0 1, sigma^2 I + s0^2 1 1^T)
  const Eigen::MatrixXd cov = sigma * sigma * Eigen::MatrixXd::Identity(5, 5) + s0 * s0 * Eigen::MatrixXd::Ones(5, 5);
  const pml::MultivariateNormal<double> joint(Eigen::VectorXd::Constant(5, mu0), cov);
  CHECK(model.log_marginal_likelihood(x) == Approx(joint.log_prob(x)).epsilon(1e-12));
  pml::NormalKnownVarianceModel<double> seq(pml::Normal<double>(mu0, s0), sigma);
  double chain = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    chain += seq.posterior_predictive().log_prob(x(i));
    seq.update(x.segment(i, 1));
  }
  CHECK(chain == Approx(joint.log_prob(x)).epsilon(1e-12));
  CHECK(seq.posterior().mean() == Approx(post.mean()).epsilon(1e-14));
  CHECK(seq.posterior().stddev() == Approx(post.stddev()).epsilon(1e-14));
  CHECK_THROWS_WITH(pml::NormalKnownVarianceModel<double>(pml::Normal<double>(), 0.0), Contains("noise_stddev must be positive"));
}

TEST_CASE("Gamma precision with known mean", "[conjugate][gamma_known_mean]") {
  pml::GammaKnownMeanModel<double> model(pml::Gamma<double>(2.0, 1.0), 1.0);
  Eigen::VectorXd x(4);
  x << 0.5, 1.7, 1.2, 0.1;
  const auto post = model.posterior(x);
  CHECK(post.shape() == Approx(4.0));
  CHECK(post.rate() == Approx(1.0 + 0.5 * (0.25 + 0.49 + 0.04 + 0.81)));
  pml::GammaKnownMeanModel<double> seq(pml::Gamma<double>(2.0, 1.0), 1.0);
  double chain = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    chain += seq.posterior_predictive().log_prob(x(i));
    seq.update(x.segment(i, 1));
  }
  CHECK(model.log_marginal_likelihood(x) == Approx(chain).epsilon(1e-13));
  const double integral = pml_test::integrate(
      [&](double tau) {
        double lik = 0;
        for (int i = 0; i < 4; ++i) lik += pml::Normal<double>(1.0, 1 / std::sqrt(tau)).log_prob(x(i));
        return std::exp(lik + pml::Gamma<double>(2.0, 1.0).log_prob(tau));
      },
      1e-9, 60, 200000);
  CHECK(model.log_marginal_likelihood(x) == Approx(std::log(integral)).epsilon(1e-8));
}

TEST_CASE("Normal-Gamma model: posterior, Student-t predictive, evidence", "[conjugate][normal_gamma]") {
  const pml::NormalGamma<double> prior(0.0, 1.0, 2.0, 2.0);
  pml::NormalGammaModel<double> model(prior);
  pml::Rng rng(3);
  const Eigen::VectorXd x = pml::Normal<double>(2.0, 0.5).sample(rng, 30);
  const auto post = model.posterior(x);
  CHECK(post.kappa() == 31.0);
  CHECK(post.a() == 17.0);
  CHECK(post.mu0() == Approx(30 * x.mean() / 31));
  pml::NormalGammaModel<double> seq(prior);
  double chain = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    chain += seq.posterior_predictive().log_prob(x(i));
    seq.update(x.segment(i, 1));
  }
  CHECK(model.log_marginal_likelihood(x) == Approx(chain).epsilon(1e-12));
  CHECK(seq.posterior().b() == Approx(post.b()).epsilon(1e-12));
  CHECK(seq.posterior().mu0() == Approx(post.mu0()).epsilon(1e-12));
  // with lots of data the posterior concentrates on the truth
  model.update(pml::Normal<double>(2.0, 0.5).sample(rng, 20000));
  CHECK(model.posterior().mu0() == Approx(2.0).margin(0.02));
  CHECK(model.posterior().precision_marginal().mean() == Approx(4.0).epsilon(0.05));
  // float
  pml::NormalGammaModel<float> fmodel(pml::NormalGamma<float>(0.0f, 1.0f, 2.0f, 2.0f));
  CHECK(fmodel.log_marginal_likelihood(x.cast<float>()) == Approx(chain).epsilon(1e-4));
}

TEST_CASE("Normal-Wishart model: posterior, multivariate-t predictive, evidence", "[conjugate][normal_wishart]") {
  const pml::NormalWishart<double> prior(Eigen::Vector2d::Zero(), 0.5, 4.0, Eigen::Matrix2d::Identity());
  pml::NormalWishartModel<double> model(prior);
  Eigen::Matrix2d cov;
  cov << 1.0, 0.6, 0.6, 2.0;
  pml::Rng rng(4);
  const Eigen::MatrixXd x = pml::MultivariateNormal<double>(Eigen::Vector2d(1, -1), cov).sample(rng, 25);
  pml::NormalWishartModel<double> seq(prior);
  double chain = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    chain += seq.posterior_predictive().log_prob(Eigen::VectorXd(x.row(i).transpose()));
    seq.update(x.row(i));
  }
  CHECK(model.log_marginal_likelihood(x) == Approx(chain).epsilon(1e-11));
  const auto post = model.posterior(x);
  CHECK((seq.posterior().scale() - post.scale()).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((seq.posterior().mu0() - post.mu0()).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(post.nu() == 29.0);
  model.update(pml::MultivariateNormal<double>(Eigen::Vector2d(1, -1), cov).sample(rng, 20000));
  const Eigen::MatrixXd expected_precision = cov.inverse();
  CHECK((model.posterior().mean().precision - expected_precision).cwiseAbs().maxCoeff() < 0.05);
  CHECK((model.posterior().mu0() - Eigen::Vector2d(1, -1)).cwiseAbs().maxCoeff() < 0.05);
  CHECK_THROWS_WITH(model.update(Eigen::MatrixXd::Zero(2, 3)), Contains("data has columns 3, expected 2"));
}

TEST_CASE("Gamma-Poisson: negative-binomial predictive and evidence", "[conjugate][gamma_poisson]") {
  pml::GammaPoissonModel<double> model(pml::Gamma<double>(2.0, 0.5));
  pml::IntVector k(6);
  k << 3, 0, 5, 2, 7, 4;
  CHECK(model.posterior(k).shape() == 23.0);
  CHECK(model.posterior(k).rate() == 6.5);
  pml::GammaPoissonModel<double> seq(model.prior());
  double chain = 0;
  for (Eigen::Index i = 0; i < k.size(); ++i) {
    chain += seq.posterior_predictive().log_prob(k(i));
    seq.update(k.segment(i, 1));
  }
  CHECK(model.log_marginal_likelihood(k) == Approx(chain).epsilon(1e-13));
  k(0) = -1;
  CHECK_THROWS_WITH(model.posterior(k), Contains("data must be non-negative counts"));
}

namespace {
// save -> load -> the same prior and posterior, and the next update agrees; then the wrong type is refused
template <class Model, class Data>
void check_round_trip(Model model, const Data& first, const Data& second, const char* name) {
  namespace fs = std::filesystem;
  const fs::path file = fs::temp_directory_path() / (std::string("pml_conjugate_") + name + ".pml");
  model.update(first);
  for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
    INFO(name << ", format " << int(format));
    model.save(file, format);
    Model loaded = Model::load(file);
    CHECK(pml::detail::distribution_parameters(loaded.prior()) == pml::detail::distribution_parameters(model.prior()));
    CHECK(pml::detail::distribution_parameters(loaded.posterior()) == pml::detail::distribution_parameters(model.posterior()));
    CHECK(loaded.log_marginal_likelihood(second) == model.log_marginal_likelihood(second));
    Model next = model;
    next.update(second);
    loaded.update(second);
    CHECK(pml::detail::distribution_parameters(loaded.posterior()) == pml::detail::distribution_parameters(next.posterior()));
  }
  pml::BetaBernoulliModel<double>(pml::Beta<double>(1, 1)).save(file);
  if (std::string(name) != "BetaBernoulliModel")
    CHECK_THROWS_WITH(Model::load(file), Contains("holds a BetaBernoulliModel, not a " + std::string(name)));
  fs::remove(file);
}
}  // namespace

TEST_CASE("Conjugate models save and load their prior and posterior; updates go on where they stopped", "[conjugate][files]") {
  pml::Rng rng(17);
  check_round_trip(pml::BetaBernoulliModel<double>(pml::Beta<double>(2, 3)), pml::IntVector{{1, 0, 1}}, pml::IntVector{{1, 1}}, "BetaBernoulliModel");
  check_round_trip(pml::BetaBinomialModel<double>(10, pml::Beta<double>(1, 1)), pml::IntVector{{3, 7}}, pml::IntVector{{5}}, "BetaBinomialModel");
  const pml::Dirichlet<double> dir(Eigen::Vector3d(1, 2, 0.5));
  check_round_trip(pml::DirichletCategoricalModel<double>(dir), pml::IntVector{{0, 2, 2}}, pml::IntVector{{1}}, "DirichletCategoricalModel");
  pml::IntMatrix counts(2, 3);
  counts << 1, 0, 4, 2, 2, 2;
  check_round_trip(pml::DirichletMultinomialModel<double>(dir), counts, pml::IntMatrix(counts.topRows(1)), "DirichletMultinomialModel");
  check_round_trip(pml::GammaPoissonModel<double>(pml::Gamma<double>(2, 1)), pml::IntVector{{3, 4, 1}}, pml::IntVector{{0, 2}}, "GammaPoissonModel");
  const Eigen::VectorXd x = pml::Normal<double>(1.0, 2.0).sample(rng, 12);
  check_round_trip(pml::NormalGammaModel<double>(pml::NormalGamma<double>(0, 1, 2, 2)), Eigen::VectorXd(x.head(8)), Eigen::VectorXd(x.tail(4)),
                   "NormalGammaModel");
  check_round_trip(pml::NormalKnownVarianceModel<double>(pml::Normal<double>(0, 3), 2.0), Eigen::VectorXd(x.head(8)), Eigen::VectorXd(x.tail(4)),
                   "NormalKnownVarianceModel");
  check_round_trip(pml::GammaKnownMeanModel<double>(pml::Gamma<double>(2, 2), 1.0), Eigen::VectorXd(x.head(8)), Eigen::VectorXd(x.tail(4)),
                   "GammaKnownMeanModel");
  const Eigen::MatrixXd y = pml::MultivariateNormal<double>(Eigen::Vector2d(1, -1), Eigen::Matrix2d::Identity()).sample(rng, 10);
  check_round_trip(pml::NormalWishartModel<double>(pml::NormalWishart<double>(Eigen::Vector2d::Zero(), 0.5, 4.0, Eigen::Matrix2d::Identity())),
                   Eigen::MatrixXd(y.topRows(6)), Eigen::MatrixXd(y.bottomRows(4)), "NormalWishartModel");
  // the constants travel with the model
  pml::BetaBinomialModel<double> bb(7);
  bb.save(std::filesystem::temp_directory_path() / "pml_bb.pml");
  CHECK(pml::BetaBinomialModel<double>::load(std::filesystem::temp_directory_path() / "pml_bb.pml").trials() == 7);
  std::filesystem::remove(std::filesystem::temp_directory_path() / "pml_bb.pml");
}

// ---- issue 12: evidences with large prior parameters -------------------------------------------------
#include "distributions/grid_check.hpp"
#include "fixtures/mpmath_reference.hpp"

TEST_CASE("log marginal likelihoods match mpmath for priors from 1e-300 to 1e150", "[conjugate][extremes]") {
  namespace mp = pml_test::mp;
  using pml_test::check_grid;
  pml::IntVector bern(8), bin(4), pois(5), labels(6);
  bern << 1, 0, 1, 1, 0, 1, 1, 1;
  bin << 3, 7, 10, 0;
  pois << 3, 0, 7, 2, 12;
  labels << 0, 2, 2, 1, 0, 2;
  Eigen::VectorXd shifted(4), y(5);
  shifted << 1e9 + 0.25, 1e9 - 1.5, 1e9 + 2.0, 1e9 + 0.75;
  y << 0.3, -1.2, 2.5, 0.9, 1.1;
  check_grid("BetaBernoulliModel", mp::beta_bernoulli_lml, [&](const auto& r) {
    return pml::BetaBernoulliModel<double>(pml::Beta<double>(r[0], r[1])).log_marginal_likelihood(bern);
  }, 1e-12, 1e-3);
  check_grid("BetaBinomialModel", mp::beta_binomial_lml, [&](const auto& r) {
    return pml::BetaBinomialModel<double>(10, pml::Beta<double>(r[0], r[1])).log_marginal_likelihood(bin);
  }, 1e-12, 1e-3);
  check_grid("GammaPoissonModel", mp::gamma_poisson_lml, [&](const auto& r) {
    return pml::GammaPoissonModel<double>(pml::Gamma<double>(r[0], r[1])).log_marginal_likelihood(pois);
  }, 1e-12, 1e-3);
  check_grid("DirichletCategoricalModel", mp::dirichlet_categorical_lml, [&](const auto& r) {
    const Eigen::Vector3d alpha(r[0], 2 * r[0], 3 * r[0]);
    return pml::DirichletCategoricalModel<double>(pml::Dirichlet<double>(alpha)).log_marginal_likelihood(labels);
  }, 1e-12, 1e-3);
  check_grid("NormalGammaModel", mp::normal_gamma_lml, [&](const auto& r) {
    return pml::NormalGammaModel<double>(pml::NormalGamma<double>(r[1], r[0], r[0], r[0]))
        .log_marginal_likelihood(r[1] == 0 ? y : shifted);
  }, 1e-12, 1e-3);
  check_grid("GammaKnownMeanModel", mp::gamma_known_mean_lml, [&](const auto& r) {
    return pml::GammaKnownMeanModel<double>(pml::Gamma<double>(r[0], r[0]), r[1]).log_marginal_likelihood(r[1] == 0 ? y : shifted);
  }, 1e-12, 1e-3);
}

TEST_CASE("evidence after many observations: sequential posteriors keep the chain rule", "[conjugate][extremes]") {
  // log p(D1, D2) = log p(D1) + log p(D2 | D1) also when the posterior parameters are huge
  pml::IntVector many = pml::IntVector::Ones(2000000);
  many.head(500000).setZero();
  pml::IntVector next(5);
  next << 1, 1, 0, 1, 0;
  pml::IntVector both(many.size() + next.size());
  both << many, next;
  pml::BetaBernoulliModel<double> model;
  const double joint = model.log_marginal_likelihood(both);
  const double first = model.log_marginal_likelihood(many);
  model.update(many);
  CHECK(joint == Approx(first + model.log_marginal_likelihood(next)).epsilon(1e-14));
  // posterior predictive of a Normal-Gamma model after 1e12 pseudo-observations is a Gaussian
  const pml::NormalGammaModel<double> ng(pml::NormalGamma<double>(2.0, 1e12, 5e11, 5e11));
  const auto pred = ng.posterior_predictive();
  CHECK(pred.entropy() == Approx(pml::Normal<double>(2.0, std::sqrt(1 + 1e-12)).entropy()).epsilon(1e-11));
  // Normal-Wishart evidence with a strong prior: close to the Gaussian likelihood at the prior mean
  const Eigen::Matrix2d eye = Eigen::Matrix2d::Identity();
  const double nu = 1e14;
  pml::NormalWishartModel<double> nw(pml::NormalWishart<double>(Eigen::Vector2d::Zero(), 1e14, nu, eye / nu));
  Eigen::MatrixXd x(3, 2);
  x << 0.5, -0.2, 1.0, 0.3, -0.4, 0.8;
  const double gauss = -0.5 * x.squaredNorm() - 3 * std::log(2 * M_PI);
  CHECK(nw.log_marginal_likelihood(x) == Approx(gauss).epsilon(1e-10));
}

TEST_CASE("Normal-Gamma and Normal-Wishart posteriors near 1e300: a domain_error naming the model and the data",
          "[conjugate][extremes]") {
  Eigen::MatrixXd x(20, 2);
  for (int i = 0; i < 20; ++i) {
    x(i, 0) = std::sin(1.3 * i) + 0.1 * i;
    x(i, 1) = std::cos(0.7 * i);
  }
  const pml::NormalGammaModel<double> ng(pml::NormalGamma<double>(0, 1, 1, 1));
  const Eigen::VectorXd big = x.col(0) * (1e300 / 20);
  CHECK_THROWS_AS(ng.posterior(big), std::domain_error);
  CHECK_THROWS_WITH(ng.posterior(big), Catch::Matchers::StartsWith("NormalGammaModel::posterior: data must") && Contains("largest |data|"));
  CHECK_THROWS_WITH(ng.log_marginal_likelihood(big), Catch::Matchers::StartsWith("NormalGammaModel::log_marginal_likelihood: data"));
  const pml::NormalGammaModel<float> ngf(pml::NormalGamma<float>(0, 1, 1, 1));
  const Eigen::VectorXf bigf = x.col(0).cast<float>() * 5e33f;
  CHECK_THROWS_WITH(ngf.posterior(bigf), Catch::Matchers::StartsWith("NormalGammaModel::posterior: data must"));
  // 1e100 is fine
  CHECK(std::isfinite(ng.posterior(Eigen::VectorXd(x.col(0) * 1e100)).b()));

  const pml::NormalWishartModel<double> nw(pml::NormalWishart<double>(Eigen::VectorXd::Zero(2), 1, 4, Eigen::MatrixXd::Identity(2, 2)));
  const Eigen::MatrixXd xb = x * (1e300 / 20);
  CHECK_THROWS_AS(nw.posterior(xb), std::domain_error);
  CHECK_THROWS_WITH(nw.posterior(xb), Catch::Matchers::StartsWith("NormalWishartModel::posterior: data must") && Contains("largest |data|"));
  CHECK_THROWS_WITH(nw.log_marginal_likelihood(xb), Catch::Matchers::StartsWith("NormalWishartModel::log_marginal_likelihood: data"));
  const pml::NormalWishartModel<float> nwf(pml::NormalWishart<float>(Eigen::VectorXf::Zero(2), 1, 4, Eigen::MatrixXf::Identity(2, 2)));
  CHECK_THROWS_WITH(nwf.posterior(Eigen::MatrixXf(x.cast<float>() * 5e33f)), Catch::Matchers::StartsWith("NormalWishartModel::posterior: data must"));
}
