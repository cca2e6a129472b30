// Data-parallel training of the networks over MPI (issue 18 §3), run by ctest under mpirun with 1, 2, 3 and 4
// ranks. Every rank builds the same data, takes its own shard (uneven, and one rank empty from 3 ranks on),
// trains on it with minibatch B per rank, and compares with one process trained on all the rows with
// minibatch P·B (computed on every rank).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "pml/models/deep/bayes_by_backprop.hpp"
#include "pml/models/deep/bayesian_cnn.hpp"
#include "pml/models/deep/bayesian_segnet.hpp"
#include "pml/models/deep/dcgan.hpp"
#include "pml/models/deep/gan.hpp"
#include "pml/models/deep/infogan.hpp"
#include "pml/models/deep/lstm_forecaster.hpp"
#include "pml/models/deep/mc_dropout.hpp"
#include "pml/models/deep/mc_dropout_classifier.hpp"
#include "pml/models/deep/vae.hpp"
#include "pml/mpi.hpp"
#include "mpi/support.hpp"

using Catch::Matchers::Contains;

namespace {

// N x D values in [0, 1]: the Bernoulli VAE's data.
template <class T> pml::Matrix<T> unit_data(Eigen::Index n, Eigen::Index d, std::uint64_t seed) {
  pml::Rng rng(seed);
  pml::Matrix<T> x(n, d);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j) x(i, j) = T(pml::random::uniform<double>(rng) * (j % 2 == 0 ? 1.0 : 0.5));
  return x;
}

// The parameters and running statistics but for the biases that feed a batch norm (SegNet's encoder and
// decoder convolutions', the DCGAN generator's dense layer's): the batch norm removes them, so their gradient is
// zero but for rounding, which Adam's normalised steps turn into moves of the learning rate's size (in one
// process too) — they and the running means they shift are not compared.
template <class T> pml::nn::ParameterList<T> identified(const pml::nn::ParameterList<T>& all) {
  pml::nn::ParameterList<T> kept;
  for (auto* q : all)
    if (!(q->name.ends_with("coder0.conv.bias") || q->name.ends_with("coder1.conv.bias") || q->name.ends_with("generator.dense.bias") ||
          q->name.ends_with(".running_mean")))
      kept.push_back(q);
  return kept;
}

template <class T> pml::Vector<T> flat(const pml::nn::ParameterList<T>& params) {
  Eigen::Index size = 0;
  for (const auto* p : params) size += p->value.size();
  pml::Vector<T> v(size);
  Eigen::Index at = 0;
  for (const auto* p : params) v.segment(at, p->value.size()) = p->value.reshaped(), at += p->value.size();
  return v;
}

}  // namespace

TEST_CASE("fill_row_normals: a row's noise depends on its position only; standard normal", "[mpi][train]") {
  pml::Matrix<double> a(3, 4), b(1, 4), big(20000, 5);
  const std::vector<Eigen::Index> rows{5, 9, 2}, one{9};
  pml::detail::fill_row_normals(77, std::span<const Eigen::Index>(rows), a);
  pml::detail::fill_row_normals(77, std::span<const Eigen::Index>(one), b);
  CHECK(a.row(1) == b.row(0));
  CHECK(a.row(0) != a.row(2));
  std::vector<Eigen::Index> all(20000);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = Eigen::Index(i);
  pml::detail::fill_row_normals(78, std::span<const Eigen::Index>(all), big);
  CHECK(std::abs(big.mean()) < 0.02);
  CHECK(std::abs(big.array().square().mean() - 1) < 0.03);
  pml::Matrix<float> f(3, 4);
  pml::detail::fill_row_normals(77, std::span<const Eigen::Index>(rows), f);
  CHECK(relative(f.cast<double>(), a) < 1e-6);
}

