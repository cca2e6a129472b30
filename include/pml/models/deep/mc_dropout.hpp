#pragma once
/// @file
/// MC dropout regression (Gal & Ghahramani 2016) with the heteroscedastic head of Kendall & Gal (2017).
///
/// A dropout MLP trained with weight decay lambda = l^2 (1 - p) / (2 N tau) is approximate variational
/// inference in a Bayesian network with prior length-scale l and observation precision tau; keeping
/// dropout on at prediction and averaging T passes gives the predictive mean, and the spread of the
/// passes plus the noise 1/tau gives the predictive variance. With `heteroscedastic` the network also
/// predicts log sigma^2(x), is trained by the Gaussian negative log-likelihood, and the predictive
/// variance splits into an aleatoric part E[sigma^2] and an epistemic part Var[mean].

#include "pml/core/instantiation.hpp"
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pml/core/enum_names.hpp"
#include "pml/core/parallel.hpp"
#include "pml/autodiff/ops.hpp"
#include "pml/core/special.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/models/prediction.hpp"
#include "pml/nn/mlp.hpp"
#include "pml/nn/optim.hpp"
#include "pml/nn/serialize.hpp"

namespace pml {

/// The homoscedastic training objective of MCDropoutRegressor. Both add the weight decay
/// lambda |W|^2, lambda = l^2 (1 - p) / (2 N tau), to a squared error averaged over the rows of a
/// minibatch; they differ by a factor 2 in the error term (so the decay weighs twice as much, relative
/// to the data, in the paper's form) and in whether the biases are decayed. The heteroscedastic model
/// ignores this (its data term is the Gaussian negative log-likelihood; its weights decay as in the
/// paper's form).
enum class MCDropoutLoss : std::uint8_t {
  /// mean of 1/2 |y - yhat|^2 + lambda |W|^2, biases decayed by l^2 / (2 N tau): Gal & Ghahramani
  /// (2016), eq. (1) with E = 1/2 squared error and lambda (|W|^2 + |b|^2), the decays from their
  /// appendix (eq. 7 there: the (1 - p) applies to the weights behind a dropout layer). pml's default.
  half_squared_error,
  /// mean of |y - yhat|^2 + lambda |W|^2 on the weights only, biases not decayed: Gal's experiment code
  /// (github.com/yaringal/DropoutUncertaintyExps, net/net.py: Keras's loss='mean_squared_error' and
  /// W_regularizer=l2(reg) on every Dense layer), which the UCI numbers of the paper were measured with.
  mean_squared_error,
};
/// The names of MCDropoutLoss's values (core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(MCDropoutLoss) { return {"half_squared_error", "mean_squared_error"}; }

/// Options of MCDropoutRegressor: the network, the dropout rate and the prior length-scale and noise precision that set the weight decay.
struct MCDropoutOptions {
  Index input = 0;                ///< width of x
  std::vector<Index> hidden{50};  ///< hidden layer sizes
  Index output = 1;               ///< width of y
  ad::Activation activation = ad::Activation::relu;  ///< after every hidden layer
  double dropout = 0.05;         ///< p, the probability of dropping a unit (after every hidden layer)
  bool dropout_input = false;    ///< also drop input features
  double length_scale = 1e-2;    ///< l, the prior length-scale (prior N(0, 1/l^2) on the weights)
  double tau = 1.0;              ///< observation precision (homoscedastic model only)
  bool heteroscedastic = false;  ///< also predict log sigma^2(x) (Kendall & Gal 2017); tau is then unused

  /// How the networks' weights are drawn (nn/init.hpp; automatic: He normal for ReLU hidden layers,
  /// Xavier uniform otherwise; measured against pytorch and xavier_uniform on diabetes in issue 15, all
  /// within one standard error: docs/neural-uncertainty.md, "Initialisation"). Used when the model is
  /// built; a file stores the weights, not this.
  nn::Init init = nn::Init::automatic;
  /// The homoscedastic objective (MCDropoutLoss: the paper's 1/2 squared error, or Gal's code's mean
  /// squared error). Used by fit() only; a file does not store it (the reader has no default for a
  /// missing key, and files written before this option must still load), so a loaded model that is
  /// trained again uses the default unless the caller sets it.
  MCDropoutLoss loss = MCDropoutLoss::half_squared_error;
  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("input", o.input, io::as_size);
    v("hidden", o.hidden);
    v("output", o.output, io::as_size);
    v("activation", o.activation);
    v("dropout", o.dropout);
    v("dropout_input", o.dropout_input);
    v("length_scale", o.length_scale);
    v("tau", o.tau);
    v("heteroscedastic", o.heteroscedastic);
  }
};

