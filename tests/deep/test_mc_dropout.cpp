// MC dropout regression: loss gradients, Gal's weight decay, the band widening in a gap in the data and
// outside it, test log-likelihood against standard dropout, the heteroscedastic split, save/load, errors.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "pml/models/deep/mc_dropout.hpp"
#include "pml/models/deep/vae.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;

namespace {
// y = sin(3x) + noise on x in [-1, -gap] and [gap, 1] (gap = 0: the whole interval)
void gap_data(pml::Rng& rng, Eigen::Index n, Eigen::MatrixXd& x, Eigen::MatrixXd& y, double gap = 0.5, double noise = 0.1) {
  x.resize(n, 1);
  y.resize(n, 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double u = pml::random::uniform<double>(rng) * 2 * (1 - gap);
    x(i, 0) = u < 1 - gap ? -1 + u : gap + (u - (1 - gap));
    y(i, 0) = std::sin(3 * x(i, 0)) + noise * pml::random::normal<double>(rng);
  }
}
}  // namespace

TEST_CASE("MC dropout loss gradients match finite differences", "[deep][mc_dropout][gradcheck]") {
  for (const bool hetero : {false, true}) {
    pml::Rng rng(1);
    pml::MCDropoutRegressor<double> net({.input = 3, .hidden = {5, 4}, .output = 2, .activation = pml::ad::Activation::tanh,
                                         .dropout = 0.3, .heteroscedastic = hetero},
                                        rng);
    Eigen::MatrixXd x(6, 3), y(6, 2);
    pml::random::fill_normal(rng, x);
    pml::random::fill_normal(rng, y);
    pml::ad::Tape<double> tape;
    auto loss = [&] {
      pml::Rng fixed(7);  // the same dropout masks on every evaluation
      tape.reset();
      return net.loss(tape, tape.constant(x), tape.constant(y), fixed);
    };
    INFO("heteroscedastic " << hetero);
    CHECK(pml::nn::parameter_gradcheck(net.parameters(), tape, loss) < 1e-6);
  }
}

TEST_CASE("MC dropout weight decay follows Gal & Ghahramani", "[deep][mc_dropout]") {
  pml::Rng rng(1);
  pml::MCDropoutRegressor<double> net({.input = 1, .dropout = 0.1, .length_scale = 0.5, .tau = 4}, rng);
  CHECK(net.weight_decay(100) == Approx(0.25 * 0.9 / (2 * 100 * 4)));
  CHECK(net.weight_decay(100, false) == Approx(0.25 / (2 * 100 * 4)));
  CHECK_THROWS_WITH(net.weight_decay(0), Contains("weight_decay") && Contains("n"));
}

TEST_CASE("MC dropout band widens in the gap and outside the data; beats standard dropout on test LL", "[deep][mc_dropout][quality]") {
  pml::Rng rng(3);
  Eigen::MatrixXd x, y, xt, yt;
  gap_data(rng, 160, x, y);
  gap_data(rng, 400, xt, yt, 0.0);  // test points cover the gap too
  pml::MCDropoutRegressor<double> net({.input = 1, .hidden = {64, 64}, .dropout = 0.1, .length_scale = 1e-2, .tau = 100}, rng);
  net.fit(x, y, {.epochs = 400, .batch_size = 32, .learning_rate = 3e-3}, rng);
  const auto& history = net.loss_history();
  CHECK(history.back() < 0.2 * history.front());
  Eigen::MatrixXd grid(5, 1);
  grid << -0.75, 0.0, 0.75, 1.8, -1.8;  // in the data, in the gap, in the data, outside, outside
  const auto p = net.predict(grid, 200, rng);
  const double inside = std::max(p.epistemic(0, 0), p.epistemic(2, 0));
  INFO("epistemic variance at -0.7, 0, 0.7, 1.8, -1.8: " << p.epistemic.transpose());
  CHECK(p.epistemic(1, 0) > 2.5 * inside);  // 3.8x to 8.2x over seeds 1..8
  CHECK(p.epistemic(3, 0) > 4 * inside);
  CHECK(p.epistemic(4, 0) > 4 * inside);
  CHECK(p.aleatoric.isApproxToConstant(0.01));
  CHECK(p.variance.isApprox(p.aleatoric + p.epistemic));
  // the fit is good where there is data
  CHECK(std::abs(p.mean(0, 0) - std::sin(-2.25)) < 0.15);
  CHECK(std::abs(p.mean(2, 0) - std::sin(2.25)) < 0.15);
  // held-out points on [-1, 1] (in the gap too): MC dropout's predictive beats standard dropout's, whose
  // variance is 1/tau everywhere (MC wins on seeds 1..8: 0.50..0.68 against 0.08..0.67 nats)
  const double mc = net.score(xt, yt, 100, rng), standard = net.score(xt, yt);
  INFO("test log-likelihood: MC " << mc << ", standard " << standard);
  CHECK(mc > standard);
}

