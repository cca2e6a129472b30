// metrics/: entropy, BALD, NLL, Brier, accuracy and ECE against hand-computed values; the Hungarian
// assignment against brute force and the clustering accuracy; the Fréchet distance against closed forms
// (also far from the origin) and the class-histogram entropy; bad input throws.
#include <catch2/catch.hpp>

#include <cmath>

#include "pml/core/random.hpp"
#include <algorithm>
#include <numeric>

#include "pml/metrics/clustering.hpp"
#include "pml/metrics/generative.hpp"
#include "pml/metrics/uncertainty.hpp"

using Catch::Matchers::Contains;
using Approx = Catch::Detail::Approx;

TEST_CASE("predictive entropy of one-hot, uniform and mixed rows", "[metrics]") {
  Eigen::MatrixXd p(3, 2);
  p << 1, 0, 0.5, 0.5, 0.9, 0.1;
  const Eigen::VectorXd h = pml::metrics::predictive_entropy(p);
  CHECK(h(0) == 0.0);
  CHECK(h(1) == Approx(std::log(2.0)));
  CHECK(h(2) == Approx(-0.9 * std::log(0.9) - 0.1 * std::log(0.1)));
  const Eigen::MatrixXf pf = p.cast<float>();
  CHECK(pml::metrics::predictive_entropy(pf)(1) == Approx(std::log(2.0)).epsilon(1e-6));
}

TEST_CASE("mutual information (BALD) separates disagreement from noise", "[metrics]") {
  Eigen::MatrixXd a(2, 2), b(2, 2);
  a << 1, 0, 0.5, 0.5;
  b << 0, 1, 0.5, 0.5;
  const std::vector<Eigen::MatrixXd> samples{a, b};
  const Eigen::VectorXd mi = pml::metrics::mutual_information(samples);
  // row 0: confident samples that disagree -> all uncertainty is epistemic, log 2
  CHECK(mi(0) == Approx(std::log(2.0)));
  // row 1: samples agree on 50/50 -> entropy log 2, but no mutual information
  CHECK(mi(1) == Approx(0.0).margin(1e-15));
  const Eigen::VectorXd h = pml::metrics::predictive_entropy(samples);
  CHECK(h(0) == Approx(std::log(2.0)));
  CHECK(h(1) == Approx(std::log(2.0)));
  // three samples, generic values: I = H[mean] - mean H
  Eigen::MatrixXd c(1, 3), d(1, 3), e(1, 3);
  c << 0.7, 0.2, 0.1;
  d << 0.1, 0.6, 0.3;
  e << 0.2, 0.2, 0.6;
  const std::vector<Eigen::MatrixXd> s3{c, d, e};
  auto ent = [](const Eigen::RowVectorXd& r) { return -(r.array() * r.array().log()).sum(); };
  const Eigen::RowVectorXd m = (c + d + e) / 3;
  CHECK(pml::metrics::mutual_information(s3)(0) == Approx(ent(m) - (ent(c) + ent(d) + ent(e)) / 3));
  CHECK(pml::metrics::mean_probabilities(s3).isApprox(m));
}

TEST_CASE("NLL, Brier score and accuracy", "[metrics]") {
  Eigen::MatrixXd p(3, 3);
  p << 0.7, 0.2, 0.1, 0.1, 0.1, 0.8, 0.3, 0.4, 0.3;
  pml::IntVector y(3);
  y << 0, 2, 0;
  CHECK(pml::metrics::negative_log_likelihood(p, y) == Approx(-(std::log(0.7) + std::log(0.8) + std::log(0.3)) / 3));
  const double brier = ((0.09 + 0.04 + 0.01) + (0.01 + 0.01 + 0.04) + (0.49 + 0.16 + 0.09)) / 3;
  CHECK(pml::metrics::brier_score(p, y) == Approx(brier));
  CHECK(pml::metrics::accuracy(p, y) == Approx(2.0 / 3));
  CHECK(pml::metrics::predicted_labels(p) == (pml::IntVector(3) << 0, 2, 1).finished());
  // a confident mistake is large but finite
  Eigen::MatrixXd wrong(1, 2);
  wrong << 1, 0;
  pml::IntVector one(1);
  one << 1;
  CHECK(pml::metrics::negative_log_likelihood(wrong, one) == Approx(-std::log(1e-15)));
}