/// `MCDropoutRegressor<double> net({.input = 1, .hidden = {50, 50}, .dropout = 0.1, .tau = 10}, rng);`
/// `net.fit(x, y, {.epochs = 200}, rng); auto p = net.predict(x_test, 100, rng);`
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class MCDropoutRegressor {
 public:
  using Options = MCDropoutOptions;  ///< The options type (sizes and hyper-parameters, so not templated on the scalar).
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// @throw std::invalid_argument for non-positive sizes; std::domain_error for dropout outside [0, 1),
  ///        a non-positive length_scale or tau.
  MCDropoutRegressor(const MCDropoutOptions& options, Rng& rng)
      : options_(checked(options)),
        net_({.sizes = detail::layer_sizes(options.input, options.hidden, options.heteroscedastic ? 2 * options.output : options.output), .activation = options.activation, .dropout = options.dropout, .dropout_input = options.dropout_input, .init = options.init}, rng) {
    net_.set_mc_dropout(true);
  }

  /// Weight decay lambda = l^2 (1 - p) / (2 N tau) of the weights behind a dropout layer, for N points
  /// (Gal & Ghahramani 2016, appendix); biases and undropped inputs get l^2 / (2 N tau) (fit() decays
  /// no bias with MCDropoutLoss::mean_squared_error). For the heteroscedastic model tau = 1 (the
  /// likelihood carries the noise). fit() adds the gradient of lambda |W|^2 to the gradient of loss().
  T weight_decay(Index n, bool dropped_input = true) const {
    if (n <= 0) detail::throw_domain("MCDropoutRegressor::weight_decay", "n", "be positive", std::to_string(n));
    const double tau = options_.heteroscedastic ? 1.0 : options_.tau;
    const double keep = dropped_input ? 1.0 - options_.dropout : 1.0;
    return T(options_.length_scale * options_.length_scale * keep / (2.0 * double(n) * tau));
  }

  /// The training objective of a batch, on `tape`, without the weight decay (fit() adds its gradient):
  /// the mean over rows of 1/2 |y - yhat|^2 (homoscedastic, MCDropoutLoss::half_squared_error: the
  /// Gaussian NLL times 1/tau, up to a constant) or of |y - yhat|^2 (MCDropoutLoss::mean_squared_error),
  /// or of the Gaussian NLL with predicted log sigma^2 (heteroscedastic).
  ad::Var<T> loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng);

  /// Trains with Adam on shuffled minibatches; the gradient of the weight decay of weight_decay(x.rows())
  /// is added to every gradient (the L2 term of the objective; no bias decay with
  /// MCDropoutLoss::mean_squared_error). Returns *this; the mean training loss of each epoch (without the
  /// decay) is in loss_history().
  /// @throw std::invalid_argument for wrong widths, no rows or mismatched row counts; std::domain_error
  ///        for non-finite data, bad options, or a loss or gradient that stops being finite (data far too
  ///        large; the message names the function and x).
  template <class DX, class DY> MCDropoutRegressor& fit(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const FitOptions& fit, Rng& rng) {
    decltype(auto) rows = detail::as_rows<T>("MCDropoutRegressor::fit", "x", x);  // x's errors before y's (an argument order is unspecified)
    return fit_rows(rows, detail::as_rows<T>("MCDropoutRegressor::fit", "y", y), fit, rng);
  }
  /// fit() with the rows spread over processes (data-parallel training, issue 18 §3; core/collective.hpp,
  /// `pml::mpi::Communicator` on MPI): each rank passes its own rows (any number, 0 included; rank order is
  /// row order) and fit.batch_size is the rows per rank, so each Adam step averages over ranks.size() ·
  /// batch_size rows of the whole data set. Every rank must call it with the same options and an `rng` in the
  /// same state (checked); rank 0's initial weights are copied to every rank, the gradients are summed over
  /// the ranks once per step, and each row's dropout masks are hashed from the step and the row's position
  /// (nn::RowNoise), so P ranks with batch B fit as fit(Collective::single(), all rows, {batch P·B}) does, to
  /// the rounding of the sums (not as fit(x, y, fit, rng), whose masks are drawn in sequence). The weight
  /// decay uses N = the rows of every rank; each rank adds it in proportion to its rows of the minibatch.
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument for an rng in
  ///        different states, different networks or no rows on any rank; std::runtime_error if the ranks' states drift apart.
  template <class DX, class DY>
  MCDropoutRegressor& fit(const Collective& ranks, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "MCDropoutRegressor::fit";
    Matrix<T> cx, cy;  // x and y of another scalar type, as T
    std::optional<Eigen::Ref<const Matrix<T>>> rx, ry;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      detail::check_fit_options(function, fit);
      detail::check_same_rows(function, x, y);
      if (x.rows() > 0 || ranks.size() == 1) {
        detail::check_rows(function, "x", x, options_.input);
        detail::check_rows(function, "y", y, options_.output);
      }
      detail::hold_rows<T>(rx, cx, function, "x", x);
      detail::hold_rows<T>(ry, cy, function, "y", y);
    });
    return fit_rows(ranks, *rx, *ry, fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  MCDropoutRegressor& fit_rows(Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> y, const FitOptions& fit, Rng& rng);
  MCDropoutRegressor& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> y, const FitOptions& fit, Rng& rng);
  // the weight decay's 2 lambda of each parameter (fit() and the data-parallel fit) for N = n rows
  std::vector<T> decay_factors(Index n) const;
  // the options every rank must share: the file's, and the loss (not stored in files)
  std::string ranks_options() const { return detail::options_text(*this) + " loss=" + std::to_string(int(options_.loss)); }
  // the training loss before its 1/N: (its factor, the sum over the rows of the network's output `out`)
  std::pair<T, ad::Var<T>> loss_terms(const ad::Var<T>& out, const ad::Var<T>& y) const {
    const Index d = options_.output;
    if (options_.heteroscedastic) return {T(1), ad::gaussian_nll(ad::slice_cols(out, 0, d), ad::slice_cols(out, d, d), y)};
    return {options_.loss == MCDropoutLoss::mean_squared_error ? T(1) : T(0.5), ad::sum(ad::square(out - y))};
  }

 public:
  /// The mean training loss of each epoch of the last fit() (empty before it; not stored in model files).
  const std::vector<T>& loss_history() const noexcept { return history_; }

  /// Predictive moments from `samples` passes with dropout on (MC dropout).
  /// @throw std::invalid_argument for a wrong width or no rows; std::domain_error for samples < 1 or NaN.
  template <class Derived> Prediction<T> predict(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    check_predict("MCDropoutRegressor::predict", x, samples);
    return moments(passes(x, samples, &rng));
  }
  /// The standard-dropout prediction (dropout off, one deterministic pass): the mean, with aleatoric
  /// variance only (no epistemic part). The baseline MC dropout is compared against.
  template <class Derived> Prediction<T> predict(const Eigen::MatrixBase<Derived>& x) const {
    check_predict("MCDropoutRegressor::predict", x, 1);
    return moments(passes(x, 1, nullptr));
  }

  /// Predictive log-density log p(y|x) of each row (x N x input, y N x output; length N, higher is better,
  /// the library's score_samples() convention): log (1/T) sum_t N(y; yhat_t, sigma_t^2) (log-mean-exp over
  /// T = `samples` passes), summed over the output columns (Gal & Ghahramani 2016, eq. 8).
  ///
  /// `target_scale` s (default 1: the density of y itself) is for a model trained on standardised targets
  /// y = (y_raw - m) / s: the result is then the log-density of the raw targets, with the homoscedastic
  /// noise precision tau read on the raw scale, as Gal's experiment code does
  /// (github.com/yaringal/DropoutUncertaintyExps, net/net.py, predict(): logsumexp(-tau/2 (y_raw -
  /// yhat_raw,t)^2) - log T - log(2 pi)/2 + log(tau)/2, while its weight decay uses the same tau for the
  /// standardised targets): log (1/T) sum_t N(s y; s yhat_t, 1/tau). A heteroscedastic model's variances
  /// are scaled by s^2 (log p(y_raw) = log p(y) - log s). The other reading, tau the precision of the
  /// standardised targets, is score_samples(x, y, samples, rng) - log s.
  /// @throw std::invalid_argument for x or y of the wrong shape; std::domain_error if samples < 1 or
  ///        target_scale is not positive and finite.
  template <class DX, class DY>
  Vector<T> score_samples(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, int samples, Rng& rng, double target_scale = 1) const {
    check_predict("MCDropoutRegressor::score_samples", x, samples);
    detail::check_rows("MCDropoutRegressor::score_samples", "y", y, options_.output);
    detail::check_same_rows("MCDropoutRegressor::score_samples", x, y);
    if (!(target_scale > 0 && std::isfinite(target_scale) && T(target_scale) > T(0) && std::isfinite(T(target_scale))))
      detail::throw_domain("MCDropoutRegressor::score_samples", "target_scale", std::string("be positive and finite in ") + (sizeof(T) == 4 ? "float" : "double"),
                           detail::describe(target_scale));
    return pass_log_likelihood(passes(x, samples, &rng), y, T(target_scale), options_.heteroscedastic);
  }
  /// log p(y|x) of each row under the standard-dropout prediction (one pass, dropout off).
  template <class DX, class DY> Vector<T> score_samples(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y) const {
    check_predict("MCDropoutRegressor::score_samples", x, 1);
    detail::check_rows("MCDropoutRegressor::score_samples", "y", y, options_.output);
    detail::check_same_rows("MCDropoutRegressor::score_samples", x, y);
    return pass_log_likelihood(passes(x, 1, nullptr), y);
  }
  /// The mean over the rows of score_samples(x, y, samples, rng, target_scale): the test log-likelihood per point.
  template <class DX, class DY>
  T score(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, int samples, Rng& rng, double target_scale = 1) const {
    return score_samples(x, y, samples, rng, target_scale).mean();
  }
  /// The mean of score_samples(x, y): the standard-dropout test log-likelihood per point.
  template <class DX, class DY> T score(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y) const { return score_samples(x, y).mean(); }

  /// Pointers to every trainable parameter, in the order model files store them (for optimisers and serialisation).
  nn::ParameterList<T> parameters() { return net_.parameters(); }
  nn::ConstParameterList<T> parameters() const { return net_.parameters(); }  ///< Read-only parameters(), same order.
  /// Writes the parameters and the options to `path` (model type "MCDropoutRegressor"; format in serialization/model_file.hpp),
  /// atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const {
    detail::save_model(*this, path, format);
  }
  /// A model saved by save(): built from the options in the file, with its parameters (bit-identical
  /// outputs). @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static MCDropoutRegressor load(const std::filesystem::path& path) {
    return detail::load_model<MCDropoutRegressor>(path, "MCDropoutRegressor::load");
  }
  static constexpr const char* model_name = "MCDropoutRegressor";  ///< The model type in its files' headers.
  /// The options the model was built with; after load(), those in the file, with `init` and `loss` (not
  /// stored) at their defaults.
  const MCDropoutOptions& options() const noexcept { return options_; }
  nn::MLP<T>& network() noexcept { return net_; }  ///< The network (its dropout layers stay on at prediction: MC dropout).

 private:
  struct Pass {
    Matrix<T> mean, variance;  // N x output each
  };
  static MCDropoutOptions checked(const MCDropoutOptions& o) {
    constexpr const char* function = "MCDropoutRegressor";
    if (o.input <= 0 || o.output <= 0)
      pml::detail::throw_shape(function, "input and output must be positive, got " + std::to_string(o.input) + " and " + std::to_string(o.output));
    detail::check_hidden(function, o.hidden);
    if (!(o.dropout >= 0 && o.dropout < 1)) detail::throw_domain(function, "dropout", "lie in [0, 1)", detail::describe(o.dropout));
    check_positive(function, "length_scale", o.length_scale);
    check_positive(function, "tau", o.tau);
    if (o.loss != MCDropoutLoss::half_squared_error && o.loss != MCDropoutLoss::mean_squared_error)
      detail::throw_domain(function, "loss", "be half_squared_error or mean_squared_error", std::to_string(int(o.loss)));
    return o;
  }
  template <class Derived> void check_predict(const char* function, const Eigen::MatrixBase<Derived>& x, int samples) const {
    detail::check_rows(function, "x", x, options_.input);
    if (samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(samples));
  }
  // T passes (dropout on when rng is given, one pass with dropout off otherwise): mean and noise variance
  template <class Derived> std::vector<Pass> passes(const Eigen::MatrixBase<Derived>& x, int samples, Rng* rng) const {
    const Matrix<T> xt = x.template cast<T>();
    const Index d = options_.output;
    // dropout on exactly when an Rng is given: chosen per call, nothing of the network is switched
    const auto pass = [&](Rng& stream) {
      const Matrix<T> o = net_.predict(xt, stream, rng != nullptr);
      if (options_.heteroscedastic) return Pass{o.leftCols(d), o.rightCols(d).array().exp().matrix()};
      return Pass{o, Matrix<T>::Constant(o.rows(), d, T(1 / options_.tau))};
    };
    if (rng == nullptr) {
      Rng unused(0);
      return std::vector<Pass>(static_cast<std::size_t>(samples), pass(unused));
    }
    // the passes on threads, each with its own stream split from rng in pass order (core/parallel.hpp)
    return detail::parallel_passes<Pass>(samples, *rng, pass);
  }
  static Prediction<T> moments(const std::vector<Pass>& ps) {
    Prediction<T> p;
    const Index n = ps[0].mean.rows(), d = ps[0].mean.cols();
    p.mean = Matrix<T>::Zero(n, d);
    p.aleatoric = Matrix<T>::Zero(n, d);
    Matrix<T> second = Matrix<T>::Zero(n, d);
    for (const Pass& s : ps) {
      p.mean += s.mean;
      p.aleatoric += s.variance;
    }
    const T inv = T(1) / T(ps.size());
    p.mean *= inv;
    p.aleatoric *= inv;
    // the spread about the mean, not E[f^2] - mean^2 (which loses every digit for outputs far from 0)
    for (const Pass& s : ps) second += (s.mean - p.mean).cwiseAbs2();
    p.epistemic = second * inv;
    p.variance = p.aleatoric + p.epistemic;
    return p;
  }
  // log (1/T) sum_t N(s y; s yhat_t, v_t) with v_t the pass's variance, times s^2 if `scale_variance`.
  // With scale_variance the density is computed as log N(y; yhat_t, v_t) - log s per output column (the
  // same number), so that no s^2 over- or underflows for a scale far from 1.
  template <class DY>
  static Vector<T> pass_log_likelihood(const std::vector<Pass>& ps, const Eigen::MatrixBase<DY>& y, T s = T(1), bool scale_variance = true) {
    const Index n = y.rows();
    Matrix<T> logp(n, static_cast<Index>(ps.size()));
    const T q = scale_variance ? T(1) : s;
    for (std::size_t t = 0; t < ps.size(); ++t) {
      const auto v = ps[t].variance.array();
      logp.col(static_cast<Index>(t)) =
          (T(-0.5) * (constants<T>::log_two_pi + v.log() + (q * (y.template cast<T>().array() - ps[t].mean.array())).square() / v))
              .rowwise()
              .sum()
              .matrix();
    }
    const T shift = scale_variance ? T(y.cols()) * std::log(s) : T(0);
    return (log_sum_exp_rows(logp).array() - std::log(T(ps.size())) - shift).matrix();
  }

  MCDropoutOptions options_;
  nn::MLP<T> net_;
  std::vector<T> history_;
};

