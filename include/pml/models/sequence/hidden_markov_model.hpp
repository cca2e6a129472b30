#pragma once
/// @file
/// Hidden Markov models (PRML §13.2) with categorical, Gaussian or Gaussian-mixture emissions (full or
/// diagonal covariances):
/// forward–backward in log space, Viterbi, Baum–Welch with restarts, sampling, several sequences of
/// different lengths in one fit.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Cholesky>

#include "pml/core/check.hpp"
#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/random.hpp"
#include "pml/core/rng.hpp"
#include "pml/core/special.hpp"
#include "pml/models/cluster/kmeans.hpp"
#include "pml/serialization/state.hpp"

namespace pml {

/// The emission distribution of every hidden state.
enum class HMMEmission {
  categorical,        ///< one of `symbols` symbols (x holds one column of integers 0 .. symbols − 1)
  gaussian_full,      ///< a Gaussian with a full covariance per state
  gaussian_diagonal,  ///< a Gaussian with a diagonal covariance per state
  gaussian_mixture_full,      ///< a mixture of `mixture_components` Gaussians per state, each with a full covariance
  gaussian_mixture_diagonal,  ///< a mixture of `mixture_components` Gaussians per state, each with a diagonal covariance
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 5> enum_names(HMMEmission) {
  return {"categorical", "gaussian_full", "gaussian_diagonal", "gaussian_mixture_full", "gaussian_mixture_diagonal"};
}

/// Options of HiddenMarkovModel.
template <Real T = double> struct HiddenMarkovModelOptions {
  Index states = 2;                                  ///< K, the number of hidden states
  HMMEmission emission = HMMEmission::gaussian_full;  ///< the states' emission distribution
  Index symbols = 0;       ///< categorical: the number of symbols (0: one more than the largest in the data)
  Index mixture_components = 1;  ///< Gaussian mixtures: M, the components of each state's emission (hmmlearn's n_mix); 1 otherwise
  int restarts = 1;        ///< independent Baum–Welch runs from different starts; the highest log-likelihood wins
  int max_iterations = 100;  ///< Baum–Welch iterations per run
  T tolerance = T(1e-4);   ///< stop when the log-likelihood per observation rises by less than this
  T reg_covar = T(1e-6);   ///< added to every variance (the diagonal of every covariance), in the data's units squared
  /// Start from the model's current parameters instead of a new initialisation (scikit-learn's name).
  bool warm_start = false;

  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("states", o.states, io::as_size);
    v("emission", o.emission);
    v("symbols", o.symbols, io::as_size);
    v("mixture_components", o.mixture_components, io::as_size, io::added_later);
    v("restarts", o.restarts);
    v("max_iterations", o.max_iterations);
    v("tolerance", o.tolerance);
    v("reg_covar", o.reg_covar);
    v("warm_start", o.warm_start);
  }
};

/// A hidden Markov model p(x, z) = π_{z₁} b_{z₁}(x₁) Π_t A_{z_{t−1} z_t} b_{z_t}(x_t) (PRML 13.10).
///
/// Data: the observations of one or more sequences stacked as the rows of an N x D matrix `x` (categorical:
/// N x 1 of integers 0 .. S − 1), and `lengths`, the rows of each sequence in order (empty: one sequence).
/// The forward and backward passes (PRML 13.36–13.38) run in log space, each row kept relative to its own
/// log-sum-exp (the log form of PRML §13.2.4's scaling factors): no probability underflows and no log grows
/// with the sequence, so the posteriors γ and ξ (PRML 13.33, 13.43) keep full precision at 10⁵ steps;
/// Viterbi (PRML 13.68–13.70) maximises sums of logs. Baum–Welch (PRML
/// 13.18–13.23) starts from k-means means and the data's covariance (Gaussian) or Dirichlet(1) draws
/// (categorical), with uniform initial and transition probabilities; covariances are accumulated from the
/// centred rows x − μ_k, and Baum–Welch runs on the data centred about its column means (shift-equivariant to
/// rounding: tested in the estimator checks at offsets of 1e9 spreads). A Gaussian-mixture state (hmmlearn's GMMHMM) emits b_k(x) = Σ_m w_km N(x | μ_km,
/// Σ_km), evaluated as a log-sum-exp; its M-step weighs row t for component m by γ_t(k) w_km N_km(x_t) /
/// b_k(x_t) (PRML 9.23–9.26 within the state), and its components start from k-means with M clusters on the
/// rows nearest the state's k-means centre. Sequences run in parallel (the sums combined in sequence order: the same bits for
/// any thread count). Thread safety: const members may run on one fitted model from many threads at once.
template <Real T = double> class HiddenMarkovModel {
 public:
  using Options = HiddenMarkovModelOptions<T>;  ///< The options type.
  using Scalar = T;                             ///< The scalar type (float or double).

  /// A model with the given options (fit() or set_parameters() next).
  /// @throw std::domain_error for states < 1, restarts < 1, max_iterations < 1, a negative tolerance or reg_covar.
  explicit HiddenMarkovModel(const Options& options = {}) : options_(options) {
    const char* f = "HiddenMarkovModel";
    if (options.states < 1) detail::throw_domain(f, "states", "be at least 1", std::to_string(options.states));
    if (options.symbols < 0) detail::throw_domain(f, "symbols", "be non-negative", std::to_string(options.symbols));
    if (options.restarts < 1) detail::throw_domain(f, "restarts", "be at least 1", std::to_string(options.restarts));
    if (options.mixture_components < 1) detail::throw_domain(f, "mixture_components", "be at least 1", std::to_string(options.mixture_components));
    if (options.emission != HMMEmission::categorical && options.symbols != 0)
      detail::throw_domain(f, "symbols", "be 0 unless emission is categorical", std::to_string(options.symbols));
    if (!mixture() && options.mixture_components != 1)
      detail::throw_domain(f, "mixture_components", "be 1 unless emission is gaussian_mixture_full or gaussian_mixture_diagonal",
                           std::to_string(options.mixture_components));
    detail::check_model_memory(f, "mixture_components", double(options.states) * double(options.mixture_components) * 8 * sizeof(T),
                               "K x M mixture weights", "use fewer states or components");
    detail::check_model_memory(f, "states", double(options.states) * double(options.states) * 8 * sizeof(T), "K x K transition matrices",
                               "use fewer states");
    if (options.max_iterations < 1) detail::throw_domain(f, "max_iterations", "be at least 1", std::to_string(options.max_iterations));
    check_nonnegative(f, "tolerance", options.tolerance);
    check_nonnegative(f, "reg_covar", options.reg_covar);
  }

  /// Sets every parameter: initial probabilities `start` (K), transition matrix `transitions` (K x K, rows sum
  /// to 1), and the emissions — categorical: `emission_probabilities` (K x S, rows sum to 1); Gaussian:
  /// `means` (K x D) and `covariances` (K matrices D x D, full; or one K x D matrix of variances as its only
  /// entry, diagonal); Gaussian mixtures: the same for the K·M components, component m of state k in row
  /// k·M + m (`means` K·M x D; K·M matrices, or one K·M x D matrix of variances), and `mixture_weights`
  /// (K x M, rows sum to 1). Use it to score or decode with known parameters, or to start fit() with warm_start.
  /// @throw std::invalid_argument for inconsistent shapes; std::domain_error for values that are not
  /// probabilities or covariances that are not positive definite.
  HiddenMarkovModel& set_parameters(const VectorCRef<T>& start, const MatrixCRef<T>& transitions, const MatrixCRef<T>& emission_probabilities,
                                    const MatrixCRef<T>& means = Matrix<T>(), const std::vector<Matrix<T>>& covariances = {},
                                    const MatrixCRef<T>& mixture_weights = Matrix<T>());

  /// Baum–Welch on the sequences in `x` (N x D; categorical N x 1) with `lengths` (empty: one sequence),
  /// `restarts` runs from starts drawn from `rng`, keeping the run of highest log-likelihood.
  /// @throw std::invalid_argument for lengths that do not add up to N or a zero length, a wrong width;
  /// std::domain_error for non-finite values or, categorical, a value that is not a symbol.
  HiddenMarkovModel& fit(const MatrixCRef<T>& x, const std::vector<Index>& lengths, Rng& rng);
  /// fit() with a generator seeded from `seed`.
  HiddenMarkovModel& fit(const MatrixCRef<T>& x, const std::vector<Index>& lengths = {}, std::uint64_t seed = 0) {
    Rng rng(seed);
    return fit(x, lengths, rng);
  }

  /// The total log-likelihood log p(x) of the sequences (hmmlearn's `score`). log_likelihood() without
  /// arguments is that of the training data.
  /// @throw std::logic_error if there are no parameters; as fit() for bad data; std::domain_error for
  /// observations of probability 0 under the model.
  T log_likelihood(const MatrixCRef<T>& x, const std::vector<Index>& lengths = {}) const {
    const char* f = "HiddenMarkovModel::log_likelihood";
    require_parameters(f);
    check_data(f, x, true);
    return log_likelihood_of(f, x, sequence_bounds(f, x.rows(), lengths));
  }
  /// The mean log-likelihood per observation, log p(x) / N (the model contract's `score`: higher is better).
  T score(const MatrixCRef<T>& x, const std::vector<Index>& lengths = {}) const {
    const char* f = "HiddenMarkovModel::score";
    require_parameters(f);
    check_data(f, x, true);
    check_nonempty(f, "x", x.rows());
    return log_likelihood_of(f, x, sequence_bounds(f, x.rows(), lengths)) / T(x.rows());
  }
  /// log p(x) of each sequence (length: the number of sequences).
  Vector<T> log_likelihoods(const MatrixCRef<T>& x, const std::vector<Index>& lengths = {}) const;
  /// The posterior probability of each hidden state at each row, p(z_t = k | x) (PRML 13.33): N x K.
  Matrix<T> predict_proba(const MatrixCRef<T>& x, const std::vector<Index>& lengths = {}) const;
  /// The most probable state path of each sequence (Viterbi, PRML 13.68–13.70), one state per row.
  IntVector predict(const MatrixCRef<T>& x, const std::vector<Index>& lengths = {}) const { return decode(x, lengths).second; }
  /// The Viterbi path and its log-probability log p(x, z*) summed over the sequences.
  std::pair<T, IntVector> decode(const MatrixCRef<T>& x, const std::vector<Index>& lengths = {}) const;
  /// `n` observations of one sequence drawn from the model, with their hidden states.
  std::pair<Matrix<T>, IntVector> sample(Rng& rng, Index n) const;

  const Vector<T>& start_probabilities() const noexcept { return start_; }  ///< π (K; hmmlearn's startprob_)
  const Matrix<T>& transitions() const noexcept { return transitions_; }    ///< A (K x K; rows sum to 1; transmat_)
  const Matrix<T>& emission_probabilities() const noexcept { return emission_; }  ///< categorical: K x S
  /// Gaussian: the means, K x D; Gaussian mixtures: K·M x D, component m of state k in row k·M + m.
  const Matrix<T>& means() const noexcept { return means_; }
  /// Gaussian mixtures: the weights of each state's components, K x M (rows sum to 1); Gaussian: K x 1 of ones.
  const Matrix<T>& mixture_weights() const noexcept { return weights_; }
  /// Gaussian: the covariance of each state (K matrices D x D; the diagonal ones as diagonal matrices);
  /// Gaussian mixtures: of each component (K·M matrices, in the order of means()).
  std::vector<Matrix<T>> covariances() const {
    if (!diagonal()) return covariances_;
    std::vector<Matrix<T>> out;
    for (Index i = 0; i < variances_.rows(); ++i) out.push_back(variances_.row(i).asDiagonal());
    return out;
  }
  /// The log-likelihood of each Baum–Welch iteration of the kept run (before its M-step), empty after load().
  const std::vector<T>& log_likelihood_history() const noexcept { return history_; }
  T log_likelihood() const noexcept { return log_likelihood_; }  ///< log p(x) of the training data under the fitted model
  int iterations() const noexcept { return iterations_; }  ///< Baum–Welch iterations of the kept run
  bool converged() const noexcept { return converged_; }  ///< whether the kept run met the tolerance
  const Options& options() const noexcept { return options_; }  ///< The options.
  bool fitted() const noexcept { return start_.size() > 0; }  ///< whether the model has parameters (fit() or set_parameters())

  /// Writes the parameters to `path` (type "HiddenMarkovModel"). @throw std::logic_error without parameters;
  /// std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    require_parameters("HiddenMarkovModel::save");
    io::save_model(*this, path, format, "HiddenMarkovModel::save");
  }
  /// A model saved by save(). @throw std::runtime_error naming the path for a missing, truncated, corrupt or
  /// wrong-type file, or parameters that are not probabilities.
  static HiddenMarkovModel load(const std::filesystem::path& path) {
    return io::load_model<HiddenMarkovModel>(path, "HiddenMarkovModel::load");
  }
  static constexpr const char* model_name = "HiddenMarkovModel";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    const Index k = self.options_.states;
    // rows of probabilities: non-negative, summing to 1 (checked when reading)
    const auto distributions = [](const auto& m) {
      const T tol = sizeof(T) < 8 ? T(1e-4) : T(1e-9);
      for (Index i = 0; i < m.rows(); ++i)
        if (!(m.row(i).array() >= T(0)).all() || !(std::abs(m.row(i).sum() - T(1)) <= tol * T(m.cols()))) return false;
      return true;
    };
    a.vector("start", self.start_, k, io::Values::finite);
    a.matrix("transitions", self.transitions_, k, k);
    a.require(distributions(self.start_.transpose()) && distributions(self.transitions_),
              "the initial or a transition distribution is not a probability vector (entries >= 0 summing to 1)");
    if (self.options_.emission == HMMEmission::categorical) {
      a.matrix("emission_probabilities", self.emission_, k);
      a.require(distributions(self.emission_), "an emission distribution is not a probability vector (entries >= 0 summing to 1)");
      if constexpr (!std::is_const_v<Self>) {
        self.symbols_ = self.emission_.cols();
        self.dims_ = 1;
      }
    } else {
      const Index c = k * self.components_per_state();
      if (self.mixture()) {
        a.matrix("mixture_weights", self.weights_, k, self.options_.mixture_components);
        a.require(distributions(self.weights_), "the mixture weights of a state are not a probability vector (entries >= 0 summing to 1)");
      } else if constexpr (!std::is_const_v<Self>) {
        self.weights_ = Matrix<T>::Ones(k, 1);
      }
      a.matrix("means", self.means_, c);
      if constexpr (!std::is_const_v<Self>) self.dims_ = self.means_.cols();
      if (self.diagonal()) {
        a.matrix("variances", self.variances_, c, self.means_.cols(), io::Values::positive);
      } else {
        std::vector<Eigen::LLT<Matrix<T>>> chol;
        if constexpr (std::is_const_v<Self>)
          for (const auto& l : self.factors_) chol.push_back(pml::llt_from_factor(l));
        a.factors("covariance_factors", chol, c, self.means_.cols());
        if constexpr (!std::is_const_v<Self>) {
          self.factors_.clear();
          self.covariances_.clear();
          for (const auto& c : chol) {
            self.factors_.push_back(c.matrixL());
            self.covariances_.push_back(self.factors_.back() * self.factors_.back().transpose());
          }
        }
      }
    }
    a.scalars("scalars", self.log_likelihood_);
    a.option("iterations", self.iterations_);
    a.option("converged", self.converged_);
  }

  bool mixture() const noexcept {
    return options_.emission == HMMEmission::gaussian_mixture_full || options_.emission == HMMEmission::gaussian_mixture_diagonal;
  }
  bool diagonal() const noexcept {
    return options_.emission == HMMEmission::gaussian_diagonal || options_.emission == HMMEmission::gaussian_mixture_diagonal;
  }
  // M, the Gaussian components of each state (1 for a Gaussian state)
  Index components_per_state() const noexcept { return mixture() ? options_.mixture_components : 1; }

  // Baum-Welch restarts on x (the centred rows for Gaussian emissions); the best run kept
  void fit_centred(const char* f, const MatrixCRef<T>& x, const std::vector<std::pair<Index, Index>>& bounds, bool warm, Rng& rng);
  void require_parameters(const char* function) const {
    if (!fitted()) throw std::logic_error(std::string(function) + ": the model has no parameters; call fit() or set_parameters() first");
  }
  // [begin, end) of each sequence
  static std::vector<std::pair<Index, Index>> sequence_bounds(const char* function, Index n, const std::vector<Index>& lengths) {
    std::vector<std::pair<Index, Index>> out;
    if (lengths.empty()) {
      if (n == 0) detail::throw_shape(function, "x has no rows");
      out.push_back({0, n});
      return out;
    }
    Index at = 0;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      if (lengths[i] <= 0)
        detail::throw_shape(function, "lengths[" + std::to_string(i) + "] is " + std::to_string(lengths[i]) + ": every sequence needs at least one row");
      if (lengths[i] > n - at)
        detail::throw_shape(function, "lengths up to lengths[" + std::to_string(i) + "] add up to more than the " + std::to_string(n) + " rows of x");
      out.push_back({at, at + lengths[i]});
      at += lengths[i];
    }
    if (at != n) detail::throw_shape(function, "lengths add up to " + std::to_string(at) + ", but x has " + std::to_string(n) + " rows");
    return out;
  }
  void check_data(const char* function, const MatrixCRef<T>& x, bool with_model) const;

  // log b_k(x_t): N x K
  Matrix<T> log_emissions(const MatrixCRef<T>& x) const;
  // log Σ_m w_km N(x_t | μ_km, Σ_km) from the components' log-densities g (N x K·M): N x K
  Matrix<T> mixture_log_emissions(const Matrix<T>& g) const;
  // log N(x_t | μ_c, Σ_c) of every Gaussian component c (a Gaussian state's emission, or a mixture's component): N x K·M
  Matrix<T> component_log_densities(const MatrixCRef<T>& x) const;

  // Underflow guard of the recursions below. A step is done in linear space (K exps and one K x K product) when
  // no term exp(log a_i − max) · A_ij it sums can fall below the smallest normal number, i.e. when every finite
  // log a_i lies within `linear_reach()` of the largest; otherwise, in pure log space (K² exps: a state far
  // behind that alone explains what follows — say A = I — is never rounded away).
  T linear_reach() const {
    T min_a = T(1);
    for (Index i = 0; i < transitions_.size(); ++i)
      if (transitions_.data()[i] > T(0)) min_a = std::min(min_a, transitions_.data()[i]);
    return -(std::log(std::numeric_limits<T>::min()) + T(20) - std::log(min_a));
  }
  // e = exp(v − max v) (exactly 0 for −inf entries) and max v; false when a finite entry lies further than
  // `reach` below the max (then the caller takes the log-space path)
  static bool shifted_exp(const RowVector<T>& v, T reach, T& m, RowVector<T>& e) {
    m = v.maxCoeff();
    bool linear = true;
    for (Index i = 0; i < v.size(); ++i) {
      if (v(i) == -std::numeric_limits<T>::infinity()) {
        e(i) = T(0);
        continue;
      }
      const T d = v(i) - m;
      if (d < -reach) linear = false;
      e(i) = std::exp(d);
    }
    return linear;
  }
  // log Σ exp(v), −inf when every entry is −inf
  template <class V> static T lse(const V& v) {
    const T m = v.maxCoeff();
    if (m == -std::numeric_limits<T>::infinity()) return m;
    return m + std::log((v.array() - m).exp().sum());
  }

  // log α̂ (rows [begin, end) of b) into la (n x K), each row normalised to log-sum-exp 0: log α_t minus
  // log p(x_1..x_t), so that no entry grows with the sequence (PRML 13.2.4's scaling, in log space); returns
  // log p(x of the sequence) = Σ_t log c_t. @throw std::domain_error naming `function` for a sequence of
  // probability 0.
  T forward(const char* function, const Matrix<T>& b, Index begin, Index end, Matrix<T>& la) const;
  // log β (n x K), each row shifted to a largest entry of 0 (for a sequence forward() accepted)
  void backward(const Matrix<T>& b, Index begin, Index end, Matrix<T>& lb) const;
  // γ_t = α_t β_t / Σ_k α_t β_t from the shifted rows: each row sums to 1 to rounding however long the sequence
  static void posteriors(const Matrix<T>& la, const Matrix<T>& lb, Eigen::Ref<Matrix<T>> gamma) {
    gamma = la + lb;
    for (Index t = 0; t < gamma.rows(); ++t) {
      const T m = gamma.row(t).maxCoeff();
      for (Index j = 0; j < gamma.cols(); ++j)
        gamma(t, j) = gamma(t, j) == -std::numeric_limits<T>::infinity() ? T(0) : std::exp(gamma(t, j) - m);
      gamma.row(t) /= gamma.row(t).sum();
    }
  }
  // Σ_t ξ_t(i, j) of one sequence added to acc (PRML 13.43), each ξ_t normalised to sum 1
  void add_transitions(const Matrix<T>& b, Index begin, const Matrix<T>& la, const Matrix<T>& lb, Matrix<T>& acc) const;
  [[noreturn]] static void impossible(const char* function, Index first, Index last) {
    detail::throw_domain(function, "x", "have a positive probability under the model",
                         "rows " + std::to_string(first) + " to " + std::to_string(last) + " of probability 0");
  }

  // log p(x) of each sequence; log_likelihood_of() their sum
  Vector<T> sequence_log_likelihoods(const char* function, const MatrixCRef<T>& x, const std::vector<std::pair<Index, Index>>& bounds) const;
  T log_likelihood_of(const char* function, const MatrixCRef<T>& x, const std::vector<std::pair<Index, Index>>& bounds) const {
    return sequence_log_likelihoods(function, x, bounds).sum();
  }

  // One Baum–Welch iteration: E-step under the current parameters, M-step; returns the log-likelihood before it.
  T em_step(const MatrixCRef<T>& x, const std::vector<std::pair<Index, Index>>& bounds);

  void initialise(const MatrixCRef<T>& x, Rng& rng);

  Options options_;
  Vector<T> start_;
  Matrix<T> transitions_, emission_, means_, variances_;
  Matrix<T> weights_;  // Gaussian: K x 1 of ones; mixtures: K x M
  std::vector<Matrix<T>> covariances_, factors_;
  Index symbols_ = 0, dims_ = 0;
  std::vector<T> history_;
  T log_likelihood_ = 0;
  int iterations_ = 0;
  bool converged_ = false;
};

