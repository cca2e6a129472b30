// LSTMForecaster (Bayes by Backprop and MC dropout over an LSTM): the loss's gradient for both methods,
// forecasting a noisy seasonal series with calibrated-looking bands, shift and scale equivariance, a
// constant series, the same paths for any thread count, save/load bit for bit, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "pml/core/parallel.hpp"
#include "pml/models/deep/lstm_forecaster.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;
using pml::ForecastMethod;
using pml::Index;

namespace {
// 10 + 0.05 t + 2 sin(2π t / 12) + 0.3 ε: a trend, a yearly season and noise
Eigen::VectorXd seasonal(Index n, std::uint64_t seed) {
  pml::Rng rng(seed);
  Eigen::VectorXd y(n);
  for (Index t = 0; t < n; ++t) y(t) = 10 + 0.05 * double(t) + 2 * std::sin(2 * M_PI * double(t) / 12) + 0.3 * pml::random::normal<double>(rng);
  return y;
}
pml::LSTMForecasterOptions small(ForecastMethod method) {
  pml::LSTMForecasterOptions o;
  o.window = 12;
  o.hidden = 12;
  o.method = method;
  return o;
}
const pml::FitOptions quick{.epochs = 100, .batch_size = 16, .learning_rate = 1e-2};
}  // namespace

TEST_CASE("LSTMForecaster: the loss's gradient for both methods", "[deep][lstm_forecaster][gradcheck]") {
  for (const auto method : {ForecastMethod::bayes_by_backprop, ForecastMethod::mc_dropout}) {
    pml::Rng rng(1);
    auto o = small(method);
    o.window = 4;
    o.hidden = 3;
    o.rho_init = -1;
    o.weight_decay = 0.01;
    pml::LSTMForecaster<double> model(o, rng);
    Eigen::MatrixXd x(3, 4), y(3, 1);
    pml::random::fill_normal(rng, x);
    pml::random::fill_normal(rng, y);
    pml::ad::Tape<double> tape;
    auto loss = [&] {
      pml::Rng fixed(3);
      tape.reset();
      return model.loss(tape, tape.constant(x), tape.constant(y), fixed, 0.3);
    };
    INFO(enum_name(method));
    CHECK(pml::nn::parameter_gradcheck(model.parameters(), tape, loss) < 1e-6);
  }
}

TEST_CASE("LSTMForecaster: forecasts a seasonal series; the band covers most of the held-out values", "[deep][lstm_forecaster][quality]") {
  const Eigen::VectorXd y = seasonal(264, 5);
  const Index horizon = 24, train = y.size() - horizon;
  for (const auto method : {ForecastMethod::bayes_by_backprop, ForecastMethod::mc_dropout}) {
    pml::Rng rng(2);
    auto o = small(method);
    // Bayes by Backprop on 240 values: a small network, or the KL term (its pull of σ towards the prior,
    // about 4.5 nats a weight from σ = 0.0067) outweighs the data and the bands stay several times too wide
    if (method == ForecastMethod::bayes_by_backprop) o.hidden = 6;
    pml::LSTMForecaster<double> model(o, rng);
    model.fit(y.head(train), {.epochs = 100, .batch_size = 16, .learning_rate = 3e-3}, rng);
    REQUIRE(model.loss_history().size() == 100);
    CHECK(model.loss_history().back() < model.loss_history().front());
    const auto bands = model.forecast(y.head(train), horizon, 300, rng, 0.9);
    const Eigen::VectorXd truth = y.tail(horizon);
    const double rmse = std::sqrt((bands.mean - truth).squaredNorm() / double(horizon));
    // the naive forecast (the last value repeated) misses the season: RMSE about 1.5 here
    const double naive = std::sqrt((truth.array() - y(train - 1)).square().mean());
    const double covered = ((truth.array() >= bands.lower.array()) && (truth.array() <= bands.upper.array())).cast<double>().mean();
    INFO(enum_name(method) << ": RMSE " << rmse << " (naive " << naive << "), 90% band coverage " << covered);
    CHECK(rmse < 0.5 * naive);
    CHECK(covered >= 0.75);
    CHECK((bands.lower.array() <= bands.mean.array()).all());
    CHECK((bands.upper.array() >= bands.mean.array()).all());
    CHECK((bands.upper - bands.lower).minCoeff() > 0);
  }
}

