#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "fixtures/sklearn_reference.hpp"
#include "test_helpers.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/models/cluster.hpp"

using Catch::Matchers::Contains;
namespace sk = pml_test::sklearn;
using pml_test::rows;
using pml_test::vec;

namespace {
const Eigen::MatrixXd& data() {
  static const Eigen::MatrixXd x = rows(sk::X, 120, 3);
  return x;
}
std::vector<Eigen::MatrixXd> covs(const std::vector<double>& v) {
  std::vector<Eigen::MatrixXd> out;
  for (int k = 0; k < 3; ++k) out.push_back(rows(std::vector<double>(v.begin() + 9 * k, v.begin() + 9 * (k + 1)), 3, 3));
  return out;
}
double max_rel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return ((a - b).array().abs() / b.array().abs().max(1.0)).maxCoeff();
}

void check_parity(pml::Covariance type, const std::string& name) {
  pml::GaussianMixtureOptions<double> o;
  o.components = 3;
  o.covariance = type;
  o.tolerance = 0;
  o.max_iterations = 15;
  o.weights_init = vec(sk::weights_init);
  o.means_init = rows(sk::means_init, 3, 3);
  o.covariances_init = covs(sk::covs_init);
  if (type == pml::Covariance::tied) o.covariances_init.resize(1);
  pml::GaussianMixture<double> gm(o);
  gm.fit(data());
  const auto& ref_w = name == "full" ? sk::gmm_full_weights : name == "tied" ? sk::gmm_tied_weights
                      : name == "diag" ? sk::gmm_diag_weights : sk::gmm_spherical_weights;
  const auto& ref_m = name == "full" ? sk::gmm_full_means : name == "tied" ? sk::gmm_tied_means
                      : name == "diag" ? sk::gmm_diag_means : sk::gmm_spherical_means;
  const auto& ref_c = name == "full" ? sk::gmm_full_covariances : name == "tied" ? sk::gmm_tied_covariances
                      : name == "diag" ? sk::gmm_diag_covariances : sk::gmm_spherical_covariances;
  const auto& ref_lb = name == "full" ? sk::gmm_full_lower_bound : name == "tied" ? sk::gmm_tied_lower_bound
                       : name == "diag" ? sk::gmm_diag_lower_bound : sk::gmm_spherical_lower_bound;
  const auto& ref_s = name == "full" ? sk::gmm_full_score_samples : name == "tied" ? sk::gmm_tied_score_samples
                      : name == "diag" ? sk::gmm_diag_score_samples : sk::gmm_spherical_score_samples;
  const auto& ref_bic = name == "full" ? sk::gmm_full_bic : name == "tied" ? sk::gmm_tied_bic
                        : name == "diag" ? sk::gmm_diag_bic : sk::gmm_spherical_bic;
  INFO("covariance type " << name);
  CHECK(gm.iterations() == 15);
  CHECK(max_rel(gm.weights(), vec(ref_w)) < 1e-9);
  CHECK(max_rel(gm.means(), rows(ref_m, 3, 3)) < 1e-9);
  const auto ref_covs = covs(ref_c);
  for (int k = 0; k < 3; ++k) CHECK(max_rel(gm.covariance(k), ref_covs[static_cast<std::size_t>(k)]) < 1e-9);
  CHECK(gm.lower_bound() == Approx(ref_lb[0]).epsilon(1e-11));
  CHECK(max_rel(gm.score_samples(data().topRows(10)), vec(ref_s)) < 1e-10);
  CHECK(gm.bic(data()) == Approx(ref_bic[0]).epsilon(1e-11));
}
}  // namespace

TEST_CASE("GaussianMixture matches scikit-learn from the same start", "[models][gmm]") {
  check_parity(pml::Covariance::full, "full");
  check_parity(pml::Covariance::tied, "tied");
  check_parity(pml::Covariance::diagonal, "diag");
  check_parity(pml::Covariance::spherical, "spherical");
}

TEST_CASE("KMeans matches scikit-learn from the same centres", "[models][kmeans]") {
  pml::KMeansOptions<double> o;
  o.clusters = 3;
  o.centres_init = rows(sk::means_init, 3, 3);
  pml::KMeans<double> km(o);
  km.fit(data());
  CHECK(max_rel(km.centres(), rows(sk::kmeans_centres, 3, 3)) < 1e-12);
  CHECK(km.inertia() == Approx(sk::kmeans_inertia[0]).epsilon(1e-12));
  CHECK((km.labels().cast<double>() - vec(sk::kmeans_labels)).cwiseAbs().maxCoeff() == 0.0);
  CHECK(km.converged());
  CHECK((km.predict(data()) - km.labels()).cwiseAbs().maxCoeff() == 0);
}

