// BayesianCNN (Bayes by Backprop with convolutional layers): the free energy's gradient for each sampling
// mode, learning a small image task with uncertainty higher on noise, the pruned and mean predictions,
// the same passes for any thread count, save/load bit for bit, errors.
#include <catch2/catch.hpp>

#include <filesystem>

#include "pml/core/parallel.hpp"
#include "pml/metrics/uncertainty.hpp"
#include "pml/models/deep/bayesian_cnn.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;
using pml::Index;

namespace {
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
pml::BayesianCNNOptions small() {
  pml::BayesianCNNOptions o;
  o.height = o.width = 8;
  o.classes = 2;
  o.filters = {3};
  o.kernel = 3;
  o.hidden = {8};
  o.prior = pml::nn::BayesPrior::gaussian(1.0);  // few weights and a wide prior: the KL does not swamp 1024 images
  return o;
}
}  // namespace

TEST_CASE("BayesianCNN: the free energy's gradient matches finite differences for each sampling mode", "[deep][bayesian_cnn][gradcheck]") {
  for (const auto sampling : {pml::nn::WeightSampling::weights, pml::nn::WeightSampling::local, pml::nn::WeightSampling::flipout}) {
    pml::Rng rng(1);
    pml::BayesianCNNOptions o;
    o.height = 7;
    o.width = 6;
    o.classes = 3;
    o.filters = {2};
    o.kernel = 2;
    o.hidden = {4};
    o.prior = pml::nn::BayesPrior::scale_mixture(0.5, 1.0, 0.2);
    o.rho_init = -2;
    o.sampling = sampling;
    pml::BayesianCNN<double> net(o, rng);
    Eigen::MatrixXd x(3, 42), t = Eigen::MatrixXd::Zero(3, 3);
    pml::random::fill_normal(rng, x);
    for (Index i = 0; i < 3; ++i) t(i, i) = 1;
    pml::ad::Tape<double> tape;
    auto loss = [&] {
      pml::Rng fixed(5);
      tape.reset();
      return net.loss(tape, tape.constant(x), tape.constant(t), fixed, 0.3);
    };
    INFO("sampling " << int(sampling));
    CHECK(pml::nn::parameter_gradcheck(net.parameters(), tape, loss) < 1e-6);
  }
}

TEMPLATE_TEST_CASE("BayesianCNN learns bars; noise images get higher entropy and BALD; pruning keeps the accuracy", "[deep][bayesian_cnn]", float, double) {
  using T = TestType;
  pml::Rng rng(2);
  pml::Matrix<T> x, xt;
  pml::IntVector y, yt;
  bars(rng, 1024, x, y);
  bars(rng, 128, xt, yt);
  pml::BayesianCNN<T> net(small(), rng);
  net.fit(x, y, {.epochs = 20, .batch_size = 64, .learning_rate = 1e-2}, rng);
  REQUIRE(net.loss_history().size() == 20);
  CHECK(net.loss_history().back() < 0.3 * net.loss_history().front());
  CHECK(pml::metrics::accuracy(net.predict_proba(xt, 10, rng), yt) >= 0.97);
  CHECK(pml::metrics::accuracy(net.predict_mean(xt), yt) >= 0.97);
  CHECK((net.predict_mean(xt, 0.0) - net.predict_mean(xt)).cwiseAbs().maxCoeff() == 0);
  CHECK(pml::metrics::accuracy(net.predict_mean(xt, 0.5), yt) >= 0.9);
  CHECK(net.signal_to_noise().size() == 3 * 9 + 3 * 3 * 3 * 8 + 8 * 2);
  pml::Matrix<T> noise(128, 64);
  pml::random::fill_uniform(rng, noise);
  const auto in = net.sample_proba(xt, 20, rng), out = net.sample_proba(noise, 20, rng);
  CHECK(pml::metrics::predictive_entropy(out).mean() > 2 * pml::metrics::predictive_entropy(in).mean());
  CHECK(pml::metrics::mutual_information(out).mean() > 2 * pml::metrics::mutual_information(in).mean());
  // out-of-distribution detection by entropy: AUROC of noise (positive) against test bars
  Eigen::Matrix<T, Eigen::Dynamic, 1> score(256);
  score << pml::metrics::predictive_entropy(in), pml::metrics::predictive_entropy(out);
  pml::IntVector is_ood(256);
  is_ood << pml::IntVector::Zero(128), pml::IntVector::Ones(128);
  CHECK(pml::metrics::roc_auc(score, is_ood) > 0.7);  // measured 0.77 (a collapsed or untrained network: about 0.5)
}

