#pragma once
/// @file
/// Gaussian mixture model fitted by expectation–maximisation.

#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <Eigen/Cholesky>

#include "pml/core/check.hpp"
#include "pml/core/collective.hpp"
#include "pml/serialization/state.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"
#include "pml/models/cluster/kmeans.hpp"

namespace pml {

/// Covariance structure of a mixture's components (scikit-learn's covariance_type).
enum class Covariance {
  full,       ///< one full D x D matrix per component
  tied,       ///< one full matrix shared by all components
  diagonal,   ///< one diagonal per component
  spherical,  ///< one variance per component
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 4> enum_names(Covariance) { return {"full", "tied", "diagonal", "spherical"}; }

/// How EM starts when no initial parameters are given.
enum class MixtureInit {
  kmeans,  ///< responsibilities from a k-means fit (one restart)
  random,  ///< random responsibilities (normalised uniforms), as scikit-learn's init_params="random"; each row's
           ///< uniforms are hashed from one draw of the generator and the row's position, so they do not depend
           ///< on the thread count or on how the rows are sharded over processes
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(MixtureInit) { return {"kmeans", "random"}; }

/// Options of GaussianMixture (designated initialisers:
/// `GaussianMixture<double>({.components = 3, .covariance = Covariance::full})`).
template <Real T = double> struct GaussianMixtureOptions {
  Index components = 1;  ///< number of components K
  Covariance covariance = Covariance::full;  ///< full, tied, diagonal or spherical
  T tolerance = T(1e-3);      ///< stop when the mean log-likelihood changes by less
  T reg_covar = T(1e-6);      ///< added to every variance (scikit-learn's default)
  int max_iterations = 100;  ///< EM iterations per start at most
  int restarts = 1;           ///< independent starts; the highest final log-likelihood wins
  MixtureInit init = MixtureInit::kmeans;  ///< kmeans, random, or the given parameters (*_init)
  Vector<T> weights_init{};               ///< optional K initial mixing weights
  Matrix<T> means_init{};                 ///< optional K x D initial means
  std::vector<Matrix<T>> covariances_init{};  ///< optional K (1 for tied) initial full covariances
  T step_exponent = T(0.6);  ///< partial_fit step size (t + 2)^-step_exponent, in (0.5, 1]

  /// The options a model file stores (not the initialisation), declared once for save() and load()
  /// (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("components", o.components, io::as_size);
    v("covariance", o.covariance);
    v("tolerance", o.tolerance);
    v("reg_covar", o.reg_covar);
    v("max_iterations", o.max_iterations);
    v("restarts", o.restarts);
  }
};

/// Gaussian mixture \f$p(\mathbf x) = \sum_k\pi_k\mathcal N(\mathbf x|\boldsymbol\mu_k,\Sigma_k)\f$ fitted by EM
/// (PRML §9.2.2, 9.23–9.28). The E-step works in log space: \f$\log\gamma_{nk} = \log\pi_k +
/// \log\mathcal N(x_n|k) - \mathrm{logsumexp}_j(\cdot)\f$, so far-apart clusters never underflow. Both
/// steps are matrix products and triangular solves over blocks of rows, fused into one pass per iteration:
/// each block's responsibilities become its share of the M-step's sufficient statistics at once, in row
/// chunks fixed by N on every thread (the same bits for any thread count), so a fit keeps neither an N x K
/// responsibility matrix nor a centred copy of the data (its memory beyond the data: a few N-vectors and
/// K D x D matrices per chunk). Full and tied second moments are summed about the current means and moved
/// to the new ones; an entry that lost more than three digits in that move is recomputed exactly by a
/// second pass. Per-sample weights scale the responsibilities. A component whose responsibility mass vanishes is re-seeded at the worst-explained
/// point and counted in reseeded(), never left as NaN.
///
/// Sums of squares are never expanded about the origin: fit() works on the data centred by their column
/// means, block by block (the means are shifted back at the end), predictions on the data centred by the weighted mean of the
/// component means, and where the fast expanded forms (\f$\|x\|^2 - 2x\cdot\mu + \|\mu\|^2\f$ in the tied,
/// diagonal and spherical E-steps) would still lose more than half the digits an entry is recomputed from
/// exact differences (\f$E[x^2] - \mu^2\f$ in the diagonal and spherical M-steps: more than three digits); the tied M-step sums
/// per-component scatter about each mean. Data whose squared deviations from the column means overflow are
/// refused with std::domain_error. A row so far from every component that its log-density is −∞ gets
/// score_samples() = −∞ (whatever the number of rows) and, in predict_proba()/predict(), the component
/// nearest in its own metric (the limit of the responsibilities), never NaN.
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class GaussianMixture {
 public:
  using Options = GaussianMixtureOptions<T>;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.

  /// A mixture with the given options (fit() it next). @throw std::domain_error naming the option whose value is invalid.
  explicit GaussianMixture(const Options& options = {}) : options_(options) {
    if (options.components <= 0)
      detail::throw_domain("GaussianMixture", "components", "be positive", std::to_string(options.components));
    if (options.max_iterations <= 0)
      detail::throw_domain("GaussianMixture", "max_iterations", "be positive", std::to_string(options.max_iterations));
    if (options.restarts <= 0)
      detail::throw_domain("GaussianMixture", "restarts", "be positive", std::to_string(options.restarts));
    check_nonnegative("GaussianMixture", "tolerance", options.tolerance);
    check_nonnegative("GaussianMixture", "reg_covar", options.reg_covar);
    if (!(options.step_exponent > T(0.5) && options.step_exponent <= T(1)))
      detail::throw_domain("GaussianMixture", "step_exponent", "lie in (0.5, 1]", detail::describe(options.step_exponent));
  }

  /// Fits the mixture to the rows of `x` (N x D) with optional per-sample weights.
  /// @throw std::invalid_argument for N < K or initial parameters of the wrong shape;
  /// std::domain_error for non-finite data, data whose squared deviations from the column means overflow
  /// (rescale them), or invalid initial parameters.
  GaussianMixture& fit(const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    return fit(Collective::single(), x, rng, weights);
  }
  /// fit() with a generator seeded from `seed`.
  GaussianMixture& fit(const MatrixCRef<T>& x, std::uint64_t seed = 0, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    Rng rng(seed);
    return fit(x, rng, weights);
  }
  /// fit() on rows spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own shard `x` (N_r x D; N_r = 0 allowed, then any width) with its own weights, and the same
  /// options and generator state. Every rank ends with the same mixture, equal to fit() on the shards' rows
  /// stacked in rank order up to rounding (bit for bit on one rank). Per EM iteration the ranks exchange the
  /// sufficient statistics once (K + K D + K D^2 numbers for full covariances, K D (D + 1) / 2 of them
  /// independent; K + 2 K D for diagonal) and the log-likelihood; the k-means start is the sharded KMeans, the
  /// random start draws each row's responsibilities from a hash of (seed, row), the same however the rows are
  /// sharded. @throw as fit(), on every rank (a rank's own bad shard is reported on all of them, with its rank).
  GaussianMixture& fit(const Collective& ranks, const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights = detail::no_weights<T>());
  /// The sharded fit() with a generator seeded from `seed` (the same on every rank).
  GaussianMixture& fit(const Collective& ranks, const MatrixCRef<T>& x, std::uint64_t seed = 0,
                       const VectorCRef<T>& weights = detail::no_weights<T>()) {
    Rng rng(seed);
    return fit(ranks, x, rng, weights);
  }

  /// Online (stepwise) EM for data that arrive in chunks (Cappé & Moulines 2009): the expected
  /// sufficient statistics are a running average, \f$s \leftarrow (1-\eta_t)s + \eta_t\hat s(\text{chunk})\f$
  /// with \f$\eta_t = (t+2)^{-\kappa}\f$ (step_exponent κ), followed by the usual M-step. The first call
  /// initialises the model from its chunk (as fit() does) and must have at least K rows. Each chunk's
  /// statistics are taken about each component's current mean (exact differences), and the running ones
  /// are moved to that reference before they are averaged, so the second moments never cancel.
  GaussianMixture& partial_fit(const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights = detail::no_weights<T>());
  /// partial_fit() with a generator seeded from `seed` (used only by the first call's initialisation).
  GaussianMixture& partial_fit(const MatrixCRef<T>& x, std::uint64_t seed = 0, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    Rng rng(seed);
    return partial_fit(x, rng, weights);
  }

  /// \f$\log p(\mathbf x_n)\f$ for each row; −∞ for a row too far from every component for its density to be
  /// represented (the same answer whatever the number of rows).
  Vector<T> score_samples(const MatrixCRef<T>& x) const {
    require_fitted("GaussianMixture::score_samples", x);
    return log_normaliser(log_prob_about(state_, x, prediction_shift()));
  }
  /// Mean log-likelihood per sample (scikit-learn's score). @throw std::invalid_argument for x with no rows (score_samples gives an empty vector).
  T score(const MatrixCRef<T>& x) const { return pml::detail::mean_score("GaussianMixture::score", score_samples(x)); }
  /// Responsibilities \f$\gamma_{nk} = p(k|\mathbf x_n)\f$ (PRML 9.23), N x K.
  /// A row whose log-density is −∞ under every component gets the limit of its responsibilities as it moves
  /// away: all mass on the component(s) nearest in their own metric \f$(x-\mu_k)^T\Sigma_k^{-1}(x-\mu_k)\f$
  /// (computed in scaled units), split equally on a tie.
  Matrix<T> predict_proba(const MatrixCRef<T>& x) const;
  /// Most responsible component of each row (for a row too far from every component, see predict_proba()).
  IntVector predict(const MatrixCRef<T>& x) const;
  /// Draws `n` samples (rows) and their component labels.
  std::pair<Matrix<T>, IntVector> sample(Rng& rng, Index n) const;
  /// Number of free parameters (weights, means, covariances).
  Index parameters() const noexcept;
  /// Bayesian information criterion \f$-2\log L + p\log N\f$.
  T bic(const MatrixCRef<T>& x) const {
    return -T(2) * pml::detail::mean_score("GaussianMixture::bic", score_samples(x)) * T(x.rows()) + T(parameters()) * std::log(T(x.rows()));
  }
  /// Akaike information criterion \f$-2\log L + 2p\f$.
  T aic(const MatrixCRef<T>& x) const { return -T(2) * pml::detail::mean_score("GaussianMixture::aic", score_samples(x)) * T(x.rows()) + T(2) * T(parameters()); }

  const Vector<T>& weights() const noexcept { return state_.weights; }  ///< mixing weights π
  const Matrix<T>& means() const noexcept { return state_.means; }      ///< K x D
  /// Covariance of component k as a full D x D matrix (whatever the covariance type).
  /// Diagonal and spherical types fill the diagonal from the stored variances (O(D^2), no product).
  /// @throw std::logic_error if not fitted; std::out_of_range unless 0 <= k < components.
  Matrix<T> covariance(Index k) const;
  /// All K covariances as full matrices.
  std::vector<Matrix<T>> covariances() const {
    std::vector<Matrix<T>> out;
    for (Index k = 0; k < options_.components; ++k) out.push_back(covariance(k));
    return out;
  }
  /// Whether the last fit() stopped because the log-likelihood changed by less than the tolerance.
  bool converged() const noexcept { return converged_; }
  int iterations() const noexcept { return iterations_; }  ///< EM iterations run by the last fit() (of the winning restart).
  /// Mean log-likelihood of the training data before each M-step (it never decreases).
  const std::vector<T>& log_likelihood_history() const noexcept { return history_; }
  /// The final mean log-likelihood (scikit-learn's lower_bound_).
  T lower_bound() const noexcept { return history_.empty() ? -std::numeric_limits<T>::infinity() : history_.back(); }
  /// How many times an emptied component was re-seeded during the last fit.
  Index reseeded() const noexcept { return reseeded_; }
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

  /// Writes the fitted mixture and its options to `path` (model type "GaussianMixture"; format in
  /// serialization/model_file.hpp): weights, means and the Cholesky factors (full, tied) or variances (diagonal,
  /// spherical) exactly as fitted, so a loaded model predicts bit-identically.
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    if (state_.weights.size() == 0) throw std::logic_error("GaussianMixture::save: the model is not fitted; call fit() first");
    io::save_model(*this, path, format, "GaussianMixture::save");
  }
  /// A mixture saved by save(). @throw std::runtime_error naming the path for a missing, truncated,
  /// corrupt or wrong-type file, or parameters that do not describe a mixture.
  static GaussianMixture load(const std::filesystem::path& path) { return io::load_model<GaussianMixture>(path, "GaussianMixture::load"); }
  static constexpr const char* model_name = "GaussianMixture";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  // The rows of a fit: this rank's shard is rows [offset, offset + x.rows()) of the n rows of all `ranks`.
  struct Shards {
    const Collective& ranks;
    Index offset;
    Index n;
  };
  // A rank's least-explained row in the last E-step: its log-likelihood and its index in the rank's shard (-1 for
  // an empty shard). Without an E-step (`seen` false: the first M-step) an emptied component c takes row c.
  struct Worst {
    T value = std::numeric_limits<T>::infinity();
    Index index = -1;
    bool seen = false;
  };
  // The fitted state a model file holds (serialization/state.hpp): save() and load() both run this.
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    const Index k = self.options_.components;
    const Covariance covariance = self.options_.covariance;
    a.matrix("means", self.state_.means, k, io::any);
    const Index d = self.state_.means.cols();
    if constexpr (Archive::reading) self.dimension_ = d;
    a.vector("weights", self.state_.weights, k);
    a.require((self.state_.weights.array() >= T(0)).all() && std::abs(self.state_.weights.sum() - T(1)) <= T(1e-6),
              "the weights are not a probability vector");
    // the Cholesky factors (full: K, tied: 1) or the variances (diagonal: K x D, spherical: K x 1)
    if (covariance == Covariance::full || covariance == Covariance::tied)
      a.factors("covariance_factors", self.state_.chol, covariance == Covariance::full ? k : 1, d);
    else
      a.matrix("covariance_factors", self.state_.variances, k, covariance == Covariance::diagonal ? d : 1, io::Values::positive);
  }