template <Real T>
auto HiddenMarkovModel<T>::set_parameters(const VectorCRef<T>& start, const MatrixCRef<T>& transitions, const MatrixCRef<T>& emission_probabilities, const MatrixCRef<T>& means, const std::vector<Matrix<T>>& covariances, const MatrixCRef<T>& mixture_weights) -> HiddenMarkovModel& {
    const char* f = "HiddenMarkovModel::set_parameters";
    // everything is checked into locals first: a throw leaves the model as it was
    const Index k = options_.states;
    const auto shape = [](const auto& m) { return std::to_string(m.rows()) + "x" + std::to_string(m.cols()); };
    // rows checked to sum to 1 within 1e-6, then divided by their sums (as load() requires sums of 1 to rounding)
    const auto normalised = [](Matrix<T> m) {
      for (Index i = 0; i < m.rows(); ++i) m.row(i) /= m.row(i).sum();
      return m;
    };
    check_size(f, "start", start.size(), k, "length");
    check_simplex(f, "start", start, 1e-6);
    if (transitions.rows() != k || transitions.cols() != k)
      detail::throw_shape(f, "transitions is " + shape(transitions) + ", expected " + std::to_string(k) + "x" + std::to_string(k));
    for (Index i = 0; i < k; ++i) check_simplex(f, "transitions (row " + std::to_string(i) + ")", transitions.row(i).transpose(), 1e-6);
    Matrix<T> emission, means_in, weights, variances;
    std::vector<Matrix<T>> covs, factors;
    Index symbols = 0, dims = 1;
    if (options_.emission == HMMEmission::categorical) {
      check_size(f, "emission_probabilities", emission_probabilities.rows(), k, "rows");
      check_nonempty(f, "emission_probabilities", emission_probabilities.cols());
      for (Index i = 0; i < k; ++i)
        check_simplex(f, "emission_probabilities (row " + std::to_string(i) + ")", emission_probabilities.row(i).transpose(), 1e-6);
      emission = normalised(emission_probabilities);
      symbols = emission.cols();
    } else {
      const Index m = components_per_state(), c = k * m;  // Gaussian components in all
      if (mixture()) {
        if (mixture_weights.rows() != k || mixture_weights.cols() != m)
          detail::throw_shape(f, "mixture_weights is " + shape(mixture_weights) + ", expected " + std::to_string(k) + "x" + std::to_string(m) +
                                     " (states x mixture_components)");
        for (Index i = 0; i < k; ++i) check_simplex(f, "mixture_weights (row " + std::to_string(i) + ")", mixture_weights.row(i).transpose(), 1e-6);
        weights = normalised(mixture_weights);
      } else if (mixture_weights.size() != 0) {
        detail::throw_shape(f, "mixture_weights is " + shape(mixture_weights) + ", but the emission is not a Gaussian mixture (give an empty matrix)");
      } else {
        weights = Matrix<T>::Ones(k, 1);
      }
      check_size(f, "means", means.rows(), c, "rows");
      check_nonempty(f, "means", means.cols());
      check_all_finite(f, "means", means);
      means_in = means;
      dims = means.cols();
      if (diagonal()) {
        if (covariances.size() != 1 || covariances[0].rows() != c || covariances[0].cols() != dims)
          detail::throw_shape(f, "covariances must hold one matrix of variances, " + std::to_string(c) + "x" + std::to_string(dims) +
                                     " (one row per component); got " + std::to_string(covariances.size()) + " matrices" +
                                     (covariances.empty() ? std::string() : ", the first " + shape(covariances[0])));
        check_all_positive(f, "covariances", covariances[0]);
        variances = covariances[0];
      } else {
        if (Index(covariances.size()) != c) detail::throw_shape(f, "covariances has " + std::to_string(covariances.size()) + " matrices, expected " + std::to_string(c));
        for (Index i = 0; i < c; ++i) {
          const std::string name = "covariances[" + std::to_string(i) + "]";
          if (covariances[std::size_t(i)].rows() != dims || covariances[std::size_t(i)].cols() != dims)
            detail::throw_shape(f, name + " is " + shape(covariances[std::size_t(i)]) + ", expected " + std::to_string(dims) + "x" + std::to_string(dims));
          check_symmetric(f, name, covariances[std::size_t(i)]);
          Eigen::LLT<Matrix<T>> llt(covariances[std::size_t(i)]);
          if (llt.info() != Eigen::Success) detail::throw_domain(f, name, "be positive definite", "a failed Cholesky factorisation");
          factors.push_back(llt.matrixL());
        }
        covs = covariances;
      }
    }
    emission_ = std::move(emission);
    means_ = std::move(means_in);
    weights_ = std::move(weights);
    variances_ = std::move(variances);
    covariances_ = std::move(covs);
    factors_ = std::move(factors);
    symbols_ = symbols;
    dims_ = dims;
    start_ = start / start.sum();
    transitions_ = normalised(transitions);
    history_.clear();
    iterations_ = 0;
    converged_ = false;
    log_likelihood_ = T(0);
    return *this;
  }

