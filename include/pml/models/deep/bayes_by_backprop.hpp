#pragma once
/// @file
/// Bayes by Backprop (Blundell et al. 2015): an MLP of nn::BayesianLinear layers trained by minimising
/// the variational free energy KL(q(w) || p(w)) - E_q[log p(D|w)] on minibatches, with the KL shared out
/// over the M minibatches of an epoch uniformly (1/M) or by Blundell's 2^(M-i) / (2^M - 1); regression
/// (Gaussian likelihood with a fixed noise sd) and classification (softmax) heads; prediction by
/// averaging T posterior samples; pruning of weights by their signal-to-noise ratio |mu| / sigma.

#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "pml/core/special.hpp"
#include "pml/core/parallel.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/models/prediction.hpp"
#include "pml/nn/bayesian_linear.hpp"
#include "pml/nn/optim.hpp"
#include "pml/nn/serialize.hpp"

namespace pml {

/// The likelihood of a BayesByBackprop network's outputs.
enum class BayesTask : std::uint8_t {
  regression,      ///< y (N x output) ~ N(f(x), noise^2)
  classification,  ///< labels in 0..output-1 ~ softmax(f(x))
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(BayesTask) { return {"regression", "classification"}; }
/// How the KL term is shared out over the M minibatches of an epoch (Blundell et al. 2015, sec. 3.4).
enum class KLWeighting : std::uint8_t {
  uniform,    ///< 1/M for every minibatch
  geometric,  ///< 2^(M-i) / (2^M - 1) for minibatch i = 1..M: the prior dominates early, the data late
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(KLWeighting) { return {"uniform", "geometric"}; }

namespace detail {
/// The share of the KL term for minibatch `batch` (0-based) of `batches` per epoch under `weighting`.
/// @throw std::invalid_argument naming `function` for a batch outside 0..batches−1.
inline double kl_share(const char* function, KLWeighting weighting, Index batch, Index batches) {
  if (batches < 1 || batch < 0 || batch >= batches) pml::detail::throw_shape(function, "batch " + std::to_string(batch) + " of " + std::to_string(batches));
  if (weighting == KLWeighting::uniform) return 1.0 / double(batches);
  // 2^(M-i) / (2^M - 1), i = batch + 1, computed as 2^-i / (1 - 2^-M) so large M cannot overflow
  const double m = double(batches), i = double(batch + 1);
  return std::exp2(-i) / -std::expm1(-m * std::log(2.0));
}
}  // namespace detail

/// Options of BayesByBackprop: the network, the prior, the likelihood and how the KL term is estimated and weighted.
struct BayesByBackpropOptions {
  Index input = 0;  ///< width of x
  std::vector<Index> hidden{400, 400};  ///< hidden layer widths
  Index output = 1;  ///< regression: width of y; classification: number of classes
  ad::Activation activation = ad::Activation::relu;  ///< after every hidden layer
  BayesTask task = BayesTask::regression;  ///< regression (Gaussian likelihood) or classification (softmax)
  nn::BayesPrior prior{};        ///< default: scale mixture pi = 1/2, sigma1 = 1, sigma2 = e^-6
  double noise = 0.1;            ///< regression: the likelihood's noise sd
  double rho_init = -5.0;        ///< initial rho of every weight (sigma = softplus(rho))
  KLWeighting kl_weighting = KLWeighting::uniform;  ///< uniform 1/M or geometric 2^(M−i)/(2^M − 1) over the M minibatches
  nn::WeightSampling sampling = nn::WeightSampling::weights;  ///< or local reparameterisation
  int samples = 1;               ///< posterior samples per minibatch in the training objective