TEST_CASE("GaussianMixture recovers known clusters and its log-likelihood never decreases", "[models][gmm]") {
  pml::Rng rng(1);
  Eigen::Matrix2d c0, c1, c2;
  c0 << 1.0, 0.5, 0.5, 1.0;
  c1 << 0.5, 0.0, 0.0, 2.0;
  c2 << 1.0, -0.7, -0.7, 1.0;
  const Eigen::MatrixXd a = pml::MultivariateNormal<double>(Eigen::Vector2d(0, 0), c0).sample(rng, 3000);
  const Eigen::MatrixXd b = pml::MultivariateNormal<double>(Eigen::Vector2d(8, 0), c1).sample(rng, 2000);
  const Eigen::MatrixXd c = pml::MultivariateNormal<double>(Eigen::Vector2d(0, 8), c2).sample(rng, 1000);
  Eigen::MatrixXd x(6000, 2);
  x << a, b, c;
  for (auto type : {pml::Covariance::full, pml::Covariance::tied, pml::Covariance::diagonal, pml::Covariance::spherical}) {
    pml::GaussianMixture<double> gm({.components = 3, .covariance = type, .tolerance = 1e-8, .max_iterations = 500});
    gm.fit(x, rng);
    const auto& h = gm.log_likelihood_history();
    for (std::size_t i = 1; i < h.size(); ++i) REQUIRE(h[i] >= h[i - 1] - 1e-10);
    CHECK(gm.converged());
    CHECK(gm.reseeded() == 0);
    // each true centre has a fitted mean nearby, with the right weight
    for (auto [centre, weight] : {std::pair{Eigen::Vector2d(0, 0), 0.5}, {Eigen::Vector2d(8, 0), 1.0 / 3}, {Eigen::Vector2d(0, 8), 1.0 / 6}}) {
      Eigen::Index k;
      (gm.means().rowwise() - centre.transpose()).rowwise().norm().minCoeff(&k);
      CHECK((gm.means().row(k).transpose() - centre).norm() < 0.15);
      CHECK(gm.weights()(k) == Approx(weight).margin(0.02));
    }
  }
  // the random start (responsibilities hashed from the seed and each row's position): it recovers the same
  // clusters from a few restarts, and the same seed gives the same mixture
  pml::GaussianMixture<double> random_start({.components = 3, .tolerance = 1e-8, .max_iterations = 500, .restarts = 3,
                                             .init = pml::MixtureInit::random});
  random_start.fit(x, 17);
  for (const Eigen::Vector2d& centre : {Eigen::Vector2d(0, 0), Eigen::Vector2d(8, 0), Eigen::Vector2d(0, 8)}) {
    Eigen::Index k;
    (random_start.means().rowwise() - centre.transpose()).rowwise().norm().minCoeff(&k);
    CHECK((random_start.means().row(k).transpose() - centre).norm() < 0.15);
  }
  pml::GaussianMixture<double> again(random_start.options());
  CHECK(again.fit(x, 17).means() == random_start.means());
  CHECK(again.fit(x, 18).log_likelihood_history().front() != random_start.log_likelihood_history().front());
  pml::GaussianMixture<double> full({.components = 3});
  full.fit(x, rng);
  const Eigen::MatrixXd resp = full.predict_proba(x);
  CHECK((resp.rowwise().sum().array() - 1).abs().maxCoeff() < 1e-12);
  const pml::IntVector labels = full.predict(x);
  CHECK(labels(0) != labels(5999));
  auto [s, l] = full.sample(rng, 20000);
  CHECK((s.colwise().mean() - x.colwise().mean()).norm() < 0.15);
  CHECK(l.maxCoeff() == 2);
  CHECK(full.bic(x) < pml::GaussianMixture<double>({.components = 1}).fit(x, rng).bic(x));
  CHECK(full.aic(x) < full.bic(x));
}

TEST_CASE("GaussianMixture: no underflow for far-apart clusters, emptied components are re-seeded", "[models][gmm]") {
  pml::Rng rng(2);
  Eigen::MatrixXd x(400, 2);
  pml::random::fill_normal(rng, x, 0.0, 0.01);
  x.bottomRows(200).array() += 1e4;
  pml::GaussianMixture<double> gm({.components = 2, .covariance = pml::Covariance::full});
  gm.fit(x, rng);
  CHECK(gm.means().allFinite());
  CHECK(std::isfinite(gm.lower_bound()));
  CHECK(gm.score_samples(x).allFinite());
  // a component started far from every point gets no responsibility: reported and re-seeded, no NaN
  pml::GaussianMixtureOptions<double> o;
  o.components = 3;
  o.means_init = (Eigen::MatrixXd(3, 2) << 0, 0, 1e4, 1e4, -1e6, -1e6).finished();
  o.covariances_init.assign(3, 1e-4 * Eigen::MatrixXd::Identity(2, 2));
  pml::GaussianMixture<double> stray(o);
  stray.fit(x, rng);
  CHECK(stray.reseeded() > 0);
  CHECK(stray.means().allFinite());
  CHECK(stray.weights().allFinite());
  CHECK(std::isfinite(stray.lower_bound()));
}

TEST_CASE("GaussianMixture sample weights act like repeated rows", "[models][gmm]") {
  const Eigen::MatrixXd x = data();
  Eigen::VectorXd w = Eigen::VectorXd::Ones(120);
  w.head(10).setConstant(2.0);
  Eigen::MatrixXd repeated(130, 3);
  repeated << x, x.topRows(10);
  pml::GaussianMixtureOptions<double> o;
  o.components = 3;
  o.tolerance = 0;
  o.max_iterations = 10;
  o.weights_init = vec(sk::weights_init);
  o.means_init = rows(sk::means_init, 3, 3);
  o.covariances_init = covs(sk::covs_init);
  pml::GaussianMixture<double> a(o), b(o);
  a.fit(x, 0, w);
  b.fit(repeated);
  CHECK(max_rel(a.means(), b.means()) < 1e-10);
  CHECK(max_rel(a.covariance(1), b.covariance(1)) < 1e-10);
  CHECK(a.lower_bound() == Approx(b.lower_bound()).epsilon(1e-12));
}

TEST_CASE("clustering rejects bad input with clear messages", "[models][gmm][kmeans]") {
  const Eigen::MatrixXd x = data();
  CHECK_THROWS_WITH(pml::GaussianMixture<double>({.components = 0}), Contains("GaussianMixture: components must be positive"));
  CHECK_THROWS_WITH(pml::GaussianMixture<double>({.components = 2, .reg_covar = -1}), Contains("reg_covar must be non-negative"));
  CHECK_THROWS_WITH(pml::GaussianMixture<double>({.components = 200}).fit(x), Contains("needs at least components = 200 rows, got 120"));
  Eigen::MatrixXd bad = x;
  bad(5, 1) = std::nan("");
  CHECK_THROWS_WITH(pml::GaussianMixture<double>({.components = 2}).fit(bad), Contains("GaussianMixture::fit: x must have finite entries"));
  pml::GaussianMixture<double> gm({.components = 2});
  CHECK_THROWS_AS(gm.predict(x), std::logic_error);
  gm.fit(x);
  CHECK_THROWS_WITH(gm.predict(Eigen::MatrixXd::Zero(3, 2)), Contains("x has columns 2, expected 3"));
  pml::GaussianMixtureOptions<double> o;
  o.components = 2;
  o.means_init = Eigen::MatrixXd::Zero(3, 3);
  CHECK_THROWS_WITH(pml::GaussianMixture<double>(o).fit(x), Contains("means_init has rows 3, expected 2"));
  CHECK_THROWS_WITH(pml::KMeans<double>({.clusters = 500}).fit(x), Contains("KMeans::fit: needs at least clusters = 500 rows"));
  CHECK_THROWS_WITH(pml::KMeans<double>({.clusters = 3}).fit(bad), Contains("x must have finite entries"));
  CHECK_THROWS_AS(pml::KMeans<double>({.clusters = 3}).predict(x), std::logic_error);
}