TEST_CASE("expected calibration error", "[metrics]") {
  // 4 points at confidence 0.8 (3 right: accuracy 0.75) and 2 at confidence 0.6 (1 right: 0.5)
  Eigen::MatrixXd p(6, 2);
  p << 0.8, 0.2, 0.8, 0.2, 0.8, 0.2, 0.8, 0.2, 0.4, 0.6, 0.4, 0.6;
  pml::IntVector y(6);
  y << 0, 0, 0, 1, 1, 0;
  const double expected = (4.0 / 6) * std::abs(0.75 - 0.8) + (2.0 / 6) * std::abs(0.5 - 0.6);
  CHECK(pml::metrics::expected_calibration_error(p, y, 10) == Approx(expected));
  // with one bin, ECE = |accuracy - mean confidence|
  CHECK(pml::metrics::expected_calibration_error(p, y, 1) == Approx(std::abs(4.0 / 6 - (4 * 0.8 + 2 * 0.6) / 6)));
  // perfectly calibrated: confidence 1 and always right
  Eigen::MatrixXd sure(2, 2);
  sure << 1, 0, 0, 1;
  pml::IntVector ys(2);
  ys << 0, 1;
  CHECK(pml::metrics::expected_calibration_error(sure, ys) == 0.0);
}

TEST_CASE("metrics reject bad input", "[metrics][errors]") {
  Eigen::MatrixXd p(2, 2);
  p << 0.5, 0.5, 0.2, 0.8;
  pml::IntVector y(2);
  y << 0, 1;
  pml::IntVector bad(2);
  bad << 0, 2;
  CHECK_THROWS_WITH(pml::metrics::brier_score(p, bad), Contains("metrics::brier_score") && Contains("labels") && Contains("2 at index 1"));
  CHECK_THROWS_WITH(pml::metrics::accuracy(p, pml::IntVector(3)), Contains("3 entries"));
  Eigen::MatrixXd nan = p;
  nan(1, 0) = std::nan("");
  CHECK_THROWS_WITH(pml::metrics::negative_log_likelihood(nan, y), Contains("probabilities") && Contains("(1, 0)"));
  Eigen::MatrixXd unnormalised = p;
  unnormalised(0, 0) = 0.9;
  CHECK_THROWS_WITH(pml::metrics::predictive_entropy(unnormalised), Contains("row 0 sums to"));
  CHECK_THROWS_WITH(pml::metrics::expected_calibration_error(p, y, 0), Contains("bins"));
  CHECK_THROWS_WITH(pml::metrics::mutual_information(std::vector<Eigen::MatrixXd>{}), Contains("no posterior samples"));
  CHECK_THROWS_WITH(pml::metrics::mutual_information(std::vector<Eigen::MatrixXd>{p, Eigen::MatrixXd(3, 2)}), Contains("sample 1 is 3x2"));
  CHECK_THROWS(pml::metrics::predictive_entropy(Eigen::MatrixXd(0, 2)));
}