  /// How the networks' weights are drawn (nn/init.hpp; automatic: He normal for ReLU hidden layers,
  /// Xavier uniform otherwise; measured against pytorch and xavier_uniform on diabetes in issue 15, all
  /// within one standard error: docs/neural-uncertainty.md, "Initialisation"). Used when the model is
  /// built; a file stores the weights, not this.
  nn::Init init = nn::Init::automatic;
  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("input", o.input, io::as_size);
    v("hidden", o.hidden);
    v("output", o.output, io::as_size);
    v("activation", o.activation);
    v("task", o.task);
    v("prior", o.prior.kind);
    v("prior_pi", o.prior.pi);
    v("prior_sigma1", o.prior.sigma1);
    v("prior_sigma2", o.prior.sigma2);
    v("noise", o.noise);
    v("rho_init", o.rho_init);
    v("kl_weighting", o.kl_weighting);
    v("sampling", o.sampling);
    v("samples", o.samples);
  }
};

/// `BayesByBackprop<float> bnn({.input = 784, .output = 10, .task = BayesTask::classification}, rng);`
/// `bnn.fit(x, labels, {.epochs = 10}, rng); Matrix<float> p = bnn.predict_proba(x_test, 10, rng);`
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class BayesByBackprop {
 public:
  using Options = BayesByBackpropOptions;  ///< The options type (sizes and hyper-parameters, so not templated on the scalar).
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// @throw std::invalid_argument for non-positive sizes; std::domain_error for a bad prior, noise,
  ///        rho_init, samples or sampling (mean has no noise to train with), or a classification model with fewer than two classes.
  BayesByBackprop(const BayesByBackpropOptions& options, Rng& rng) : options_(checked(options)) {
    const std::vector<Index> s = detail::layer_sizes(options.input, options.hidden, options.output);
    const bool relu_like = options.activation == ad::Activation::relu || options.activation == ad::Activation::leaky_relu;
    layers_.reserve(s.size() - 1);
    for (std::size_t l = 0; l + 1 < s.size(); ++l)
      layers_.emplace_back(s[l], s[l + 1], rng, nn::resolve_init(options.init, l + 2 < s.size(), relu_like), options.rho_init, "layer" + std::to_string(l));
  }

  /// The weight of the KL term for minibatch `batch` (0-based) of `batches` per epoch.
  T kl_weight(Index batch, Index batches) const {
    return T(detail::kl_share("BayesByBackprop::kl_weight", options_.kl_weighting, batch, batches));
  }

  /// The minibatch free energy kl_weight * KL - log p(y|x, w), averaged over `samples` posterior draws,
  /// on `tape`. y is N x output (regression) or one-hot N x classes (classification).
  ad::Var<T> loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng, T kl_weight);