TEST_CASE("KMeans with k-means++ finds well-separated clusters; weights count", "[models][kmeans]") {
  pml::Rng rng(3);
  Eigen::MatrixXd x(3000, 2);
  pml::random::fill_normal(rng, x, 0.0, 0.3);
  x.block(1000, 0, 1000, 1).array() += 10;
  x.block(2000, 1, 1000, 1).array() += 10;
  pml::KMeans<double> km({.clusters = 3, .restarts = 3});
  km.fit(x, rng);
  CHECK(km.inertia() < 3000 * 2 * 0.09 * 1.2);
  const pml::IntVector labels = km.labels();
  CHECK(labels(0) != labels(1500));
  CHECK(labels(1500) != labels(2500));
  CHECK(km.inertia(x) == Approx(km.inertia()).epsilon(1e-10));
  // score_samples / score: higher is better, minus the squared distance to the nearest centre
  const Eigen::VectorXd per_row = km.score_samples(x);
  CHECK(per_row.size() == x.rows());
  CHECK(per_row.maxCoeff() <= 0);
  CHECK(-per_row.sum() == Approx(km.inertia()).epsilon(1e-10));
  CHECK(km.score(x) == Approx(per_row.mean()).epsilon(1e-12));
  CHECK(per_row(0) == Approx(-km.transform(x.topRows(1)).minCoeff()).epsilon(1e-12));
  CHECK_THROWS_WITH(km.score(Eigen::MatrixXd(0, 2)), Contains("KMeans::score") && Contains("no rows"));
  CHECK_THROWS_WITH(km.score_samples(Eigen::MatrixXd(3, 5)), Contains("KMeans::score_samples") && Contains("x"));
  // float works too
  pml::KMeans<float> kf({.clusters = 3});
  kf.fit(x.cast<float>(), rng);
  CHECK(kf.inertia() < 3000 * 2 * 0.09f * 1.2f);
  pml::GaussianMixture<float> gf({.components = 3});
  gf.fit(x.cast<float>(), rng);
  CHECK(std::isfinite(gf.lower_bound()));
}

TEST_CASE("KMeans with k-means|| seeding (Bahmani et al. 2012) finds the clusters k-means++ finds", "[models][kmeans]") {
  pml::Rng rng(3);
  Eigen::MatrixXd x(3000, 2);
  pml::random::fill_normal(rng, x, 0.0, 0.3);
  for (int c = 1; c < 8; ++c) {  // 8 clusters on a circle of radius 10, 375 rows each
    x.block(375 * c, 0, 375, 1).array() += 10 * std::cos(c * 0.785398);
    x.block(375 * c, 1, 375, 1).array() += 10 * std::sin(c * 0.785398);
  }
  x.block(0, 0, 375, 1).array() += 10;
  const double well = 3000 * 2 * 0.09 * 1.2;  // every cluster found
  int found = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    pml::KMeans<double> km({.clusters = 8, .init = pml::KMeansInit::k_means_parallel});
    km.fit(x, seed);
    found += km.inertia() < well;
    // the seeding is part of the fit: the same seed, the same centres
    pml::KMeans<double> again({.clusters = 8, .init = pml::KMeansInit::k_means_parallel});
    again.fit(x, seed);
    CHECK(again.centres() == km.centres());
  }
  CHECK(found >= 9);  // (10 of 10 with seeds 1-10, as k-means++)
  // one pass, float, weights: a zero weight keeps a row out of the seeding and the centres
  Eigen::VectorXd w = Eigen::VectorXd::Ones(3000);
  Eigen::MatrixXd far = x;
  far.row(5).setConstant(1e4);
  w(5) = 0;
  pml::KMeans<double> weighted({.clusters = 8, .init = pml::KMeansInit::k_means_parallel, .init_steps = 1});
  weighted.fit(far, 2, w);
  CHECK(weighted.centres().cwiseAbs().maxCoeff() < 20);
  pml::KMeans<float> kf({.clusters = 8, .restarts = 2, .init = pml::KMeansInit::k_means_parallel});
  kf.fit(x.cast<float>(), 4);
  CHECK(kf.inertia() < float(well));
  // fewer distinct rows than clusters: the seeding still returns K rows (k-means++ over the rows)
  const Eigen::MatrixXd same = Eigen::MatrixXd::Constant(10, 2, 3.0);
  pml::KMeans<double> degenerate({.clusters = 3, .init = pml::KMeansInit::k_means_parallel});
  degenerate.fit(same, 1);
  CHECK(degenerate.centres().rows() == 3);
  CHECK(degenerate.inertia() == 0);
  // K = 1: a pass keeps no row with probability about e^-2 (the next pass must not read an empty batch);
  // the centre is the mean whatever the seed
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    pml::KMeans<double> single({.clusters = 1, .init = pml::KMeansInit::k_means_parallel, .init_steps = 3});
    single.fit(x.topRows(200), seed);
    CHECK((single.centres().row(0) - x.topRows(200).colwise().mean()).cwiseAbs().maxCoeff() < 1e-12);
  }
  CHECK_THROWS_WITH(pml::KMeans<double>({.init_steps = 0}), Contains("KMeans") && Contains("init_steps"));
  CHECK_THROWS_WITH(pml::KMeans<double>({.init = pml::KMeansInit(7)}), Contains("KMeans") && Contains("init"));
  // the seeding is stored in the model file
  const auto path = std::filesystem::temp_directory_path() / "pml_kmeans_parallel.pml";
  pml::KMeans<double> stored({.clusters = 8, .init = pml::KMeansInit::k_means_parallel, .init_steps = 3});
  stored.fit(x, 1);
  stored.save(path);
  const auto loaded = pml::KMeans<double>::load(path);
  CHECK(loaded.options().init == pml::KMeansInit::k_means_parallel);
  CHECK(loaded.options().init_steps == 3);
  std::filesystem::remove(path);
}