TEST_CASE("heteroscedastic MC dropout learns input-dependent noise", "[deep][mc_dropout]") {
  pml::Rng rng(4);
  const Eigen::Index n = 400;
  Eigen::MatrixXd x(n, 1), y(n, 1);
  for (Eigen::Index i = 0; i < n; ++i) {  // noise sd grows from 0.05 at x = -1 to 0.55 at x = 1
    x(i, 0) = 2 * pml::random::uniform<double>(rng) - 1;
    y(i, 0) = x(i, 0) + (0.3 + 0.25 * x(i, 0)) * pml::random::normal<double>(rng);
  }
  pml::MCDropoutRegressor<double> net({.input = 1, .hidden = {32, 32}, .dropout = 0.05, .heteroscedastic = true}, rng);
  net.fit(x, y, {.epochs = 150, .batch_size = 50, .learning_rate = 3e-3}, rng);
  Eigen::MatrixXd grid(2, 1);
  grid << -0.8, 0.8;
  const auto p = net.predict(grid, 100, rng);
  INFO("aleatoric sd: " << p.aleatoric.cwiseSqrt().transpose() << " (true 0.1, 0.5)");
  CHECK(std::sqrt(p.aleatoric(0, 0)) == Approx(0.1).margin(0.06));
  CHECK(std::sqrt(p.aleatoric(1, 0)) == Approx(0.5).margin(0.15));
  CHECK(p.variance.isApprox(p.aleatoric + p.epistemic));
  CHECK((p.epistemic.array() > 0).all());
}

TEST_CASE("MC dropout save/load predicts bit-identically; float works", "[deep][mc_dropout]") {
  pml::Rng rng(5);
  Eigen::MatrixXd x, y;
  gap_data(rng, 64, x, y);
  pml::MCDropoutRegressor<float> net({.input = 1, .hidden = {16}, .dropout = 0.2}, rng);
  net.fit(x, y, {.epochs = 5, .batch_size = 16}, rng);
  const auto file = std::filesystem::temp_directory_path() / "pml_mc_dropout_test.pml";
  net.save(file);
  auto twin = pml::MCDropoutRegressor<float>::load(file);
  CHECK(twin.options().dropout == Approx(0.2));
  CHECK_THROWS_WITH(pml::VAE<float>::load(file), Contains("VAE::load") && Contains("holds a MCDropoutRegressor, not a VAE"));
  std::filesystem::remove(file);
  pml::Rng r1(11), r2(11);
  const auto a = net.predict(x, 20, r1), b = twin.predict(x, 20, r2);
  CHECK(std::memcmp(a.mean.data(), b.mean.data(), sizeof(float) * std::size_t(a.mean.size())) == 0);
  CHECK(std::memcmp(a.variance.data(), b.variance.data(), sizeof(float) * std::size_t(a.variance.size())) == 0);
  CHECK(net.predict(x).mean == twin.predict(x).mean);
}