  /// Trains with Adam on shuffled minibatches. Regression: y is N x output (floating point).
  /// Classification: y is an integer vector of labels (e.g. IntVector). Returns the free energy per data
  /// point of each epoch (KL + NLL over the epoch, divided by N) in loss_history(); returns *this.
  /// @throw std::invalid_argument for wrong widths or mismatched rows, or a target type that does not
  ///        match the task; std::domain_error for non-finite data, labels out of range, bad options, or a
  ///        loss or gradient that stops being finite (data far too large; the message names the function and x).
  template <class DX, class DY> BayesByBackprop& fit(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "BayesByBackprop::fit";
    detail::check_rows(function, "x", x, options_.input);
    detail::check_same_rows(function, x, y);
    detail::check_fit_options(function, fit);
    decltype(auto) rows = detail::as_rows<T>(function, "x", x);  // x's errors before y's (an argument order is unspecified)
    return fit_rows(rows, target_matrix(function, y), fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  BayesByBackprop& fit_rows(Eigen::Ref<const Matrix<T>> x, const Matrix<T>& targets, const FitOptions& fit, Rng& rng);

 public:
  /// Data-parallel fit() over `ranks` (issue 18 §3; docs/scaling.md): `x` and `y` are this rank's shard of
  /// the rows (any number, 0 included; rank order is row order) and fit.batch_size the rows per rank, so
  /// each Adam step averages over ranks.size() · batch_size rows of the whole data set. Every rank must call it
  /// with the same options and an `rng` in the same state (checked); rank 0's initial parameters are copied to
  /// every rank, the gradients are summed over the ranks once per step, and each step's weight draws come from
  /// a generator seeded by the step's key (the same on every rank), so P ranks with batch B fit as
  /// fit(Collective::single(), all rows, {batch P·B}) does, to the rounding of the sums (not as fit(x, y, fit,
  /// rng)). Each rank adds the KL term in proportion to its rows of the minibatch, so it counts once. With
  /// local reparameterisation or flipout each row's own draws are hashed from the step and the row's position
  /// (nn::RowDraws).
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument for an rng in
  ///        different states, different networks or no rows on any rank;
  ///        std::runtime_error if the ranks' states drift apart.
  template <class DX, class DY>
  BayesByBackprop& fit(const Collective& ranks, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "BayesByBackprop::fit";
    Matrix<T> targets(0, options_.output);
    Matrix<T> converted;  // x of another scalar type, as T (an entry beyond T's range is reported on every rank)
    std::optional<Eigen::Ref<const Matrix<T>>> rows;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      detail::check_fit_options(function, fit);
      detail::check_same_rows(function, x, y);
      if (x.rows() > 0 || ranks.size() == 1) {
        detail::check_rows(function, "x", x, options_.input);
        targets = target_matrix(function, y);
      }
      detail::hold_rows<T>(rows, converted, function, "x", x);
    });
    return fit_rows(ranks, *rows, targets, fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  BayesByBackprop& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const Matrix<T>& targets, const FitOptions& fit, Rng& rng);

 public:

  /// The free energy per data point of each epoch of the last fit() (empty before it; not stored in model files).
  const std::vector<T>& loss_history() const noexcept { return history_; }

  /// f(x) for `samples` posterior draws (regression means, or class probabilities): the input to
  /// metrics::mutual_information and friends.
  template <class Derived> std::vector<Matrix<T>> sample_outputs(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    check_predict("BayesByBackprop::sample_outputs", x, samples);
    // one weight draw per pass, the passes on threads, each with its own stream split from rng in pass order
    // (core/parallel.hpp): the same outputs for any thread count
    const Matrix<T> xt = x.template cast<T>();
    return detail::parallel_passes<Matrix<T>>(samples, rng, [&](Rng& stream) { return evaluate(xt, stream, nn::WeightSampling::weights); });
  }
  /// Classification: mean class probabilities over `samples` posterior draws.
  template <class Derived> Matrix<T> predict_proba(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    require(BayesTask::classification, "BayesByBackprop::predict_proba");
    const auto s = sample_outputs(x, samples, rng);
    Matrix<T> mean = Matrix<T>::Zero(s[0].rows(), s[0].cols());
    for (const auto& p : s) mean += p;
    return mean / T(samples);
  }
  /// Regression: the predictive distribution at x (N x input) from `samples` posterior draws f_t, each
  /// field N x output: mean (1/T) Σ f_t(x), epistemic the spread of f_t(x) about it, aleatoric noise².
  /// @throw std::invalid_argument for a classification model or x of the wrong width; std::domain_error
  ///        if samples < 1.
  template <class Derived> Prediction<T> predict(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    require(BayesTask::regression, "BayesByBackprop::predict");
    const auto s = sample_outputs(x, samples, rng);
    Prediction<T> p;
    p.mean = Matrix<T>::Zero(s[0].rows(), s[0].cols());
    for (const auto& f : s) p.mean += f;
    p.mean /= T(samples);
    // the spread about the mean, not E[f^2] - mean^2 (which loses every digit for outputs far from 0)
    p.epistemic = Matrix<T>::Zero(p.mean.rows(), p.mean.cols());
    for (const auto& f : s) p.epistemic += (f - p.mean).cwiseAbs2();
    p.epistemic /= T(samples);
    p.aleatoric = Matrix<T>::Constant(p.mean.rows(), p.mean.cols(), T(options_.noise * options_.noise));
    p.variance = p.aleatoric + p.epistemic;
    return p;
  }
  /// The output at the posterior mean weights (no sampling): class probabilities or regression means.
  /// With `pruned_fraction` > 0 the weights with the lowest signal-to-noise ratio |mu| / sigma (that
  /// fraction of all weights, over all layers; biases are kept) are set to zero first, as in Blundell et
  /// al.'s table 2. The model itself is not changed.
  /// @throw std::domain_error unless 0 <= pruned_fraction <= 1.
  template <class Derived> Matrix<T> predict_mean(const Eigen::MatrixBase<Derived>& x, double pruned_fraction = 0) const {
    check_predict("BayesByBackprop::predict_mean", x, 1);
    if (!(pruned_fraction >= 0 && pruned_fraction <= 1))
      detail::throw_domain("BayesByBackprop::predict_mean", "pruned_fraction", "lie in [0, 1]", detail::describe(pruned_fraction));
    Rng unused(0);
    if (pruned_fraction == 0) return evaluate(x, unused, nn::WeightSampling::mean);
    const T threshold = snr_quantile(pruned_fraction);
    std::vector<nn::BayesianLinear<T>> pruned = layers_;  // a pruned copy: the model itself is only read
    for (auto& layer : pruned)
      layer.weight_mu().value = (layer.signal_to_noise().array() > threshold).select(layer.weight_mu().value, T(0));
    return evaluate(pruned, x, unused, nn::WeightSampling::mean);
  }

  /// Every weight's signal-to-noise ratio |mu| / sigma, all layers in one vector (for the histogram of
  /// Blundell et al.'s figure 4).
  Vector<T> signal_to_noise() const;

  /// Pointers to every trainable parameter, in the order model files store them (for optimisers and serialisation).
  nn::ParameterList<T> parameters() {
    nn::ParameterList<T> list;
    for (auto& layer : layers_) nn::append(list, layer.parameters());
    return list;
  }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const;
  std::vector<nn::BayesianLinear<T>>& layers() noexcept { return layers_; }  ///< The layers (posterior means and rhos), input first.
  const std::vector<nn::BayesianLinear<T>>& layers() const noexcept { return layers_; }  ///< The layers, read-only.
  /// Writes the parameters and the options to `path` (model type "BayesByBackprop"; format in serialization/model_file.hpp),
  /// atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const {
    detail::save_model(*this, path, format);
  }
  /// A model saved by save(): built from the options in the file, with its parameters (bit-identical
  /// outputs). @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static BayesByBackprop load(const std::filesystem::path& path) {
    return detail::load_model<BayesByBackprop>(path, "BayesByBackprop::load");
  }
  static constexpr const char* model_name = "BayesByBackprop";  ///< The model type in its files' headers.
  const BayesByBackpropOptions& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  static BayesByBackpropOptions checked(const BayesByBackpropOptions& o) {
    constexpr const char* function = "BayesByBackprop";
    if (o.input <= 0 || o.output <= 0)
      pml::detail::throw_shape(function, "input and output must be positive, got " + std::to_string(o.input) + " and " + std::to_string(o.output));
    detail::check_hidden(function, o.hidden);
    if (o.task == BayesTask::classification && o.output < 2)
      detail::throw_domain(function, "output", "be at least 2 classes for classification", std::to_string(o.output));
    o.prior.check(function);
    check_positive(function, "noise", o.noise);
    check_finite(function, "rho_init", o.rho_init);
    if (o.samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(o.samples));
    if (o.sampling != nn::WeightSampling::weights && o.sampling != nn::WeightSampling::local && o.sampling != nn::WeightSampling::flipout)
      detail::throw_domain(function, "sampling", "be weights, local or flipout (training needs the posterior's noise)", std::string(enum_name(o.sampling)));
    return o;
  }
  void require(BayesTask task, const char* function) const {
    if (options_.task != task)
      pml::detail::throw_shape(function, task == BayesTask::regression ? "the model is a classifier (use predict_proba)"
                                                                      : "the model is a regression (use predict)");
  }
  template <class Derived> void check_predict(const char* function, const Eigen::MatrixBase<Derived>& x, int samples) const {
    detail::check_rows(function, "x", x, options_.input);
    if (samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(samples));
  }
  // regression: y as T; classification: integer labels -> one-hot
  template <class DY> Matrix<T> target_matrix(const char* function, const Eigen::MatrixBase<DY>& y) const {
    if constexpr (std::is_integral_v<typename DY::Scalar>) {
      if (options_.task != BayesTask::classification) pml::detail::throw_shape(function, "integer labels given to a regression model");
      return detail::one_hot_labels<T>(function, y, options_.output);
    } else {
      if (options_.task != BayesTask::regression) pml::detail::throw_shape(function, "a classifier needs integer labels (e.g. pml::IntVector)");
      detail::check_rows(function, "y", y, options_.output);
      return y.template cast<T>();
    }
  }
  struct Forward {
    ad::Var<T> out, kl;
  };
  // the layers on the tape: parameter leaves for training (mutable layers), constants for a const list
  // Noise: an Rng, or nn::RowDraws in a data-parallel fit
  template <class Layers, class Noise> Forward forward(Layers& layers, ad::Tape<T>& tape, ad::Var<T> h, Noise& rng, nn::WeightSampling sampling) const {
    ad::Var<T> kl;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const bool hidden = l + 1 < layers.size();
      auto r = layers[l].forward(tape, h, rng, options_.prior, sampling, hidden ? options_.activation : ad::Activation::identity);
      h = r.out;
      if (r.kl.tape) kl = kl.tape ? kl + r.kl : r.kl;
    }
    return {h, kl};
  }
  template <class Noise> Forward forward(ad::Tape<T>& tape, ad::Var<T> h, Noise& rng, nn::WeightSampling sampling) { return forward(layers_, tape, h, rng, sampling); }
  /// loss() with the noise of an Rng or of nn::RowDraws (data-parallel fits).
  template <class Noise> ad::Var<T> loss_impl(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Noise& rng, T kl_weight);
  // f(x) outside training, on this thread's scratch tape (const: many threads may call it at once): one draw
  // (or the mean weights), softmax for classifiers
  template <class Derived>
  Matrix<T> evaluate(const std::vector<nn::BayesianLinear<T>>& layers, const Eigen::MatrixBase<Derived>& x, Rng& rng, nn::WeightSampling sampling) const {
    ad::ScratchTape<T> scratch;  // this thread's tape
    ad::Tape<T>& tape = *scratch;
    const Matrix<T> out = forward(layers, tape, tape.constant(x.template cast<T>()), rng, sampling).out.value();
    return options_.task == BayesTask::classification ? softmax_rows(out) : out;
  }
  template <class Derived> Matrix<T> evaluate(const Eigen::MatrixBase<Derived>& x, Rng& rng, nn::WeightSampling sampling) const {
    return evaluate(layers_, x, rng, sampling);
  }
  // the SNR below which `fraction` of all weights lie
  T snr_quantile(double fraction) const;

  BayesByBackpropOptions options_;
  std::vector<nn::BayesianLinear<T>> layers_;
  std::vector<T> history_;
};