  struct State {
    Vector<T> weights;
    Matrix<T> means;                          // K x D
    std::vector<Eigen::LLT<Matrix<T>>> chol;  // full: K factors; tied: 1
    Matrix<T> variances;                      // diagonal: K x D; spherical: K x 1
  };

  Matrix<T> cholesky(Index k) const;

  // The shift predictions work about: the weighted mean of the component means (from the stored parameters
  // only, so a loaded model predicts as the saved one).
  RowVector<T> prediction_shift() const { return state_.weights.transpose() * state_.means; }
  // weighted_log_prob of x with x and the means both moved by -shift (the same densities, no cancellation).
  Matrix<T> log_prob_about(const State& s, const MatrixCRef<T>& x, const RowVector<T>& shift) const {
    State moved = s;
    moved.means.rowwise() -= shift;
    return weighted_log_prob(moved, Matrix<T>(x.rowwise() - shift));
  }
  // log sum_k exp(lp_nk), exactly -inf for a row of -inf (Eigen's vectorised exp maps -inf to ~5.6e-309, so
  // such a row would otherwise give about -708 in a packet and -inf in the scalar tail).
  static Vector<T> log_normaliser(const Matrix<T>& lp) {
    Vector<T> norm = log_sum_exp_rows(lp);
    for (Index i = 0; i < lp.rows(); ++i)
      if (!(lp.row(i).maxCoeff() > -std::numeric_limits<T>::infinity())) norm(i) = -std::numeric_limits<T>::infinity();
    return norm;
  }
  // Responsibilities of a row whose log-density underflows for every component: the limit as the row moves
  // away, all mass on the component(s) with the smallest Mahalanobis distance, computed in units of the
  // row's largest deviation so that it does not overflow.
  RowVector<T> far_responsibilities(const RowVector<T>& x) const;

