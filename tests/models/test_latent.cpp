#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "fixtures/sklearn_reference.hpp"
#include "test_helpers.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/models/latent.hpp"

using Catch::Matchers::Contains;
namespace sk = pml_test::sklearn;
using pml_test::rows;
using pml_test::vec;

namespace {
}  // namespace

TEST_CASE("PCA matches scikit-learn", "[models][pca]") {
  const Eigen::MatrixXd x = rows(sk::pca_X, 200, 6);
  pml::PCA<double> pca({.components = 2});
  pca.fit(x);
  CHECK((pca.explained_variance() - vec(sk::pca_explained_variance)).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((pca.explained_variance_ratio() - vec(sk::pca_explained_variance_ratio)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(pca.noise_variance() == Approx(sk::pca_noise_variance[0]).epsilon(1e-10));
  const Eigen::MatrixXd ref = rows(sk::pca_components, 2, 6).transpose();
  for (int j = 0; j < 2; ++j) CHECK(std::abs(pca.components().col(j).dot(ref.col(j))) == Approx(1.0).epsilon(1e-10));
  CHECK(pca.score(x) == Approx(sk::pca_score[0]).epsilon(1e-10));
  CHECK((pca.score_samples(x.topRows(5)) - vec(sk::pca_score_samples)).cwiseAbs().maxCoeff() < 1e-9);
  // transform / inverse_transform round trip with all components
  pml::PCA<double> full;
  full.fit(x);
  CHECK((full.inverse_transform(full.transform(x)) - x).cwiseAbs().maxCoeff() < 1e-10);
  pml::PCA<double> white({.components = 2, .whiten = true});
  white.fit(x);
  const Eigen::MatrixXd z = white.transform(x);
  CHECK(((z.transpose() * z) / 199.0 - Eigen::MatrixXd::Identity(2, 2)).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((white.inverse_transform(z) - pca.inverse_transform(pca.transform(x))).cwiseAbs().maxCoeff() < 1e-10);
  CHECK_THROWS_WITH(pml::PCA<double>({.components = 7}).fit(x), Contains("components = 7 exceeds min(N, D) = 6"));
  CHECK_THROWS_AS(pca.transform(Eigen::MatrixXd::Zero(2, 3)), std::invalid_argument);
}

TEST_CASE("ProbabilisticPCA: closed form equals scikit-learn's PCA.score; EM reaches the same likelihood", "[models][ppca]") {
  const Eigen::MatrixXd x = rows(sk::pca_X, 200, 6);
  pml::ProbabilisticPCA<double> unbiased({.components = 2, .unbiased = true});
  unbiased.fit(x);
  CHECK(unbiased.score(x) == Approx(sk::pca_score[0]).epsilon(1e-10));
  // the log-likelihood equals the Gaussian N(mu, W W^T + s2 I) evaluated directly
  pml::ProbabilisticPCA<double> ml({.components = 2});
  ml.fit(x);
  const pml::MultivariateNormal<double> direct(ml.mean(), ml.covariance());
  CHECK(ml.log_likelihood(x) == Approx(direct.log_prob(x).sum()).epsilon(1e-12));
  // Tipping & Bishop: the closed form is the maximum; EM from a random start climbs to it
  pml::ProbabilisticPCA<double> em({.components = 2, .solver = pml::PPCASolver::em});
  em.fit(x, 5);
  const auto& h = em.log_likelihood_history();
  for (std::size_t i = 1; i < h.size(); ++i) REQUIRE(h[i] >= h[i - 1] - 1e-9 * std::abs(h[i]));
  CHECK(em.log_likelihood(x) == Approx(ml.log_likelihood(x)).epsilon(1e-8));
  CHECK(em.noise_variance() == Approx(ml.noise_variance()).epsilon(1e-3));
  // the likelihood is flat along some directions of W, so C converges more slowly than log L
  CHECK((em.covariance() - ml.covariance()).cwiseAbs().maxCoeff() < 5e-3);
  // perturbing the MLE lowers the likelihood
  CHECK(ml.log_likelihood(x) > pml::MultivariateNormal<double>(ml.mean(), ml.covariance() * 1.01).log_prob(x).sum());
}

TEST_CASE("ProbabilisticPCA recovers a planted subspace; posterior, sampling", "[models][ppca]") {
  pml::Rng rng(3);
  const int n = 20000, d = 5;
  Eigen::MatrixXd w(d, 2);
  w << 2, 0, 0, 1.5, 1, 1, -1, 0.5, 0.5, -2;
  Eigen::MatrixXd z(n, 2), eps(n, d);
  pml::random::fill_normal(rng, z);
  pml::random::fill_normal(rng, eps, 0.0, 0.3);
  Eigen::MatrixXd x = z * w.transpose() + eps;
  x.rowwise() += Eigen::RowVectorXd::LinSpaced(d, -1, 1);
  pml::ProbabilisticPCA<double> ppca({.components = 2});
  ppca.fit(x);
  CHECK(ppca.noise_variance() == Approx(0.09).epsilon(0.05));
  CHECK((ppca.covariance() - (w * w.transpose() + 0.09 * Eigen::MatrixXd::Identity(d, d))).cwiseAbs().maxCoeff() < 0.15);
  const auto post = ppca.posterior(x.topRows(3));
  CHECK(post.mean.rows() == 3);
  CHECK(post.covariance.rows() == 2);
  CHECK(post.covariance.diagonal().maxCoeff() < 0.1);  // well-determined latents
  const Eigen::MatrixXd s = ppca.sample(rng, 20000);
  CHECK(((s.rowwise() - s.colwise().mean()).transpose() * (s.rowwise() - s.colwise().mean()) / 20000.0 - ppca.covariance())
            .cwiseAbs()
            .maxCoeff() < 0.15);
  CHECK_THROWS_WITH(pml::ProbabilisticPCA<double>({.components = 5}).fit(x), Contains("components = 5 must be below D = 5"));
  CHECK_THROWS_WITH(pml::ProbabilisticPCA<double>({.components = 0}), Contains("components must be positive"));
  Eigen::MatrixXd bad = x.topRows(10);
  bad(3, 3) = std::nan("");
  CHECK_THROWS_WITH(pml::ProbabilisticPCA<double>({.components = 2}).fit(bad), Contains("use solver = PPCASolver::em"));
  bad(3, 3) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(pml::ProbabilisticPCA<double>({.components = 2}).fit(bad), Contains("x must have finite entries"));
  pml::ProbabilisticPCA<float> f({.components = 2});
  f.fit(x.cast<float>());
  CHECK(f.noise_variance() == Approx(0.09f).epsilon(0.05f));
}

namespace {
// n rows of a 2-dimensional subspace of 6 dimensions with noise, and a copy with 15% of its entries missing
void ppca_holes(pml::Rng& rng, int n, Eigen::MatrixXd& x, Eigen::MatrixXd& holes) {
  const int d = 6;
  Eigen::MatrixXd w(d, 2), z(n, 2), eps(n, d);
  pml::random::fill_normal(rng, w);
  pml::random::fill_normal(rng, z);
  pml::random::fill_normal(rng, eps, 0.0, 0.4);
  x = z * w.transpose() + eps;
  x.rowwise() += Eigen::RowVectorXd::LinSpaced(d, 1, 6);
  holes = x;
  int removed = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j)
      if (pml::random::uniform<double>(rng) < 0.15) {
        holes(i, j) = std::nan("");
        ++removed;
      }
  REQUIRE(removed > 0);
}
}  // namespace

TEST_CASE("ProbabilisticPCA EM with missing values recovers the complete data's fit", "[models][ppca][quality]") {
  pml::Rng rng(31);
  Eigen::MatrixXd x, holes;
  ppca_holes(rng, 3000, x, holes);
  // reference: the closed form on the complete data
  pml::ProbabilisticPCA<double> complete({.components = 2});
  complete.fit(x);
  pml::ProbabilisticPCA<double> em({.components = 2, .solver = pml::PPCASolver::em, .tolerance = 1e-9});
  em.fit(holes, rng);
  const auto& h = em.log_likelihood_history();
  for (std::size_t i = 1; i < h.size(); ++i) REQUIRE(h[i] >= h[i - 1] - 1e-9 * std::abs(h[i]));
  CHECK((em.mean() - complete.mean()).cwiseAbs().maxCoeff() < 0.05);
  CHECK((em.covariance() - complete.covariance()).cwiseAbs().maxCoeff() < 0.1 * complete.covariance().cwiseAbs().maxCoeff());
  CHECK(em.noise_variance() == Approx(complete.noise_variance()).epsilon(0.1));
}

TEST_CASE("ProbabilisticPCA EM with missing values: rising likelihood, observed-entry scores and posteriors", "[models][ppca]") {
  pml::Rng rng(31);
  Eigen::MatrixXd x, holes;
  ppca_holes(rng, 200, x, holes);
  pml::ProbabilisticPCA<double> em({.components = 2, .solver = pml::PPCASolver::em, .tolerance = 1e-9});
  em.fit(holes, rng);
  const auto& h = em.log_likelihood_history();
  REQUIRE(h.size() > 2);
  for (std::size_t i = 1; i < h.size(); ++i) REQUIRE(h[i] >= h[i - 1] - 1e-9 * std::abs(h[i]));
  // the observed-entry likelihood of a complete row equals the ordinary one
  const Eigen::VectorXd full_row = x.row(0).transpose();
  CHECK(em.score_samples(holes).allFinite());
  CHECK(em.score_samples(x.topRows(1))(0) == Approx(em.score_samples(Eigen::MatrixXd(full_row.transpose()))(0)));
  const auto post = em.posterior_observed(holes.row(1).transpose());
  CHECK(post.mean.rows() == 1);
  CHECK(post.mean.cols() == 2);
  CHECK(post.covariance.allFinite());
  // a complete row: the same posterior as posterior()
  const auto whole = em.posterior_observed(full_row);
  const auto batch = em.posterior(x.topRows(1));
  CHECK((whole.mean - batch.mean).norm() <= 1e-10 * (1 + batch.mean.norm()));
  CHECK((whole.covariance - batch.covariance).norm() <= 1e-10 * batch.covariance.norm());
  Eigen::MatrixXd empty_col = holes;
  empty_col.col(2).setConstant(std::nan(""));
  CHECK_THROWS_WITH(em.fit(empty_col, rng), Contains("column 2 entirely missing"));
}

TEST_CASE("PCA and ProbabilisticPCA save and load: bit-identical results, clear errors", "[latent][files]") {
  namespace fs = std::filesystem;
  pml::Rng rng(31);
  Eigen::MatrixXd x(200, 5);
  pml::random::fill_normal(rng, x);
  x.col(1) += 2 * x.col(0);
  x.col(3) -= x.col(2);
  const fs::path file = fs::temp_directory_path() / "pml_latent.pml";
  for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
    pml::PCA<double> pca({.components = 2, .whiten = true});
    pca.fit(x);
    pca.save(file, format);
    const auto pca2 = pml::PCA<double>::load(file);
    CHECK(pca2.transform(x) == pca.transform(x));
    CHECK(pca2.score(x) == pca.score(x));
    CHECK(pca2.options().whiten);
    for (const auto solver : {pml::PPCASolver::closed_form, pml::PPCASolver::em}) {
      pml::ProbabilisticPCA<double> ppca({.components = 2, .solver = solver});
      ppca.fit(x, 3);
      ppca.save(file, format);
      const auto ppca2 = pml::ProbabilisticPCA<double>::load(file);
      CHECK(ppca2.score_samples(x) == ppca.score_samples(x));
      CHECK(ppca2.transform(x) == ppca.transform(x));
      CHECK(ppca2.options().solver == solver);
    }
  }
  CHECK_THROWS_WITH(pml::PCA<double>::load(file), Contains("PCA::load") && Contains("holds a ProbabilisticPCA, not a PCA"));
  CHECK_THROWS_WITH(pml::PCA<double>().save(file), Contains("not fitted"));
  fs::remove(file);
}

// ---- issue 12 §2/§3 and issue 13: shifts, degenerate spectra, wide data, values at the edge ----

TEST_CASE("PCA: all components kept gives the full-rank Gaussian log-density (issue 12 §3)", "[models][pca][extremes]") {
  pml::Rng rng(4);
  Eigen::MatrixXd x(50, 3);
  pml::random::fill_normal(rng, x);
  x.col(1) += 0.5 * x.col(0);
  x.array() += 1e6;  // far from the origin as well
  pml::PCA<double> pca;  // components = 0: all D kept, noise variance 0
  pca.fit(x);
  CHECK(pca.noise_variance() == 0.0);
  const Eigen::RowVectorXd mean = x.colwise().mean();
  const Eigen::MatrixXd dev = x.rowwise() - mean;
  const Eigen::MatrixXd s = dev.transpose() * dev / 49.0;
  const pml::MultivariateNormal<double> mvn(mean.transpose(), s);
  const Eigen::VectorXd got = pca.score_samples(x.topRows(5));  // before: an exception
  for (int i = 0; i < 5; ++i) CHECK(got(i) == Approx(mvn.log_prob(x.row(i).transpose())).epsilon(1e-9));
  // rank-deficient data (N <= D) with every component kept: a singular covariance, a clear exception
  pml::PCA<double> wide;
  wide.fit(x.topRows(3));
  CHECK_THROWS_WITH(wide.score_samples(x.topRows(3)), Contains("PCA::score_samples") && Contains("singular"));
}

TEST_CASE("PCA: constant columns and constant data (issue 12 §3)", "[models][pca][extremes]") {
  pml::Rng rng(8);
  Eigen::MatrixXd x(20, 3);
  pml::random::fill_normal(rng, x);
  x.col(2).setConstant(0.1);  // its mean (0.1 summed 20 times, / 20) is not exactly 0.1 by a plain sum
  pml::PCA<double> pca({.components = 3, .whiten = true});
  pca.fit(x);
  const Eigen::MatrixXd z = pca.transform(x);
  CHECK(z.allFinite());  // before: NaN and inf in every row
  CHECK(z.col(2).cwiseAbs().maxCoeff() == 0.0);  // the zero-variance component is output as 0
  // the other whitened components have unit variance
  for (int j = 0; j < 2; ++j) CHECK((z.col(j).squaredNorm() / 19.0) == Approx(1.0).epsilon(1e-12));
  const Eigen::MatrixXd back = pca.inverse_transform(z);
  CHECK((back - x).cwiseAbs().maxCoeff() < 1e-12);
  pml::PCA<double> constant;
  constant.fit(Eigen::MatrixXd::Constant(5, 2, 3.5));
  const Eigen::VectorXd ratio = constant.explained_variance_ratio();
  CHECK(ratio.allFinite());  // before: 0/0
  CHECK(ratio.isZero(0));
  CHECK(constant.transform(Eigen::MatrixXd::Constant(2, 2, 3.5)).isZero(0));
}

TEST_CASE("PCA and ProbabilisticPCA on 3 rows x 10 000 columns use the N x N side (issue 12 §3, issue 13)", "[models][pca][ppca][extremes]") {
  pml::Rng rng(6);
  Eigen::MatrixXd x(3, 10000);
  pml::random::fill_normal(rng, x);
  pml::PCA<double> pca;  // before: a 10 000 x 10 000 covariance, minutes
  pca.fit(x);
  REQUIRE(pca.components().cols() == 3);
  CHECK((pca.components().transpose() * pca.components() - Eigen::MatrixXd::Identity(3, 3)).cwiseAbs().maxCoeff() < 1e-12);
  // the eigenvalues of the N - 1 covariance are those of the 3 x 3 Gram matrix of the centred rows
  const Eigen::MatrixXd dev = x.rowwise() - x.colwise().mean();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(dev * dev.transpose() / 2.0);
  CHECK(pca.explained_variance()(0) == Approx(eig.eigenvalues()(2)).epsilon(1e-12));
  CHECK(pca.explained_variance()(1) == Approx(eig.eigenvalues()(1)).epsilon(1e-12));
  CHECK(pca.explained_variance()(2) == 0.0);  // centred rank is N - 1
  CHECK((pca.inverse_transform(pca.transform(x)) - x).cwiseAbs().maxCoeff() < 1e-10);
  CHECK(pca.explained_variance_ratio().sum() == Approx(1.0));
  pml::ProbabilisticPCA<double> ppca({.components = 1});
  ppca.fit(x);
  CHECK(ppca.noise_variance() == Approx(eig.eigenvalues()(1) * 2.0 / 3.0 / 9999.0).epsilon(1e-9));  // ML (N divisor) mean of the rest
  CHECK(std::isfinite(ppca.score(x)));
}

TEST_CASE("PCA: shift equivariance and values near 1e200 (issue 12 §2, issue 13)", "[models][pca][ppca][extremes]") {
  const Eigen::MatrixXd x = rows(sk::pca_X, 200, 6);
  pml::PCA<double> a({.components = 2}), b({.components = 2});
  a.fit(x);
  b.fit(x.array() + 1e9);
  CHECK((a.explained_variance() - b.explained_variance()).cwiseAbs().maxCoeff() < 1e-6 * a.explained_variance()(0));
  CHECK((a.components() - b.components()).cwiseAbs().maxCoeff() < 1e-6);
  const Eigen::MatrixXd big = (Eigen::MatrixXd(3, 1) << 1e200, 2e200, 3e200).finished();
  CHECK_THROWS_WITH(pml::PCA<double>().fit(big), Contains("PCA::fit") && Contains("rescale"));
  const Eigen::MatrixXd big2 = (Eigen::MatrixXd(3, 2) << 1e200, 0, 2e200, 1, 3e200, 0).finished();
  CHECK_THROWS_AS(pml::PCA<double>({.components = 1}).fit(big2), std::domain_error);
  CHECK_THROWS_AS(pml::ProbabilisticPCA<double>({.components = 1}).fit(big2), std::domain_error);
}

TEMPLATE_TEST_CASE("ProbabilisticPCA with fewer rows than columns (both solvers)", "[models][ppca]", float, double) {
  using T = TestType;
  using M = pml::Matrix<T>;
  pml::Rng rng(11);
  for (const Eigen::Index d : {Eigen::Index(8), Eigen::Index(300)}) {
    M x(6, d);  // N = 6 < D: the thin (Gram-matrix) eigenbasis of detail::covariance_eigen
    pml::random::fill_normal(rng, x);
    x.col(0) *= T(3);
    pml::ProbabilisticPCA<T> ml({.components = 2});
    ml.fit(x);
    pml::ProbabilisticPCA<T> em({.components = 2, .solver = pml::PPCASolver::em});
    em.fit(x, 3);
    REQUIRE(em.covariance().allFinite());
    const T rel = (em.covariance() - ml.covariance()).cwiseAbs().maxCoeff() / ml.covariance().cwiseAbs().maxCoeff();
    CHECK(rel < (std::is_same_v<T, float> ? T(1e-3) : T(1e-6)));
    CHECK(em.noise_variance() == Approx(ml.noise_variance()).epsilon(std::is_same_v<T, float> ? 1e-3 : 1e-6));
    CHECK(std::isfinite(em.score(x)));
    CHECK(em.score(x) <= ml.score(x) + std::abs(ml.score(x)) * (std::is_same_v<T, float> ? 1e-4 : 1e-10));
  }
  // N = 2 rows, 2 components: the rows span one direction, the ML noise variance is 0 -> a clear refusal
  M two(2, 3);
  two << 1, 2, 3, 4, 0, 1;
  for (const auto solver : {pml::PPCASolver::closed_form, pml::PPCASolver::em})
    CHECK_THROWS_WITH(pml::ProbabilisticPCA<T>({.components = 2, .solver = solver}).fit(two),
                      Contains("ProbabilisticPCA::fit: x must have variance outside the leading 2 components"));
  // one row for PCA: the message names x
  CHECK_THROWS_WITH(pml::PCA<T>().fit(M(two.topRows(1))), Contains("PCA::fit: x must have more than 1 row, got 1"));
}

TEST_CASE("ProbabilisticPCA EM is scale-free", "[models][ppca]") {
  pml::Rng rng(4);
  Eigen::MatrixXd x(300, 5);
  pml::random::fill_normal(rng, x);
  x.col(0) *= 3.0;
  x.col(1) += 0.5 * x.col(0);
  pml::ProbabilisticPCA<double> ref({.components = 2, .solver = pml::PPCASolver::em});
  ref.fit(x, 9);
  for (const double s : {1e-3, 1e3}) {
    pml::ProbabilisticPCA<double> em({.components = 2, .solver = pml::PPCASolver::em});
    em.fit(Eigen::MatrixXd(s * x), 9);
    const Eigen::MatrixXd c = em.covariance() / (s * s);
    CHECK((c - ref.covariance()).cwiseAbs().maxCoeff() < 1e-8 * ref.covariance().cwiseAbs().maxCoeff());
  }
}

TEST_CASE("PCA and ProbabilisticPCA: score of no rows is refused, score_samples of no rows is empty", "[models][pca][ppca][degenerate]") {
  pml::Rng rng(5);
  Eigen::MatrixXd x(40, 3);
  pml::random::fill_normal(rng, x);
  const Eigen::MatrixXd none(0, 3);
  pml::PCA<double> pca({.components = 2});
  pca.fit(x);
  CHECK(pca.score_samples(none).size() == 0);
  CHECK_THROWS_WITH(pca.score(none), Contains("PCA::score") && Contains("x has no rows"));
  pml::ProbabilisticPCA<double> ppca({.components = 2});
  ppca.fit(x, 1);
  CHECK(ppca.score_samples(none).size() == 0);
  CHECK_THROWS_AS(ppca.score(none), std::invalid_argument);
  CHECK_THROWS_WITH(ppca.score(none), Contains("ProbabilisticPCA::score"));
  CHECK(std::isfinite(ppca.score(x.topRows(1))));
}