// MCDropoutRegressor's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto MCDropoutRegressor<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> y, const FitOptions& fit, Rng& rng) -> MCDropoutRegressor& {
    constexpr const char* function = "MCDropoutRegressor::fit";
    detail::check_rows(function, "x", x, options_.input);
    detail::check_rows(function, "y", y, options_.output);
    detail::check_same_rows(function, x, y);
    detail::check_fit_options(function, fit);
    auto params = parameters();
    nn::Adam<T> adam(params, {.learning_rate = fit.learning_rate});
    const std::vector<T> decay = decay_factors(x.rows());
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(function, x, y, fit, rng, [&](const Matrix<T>& xb, const Matrix<T>& yb, Index, Index) {
      tape.reset();
      const ad::Var<T> l = loss(tape, tape.constant(xb), tape.constant(yb), rng);
      tape.backward(l);
      for (std::size_t i = 0; i < params.size(); ++i) params[i]->grad += decay[i] * params[i]->value;  // d/dW lambda |W|^2
      adam.step();
      return l.value()(0, 0) * T(xb.rows());
    });
    return *this;
  }
template <Real T>
auto MCDropoutRegressor<T>::loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng) -> ad::Var<T> {
    if (x.cols() != options_.input || y.cols() != options_.output || x.rows() != y.rows() || x.rows() == 0)
      pml::detail::throw_shape("MCDropoutRegressor::loss", "x is " + std::to_string(x.rows()) + "x" + std::to_string(x.cols()) + " and y is " +
                                                               std::to_string(y.rows()) + "x" + std::to_string(y.cols()) + ", expected N x " +
                                                               std::to_string(options_.input) + " and N x " + std::to_string(options_.output));
    const ad::Var<T> out = net_.forward(tape, x, rng, nn::Mode::train);
    const auto terms = loss_terms(out, y);
    return (terms.first * (T(1) / T(x.rows()))) * terms.second;
  }