template <Real T>
auto HiddenMarkovModel<T>::log_likelihoods(const MatrixCRef<T>& x, const std::vector<Index>& lengths) const -> Vector<T> {
    const char* f = "HiddenMarkovModel::log_likelihoods";
    require_parameters(f);
    check_data(f, x, true);
    return sequence_log_likelihoods(f, x, sequence_bounds(f, x.rows(), lengths));
  }

template <Real T>
auto HiddenMarkovModel<T>::predict_proba(const MatrixCRef<T>& x, const std::vector<Index>& lengths) const -> Matrix<T> {
    const char* f = "HiddenMarkovModel::predict_proba";
    require_parameters(f);
    check_data(f, x, true);
    const auto bounds = sequence_bounds(f, x.rows(), lengths);
    const Matrix<T> b = log_emissions(x);
    Matrix<T> gamma(x.rows(), options_.states);
    detail::parallel_for(Index(bounds.size()), [&](Index s) {
      const auto [begin, end] = bounds[std::size_t(s)];
      Matrix<T> la, lb;
      forward(f, b, begin, end, la);
      backward(b, begin, end, lb);
      posteriors(la, lb, gamma.middleRows(begin, end - begin));
    });
    return gamma;
  }

template <Real T>
auto HiddenMarkovModel<T>::decode(const MatrixCRef<T>& x, const std::vector<Index>& lengths) const -> std::pair<T, IntVector> {
    const char* f = "HiddenMarkovModel::decode";
    require_parameters(f);
    check_data(f, x, true);
    const auto bounds = sequence_bounds(f, x.rows(), lengths);
    const Matrix<T> b = log_emissions(x);
    const Matrix<T> log_a = transitions_.array().log();
    IntVector path(x.rows());
    Vector<T> best(Index(bounds.size()));
    detail::parallel_for(Index(bounds.size()), [&](Index s) {
      const auto [begin, end] = bounds[std::size_t(s)];
      const Index k = options_.states, n = end - begin;
      Matrix<T> delta(n, k);
      Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic> from(n, k);
      delta.row(0) = start_.array().log().transpose() + b.row(begin).array();
      for (Index t = 1; t < n; ++t)
        for (Index j = 0; j < k; ++j) {
          Index arg = 0;
          const T m = (delta.row(t - 1).transpose() + log_a.col(j)).maxCoeff(&arg);
          delta(t, j) = m + b(begin + t, j);
          from(t, j) = arg;
        }
      Index state = 0;
      best(s) = delta.row(n - 1).maxCoeff(&state);
      if (!(best(s) > -std::numeric_limits<T>::infinity())) impossible(f, begin, end - 1);
      for (Index t = n - 1; t >= 0; --t) {
        path(begin + t) = long(state);
        if (t > 0) state = from(t, state);
      }
    });
    return {best.sum(), path};
  }