TEST_CASE("roc_auc: scikit-learn's example, ties count one half, equal to counting all pairs", "[metrics][roc_auc]") {
  Eigen::VectorXd s(4);
  s << 0.1, 0.4, 0.35, 0.8;  // sklearn.metrics.roc_auc_score's documented example: 0.75
  pml::IntVector y(4);
  y << 0, 0, 1, 1;
  CHECK(pml::metrics::roc_auc(s, y) == Approx(0.75).epsilon(1e-15));
  Eigen::VectorXd tied(3);
  tied << 1, 1, 2;
  pml::IntVector yt(3);
  yt << 0, 1, 1;
  CHECK(pml::metrics::roc_auc(tied, yt) == Approx(0.75).epsilon(1e-15));  // (1/2 + 1) / 2
  // against the definition, over all positive-negative pairs, with many ties
  pml::Rng rng(3);
  const Eigen::Index n = 500;
  Eigen::VectorXf scores(n);
  pml::IntVector labels(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    labels(i) = pml::random::uniform<double>(rng) < 0.3 ? 1 : 0;
    scores(i) = float(std::floor(10 * pml::random::uniform<double>(rng)) + 3 * double(labels(i))) / 4.0f;
  }
  double pairs = 0, wins = 0;
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      if (labels(i) == 1 && labels(j) == 0) {
        ++pairs;
        wins += scores(i) > scores(j) ? 1.0 : scores(i) == scores(j) ? 0.5 : 0.0;
      }
  CHECK(pml::metrics::roc_auc(scores, labels) == Approx(wins / pairs).epsilon(1e-12));
  CHECK(pml::metrics::roc_auc(Eigen::VectorXd(-s), y) == Approx(0.25).epsilon(1e-15));
  CHECK_THROWS_WITH(pml::metrics::roc_auc(s, pml::IntVector::Zero(4)), Contains("metrics::roc_auc") && Contains("0 positives"));
  pml::IntVector two = y;
  two(0) = 2;
  CHECK_THROWS_WITH(pml::metrics::roc_auc(s, two), Contains("0 or 1") && Contains("2 at index 0"));
  CHECK_THROWS_WITH(pml::metrics::roc_auc(s, pml::IntVector(3)), Contains("4 entries"));
  Eigen::VectorXd nan = s;
  nan(2) = std::nan("");
  CHECK_THROWS_WITH(pml::metrics::roc_auc(nan, y), Contains("NaN at index 2"));
}

TEST_CASE("best_assignment finds the largest total, as brute force over every permutation does", "[metrics][clustering]") {
  pml::Rng rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    const Eigen::Index rows = 1 + Eigen::Index(pml::random::uniform_index(rng, 6)), cols = 1 + Eigen::Index(pml::random::uniform_index(rng, 6));
    Eigen::MatrixXd table(rows, cols);
    for (Eigen::Index i = 0; i < table.size(); ++i) table(i) = double(pml::random::uniform_index(rng, trial % 2 == 0 ? 4 : 1000));  // ties, and not
    const pml::IntVector a = pml::metrics::best_assignment(table);
    REQUIRE(a.size() == rows);
    double total = 0;
    std::vector<char> taken(std::size_t(cols), 0);
    for (Eigen::Index r = 0; r < rows; ++r) {
      if (a(r) < 0) continue;
      REQUIRE(a(r) < cols);
      CHECK(!taken[std::size_t(a(r))]);
      taken[std::size_t(a(r))] = 1;
      total += table(r, a(r));
    }
    CHECK((a.array() >= 0).count() == std::min(rows, cols));
    // brute force: every injective map of the smaller side into the larger
    const Eigen::Index n = std::max(rows, cols);
    std::vector<Eigen::Index> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    double best = 0;
    do {
      double sum = 0;
      for (Eigen::Index r = 0; r < rows; ++r)
        if (perm[std::size_t(r)] < cols) sum += table(r, perm[std::size_t(r)]);
      best = std::max(best, sum);
    } while (std::next_permutation(perm.begin(), perm.end()));
    INFO(table);
    CHECK(total == best);
  }
}

