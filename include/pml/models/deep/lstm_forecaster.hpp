#pragma once
/// @file
/// LSTMForecaster: probabilistic forecasts of a univariate series from a Bayesian LSTM — Bayes by
/// Backprop over the LSTM's weights with one weight sample per pass shared by every step (Fortunato et
/// al. 2017) or MC dropout with one mask per sequence shared by every step (Gal & Ghahramani 2016,
/// "A Theoretically Grounded Application of Dropout in Recurrent Neural Networks") — and a Gaussian
/// head with a predicted variance (Kendall & Gal 2017).
///
/// The series y_1..y_n is differenced `differencing` times (z_t = y_t − y_{t−1} for 1), standardised by
/// the training series' mean and standard deviation of z, and cut into sliding windows: the network reads
/// `window` values of z and predicts the next one's mean and log-variance. A forecast draws whole sample
/// paths: per path one posterior draw of the weights (or one dropout mask) used at every step of the
/// horizon, each step's value drawn from the predicted Gaussian and fed back, then un-standardised and
/// integrated back to the series' units. Predictive bands are quantiles over the paths.

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/core/parallel.hpp"
#include "pml/models/deep/bayes_by_backprop.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/bayesian_recurrent.hpp"
#include "pml/nn/dropout.hpp"
#include "pml/nn/linear.hpp"
#include "pml/nn/optim.hpp"

namespace pml {

/// How an LSTMForecaster represents its uncertainty about the network's weights.
enum class ForecastMethod : std::uint8_t {
  bayes_by_backprop,  ///< nn::BayesianLSTM and a BayesianLinear head (Fortunato et al. 2017)
  mc_dropout,         ///< nn::LSTM with variational dropout kept on at prediction (Gal & Ghahramani 2016)
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(ForecastMethod) { return {"bayes_by_backprop", "mc_dropout"}; }

/// Options of LSTMForecaster.
struct LSTMForecasterOptions {
  Index window = 24;  ///< past values (after differencing) the network reads per prediction
  Index hidden = 32;  ///< H, the LSTM's hidden units
  int differencing = 1;  ///< d, 0 or 1: model the series itself or its first difference
  ForecastMethod method = ForecastMethod::bayes_by_backprop;  ///< Bayes by Backprop or MC dropout
  nn::BayesPrior prior = nn::BayesPrior::gaussian(1.0);  ///< Bayes by Backprop's prior over every weight and bias
  double rho_init = -5.0;  ///< Bayes by Backprop's initial ρ (σ = softplus(ρ))
  nn::WeightSampling sampling = nn::WeightSampling::weights;  ///< Bayes by Backprop's training draws: weights or flipout
  KLWeighting kl_weighting = KLWeighting::uniform;  ///< how the KL is shared over an epoch's minibatches
  double dropout = 0.1;  ///< MC dropout's p on the inputs, the fed-back hidden state and the head's input
  double weight_decay = 1e-4;  ///< MC dropout's λ: λ |W|² added to the mean loss per window (weights, not biases)
  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("window", o.window, io::as_size);
    v("hidden", o.hidden, io::as_size);
    v("differencing", o.differencing);
    v("method", o.method);
    v("prior", o.prior.kind);
    v("prior_pi", o.prior.pi);
    v("prior_sigma1", o.prior.sigma1);
    v("prior_sigma2", o.prior.sigma2);
    v("rho_init", o.rho_init);
    v("sampling", o.sampling);
    v("kl_weighting", o.kl_weighting);
    v("dropout", o.dropout);
    v("weight_decay", o.weight_decay);
  }
};

/// Predictive bands of a forecast, one entry per step of the horizon.
template <Real T> struct ForecastBands {
  Vector<T> mean;   ///< the mean of the sample paths
  Vector<T> lower;  ///< the (1 − level)/2 quantile of the paths
  Vector<T> upper;  ///< the (1 + level)/2 quantile of the paths
};

/// `LSTMForecaster<double> model({}, rng); model.fit(series.head(n - 24), {.epochs = 200, .batch_size = 32}, rng);`
/// `auto bands = model.forecast(series.head(n - 24), 24, 500, rng, 0.9);`
/// A series is a vector (n x 1) of equally spaced values. Thread safety as the other deep models: const
/// queries from many threads at once, each with its own Rng; fit() needs the model to itself.
template <Real T = double> class LSTMForecaster {
 public:
  using Options = LSTMForecasterOptions;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double).
  /// @throw std::invalid_argument for a non-positive window or hidden size; std::domain_error for
  ///        differencing outside {0, 1}, a bad prior, rho_init, sampling, dropout or weight decay.
  LSTMForecaster(const Options& options, Rng& rng) : options_(checked(options)) {
    if (options_.method == ForecastMethod::bayes_by_backprop) {
      blstm_.emplace(1, options_.hidden, rng, options_.rho_init, "lstm");
      bhead_.emplace(options_.hidden, 2, rng, nn::Init::pytorch, options_.rho_init, "head");
    } else {
      lstm_.emplace(1, options_.hidden, rng, "lstm");
      head_.emplace(options_.hidden, 2, rng, nn::Init::pytorch, "head");
    }
    scaling_ = nn::Parameter<T>("scaling", (Matrix<T>(1, 2) << T(0), T(1)).finished());
  }