// BayesByBackprop's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto BayesByBackprop<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const Matrix<T>& targets, const FitOptions& fit, Rng& rng) -> BayesByBackprop& {
    constexpr const char* function = "BayesByBackprop::fit";
    auto params = parameters();
    nn::Adam<T> adam(params, {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(function, x, targets, fit, rng, [&](const Matrix<T>& xb, const Matrix<T>& yb, Index b, Index batches) {
      tape.reset();
      const ad::Var<T> l = loss(tape, tape.constant(xb), tape.constant(yb), rng, kl_weight(b, batches));
      tape.backward((T(1) / T(xb.rows())) * l);  // Adam is scale-free; this keeps gradients O(1)
      adam.step();
      return l.value()(0, 0);
    });
    return *this;
  }

template <Real T>
auto BayesByBackprop<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const Matrix<T>& targets, const FitOptions& fit, Rng& rng) -> BayesByBackprop& PML_RANKS_TRY {
    constexpr const char* function = "BayesByBackprop::fit";
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(ranks, function, x, targets, fit, rng, adam, detail::options_text(*this), [&](const Matrix<T>& xb, const Matrix<T>& yb, const detail::ShardStep& s) {
      tape.reset();
      Rng shared(s.key);  // the step's shared draws, the same on every rank
      const nn::RowDraws draws{shared, s.positions};  // and each row's own, hashed from its position
      const T share = T(xb.rows()) / T(s.minibatch_rows);  // of the KL term: the ranks' shares add up to one
      const ad::Var<T> l = loss_impl(tape, tape.constant(xb), tape.constant(yb), draws, share * kl_weight(s.batch, s.batches));
      tape.backward((T(1) / T(s.minibatch_rows)) * l);
      return l.value()(0, 0);
    });
    return *this;
  } PML_RANKS_CATCH(ranks, "BayesByBackprop::fit")