template <Real T>
auto MCDropoutRegressor<T>::decay_factors(Index n) const -> std::vector<T> {
    std::vector<T> decay;
    const std::size_t count = 2 * net_.layers().size();  // a weight and a bias per layer, parameters()' order
    for (std::size_t i = 0; i < count; ++i) {
      const bool is_weight = i % 2 == 0, dropped = i > 0 || options_.dropout_input;
      const bool decayed = is_weight || options_.heteroscedastic || options_.loss == MCDropoutLoss::half_squared_error;
      decay.push_back(decayed ? T(2) * weight_decay(n, is_weight && dropped && options_.dropout > 0) : T(0));
    }
    return decay;
  }

template <Real T>
auto MCDropoutRegressor<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> y, const FitOptions& fit, Rng& rng)
    -> MCDropoutRegressor& PML_RANKS_TRY {
    constexpr const char* function = "MCDropoutRegressor::fit";
    Index n = 0;
    for (const Index c : detail::all_counts(ranks, x.rows())) n += c;
    if (n == 0) pml::detail::throw_shape(function, "x has no rows on any rank");
    auto params = parameters();
    nn::Adam<T> adam(params, {.learning_rate = fit.learning_rate});
    const std::vector<T> decay = decay_factors(n);
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(ranks, function, x, y, fit, rng, adam, ranks_options(), [&](const Matrix<T>& xb, const Matrix<T>& yb, const detail::ShardStep& s) {
      tape.reset();
      const ad::Var<T> out = net_.forward(tape, tape.constant(xb), nn::RowNoise{s.key, s.positions}, nn::Mode::train);
      const auto terms = loss_terms(out, tape.constant(yb));
      tape.backward((terms.first / T(s.minibatch_rows)) * terms.second);
      const T share = T(xb.rows()) / T(s.minibatch_rows);  // of the weight decay: the ranks' shares add up to one
      for (std::size_t i = 0; i < params.size(); ++i) params[i]->grad += (share * decay[i]) * params[i]->value;
      return terms.first * terms.second.value()(0, 0);
    });
    return *this;
  } PML_RANKS_CATCH(ranks, "MCDropoutRegressor::fit")


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::MCDropoutRegressor)