TEST_CASE("GaussianMixture::partial_fit learns from a stream of chunks", "[models][gmm]") {
  pml::Rng rng(9);
  Eigen::Matrix2d c0, c1;
  c0 << 1.0, 0.3, 0.3, 0.5;
  c1 << 0.5, -0.2, -0.2, 1.0;
  const pml::MultivariateNormal<double> a(Eigen::Vector2d(0, 0), c0), b(Eigen::Vector2d(6, 3), c1);
  Eigen::MatrixXd all(0, 2);
  for (auto type : {pml::Covariance::full, pml::Covariance::tied, pml::Covariance::diagonal, pml::Covariance::spherical}) {
    pml::GaussianMixture<double> online({.components = 2, .covariance = type});
    pml::Rng data_rng(10);
    Eigen::MatrixXd seen(0, 2);
    for (int chunk = 0; chunk < 30; ++chunk) {
      Eigen::MatrixXd x(300, 2);
      x << a.sample(data_rng, 200), b.sample(data_rng, 100);
      online.partial_fit(x, rng);
      Eigen::MatrixXd grown(seen.rows() + 300, 2);
      grown << seen, x;
      seen = grown;
    }
    pml::GaussianMixture<double> batch({.components = 2, .covariance = type, .tolerance = 1e-8, .max_iterations = 300});
    batch.fit(seen, rng);
    CHECK(online.score(seen) == Approx(batch.score(seen)).epsilon(2e-3));
    Eigen::Index k;
    (online.means().rowwise() - Eigen::RowVector2d(6, 3)).rowwise().norm().minCoeff(&k);
    CHECK((online.means().row(k) - Eigen::RowVector2d(6, 3)).norm() < 0.1);
    CHECK(online.weights()(k) == Approx(1.0 / 3).margin(0.03));
    CHECK(online.log_likelihood_history().size() == 30);
  }
  pml::GaussianMixture<double> g({.components = 3});
  CHECK_THROWS_WITH(g.partial_fit(Eigen::MatrixXd::Zero(2, 2)), Contains("needs at least components = 3 rows in the first chunk"));
  CHECK_THROWS_WITH(pml::GaussianMixture<double>({.components = 2, .step_exponent = 0.3}), Contains("step_exponent must lie in (0.5, 1]"));
}

TEST_CASE("VariationalGaussianMixture: ELBO never decreases, surplus components switch off", "[models][vgmm]") {
  pml::Rng rng(12);
  Eigen::Matrix2d c0, c1;
  c0 << 1.0, 0.4, 0.4, 0.8;
  c1 << 0.6, -0.3, -0.3, 1.0;
  Eigen::MatrixXd x(1500, 2);
  x << pml::MultivariateNormal<double>(Eigen::Vector2d(0, 0), c0).sample(rng, 900),
      pml::MultivariateNormal<double>(Eigen::Vector2d(5, 4), c1).sample(rng, 600);
  for (auto prior : {pml::WeightPrior::dirichlet_distribution, pml::WeightPrior::dirichlet_process}) {
    pml::VariationalGaussianMixtureOptions<double> o;
    o.components = 6;
    o.weight_prior = prior;
    o.weight_concentration = 1e-3;
    o.tolerance = 1e-9;
    o.max_iterations = 1000;
    pml::VariationalGaussianMixture<double> vgmm(o);
    vgmm.fit(x, rng);
    const auto& h = vgmm.elbo_history();
    for (std::size_t i = 1; i < h.size(); ++i) REQUIRE(h[i] >= h[i - 1] - 1e-10 * std::abs(h[i]));
    CHECK(vgmm.converged());
    CHECK(vgmm.effective_components() == 2);
    CHECK(vgmm.weights().sum() == Approx(1.0).epsilon(1e-9));
    Eigen::Index k;
    (vgmm.means().rowwise() - Eigen::RowVector2d(5, 4)).rowwise().norm().minCoeff(&k);
    CHECK((vgmm.means().row(k) - Eigen::RowVector2d(5, 4)).norm() < 0.15);
    CHECK(vgmm.weights()(k) == Approx(0.4).margin(0.03));
    CHECK((vgmm.covariance(k) - c1).cwiseAbs().maxCoeff() < 0.15);
    const pml::IntVector labels = vgmm.predict(x);
    CHECK(labels(0) != labels(1499));
    CHECK((vgmm.predict_proba(x).rowwise().sum().array() - 1).abs().maxCoeff() < 1e-12);
  }
  // a large concentration keeps more components alive (the prior prefers using them)
  pml::VariationalGaussianMixtureOptions<double> spread;
  spread.components = 6;
  spread.weight_concentration = 1e3;
  spread.max_iterations = 300;
  pml::VariationalGaussianMixture<double> many(spread);
  many.fit(x, rng);
  CHECK(many.effective_components() > 2);
  CHECK_THROWS_WITH(pml::VariationalGaussianMixture<double>({.components = 0}), Contains("components must be positive"));
  pml::VariationalGaussianMixtureOptions<double> bad_nu;
  bad_nu.components = 2;
  bad_nu.degrees_of_freedom = 0.5;
  CHECK_THROWS_WITH(pml::VariationalGaussianMixture<double>(bad_nu).fit(x, rng), Contains("degrees_of_freedom must be greater than 1"));
  CHECK_THROWS_AS(pml::VariationalGaussianMixture<double>({.components = 2}).predict(x), std::logic_error);
}

TEST_CASE("GaussianMixture on degenerate data: reg_covar keeps it finite, zero reg_covar is a clear error", "[models][gmm]") {
  const Eigen::MatrixXd same = Eigen::MatrixXd::Constant(50, 3, 2.5);
  pml::GaussianMixture<double> gm({.components = 2});
  gm.fit(same);
  CHECK(gm.means().allFinite());
  CHECK(std::isfinite(gm.lower_bound()));
  CHECK_THROWS_WITH(pml::GaussianMixture<double>({.components = 2, .reg_covar = 0}).fit(same),
                    Contains("reg_covar must be large enough to keep component covariances positive definite"));
  pml::KMeans<double> km({.clusters = 3});
  km.fit(same);
  CHECK(km.inertia() == 0.0);
  CHECK(km.centres().allFinite());
}