TEST_CASE("LSTMForecaster: shifting or scaling the series shifts or scales the forecast; a constant series", "[deep][lstm_forecaster][estimator][quality]") {
  const Eigen::VectorXd y = seasonal(120, 6);
  for (const auto method : {ForecastMethod::bayes_by_backprop, ForecastMethod::mc_dropout})
    for (int d = 0; d <= 1; ++d) {
      auto o = small(method);
      o.differencing = d;
      auto paths = [&](const Eigen::VectorXd& series) {
        pml::Rng rng(3);
        pml::LSTMForecaster<double> model(o, rng);
        model.fit(series, {.epochs = 3, .batch_size = 16}, rng);
        return Eigen::MatrixXd(model.sample_paths(series, 6, 20, rng));
      };
      const Eigen::MatrixXd base = paths(y);
      INFO(enum_name(method) << ", differencing " << d);
      CHECK((paths(y.array() + 1e6).matrix().array() - 1e6 - base.array()).abs().maxCoeff() < 1e-6);
      CHECK((paths(1e-3 * y) * 1e3 - base).cwiseAbs().maxCoeff() < 1e-9 * base.cwiseAbs().maxCoeff());
      CHECK((paths(1e8 * y) * 1e-8 - base).cwiseAbs().maxCoeff() < 1e-9 * base.cwiseAbs().maxCoeff());
      // near the largest double: the standardisation's sums are scaled, nothing overflows
      CHECK((paths(1e300 * y) * 1e-300 - base).cwiseAbs().maxCoeff() < 1e-9 * base.cwiseAbs().maxCoeff());
    }
  // degenerate series: a constant, and a straight line with differencing 1, continue exactly
  for (const auto method : {ForecastMethod::bayes_by_backprop, ForecastMethod::mc_dropout})
    for (int d = 0; d <= 1; ++d) {
      pml::Rng rng(4);
      auto o = small(method);
      o.differencing = d;
      pml::LSTMForecaster<double> model(o, rng);
      const Eigen::VectorXd flat = Eigen::VectorXd::Constant(80, 3.5);
      model.fit(flat, quick, rng);
      CHECK(model.scaling()[1] == 0.0);
      CHECK(model.loss_history().empty());
      const auto bands = model.forecast(flat, 12, 50, rng);
      CHECK((bands.lower.array() == 3.5).all());
      CHECK((bands.upper.array() == 3.5).all());
      // a constant that is not exact in binary (0.1): its mean differs from it in the last bit, still degenerate
      const Eigen::VectorXd tenths = Eigen::VectorXd::Constant(80, 0.1);
      model.fit(tenths, quick, rng);
      CHECK(model.scaling()[1] == 0.0);
      if (d == 1) {
        const Eigen::VectorXd line = Eigen::VectorXd::LinSpaced(80, 2.0, 2.0 + 79 * 0.5);
        model.fit(line, quick, rng);
        const Eigen::MatrixXd paths = model.sample_paths(line, 5, 3, rng);
        for (Index s = 0; s < 5; ++s) CHECK(paths(2, s) == Approx(line(79) + 0.5 * double(s + 1)).epsilon(1e-12));
      }
    }
}

TEST_CASE("LSTMForecaster: the same paths for any thread count, and a row vector is a series", "[deep][lstm_forecaster][parallel]") {
  const Eigen::VectorXd y = seasonal(80, 7);
  for (const auto method : {ForecastMethod::bayes_by_backprop, ForecastMethod::mc_dropout}) {
    pml::Rng rng(5);
    pml::LSTMForecaster<float> model(small(method), rng);
    model.fit(y, {.epochs = 2}, rng);
    pml::set_num_threads(1);
    pml::Rng a(6);
    const Eigen::MatrixXf one = model.sample_paths(y, 5, 16, a);
    pml::set_num_threads(3);
    pml::Rng b(6);
    const Eigen::MatrixXf three = model.sample_paths(y.transpose(), 5, 16, b);
    pml::set_num_threads(0);
    INFO(enum_name(method));
    CHECK((one - three).cwiseAbs().maxCoeff() == 0.0f);
    CHECK(one.allFinite());
    // the paths differ from one another (each its own weight draw or masks and its own noise)
    for (Index i = 1; i < one.rows(); ++i) CHECK((one.row(i) - one.row(0)).cwiseAbs().maxCoeff() > 0.0f);
  }
}