  /// The shortest series fit() takes: window + differencing + 2 values (two training windows).
  Index min_fit_length() const noexcept { return options_.window + options_.differencing + 2; }
  /// The shortest history forecast() takes: window + differencing values.
  Index min_history() const noexcept { return options_.window + options_.differencing; }

  /// Trains with Adam on shuffled minibatches of the series' sliding windows (the free energy or the
  /// regularised Gaussian negative log-likelihood per window of each epoch is in loss_history()).
  /// A series whose differenced values are all equal up to rounding (a constant series; with differencing
  /// 1 also a straight line) trains nothing: scaling()[1] is 0 and forecasts continue the history given to
  /// them with no spread (its last value; with differencing 1 plus the learnt step per step).
  /// Returns *this.
  /// @throw std::invalid_argument for a series that is not a vector or shorter than min_fit_length();
  ///        std::domain_error for non-finite values, bad fit options or a loss that stops being finite.
  template <class Derived> LSTMForecaster& fit(const Eigen::MatrixBase<Derived>& series, const FitOptions& fit, Rng& rng) {
    return fit_series(checked_series("LSTMForecaster::fit", series, min_fit_length()), fit, rng);
  }
  /// fit() with the training windows spread over processes (data-parallel training, issue 18 §3;
  /// core/collective.hpp, `pml::mpi::Communicator` on MPI): every rank passes the whole series (the same on
  /// every rank: checked) and trains on its share of the sliding windows (rank r the r-th of ranks.size()
  /// contiguous shares), fit.batch_size being the windows per rank, so each Adam step averages over
  /// ranks.size() · batch_size windows. Every rank must call it with the same options and an `rng` in the same
  /// state (checked); rank 0's initial weights are copied to every rank, the gradients are summed over the
  /// ranks once per step, the draws a step shares (weight samples) come from a generator seeded by the
  /// step's key and each window's own (flipout's signs, dropout masks) are hashed from the step and the
  /// window's position (nn::RowDraws, nn::RowNoise), so P ranks with batch B fit as fit(Collective::single(),
  /// series, {batch P·B}) does, to the rounding of the sums (not as fit(series, fit, rng)).
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument for series
  ///        that differ between ranks, an rng in different states or different networks;
  ///        std::runtime_error if the ranks' states drift apart.
  template <class Derived> LSTMForecaster& fit(const Collective& ranks, const Eigen::MatrixBase<Derived>& series, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "LSTMForecaster::fit";
    Vector<double> y;
    detail::agree(ranks, [&] {
      y = checked_series(function, series, min_fit_length());
      detail::check_fit_options(function, fit);
    });
    if (!detail::same_on_every_rank(ranks, detail::fnv1a(y.data(), static_cast<std::size_t>(y.size()) * sizeof(double))))
      throw OnEveryRank<std::invalid_argument>(std::string(function) + ": the ranks were given different series (every rank passes the whole series and trains on its share of the windows)");
    return fit_series(ranks, y, fit, rng);
  }

 private:
  // fit() on the checked series: not a template, so a program built with extern templates compiles it once
  LSTMForecaster& fit_series(const Vector<double>& y, const FitOptions& fit, Rng& rng);
  LSTMForecaster& fit_series(const Collective& ranks, const Vector<double>& y, const FitOptions& fit, Rng& rng);
  // the standardisation learnt from y (scaling_) and the standardised windows x (m x window) with their next
  // values (m x 1); false (scaling()[1] = 0, nothing to train) for a degenerate series
  bool training_windows(const Vector<double>& y, Matrix<T>& x, Matrix<T>& target);
  /// loss() with the noise of an Rng or of nn::RowDraws (data-parallel fits).
  template <class Noise> ad::Var<T> loss_impl(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Noise& rng, T kl_weight);

