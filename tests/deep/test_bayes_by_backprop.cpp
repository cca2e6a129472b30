// Bayes by Backprop: loss gradients for every prior / sampling / task combination, the closed-form KL
// against its Monte Carlo estimate, the KL weightings, regression bands, classification with pruning,
// save/load, errors.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "pml/metrics/uncertainty.hpp"
#include "pml/models/deep/bayes_by_backprop.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;

namespace {
// three Gaussian blobs in 2-D
void blobs(pml::Rng& rng, Eigen::Index n, Eigen::MatrixXd& x, pml::IntVector& labels) {
  const double cx[3] = {-2, 2, 0}, cy[3] = {0, 0, 2.5};
  x.resize(n, 2);
  labels.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int k = int(i % 3);
    x(i, 0) = cx[k] + 0.6 * pml::random::normal<double>(rng);
    x(i, 1) = cy[k] + 0.6 * pml::random::normal<double>(rng);
    labels(i) = k;
  }
}
}  // namespace

TEST_CASE("Bayes by Backprop loss gradients match finite differences", "[deep][bbb][gradcheck]") {
  using pml::nn::BayesPrior;
  for (const auto task : {pml::BayesTask::regression, pml::BayesTask::classification})
    for (const auto sampling : {pml::nn::WeightSampling::weights, pml::nn::WeightSampling::local})
      for (const auto& prior : {BayesPrior::gaussian(0.7), BayesPrior::scale_mixture(0.3, 1.0, 0.1)}) {
        pml::Rng rng(1);
        pml::BayesByBackprop<double> bnn({.input = 3, .hidden = {4}, .output = 3, .activation = pml::ad::Activation::tanh, .task = task,
                                          .prior = prior, .noise = 0.5, .rho_init = -1.0, .sampling = sampling, .samples = 2},
                                         rng);
        Eigen::MatrixXd x(5, 3), y(5, 3);
        pml::random::fill_normal(rng, x);
        if (task == pml::BayesTask::classification) {
          y.setZero();
          for (int i = 0; i < 5; ++i) y(i, i % 3) = 1;
        } else {
          pml::random::fill_normal(rng, y);
        }
        pml::ad::Tape<double> tape;
        auto loss = [&] {
          pml::Rng fixed(3);
          tape.reset();
          return bnn.loss(tape, tape.constant(x), tape.constant(y), fixed, 0.25);
        };
        INFO("task " << int(task) << ", sampling " << int(sampling) << ", prior " << int(prior.kind));
        CHECK(pml::nn::parameter_gradcheck(bnn.parameters(), tape, loss) < 1e-6);
      }
}

TEST_CASE("BayesianLinear: the closed-form KL equals the mean of its Monte Carlo estimate", "[deep][bbb]") {
  pml::Rng rng(2);
  pml::nn::BayesianLinear<double> layer(3, 2, rng, pml::nn::Init::xavier_uniform, -0.5);
  pml::random::fill_normal(rng, layer.weight_rho().value);
  const auto gaussian = pml::nn::BayesPrior::gaussian(0.8);
  const auto as_mixture = pml::nn::BayesPrior::scale_mixture(1.0, 0.8, 0.8);  // the same prior, sampled KL
  pml::ad::Tape<double> tape;
  Eigen::MatrixXd x(1, 3);
  x.setOnes();
  const double exact = layer.forward(tape, tape.constant(x), rng, gaussian, pml::nn::WeightSampling::weights).kl.value()(0, 0);
  double mc = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    tape.reset();
    mc += layer.forward(tape, tape.constant(x), rng, as_mixture, pml::nn::WeightSampling::weights).kl.value()(0, 0);
  }
  CHECK(exact > 0);
  CHECK(mc / n == Approx(exact).epsilon(0.02));
}

TEST_CASE("KL weightings: uniform and Blundell's geometric both sum to one over an epoch", "[deep][bbb]") {
  pml::Rng rng(3);
  pml::BayesByBackprop<double> uniform({.input = 1, .hidden = {2}}, rng);
  pml::BayesByBackprop<double> geometric({.input = 1, .hidden = {2}, .kl_weighting = pml::KLWeighting::geometric}, rng);
  for (const Eigen::Index m : {1, 4, 10, 469, 2000}) {
    double su = 0, sg = 0;
    for (Eigen::Index b = 0; b < m; ++b) {
      su += uniform.kl_weight(b, m);
      sg += geometric.kl_weight(b, m);
    }
    CHECK(su == Approx(1.0));
    CHECK(sg == Approx(1.0));
  }
  CHECK(geometric.kl_weight(0, 3) == Approx(4.0 / 7));
  CHECK(geometric.kl_weight(2, 3) == Approx(1.0 / 7));
  CHECK(uniform.kl_weight(1, 4) == 0.25);
  CHECK_THROWS_WITH(uniform.kl_weight(4, 4), Contains("batch 4 of 4"));
}