TEST_CASE("clustering_accuracy: 1 for any relabelling, the best matching's share otherwise", "[metrics][clustering]") {
  pml::IntVector labels(8), clusters(8);
  labels << 0, 0, 1, 1, 2, 2, 2, 0;
  clusters << 5, 5, 3, 3, 0, 0, 0, 5;  // a relabelling (clusters 1, 2, 4 empty)
  CHECK(pml::metrics::clustering_accuracy(clusters, labels) == 1.0);
  const pml::IntVector match = pml::metrics::best_matching(clusters, labels);
  CHECK(match(5) == 0);
  CHECK(match(3) == 1);
  CHECK(match(0) == 2);
  clusters << 1, 1, 1, 1, 0, 0, 0, 0;  // two classes in one cluster: at most 5 of 8
  CHECK(pml::metrics::clustering_accuracy(clusters, labels) == Approx(5.0 / 8));
  clusters << 0, 1, 2, 3, 4, 5, 6, 7;  // more clusters than classes: three points can be right
  CHECK(pml::metrics::clustering_accuracy(clusters, labels) == Approx(3.0 / 8));
  const Eigen::MatrixXd t = pml::metrics::contingency_table(clusters.head(3), labels.head(3));
  CHECK(t.rows() == 3);
  CHECK(t.cols() == 2);
  CHECK(t.sum() == 3);
  CHECK_THROWS_WITH(pml::metrics::clustering_accuracy(clusters.head(3), labels), Contains("metrics::clustering_accuracy") && Contains("3 entries"));
  // sparse ids (up to 2^20) cost nothing: only the values present enter the assignment
  pml::IntVector sparse(8);
  sparse << 1000000, 1000000, 7, 7, 0, 0, 0, 1000000;
  labels << 0, 0, 1, 1, 2, 2, 2, 0;
  CHECK(pml::metrics::clustering_accuracy(sparse, labels) == 1.0);
  const pml::IntVector sparse_match = pml::metrics::best_matching(sparse, labels);
  CHECK(sparse_match.size() == 1000001);
  CHECK(sparse_match(1000000) == 0);
  CHECK(sparse_match(7) == 1);
  CHECK(sparse_match(3) == -1);
  CHECK_THROWS_WITH(pml::metrics::contingency_table(sparse, sparse), Contains("too large"));
  clusters(2) = -1;
  CHECK_THROWS_WITH(pml::metrics::clustering_accuracy(clusters, labels), Contains("clusters") && Contains("-1 at index 2"));
  CHECK_THROWS_WITH(pml::metrics::clustering_accuracy(pml::IntVector(), pml::IntVector()), Contains("no points"));
  CHECK_THROWS_WITH(pml::metrics::best_assignment(Eigen::MatrixXd::Constant(2, 2, std::nan(""))), Contains("best_assignment") && Contains("finite"));
}

TEST_CASE("frechet_distance: closed forms for 1-D, diagonal and rotated Gaussians", "[metrics][generative]") {
  using pml::metrics::frechet_distance;
  // one dimension: (mu1 - mu2)^2 + (s1 - s2)^2
  Eigen::VectorXd m1(1), m2(1);
  m1 << 1.5;
  m2 << -0.5;
  Eigen::MatrixXd c1(1, 1), c2(1, 1);
  c1 << 4;
  c2 << 0.25;
  CHECK(frechet_distance(m1, c1, m2, c2) == Approx(4 + 1.5 * 1.5).epsilon(1e-12));
  // diagonal covariances: sum of (sqrt(a_i) - sqrt(b_i))^2; the same after one rotation of both
  Eigen::VectorXd a(3), b(3), mu(3), nu(3);
  a << 1, 4, 9;
  b << 0.25, 4, 1;
  mu << 0, 1, 2;
  nu << 1, 1, 0;
  const double expected = (mu - nu).squaredNorm() + (a.cwiseSqrt() - b.cwiseSqrt()).squaredNorm();
  CHECK(frechet_distance(mu, Eigen::MatrixXd(a.asDiagonal()), nu, Eigen::MatrixXd(b.asDiagonal())) == Approx(expected).epsilon(1e-12));
  pml::Rng rng(21);
  Eigen::MatrixXd g(3, 3);
  pml::random::fill_normal(rng, g);
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ();
  CHECK(frechet_distance(q * mu, q * a.asDiagonal() * q.transpose(), q * nu, q * b.asDiagonal() * q.transpose()) == Approx(expected).epsilon(1e-10));
  // non-commuting covariances: symmetric in its arguments, 0 for equal Gaussians
  Eigen::MatrixXd s(3, 3), t(3, 3);
  pml::random::fill_normal(rng, s);
  pml::random::fill_normal(rng, t);
  const Eigen::MatrixXd sa = s * s.transpose() + Eigen::MatrixXd::Identity(3, 3), sb = t * t.transpose();
  CHECK(frechet_distance(mu, sa, nu, sb) == Approx(frechet_distance(nu, sb, mu, sa)).epsilon(1e-10));
  CHECK(frechet_distance(mu, sa, mu, sa) == Approx(0).margin(1e-12));
}