// HiddenMarkovModel's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto HiddenMarkovModel<T>::fit(const MatrixCRef<T>& x, const std::vector<Index>& lengths, Rng& rng) -> HiddenMarkovModel& {
    const char* f = "HiddenMarkovModel::fit";
    check_nonempty(f, "x", x.rows());
    const auto bounds = sequence_bounds(f, x.rows(), lengths);
    const bool warm = options_.warm_start && fitted();
    check_data(f, x, warm);  // a warm start checks the width (and the symbols) against the current parameters
    const bool gaussian = options_.emission != HMMEmission::categorical;
    RowVector<T> shift = RowVector<T>::Zero(x.cols());
    if (gaussian) {
      const double c = double(options_.states) * double(components_per_state()), d = double(x.cols());
      detail::check_model_memory(f, "x", (3 * double(x.rows()) * c + 2 * c * d * d) * sizeof(T),
                                 "N x K·M log-densities and responsibilities and K·M covariances", "use fewer rows, states or components");
      // covariances are sums of squared deviations: refused (naming this function) when they would overflow
      shift = (x / T(x.rows())).colwise().sum();
      detail::check_spread<T>(f, detail::largest_deviation<T>(x, shift), double(x.rows()) * double(x.cols()));
    }
    if (options_.emission == HMMEmission::categorical && !warm) {
      const T largest = x.col(0).maxCoeff();
      const double symbols = options_.symbols > 0 ? double(options_.symbols) : double(largest) + 1;
      detail::check_model_memory(f, "x", symbols * double(options_.states) * 3 * sizeof(T), "a K x S table of emission probabilities",
                                 "number the symbols 0, 1, 2, ... without gaps");
      symbols_ = options_.symbols > 0 ? options_.symbols : Index(largest) + 1;
      check_data(f, x, true);
    }
    // Gaussian emissions: Baum-Welch runs on the rows centred about their column means (a weighted mean of
    // rows far from the origin, and the squares about it, would lose the digits the offset takes), the means
    // shifted back at the end
    Matrix<T> centred;
    if (gaussian) centred = x.rowwise() - shift;
    const MatrixCRef<T> xs = gaussian ? MatrixCRef<T>(centred) : x;
    if (warm && gaussian) means_.rowwise() -= shift;
    try {
      fit_centred(f, xs, bounds, warm, rng);
    } catch (...) {
      if (warm && gaussian) means_.rowwise() += shift;
      throw;
    }
    if (gaussian) means_.rowwise() += shift;
    return *this;
  }