TEST_CASE("Bayes by Backprop regression: fits the data, band widens away from it", "[deep][bbb][quality]") {
  pml::Rng rng(4);
  const Eigen::Index n = 120;
  Eigen::MatrixXd x(n, 1), y(n, 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    x(i, 0) = 2 * pml::random::uniform<double>(rng) - 1;
    y(i, 0) = std::sin(3 * x(i, 0)) + 0.1 * pml::random::normal<double>(rng);
  }
  for (const auto sampling : {pml::nn::WeightSampling::weights, pml::nn::WeightSampling::local}) {
    pml::BayesByBackprop<double> bnn({.input = 1, .hidden = {32, 32}, .prior = pml::nn::BayesPrior::gaussian(1.0), .noise = 0.1,
                                      .rho_init = -4, .sampling = sampling},
                                     rng);
    bnn.fit(x, y, {.epochs = 300, .batch_size = 30, .learning_rate = 1e-2}, rng);
    const auto& history = bnn.loss_history();
    CHECK(history.back() < history.front());
    Eigen::MatrixXd grid(3, 1);
    grid << -0.5, 0.5, 3.0;
    const auto p = bnn.predict(grid, 200, rng);
    INFO("sampling " << int(sampling) << ": mean " << p.mean.transpose() << ", epistemic " << p.epistemic.transpose());
    CHECK(p.mean(0, 0) == Approx(std::sin(-1.5)).margin(0.2));
    CHECK(p.mean(1, 0) == Approx(std::sin(1.5)).margin(0.2));
    CHECK(p.epistemic(2, 0) > 5 * std::max(p.epistemic(0, 0), p.epistemic(1, 0)));
    CHECK(p.variance.isApprox((p.epistemic.array() + 0.01).matrix()));
  }
}

TEST_CASE("Bayes by Backprop classification, pruning by signal-to-noise, save/load", "[deep][bbb]") {
  pml::Rng rng(5);
  Eigen::MatrixXd x, xt;
  pml::IntVector y, yt;
  blobs(rng, 300, x, y);
  blobs(rng, 300, xt, yt);
  pml::BayesByBackprop<double> bnn({.input = 2, .hidden = {32}, .output = 3, .task = pml::BayesTask::classification,
                                    .kl_weighting = pml::KLWeighting::geometric},
                                   rng);
  bnn.fit(x, y, {.epochs = 60, .batch_size = 50, .learning_rate = 1e-2}, rng);
  const Eigen::MatrixXd p = bnn.predict_proba(xt, 20, rng);
  CHECK(pml::metrics::accuracy(p, yt) > 0.95);
  CHECK(pml::metrics::accuracy(bnn.predict_mean(xt), yt) > 0.95);
  // far from the data the posterior samples disagree more than at a blob's centre
  Eigen::MatrixXd probe(2, 2);
  probe << -2, 0, 0, -30;
  const auto draws = bnn.sample_outputs(probe, 50, rng);
  const Eigen::VectorXd mi = pml::metrics::mutual_information(draws);
  CHECK(mi(1) > mi(0));
  // pruning: removing half the weights with the lowest |mu|/sigma keeps the accuracy
  const Eigen::VectorXd snr = bnn.signal_to_noise();
  CHECK(snr.size() == 2 * 32 + 32 * 3);
  CHECK(pml::metrics::accuracy(bnn.predict_mean(xt, 0.5), yt) > 0.9);
  // removing every weight leaves only the biases: the same output for every input
  const Eigen::MatrixXd none = bnn.predict_mean(xt, 1.0);
  CHECK(none.row(0).isApprox(none.row(17)));
  // predict_mean with pruning does not change the model
  CHECK(bnn.signal_to_noise() == snr);
  // a reloaded model predicts bit-identically
  const auto file = std::filesystem::temp_directory_path() / "pml_bbb_test.pml";
  bnn.save(file);
  auto twin = pml::BayesByBackprop<double>::load(file);
  std::filesystem::remove(file);
  pml::Rng r1(8), r2(8);
  const Eigen::MatrixXd a = bnn.predict_proba(xt, 5, r1), b = twin.predict_proba(xt, 5, r2);
  CHECK(std::memcmp(a.data(), b.data(), sizeof(double) * std::size_t(a.size())) == 0);
  CHECK(bnn.predict_mean(xt, 0.3) == twin.predict_mean(xt, 0.3));
}