TEST_CASE("LSTMForecaster: save and load give the same forecasts bit for bit", "[deep][lstm_forecaster][io]") {
  const Eigen::VectorXd y = seasonal(60, 8);
  for (const auto method : {ForecastMethod::bayes_by_backprop, ForecastMethod::mc_dropout})
    for (const auto format : {pml::nn::FileFormat::binary, pml::nn::FileFormat::json}) {
      pml::Rng rng(7);
      pml::LSTMForecaster<double> model(small(method), rng);
      model.fit(y, {.epochs = 2}, rng);
      const auto path = std::filesystem::temp_directory_path() / ("pml_lstm_forecaster_" + std::string(enum_name(method)) + ".pml");
      model.save(path, format);
      const auto loaded = pml::LSTMForecaster<double>::load(path);
      pml::Rng a(8), b(8);
      CHECK((model.sample_paths(y, 4, 8, a) - loaded.sample_paths(y, 4, 8, b)).cwiseAbs().maxCoeff() == 0.0);
      CHECK(loaded.options().method == method);
      CHECK(loaded.scaling() == model.scaling());
      std::filesystem::remove(path);
    }
}

TEST_CASE("LSTMForecaster errors name the function, the argument and the value", "[deep][lstm_forecaster][errors]") {
  pml::Rng rng(9);
  pml::LSTMForecaster<double> model(small(ForecastMethod::mc_dropout), rng);
  const Eigen::VectorXd y = seasonal(40, 9);
  CHECK_THROWS_WITH(model.fit(y.head(14), quick, rng), Contains("LSTMForecaster::fit") && Contains("14 values, at least 15"));
  CHECK_THROWS_WITH(model.fit(Eigen::MatrixXd::Zero(20, 2), quick, rng), Contains("LSTMForecaster::fit") && Contains("20x2") && Contains("vector"));
  Eigen::VectorXd bad = y;
  bad(3) = std::nan("");
  CHECK_THROWS_WITH(model.fit(bad, quick, rng), Contains("LSTMForecaster::fit") && Contains("series"));
  CHECK_THROWS_WITH(model.fit(y, {.epochs = 0}, rng), Contains("epochs"));
  CHECK_THROWS_WITH(model.sample_paths(y.head(12), 3, 5, rng), Contains("LSTMForecaster::sample_paths") && Contains("12 values, at least 13"));
  CHECK_THROWS_WITH(model.sample_paths(y, 0, 5, rng), Contains("horizon") && Contains("0"));
  CHECK_THROWS_WITH(model.sample_paths(y, 3, 0, rng), Contains("samples"));
  CHECK_THROWS_WITH(model.forecast(y, 3, 5, rng, 1.0), Contains("LSTMForecaster::forecast") && Contains("level"));
  auto o = small(ForecastMethod::bayes_by_backprop);
  o.differencing = 2;
  CHECK_THROWS_WITH(pml::LSTMForecaster<double>(o, rng), Contains("LSTMForecaster") && Contains("differencing") && Contains("2"));
  o = small(ForecastMethod::bayes_by_backprop);
  o.sampling = pml::nn::WeightSampling::local;
  CHECK_THROWS_WITH(pml::LSTMForecaster<double>(o, rng), Contains("sampling") && Contains("local"));
  o = small(ForecastMethod::mc_dropout);
  o.dropout = 1;
  CHECK_THROWS_WITH(pml::LSTMForecaster<double>(o, rng), Contains("dropout"));
  o.dropout = 0.1;
  o.window = 0;
  CHECK_THROWS_WITH(pml::LSTMForecaster<double>(o, rng), Contains("window"));
  // a file of another model type
  const auto path = std::filesystem::temp_directory_path() / "pml_lstm_forecaster_wrong.pml";
  pml::nn::save_parameters(path, model.parameters(), pml::nn::FileFormat::binary, {"BayesianCNN", "{}"});
  CHECK_THROWS_WITH(pml::LSTMForecaster<double>::load(path), Contains("LSTMForecaster::load"));
  std::filesystem::remove(path);
}