  void require_fitted(const char* function, const MatrixCRef<T>& x) const {
    if (state_.weights.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    check_size(function, "x", x.cols(), dimension_, "columns");
  }

  // Full and tied covariances are D x D (each kept with its Cholesky factor): refuse wide data whose
  // covariances cannot fit in memory before allocating them, and say which covariance types can.
  void check_memory(const char* f, Index d) const;
  void check_initial_parameters(Index d) const;

  // Responsibilities from k-means or at random, then one M-step; explicit initial parameters override
  // (all three given: nothing else is computed). The state's means are about `shift`.
  State initial_state(const Shards& sh, const MatrixCRef<T>& x, const RowVector<T>& shift, const detail::SampleWeights<T>& w, Rng& rng) const;
  // The first M-step, from responsibilities without a previous state: means first (statistics about the
  // shift), then the second moments about those means (exact differences).
  template <class Responsibilities>
  void init_m_step(const Shards& sh, State& s, const MatrixCRef<T>& x, const RowVector<T>& shift, const detail::SampleWeights<T>& w,
                   Responsibilities&& resp) const {
    const Index k = options_.components, d = x.cols();
    const bool square = options_.covariance == Covariance::full || options_.covariance == Covariance::tied;
    Statistics first = statistics(sh, x, shift, Matrix<T>::Zero(k, d), resp, false, !square);
    const Vector<T> nk = first.s0.array() + T(10) * std::numeric_limits<T>::epsilon();
    Matrix<T> means = first.s1.array().colwise() / nk.array();
    for (Index c = 0; c < k; ++c)  // an empty component starts on a data row (the c-th), as a re-seeded one
      if (!(first.s0(c) > T(0))) means.row(c) = global_row(sh, x, shift, w, c % sh.n).first;
    if (!square) {  // the diagonal types' M-step takes statistics about 0
      m_step(sh, s, first, x, shift, w, Worst{}, resp);
      return;
    }
    Statistics st = statistics(sh, x, shift, means, resp);
    s.means = means;
    m_step(sh, s, st, x, shift, w, Worst{}, resp);
  }

  void set_covariances(State& s, const std::vector<Matrix<T>>& covs) const;

  // Row i of all ranks' rows (stacked in rank order), minus `shift`, and its weight, on every rank.
  static std::pair<RowVector<T>, T> global_row(const Shards& sh, const MatrixCRef<T>& x, const RowVector<T>& shift,
                                               const detail::SampleWeights<T>& w, Index i) {
    const Index d = x.cols();
    if (sh.ranks.size() == 1) return {x.row(i) - shift, w(i)};
    RowVector<T> packed = RowVector<T>::Zero(d + 1);
    if (i >= sh.offset && i < sh.offset + x.rows()) {
      packed.head(d) = x.row(i - sh.offset) - shift;
      packed(d) = w(i - sh.offset);
    }
    detail::all_sum(sh.ranks, packed);
    return {packed.head(d), packed(d)};
  }
  // The least-explained row of all ranks given each rank's own (the lowest rank's on a tie, as the chunk order
  // on one process), minus `shift`, and its weight.
  static std::pair<RowVector<T>, T> worst_of_all(const Shards& sh, const MatrixCRef<T>& x, const RowVector<T>& shift,
                                                 const detail::SampleWeights<T>& w, const Worst& mine) {
    if (sh.ranks.size() == 1) return global_row(sh, x, shift, w, mine.index);
    const auto p = static_cast<std::size_t>(sh.ranks.size()), me = static_cast<std::size_t>(sh.ranks.rank());
    std::vector<double> tops(p, -std::numeric_limits<double>::infinity()), index(p, 0.0);
    if (x.rows() > 0) {
      tops[me] = -double(mine.value);
      index[me] = double(sh.offset + mine.index);
    }
    sh.ranks.max(tops.data(), p);
    sh.ranks.sum(index.data(), p);
    std::size_t owner = 0;
    for (std::size_t r = 1; r < p; ++r)
      if (tops[r] > tops[owner]) owner = r;
    return global_row(sh, x, shift, w, Index(index[owner]));
  }

  struct Statistics {
    Vector<T> s0;               // K: responsibility mass (normalised per chunk in partial_fit)
    Matrix<T> s1;               // K x D: first moments about a reference (one row per component)
    std::vector<Matrix<T>> s2;  // full/tied: K second-moment matrices; diagonal/spherical: one K x D matrix
  };

  // log pi_k + log N(x_n | k), N x K, as matrix products / triangular solves.
  Matrix<T> weighted_log_prob(const State& s, const MatrixCRef<T>& x) const {
    const Index n = x.rows();
    Matrix<T> lp(n, options_.components);
    // row chunks fixed by N (core/parallel.hpp), each on its own thread: the same bits for any thread count
    detail::parallel_chunks(row_chunks(n), [&](Index, Index b, Index e) { log_prob_rows(s, x, b, e - b, lp.middleRows(b, e - b)); });
    return lp;
  }
  // Per-row work in chunks of at least 2048 rows (a multiple of the 128-row blocks below, so that a chunk's
  // blocks are the unsplit loop's): the split depends on N only.
  static detail::Chunks row_chunks(Index n) { return detail::split_rows(n, 2048, Index(1) << 20, 256); }
  // The fused EM pass: at most 16 chunks (whole 256-row blocks), and for wide data at most N / (K D), so that
  // their partial statistics (K D x D matrices each, for full and tied covariances) stay below the data in
  // size; fixed by N, K and D, never by the threads.
  detail::Chunks sum_chunks(const MatrixCRef<T>& x) const {
    const bool square = options_.covariance == Covariance::full || options_.covariance == Covariance::tied;
    const Index per_chunk = options_.components * (square ? std::max<Index>(x.cols(), 1) : 1);
    return detail::split_rows(x.rows(), 2048, std::clamp<Index>(x.rows() / per_chunk, 1, 16), 256);
  }
  // Chunks of a pass whose partials are D-vectors (data_variance): at most 16.
  static detail::Chunks vector_chunks(Index n) { return detail::split_rows(n, 2048, 16, 256); }
  // Rows per sub-block of a chunk in the fused pass (its temporaries: sub_block x D and sub_block x K).
  static constexpr Index sub_block = 2048;
  // weighted_log_prob of rows [begin, begin + n) of `all` into `lp` (n x K).
  void log_prob_rows(const State& s, const MatrixCRef<T>& all, Index begin, Index n, Eigen::Ref<Matrix<T>> lp) const;

  // Sufficient statistics of weighted responsibilities r_nk, in one pass over chunks of rows (each on its own
  // thread, combined in chunk order: the same bits for any thread count): s0_k = sum_n r_nk,
  // s1_k = sum_n r_nk (x_n - a_k), and s2 the second moments about a_k: K lower-triangular D x D matrices
  // (full, tied) or one K x D matrix of squares (diagonal, spherical). x_n is a row minus `shift`; a_k is row k
  // of `reference`, or 0 for every k when `about_reference` is false (then the diagonal types' sums are two
  // GEMMs); without `second_moments` s2 is left 0 (s1 is then about 0). resp(c, b, m, xb, r) fills r (m x K) with
  // the weighted responsibilities of rows [b, b + m) of chunk c (sub-blocks of a chunk come in order, on one
  // thread), whose
  // centred values are xb; the E-step is this callback, so no N x K matrix is ever formed.
  template <class Responsibilities>
  Statistics statistics(const Shards& sh, const MatrixCRef<T>& x, const RowVector<T>& shift, const Matrix<T>& reference,
                        Responsibilities&& resp, bool about_reference = true, bool second_moments = true) const {
    const Index k = options_.components, d = x.cols();
    const bool square = options_.covariance == Covariance::full || options_.covariance == Covariance::tied;
    const detail::Chunks chunks = sum_chunks(x);
    std::vector<Statistics> parts(static_cast<std::size_t>(chunks.count()));
    detail::parallel_chunks(chunks, [&](Index c, Index begin, Index end) {
      Statistics& p = parts[static_cast<std::size_t>(c)];
      p.s0 = Vector<T>::Zero(k);
      p.s1 = Matrix<T>::Zero(k, d);
      if (square) p.s2.assign(static_cast<std::size_t>(k), Matrix<T>::Zero(d, d)); else p.s2.assign(1, Matrix<T>::Zero(k, d));
      // sub-blocks of at most 2048 rows keep the temporaries small (and in cache) whatever the chunk's size
      constexpr Index sub = sub_block, block = 256;
      Matrix<T> xb, r, z, zw;
      for (Index b = begin; b < end; b += sub) {
        const Index m = std::min(sub, end - b);
        xb = x.middleRows(b, m).rowwise() - shift;
        r.resize(m, k);
        resp(c, b, m, xb, r);
        p.s0 += r.colwise().sum().transpose();
        if (!second_moments || (!square && !about_reference)) {
          p.s1.noalias() += r.transpose() * xb;
          if (second_moments) p.s2[0].noalias() += r.transpose() * xb.array().square().matrix();
          continue;
        }
        for (Index j = 0; j < k; ++j) {
          z = xb;
          if (about_reference) z.rowwise() -= reference.row(j);
          p.s1.row(j).noalias() += r.col(j).transpose() * z;
          if (!square) {
            p.s2[0].row(j).noalias() += r.col(j).transpose() * z.array().square().matrix();
            continue;
          }
          for (Index start = 0; start < m; start += block) {
            const Index rows = std::min(block, m - start);
            zw = z.middleRows(start, rows).array().colwise() * r.col(j).segment(start, rows).array().sqrt();
            p.s2[static_cast<std::size_t>(j)].template selfadjointView<Eigen::Lower>().rankUpdate(zw.transpose());
          }
        }
      }
    });
    Statistics total;
    total.s0 = Vector<T>::Zero(k);
    total.s1 = Matrix<T>::Zero(k, d);
    if (square) total.s2.assign(static_cast<std::size_t>(k), Matrix<T>::Zero(d, d)); else total.s2.assign(1, Matrix<T>::Zero(k, d));
    for (const Statistics& p : parts) {
      total.s0 += p.s0;
      total.s1 += p.s1;
      for (std::size_t j = 0; j < total.s2.size(); ++j) total.s2[j] += p.s2[j];
    }
    if (sh.ranks.size() > 1) {  // one message: s0, s1 and the lower triangles (full, tied) or squares of every rank
      std::vector<T> packed;
      packed.reserve(static_cast<std::size_t>(k + k * d) + total.s2.size() * static_cast<std::size_t>(square ? d * (d + 1) / 2 : k * d));
      packed.insert(packed.end(), total.s0.data(), total.s0.data() + k);
      packed.insert(packed.end(), total.s1.data(), total.s1.data() + k * d);
      for (const auto& m : total.s2) {
        if (!square) packed.insert(packed.end(), m.data(), m.data() + m.size());
        else
          for (Index j = 0; j < d; ++j) packed.insert(packed.end(), m.col(j).data() + j, m.col(j).data() + d);
      }
      sh.ranks.sum(packed.data(), packed.size());
      const T* q = packed.data();
      std::copy(q, q + k, total.s0.data()), q += k;
      std::copy(q, q + k * d, total.s1.data()), q += k * d;
      for (auto& m : total.s2) {
        if (!square) std::copy(q, q + m.size(), m.data()), q += m.size();
        else
          for (Index j = 0; j < d; ++j) std::copy(q, q + (d - j), m.col(j).data() + j), q += d - j;
      }
    }
    for (auto& m : total.s2)
      if (square) m = m.template selfadjointView<Eigen::Lower>();
    return total;
  }

  // M-step (PRML 9.24–9.27) from statistics about s.means (full, tied) or about 0 (diagonal, spherical), as
  // statistics() gave them for the state `s` still holds. An emptied component is moved onto the worst-explained
  // row (`worst_row`, the least log-likelihood; row c when negative) with the data's spread. Second moments that lost
  // more than three digits to the correction about the new means (a mean that moved far next to its spread)
  // are recomputed exactly by a second pass with the same responsibilities. Returns the re-seeded count.
  template <class Responsibilities>
  Index m_step(const Shards& sh, State& s, Statistics& st, const MatrixCRef<T>& x, const RowVector<T>& shift,
               const detail::SampleWeights<T>& w, const Worst& worst_row, Responsibilities&& resp) const {
    const Index d = x.cols(), k = options_.components;
    const bool square = options_.covariance == Covariance::full || options_.covariance == Covariance::tied;
    const Matrix<T> reference = square ? s.means : Matrix<T>::Zero(k, d);
    std::optional<std::pair<RowVector<T>, T>> worst;  // the worst-explained row of all ranks (centred) and its weight
    Index reseeded = 0;
    const T empty = T(10) * std::numeric_limits<T>::epsilon() * std::max(T(1), w.sum());
    std::vector<bool> moved(static_cast<std::size_t>(k), false);
    for (Index c = 0; c < k; ++c) {
      if (st.s0(c) > empty) continue;
      // (looked up once, on every rank, only when a component has emptied)
      if (worst_row.seen && !worst) worst = worst_of_all(sh, x, shift, w, worst_row);
      const auto [row, weight] = worst_row.seen ? *worst : global_row(sh, x, shift, w, c % sh.n);
      const RowVector<T> z = row - reference.row(c);
      st.s0(c) = weight;
      st.s1.row(c) = weight * z;
      if (square)
        st.s2[static_cast<std::size_t>(c)] = weight * z.transpose() * z;
      else
        st.s2[0].row(c) = weight * z.array().square().matrix();
      moved[static_cast<std::size_t>(c)] = true;
      ++reseeded;
    }
    const Vector<T> nk = st.s0.array() + T(10) * std::numeric_limits<T>::epsilon();
    const Matrix<T> delta = st.s1.array().colwise() / nk.array();  // new means minus the reference
    const Matrix<T> means = reference + delta;
    // second moments about the new means: s2/nk - delta delta^T, flagged where it lost more than 3 digits
    const T lost = T(1e-3);
    std::vector<Matrix<T>> second(static_cast<std::size_t>(square ? k : 1));
    bool redo = false;
    for (Index c = 0; c < (square ? k : 1); ++c) {
      if (square) {
        const Matrix<T> raw = st.s2[static_cast<std::size_t>(c)] / nk(c);
        Matrix<T>& m = second[static_cast<std::size_t>(c)];
        m = raw - delta.row(c).transpose() * delta.row(c);
        for (Index j = 0; j < d; ++j) redo = redo || !(m(j, j) >= lost * raw(j, j));
      } else {
        const Matrix<T> raw = st.s2[0].array().colwise() / nk.array();
        second[0] = raw - delta.cwiseAbs2();
        redo = redo || !(second[0].array() >= lost * raw.array()).all();
      }
    }
    if (redo) {  // exact: the second moments about the new means, from the same responsibilities
      const Statistics exact = statistics(sh, x, shift, means, resp);
      for (Index c = 0; c < (square ? k : 1); ++c) {
        if (square) {
          if (moved[static_cast<std::size_t>(c)]) continue;
          second[static_cast<std::size_t>(c)] = exact.s2[static_cast<std::size_t>(c)] / nk(c);
        } else {
          for (Index j = 0; j < k; ++j)
            if (!moved[static_cast<std::size_t>(j)]) second[0].row(j) = exact.s2[0].row(j) / nk(j);
        }
      }
    }
    s.weights = nk / nk.sum();
    s.means = means;
    const T reg = options_.reg_covar;
    switch (options_.covariance) {
      case Covariance::full: {
        const Vector<T> spread = reseeded > 0 ? data_variance(sh, x, shift, w) : Vector<T>();
        std::vector<Eigen::LLT<Matrix<T>>> chol;
        for (Index c = 0; c < k; ++c) {
          Matrix<T> cov = T(0.5) * (second[static_cast<std::size_t>(c)] + second[static_cast<std::size_t>(c)].transpose());
          if (reseeded > 0 && !(cov.diagonal().minCoeff() > T(0))) cov += spread.asDiagonal();
          cov.diagonal().array() += reg;
          chol.push_back(checked_factor(cov, c));
        }
        s.chol = std::move(chol);
        break;
      }
      case Covariance::tied: {
        // the within-component scatter about each mean, weighted by the components' masses
        Matrix<T> cov = Matrix<T>::Zero(d, d);
        for (Index c = 0; c < k; ++c) cov += nk(c) * second[static_cast<std::size_t>(c)];
        cov = T(0.5) * (cov + cov.transpose()) / nk.sum();
        cov.diagonal().array() += reg;
        s.chol.assign(1, checked_factor(cov, 0));
        break;
      }
      case Covariance::diagonal:
      case Covariance::spherical: {
        const Matrix<T> var = (second[0].array() + reg).matrix().cwiseMax(reg > T(0) ? reg : std::numeric_limits<T>::min());
        if (options_.covariance == Covariance::diagonal)
          s.variances = var;
        else
          s.variances = var.rowwise().mean();
        break;
      }
    }
    return reseeded;
  }

  // The weighted variance of each column of x (two passes over chunks: the mean, then squares about it;
  // each chunk in sub-blocks, so that no temporary grows with N).
  static Vector<T> data_variance(const Shards& sh, const MatrixCRef<T>& x, const RowVector<T>& shift, const detail::SampleWeights<T>& w) {
    const detail::Chunks chunks = vector_chunks(x.rows());
    const auto weighted_sum = [&](const RowVector<T>& about, bool squares) {
      RowVector<T> out = detail::parallel_sum(chunks, RowVector<T>(RowVector<T>::Zero(x.cols())), [&](Index, Index begin, Index end, RowVector<T>& out) {
        out.setZero(x.cols());
        Matrix<T> z;
        for (Index b = begin; b < end; b += sub_block) {
          const Index m = std::min(sub_block, end - b);
          z = (x.middleRows(b, m).rowwise() - shift).rowwise() - about;
          if (squares) z = z.array().square().matrix();
          out.noalias() += w.segment(b, m).transpose() * z;
        }
      });
      detail::all_sum(sh.ranks, out);
      return out;
    };
    const RowVector<T> mean = weighted_sum(RowVector<T>::Zero(x.cols()), false) / w.sum();
    return (weighted_sum(mean, true) / w.sum()).transpose();
  }

  Eigen::LLT<Matrix<T>> checked_factor(const Matrix<T>& cov, Index c) const;


  // M-step from running statistics (partial_fit).
  void m_step_from_statistics();

  Options options_;
  State state_;
  Statistics stats_;
  Matrix<T> reference_;  // K x D: the means the running statistics are about (partial_fit)
  Index chunks_ = 0;
  Index dimension_ = 0;
  std::vector<T> history_;
  bool converged_ = false;
  int iterations_ = 0;
  Index reseeded_ = 0;
};

// GaussianMixture's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto GaussianMixture<T>::fit(const Collective& ranks, const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights) -> GaussianMixture& PML_RANKS_TRY {
    const char* f = "GaussianMixture::fit";
    const Index k = options_.components;
    const bool one = ranks.size() == 1;
    Index n = x.rows(), offset = 0;  // rows in all; this rank's first row among them
    std::optional<detail::SampleWeights<T>> w_;
    if (one) {
      // the given weights in place, or none: no N-vector of ones (segments are the 2048-row sub-blocks below)
      w_.emplace(f, weights, x.rows(), sub_block);
    } else {
      detail::agree(ranks, [&] {
        if (weights.size() != 0) {
          check_size(f, "weights", weights.size(), x.rows(), "length");
          check_all_nonnegative(f, "weights", weights);
        }
        check_all_finite(f, "x", x);
      });
      n = 0;
      const std::vector<Index> counts = detail::all_counts(ranks, x.rows());
      for (int r = 0; r < ranks.size(); ++r) {
        if (r == ranks.rank()) offset = n;
        n += counts[static_cast<std::size_t>(r)];
      }
      check_nonempty(f, "data", n);
      const T total = detail::all_sum(ranks, weights.size() == 0 ? T(x.rows()) : T(weights.sum()));
      if (!(total > 0)) detail::throw_domain(f, "weights", "have a positive sum", "0");
      w_.emplace(weights, x.rows(), sub_block, total);
    }
    const detail::SampleWeights<T>& w = *w_;
    const Index d = detail::shared_columns(ranks, f, x.rows(), x.cols());
    if (n < k) detail::throw_shape(f, "needs at least components = " + std::to_string(k) + " rows, got " + std::to_string(n));
    if (one) check_all_finite(f, "x", x);
    check_initial_parameters(d);
    detail::agree(ranks, [&] { check_memory(f, d); });  // ranks may have different memory: all must stop together
    dimension_ = d;
    // an empty shard of another width is seen as 0 x D
    const Matrix<T> no_rows(0, d);
    const MatrixCRef<T> xs = x.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(x);
    const Shards sh{ranks, offset, n};
    // EM runs about the data's column means (sums of squares about the data, not the origin), each block of
    // rows centred as it is read: no centred copy of the data, no N x K responsibilities (issue 17 §3)
    const RowVector<T> shift = detail::column_means<T>(ranks, xs, n);
    detail::check_spread<T>(f, T(detail::all_max(ranks, double(detail::largest_deviation<T>(xs, shift)))), double(n) * double(d));
    T best = -std::numeric_limits<T>::infinity();
    // full and tied: statistics about the current means; diagonal and spherical: about 0 (two GEMMs)
    const bool square = options_.covariance == Covariance::full || options_.covariance == Covariance::tied;
    for (int start = 0; start < options_.restarts; ++start) {
      State state = initial_state(sh, xs, shift, w, rng);
      std::vector<T> history;
      bool converged = false;
      T lower_bound = -std::numeric_limits<T>::infinity();
      int it = 0;
      Index reseeded = 0;
      for (; it < options_.max_iterations; ++it) {
        const T previous = lower_bound;
        // one pass: the E-step's responsibilities become the M-step's statistics block by block; each chunk
        // keeps its weighted log-likelihood and its worst-explained row (for re-seeding), no N-vector
        const Index chunks = sum_chunks(xs).count();
        std::vector<T> chunk_ll(static_cast<std::size_t>(chunks), T(0));
        std::vector<std::pair<T, Index>> chunk_worst(static_cast<std::size_t>(chunks), {std::numeric_limits<T>::infinity(), 0});
        const auto e_step = [&](Index c, Index b, Index m, const Matrix<T>& xb, Matrix<T>& r) {
          log_prob_rows(state, xb, 0, m, r);
          const Vector<T> norm = log_sum_exp_rows(r);
          const auto ch = static_cast<std::size_t>(c);
          chunk_ll[ch] += w.segment(b, m).dot(norm);
          Index i;
          const T least = norm.minCoeff(&i);
          if (least < chunk_worst[ch].first || b == sum_chunks(xs).begin(c)) chunk_worst[ch] = {least, b + i};
          r = ((r.colwise() - norm).array().exp().colwise() * w.segment(b, m).array()).matrix();
        };
        Statistics st = statistics(sh, xs, shift, state.means, e_step, square);
        T total = 0;
        Worst worst{std::numeric_limits<T>::infinity(), -1, true};
        for (std::size_t ch = 0; ch < chunk_ll.size(); ++ch) {
          total += chunk_ll[ch];
          if (chunk_worst[ch].first < worst.value || ch == 0) worst = {chunk_worst[ch].first, chunk_worst[ch].second, true};
        }
        lower_bound = detail::all_sum(ranks, total) / w.sum();
        history.push_back(lower_bound);
        reseeded += m_step(sh, state, st, xs, shift, w, worst, e_step);
        if (std::abs(lower_bound - previous) < options_.tolerance) {
          converged = true;
          ++it;
          break;
        }
      }
      if (lower_bound > best || start == 0) {
        best = lower_bound;
        state_ = std::move(state);
        history_ = std::move(history);
        converged_ = converged;
        iterations_ = it;
        reseeded_ = reseeded;
      }
    }
    state_.means.rowwise() += shift;
    return *this;
  } PML_RANKS_CATCH(ranks, "GaussianMixture::fit")