 public:
  /// The loss per training window of each epoch of the last fit() (empty before it; not stored in files).
  const std::vector<T>& loss_history() const noexcept { return history_; }

  /// The weight of the KL term for minibatch `batch` (0-based) of `batches` per epoch (as BayesByBackprop).
  T kl_weight(Index batch, Index batches) const { return T(detail::kl_share("LSTMForecaster::kl_weight", options_.kl_weighting, batch, batches)); }

  /// The minibatch loss on `tape` for standardised windows x (N x window) and next values y (N x 1):
  /// the Gaussian negative log-likelihood summed over the rows plus kl_weight·KL (Bayes by Backprop) or
  /// N·λ|W|² (MC dropout). @throw std::invalid_argument for shapes that do not match the model.
  ad::Var<T> loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng, T kl_weight);

  /// `samples` sample paths of the next `horizon` values after `history` (the series up to the forecast
  /// origin, at least min_history() values), in the series' units: samples x horizon. Paths run on
  /// threads, each with its own stream split from `rng` in path order (the same paths for any thread count).
  /// @throw std::invalid_argument for a history that is not a vector or too short; std::domain_error for
  ///        non-finite values, horizon < 1 or samples < 1.
  template <class Derived> Matrix<T> sample_paths(const Eigen::MatrixBase<Derived>& history, Index horizon, int samples, Rng& rng) const {
    constexpr const char* function = "LSTMForecaster::sample_paths";
    const Vector<double> y = checked_series(function, history, min_history());
    if (horizon < 1) detail::throw_domain(function, "horizon", "be at least 1", std::to_string(horizon));
    if (samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(samples));
    const double loc = double(scaling_.value(0, 0)), scale = double(scaling_.value(0, 1));
    if (!(scale >= 0)) detail::throw_domain(function, "the model's scaling", "be non-negative (a corrupt model file?)", detail::describe(scale));
    if (scale == 0) {  // fitted to a constant z: the continuation is certain
      Matrix<T> out(samples, horizon);
      const double last = y(y.size() - 1);
      for (Index s = 0; s < horizon; ++s) out.col(s).setConstant(T(options_.differencing == 1 ? last + double(s + 1) * loc : last));
      return out;
    }
    const Vector<double> z = difference(y);
    const Vector<double> start = ((z.tail(options_.window).array() - loc) / scale).matrix();
    const double last = y(y.size() - 1);
    const auto paths = detail::parallel_passes<Vector<T>>(samples, rng, [&](Rng& stream) {
      // the path's one weight draw (or dropout masks), replayed at every step from this state; the step
      // noise from 2^192 draws further on (a long jump: no overlap with this or any other path's streams)
      const Rng weights = stream;
      stream.long_jump();
      Vector<double> buffer(options_.window + horizon);
      buffer.head(options_.window) = start;
      Vector<T> path(horizon);
      double level = last;
      ad::Tape<T> tape;
      for (Index s = 0; s < horizon; ++s) {
        tape.reset();
        Rng replay = weights;
        const Matrix<T> x = buffer.segment(s, options_.window).transpose().template cast<T>();
        const Head h = forward(*this, tape, tape.constant(x), replay, false);
        const double mean = double(h.mean.value()(0, 0)), sd = std::exp(0.5 * double(h.log_variance.value()(0, 0)));
        const double next = mean + sd * random::normal<double>(stream);
        buffer(options_.window + s) = next;
        const double value = next * scale + loc;
        level = options_.differencing == 1 ? level + value : value;
        path(s) = T(level);
      }
      return path;
    });
    Matrix<T> out(samples, horizon);
    for (int i = 0; i < samples; ++i) out.row(i) = paths[static_cast<std::size_t>(i)].transpose();
    return out;
  }

  /// The mean and the central `level` band (quantiles over sample_paths(history, horizon, samples, rng),
  /// interpolated linearly as numpy's default). @throw as sample_paths(); std::domain_error unless 0 < level < 1.
  template <class Derived> ForecastBands<T> forecast(const Eigen::MatrixBase<Derived>& history, Index horizon, int samples, Rng& rng, double level = 0.9) const {
    if (!(level > 0 && level < 1)) detail::throw_domain("LSTMForecaster::forecast", "level", "lie in (0, 1)", detail::describe(level));
    const Matrix<T> paths = sample_paths(history, horizon, samples, rng);
    ForecastBands<T> bands{paths.colwise().mean().transpose(), Vector<T>(horizon), Vector<T>(horizon)};
    std::vector<T> column(static_cast<std::size_t>(samples));
    auto quantile = [&](double q) {
      const double at = q * double(samples - 1);
      const auto lo = static_cast<std::size_t>(std::floor(at));
      const std::size_t hi = std::min(lo + 1, column.size() - 1);
      return T(double(column[lo]) + (at - double(lo)) * double(column[hi] - column[lo]));
    };
    for (Index s = 0; s < horizon; ++s) {
      for (int i = 0; i < samples; ++i) column[static_cast<std::size_t>(i)] = paths(i, s);
      std::sort(column.begin(), column.end());
      bands.lower(s) = quantile((1 - level) / 2);
      bands.upper(s) = quantile((1 + level) / 2);
    }
    return bands;
  }

  /// Pointers to every trainable parameter in file order (the LSTM's, then the head's).
  nn::ParameterList<T> parameters() { return parameter_list<nn::ParameterList<T>>(*this); }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const { return parameter_list<nn::ConstParameterList<T>>(*this); }
  /// What a model file stores: parameters() and then the fitted standardisation (1 x 2: mean and standard
  /// deviation of the differenced training series).
  nn::ConstParameterList<T> stored_parameters() const {
    auto list = parameters();
    list.push_back(&scaling_);
    return list;
  }
  /// stored_parameters() to load into.
  nn::ParameterList<T> stored_parameters() {
    auto list = parameters();
    list.push_back(&scaling_);
    return list;
  }
  /// The standardisation of the differenced series learnt by fit(): {mean, standard deviation} ({0, 1}
  /// before; a standard deviation of 0: the series was degenerate, see fit()).
  std::array<T, 2> scaling() const noexcept { return {scaling_.value(0, 0), scaling_.value(0, 1)}; }
  /// Writes the parameters, the standardisation and the options to `path` (model type "LSTMForecaster"),
  /// atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const { detail::save_model(*this, path, format); }
  /// A model saved by save() (bit-identical forecasts). @throw std::runtime_error naming the path for a
  /// missing, truncated, corrupt or wrong-type file.
  static LSTMForecaster load(const std::filesystem::path& path) {
    LSTMForecaster model = detail::load_model<LSTMForecaster>(path, "LSTMForecaster::load");
    if (!(model.scaling_.value(0, 1) >= T(0)))
      throw std::runtime_error("LSTMForecaster::load: '" + path.string() + "' has a negative standard deviation in its scaling (" +
                               detail::describe(double(model.scaling_.value(0, 1))) + ")");
    return model;
  }
  static constexpr const char* model_name = "LSTMForecaster";  ///< The model type in its files' headers.
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  struct Head {
    ad::Var<T> mean, log_variance, kl;
  };
  static Options checked(const Options& o) {
    constexpr const char* function = "LSTMForecaster";
    if (o.window < 1 || o.hidden < 1)
      pml::detail::throw_shape(function, "window and hidden must be positive, got " + std::to_string(o.window) + " and " + std::to_string(o.hidden));
    if (o.differencing != 0 && o.differencing != 1) detail::throw_domain(function, "differencing", "be 0 or 1", std::to_string(o.differencing));
    o.prior.check(function);
    check_finite(function, "rho_init", o.rho_init);
    if (o.sampling != nn::WeightSampling::weights && o.sampling != nn::WeightSampling::flipout)
      detail::throw_domain(function, "sampling", "be weights or flipout (one weight sample shared by every step)", std::string(enum_name(o.sampling)));
    if (!(o.dropout >= 0 && o.dropout < 1 && T(o.dropout) < T(1)))
      detail::throw_domain(function, "dropout", "lie in [0, 1) (also once rounded to the model's scalar)", detail::describe(o.dropout));
    if (!(o.weight_decay >= 0 && std::isfinite(o.weight_decay)))
      detail::throw_domain(function, "weight_decay", "be non-negative and finite", detail::describe(o.weight_decay));
    return o;
  }
  template <class Derived> static Vector<double> checked_series(const char* function, const Eigen::MatrixBase<Derived>& s, Index min_length) {
    if (s.cols() != 1 && s.rows() != 1)
      pml::detail::throw_shape(function, "the series is " + std::to_string(s.rows()) + "x" + std::to_string(s.cols()) + ", expected a vector");
    if (s.size() < min_length)
      pml::detail::throw_shape(function, "the series has " + std::to_string(s.size()) + " values, at least " + std::to_string(min_length) +
                                             " needed (window + differencing" + (std::string(function).ends_with("fit") ? " + 2)" : ")"));
    Vector<double> y = s.template cast<double>().reshaped();
    check_all_finite(function, "series", y);
    return y;
  }
  Vector<double> difference(const Vector<double>& y) const {
    if (options_.differencing == 0) return y;
    return y.tail(y.size() - 1) - y.head(y.size() - 1);
  }
  template <class List, class Self> static List parameter_list(Self& self) {
    List list;
    auto add = [&](auto& layer) {
      for (auto* p : layer.parameters()) list.push_back(p);
    };
    if (self.blstm_) {
      add(*self.blstm_);
      add(*self.bhead_);
    } else {
      add(*self.lstm_);
      add(*self.head_);
    }
    return list;
  }
  // the head's mean and log-variance for standardised windows x; `training` picks the training draws
  // (Bayes by Backprop) — prediction draws one weight sample per pass, MC dropout keeps its masks on
  // Noise: an Rng, or nn::RowDraws in a data-parallel fit (each window's masks or signs from its position)
  template <class Self, class Noise> static Head forward(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, Noise& noise, bool training) {
    const Options& o = self.options_;
    ad::Var<T> out;
    ad::Var<T> kl;
    if (self.blstm_) {
      const nn::WeightSampling sampling = training ? o.sampling : nn::WeightSampling::weights;
      const auto r = self.blstm_->forward(tape, x, noise, o.prior, sampling);
      const auto head = self.bhead_->forward(tape, r.h, noise, o.prior, sampling);
      out = head.out;
      kl = r.kl + head.kl;
    } else {
      const nn::Dropout<T> drop(T(o.dropout));
      if constexpr (std::is_same_v<std::remove_const_t<Noise>, Rng>) {
        const auto masks = nn::variational_masks<T>(tape, noise, x.rows(), 1, o.hidden, o.dropout);
        const auto r = self.lstm_->forward(tape, x, {}, masks);
        out = self.head_->forward(tape, drop.forward(tape, r.h, noise, true));
      } else {
        const nn::RowNoise rows{noise.shared(), noise.positions};
        const auto masks = nn::variational_masks<T>(tape, rows, x.rows(), 1, o.hidden, o.dropout);
        const auto r = self.lstm_->forward(tape, x, {}, masks);
        out = self.head_->forward(tape, drop.forward(tape, r.h, rows.layer(2), true));
      }
    }
    return {ad::slice_cols(out, 0, 1), ad::slice_cols(out, 1, 1), kl};
  }

  Options options_;
  std::optional<nn::BayesianLSTM<T>> blstm_;
  std::optional<nn::BayesianLinear<T>> bhead_;
  std::optional<nn::LSTM<T>> lstm_;
  std::optional<nn::Linear<T>> head_;
  nn::Parameter<T> scaling_;
  std::vector<T> history_;
};
template <Real T>
auto LSTMForecaster<T>::training_windows(const Vector<double>& y, Matrix<T>& x, Matrix<T>& target) -> bool {
    constexpr const char* function = "LSTMForecaster::fit";
    const Vector<double> z = difference(y);
    if (!z.allFinite()) detail::throw_domain(function, "series", "have finite differences", "a difference of " + detail::describe(z.cwiseAbs().maxCoeff()));
    // standardisation of z: two passes, each sum scaled so that values near the largest double cannot overflow
    const double n = double(z.size());
    const double loc = (z.array() / n).sum();
    const double spread = (z.array() - loc).abs().maxCoeff();
    const double sd = spread > 0 ? spread * std::sqrt(((z.array() - loc) / spread).square().mean()) : 0.0;
    if (!std::isfinite(loc) || !std::isfinite(sd) || !std::isfinite(T(loc)) || !std::isfinite(T(sd)))
      detail::throw_domain(function, "series", "have differences representable in " + std::string(sizeof(T) == 4 ? "float" : "double"),
                           "mean " + detail::describe(loc) + ", standard deviation " + detail::describe(sd));
    // z constant up to rounding (a constant series, or a straight line when differenced): nothing to learn,
    // forecasts continue it exactly (sample_paths)
    if (!(sd > 16 * double(std::numeric_limits<T>::epsilon()) * z.cwiseAbs().maxCoeff()) || !(T(sd) > T(0))) {
      scaling_.value << T(loc), T(0);
      return false;
    }
    scaling_.value << T(loc), T(sd);
    // the windows are standardised with the stored (scalar-rounded) values that sample_paths() will use
    const double loc_t = double(scaling_.value(0, 0)), scale = double(scaling_.value(0, 1));
    const Index w = options_.window, m = z.size() - w;
    x.resize(m, w), target.resize(m, 1);
    for (Index i = 0; i < m; ++i) {
      x.row(i) = ((z.segment(i, w).array() - loc_t) / scale).template cast<T>().transpose();
      target(i, 0) = T((z(i + w) - loc_t) / scale);
    }
    return true;
  }

