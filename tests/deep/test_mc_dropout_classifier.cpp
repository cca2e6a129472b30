// MCDropoutClassifier: loss gradients through the convolutional network, learning a small image task,
// uncertainty higher away from the data, the same passes for any thread count, save/load bit for bit,
// errors naming the function and the argument.
#include <catch2/catch.hpp>

#include <filesystem>

#include "pml/core/parallel.hpp"
#include "pml/metrics/uncertainty.hpp"
#include "pml/models/deep/mc_dropout_classifier.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;
using pml::Index;

namespace {
// 8 x 8 images: class 0 a horizontal bar, class 1 a vertical bar, at a random place, with noise
template <class T> void bars(pml::Rng& rng, Index n, pml::Matrix<T>& x, pml::IntVector& y) {
  x = pml::Matrix<T>::Zero(n, 64);
  y.resize(n);
  for (Index i = 0; i < n; ++i) {
    const bool vertical = pml::random::uniform<double>(rng) < 0.5;
    const Index at = 1 + static_cast<Index>(pml::random::uniform<double>(rng) * 6);
    for (Index k = 0; k < 8; ++k) x(i, vertical ? k * 8 + at : at * 8 + k) = 1;
    for (Index k = 0; k < 64; ++k) x(i, k) += T(0.1) * (pml::random::uniform<T>(rng) - T(0.5));
    y(i) = vertical ? 1 : 0;
  }
}
const pml::MCDropoutClassifierOptions small{.height = 8, .width = 8, .classes = 2, .filters = {6}, .kernel = 3, .hidden = {32}, .dropout = 0.5};
}  // namespace

TEST_CASE("MCDropoutClassifier: the loss gradient through convolution, pooling and dropout matches finite differences", "[deep][mc_dropout_classifier][gradcheck]") {
  pml::Rng rng(1);
  pml::MCDropoutClassifier<double> net({.height = 8, .width = 7, .classes = 3, .filters = {2, 3}, .kernel = 2, .hidden = {5}, .dropout = 0.3, .conv_dropout = 0.2}, rng);
  Eigen::MatrixXd x(4, 56), t = Eigen::MatrixXd::Zero(4, 3);
  pml::random::fill_normal(rng, x);
  for (Index i = 0; i < 4; ++i) t(i, i % 3) = 1;
  pml::ad::Tape<double> tape;
  auto loss = [&] {
    pml::Rng fixed(5);
    tape.reset();
    const auto out = net.logits(tape, tape.constant(x), fixed, true);
    return pml::ad::softmax_cross_entropy(out, tape.constant(t));
  };
  CHECK(pml::nn::parameter_gradcheck(net.parameters(), tape, loss) < 1e-6);
}

TEMPLATE_TEST_CASE("MCDropoutClassifier learns bars; noise images get higher entropy and BALD", "[deep][mc_dropout_classifier]", float, double) {
  using T = TestType;
  pml::Rng rng(2);
  pml::Matrix<T> x, xt;
  pml::IntVector y, yt;
  bars(rng, 256, x, y);
  bars(rng, 128, xt, yt);
  pml::MCDropoutClassifier<T> net(small, rng);
  net.fit(x, y, {.epochs = 15, .batch_size = 32, .learning_rate = 3e-3}, rng);
  REQUIRE(net.loss_history().size() == 15);
  CHECK(net.loss_history().back() < 0.2 * net.loss_history().front());
  CHECK(pml::metrics::accuracy(net.predict_proba(xt, 20, rng), yt) >= 0.97);
  CHECK(pml::metrics::accuracy(net.predict_proba(xt), yt) >= 0.97);
  // images of uniform noise are neither class: the passes disagree more than on test bars
  pml::Matrix<T> noise(128, 64);
  pml::random::fill_uniform(rng, noise);
  const auto in = net.sample_proba(xt, 30, rng), out = net.sample_proba(noise, 30, rng);
  REQUIRE(in.size() == 30);
  CHECK(pml::metrics::predictive_entropy(out).mean() > 2 * pml::metrics::predictive_entropy(in).mean());
  CHECK(pml::metrics::mutual_information(out).mean() > 2 * pml::metrics::mutual_information(in).mean());
  // softmax of the sampled inputs are the sampled probabilities
  pml::Rng a(9), b(9);
  const auto logits = net.sample_logits(xt.topRows(5), 3, a);
  const auto probs = net.sample_proba(xt.topRows(5), 3, b);
  CHECK((pml::softmax_rows(logits[2]) - probs[2]).cwiseAbs().maxCoeff() == 0);
}