template <Real T>
auto GaussianMixture<T>::partial_fit(const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights) -> GaussianMixture& {
    const char* f = "GaussianMixture::partial_fit";
    const Vector<T> w = detail::weights_or_ones<T>(f, weights, x.rows());
    check_all_finite(f, "x", x);
    if (state_.weights.size() == 0) {
      if (x.rows() < options_.components)
        detail::throw_shape(f, "needs at least components = " + std::to_string(options_.components) +
                                   " rows in the first chunk, got " + std::to_string(x.rows()));
      check_initial_parameters(x.cols());
      check_memory(f, x.cols());
      dimension_ = x.cols();
      const RowVector<T> shift = detail::column_means<T>(x);
      detail::check_spread<T>(f, detail::largest_deviation<T>(x, shift), double(x.rows()) * double(x.cols()));
      state_ = initial_state(Shards{Collective::single(), 0, x.rows()}, x, shift, detail::SampleWeights<T>(f, w, x.rows(), 1), rng);
      state_.means.rowwise() += shift;
      chunks_ = 0;
      history_.clear();
    } else {
      check_size(f, "x", x.cols(), dimension_, "columns");
    }
    const RowVector<T> centre = prediction_shift();
    Matrix<T> log_resp = log_prob_about(state_, x, centre);
    const Vector<T> norm = log_normaliser(log_resp);
    history_.push_back(w.dot(norm) / w.sum());
    log_resp.colwise() -= norm;
    Matrix<T> resp = log_resp.array().exp().matrix();
    resp = resp.unaryExpr([](T v) { return std::isfinite(v) ? v : T(0); });
    resp.array().colwise() *= w.array() / w.sum();
    const Index k = options_.components;
    const bool diagonal = options_.covariance == Covariance::diagonal || options_.covariance == Covariance::spherical;
    const Matrix<T> reference = state_.means;  // this chunk's statistics are about the current means
    Statistics chunk;
    chunk.s0 = resp.colwise().sum().transpose();
    chunk.s1.resize(k, dimension_);
    if (diagonal) chunk.s2.assign(1, Matrix<T>(k, dimension_));
    Matrix<T> xs;
    for (Index c = 0; c < k; ++c) {
      xs = x.rowwise() - reference.row(c);
      chunk.s1.row(c) = resp.col(c).transpose() * xs;
      if (diagonal)
        chunk.s2[0].row(c) = resp.col(c).transpose() * xs.array().square().matrix();
      else
        chunk.s2.push_back(xs.transpose() * resp.col(c).asDiagonal() * xs);
    }
    const T eta = chunks_ == 0 ? T(1) : std::pow(T(chunks_ + 1), -options_.step_exponent);
    if (chunks_ == 0) {
      stats_ = chunk;
    } else {
      // move the running statistics from the old reference to the new one: about r' = r + delta,
      // s1' = s1 - s0 delta and s2' = s2 - delta s1^T - s1 delta^T + s0 delta delta^T (delta is one mean update)
      for (Index c = 0; c < k; ++c) {
        const RowVector<T> delta = reference.row(c) - reference_.row(c);
        const RowVector<T> s1 = stats_.s1.row(c);
        const T s0 = stats_.s0(c);
        if (diagonal) {
          stats_.s2[0].row(c) += (s0 * delta.array().square() - T(2) * delta.array() * s1.array()).matrix();
        } else {
          Matrix<T>& s2 = stats_.s2[static_cast<std::size_t>(c)];
          s2 += s0 * delta.transpose() * delta - delta.transpose() * s1 - s1.transpose() * delta;
        }
        stats_.s1.row(c) = s1 - s0 * delta;
      }
      stats_.s0 = (T(1) - eta) * stats_.s0 + eta * chunk.s0;
      stats_.s1 = (T(1) - eta) * stats_.s1 + eta * chunk.s1;
      for (std::size_t i = 0; i < stats_.s2.size(); ++i) stats_.s2[i] = (T(1) - eta) * stats_.s2[i] + eta * chunk.s2[i];
    }
    reference_ = reference;
    ++chunks_;
    m_step_from_statistics();
    iterations_ = static_cast<int>(chunks_);
    return *this;
  }