TEST_CASE("fit reports progress after every minibatch", "[deep][mc_dropout]") {
  pml::Rng rng(12);
  Eigen::MatrixXd x, y;
  gap_data(rng, 50, x, y);
  pml::MCDropoutRegressor<double> net({.input = 1, .hidden = {8}}, rng);
  std::vector<pml::TrainingProgress> seen;
  net.fit(x, y, {.epochs = 3, .batch_size = 16, .progress = [&](const pml::TrainingProgress& p) { seen.push_back(p); }}, rng);
  const auto& history = net.loss_history();
  REQUIRE(seen.size() == 3 * 4);  // 50 rows in batches of 16: 4 per epoch
  CHECK(seen.back().epoch == 2);
  CHECK(seen.back().epochs == 3);
  CHECK(seen.back().batch == 3);
  CHECK(seen.back().batches == 4);
  CHECK(seen.back().mean_loss == Approx(history.back()));
  CHECK(seen[3].mean_loss == Approx(history.front()));
}

TEST_CASE("MC dropout rejects bad input", "[deep][mc_dropout][errors]") {
  pml::Rng rng(6);
  CHECK_THROWS_WITH(pml::MCDropoutRegressor<double>({.input = 0}, rng), Contains("input"));
  CHECK_THROWS_WITH(pml::MCDropoutRegressor<double>({.input = 1, .dropout = 1.0}, rng), Contains("dropout"));
  CHECK_THROWS_WITH(pml::MCDropoutRegressor<double>({.input = 1, .tau = -1}, rng), Contains("tau"));
  pml::MCDropoutRegressor<double> net({.input = 2, .hidden = {4}}, rng);
  Eigen::MatrixXd x(3, 2), y(3, 1);
  x.setZero();
  y.setZero();
  CHECK_THROWS_WITH(net.fit(Eigen::MatrixXd(3, 3), y, {}, rng), Contains("MCDropoutRegressor::fit") && Contains("3 columns, expected 2"));
  CHECK_THROWS_WITH(net.fit(x, Eigen::MatrixXd(2, 1), {}, rng), Contains("rows"));
  CHECK_THROWS_WITH(net.fit(Eigen::MatrixXd(0, 2), Eigen::MatrixXd(0, 1), {}, rng), Contains("no rows"));
  Eigen::MatrixXd bad = x;
  bad(1, 1) = std::nan("");
  const auto before = net.parameters()[0]->value;
  CHECK_THROWS_WITH(net.fit(bad, y, {}, rng), Contains("x"));
  CHECK(net.parameters()[0]->value == before);
  CHECK_THROWS_WITH(net.fit(x, y, {.epochs = 0}, rng), Contains("epochs"));
  // a float model given doubles beyond float's range: the entry is named, x's before y's
  pml::MCDropoutRegressor<float> small({.input = 2, .hidden = {4}}, rng);
  Eigen::MatrixXd far_x = x, far_y = y;
  far_x(2, 1) = 3e39;
  far_y(0, 0) = -1e40;
  CHECK_THROWS_WITH(small.fit(far_x, far_y, {}, rng), Contains("MCDropoutRegressor::fit: x must have entries representable") &&
                                                         Contains("(2, 1)") && Contains("e+39"));
  CHECK_THROWS_WITH(small.fit(x, far_y, {}, rng), Contains("y must have entries representable") && Contains("(0, 0)"));
  CHECK_THROWS_WITH(net.predict(x, 0, rng), Contains("samples"));
  CHECK_THROWS_WITH(net.predict(Eigen::MatrixXd(2, 1), 5, rng), Contains("MCDropoutRegressor::predict"));
  CHECK_THROWS_WITH(net.score_samples(x, Eigen::MatrixXd(3, 2), 5, rng), Contains("y has 2 columns"));
}