template <Real T>
auto HiddenMarkovModel<T>::fit_centred(const char* f, const MatrixCRef<T>& x, const std::vector<std::pair<Index, Index>>& bounds, bool warm, Rng& rng)
    -> void {
    T best = -std::numeric_limits<T>::infinity();
    HiddenMarkovModel best_model = *this;
    for (int run = 0; run < (warm ? 1 : options_.restarts); ++run) {
      if (!warm) initialise(x, rng);
      history_.clear();
      converged_ = false;
      T previous = -std::numeric_limits<T>::infinity();
      for (int it = 0; it < options_.max_iterations; ++it) {
        const T ll = em_step(x, bounds);
        history_.push_back(ll);
        iterations_ = it + 1;
        if (it > 0 && (ll - previous) < options_.tolerance * T(x.rows())) {
          converged_ = true;
          break;
        }
        previous = ll;
      }
      const T ll = log_likelihood_of(f, x, bounds);
      if (run == 0 || ll > best) {
        best = ll;
        best_model = *this;
      }
    }
    *this = std::move(best_model);
    log_likelihood_ = best;
  }

template <Real T>
auto HiddenMarkovModel<T>::sample(Rng& rng, Index n) const -> std::pair<Matrix<T>, IntVector> {
    const char* f = "HiddenMarkovModel::sample";
    require_parameters(f);
    if (n < 0) detail::throw_domain(f, "n", "be non-negative", std::to_string(n));
    Matrix<T> x(n, dims_);
    IntVector z(n);
    auto draw = [&](const auto& p) {
      const T u = random::uniform<T>(rng);
      T acc = 0;
      for (Index i = 0; i < p.size(); ++i) {
        acc += p(i);
        if (u < acc) return i;
      }
      return p.size() - 1;
    };
    Index state = draw(start_);
    for (Index t = 0; t < n; ++t) {
      if (t > 0) state = draw(transitions_.row(state).transpose());
      z(t) = long(state);
      if (options_.emission == HMMEmission::categorical) {
        x(t, 0) = T(draw(emission_.row(state).transpose()));
      } else {
        // the state's mixture component (a Gaussian state has one)
        const Index m = components_per_state();  // no draw for one component: the same stream as a Gaussian state
        const Index c = state * m + (m > 1 ? draw(weights_.row(state).transpose()) : 0);
        Vector<T> e(dims_);
        random::fill_normal(rng, e);
        if (diagonal())
          x.row(t) = means_.row(c) + (variances_.row(c).array().sqrt() * e.transpose().array()).matrix();
        else
          x.row(t) = means_.row(c) + (factors_[std::size_t(c)] * e).transpose();
      }
    }
    return {x, z};
  }