template <Real T>
auto GaussianMixture<T>::predict_proba(const MatrixCRef<T>& x) const -> Matrix<T> {
    require_fitted("GaussianMixture::predict_proba", x);
    const RowVector<T> shift = prediction_shift();
    Matrix<T> lp = log_prob_about(state_, x, shift);
    const Vector<T> norm = log_normaliser(lp);
    Matrix<T> out = (lp.colwise() - norm).array().exp().matrix();
    for (Index i = 0; i < x.rows(); ++i)
      if (!(norm(i) > -std::numeric_limits<T>::infinity())) out.row(i) = far_responsibilities(x.row(i));
    return out;
  }

template <Real T>
auto GaussianMixture<T>::predict(const MatrixCRef<T>& x) const -> IntVector {
    require_fitted("GaussianMixture::predict", x);
    const Matrix<T> lp = log_prob_about(state_, x, prediction_shift());
    IntVector labels(x.rows());
    for (Index i = 0; i < x.rows(); ++i) {
      Index best;
      if (!(lp.row(i).maxCoeff(&best) > -std::numeric_limits<T>::infinity())) far_responsibilities(x.row(i)).maxCoeff(&best);
      labels(i) = static_cast<long>(best);
    }
    return labels;
  }

template <Real T>
auto GaussianMixture<T>::sample(Rng& rng, Index n) const -> std::pair<Matrix<T>, IntVector> {
    if (state_.weights.size() == 0) throw std::logic_error("GaussianMixture::sample: the model is not fitted; call fit() first");
    std::vector<Matrix<T>> factors;  // one Cholesky factor per component, not one per draw
    for (Index c = 0; c < options_.components; ++c) factors.push_back(cholesky(c));
    Matrix<T> out(n, dimension_);
    IntVector labels(n);
    Vector<T> eps(dimension_);
    for (Index i = 0; i < n; ++i) {
      const Index c = random::categorical(rng, state_.weights);
      labels(i) = static_cast<long>(c);
      random::fill_normal(rng, eps);
      out.row(i) = (state_.means.row(c).transpose() + factors[static_cast<std::size_t>(c)] * eps).transpose();
    }
    return {out, labels};
  }