TEST_CASE("KMeans and GaussianMixture save and load: bit-identical predictions, clear errors", "[cluster][files]") {
  namespace fs = std::filesystem;
  pml::Rng rng(21);
  Eigen::MatrixXd x(300, 3);
  pml::random::fill_normal(rng, x);
  x.topRows(100).array() += 4.0;
  x.middleRows(100, 100).array() -= 4.0;
  const fs::path dir = fs::temp_directory_path();
  pml::KMeans<double> km({.clusters = 3});
  km.fit(x, rng);
  km.save(dir / "pml_km.pml");
  const auto km2 = pml::KMeans<double>::load(dir / "pml_km.pml");
  CHECK(km2.predict(x) == km.predict(x));
  CHECK(km2.centres() == km.centres());
  CHECK(km2.options().clusters == 3);
  for (const auto cov : {pml::Covariance::full, pml::Covariance::tied, pml::Covariance::diagonal, pml::Covariance::spherical})
    for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
      pml::GaussianMixture<double> gm({.components = 3, .covariance = cov});
      gm.fit(x, rng);
      const fs::path file = dir / "pml_gm.pml";
      gm.save(file, format);
      const auto gm2 = pml::GaussianMixture<double>::load(file);
      const Eigen::MatrixXd a = gm.predict_proba(x), b = gm2.predict_proba(x);
      INFO("covariance " << int(cov) << ", format " << int(format));
      CHECK(std::memcmp(a.data(), b.data(), sizeof(double) * std::size_t(a.size())) == 0);
      CHECK(gm2.score_samples(x) == gm.score_samples(x));
      CHECK(gm2.options().covariance == cov);
      pml::Rng r1(5), r2(5);
      CHECK(gm2.sample(r1, 10).first == gm.sample(r2, 10).first);
      // a float program can read a double file
      CHECK(pml::GaussianMixture<float>::load(file).predict(x.cast<float>()) == gm.predict(x));
    }
  // wrong type, missing, truncated, not fitted
  CHECK_THROWS_WITH(pml::GaussianMixture<double>::load(dir / "pml_km.pml"), Contains("GaussianMixture::load") && Contains("holds a KMeans, not a GaussianMixture"));
  CHECK_THROWS_WITH(pml::KMeans<double>::load(dir / "pml_missing.pml"), Contains("KMeans::load") && Contains("cannot open"));
  const std::string bytes = pml::read_file(dir / "pml_gm.pml", "test");
  std::ofstream(dir / "pml_cut.pml", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  CHECK_THROWS_WITH(pml::GaussianMixture<double>::load(dir / "pml_cut.pml"), Contains("pml_cut.pml"));
  CHECK_THROWS_WITH(pml::KMeans<double>().save(dir / "pml_unfitted.pml"), Contains("not fitted"));
  CHECK_FALSE(fs::exists(dir / "pml_unfitted.pml"));
  int thrown = 0;
  const std::string kb = pml::read_file(dir / "pml_km.pml", "test");
  for (std::size_t cut = 0; cut < kb.size(); cut += 5) {
    std::ofstream(dir / "pml_t.pml", std::ios::binary) << kb.substr(0, cut);
    try {
      pml::KMeans<double>::load(dir / "pml_t.pml");
    } catch (const std::runtime_error&) { ++thrown; }
  }
  CHECK(thrown == int((kb.size() + 4) / 5));
  for (const char* f : {"pml_km.pml", "pml_gm.pml", "pml_cut.pml", "pml_t.pml"}) fs::remove(dir / f);
}

TEST_CASE("VariationalGaussianMixture save and load: bit-identical predictions, clear errors", "[cluster][vgmm][files]") {
  namespace fs = std::filesystem;
  pml::Rng rng(31);
  Eigen::MatrixXd x(400, 2);
  pml::random::fill_normal(rng, x);
  x.topRows(200).array() += 5.0;
  const fs::path file = fs::temp_directory_path() / "pml_vgmm.pml";
  for (const auto prior : {pml::WeightPrior::dirichlet_distribution, pml::WeightPrior::dirichlet_process})
    for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
      pml::VariationalGaussianMixtureOptions<double> o;
      o.components = 5;
      o.weight_prior = prior;
      o.weight_concentration = 0.01;
      if (format == pml::io::FileFormat::json) o.mean_prior = Eigen::VectorXd::Ones(2);  // non-default priors travel too
      pml::VariationalGaussianMixture<double> vg(o);
      vg.fit(x, rng);
      vg.save(file, format);
      const auto loaded = pml::VariationalGaussianMixture<double>::load(file);
      INFO("prior " << int(prior) << ", format " << int(format));
      const Eigen::MatrixXd a = vg.predict_proba(x), b = loaded.predict_proba(x);
      CHECK(std::memcmp(a.data(), b.data(), sizeof(double) * std::size_t(a.size())) == 0);
      CHECK(loaded.weights() == vg.weights());
      CHECK(loaded.means() == vg.means());
      CHECK(loaded.covariance(1) == vg.covariance(1));
      CHECK(loaded.effective_components() == vg.effective_components());
      CHECK(loaded.elbo_history() == vg.elbo_history());
      CHECK(loaded.iterations() == vg.iterations());
      CHECK(loaded.options().weight_prior == prior);
      CHECK(loaded.options().mean_prior == o.mean_prior);
      // a loaded model can be fitted again, with the same result as the original's options give
      auto refit = loaded;
      refit.fit(x, 4);
      CHECK(refit.lower_bound() == pml::VariationalGaussianMixture<double>(o).fit(x, 4).lower_bound());
      CHECK(pml::VariationalGaussianMixture<float>::load(file).predict(x.cast<float>()) == vg.predict(x));
    }
  CHECK_THROWS_WITH(pml::GaussianMixture<double>::load(file), Contains("holds a VariationalGaussianMixture, not a GaussianMixture"));
  CHECK_THROWS_WITH(pml::VariationalGaussianMixture<double>().save(file.string() + ".x"), Contains("not fitted"));
  fs::remove(file);
}

// ---- issue 12 §2 and issue 13: sums of squares about a shift, values at the edge, wide data ----

TEST_CASE("GaussianMixture: variances of data far from the origin, every covariance type (issue 12 §2)", "[models][gmm][extremes]") {
  // x = 1e9 + {0, 1, 2, 3}, K = 1, reg_covar 1e-6: variance 1.25 + 1e-6, mean log-likelihood
  // -1/2 log(2 pi 1.250001) - 1/2 1.25/1.250001 (before: 512.000001 and -4.125 for the diagonal type)
  const Eigen::MatrixXd x = (Eigen::MatrixXd(4, 1) << 1e9, 1e9 + 1, 1e9 + 2, 1e9 + 3).finished();
  const double score = -0.5 * std::log(2 * M_PI * 1.250001) - 0.5 * 1.25 / 1.250001;
  CHECK(score == Approx(-1.5305103088619).epsilon(1e-13));
  for (auto type : {pml::Covariance::diagonal, pml::Covariance::spherical, pml::Covariance::tied, pml::Covariance::full}) {
    INFO("covariance type " << int(type));
    pml::GaussianMixture<double> gm({.components = 1, .covariance = type, .reg_covar = 1e-6});
    gm.fit(x);
    CHECK(gm.covariance(0)(0, 0) == Approx(1.250001).epsilon(1e-12));
    CHECK(gm.means()(0, 0) == 1e9 + 1.5);
    CHECK(gm.score(x) == Approx(-1.5305103088619).epsilon(1e-12));
    CHECK(gm.lower_bound() == Approx(-1.5305103088619).epsilon(1e-12));
  }
}