TEST_CASE("RowNoise dropout: a row's mask depends on its position only; the rate and the scale are right", "[mpi][train][mc_dropout]") {
  pml::ad::Tape<double> tape;
  const pml::nn::Dropout<double> dropout(0.25);
  const std::vector<Eigen::Index> rows{5, 9, 2}, one{9}, all_rows = [] {
    std::vector<Eigen::Index> v(4000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = Eigen::Index(i);
    return v;
  }();
  const auto mask = [&](const std::vector<Eigen::Index>& at, std::uint64_t key, Eigen::Index cols) {
    tape.reset();
    const auto x = tape.constant(pml::Matrix<double>::Ones(Eigen::Index(at.size()), cols));
    return pml::Matrix<double>(dropout.forward(tape, x, pml::nn::RowNoise{key, std::span<const Eigen::Index>(at)}, true).value());
  };
  const pml::Matrix<double> a = mask(rows, 11, 6), b = mask(one, 11, 6), big = mask(all_rows, 12, 10);
  CHECK(a.row(1) == b.row(0));
  CHECK(((a.array() == 0) || (a.array() == 1 / 0.75)).all());
  CHECK(std::abs((big.array() == 0).cast<double>().mean() - 0.25) < 0.01);
  CHECK(mask(rows, 11, 6) == a);
  CHECK(mask(rows, 13, 6) != a);  // another key, other masks
  // one position per row, or a clear error
  tape.reset();
  const auto x = tape.constant(pml::Matrix<double>::Ones(2, 3));
  CHECK_THROWS_WITH(dropout.forward(tape, x, pml::nn::RowNoise{1, std::span<const Eigen::Index>(rows)}, true), Contains("nn::Dropout::forward: 3 row positions for 2 rows"));
}

TEMPLATE_TEST_CASE("MC dropout trained on shards with minibatch B equals one process with minibatch P*B", "[mpi][train][mc_dropout]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 57, d = 3;
  const pml::Matrix<T> x = unit_data<T>(n, d, 4);
  pml::Matrix<T> y(n, 1);
  for (Eigen::Index i = 0; i < n; ++i) y(i, 0) = T(std::sin(3 * double(x(i, 0))) + double(x(i, 1)) - 0.5 * double(x(i, 2)));
  const auto [b, e] = shard_of(n, r, p);
  const pml::Matrix<T> mine_x = x.middleRows(b, e - b), mine_y = y.middleRows(b, e - b);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  // homoscedastic, heteroscedastic, and the mean-squared-error loss with a length scale (weight decay on the
  // weights only: each rank's share of the decay must add up to one step's)
  for (const int config : {0, 1, 2}) {
    CAPTURE(config);
    pml::MCDropoutOptions options{.input = d, .hidden = {8, 6}, .dropout = 0.2, .dropout_input = true, .heteroscedastic = config == 1};
    if (config == 2) {
      options.length_scale = 3;
      options.loss = pml::MCDropoutLoss::mean_squared_error;
    }
    pml::Rng init0(200), init_mine(200 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
    pml::MCDropoutRegressor<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(9), rng_sharded(9);
    whole.fit(pml::Collective::single(), x, y, {.epochs = 4, .batch_size = 5 * p, .learning_rate = 1e-2}, rng_whole);
    sharded.fit(comm, mine_x, mine_y, {.epochs = 4, .batch_size = 5, .learning_rate = 1e-2}, rng_sharded);
    const pml::Vector<T> w = flat(whole.parameters()), s = flat(sharded.parameters());
    CHECK(relative(s, w) < tol);
    REQUIRE(sharded.loss_history().size() == 4);
    for (std::size_t k = 0; k < 4; ++k)
      CHECK(std::abs(double(sharded.loss_history()[k] - whole.loss_history()[k])) < tol * std::abs(double(whole.loss_history()[k])));
    CHECK(whole.loss_history().back() < whole.loss_history().front());  // it learns
    if (p == 1) CHECK(s == w);  // one rank: the same code, the same bits
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(s.data(), std::size_t(s.size()) * sizeof(T))));
  }
  // a loss that differs between ranks (not in the model's file options) is refused on every rank
  if (p > 1) {
    pml::MCDropoutOptions options{.input = d, .hidden = {4}, .dropout = 0.1};
    if (r == 0) options.loss = pml::MCDropoutLoss::mean_squared_error;
    pml::Rng init(1), rng(3);
    pml::MCDropoutRegressor<T> differs(options, init);
    CHECK_THROWS_WITH(differs.fit(comm, mine_x, mine_y, {.epochs = 1, .batch_size = 4}, rng), Contains("MCDropoutRegressor::fit: the ranks were given different options"));
  }
  // bad data on one rank reaches every rank; a float model names a double beyond its range
  pml::Rng init1(1);
  pml::MCDropoutRegressor<T> net({.input = d, .hidden = {4}, .dropout = 0.1}, init1);
  pml::Matrix<double> far = mine_x.template cast<double>();
  if (r == p - 1) far(0, 2) = std::is_same_v<T, float> ? 3e39 : std::numeric_limits<double>::quiet_NaN();
  pml::Rng rng(3);
  CHECK_THROWS_MATCHES(net.fit(comm, far, mine_y, {.epochs = 1, .batch_size = 4}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("MCDropoutRegressor::fit: x must") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
}

TEMPLATE_TEST_CASE("MC dropout CNN trained on shards with minibatch B equals one process with minibatch P*B", "[mpi][train][mc_dropout]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 45;
  const pml::Matrix<T> x = unit_data<T>(n, 2 * 8 * 7, 6);  // 2-channel 8 x 7 images
  pml::IntVector labels(n);
  for (Eigen::Index i = 0; i < n; ++i) labels(i) = int(i % 3);
  const auto [b, e] = shard_of(n, r, p);
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  const pml::IntVector mine_labels = labels.segment(b, e - b);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  const pml::MCDropoutClassifierOptions options{.channels = 2, .height = 8, .width = 7, .classes = 3, .filters = {3}, .kernel = 3,
                                                .hidden = {6}, .dropout = 0.3, .conv_dropout = 0.2};
  pml::Rng init0(300), init_mine(300 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
  pml::MCDropoutClassifier<T> whole(options, init0), sharded(options, init_mine);
  pml::Rng rng_whole(5), rng_sharded(5);
  whole.fit(pml::Collective::single(), x, labels, {.epochs = 3, .batch_size = 4 * p, .learning_rate = 1e-2}, rng_whole);
  sharded.fit(comm, mine, mine_labels, {.epochs = 3, .batch_size = 4, .learning_rate = 1e-2}, rng_sharded);
  const pml::Vector<T> w = flat(whole.parameters()), s = flat(sharded.parameters());
  CHECK(relative(s, w) < tol);
  REQUIRE(sharded.loss_history().size() == 3);
  for (std::size_t k = 0; k < 3; ++k)
    CHECK(std::abs(double(sharded.loss_history()[k] - whole.loss_history()[k])) < tol * std::abs(double(whole.loss_history()[k])));
  if (p == 1) CHECK(s == w);
  CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(s.data(), std::size_t(s.size()) * sizeof(T))));
  // a label out of range on the last rank reaches every rank
  pml::IntVector bad = mine_labels;
  if (r == p - 1 && bad.size() > 0) bad(0) = 7;
  pml::Rng rng(1);
  CHECK_THROWS_MATCHES(sharded.fit(comm, mine, bad, {.epochs = 1, .batch_size = 4}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("MCDropoutClassifier::fit") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
}

TEMPLATE_TEST_CASE("VAE trained on shards with minibatch B equals one process with minibatch P*B", "[mpi][train][vae]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 61, d = 5;
  const pml::Matrix<T> x = unit_data<T>(n, d, 3);
  const auto [b, e] = shard_of(n, r, p);
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  for (const auto estimator : {pml::VAEEstimator::analytic, pml::VAEEstimator::sampled}) {
    CAPTURE(pml::enum_name(estimator));
    const pml::VAEOptions options{.input = d, .hidden = {7}, .latent = 2, .estimator = estimator, .samples = 2};
    pml::Rng init0(100), init_mine(100 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
    pml::VAE<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(7), rng_sharded(7);
    whole.fit(pml::Collective::single(), x, {.epochs = 3, .batch_size = 4 * p, .learning_rate = 1e-2}, rng_whole);
    sharded.fit(comm, mine, {.epochs = 3, .batch_size = 4, .learning_rate = 1e-2}, rng_sharded);
    const pml::Vector<T> w = flat(whole.parameters()), s = flat(sharded.parameters());
    CHECK(relative(s, w) < tol);
    REQUIRE(sharded.elbo_history().size() == 3);
    for (std::size_t k = 0; k < 3; ++k) CHECK(std::abs(double(sharded.elbo_history()[k] - whole.elbo_history()[k])) < tol * std::abs(double(whole.elbo_history()[k])));
    CHECK(whole.elbo_history().back() > whole.elbo_history().front());  // it learns
    if (p == 1) CHECK(s == w);  // one rank: the same code, the same bits
    // every rank holds the same bits
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(s.data(), std::size_t(s.size()) * sizeof(T))));
    // and the rng has moved on alike
    CHECK(pml::detail::same_on_every_rank(comm, rng_sharded()));
  }
}

TEST_CASE("VAE on shards: bad input on one rank, an rng or a network that differs, reach every rank", "[mpi][train][vae][errors]") {
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank(), last = p - 1;
  const Eigen::Index n = 40, d = 4;
  const pml::Matrix<double> x = unit_data<double>(n, d, 5);
  const auto [b, e] = shard_of(n, r, p);
  pml::Matrix<double> mine = x.middleRows(b, e - b);
  const pml::VAEOptions options{.input = d, .hidden = {3}, .latent = 2};
  pml::Rng init(1);
  pml::VAE<double> vae(options, init);
  // a NaN on the last rank only
  pml::Matrix<double> bad = mine;
  if (r == last && bad.size() > 0) bad(0, 0) = std::numeric_limits<double>::quiet_NaN();
  pml::Rng rng(2);
  CHECK_THROWS_MATCHES(vae.fit(comm, bad, {.epochs = 1, .batch_size = 4}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("VAE::fit") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(last) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
  // a float model given doubles beyond float's range on the last rank: the entry is named on every rank
  pml::Rng init_float(1);
  pml::VAE<float> small(options, init_float);
  pml::Matrix<double> far = mine;
  if (r == last && far.size() > 0) far(0, 1) = 3e39;
  pml::Rng rng_float(2);
  CHECK_THROWS_MATCHES(small.fit(comm, far, {.epochs = 1, .batch_size = 4}, rng_float), std::domain_error,  // (the last rank has rows)
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("VAE::fit: x must have entries representable in the model's float (entry (0, 1)") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(last) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
  // a wrong width on the last rank
  const pml::Matrix<double> narrow = pml::Matrix<double>::Constant(3, d - 1, 0.5);
  CHECK_THROWS_AS(vae.fit(comm, r == last ? narrow : mine, {.epochs = 1, .batch_size = 4}, rng), std::invalid_argument);
  // no rows anywhere
  CHECK_THROWS_WITH(vae.fit(comm, pml::Matrix<double>(0, d), {.epochs = 1, .batch_size = 4}, rng), Contains("no rows"));
  if (p > 1) {
    pml::Rng other(r == last ? 3 : 2);
    CHECK_THROWS_WITH(vae.fit(comm, mine, {.epochs = 1, .batch_size = 4}, other), Contains("rng is not in the same state on every rank"));
    pml::Rng init2(1);
    pml::VAE<double> different({.input = d, .hidden = {r == last ? Eigen::Index(4) : Eigen::Index(3)}, .latent = 2}, init2);
    pml::Rng rng2(2);
    CHECK_THROWS_WITH(different.fit(comm, mine, {.epochs = 1, .batch_size = 4}, rng2), Contains("different options"));  // (its hidden sizes)
  }
  if (p > 1) {
    // options that differ (a different epoch count would leave ranks waiting in a collective)
    pml::Rng rng4(2);
    CHECK_THROWS_WITH(vae.fit(comm, mine, {.epochs = r == last ? 2 : 1, .batch_size = 4}, rng4), Contains("different options"));
    pml::Rng init3(1);
    pml::VAE<double> other_likelihood({.input = d, .hidden = {3}, .latent = 2, .likelihood = r == last ? pml::VAELikelihood::gaussian : pml::VAELikelihood::bernoulli},
                                      init3);
    pml::Rng rng5(2);
    CHECK_THROWS_WITH(other_likelihood.fit(comm, mine, {.epochs = 1, .batch_size = 4}, rng5), Contains("different options"));
  }
  // a progress report that throws on the last rank only, in the middle of an epoch: every rank stops
  pml::Rng rng6(2);
  pml::FitOptions stop{.epochs = 2, .batch_size = 2};
  stop.progress = [&](const pml::TrainingProgress& at) {
    if (r == last && at.batch == 1) throw std::runtime_error("cancelled");
  };
  CHECK_THROWS_WITH(vae.fit(comm, mine, stop, rng6), Contains("cancelled"));
  // a minibatch larger than all the rows: one step an epoch, as on one process
  pml::Rng rng7(2);
  CHECK_NOTHROW(vae.fit(comm, mine, {.epochs = 1, .batch_size = 1000}, rng7));
  // and afterwards the ranks still train together
  pml::Rng rng3(4);
  CHECK_NOTHROW(vae.fit(comm, mine, {.epochs = 1, .batch_size = 4}, rng3));
}

TEST_CASE("Bayes by Backprop on shards: a loss that overflows on one rank's rows stops every rank", "[mpi][train][bbb][errors]") {
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 30;
  const pml::Matrix<double> x = unit_data<double>(n, 3, 6);
  pml::Matrix<double> y = x.leftCols(1);
  y(n - 1, 0) = 1e200;  // on the last rank: its squared error overflows
  const auto [b, e] = shard_of(n, r, p);
  pml::Rng init(3);
  pml::BayesByBackprop<double> bnn({.input = 3, .hidden = {4}, .output = 1}, init);
  pml::Rng rng(4);
  CHECK_THROWS_MATCHES(bnn.fit(comm, x.middleRows(b, e - b), y.middleRows(b, e - b), {.epochs = 1, .batch_size = 5}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("BayesByBackprop::fit") != std::string::npos && m.find("largest |x|") != std::string::npos;
                       }));
}

TEMPLATE_TEST_CASE("Bayes by Backprop trained on shards with minibatch B equals one process with minibatch P*B", "[mpi][train][bbb]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 57, d = 4;
  pml::Matrix<T> x = unit_data<T>(n, d, 8);
  pml::IntVector labels(n);
  pml::Matrix<T> targets(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    labels(i) = long(x(i, 0) * 2.99);
    targets(i, 0) = T(2) * x(i, 1) - x(i, 2);
    targets(i, 1) = x(i, 3);
  }
  const auto [b, e] = shard_of(n, r, p);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  // one weight draw per minibatch, and the two samplings with each row's own draws (hashed from its position)
  using S = pml::nn::WeightSampling;
  for (const auto& [classify, sampling] : {std::pair{true, S::weights}, std::pair{false, S::weights}, std::pair{false, S::local}, std::pair{true, S::flipout}}) {
    CAPTURE(classify, std::string(pml::enum_name(sampling)));
    const pml::BayesByBackpropOptions options{.input = d, .hidden = {6}, .output = classify ? 3 : 2,
                                              .task = classify ? pml::BayesTask::classification : pml::BayesTask::regression,
                                              .kl_weighting = classify ? pml::KLWeighting::geometric : pml::KLWeighting::uniform,
                                              .sampling = sampling, .samples = 2};
    pml::Rng init0(30), init_mine(30 + std::uint64_t(r));
    pml::BayesByBackprop<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(9), rng_sharded(9);
    const pml::FitOptions one{.epochs = 3, .batch_size = 4 * p, .learning_rate = 1e-2}, each{.epochs = 3, .batch_size = 4, .learning_rate = 1e-2};
    if (classify) {
      whole.fit(pml::Collective::single(), x, labels, one, rng_whole);
      sharded.fit(comm, x.middleRows(b, e - b), pml::IntVector(labels.segment(b, e - b)), each, rng_sharded);
    } else {
      whole.fit(pml::Collective::single(), x, targets, one, rng_whole);
      sharded.fit(comm, x.middleRows(b, e - b), targets.middleRows(b, e - b), each, rng_sharded);
    }
    const pml::Vector<T> w = flat(whole.parameters()), s = flat(sharded.parameters());
    CHECK(relative(s, w) < tol);
    REQUIRE(sharded.loss_history().size() == 3);
    for (std::size_t k = 0; k < 3; ++k)
      CHECK(std::abs(double(sharded.loss_history()[k] - whole.loss_history()[k])) < tol * std::abs(double(whole.loss_history()[k])));
    if (sampling == S::weights) CHECK(whole.loss_history().back() < whole.loss_history().front());  // it learns (3 epochs of 57 rows: flipout's noisier KL may not show it yet)
    if (p == 1) CHECK(s == w);
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(s.data(), std::size_t(s.size()) * sizeof(T))));
  }
}

TEMPLATE_TEST_CASE("Bayesian CNN trained on shards with minibatch B equals one process with minibatch P*B", "[mpi][train][bayesian_cnn]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 41;
  const pml::Matrix<T> x = unit_data<T>(n, 2 * 8 * 7, 11);  // 2-channel 8 x 7 images
  pml::IntVector labels(n);
  for (Eigen::Index i = 0; i < n; ++i) labels(i) = int((i * 7) % 3);
  const auto [b, e] = shard_of(n, r, p);
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  const pml::IntVector mine_labels = labels.segment(b, e - b);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  using S = pml::nn::WeightSampling;
  for (const S sampling : {S::local, S::flipout, S::weights}) {
    CAPTURE(std::string(pml::enum_name(sampling)));
    pml::BayesianCNNOptions options{.channels = 2, .height = 8, .width = 7, .classes = 3, .filters = {3}, .kernel = 3, .hidden = {5}, .sampling = sampling};
    if (sampling == S::flipout) options.prior = pml::nn::BayesPrior::scale_mixture(0.5, 1.0, 0.05);  // a sampled KL
    pml::Rng init0(400), init_mine(400 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
    pml::BayesianCNN<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(6), rng_sharded(6);
    whole.fit(pml::Collective::single(), x, labels, {.epochs = 3, .batch_size = 3 * p, .learning_rate = 1e-2}, rng_whole);
    sharded.fit(comm, mine, mine_labels, {.epochs = 3, .batch_size = 3, .learning_rate = 1e-2}, rng_sharded);
    const pml::Vector<T> w = flat(whole.parameters()), s = flat(sharded.parameters());
    CHECK(relative(s, w) < tol);
    REQUIRE(sharded.loss_history().size() == 3);
    for (std::size_t k = 0; k < 3; ++k)
      CHECK(std::abs(double(sharded.loss_history()[k] - whole.loss_history()[k])) < tol * std::abs(double(whole.loss_history()[k])));
    CHECK(whole.loss_history().back() < whole.loss_history().front());  // it learns
    if (p == 1) CHECK(s == w);
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(s.data(), std::size_t(s.size()) * sizeof(T))));
  }
  // a non-finite pixel on the last rank reaches every rank
  pml::Rng init(1);
  pml::BayesianCNN<T> net({.channels = 2, .height = 8, .width = 7, .classes = 3, .filters = {2}, .kernel = 3, .hidden = {4}}, init);
  pml::Matrix<T> bad = mine;
  if (r == p - 1 && bad.rows() > 0) bad(0, 5) = std::numeric_limits<T>::quiet_NaN();
  pml::Rng rng(1);
  CHECK_THROWS_MATCHES(net.fit(comm, bad, mine_labels, {.epochs = 1, .batch_size = 4}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("BayesianCNN::fit: x must") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
}

TEMPLATE_TEST_CASE("LSTM forecaster trained on shares of the windows with minibatch B equals one process with minibatch P*B", "[mpi][train][lstm_forecaster]",
                   float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  // a seasonal series far from the origin with a trend and noise
  pml::Rng data(12);
  pml::Vector<double> series(71);
  for (Eigen::Index t = 0; t < series.size(); ++t)
    series(t) = 1e4 + 0.3 * double(t) + 2 * std::sin(0.5 * double(t)) + 0.2 * pml::random::normal<double>(data);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  using S = pml::nn::WeightSampling;
  const std::pair<pml::ForecastMethod, S> configs[] = {{pml::ForecastMethod::bayes_by_backprop, S::weights},
                                                      {pml::ForecastMethod::bayes_by_backprop, S::flipout},
                                                      {pml::ForecastMethod::mc_dropout, S::weights}};
  for (const auto& [method, sampling] : configs) {
    CAPTURE(std::string(pml::enum_name(method)), std::string(pml::enum_name(sampling)));
    const pml::LSTMForecasterOptions options{.window = 6, .hidden = 5, .method = method, .sampling = sampling, .dropout = 0.2};
    pml::Rng init0(500), init_mine(500 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
    pml::LSTMForecaster<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(8), rng_sharded(8);
    whole.fit(pml::Collective::single(), series, {.epochs = 3, .batch_size = 5 * p, .learning_rate = 1e-2}, rng_whole);
    sharded.fit(comm, series, {.epochs = 3, .batch_size = 5, .learning_rate = 1e-2}, rng_sharded);
    const pml::Vector<T> w = flat(whole.parameters()), s = flat(sharded.parameters());
    CHECK(relative(s, w) < tol);
    CHECK(sharded.scaling() == whole.scaling());
    REQUIRE(sharded.loss_history().size() == 3);
    for (std::size_t k = 0; k < 3; ++k)
      CHECK(std::abs(double(sharded.loss_history()[k] - whole.loss_history()[k])) < tol * std::abs(double(whole.loss_history()[k])));
    CHECK(whole.loss_history().back() < whole.loss_history().front());  // it learns
    if (p == 1) CHECK(s == w);
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(s.data(), std::size_t(s.size()) * sizeof(T))));
  }
  pml::Rng init(1);
  pml::LSTMForecaster<T> model({.window = 6, .hidden = 4}, init);
  // a series that differs on one rank is refused on every rank
  if (p > 1) {
    pml::Vector<double> mine = series;
    if (r == p - 1) mine(3) += 1;
    pml::Rng rng(2);
    CHECK_THROWS_WITH(model.fit(comm, mine, {.epochs = 1, .batch_size = 4}, rng), Contains("LSTMForecaster::fit: the ranks were given different series"));
  }
  // a non-finite value on the last rank reaches every rank
  pml::Vector<double> bad = series;
  if (r == p - 1) bad(10) = std::numeric_limits<double>::infinity();
  pml::Rng rng(3);
  CHECK_THROWS_MATCHES(model.fit(comm, bad, {.epochs = 1, .batch_size = 4}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("LSTMForecaster::fit: series must") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
  // a constant series trains nothing, on every rank alike
  pml::LSTMForecaster<T> flat_model({.window = 6, .hidden = 4}, init);
  pml::Rng rng4(4);
  flat_model.fit(comm, pml::Vector<double>::Constant(40, 3.0), {.epochs = 2, .batch_size = 4}, rng4);
  CHECK(flat_model.scaling()[1] == T(0));
  CHECK(flat_model.loss_history().empty());
}

TEMPLATE_TEST_CASE("GAN trained on shards with batch B equals one process with batch P*B", "[mpi][train][gan]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  // points on a ring of 8 modes far from the origin
  const Eigen::Index n = 53;
  pml::Rng data(21);
  pml::Matrix<T> x(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double a = 0.785398 * double(i % 8);
    x(i, 0) = T(100 + 2 * std::cos(a) + 0.05 * pml::random::normal<double>(data));
    x(i, 1) = T(-50 + 2 * std::sin(a) + 0.05 * pml::random::normal<double>(data));
  }
  const auto [b, e] = shard_of(n, r, p);
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  for (const pml::GANLoss loss : {pml::GANLoss::non_saturating, pml::GANLoss::wasserstein_gp}) {
    CAPTURE(std::string(pml::enum_name(loss)));
    const pml::GANOptions options{.noise = 3, .output = 2, .generator_hidden = {8}, .discriminator_hidden = {8}, .generator_loss = loss};
    pml::Rng init0(600), init_mine(600 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
    pml::GAN<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(7), rng_sharded(7);
    // (the non-saturating fit also averages G's weights: the average is over the same iterates on every rank)
    const pml::GANFitOptions each{.steps = 12, .discriminator_steps = 2, .batch_size = 4, .generator_learning_rate = 1e-2, .discriminator_learning_rate = 1e-2,
                                  .generator_average = loss == pml::GANLoss::non_saturating ? 0.9 : 0.0};
    pml::GANFitOptions one = each;
    one.batch_size = 4 * p;
    whole.fit(pml::Collective::single(), x, one, rng_whole, 5);
    sharded.fit(comm, mine, each, rng_sharded, 5);
    pml::Rng init_again(600);
    pml::GAN<T> untrained(options, init_again);
    const pml::Vector<T> w = flat(whole.parameters()), s = flat(sharded.parameters()), start = flat(untrained.parameters());
    CHECK(relative(s, w) < tol);
    CHECK(relative(w, start) > 1e-3);  // it trained
    REQUIRE(sharded.loss_history().generator_loss.size() == 3);  // reports after steps 5, 10 and 12
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(std::abs(double(sharded.loss_history().generator_loss[k] - whole.loss_history().generator_loss[k])) <
            tol * (1 + std::abs(double(whole.loss_history().generator_loss[k]))));
      CHECK(std::abs(double(sharded.loss_history().discriminator_loss[k] - whole.loss_history().discriminator_loss[k])) <
            tol * (1 + std::abs(double(whole.loss_history().discriminator_loss[k]))));
    }
    if (p == 1) CHECK(s == w);
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(s.data(), std::size_t(s.size()) * sizeof(T))));
  }
  // packing couples the rows of a batch: refused on every rank
  pml::Rng init(1), rng(2);
  pml::GAN<T> packed({.noise = 2, .output = 2, .packing = 2}, init);
  CHECK_THROWS_WITH(packed.fit(comm, mine, {.steps = 1, .batch_size = 4}, rng), Contains("GAN::fit: a data-parallel fit needs packing 1"));
  // a non-finite value on the last rank reaches every rank
  pml::GAN<T> gan({.noise = 2, .output = 2}, init);
  pml::Matrix<T> bad = mine;
  if (r == p - 1 && bad.rows() > 0) bad(0, 1) = std::numeric_limits<T>::quiet_NaN();
  CHECK_THROWS_MATCHES(gan.fit(comm, bad, {.steps = 1, .batch_size = 4}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("GAN::fit: x must") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
  // steps that differ between ranks would leave ranks waiting: refused
  if (p > 1) {
    pml::Rng same(3);
    CHECK_THROWS_WITH(gan.fit(comm, mine, {.steps = r == 0 ? 2 : 3, .batch_size = 4}, same), Contains("GAN::fit: the ranks were given different options"));
  }
}

TEMPLATE_TEST_CASE("Synchronised batch normalisation: rows spread over the ranks standardise as the stacked rows do, forward and backward",
                   "[mpi][train][batch_norm]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  // 11 images of 3 channels of 2 x 2 pixels, far from the origin (a sum of squares about 0 would lose them)
  const Eigen::Index n = 11, c = 3, s = 4;
  pml::Matrix<T> x = unit_data<T>(n, c * s, 13);
  x.array() += T(1000);
  pml::Matrix<T> weight = unit_data<T>(n, c * s, 14);  // the loss sum(weight ⊙ x̂)
  const auto [b, e] = shard_of(n, r, p);
  const double tol = std::is_same_v<T, float> ? 1e-3 : 1e-9;
  pml::ad::Tape<T> whole_tape, mine_tape;
  const auto whole_x = whole_tape.variable(x);
  const auto whole = pml::ad::batch_standardize(whole_x, c, 1e-5);
  whole_tape.backward(pml::ad::sum(whole.value * whole_tape.constant(weight)));
  const pml::Matrix<T> mine_rows = x.middleRows(b, e - b);
  const auto mine_x = mine_tape.variable(mine_rows);
  const auto mine = pml::ad::batch_standardize(mine_x, c, 1e-5, comm);
  CHECK(mine.count == double(n * s));
  mine_tape.backward(pml::ad::sum(mine.value * mine_tape.constant(pml::Matrix<T>(weight.middleRows(b, e - b)))));
  CHECK(relative(pml::Vector<T>(mine.stats.value().reshaped()), pml::Vector<T>(whole.stats.value().reshaped())) < tol);
  if (e > b) {
    CHECK(relative(pml::Vector<T>(mine.value.value().reshaped()), pml::Vector<T>(whole.value.value().middleRows(b, e - b).reshaped())) < tol);
    CHECK(relative(pml::Vector<T>(mine_x.adjoint().reshaped()), pml::Vector<T>(whole_x.adjoint().middleRows(b, e - b).reshaped())) < 100 * tol);
  }
  // the layer: running statistics from every rank's rows, the same on every rank
  pml::nn::BatchNorm<T> layer_whole(c), layer_mine(c);
  pml::ad::Tape<T> t1, t2;
  layer_whole.forward(t1, t1.constant(x), pml::nn::Mode::train);
  layer_mine.forward(t2, t2.constant(mine_rows), comm);
  CHECK(relative(pml::Vector<T>(layer_mine.running_var().reshaped()), pml::Vector<T>(layer_whole.running_var().reshaped())) < tol);
  CHECK(relative(pml::Vector<T>(layer_mine.running_mean().reshaped()), pml::Vector<T>(layer_whole.running_mean().reshaped())) < tol);
  // one value per channel on all ranks together is refused on every rank
  pml::ad::Tape<T> t3;
  const pml::Matrix<T> one = r == 0 ? pml::Matrix<T>(x.topRows(1).leftCols(c)) : pml::Matrix<T>(0, c);
  CHECK_THROWS_WITH(pml::ad::batch_standardize(t3.constant(one), c, 1e-5, comm), Contains("more than one value"));
}

TEMPLATE_TEST_CASE("Bayesian SegNet trained on shards with minibatch B equals one process with minibatch P*B (synchronised batch norm)",
                   "[mpi][train][segnet]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 23, h = 4, w = 4;
  const pml::Matrix<T> x = unit_data<T>(n, h * w, 15);
  pml::Matrix<T> masks(n, h * w);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < h * w; ++j) masks(i, j) = x(i, j) > T(0.3) ? T(1) : T(0);
  const auto [b, e] = shard_of(n, r, p);
  const pml::Matrix<T> mine = x.middleRows(b, e - b), mine_masks = masks.middleRows(b, e - b);
  const double tol = std::is_same_v<T, float> ? 1e-3 : 1e-9;
  const pml::BayesianSegNetOptions options{.channels = 1, .height = h, .width = w, .classes = 2, .features = {3, 4}, .dropout = 0.3};
  pml::Rng init0(700), init_mine(700 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
  pml::BayesianSegNet<T> whole(options, init0), sharded(options, init_mine);
  pml::Rng rng_whole(9), rng_sharded(9);
  whole.fit(pml::Collective::single(), x, masks, {.epochs = 3, .batch_size = 3 * p, .learning_rate = 1e-2}, rng_whole);
  sharded.fit(comm, mine, mine_masks, {.epochs = 3, .batch_size = 3, .learning_rate = 1e-2}, rng_sharded);
  // the parameters and the batch norms' running statistics
  const pml::Vector<T> wv = flat(identified(whole.stored_parameters())), sv = flat(identified(sharded.stored_parameters()));
  CHECK(relative(sv, wv) < tol);
  REQUIRE(sharded.loss_history().size() == 3);
  for (std::size_t k = 0; k < 3; ++k)
    CHECK(std::abs(double(sharded.loss_history()[k] - whole.loss_history()[k])) < tol * std::abs(double(whole.loss_history()[k])));
  CHECK(whole.loss_history().back() < whole.loss_history().front());  // it learns
  if (p == 1) CHECK(sv == wv);
  CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(sv.data(), std::size_t(sv.size()) * sizeof(T))));
  // a last minibatch of one image on all ranks (N = 2·P·B + 1) is skipped on every rank, as one process skips it
  {
    const Eigen::Index n1 = 4 * p + 1;
    const auto [b1, e1] = shard_of(n1, r, p);
    pml::Rng i1(701), i2(701 + std::uint64_t(r)), f1(3), f2(3);
    pml::BayesianSegNet<T> one(options, i1), many(options, i2);
    one.fit(pml::Collective::single(), x.topRows(n1), masks.topRows(n1), {.epochs = 2, .batch_size = 2 * p, .learning_rate = 1e-2}, f1);
    many.fit(comm, x.middleRows(b1, e1 - b1), masks.middleRows(b1, e1 - b1), {.epochs = 2, .batch_size = 2, .learning_rate = 1e-2}, f2);
    CHECK(relative(flat(identified(many.stored_parameters())), flat(identified(one.stored_parameters()))) < tol);
  }
  // a mask entry that is not a class on the last rank reaches every rank
  pml::Matrix<T> bad = mine_masks;
  if (r == p - 1 && bad.rows() > 0) bad(0, 3) = T(5);
  pml::Rng rng(1);
  CHECK_THROWS_MATCHES(sharded.fit(comm, mine, bad, {.epochs = 1, .batch_size = 3}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("BayesianSegNet::fit: masks must") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
}

TEMPLATE_TEST_CASE("DCGAN trained on shards with minibatch B equals one process with minibatch P*B (synchronised batch norm in both players)",
                   "[mpi][train][dcgan]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 19;
  const pml::Matrix<T> x = unit_data<T>(n, 8 * 8, 17);  // 8 x 8 images in [0, 1]
  const auto [b, e] = shard_of(n, r, p);
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  const double tol = std::is_same_v<T, float> ? 2e-3 : 1e-9;
  for (const pml::GANLoss loss : {pml::GANLoss::non_saturating, pml::GANLoss::wasserstein_gp}) {
    CAPTURE(std::string(pml::enum_name(loss)));
    const pml::DCGANOptions options{.noise = 3, .channels = 1, .height = 8, .width = 8, .generator_features = 2, .discriminator_features = 2, .generator_loss = loss};
    pml::Rng init0(800), init_mine(800 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
    pml::DCGAN<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(4), rng_sharded(4);
    const int steps = loss == pml::GANLoss::wasserstein_gp ? 2 : 1;
    const double average = loss == pml::GANLoss::non_saturating ? 0.5 : 0;  // G's averaged weights and its batch norms' statistics estimated again
    whole.fit(pml::Collective::single(), x, {.epochs = 2, .batch_size = 3 * p, .learning_rate = 1e-2, .discriminator_steps = steps, .generator_average = average},
              rng_whole);
    sharded.fit(comm, mine, {.epochs = 2, .batch_size = 3, .learning_rate = 1e-2, .discriminator_steps = steps, .generator_average = average}, rng_sharded);
    const pml::Vector<T> wv = flat(identified(whole.stored_parameters())), sv = flat(identified(sharded.stored_parameters()));  // with the running variances
    pml::Rng init_again(800);
    pml::DCGAN<T> untrained(options, init_again);
    CHECK(relative(sv, wv) < tol);
    CHECK(relative(wv, flat(identified(untrained.stored_parameters()))) > 1e-3);  // it trained
    REQUIRE(sharded.loss_history().discriminator_loss.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
      CHECK(std::abs(double(sharded.loss_history().discriminator_loss[k] - whole.loss_history().discriminator_loss[k])) <
            tol * (1 + std::abs(double(whole.loss_history().discriminator_loss[k]))));
      CHECK(std::abs(double(sharded.loss_history().generator_loss[k] - whole.loss_history().generator_loss[k])) <
            tol * (1 + std::abs(double(whole.loss_history().generator_loss[k]))));
    }
    if (p == 1) CHECK(sv == wv);
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(sv.data(), std::size_t(sv.size()) * sizeof(T))));
  }
  // packing couples a batch's images: refused on every rank; a value outside [0, 1] on the last rank reaches every rank
  pml::Rng init(1), rng(2);
  pml::DCGAN<T> packed({.noise = 2, .height = 8, .width = 8, .generator_features = 2, .discriminator_features = 2, .packing = 2}, init);
  CHECK_THROWS_WITH(packed.fit(comm, mine, {.epochs = 1, .batch_size = 4}, rng), Contains("DCGAN::fit: a data-parallel fit needs packing 1"));
  pml::DCGAN<T> gan({.noise = 2, .height = 8, .width = 8, .generator_features = 2, .discriminator_features = 2}, init);
  pml::Matrix<T> bad = mine;
  if (r == p - 1 && bad.rows() > 0) bad(0, 1) = T(1.5);
  CHECK_THROWS_MATCHES(gan.fit(comm, bad, {.epochs = 1, .batch_size = 4}, rng), std::domain_error,
                       Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
                         const std::string m = ex.what();
                         return m.find("DCGAN::fit: x must lie in [0, 1]") != std::string::npos &&
                                (p == 1 || m.find("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")") != std::string::npos);
                       }));
}

TEMPLATE_TEST_CASE("InfoGAN trained on shards with minibatch B equals one process with minibatch P*B (both bodies)", "[mpi][train][infogan]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  const Eigen::Index n = 17;
  const double tol = std::is_same_v<T, float> ? 2e-3 : 1e-9;
  for (const pml::InfoGANBody body : {pml::InfoGANBody::dcgan, pml::InfoGANBody::mlp}) {
    CAPTURE(std::string(pml::enum_name(body)));
    const bool conv = body == pml::InfoGANBody::dcgan;
    const pml::Matrix<T> x = unit_data<T>(n, conv ? 8 * 8 : 2, 19);
    const auto [b, e] = shard_of(n, r, p);
    const pml::Matrix<T> mine = x.middleRows(b, e - b);
    pml::InfoGANOptions options{.body = body, .noise = 3, .categorical = {3}, .continuous = 2};
    if (conv) options.height = options.width = 8, options.generator_features = options.discriminator_features = 2;
    else options.output = 2, options.generator_hidden = options.discriminator_hidden = {6}, options.continuous_prior = pml::ContinuousCode::gaussian;
    options.recognition_hidden = 4;
    pml::Rng init0(900), init_mine(900 + std::uint64_t(r));  // the ranks start from different weights: rank 0's are copied
    pml::InfoGAN<T> whole(options, init0), sharded(options, init_mine);
    pml::Rng rng_whole(5), rng_sharded(5);
    whole.fit(pml::Collective::single(), x, {.epochs = 2, .batch_size = 3 * p, .generator_learning_rate = 1e-2, .discriminator_learning_rate = 1e-2}, rng_whole);
    sharded.fit(comm, mine, {.epochs = 2, .batch_size = 3, .generator_learning_rate = 1e-2, .discriminator_learning_rate = 1e-2}, rng_sharded);
    const pml::Vector<T> wv = flat(identified(whole.stored_parameters())), sv = flat(identified(sharded.stored_parameters()));
    CHECK(relative(sv, wv) < tol);
    REQUIRE(sharded.loss_history().information_loss.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
      CHECK(std::abs(double(sharded.loss_history().discriminator_loss[k] - whole.loss_history().discriminator_loss[k])) <
            tol * (1 + std::abs(double(whole.loss_history().discriminator_loss[k]))));
      CHECK(std::abs(double(sharded.loss_history().information_loss[k] - whole.loss_history().information_loss[k])) <
            tol * (1 + std::abs(double(whole.loss_history().information_loss[k]))));
    }
    if (p == 1) CHECK(sv == wv);
    CHECK(pml::detail::same_on_every_rank(comm, pml::detail::fnv1a(sv.data(), std::size_t(sv.size()) * sizeof(T))));
  }
}

int main(int argc, char** argv) { return mpi_test::run_tests(argc, argv); }