template <Real T>
auto GaussianMixture<T>::parameters() const noexcept -> Index {
    const Index k = options_.components, d = dimension_;
    Index cov = 0;
    switch (options_.covariance) {
      case Covariance::full: cov = k * d * (d + 1) / 2; break;
      case Covariance::tied: cov = d * (d + 1) / 2; break;
      case Covariance::diagonal: cov = k * d; break;
      case Covariance::spherical: cov = k; break;
    }
    return (k - 1) + k * d + cov;
  }

template <Real T>
auto GaussianMixture<T>::covariance(Index k) const -> Matrix<T> {
    if (state_.weights.size() == 0) throw std::logic_error("GaussianMixture::covariance: the model is not fitted; call fit() first");
    if (k < 0 || k >= state_.weights.size())
      throw std::out_of_range("GaussianMixture::covariance: k = " + std::to_string(k) + " is not in [0, " + std::to_string(state_.weights.size()) + ")");
    switch (options_.covariance) {
      case Covariance::diagonal: return Matrix<T>(state_.variances.row(k).transpose().asDiagonal());
      case Covariance::spherical: return state_.variances(k, 0) * Matrix<T>::Identity(dimension_, dimension_);
      case Covariance::full:
      case Covariance::tied: break;
    }
    const Matrix<T> l = cholesky(k);
    return l * l.transpose();
  }

