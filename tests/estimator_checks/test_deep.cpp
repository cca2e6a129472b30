// The estimator check suite over pml's deep models (checks in estimator_checks.hpp), kept tiny (a few
// epochs, widths of 8) so that the suite runs in seconds, also under the sanitizers.
//
// Checks that do not apply to every deep model, and why:
// - shift and scale: the networks do not standardise their inputs; a shifted or scaled data set is a
//   different optimisation problem (different activations, different Adam trajectory), so equal results
//   are not expected.
// - row order: training draws shuffled minibatches (GAN: rows with replacement) from the rng by row
//   index, so permuting the rows changes the minibatches and the stochastic-gradient trajectory.
// - duplicate = weight 2: fit() takes no sample weights.

#include "estimator_checks/estimator_checks.hpp"

#include <tuple>

#include "pml/models/deep.hpp"

namespace {

using namespace pml_test::estimator;
using pml::Index;
using pml::Matrix;
using pml::Rng;
using pml::Vector;

constexpr const char* no_standardisation = "the network does not standardise its inputs: x + c and s x are different training problems";
constexpr const char* minibatch_order = "stochastic minibatches are drawn by row index, so another row order is another SGD trajectory";
constexpr const char* no_weights = "fit() takes no sample weights";

inline const char* deep_not_applicable(Check c) {
  switch (c) {
    case Check::shift:
    case Check::scale: return no_standardisation;
    case Check::row_order: return minibatch_order;
    case Check::duplicate_weight: return no_weights;
    default: return nullptr;
  }
}

/// Tiny training runs: a handful of epochs of minibatches of 16.
inline pml::FitOptions tiny_fit() { return {.epochs = 4, .batch_size = 16, .learning_rate = 1e-2}; }

struct DeepDefaults : AdapterDefaults {
  // float and double start from the same draws but round differently at every Adam step
  static constexpr double float_tolerance = 1e-2;
  static const char* not_applicable(Check c) { return deep_not_applicable(c); }
};

struct AutoEncoderAdapter : DeepDefaults {
  static constexpr const char* name = "AutoEncoder";
  static constexpr const char* function = "AutoEncoder";
  static constexpr std::array arguments{"x", "input", "code"};
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::AutoEncoder<T> ae({.input = p.x.cols(), .hidden = {8}, .code = 2, .activation = pml::ad::Activation::tanh}, rng);
    ae.fit(p.x, tiny_fit(), rng);
    const auto& history = ae.loss_history();
    return {scaled("final training loss", double(history.back()), 0), scaled("encode(query)", ae.encode(p.query), 0, true),
            scaled("reconstruct(query)", ae.reconstruct(p.query), 0, true)};
  }
};

struct VAEAdapter : DeepDefaults {
  static constexpr const char* name = "VAE(gaussian)";
  static constexpr const char* function = "VAE";
  static constexpr std::array arguments{"x", "input", "latent"};
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::VAE<T> vae({.input = p.x.cols(), .hidden = {8}, .latent = 2, .activation = pml::ad::Activation::tanh, .likelihood = pml::VAELikelihood::gaussian}, rng);
    vae.fit(p.x, tiny_fit(), rng);
    const auto& history = vae.elbo_history();
    const auto q = vae.encode(p.query);
    Rng eval(seed + 1);
    return {scaled("final negative ELBO", double(history.back()), 0), scaled("encode(query).mean", q.mean, 0, true),
            scaled("encode(query).log_variance", q.log_variance, 0, true), scaled("reconstruct(query)", vae.reconstruct(p.query), 0, true),
            scaled("elbo(query)", vae.elbo(p.query, eval), 0, true)};
  }
};

struct BayesByBackpropAdapter : DeepDefaults {
  static constexpr const char* name = "BayesByBackprop(regression)";
  static constexpr const char* function = "BayesByBackprop";
  static constexpr std::array arguments{"x", "y", "input"};
  static constexpr Target target = Target::continuous;
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::BayesByBackprop<T> bnn({.input = p.x.cols(), .hidden = {8}, .output = 1, .activation = pml::ad::Activation::tanh}, rng);
    const Matrix<T> y = p.y;
    bnn.fit(p.x, y, tiny_fit(), rng);
    const auto& history = bnn.loss_history();
    Rng eval(seed + 1);
    const auto pred = bnn.predict(p.query, 4, eval);
    return {scaled("final free energy", double(history.back()), 0), scaled("predict_mean(query)", bnn.predict_mean(p.query), 0, true),
            scaled("predict(query, 4).mean", pred.mean, 0, true), scaled("predict(query, 4).variance", pred.variance, 0, true)};
  }
};