template <Real T>
auto HiddenMarkovModel<T>::check_data(const char* function, const MatrixCRef<T>& x, bool with_model) const -> void {
    check_all_finite(function, "x", x);
    if (options_.emission == HMMEmission::categorical) {
      if (x.cols() != 1) detail::throw_shape(function, "x has " + std::to_string(x.cols()) + " columns; categorical observations are one column of symbols");
      const Index s = with_model ? symbols_ : std::numeric_limits<Index>::max();
      for (Index i = 0; i < x.rows(); ++i)
        if (!(x(i, 0) >= T(0)) || x(i, 0) != std::floor(x(i, 0)) || !(x(i, 0) < T(s)))
          detail::throw_domain(function, "x", "hold symbols 0 .. " + (with_model ? std::to_string(s - 1) : std::string("S - 1")) + " (row " + std::to_string(i) + ")",
                               detail::describe(x(i, 0)));
    } else if (with_model && fitted()) {
      check_size(function, "x", x.cols(), dims_, "columns");
    }
  }

template <Real T>
auto HiddenMarkovModel<T>::log_emissions(const MatrixCRef<T>& x) const -> Matrix<T> {
    if (options_.emission == HMMEmission::categorical) {
      Matrix<T> out(x.rows(), options_.states);
      const Matrix<T> log_e = emission_.array().log();
      for (Index t = 0; t < x.rows(); ++t) out.row(t) = log_e.col(Index(x(t, 0))).transpose();
      return out;
    }
    Matrix<T> g = component_log_densities(x);
    return mixture() ? mixture_log_emissions(g) : g;
  }

template <Real T>
auto HiddenMarkovModel<T>::mixture_log_emissions(const Matrix<T>& g) const -> Matrix<T> {
    const Index k = options_.states, m = options_.mixture_components;
    const Matrix<T> log_w = weights_.array().log();
    Matrix<T> out(g.rows(), k);
    detail::parallel_for(g.rows(), [&](Index t) {
      for (Index j = 0; j < k; ++j) out(t, j) = lse(g.row(t).segment(j * m, m) + log_w.row(j));
    });
    return out;
  }