template <Real T>
auto GaussianMixture<T>::cholesky(Index k) const -> Matrix<T> {
    switch (options_.covariance) {
      case Covariance::full: return state_.chol[static_cast<std::size_t>(k)].matrixL();
      case Covariance::tied: return state_.chol[0].matrixL();
      case Covariance::diagonal: return Matrix<T>(state_.variances.row(k).transpose().cwiseSqrt().asDiagonal());
      case Covariance::spherical:
        return std::sqrt(state_.variances(k, 0)) * Matrix<T>::Identity(dimension_, dimension_);
    }
    return {};
  }

template <Real T>
auto GaussianMixture<T>::far_responsibilities(const RowVector<T>& x) const -> RowVector<T> {
    const Index k = options_.components;
    Vector<T> q(k);
    for (Index c = 0; c < k; ++c) {
      RowVector<T> z = x - state_.means.row(c);
      const T scale = z.cwiseAbs().maxCoeff();
      if (scale > T(0) && std::isfinite(scale)) z /= scale;
      switch (options_.covariance) {
        case Covariance::full:
        case Covariance::tied: {
          const auto& llt = state_.chol[options_.covariance == Covariance::full ? static_cast<std::size_t>(c) : 0];
          Vector<T> v = z.transpose();
          llt.matrixL().solveInPlace(v);
          q(c) = v.squaredNorm();
          break;
        }
        case Covariance::diagonal: q(c) = (z.array().square() / state_.variances.row(c).array()).sum(); break;
        case Covariance::spherical: q(c) = z.squaredNorm() / state_.variances(c, 0); break;
      }
      // compare in the common units of the largest scale: q_c * scale_c^2 up to a common factor
      q(c) = std::log(q(c)) + T(2) * std::log(scale);
    }
    // components tied at this precision (e.g. equal covariances, whose means vanish next to x): the cross
    // term x^T Sigma_k^{-1} mu_k of the exact difference of their quadratic forms decides, larger wins
    const T best = q.minCoeff();
    Vector<T> cross = Vector<T>::Constant(k, -std::numeric_limits<T>::infinity());
    const T size = x.cwiseAbs().maxCoeff();
    const RowVector<T> direction = size > T(0) && std::isfinite(size) ? RowVector<T>(x / size) : x;
    for (Index c = 0; c < k; ++c) {
      if (!(q(c) == best)) continue;
      Vector<T> pm = state_.means.row(c).transpose();
      switch (options_.covariance) {
        case Covariance::full: pm = state_.chol[static_cast<std::size_t>(c)].solve(pm); break;
        case Covariance::tied: pm = state_.chol[0].solve(pm); break;
        case Covariance::diagonal: pm = pm.cwiseQuotient(state_.variances.row(c).transpose()); break;
        case Covariance::spherical: pm /= state_.variances(c, 0); break;
      }
      cross(c) = direction.dot(pm.transpose());
    }
    const T top = cross.maxCoeff();
    RowVector<T> out = (cross.array() == top).template cast<T>().matrix().transpose();
    if (!(out.sum() > T(0))) out = RowVector<T>::Constant(k, T(1));  // NaN distances: nothing to prefer
    return out / out.sum();
  }

template <Real T>
auto GaussianMixture<T>::check_memory(const char* f, Index d) const -> void {
    if (options_.covariance != Covariance::full && options_.covariance != Covariance::tied) return;
    const double count = options_.covariance == Covariance::full ? double(options_.components) : 1.0;
    detail::check_model_memory(f, "x", 2.0 * count * double(d) * double(d) * double(sizeof(T)),
                               std::to_string(options_.components) + " component(s) with " +
                                   (options_.covariance == Covariance::full ? "full" : "tied") + " " + std::to_string(d) +
                                   " x " + std::to_string(d) + " covariances",
                               "use covariance 'diagonal' or 'spherical', or reduce the columns (PCA) first");
  }

template <Real T>
auto GaussianMixture<T>::check_initial_parameters(Index d) const -> void {
    const Index k = options_.components;
    const char* f = "GaussianMixture::fit";
    if (options_.weights_init.size() > 0) {
      check_size(f, "weights_init", options_.weights_init.size(), k, "length");
      check_simplex(f, "weights_init", options_.weights_init, 1e-6);
    }
    if (options_.means_init.size() > 0) {
      check_size(f, "means_init", options_.means_init.rows(), k, "rows");
      check_size(f, "means_init", options_.means_init.cols(), d, "columns");
      check_all_finite(f, "means_init", options_.means_init);
    }
    if (!options_.covariances_init.empty()) {
      const Index expected = options_.covariance == Covariance::tied ? 1 : k;
      check_size(f, "covariances_init", static_cast<Index>(options_.covariances_init.size()), expected, "count");
      for (const auto& c : options_.covariances_init) {
        check_size(f, "covariances_init", c.rows(), d, "rows");
        cholesky_checked(f, "covariances_init", c);
      }
    }
  }

template <Real T>
auto GaussianMixture<T>::initial_state(const Shards& sh, const MatrixCRef<T>& x, const RowVector<T>& shift, const detail::SampleWeights<T>& w, Rng& rng) const -> State {
    const Index k = options_.components, d = x.cols();
    State s;
    const bool given = options_.weights_init.size() > 0 && options_.means_init.size() > 0 && !options_.covariances_init.empty();
    if (!given) {
      if (options_.init == MixtureInit::kmeans) {
        KMeans<T> km({.clusters = k, .restarts = 1});
        km.fit(sh.ranks, x, rng, w.given());
        const IntVector& labels = km.labels();
        init_m_step(sh, s, x, shift, w, [&](Index, Index b, Index m, const Matrix<T>&, Matrix<T>& r) {
          r.setZero();
          for (Index i = 0; i < m; ++i) r(i, labels(b + i)) = w(b + i);
        });
      } else {
        // uniform draws normalised per row, each hashed from (one draw of rng, the row's position among all
        // ranks' rows, the component): the same for any thread count and sharding, replayed by a second pass
        const std::uint64_t key = rng();
        init_m_step(sh, s, x, shift, w, [&](Index, Index b, Index m, const Matrix<T>&, Matrix<T>& r) {
          for (Index i = 0; i < m; ++i)
            for (Index c = 0; c < k; ++c)
              r(i, c) = detail::hashed_uniform<T>(key, std::uint64_t(sh.offset + b + i) * std::uint64_t(k) + std::uint64_t(c));
          r.array().colwise() /= r.rowwise().sum().array();
          r.array().colwise() *= w.segment(b, m).array();
        });
      }
    } else {
      s.means.resize(k, d);
    }
    if (options_.weights_init.size() > 0) s.weights = options_.weights_init / options_.weights_init.sum();
    if (options_.means_init.size() > 0) s.means = options_.means_init.rowwise() - shift;
    if (!options_.covariances_init.empty()) set_covariances(s, options_.covariances_init);
    return s;
  }