template <Real T>
auto LSTMForecaster<T>::fit_series(const Vector<double>& y, const FitOptions& fit, Rng& rng) -> LSTMForecaster& {
    constexpr const char* function = "LSTMForecaster::fit";
    detail::check_fit_options(function, fit);
    Matrix<T> x, target;
    const bool trains = training_windows(y, x, target);
    history_.clear();
    if (!trains) return *this;
    auto params = parameters();
    nn::Adam<T> adam(params, {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(function, x, target, fit, rng, [&](const Matrix<T>& xb, const Matrix<T>& yb, Index b, Index batches) {
      tape.reset();
      const ad::Var<T> l = loss(tape, tape.constant(xb), tape.constant(yb), rng, kl_weight(b, batches));
      tape.backward((T(1) / T(xb.rows())) * l);
      adam.step();
      return l.value()(0, 0);
    });
    return *this;
  }

template <Real T>
auto LSTMForecaster<T>::fit_series(const Collective& ranks, const Vector<double>& y, const FitOptions& fit, Rng& rng) -> LSTMForecaster& PML_RANKS_TRY {
    constexpr const char* function = "LSTMForecaster::fit";
    Matrix<T> x, target;
    bool trains = false;
    detail::agree(ranks, [&] { trains = training_windows(y, x, target); });  // the same series, the same outcome on every rank
    history_.clear();
    if (!trains) return *this;
    const Index m = x.rows(), p = ranks.size(), r = ranks.rank();
    const Index begin = m * r / p, end = m * (r + 1) / p;  // this rank's contiguous share of the windows
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(ranks, function, x.middleRows(begin, end - begin), target.middleRows(begin, end - begin), fit, rng, adam,
                                     detail::options_text(*this), [&](const Matrix<T>& xb, const Matrix<T>& yb, const detail::ShardStep& s) {
      tape.reset();
      Rng shared(s.key);  // the step's shared draws, the same on every rank
      const nn::RowDraws draws{shared, s.positions};  // and each window's own, hashed from its position
      const T share = T(xb.rows()) / T(s.minibatch_rows);  // of the KL term: the ranks' shares add up to one
      const ad::Var<T> l = loss_impl(tape, tape.constant(xb), tape.constant(yb), draws, share * kl_weight(s.batch, s.batches));
      tape.backward((T(1) / T(s.minibatch_rows)) * l);
      return l.value()(0, 0);
    });
    return *this;
  } PML_RANKS_CATCH(ranks, "LSTMForecaster::fit")


// LSTMForecaster's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto LSTMForecaster<T>::loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng, T kl_weight) -> ad::Var<T> {
  return loss_impl(tape, x, y, rng, kl_weight);
}

/// loss() with the noise of an Rng or of nn::RowDraws (data-parallel fits).
template <Real T>
template <class Noise>
auto LSTMForecaster<T>::loss_impl(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Noise& rng, T kl_weight) -> ad::Var<T> {
    if (x.cols() != options_.window || y.cols() != 1 || x.rows() != y.rows() || x.rows() == 0)
      pml::detail::throw_shape("LSTMForecaster::loss", "x is " + std::to_string(x.rows()) + "x" + std::to_string(x.cols()) + " and y is " +
                                                           std::to_string(y.rows()) + "x" + std::to_string(y.cols()) + ", expected N x " +
                                                           std::to_string(options_.window) + " and N x 1");
    const Head h = forward(*this, tape, x, rng, true);
    const ad::Var<T> nll = ad::gaussian_nll(h.mean, h.log_variance, y);
    if (h.kl.tape) return nll + kl_weight * h.kl;
    if (options_.method == ForecastMethod::mc_dropout && options_.weight_decay > 0) {
      const ad::Var<T> decay = ad::sum(ad::square(lstm_->weight_ih().bind(tape))) + ad::sum(ad::square(lstm_->weight_hh().bind(tape))) +
                               ad::sum(ad::square(head_->weight().bind(tape)));
      return nll + (T(options_.weight_decay) * T(x.rows())) * decay;
    }
    return nll;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::LSTMForecaster)