template <Real T>
auto HiddenMarkovModel<T>::component_log_densities(const MatrixCRef<T>& x) const -> Matrix<T> {
    const Index n = x.rows(), k = means_.rows();
    Matrix<T> out(n, k);
    const Index d = dims_;
    const T c = T(-0.5) * T(d) * constants<T>::log_two_pi;
    detail::parallel_for(k, [&](Index j) {
      if (diagonal()) {
        const Vector<T> inv = variances_.row(j).transpose().cwiseInverse();
        const T log_det = variances_.row(j).array().log().sum();
        for (Index t = 0; t < n; ++t)
          out(t, j) = c - T(0.5) * log_det - T(0.5) * ((x.row(t) - means_.row(j)).array().square() * inv.transpose().array()).sum();
      } else {
        const Matrix<T>& l = factors_[std::size_t(j)];
        Matrix<T> z = (x.rowwise() - means_.row(j)).transpose();  // D x N, the differences
        l.template triangularView<Eigen::Lower>().solveInPlace(z);
        out.col(j) = (c - l.diagonal().array().log().sum()) - T(0.5) * z.colwise().squaredNorm().transpose().array();
      }
    });
    return out;
  }

template <Real T>
auto HiddenMarkovModel<T>::forward(const char* function, const Matrix<T>& b, Index begin, Index end, Matrix<T>& la) const -> T {
    const Index n = end - begin, k = options_.states;
    la.resize(n, k);
    const Matrix<T> log_a = transitions_.array().log();
    const T reach = linear_reach();
    RowVector<T> p(k), q(k);
    T ll = 0;
    for (Index t = 0; t < n; ++t) {
      if (t == 0) {
        la.row(0) = start_.array().log().transpose() + b.row(begin).array();
      } else {
        T m = 0;
        if (shifted_exp(la.row(t - 1), reach, m, p)) {
          q.noalias() = p * transitions_;
          la.row(t) = b.row(begin + t).array() + m + q.array().log();
        } else {
          for (Index j = 0; j < k; ++j) la(t, j) = b(begin + t, j) + lse(la.row(t - 1).transpose() + log_a.col(j));
        }
      }
      const T c = lse(la.row(t));
      if (!(c > -std::numeric_limits<T>::infinity())) impossible(function, begin, begin + t);
      la.row(t).array() -= c;
      ll += c;
    }
    return ll;
  }

template <Real T>
auto HiddenMarkovModel<T>::backward(const Matrix<T>& b, Index begin, Index end, Matrix<T>& lb) const -> void {
    const Index n = end - begin, k = options_.states;
    lb.resize(n, k);
    lb.row(n - 1).setZero();
    const Matrix<T> log_a = transitions_.array().log();
    const T reach = linear_reach();
    RowVector<T> r(k);
    for (Index t = n - 2; t >= 0; --t) {
      const RowVector<T> next = b.row(begin + t + 1) + lb.row(t + 1);
      T m = 0;
      if (shifted_exp(next, reach, m, r)) {
        lb.row(t) = (transitions_ * r.transpose()).array().log().transpose();
      } else {
        for (Index i = 0; i < k; ++i) lb(t, i) = lse(log_a.row(i) + next);
      }
      lb.row(t).array() -= lb.row(t).maxCoeff();
    }
  }

template <Real T>
auto HiddenMarkovModel<T>::add_transitions(const Matrix<T>& b, Index begin, const Matrix<T>& la, const Matrix<T>& lb, Matrix<T>& acc) const -> void {
    const Index k = options_.states;
    const Matrix<T> log_a = transitions_.array().log();
    const T reach = linear_reach();
    RowVector<T> u(k), v(k);
    Matrix<T> step(k, k);
    for (Index t = 0; t + 1 < la.rows(); ++t) {
      const RowVector<T> next = b.row(begin + t + 1) + lb.row(t + 1);
      T mu = 0, mv = 0;
      const bool linear = shifted_exp(la.row(t), reach, mu, u) && shifted_exp(next, reach, mv, v);
      if (linear) step.noalias() = (u.transpose() * v).cwiseProduct(transitions_);
      if (!linear || !(step.sum() > T(0))) {  // log space: la_i + log A_ij + next_j, shifted by its largest
        step = log_a;
        step.colwise() += la.row(t).transpose();
        step.rowwise() += next;
        const T m = step.maxCoeff();
        for (Index i = 0; i < step.size(); ++i)
          step.data()[i] = step.data()[i] == -std::numeric_limits<T>::infinity() ? T(0) : std::exp(step.data()[i] - m);
      }
      acc.noalias() += step / step.sum();
    }
  }

template <Real T>
auto HiddenMarkovModel<T>::sequence_log_likelihoods(const char* function, const MatrixCRef<T>& x,
                                                    const std::vector<std::pair<Index, Index>>& bounds) const -> Vector<T> {
    const Matrix<T> b = log_emissions(x);
    Vector<T> each(Index(bounds.size()));
    detail::parallel_for(Index(bounds.size()), [&](Index s) {
      Matrix<T> la;
      each(s) = forward(function, b, bounds[std::size_t(s)].first, bounds[std::size_t(s)].second, la);
    });
    return each;
  }