TEST_CASE("GaussianMixture: components far from the data mean next to their spread keep their variances", "[models][gmm][extremes]") {
  // two clusters at -1e7 and +1e7 with unit-scale spread, fitted from the same start: the diagonal,
  // spherical and tied variances must equal those computed directly from exact differences
  pml::Rng rng(5);
  Eigen::MatrixXd x(200, 2);
  pml::random::fill_normal(rng, x);
  x.col(1) *= 2.0;
  x.topRows(100).array() += 1e7;
  x.bottomRows(100).array() -= 1e7;
  const Eigen::MatrixXd means = (Eigen::MatrixXd(2, 2) << 1e7, 1e7, -1e7, -1e7).finished();
  Eigen::MatrixXd var(2, 2);  // exact per-cluster variances (population), per column
  Eigen::MatrixXd pooled = Eigen::MatrixXd::Zero(2, 2);
  for (int c = 0; c < 2; ++c) {
    const Eigen::MatrixXd part = x.middleRows(100 * c, 100);
    const Eigen::RowVectorXd mu = part.colwise().mean();
    const Eigen::MatrixXd dev = part.rowwise() - mu;
    var.row(c) = dev.colwise().squaredNorm() / 100.0;
    pooled += dev.transpose() * dev;
  }
  pooled /= 200.0;
  const double reg = 1e-6;
  for (auto type : {pml::Covariance::diagonal, pml::Covariance::spherical, pml::Covariance::tied}) {
    INFO("covariance type " << int(type));
    pml::GaussianMixtureOptions<double> o;
    o.components = 2;
    o.covariance = type;
    o.reg_covar = reg;
    o.max_iterations = 3;
    o.means_init = means;
    pml::GaussianMixture<double> gm(o);
    gm.fit(x);
    for (int c = 0; c < 2; ++c) {
      const Eigen::MatrixXd cov = gm.covariance(c);
      if (type == pml::Covariance::diagonal) {
        CHECK(cov(0, 0) == Approx(var(c, 0) + reg).epsilon(1e-9));
        CHECK(cov(1, 1) == Approx(var(c, 1) + reg).epsilon(1e-9));
      } else if (type == pml::Covariance::spherical) {
        CHECK(cov(0, 0) == Approx(var.row(c).mean() + reg).epsilon(1e-9));
      } else {
        CHECK(cov(0, 0) == Approx(pooled(0, 0) + reg).epsilon(1e-9));
        CHECK(cov(1, 1) == Approx(pooled(1, 1) + reg).epsilon(1e-9));
        CHECK(cov(0, 1) == Approx(pooled(0, 1)).margin(1e-9));
      }
    }
    // the E-step: log-likelihoods agree with the full-covariance (exact differences) evaluation
    const std::vector<Eigen::MatrixXd> covs{gm.covariance(0), gm.covariance(1)};
    double direct = 0;  // mean log-likelihood under gm's parameters, from exact differences
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      double acc = -std::numeric_limits<double>::infinity();
      for (int c = 0; c < 2; ++c) {
        const double l = std::log(gm.weights()(c)) + pml::MultivariateNormal<double>(gm.means().row(c).transpose(), covs[std::size_t(c)]).log_prob(x.row(i).transpose());
        acc = std::max(acc, l) + std::log1p(std::exp(std::min(acc, l) - std::max(acc, l)));
      }
      direct += acc / double(x.rows());
    }
    CHECK(gm.score(x) == Approx(direct).epsilon(1e-10));
  }
}

TEST_CASE("GaussianMixture::partial_fit: streamed data far from the origin", "[models][gmm][extremes]") {
  for (auto type : {pml::Covariance::diagonal, pml::Covariance::full}) {
    pml::GaussianMixture<double> gm({.components = 1, .covariance = type, .reg_covar = 1e-6});
    Eigen::MatrixXd chunk = (Eigen::MatrixXd(4, 1) << 0, 1, 2, 3).finished();
    for (int i = 0; i < 5; ++i) gm.partial_fit(chunk.array() + 1e9 + 1e3 * i);  // the mean drifts by 1e3 per chunk
    // the running variance is a weighted average of the chunk variances about the moving mean: at least
    // 1.25, and bounded by the drift; before, each step lost every digit below ~1e2
    const double v = gm.covariance(0)(0, 0);
    INFO("variance " << v);
    CHECK(v > 1.25);
    CHECK(v < 1e7);
    pml::GaussianMixture<double> steady({.components = 1, .covariance = type, .reg_covar = 1e-6});
    for (int i = 0; i < 5; ++i) steady.partial_fit(chunk.array() + 1e9);
    CHECK(steady.covariance(0)(0, 0) == Approx(1.250001).epsilon(1e-10));
    CHECK(steady.means()(0, 0) == Approx(1e9 + 1.5).epsilon(1e-15));
  }
}

TEST_CASE("KMeans<float>: inertia of close points far from their centre's origin (issue 12 §2)", "[models][kmeans][extremes]") {
  const Eigen::MatrixXf x = (Eigen::MatrixXf(4, 1) << -1.0001f, -0.9999f, 0.9999f, 1.0001f).finished();
  pml::KMeans<float> km({.clusters = 2});
  km.fit(x, 1);
  float from_labels = 0;  // from the returned labels and centres, exact differences
  for (int i = 0; i < 4; ++i) {
    const float d = x(i, 0) - km.centres()(km.labels()(i), 0);
    from_labels += d * d;
  }
  CHECK(km.labels()(0) == km.labels()(1));
  CHECK(km.labels()(2) == km.labels()(3));
  CHECK(km.labels()(0) != km.labels()(2));
  CHECK(from_labels == Approx(4.0013276e-08).epsilon(1e-4));
  CHECK(km.inertia() == Approx(4.0013276e-08).epsilon(1e-4));  // before: 0
  CHECK(km.inertia(x) == Approx(4.0013276e-08).epsilon(1e-4));
  CHECK(km.score(x) == Approx(-4.0013276e-08 / 4).epsilon(1e-4));
  const Eigen::MatrixXf t = km.transform(x);
  CHECK(t.rowwise().minCoeff().sum() == Approx(4.0013276e-08).epsilon(1e-4));
}