template <Real T>
auto BayesByBackprop<T>::loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng, T kl_weight) -> ad::Var<T> {
  return loss_impl(tape, x, y, rng, kl_weight);
}

/// loss() with the noise of an Rng or of nn::RowDraws (data-parallel fits).
template <Real T>
template <class Noise>
auto BayesByBackprop<T>::loss_impl(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Noise& rng, T kl_weight) -> ad::Var<T> {
    if (x.cols() != options_.input || y.cols() != options_.output || x.rows() != y.rows() || x.rows() == 0)
      pml::detail::throw_shape("BayesByBackprop::loss", "x is " + std::to_string(x.rows()) + "x" + std::to_string(x.cols()) + " and y is " +
                                                            std::to_string(y.rows()) + "x" + std::to_string(y.cols()) + ", expected N x " +
                                                            std::to_string(options_.input) + " and N x " + std::to_string(options_.output));
    ad::Var<T> total;
    const T per_sample = T(1) / T(options_.samples);
    for (int s = 0; s < options_.samples; ++s) {
      const auto [out, kl] = forward(tape, x, rng, options_.sampling);
      ad::Var<T> nll;
      if (options_.task == BayesTask::classification) {
        nll = ad::softmax_cross_entropy(out, y);
      } else {  // sum (y - f)^2 / (2 s^2) + N D log(s sqrt(2 pi))
        const T s2 = T(options_.noise * options_.noise);
        const T normaliser = T(x.rows() * options_.output) * (T(std::log(options_.noise)) + constants<T>::half_log_two_pi);
        nll = (T(0.5) / s2) * ad::sum(ad::square(out - y)) + tape.constant(1, 1, normaliser);
      }
      const ad::Var<T> term = per_sample * (nll + kl_weight * kl);
      total = total.tape ? total + term : term;
    }
    return total;
  }