struct MCDropoutRegressorAdapter : DeepDefaults {
  static constexpr const char* name = "MCDropoutRegressor";
  static constexpr const char* function = "MCDropoutRegressor";
  static constexpr std::array arguments{"x", "y", "input"};
  static constexpr Target target = Target::continuous;
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::MCDropoutRegressor<T> net({.input = p.x.cols(), .hidden = {8}, .activation = pml::ad::Activation::tanh, .dropout = 0.1}, rng);
    const Matrix<T> y = p.y;
    net.fit(p.x, y, tiny_fit(), rng);
    const auto& history = net.loss_history();
    Rng eval(seed + 1);
    const auto mc = net.predict(p.query, 4, eval);
    return {scaled("final training loss", double(history.back()), 0), scaled("predict(query).mean (dropout off)", net.predict(p.query).mean, 0, true),
            scaled("predict(query, 4).mean", mc.mean, 0, true), scaled("predict(query, 4).variance", mc.variance, 0, true)};
  }
};

struct GANAdapter : DeepDefaults {
  static constexpr const char* name = "GAN";
  static constexpr const char* function = "GAN";
  static constexpr std::array arguments{"x", "output", "noise"};
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::GAN<T> gan({.noise = 2, .output = p.x.cols(), .generator_hidden = {8}, .discriminator_hidden = {8}}, rng);
    gan.fit(p.x, {.steps = 20, .batch_size = 16}, rng, 10);
    const auto& history = gan.loss_history();
    Rng eval(seed + 1);
    return {scaled("final discriminator loss", double(history.discriminator_loss.back()), 0),
            scaled("final generator loss", double(history.generator_loss.back()), 0), scaled("sample(5)", gan.sample(eval, 5), 0, true),
            scaled("discriminate(query)", gan.discriminate(p.query), 0, true)};
  }
};

// InfoGAN on the GAN's MLPs (the DCGAN body needs images, see below): a 2-way and a continuous code.
struct InfoGANAdapter : DeepDefaults {
  static constexpr const char* name = "InfoGAN(mlp)";
  static constexpr const char* function = "InfoGAN";
  static constexpr std::array arguments{"x", "output", "noise"};
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::InfoGANOptions o;
    o.body = pml::InfoGANBody::mlp;
    o.noise = 2;
    o.categorical = {2};
    o.continuous = 1;
    o.recognition_hidden = 4;
    o.output = p.x.cols();
    o.generator_hidden = o.discriminator_hidden = {8};
    pml::InfoGAN<T> gan(o, rng);
    gan.fit(p.x, {.epochs = 4, .batch_size = 16}, rng);
    const auto& history = gan.loss_history();
    Rng eval(seed + 1);
    return {scaled("final discriminator loss", double(history.discriminator_loss.back()), 0),
            scaled("final information loss", double(history.information_loss.back()), 0), scaled("sample(5)", gan.sample(eval, 5), 0, true),
            scaled("discriminate(query)", gan.discriminate(p.query), 0, true), scaled("predict_codes(query)", gan.predict_codes(p.query), 0, true)};
  }
};

// The image classifiers on the suite's tables: each row an image of D channels and 1 x 1 pixels, so no
// convolution block fits (2 x 2 pooling needs 2 x 2 pixels): these adapters check the models' contract
// (fitting, degenerate data, errors, float against double) through their dense part; the convolutional
// blocks are checked in tests/deep and tests/autodiff.
struct MCDropoutClassifierAdapter : DeepDefaults {
  static constexpr const char* name = "MCDropoutClassifier";
  static constexpr const char* function = "MCDropoutClassifier";
  static constexpr std::array arguments{"x", "labels", "channels"};
  static constexpr Target target = Target::binary;
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::MCDropoutClassifier<T> net({.channels = p.x.cols(), .height = 1, .width = 1, .classes = 2, .filters = {}, .hidden = {8}, .dropout = 0.1}, rng);
    net.fit(p.x, p.labels, tiny_fit(), rng);
    Rng eval(seed + 1);
    return {scaled("final training loss", double(net.loss_history().back()), 0), scaled("predict_proba(query) (dropout off)", net.predict_proba(p.query), 0, true),
            scaled("predict_proba(query, 4)", net.predict_proba(p.query, 4, eval), 0, true)};
  }
};