TEST_CASE("KMeans: shifting the data by 1e9 moves the centres and nothing else", "[models][kmeans][extremes]") {
  pml::Rng rng(3);
  Eigen::MatrixXd x(90, 2);
  pml::random::fill_normal(rng, x);
  x.topRows(30).array() += 6.0;
  x.middleRows(30, 30).col(0).array() -= 6.0;
  pml::KMeans<double> a({.clusters = 3}), b({.clusters = 3});
  a.fit(x, 7);
  b.fit(x.array() + 1e9, 7);
  CHECK((a.labels().array() == b.labels().array()).all());
  CHECK(((b.centres().array() - 1e9) - a.centres().array()).abs().maxCoeff() < 1e-6);
  CHECK(b.inertia() == Approx(a.inertia()).epsilon(1e-6));
  CHECK(b.score(x.array() + 1e9) == Approx(a.score(x)).epsilon(1e-6));
  CHECK((b.predict(x.array() + 1e9).array() == a.labels().array()).all());
}

TEST_CASE("Values near 1e200 are refused with a clear message, never a crash (issue 13)", "[models][gmm][kmeans][vgmm][extremes]") {
  const Eigen::MatrixXd x = (Eigen::MatrixXd(3, 1) << 1e200, 2e200, 3e200).finished();
  CHECK_THROWS_WITH(pml::KMeans<double>({.clusters = 1}).fit(x), Contains("KMeans::fit") && Contains("rescale"));
  CHECK_THROWS_AS(pml::KMeans<double>({.clusters = 2}).fit(x), std::domain_error);
  CHECK_THROWS_WITH(pml::GaussianMixture<double>({.components = 1}).fit(x), Contains("GaussianMixture::fit") && Contains("rescale"));
  for (auto type : {pml::Covariance::diagonal, pml::Covariance::spherical, pml::Covariance::tied})
    CHECK_THROWS_AS(pml::GaussianMixture<double>({.components = 2, .covariance = type}).fit(x), std::domain_error);
  pml::VariationalGaussianMixtureOptions<double> vo;
  vo.components = 2;
  CHECK_THROWS_WITH(pml::VariationalGaussianMixture<double>(vo).fit(x), Contains("VariationalGaussianMixture::fit") && Contains("rescale"));
  CHECK_THROWS_AS(pml::GaussianMixture<double>({.components = 1}).partial_fit(x), std::domain_error);
  // large values with a small spread are fine: the work is about the column means
  const Eigen::MatrixXd near = (Eigen::MatrixXd(4, 1) << 1e150, 1e150 + 1e140, 1e150 + 2e140, 1e150 + 3e140).finished();
  pml::KMeans<double> km({.clusters = 2});
  km.fit(near);
  CHECK(std::isfinite(km.inertia()));
  CHECK(km.labels().size() == 4);
}

TEST_CASE("A point far from every component: the same score whatever the number of rows, responsibilities not NaN (issue 13)", "[models][gmm][vgmm][extremes]") {
  pml::Rng rng(11);
  Eigen::MatrixXd x(60, 2);
  pml::random::fill_normal(rng, x);
  x.topRows(30).array() += 5.0;
  for (auto type : {pml::Covariance::full, pml::Covariance::tied, pml::Covariance::diagonal, pml::Covariance::spherical}) {
    INFO("covariance type " << int(type));
    pml::GaussianMixture<double> gm({.components = 2, .covariance = type});
    gm.fit(x, 1);
    const Eigen::MatrixXd one = Eigen::MatrixXd::Constant(1, 2, 1e200);
    const Eigen::MatrixXd five = Eigen::MatrixXd::Constant(5, 2, 1e200);
    const Eigen::VectorXd s1 = gm.score_samples(one), s5 = gm.score_samples(five);
    CHECK(s1(0) == -std::numeric_limits<double>::infinity());  // before: -708.396 with >= 4 rows
    CHECK((s5.array() == s1(0)).all());
    const Eigen::MatrixXd p1 = gm.predict_proba(one), p5 = gm.predict_proba(five);
    CHECK(p1.allFinite());
    CHECK(p1.sum() == Approx(1.0));
    for (int i = 0; i < 5; ++i) CHECK(p5.row(i) == p1.row(0));
    // the limit: all mass on the component nearest in its own metric, which is the one predict() picks
    CHECK(p1.maxCoeff() == 1.0);
    CHECK((gm.predict(five).array() == gm.predict(one)(0)).all());
  }
  pml::VariationalGaussianMixtureOptions<double> vo;
  vo.components = 2;
  pml::VariationalGaussianMixture<double> vg(vo);
  vg.fit(x, 1);
  const Eigen::MatrixXd q1 = vg.predict_proba(Eigen::MatrixXd::Constant(1, 2, 1e200));
  const Eigen::MatrixXd q5 = vg.predict_proba(Eigen::MatrixXd::Constant(5, 2, 1e200));
  CHECK(q1.allFinite());
  CHECK(q1.sum() == Approx(1.0));
  for (int i = 0; i < 5; ++i) CHECK(q5.row(i) == q1.row(0));
}