template <Real T>
auto BayesByBackprop<T>::signal_to_noise() const -> Vector<T> {
    Index n = 0;
    for (const auto& layer : layers_) n += layer.in() * layer.out();
    Vector<T> all(n);
    Index at = 0;
    for (const auto& layer : layers_) {
      const Matrix<T> s = layer.signal_to_noise();
      all.segment(at, s.size()) = s.reshaped();
      at += s.size();
    }
    return all;
  }

template <Real T>
auto BayesByBackprop<T>::parameters() const -> nn::ConstParameterList<T> {
    nn::ConstParameterList<T> list;
    for (const auto& layer : layers_) {
      const auto more = layer.parameters();
      list.insert(list.end(), more.begin(), more.end());
    }
    return list;
  }

template <Real T>
auto BayesByBackprop<T>::snr_quantile(double fraction) const -> T {
    Vector<T> s = signal_to_noise();
    const auto k = static_cast<Index>(std::llround(fraction * double(s.size())));
    if (k <= 0) return T(-1);
    if (k >= s.size()) return std::numeric_limits<T>::infinity();
    std::nth_element(s.data(), s.data() + (k - 1), s.data() + s.size());
    return s(k - 1);  // weights with snr <= this are removed (ties may remove a few more)
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::BayesByBackprop)