TEST_CASE("Bayes by Backprop data-parallel fit on one process: learns, same seed same bits; local sampling refused", "[deep][bbb][ranks]") {
  pml::Rng rng(8);
  Eigen::MatrixXd x, xt;
  pml::IntVector y, yt;
  blobs(rng, 300, x, y);
  blobs(rng, 300, xt, yt);
  const pml::BayesByBackpropOptions options{.input = 2, .hidden = {32}, .output = 3, .task = pml::BayesTask::classification};
  pml::Rng init(9), init2(9), fit_rng(10), fit_rng2(10);
  pml::BayesByBackprop<double> bnn(options, init), again(options, init2);
  const auto& one = pml::Collective::single();
  bnn.fit(one, x, y, {.epochs = 40, .batch_size = 50, .learning_rate = 1e-2}, fit_rng);
  again.fit(one, x, y, {.epochs = 40, .batch_size = 50, .learning_rate = 1e-2}, fit_rng2);
  CHECK(pml::metrics::accuracy(bnn.predict_mean(xt), yt) > 0.95);
  CHECK(bnn.loss_history() == again.loss_history());
  CHECK(bnn.predict_mean(xt) == again.predict_mean(xt));
  // local reparameterisation and flipout too (each row's draws hashed from its position): reproducible from the seed
  for (const auto sampling : {pml::nn::WeightSampling::local, pml::nn::WeightSampling::flipout}) {
    pml::BayesByBackpropOptions o = options;
    o.sampling = sampling;
    pml::Rng i1(3), i2(3), r1(4), r2(4);
    pml::BayesByBackprop<double> first(o, i1), second(o, i2);
    first.fit(one, x, y, {.epochs = 20, .batch_size = 50, .learning_rate = 1e-2}, r1);
    second.fit(one, x, y, {.epochs = 20, .batch_size = 50, .learning_rate = 1e-2}, r2);
    CHECK(first.loss_history() == second.loss_history());
    CHECK(first.loss_history().back() < first.loss_history().front());
    CHECK(pml::metrics::accuracy(first.predict_mean(xt), yt) > 0.9);
  }
}

TEST_CASE("Bayes by Backprop in float", "[deep][bbb]") {
  pml::Rng rng(7);
  Eigen::MatrixXd x;
  pml::IntVector y;
  blobs(rng, 90, x, y);
  pml::BayesByBackprop<float> bnn({.input = 2, .hidden = {16}, .output = 3, .task = pml::BayesTask::classification,
                                   .sampling = pml::nn::WeightSampling::local},
                                  rng);
  bnn.fit(x, y, {.epochs = 40, .batch_size = 30, .learning_rate = 1e-2}, rng);
  const Eigen::MatrixXf p = bnn.predict_proba(x, 10, rng);
  CHECK(pml::metrics::accuracy(p, y) > 0.9f);
}

TEST_CASE("Bayes by Backprop rejects bad input", "[deep][bbb][errors]") {
  pml::Rng rng(8);
  CHECK_THROWS_WITH(pml::BayesByBackprop<double>({.input = 0}, rng), Contains("input"));
  CHECK_THROWS_WITH(pml::BayesByBackprop<double>({.input = 2, .output = 1, .task = pml::BayesTask::classification}, rng), Contains("output"));
  CHECK_THROWS_WITH(pml::BayesByBackprop<double>({.input = 2, .prior = pml::nn::BayesPrior::scale_mixture(1.5, 1, 0.1)}, rng), Contains("prior.pi"));
  CHECK_THROWS_WITH(pml::BayesByBackprop<double>({.input = 2, .noise = 0}, rng), Contains("noise"));
  CHECK_THROWS_WITH(pml::BayesByBackprop<double>({.input = 2, .sampling = pml::nn::WeightSampling::mean}, rng), Contains("sampling") && Contains("got mean"));
  CHECK_THROWS_WITH(pml::BayesByBackprop<double>({.input = 2, .samples = 0}, rng), Contains("samples"));
  pml::BayesByBackprop<double> reg({.input = 2, .hidden = {4}}, rng);
  pml::BayesByBackprop<double> cls({.input = 2, .hidden = {4}, .output = 3, .task = pml::BayesTask::classification}, rng);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(4, 2), y = Eigen::MatrixXd::Zero(4, 1);
  pml::IntVector labels(4);
  labels << 0, 1, 2, 3;
  CHECK_THROWS_WITH(cls.fit(x, labels, {}, rng), Contains("labels") && Contains("3 at index 3"));
  CHECK_THROWS_WITH(cls.fit(x, y, {}, rng), Contains("integer labels"));
  CHECK_THROWS_WITH(reg.fit(x, labels, {}, rng), Contains("regression"));
  CHECK_THROWS_WITH(reg.fit(Eigen::MatrixXd::Zero(4, 3), y, {}, rng), Contains("BayesByBackprop::fit") && Contains("3 columns, expected 2"));
  CHECK_THROWS_WITH(reg.fit(x, Eigen::MatrixXd::Zero(3, 1), {}, rng), Contains("rows"));
  Eigen::MatrixXd nan = x;
  nan(0, 0) = std::nan("");
  CHECK_THROWS_WITH(reg.predict(nan, 3, rng), Contains("x"));
  CHECK_THROWS_WITH(reg.predict(x, 0, rng), Contains("samples"));
  CHECK_THROWS_WITH(reg.predict_proba(x, 3, rng), Contains("regression"));
  CHECK_THROWS_WITH(cls.predict(x, 3, rng), Contains("classifier"));
  CHECK_THROWS_WITH(cls.predict_mean(x, 1.5), Contains("pruned_fraction"));
  CHECK_THROWS_WITH(reg.predict_mean(Eigen::MatrixXd(0, 2)), Contains("no rows"));
}