TEST_CASE("frechet_distance of feature rows: sample moments, far from the origin too", "[metrics][generative]") {
  pml::Rng rng(22);
  Eigen::MatrixXd x(400, 2), y(300, 2);
  pml::random::fill_normal(rng, x);
  pml::random::fill_normal(rng, y);
  y.col(0) = 2 * y.col(0).array() + 1;
  // the same distance from the Gaussian form with the sample moments (divisor N - 1)
  auto moments = [](const Eigen::MatrixXd& m, Eigen::VectorXd& mean, Eigen::MatrixXd& cov) {
    mean = m.colwise().mean().transpose();
    const Eigen::MatrixXd c = m.rowwise() - mean.transpose();
    cov = c.transpose() * c / double(m.rows() - 1);
  };
  Eigen::VectorXd mx, my;
  Eigen::MatrixXd cx, cy;
  moments(x, mx, cx);
  moments(y, my, cy);
  const double d = pml::metrics::frechet_distance(x, y);
  CHECK(d == Approx(pml::metrics::frechet_distance(mx, cx, my, cy)).epsilon(1e-12));
  CHECK(d > 1.5);  // about 1 (means) + 1 (sd 2 against 1)
  CHECK(pml::metrics::frechet_distance(x, x) == Approx(0).margin(1e-12));
  // both sets moved by 1e8: the moments are taken about the mean, so the distance holds
  const Eigen::MatrixXd xs = x.array() + 1e8, ys = y.array() + 1e8;
  CHECK(pml::metrics::frechet_distance(xs, ys) == Approx(d).epsilon(1e-6));
  // features near the largest doubles, and near the smallest: the distance scales as the square
  CHECK(pml::metrics::frechet_distance((x * 1e150).eval(), (y * 1e150).eval()) == Approx(d * 1e300).epsilon(1e-10));
  CHECK(pml::metrics::frechet_distance((x * 1e-150).eval(), (y * 1e-150).eval()) == Approx(d * 1e-300).epsilon(1e-10));
  CHECK_THROWS_WITH(pml::metrics::frechet_distance((x * 1e300).eval(), (y * 1e300).eval()), Contains("frechet_distance") && Contains("overflow"));
  // float features
  CHECK(pml::metrics::frechet_distance(x.cast<float>(), y.cast<float>()) == Approx(d).epsilon(1e-5));
  CHECK_THROWS_WITH(pml::metrics::frechet_distance(x, Eigen::MatrixXd(3, 3)), Contains("metrics::frechet_distance") && Contains("2 and 3 columns"));
  CHECK_THROWS_WITH(pml::metrics::frechet_distance(x, Eigen::MatrixXd(1, 2)), Contains("b has 1 rows"));
  Eigen::MatrixXd bad = x;
  bad(5, 1) = std::nan("");
  CHECK_THROWS_WITH(pml::metrics::frechet_distance(bad, y), Contains("metrics::frechet_distance") && Contains("a"));
}

TEST_CASE("class_histogram_entropy: log K for balanced classes, 0 for one", "[metrics][generative]") {
  pml::IntVector c(6);
  c << 0, 1, 2, 0, 1, 2;
  CHECK(pml::metrics::class_histogram_entropy(c, 3) == Approx(std::log(3.0)));
  CHECK(pml::metrics::class_histogram_entropy(c, 10) == Approx(std::log(3.0)));
  c.setConstant(4);
  CHECK(pml::metrics::class_histogram_entropy(c, 5) == 0.0);
  c << 0, 0, 0, 1, 1, 1;
  CHECK(pml::metrics::class_histogram_entropy(c, 2) == Approx(std::log(2.0)));
  CHECK_THROWS_WITH(pml::metrics::class_histogram_entropy(c, 1), Contains("class_histogram_entropy") && Contains("1 at index 3"));
  CHECK_THROWS_WITH(pml::metrics::class_histogram_entropy(pml::IntVector(), 2), Contains("no entries"));
}