TEST_CASE("BayesianCNN: passes do not depend on the thread count; save/load is bit-identical", "[deep][bayesian_cnn]") {
  pml::Rng rng(3);
  Eigen::MatrixXf x;
  pml::IntVector y;
  bars(rng, 100, x, y);
  auto o = small();
  o.sampling = pml::nn::WeightSampling::flipout;
  pml::BayesianCNN<float> net(o, rng);
  net.fit(x, y, {.epochs = 2, .batch_size = 25}, rng);
  std::vector<Eigen::MatrixXf> by_threads[2];
  for (int threads : {1, 2}) {
    pml::set_num_threads(threads);
    pml::Rng r(11);
    by_threads[threads - 1] = net.sample_proba(x, 4, r);
  }
  pml::set_num_threads(0);
  for (std::size_t t = 0; t < 4; ++t) CHECK((by_threads[0][t].array() == by_threads[1][t].array()).all());
  const auto path = std::filesystem::temp_directory_path() / "pml_test_bcnn.pml";
  net.save(path);
  const auto loaded = pml::BayesianCNN<float>::load(path);
  std::filesystem::remove(path);
  CHECK(loaded.options().sampling == pml::nn::WeightSampling::flipout);
  pml::Rng r1(4), r2(4);
  const auto p1 = net.sample_proba(x, 3, r1), p2 = loaded.sample_proba(x, 3, r2);
  for (std::size_t t = 0; t < 3; ++t) CHECK((p1[t].array() == p2[t].array()).all());
  CHECK((net.predict_mean(x, 0.3).array() == loaded.predict_mean(x, 0.3).array()).all());
}

TEST_CASE("BayesianCNN errors name the function, the argument and the value", "[deep][bayesian_cnn][errors]") {
  pml::Rng rng(4);
  auto o = small();
  o.filters = {4, 4, 4};
  CHECK_THROWS_WITH(pml::BayesianCNN<float>(o, rng), Contains("BayesianCNN") && Contains("too small"));
  o = small();
  o.samples = 0;
  CHECK_THROWS_WITH(pml::BayesianCNN<float>(o, rng), Contains("samples"));
  o = small();
  o.prior = pml::nn::BayesPrior::gaussian(-1);
  CHECK_THROWS_WITH(pml::BayesianCNN<float>(o, rng), Contains("prior.sigma1"));
  o = small();
  o.sampling = pml::nn::WeightSampling::mean;  // no noise: nothing to train a posterior with
  CHECK_THROWS_WITH(pml::BayesianCNN<float>(o, rng), Contains("sampling") && Contains("got mean"));
  pml::BayesianCNN<float> net(small(), rng);
  Eigen::MatrixXf x = Eigen::MatrixXf::Zero(3, 64);
  pml::IntVector y(3);
  y << 0, 5, 1;
  CHECK_THROWS_WITH(net.fit(x, y, {}, rng), Contains("BayesianCNN::fit") && Contains("labels") && Contains("5 at index 1"));
  CHECK_THROWS_WITH(net.sample_proba(Eigen::MatrixXf::Zero(3, 60), 2, rng), Contains("BayesianCNN::sample_proba") && Contains("60 columns, expected 64"));
  CHECK_THROWS_WITH(net.predict_mean(x, 1.5), Contains("pruned_fraction"));
  CHECK_THROWS_WITH(pml::BayesianCNN<float>::load("/nonexistent/model.pml"), Contains("BayesianCNN::load"));
}