struct BayesianCNNAdapter : DeepDefaults {
  static constexpr const char* name = "BayesianCNN";
  static constexpr const char* function = "BayesianCNN";
  static constexpr std::array arguments{"x", "labels", "channels"};
  static constexpr Target target = Target::binary;
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::BayesianCNNOptions o;
    o.channels = p.x.cols();
    o.height = o.width = 1;
    o.classes = 2;
    o.filters = {};
    o.hidden = {8};
    pml::BayesianCNN<T> net(o, rng);
    net.fit(p.x, p.labels, tiny_fit(), rng);
    Rng eval(seed + 1);
    return {scaled("final free energy", double(net.loss_history().back()), 0), scaled("predict_mean(query)", net.predict_mean(p.query), 0, true),
            scaled("predict_proba(query, 4)", net.predict_proba(p.query, 4, eval), 0, true)};
  }
};

// The forecaster on the suite's tables: column 0 of x is the series (rows in time order). It standardises
// the (differenced) series, so shift and scale apply: the forecast and its band are locations and the band
// width scales, the training loss (on standardised values) does not change. With the default differencing
// of 1 a shift cancels exactly in training (the band's paths are rebuilt from the shifted last value, so
// the band width is compared as a pointwise output, with eps |c| of room); with differencing 0 the mean's rounding (eps |c| / sd) moves the standardised
// values, which the suite's 1e-9 cannot hold at c = 1e9 spread (tests/deep/test_lstm_forecaster.cpp checks
// that case at 1e6 to 1e-6). DCGAN and BayesianSegNet are not in the suite: their images need height and
// width multiples of 4 (of 2^depth), which the suite's 3-column tables are not.
template <pml::ForecastMethod Method> struct LSTMForecasterAdapter : DeepDefaults {
  static constexpr const char* name = Method == pml::ForecastMethod::bayes_by_backprop ? "LSTMForecaster(bayes_by_backprop)" : "LSTMForecaster(mc_dropout)";
  static constexpr const char* function = "LSTMForecaster";
  static constexpr std::array arguments{"series", "window", "history"};
  static const char* not_applicable(Check c) {
    switch (c) {
      case Check::row_order: return "the rows are a series in time order: another order is another series";
      case Check::duplicate_weight: return no_weights;
      default: return nullptr;
    }
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    Rng rng(seed);
    pml::LSTMForecasterOptions o;
    o.window = 6;
    o.hidden = 4;
    o.method = Method;
    pml::LSTMForecaster<T> model(o, rng);
    const Vector<T> series = p.x.col(0);
    model.fit(series, tiny_fit(), rng);
    Rng eval(seed + 1);
    const auto bands = model.forecast(series, 3, 8, eval, 0.8);
    const Vector<T> width = bands.upper - bands.lower;
    return {scaled("final training loss", model.loss_history().empty() ? 0.0 : double(model.loss_history().back()), 0),
            location("forecast(3).mean", Matrix<T>(bands.mean)), location("forecast(3).lower", Matrix<T>(bands.lower)),
            scaled("forecast(3) band width", width, 1, true)};  // pointwise: the paths are rebuilt from the (shifted) last value
  }
};

using DeepModels = std::tuple<AutoEncoderAdapter, VAEAdapter, BayesByBackpropAdapter, MCDropoutRegressorAdapter, GANAdapter, InfoGANAdapter, MCDropoutClassifierAdapter,
                              BayesianCNNAdapter, LSTMForecasterAdapter<pml::ForecastMethod::bayes_by_backprop>,
                              LSTMForecasterAdapter<pml::ForecastMethod::mc_dropout>>;

}  // namespace

PML_ESTIMATOR_CHECKS(DeepModels, "[estimator_checks][deep]")