template <Real T>
auto GaussianMixture<T>::set_covariances(State& s, const std::vector<Matrix<T>>& covs) const -> void {
    const Index k = options_.components;
    switch (options_.covariance) {
      case Covariance::full:
        s.chol.clear();
        for (const auto& c : covs) s.chol.emplace_back(c);
        break;
      case Covariance::tied: s.chol.assign(1, Eigen::LLT<Matrix<T>>(covs[0])); break;
      case Covariance::diagonal:
        s.variances.resize(k, dimension_);
        for (Index c = 0; c < k; ++c) s.variances.row(c) = covs[static_cast<std::size_t>(c)].diagonal().transpose();
        break;
      case Covariance::spherical:
        s.variances.resize(k, 1);
        for (Index c = 0; c < k; ++c) s.variances(c, 0) = covs[static_cast<std::size_t>(c)].diagonal().mean();
        break;
    }
  }

template <Real T>
auto GaussianMixture<T>::log_prob_rows(const State& s, const MatrixCRef<T>& all, Index begin, Index n, Eigen::Ref<Matrix<T>> lp) const -> void {
    const auto x = all.middleRows(begin, n);
    const Index d = x.cols(), k = options_.components;
    const T log_two_pi = constants<T>::log_two_pi;
    switch (options_.covariance) {
      case Covariance::full: {
        constexpr Index block = 128;
        Matrix<T> z;
        for (Index c = 0; c < k; ++c) {
          const auto& llt = s.chol[static_cast<std::size_t>(c)];
          const T constant = -T(0.5) * (T(d) * log_two_pi + log_det(llt));
          for (Index start = 0; start < n; start += block) {
            const Index m = std::min(block, n - start);
            z = x.middleRows(start, m).rowwise() - s.means.row(c);
            llt.matrixU().template solveInPlace<Eigen::OnTheRight>(z);
            lp.col(c).segment(start, m) = (constant - T(0.5) * z.rowwise().squaredNorm().array()).matrix();
          }
        }
        break;
      }
      case Covariance::tied: {
        // Z = X L^{-T} once; then ||z_n - m_k||^2 = ||z_n||^2 - 2 z_n.m_k + ||m_k||^2 with m_k = L^{-1} mu_k,
        // entries that cancelled recomputed from z_n - m_k
        const auto& llt = s.chol[0];
        Matrix<T> z = x;
        llt.matrixU().template solveInPlace<Eigen::OnTheRight>(z);
        Matrix<T> m = s.means;
        llt.matrixU().template solveInPlace<Eigen::OnTheRight>(m);
        const Vector<T> z_norms = z.rowwise().squaredNorm();
        const RowVector<T> m_norms = m.rowwise().squaredNorm().transpose();
        lp.noalias() = T(-2) * z * m.transpose();
        lp.colwise() += z_norms;
        lp.rowwise() += m_norms;
        detail::refine_squared_distances<T>(z, z_norms, m, m_norms, lp);
        lp.array() = T(-0.5) * lp.array() - T(0.5) * (T(d) * log_two_pi + log_det(llt));
        break;
      }
      case Covariance::diagonal: {
        // sum_j p_kj (x_nj - mu_kj)^2 = x^2 p^T - 2 x (mu p)^T + sum_j mu_kj^2 p_kj, with cancelled entries
        // recomputed exactly (|x_n|^2 max_j p_kj + sum_j mu_kj^2 p_kj bounds the expanded terms)
        const Matrix<T> precision = s.variances.cwiseInverse();  // K x D
        lp.noalias() = T(-2) * x * (s.means.cwiseProduct(precision)).transpose();
        lp.noalias() += x.array().square().matrix() * precision.transpose();
        const Vector<T> row_norms = x.rowwise().squaredNorm();
        const RowVector<T> mean_terms = (s.means.array().square() * precision.array()).rowwise().sum().transpose();
        lp.rowwise() += mean_terms;
        const RowVector<T> largest = precision.rowwise().maxCoeff().transpose();
        const T tau = detail::cancellation_fraction<T>();
        for (Index c = 0; c < k; ++c) {
          if ((lp.col(c).array() >= tau * (row_norms.array() * largest(c) + mean_terms(c))).all()) continue;
          for (Index i = 0; i < n; ++i)
            if (!(lp(i, c) >= tau * (row_norms(i) * largest(c) + mean_terms(c))))
              lp(i, c) = ((x.row(i) - s.means.row(c)).array().square() * precision.row(c).array()).sum();
        }
        const RowVector<T> constant =
            (-T(0.5) * (s.variances.array().log().rowwise().sum() + T(d) * log_two_pi)).matrix().transpose();
        lp *= T(-0.5);
        lp.rowwise() += constant;
        break;
      }
      case Covariance::spherical: {
        const Vector<T> var = s.variances.col(0);
        const Vector<T> row_norms = x.rowwise().squaredNorm();
        const RowVector<T> mean_norms = s.means.rowwise().squaredNorm().transpose();
        lp.noalias() = T(-2) * x * s.means.transpose();
        lp.colwise() += row_norms;
        lp.rowwise() += mean_norms;
        detail::refine_squared_distances<T>(x, row_norms, s.means, mean_norms, lp);
        for (Index c = 0; c < k; ++c)
          lp.col(c) = (lp.col(c).array() / var(c) + T(d) * (std::log(var(c)) + log_two_pi)).matrix() * T(-0.5);
        break;
      }
    }
    lp.rowwise() += s.weights.array().log().matrix().transpose();
  }

template <Real T>
auto GaussianMixture<T>::checked_factor(const Matrix<T>& cov, Index c) const -> Eigen::LLT<Matrix<T>> {
    Eigen::LLT<Matrix<T>> llt(cov);
    if (llt.info() != Eigen::Success)
      detail::throw_domain("GaussianMixture::fit", "reg_covar",
                           "be large enough to keep component covariances positive definite (component " +
                               std::to_string(c) + " collapsed)",
                           detail::describe(options_.reg_covar));
    return llt;
  }

template <Real T>
auto GaussianMixture<T>::m_step_from_statistics() -> void {
    const Index k = options_.components, d = dimension_;
    const T reg = options_.reg_covar;
    Vector<T> s0 = stats_.s0.array() + T(10) * std::numeric_limits<T>::epsilon();
    state_.weights = s0 / s0.sum();
    const Matrix<T> centred_means = stats_.s1.array().colwise() / s0.array();  // about reference_
    state_.means = centred_means + reference_;
    switch (options_.covariance) {
      case Covariance::full:
        state_.chol.clear();
        for (Index c = 0; c < k; ++c) {
          Matrix<T> cov = stats_.s2[static_cast<std::size_t>(c)] / s0(c) - centred_means.row(c).transpose() * centred_means.row(c);
          cov = T(0.5) * (cov + cov.transpose());
          cov.diagonal().array() += reg;
          state_.chol.push_back(checked_factor(cov, c));
        }
        break;
      case Covariance::tied: {
        Matrix<T> cov = Matrix<T>::Zero(d, d);
        for (Index c = 0; c < k; ++c)
          cov += stats_.s2[static_cast<std::size_t>(c)] - s0(c) * centred_means.row(c).transpose() * centred_means.row(c);
        cov = T(0.5) * (cov + cov.transpose()) / s0.sum();
        cov.diagonal().array() += reg;
        state_.chol.assign(1, checked_factor(cov, 0));
        break;
      }
      case Covariance::diagonal:
      case Covariance::spherical: {
        Matrix<T> var = (stats_.s2[0].array().colwise() / s0.array() - centred_means.array().square()).matrix();
        var = (var.array() + reg).matrix().cwiseMax(reg > T(0) ? reg : std::numeric_limits<T>::min());
        if (options_.covariance == Covariance::diagonal)
          state_.variances = var;
        else
          state_.variances = var.rowwise().mean();
        break;
      }
    }
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::GaussianMixture)