// Issue 15 §1: the initialisation is an option of the model (Keras's MC-dropout recipe uses Glorot uniform).
TEST_CASE("MC dropout: the init option reaches every layer; the default is unchanged", "[deep][mc_dropout][init]") {
  pml::Rng a(4), b(4), c(4);
  const pml::MCDropoutRegressor<double> glorot({.input = 8, .hidden = {50}, .init = pml::nn::Init::xavier_uniform}, a);
  const pml::MCDropoutRegressor<double> automatic({.input = 8, .hidden = {50}}, b);
  const pml::MCDropoutRegressor<double> explicit_default({.input = 8, .hidden = {50}, .init = pml::nn::Init::automatic}, c);
  const auto g = glorot.parameters(), d = automatic.parameters(), e = explicit_default.parameters();
  REQUIRE(g.size() == 4);
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO(g[i]->name);
    CHECK(d[i]->value == e[i]->value);  // automatic is the default
    const Eigen::MatrixXd& w = g[i]->value;
    if (g[i]->name.find("weight") != std::string::npos)
      CHECK(w.cwiseAbs().maxCoeff() <= std::sqrt(6.0 / double(w.rows() + w.cols())));
    else
      CHECK(w.isZero(0));
  }
  // ReLU hidden layer: automatic draws He normal there, so it differs from Glorot uniform
  CHECK(d[0]->value.cwiseAbs().maxCoeff() > std::sqrt(6.0 / 58.0));
}

// Issue 15 §3: the paper's objective (mean of 1/2 |y - yhat|^2, weights and biases decayed) and Gal's
// code's (Keras: mean of |y - yhat|^2, weights only decayed).
TEST_CASE("MC dropout loss forms: the values of a known network, their gradients, the names", "[deep][mc_dropout][loss]") {
  pml::Rng rng(21);
  Eigen::MatrixXd x(5, 2), y(5, 2);
  pml::random::fill_normal(rng, x);
  pml::random::fill_normal(rng, y);
  for (const auto form : {pml::MCDropoutLoss::half_squared_error, pml::MCDropoutLoss::mean_squared_error}) {
    INFO(pml::enum_name(form));
    pml::Rng build(3);
    pml::MCDropoutRegressor<double> net({.input = 2, .hidden = {4}, .output = 2, .dropout = 0, .loss = form}, build);
    // a hand-set network: one ReLU layer, so the output is known in closed form
    auto params = net.parameters();
    REQUIRE(params.size() == 4);
    params[0]->value << 0.5, -1.0, 0.25, 2.0, -0.5, 1.5, 1.0, 0.0;  // 2 x 4
    params[1]->value << 0.1, -0.2, 0.3, 0.0;
    params[2]->value << 1.0, -1.0, 0.5, 2.0, -0.25, 0.75, 1.5, -0.5;  // 4 x 2
    params[3]->value << 0.05, -0.05;
    const Eigen::MatrixXd h = ((x * params[0]->value).rowwise() + params[1]->value.row(0)).cwiseMax(0.0);
    const Eigen::MatrixXd out = (h * params[2]->value).rowwise() + params[3]->value.row(0);
    const double sse = (out - y).squaredNorm() / double(x.rows());
    pml::ad::Tape<double> tape;
    pml::Rng unused(0);
    const double value = net.loss(tape, tape.constant(x), tape.constant(y), unused).value()(0, 0);
    CHECK(value == Approx(form == pml::MCDropoutLoss::mean_squared_error ? sse : 0.5 * sse).epsilon(1e-12));
    auto loss = [&] {
      pml::Rng fixed(7);
      tape.reset();
      return net.loss(tape, tape.constant(x), tape.constant(y), fixed);
    };
    CHECK(pml::nn::parameter_gradcheck(net.parameters(), tape, loss) < 1e-6);
  }
  CHECK(pml::enum_name(pml::MCDropoutLoss::half_squared_error) == "half_squared_error");
  CHECK(pml::enum_from_name<pml::MCDropoutLoss>("mean_squared_error") == pml::MCDropoutLoss::mean_squared_error);
  CHECK(pml::MCDropoutOptions{}.loss == pml::MCDropoutLoss::half_squared_error);  // the default is unchanged
}