template <Real T>
auto HiddenMarkovModel<T>::em_step(const MatrixCRef<T>& x, const std::vector<std::pair<Index, Index>>& bounds) -> T {
    const Index k = options_.states, n = x.rows();
    // mixtures: the components' log-densities, kept for their responsibilities below
    const Matrix<T> g = mixture() ? component_log_densities(x) : Matrix<T>();
    const Matrix<T> b = mixture() ? mixture_log_emissions(g) : log_emissions(x);
    Matrix<T> gamma(n, k);
    const Index count = Index(bounds.size());
    std::vector<Matrix<T>> xi(std::size_t(count), Matrix<T>::Zero(k, k));
    Vector<T> ll(count);
    detail::parallel_for(count, [&](Index s) {
      const auto [begin, end] = bounds[std::size_t(s)];
      Matrix<T> la, lb;
      ll(s) = forward("HiddenMarkovModel::fit", b, begin, end, la);
      backward(b, begin, end, lb);
      posteriors(la, lb, gamma.middleRows(begin, end - begin));
      add_transitions(b, begin, la, lb, xi[std::size_t(s)]);
    });
    // M-step (PRML 13.18-13.23)
    Vector<T> start = Vector<T>::Zero(k);
    Matrix<T> trans = Matrix<T>::Zero(k, k);
    for (Index s = 0; s < count; ++s) {
      start += gamma.row(bounds[std::size_t(s)].first).transpose();
      trans += xi[std::size_t(s)];
    }
    start_ = start / start.sum();
    for (Index i = 0; i < k; ++i) {
      const T row = trans.row(i).sum();
      if (row > T(0)) transitions_.row(i) = trans.row(i) / row;  // a state never left keeps its row
    }
    const Vector<T> nk = gamma.colwise().sum().transpose();
    if (options_.emission == HMMEmission::categorical) {
      Matrix<T> counts = Matrix<T>::Zero(k, symbols_);
      for (Index t = 0; t < n; ++t) counts.col(Index(x(t, 0))) += gamma.row(t).transpose();
      for (Index j = 0; j < k; ++j)
        if (nk(j) > T(0)) emission_.row(j) = counts.row(j) / counts.row(j).sum();
    } else {
      const Index m = components_per_state();
      // the weight of each row for each Gaussian component: γ_t(k) for a Gaussian state; for a mixture,
      // γ_t(k) w_km N_km(x_t) / b_k(x_t) (PRML 9.23 within state k)
      Matrix<T> r;
      if (mixture()) {
        r.resize(n, k * m);
        const Matrix<T> log_w = weights_.array().log();
        detail::parallel_for(n, [&](Index t) {
          for (Index j = 0; j < k; ++j)
            for (Index c = 0; c < m; ++c)
              r(t, j * m + c) = gamma(t, j) > T(0) ? gamma(t, j) * std::exp(g(t, j * m + c) + log_w(j, c) - b(t, j)) : T(0);
        });
        const Vector<T> nc = r.colwise().sum().transpose();
        for (Index j = 0; j < k; ++j) {
          const T total = nc.segment(j * m, m).sum();
          if (total > T(0)) weights_.row(j) = nc.segment(j * m, m).transpose() / total;  // an empty state keeps its weights
        }
      }
      const Matrix<T>& resp = mixture() ? r : gamma;
      const Vector<T> counts = resp.colwise().sum().transpose();
      detail::parallel_for(k * m, [&](Index j) {
        if (!(counts(j) > T(10) * std::numeric_limits<T>::min())) return;  // an empty state or component keeps its emission
        const Vector<T> w = resp.col(j);
        const RowVector<T> mean = (w.transpose() * x) / counts(j);
        // covariance from the centred rows (never E[xxᵀ] − μμᵀ)
        const Matrix<T> centred = x.rowwise() - mean;
        means_.row(j) = mean;
        if (diagonal()) {
          const RowVector<T> var = (w.transpose() * centred.array().square().matrix()) / counts(j);
          if ((var.array() + options_.reg_covar > T(0)).all()) variances_.row(j) = var.array() + options_.reg_covar;  // else keeps the previous
        } else {
          Matrix<T> cov = centred.transpose() * w.asDiagonal() * centred / counts(j);
          cov.diagonal().array() += options_.reg_covar;
          Eigen::LLT<Matrix<T>> llt(cov);
          if (llt.info() != Eigen::Success) return;  // keeps the previous covariance
          covariances_[std::size_t(j)] = cov;
          factors_[std::size_t(j)] = llt.matrixL();
        }
      });
    }
    return ll.sum();
  }

template <Real T>
auto HiddenMarkovModel<T>::initialise(const MatrixCRef<T>& x, Rng& rng) -> void {
    const Index k = options_.states;
    start_ = Vector<T>::Constant(k, T(1) / T(k));
    transitions_ = Matrix<T>::Constant(k, k, T(1) / T(k));
    if (options_.emission == HMMEmission::categorical) {
      emission_.resize(k, symbols_);
      for (Index j = 0; j < k; ++j) {
        for (Index s = 0; s < symbols_; ++s) emission_(j, s) = random::exponential<T>(rng);
        emission_.row(j) /= emission_.row(j).sum();
      }
      dims_ = 1;
      return;
    }
    dims_ = x.cols();
    KMeans<T> km({.clusters = std::min<Index>(k, x.rows())});
    km.fit(x, rng);
    const Index m = components_per_state();
    means_.resize(k * m, dims_);
    weights_ = Matrix<T>::Constant(k, m, T(1) / T(m));
    const RowVector<T> mean = x.colwise().mean();
    const Matrix<T> centred = x.rowwise() - mean;
    Matrix<T> cov = centred.transpose() * centred / T(std::max<Index>(1, x.rows() - 1));
    cov.diagonal().array() += options_.reg_covar;
    if (!(cov.diagonal().array() > T(0)).all())
      detail::throw_domain("HiddenMarkovModel::fit", "reg_covar", "be positive when x has a constant column", detail::describe(options_.reg_covar));
    if (m == 1) {
      for (Index j = 0; j < k; ++j) means_.row(j) = km.centres().row(j % km.centres().rows());
    } else {
      // each state's components: k-means with M clusters on the rows nearest to the state's centre; a state
      // whose components would coincide (fewer than M distinct rows) spreads them about its centre by a
      // fraction of the data's standard deviations (EM could never separate identical components)
      const IntVector nearest = km.predict(x);
      const RowVector<T> sd = cov.diagonal().cwiseSqrt().transpose();
      for (Index j = 0; j < k; ++j) {
        const Index centre = j % km.centres().rows();
        std::vector<Index> rows;
        for (Index t = 0; t < x.rows(); ++t)
          if (nearest(t) == centre) rows.push_back(t);
        auto component_means = means_.middleRows(j * m, m);
        if (Index(rows.size()) >= m) {
          Matrix<T> own(Index(rows.size()), dims_);
          for (std::size_t i = 0; i < rows.size(); ++i) own.row(Index(i)) = x.row(rows[i]);
          KMeans<T> within({.clusters = m});
          within.fit(own, rng);
          component_means = within.centres();
        } else {
          component_means = km.centres().row(centre).replicate(m, 1);
        }
        bool distinct = true;
        for (Index a = 0; a < m; ++a)
          for (Index b = 0; b < a; ++b) distinct = distinct && component_means.row(a) != component_means.row(b);
        if (!distinct)
          for (Index c = 0; c < m; ++c)
            component_means.row(c) = km.centres().row(centre) + sd * (T(0.5) * (T(c) - T(m - 1) / T(2)) / T(m));
      }
    }
    if (diagonal()) {
      variances_ = cov.diagonal().transpose().replicate(k * m, 1);
    } else {
      Eigen::LLT<Matrix<T>> llt(cov);
      if (llt.info() != Eigen::Success) {  // collinear columns: the diagonal alone
        cov = Matrix<T>(cov.diagonal().asDiagonal());
        llt.compute(cov);
      }
      covariances_.assign(std::size_t(k * m), cov);
      factors_.assign(std::size_t(k * m), Matrix<T>(llt.matrixL()));
    }
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::HiddenMarkovModel)