TEST_CASE("Wide data: k-means and diagonal mixtures on 3 rows x 20 000 columns (issue 13)", "[models][kmeans][gmm][extremes]") {
  // cost linear in N D (before: a column mean re-evaluated per column, D^2); checked for results, not time
  pml::Rng rng(2);
  Eigen::MatrixXd x(3, 20000);
  pml::random::fill_normal(rng, x);
  x.row(2).array() += 50.0;
  pml::KMeans<double> km({.clusters = 2});
  km.fit(x, 1);
  CHECK(km.labels()(0) == km.labels()(1));
  CHECK(km.labels()(2) != km.labels()(0));
  CHECK(std::isfinite(km.inertia()));
  pml::GaussianMixture<double> gm({.components = 1, .covariance = pml::Covariance::diagonal});
  gm.fit(x, 1);
  CHECK(std::isfinite(gm.score(x)));
  CHECK((gm.means().row(0).transpose() - x.colwise().mean().transpose()).cwiseAbs().maxCoeff() < 1e-9);
  // covariance(k) of a diagonal / spherical mixture is filled from the variances (before: a D x D x D
  // product, 8e9 flops at D = 2000, over 20 s under the sanitizers)
  const Eigen::MatrixXd xs = x.leftCols(2000);
  pml::GaussianMixture<double> diag({.components = 1, .covariance = pml::Covariance::diagonal});
  diag.fit(xs, 1);
  const Eigen::MatrixXd c = diag.covariance(0);
  const Eigen::RowVectorXd var = (xs.rowwise() - xs.colwise().mean()).array().square().colwise().mean();
  CHECK(c.rows() == 2000);
  CHECK(((c.diagonal().transpose() - var).array().abs() / var.array()).maxCoeff() < 1e-7);  // reg_covar 1e-6 added
  CHECK((c - Eigen::MatrixXd(c.diagonal().asDiagonal())).cwiseAbs().maxCoeff() == 0.0);  // nothing off the diagonal
  CHECK_THROWS_AS(diag.covariance(1), std::out_of_range);
  CHECK_THROWS_WITH(diag.covariance(-1), Contains("GaussianMixture::covariance") && Contains("k = -1"));
  pml::GaussianMixture<double> sph({.components = 1, .covariance = pml::Covariance::spherical});
  CHECK_THROWS_WITH(sph.covariance(0), Contains("not fitted"));
  sph.fit(xs, 1);
  CHECK(sph.covariance(0)(5, 5) == Approx(var.mean()).epsilon(1e-7));
  CHECK(sph.covariance(0)(5, 6) == 0.0);
}

TEST_CASE("Wide data: full and tied covariances that cannot fit in memory are refused before allocating", "[models][gmm][extremes]") {
  // 3 x 400 000: one full covariance (and its factor) would be 2.6 TB; the refusal names the function,
  // the argument and the covariance types that work, and diagonal fits the same data.
  const Eigen::MatrixXd x = Eigen::MatrixXd::Random(3, 400000);
  for (const auto cov : {pml::Covariance::full, pml::Covariance::tied}) {
    pml::GaussianMixture<double> gm({.components = 1, .covariance = cov});
    try {
      gm.fit(x, 1);
      FAIL("no exception for a 400000 x 400000 covariance");
    } catch (const std::length_error& e) {
      const std::string what = e.what();
      CHECK(what.find("GaussianMixture::fit: x") == 0);
      CHECK(what.find("400000 x 400000") != std::string::npos);
      CHECK(what.find("'diagonal'") != std::string::npos);
    }
    pml::Rng rng(1);
    CHECK_THROWS_AS(gm.partial_fit(x, rng), std::length_error);
  }
  pml::GaussianMixture<double> diag({.components = 1, .covariance = pml::Covariance::diagonal});
  diag.fit(x, 1);
  CHECK(std::isfinite(diag.score(x)));
  pml::VariationalGaussianMixture<double> vgmm({.components = 2});
  try {
    vgmm.fit(x, 1);
    FAIL("no exception for 400000 x 400000 Wishart scales");
  } catch (const std::length_error& e) {
    CHECK(std::string(e.what()).find("VariationalGaussianMixture::fit: x") == 0);
  }
}

TEST_CASE("VariationalGaussianMixture: shift-equivariant covariances, clear refusal of a singular prior scale", "[models][vgmm]") {
  pml::Rng rng(21);
  Eigen::MatrixXd x(200, 2);
  pml::random::fill_normal(rng, x);
  x.topRows(100).array() += 6.0;
  x = (x * 65536.0).array().round() / 65536.0;  // on a grid the shift by 1e9 keeps exactly
  pml::VariationalGaussianMixture<double> a({.components = 2, .reg_covar = 0.0, .tolerance = 1e-12, .max_iterations = 300});
  a.fit(x, 3);
  const Eigen::MatrixXd shifted = x.array() + 1e9;  // spread ~3: sums about the origin would lose ~1e-7 here
  pml::VariationalGaussianMixture<double> b({.components = 2, .reg_covar = 0.0, .tolerance = 1e-12, .max_iterations = 300});
  b.fit(shifted, 3);
  for (Eigen::Index c = 0; c < 2; ++c) {
    const Eigen::Index o = (b.means()(c, 0) - 1e9 < 3.0) == (a.means()(0, 0) < 3.0) ? 0 : 1;
    CHECK((b.covariance(c) - a.covariance(o)).cwiseAbs().maxCoeff() < 1e-9 * a.covariance(o).cwiseAbs().maxCoeff());
  }
  // float, collinear columns, no reg_covar to speak of: a std::domain_error naming the model and x
  Eigen::MatrixXf f(50, 3);
  pml::random::fill_normal(rng, f);
  f.col(2) = f.col(0) * 2.0f + f.col(1);
  pml::VariationalGaussianMixture<float> v({.components = 2, .reg_covar = 0.0f});
  try {
    v.fit(f, 1);
  } catch (const std::domain_error& e) {
    CHECK_THAT(e.what(), Contains("VariationalGaussianMixture::fit: x must"));
  }
}

TEST_CASE("GaussianMixture: score of no rows is refused, score_samples of no rows is empty", "[models][gmm][degenerate]") {
  pml::Rng rng(6);
  Eigen::MatrixXd x(60, 2);
  pml::random::fill_normal(rng, x);
  pml::GaussianMixture<double> gm({.components = 2});
  gm.fit(x, rng);
  const Eigen::MatrixXd none(0, 2);
  CHECK(gm.score_samples(none).size() == 0);
  CHECK_THROWS_AS(gm.score(none), std::invalid_argument);
  CHECK_THROWS_WITH(gm.score(none), Catch::Matchers::Contains("GaussianMixture::score: x has no rows"));
  CHECK(std::isfinite(gm.score(x.topRows(1))));
  CHECK_THROWS_WITH(gm.bic(none), Catch::Matchers::Contains("GaussianMixture::bic: x has no rows"));
  CHECK_THROWS_WITH(gm.aic(none), Catch::Matchers::Contains("GaussianMixture::aic: x has no rows"));
}