TEST_CASE("MC dropout loss forms: fit decays the biases with the paper's form only", "[deep][mc_dropout][loss]") {
  // With y equal to the network's own (dropout-free) output the data term's gradient is zero, so one Adam
  // step moves exactly the parameters the weight decay reaches (each by the learning rate: Adam's first
  // step is lr * sign(gradient)).
  for (const auto form : {pml::MCDropoutLoss::half_squared_error, pml::MCDropoutLoss::mean_squared_error}) {
    INFO(pml::enum_name(form));
    pml::Rng rng(8);
    // l = 1: a decay (lambda = 0.1) whose gradient is far above Adam's epsilon
    pml::MCDropoutRegressor<double> net({.input = 3, .hidden = {6}, .dropout = 0, .length_scale = 1, .tau = 0.5, .init = pml::nn::Init::pytorch, .loss = form},
                                        rng);
    Eigen::MatrixXd x(10, 3);
    pml::random::fill_normal(rng, x);
    const Eigen::MatrixXd y = net.predict(x).mean;
    std::vector<Eigen::MatrixXd> before;
    for (const auto* p : net.parameters()) before.push_back(p->value);
    net.fit(x, y, {.epochs = 1, .batch_size = 10, .learning_rate = 1e-3}, rng);
    const auto after = net.parameters();
    for (std::size_t i = 0; i < after.size(); ++i) {
      INFO(after[i]->name);
      const Eigen::MatrixXd step = after[i]->value - before[i];
      const bool bias = after[i]->name.find("bias") != std::string::npos;
      if (bias && form == pml::MCDropoutLoss::mean_squared_error) {
        CHECK(step.cwiseAbs().maxCoeff() < 1e-9);
      } else {
        // every entry moves against its sign (the gradient of lambda w^2 is 2 lambda w) by about lr
        CHECK((step.array() * before[i].array() < 0).all());
        CHECK(step.cwiseAbs().minCoeff() == Approx(1e-3).epsilon(1e-2));
        CHECK(step.cwiseAbs().maxCoeff() == Approx(1e-3).epsilon(1e-2));
      }
    }
    CHECK(net.loss_history().front() == Approx(0).margin(1e-20));  // no decay in the reported loss
  }
}

TEST_CASE("MC dropout score with target_scale: tau on the raw scale (Gal's code), the other reading by - log s", "[deep][mc_dropout][loss]") {
  pml::Rng rng(9);
  Eigen::MatrixXd x(7, 2), y(7, 1);
  pml::random::fill_normal(rng, x);
  pml::random::fill_normal(rng, y);
  const double tau = 3e-4, s = 77.0;
  pml::MCDropoutRegressor<double> net({.input = 2, .hidden = {5}, .dropout = 0.1, .dropout_input = true, .tau = tau}, rng);
  // Gal's net.py: logsumexp_t(-tau/2 (y_raw - yhat_raw,t)^2) - log T - log(2 pi)/2 + log(tau)/2, by hand
  // from the same passes (the same Rng seed gives the same masks: pass t draws from the t-th stream split from
  // the caller's generator, core/parallel.hpp's parallel_passes)
  const int samples = 50;
  Eigen::MatrixXd passes(x.rows(), samples);
  pml::Rng by_hand(17);
  for (int t = 0; t < samples; ++t) {
    pml::Rng stream = by_hand.split();
    passes.col(t) = net.network().predict(x, stream, true).col(0);
  }
  Eigen::VectorXd expected(x.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const Eigen::ArrayXd a = -0.5 * tau * (s * (y(i, 0) - passes.row(i).array())).square();
    expected(i) = a.maxCoeff() + std::log((a - a.maxCoeff()).exp().sum()) - std::log(double(samples)) - 0.5 * std::log(2 * M_PI) + 0.5 * std::log(tau);
  }
  pml::Rng r1(17), r2(17), r3(17);
  CHECK(net.score_samples(x, y, samples, r1, s).isApprox(expected, 1e-12));
  // target_scale 1 is the density of y itself, as before
  pml::Rng r4(17);
  CHECK(net.score_samples(x, y, samples, r2, 1.0) == net.score_samples(x, y, samples, r4));
  // heteroscedastic: the variances scale with s^2, so the raw density is the standardised one minus log s
  pml::MCDropoutRegressor<double> hetero({.input = 2, .hidden = {5}, .dropout = 0.1, .heteroscedastic = true}, rng);
  pml::Rng h1(5), h2(5);
  CHECK(hetero.score(x, y, samples, h1, s) == Approx(hetero.score(x, y, samples, h2) - std::log(s)).epsilon(1e-12));
  CHECK_THROWS_WITH(net.score_samples(x, y, samples, r3, 0.0), Contains("MCDropoutRegressor::score_samples") && Contains("target_scale"));
  CHECK_THROWS_WITH(net.score(x, y, samples, r3, std::nan("")), Contains("target_scale"));
  // scales far from 1 stay finite and exact in log space (no s^2 over- or underflow), in float too
  pml::Rng fr(3);
  const Eigen::MatrixXf xf = x.cast<float>(), yf = y.cast<float>();
  pml::MCDropoutRegressor<float> hf({.input = 2, .hidden = {5}, .dropout = 0.1, .heteroscedastic = true}, fr);
  for (const double scale : {1e-30, 1e-20, 1e20, 1e30}) {
    pml::Rng f1(6), f2(6);
    const float got = hf.score(xf, yf, samples, f1, scale), base = hf.score(xf, yf, samples, f2);
    INFO("target_scale " << scale);
    REQUIRE(std::isfinite(got));
    CHECK(double(got) == Approx(double(base) - std::log(scale)).epsilon(1e-5));
  }
  for (const double scale : {1e-200, 1e160}) {
    pml::Rng d1(6), d2(6);
    CHECK(hetero.score(x, y, samples, d1, scale) == Approx(hetero.score(x, y, samples, d2) - std::log(scale)).epsilon(1e-12));
  }
  pml::Rng f3(6);
  CHECK_THROWS_WITH(hf.score(xf, yf, samples, f3, 1e39), Contains("target_scale") && Contains("float"));  // infinite in float
}