TEST_CASE("MCDropoutClassifier: passes do not depend on the thread count; save/load is bit-identical", "[deep][mc_dropout_classifier]") {
  pml::Rng rng(3);
  Eigen::MatrixXf x;
  pml::IntVector y;
  bars(rng, 300, x, y);  // many 16-row chunks
  pml::MCDropoutClassifier<float> net(small, rng);
  net.fit(x, y, {.epochs = 2, .batch_size = 50}, rng);
  std::vector<Eigen::MatrixXf> by_threads[2];
  for (int threads : {1, 2}) {
    pml::set_num_threads(threads);
    pml::Rng r(11);
    by_threads[threads - 1] = net.sample_proba(x, 4, r);
  }
  pml::set_num_threads(0);
  for (std::size_t t = 0; t < 4; ++t) CHECK((by_threads[0][t].array() == by_threads[1][t].array()).all());
  const auto path = std::filesystem::temp_directory_path() / "pml_test_mcdc.pml";
  net.save(path);
  const auto loaded = pml::MCDropoutClassifier<float>::load(path);
  std::filesystem::remove(path);
  CHECK(loaded.options().filters == small.filters);
  pml::Rng r1(4), r2(4);
  const auto p1 = net.sample_proba(x, 3, r1), p2 = loaded.sample_proba(x, 3, r2);
  for (std::size_t t = 0; t < 3; ++t) CHECK((p1[t].array() == p2[t].array()).all());
  CHECK((net.predict(x).array() == loaded.predict(x).array()).all());
}

TEST_CASE("MCDropoutClassifier: hidden_features is the last dense layer's input of the deterministic pass", "[deep][mc_dropout_classifier]") {
  pml::Rng rng(5);
  Eigen::MatrixXd x;
  pml::IntVector y;
  bars(rng, 40, x, y);
  pml::MCDropoutClassifier<double> net(small, rng);
  net.fit(x, y, {.epochs = 1, .batch_size = 20}, rng);
  const Eigen::MatrixXd h = net.hidden_features(x);
  REQUIRE(h.rows() == 40);
  REQUIRE(h.cols() == net.hidden_size());
  CHECK(net.hidden_size() == 32);
  CHECK(h.minCoeff() >= 0);  // ReLU outputs
  // the last layer applied to them gives the deterministic pass's probabilities
  const auto& last = net.parameters();
  const Eigen::MatrixXd w = last[last.size() - 2]->value, b = last.back()->value;
  Eigen::MatrixXd logits = h * w;
  logits.rowwise() += b.row(0);
  const Eigen::MatrixXd p = net.predict_proba(x);
  for (Index i = 0; i < 40; ++i) {
    const Eigen::RowVectorXd e = (logits.row(i).array() - logits.row(i).maxCoeff()).exp();
    CHECK((e / e.sum() - p.row(i)).cwiseAbs().maxCoeff() < 1e-12);
  }
  // without a hidden layer: the flattened convolutional features
  auto o = small;
  o.hidden = {};
  pml::MCDropoutClassifier<double> flat(o, rng);
  CHECK(flat.hidden_features(x.topRows(3)).cols() == flat.feature_size());
  CHECK_THROWS_WITH(net.hidden_features(Eigen::MatrixXd::Zero(2, 5)), Contains("MCDropoutClassifier::hidden_features") && Contains("5 columns"));
}

TEST_CASE("MCDropoutClassifier errors name the function, the argument and the value", "[deep][mc_dropout_classifier][errors]") {
  pml::Rng rng(4);
  CHECK_THROWS_WITH(pml::MCDropoutClassifier<float>({.height = 6, .width = 6, .filters = {4, 4}, .kernel = 3}, rng),
                    Contains("MCDropoutClassifier") && Contains("too small"));
  CHECK_THROWS_WITH(pml::MCDropoutClassifier<float>({.dropout = 1.0}, rng), Contains("MCDropoutClassifier") && Contains("dropout"));
  CHECK_THROWS_WITH(pml::MCDropoutClassifier<float>({.classes = 1}, rng), Contains("classes"));
  CHECK_THROWS_WITH(pml::MCDropoutClassifier<float>({.weight_decay = -1}, rng), Contains("weight_decay"));
  pml::MCDropoutClassifier<float> net(small, rng);
  Eigen::MatrixXf x = Eigen::MatrixXf::Zero(4, 64);
  pml::IntVector y(4);
  y << 0, 1, 2, 0;
  CHECK_THROWS_WITH(net.fit(x, y, {}, rng), Contains("MCDropoutClassifier::fit") && Contains("labels") && Contains("2 at index 2"));
  CHECK_THROWS_WITH(net.fit(Eigen::MatrixXf::Zero(4, 63), y, {}, rng), Contains("MCDropoutClassifier::fit") && Contains("63 columns, expected 64"));
  CHECK_THROWS_WITH(net.sample_proba(x, 0, rng), Contains("samples"));
  Eigen::MatrixXf bad = x;
  bad(1, 1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(net.predict_proba(bad), Contains("MCDropoutClassifier::predict_proba") && Contains("x"));
  CHECK_THROWS_WITH(pml::MCDropoutClassifier<float>::load("/nonexistent/model.pml"), Contains("MCDropoutClassifier::load"));
}