TEST_CASE("MC dropout and every layer refuse an out-of-range loss or init value", "[deep][mc_dropout][loss][init][errors]") {
  pml::Rng rng(1);
  CHECK_THROWS_AS(pml::MCDropoutRegressor<double>({.input = 2, .loss = static_cast<pml::MCDropoutLoss>(5)}, rng), std::domain_error);
  CHECK_THROWS_WITH(pml::MCDropoutRegressor<double>({.input = 2, .loss = static_cast<pml::MCDropoutLoss>(5)}, rng),
                    Contains("MCDropoutRegressor") && Contains("loss") && Contains("got 5"));
  CHECK_THROWS_AS(pml::MCDropoutRegressor<double>({.input = 2, .init = static_cast<pml::nn::Init>(7)}, rng), std::domain_error);
  CHECK_THROWS_WITH(pml::MCDropoutRegressor<float>({.input = 2, .init = static_cast<pml::nn::Init>(255)}, rng),
                    Contains("init") && Contains("got 255") && Contains("pytorch"));
}

TEST_CASE("MC dropout loss form: files keep the weights, not the form; old files load with the default", "[deep][mc_dropout][loss]") {
  pml::Rng rng(10);
  Eigen::MatrixXd x, y;
  gap_data(rng, 40, x, y);
  pml::MCDropoutRegressor<double> net({.input = 1, .hidden = {8}, .dropout = 0.1, .loss = pml::MCDropoutLoss::mean_squared_error}, rng);
  net.fit(x, y, {.epochs = 3, .batch_size = 16}, rng);
  const auto file = std::filesystem::temp_directory_path() / "pml_mc_dropout_loss.pml";
  net.save(file);
  const auto twin = pml::MCDropoutRegressor<double>::load(file);
  std::filesystem::remove(file);
  CHECK(twin.options().loss == pml::MCDropoutLoss::half_squared_error);  // not stored: the default
  pml::Rng r1(2), r2(2);
  CHECK(net.predict(x, 10, r1).mean == twin.predict(x, 10, r2).mean);
}
