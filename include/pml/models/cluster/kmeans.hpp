#pragma once
/// @file
/// k-means clustering: k-means++ or k-means|| seeding, Lloyd iterations written as matrix products, restarts,
/// fits on row shards (core/collective.hpp).

#include "pml/core/instantiation.hpp"
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <optional>
#include <vector>

#include "pml/core/parallel.hpp"
#include "pml/core/check.hpp"
#include "pml/core/collective.hpp"
#include "pml/core/enum_names.hpp"
#include "pml/core/linalg.hpp"
#include "pml/serialization/state.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// How KMeans picks its starting centres (when no centres_init is given).
enum class KMeansInit {
  /// greedy k-means++ (Arthur & Vassilvitskii 2007, 2 + ln K candidates per centre; scikit-learn's default):
  /// (K - 1)(3 + floor(ln K)) + 1 passes over the data (each candidate's potential, each centre's update)
  k_means_plus_plus,
  /// k-means|| (Bahmani et al. 2012; Spark MLlib's default "k-means||"): `init_steps` passes, each keeping
  /// every row independently with probability min(1, 2K w_n d_n / sum_m w_m d_m) (d: squared distance to
  /// the nearest kept row), then k-means++ and Lloyd on the kept rows weighted by the rows nearest to each.
  /// Fewer passes over sharded data; a row's draw depends on the seed and its position only, so the
  /// sharded fit keeps the same rows as the single-process one up to rounding (a row whose probability
  /// is within rounding of its uniform may go either way, and the reduced seeds with it).
  k_means_parallel,
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(KMeansInit) { return {"k-means++", "k-means||"}; }

/// Options of KMeans (designated initialisers: `KMeans<double>({.clusters = 3})`).
template <Real T = double> struct KMeansOptions {
  Index clusters = 8;        ///< K
  int restarts = 1;          ///< independent starts (seedings); the lowest inertia wins (sklearn's n_init)
  int max_iterations = 300;  ///< Lloyd iterations per start
  T tolerance = T(1e-4);     ///< stop when the squared centre shift is below tolerance x mean feature variance
  Matrix<T> centres_init{};  ///< optional K x D starting centres (then one start, no seeding)
  KMeansInit init = KMeansInit::k_means_plus_plus;  ///< the seeding: k-means++ or k-means||
  int init_steps = 2;  ///< k-means|| passes (Spark's initializationSteps, default 2)

  /// The options a model file stores (all but centres_init), declared once for save() and load()
  /// (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("clusters", o.clusters, io::as_size);
    v("restarts", o.restarts);
    v("max_iterations", o.max_iterations);
    v("tolerance", o.tolerance);
    v("init", o.init, io::added_later);
    v("init_steps", o.init_steps, io::added_later);
  }
};

/// k-means (PRML §9.1): minimises the inertia \f$J = \sum_n w_n \min_k \|x_n - \mu_k\|^2\f$ (PRML 9.1) by
/// Lloyd's alternation of assignments (9.2) and weighted means (9.4), from k-means++ seeds
/// (Arthur & Vassilvitskii 2007; greedy with 2 + ln K trials per centre, as scikit-learn) or k-means|| seeds
/// (KMeansInit::k_means_parallel). fit() also runs on rows spread over processes (fit(ranks, x, ...)).
/// Distances are computed as \f$\|x\|^2 - 2XC^T + \|c\|^2\f$, one GEMM per iteration, on data centred by
/// their column means (so that the expansion is about the data, not the origin); a row whose nearest
/// distance is still small next to \f$\|x\|^2 + \|c\|^2\f$ (below \f$\sqrt\epsilon\f$ of it) is
/// reassigned from exact differences, and the inertia is always summed from exact differences
/// \f$\|x_n - \mu_{k(n)}\|^2\f$ of the returned labels and centres. Data whose squared deviations from
/// the column means overflow (e.g. values near 1e200 in double) are refused with std::domain_error.
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class KMeans {
 public:
  using Options = KMeansOptions<T>;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// A k-means model with the given options (fit() it next). @throw std::domain_error naming the option whose value is invalid.
  explicit KMeans(const Options& options = {}) : options_(options) {
    if (options.clusters <= 0)
      detail::throw_domain("KMeans", "clusters", "be positive", std::to_string(options.clusters));
    if (options.restarts <= 0)
      detail::throw_domain("KMeans", "restarts", "be positive", std::to_string(options.restarts));
    if (options.max_iterations <= 0)
      detail::throw_domain("KMeans", "max_iterations", "be positive", std::to_string(options.max_iterations));
    check_nonnegative("KMeans", "tolerance", options.tolerance);
    if (static_cast<std::size_t>(options.init) >= enum_names(KMeansInit{}).size())
      detail::throw_domain("KMeans", "init", "be k-means++ or k-means||", std::to_string(static_cast<int>(options.init)));
    if (options.init_steps <= 0) detail::throw_domain("KMeans", "init_steps", "be positive", std::to_string(options.init_steps));
  }

  /// Fits the centres to the rows of `x` (N x D), with optional sample weights.
  /// @throw std::invalid_argument for N < K or empty data; std::domain_error for non-finite data or data whose
  /// squared deviations from the column means overflow (rescale such data).
  KMeans& fit(const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    return fit(Collective::single(), x, rng, weights);
  }
  /// fit() with a generator seeded from `seed`.
  KMeans& fit(const MatrixCRef<T>& x, std::uint64_t seed = 0, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    Rng rng(seed);
    return fit(x, rng, weights);
  }
  /// fit() on rows spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own shard `x` (N_r x D; N_r = 0 allowed, then any width) with its own weights, and the same
  /// options and generator state. Every rank ends with the same centres, inertia and iterations, equal to
  /// fit() on the shards' rows stacked in rank order up to rounding (bit for bit on one rank); labels() are
  /// the rank's own rows'. Per Lloyd iteration the ranks exchange one K x D sum and K masses; k-means++
  /// takes a few scalars and one D-row per candidate. @throw as fit(), on every rank (a rank's own bad shard
  /// is reported on all of them, with its rank).
  KMeans& fit(const Collective& ranks, const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights = detail::no_weights<T>());
  /// The sharded fit() with a generator seeded from `seed` (the same on every rank).
  KMeans& fit(const Collective& ranks, const MatrixCRef<T>& x, std::uint64_t seed = 0, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    Rng rng(seed);
    return fit(ranks, x, rng, weights);
  }

  /// Index of the nearest centre for each row. @throw std::logic_error before fit().
  IntVector predict(const MatrixCRef<T>& x) const {
    require_fitted("KMeans::predict");
    check_size("KMeans::predict", "x", x.cols(), centres_.cols(), "columns");
    IntVector labels;
    assign_shifted(x, labels);
    return labels;
  }
  /// Squared distances to every centre (N x K): expanded about the centres' mean, entries that lost their
  /// digits to cancellation recomputed from exact differences.
  Matrix<T> transform(const MatrixCRef<T>& x) const;
  /// Per-row score (length N, higher is better, the library's score_samples() convention): minus the
  /// exact squared distance of each row of `x` (N x D) to its nearest fitted centre.
  /// @throw std::logic_error if not fitted; std::invalid_argument if `x` has the wrong number of columns.
  Vector<T> score_samples(const MatrixCRef<T>& x) const {
    require_fitted("KMeans::score_samples");
    check_size("KMeans::score_samples", "x", x.cols(), centres_.cols(), "columns");
    IntVector labels;
    assign_shifted(x, labels);
    return -exact_squared_distances(x, centres_, labels);
  }
  /// The mean of score_samples(): minus the mean squared distance to the nearest centre (higher is
  /// better, like every model's score(); scikit-learn's KMeans.score is the sum, N times this).
  /// @throw as score_samples().
  T score(const MatrixCRef<T>& x) const;
  /// Inertia of `x` (unweighted) under the fitted centres: the exact squared distance of each row to its
  /// nearest centre, summed (lower is better; −N × score(x)). @throw as score_samples().
  T inertia(const MatrixCRef<T>& x) const;

  const Matrix<T>& centres() const noexcept { return centres_; }  ///< K x D
  const IntVector& labels() const noexcept { return labels_; }     ///< labels of the training rows
  T inertia() const noexcept { return inertia_; }                  ///< weighted sum of squared distances
  int iterations() const noexcept { return iterations_; }          ///< Lloyd iterations of the best start
  bool converged() const noexcept { return converged_; }  ///< Whether the last fit() stopped because no centre moved more than the tolerance.
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

  /// k-means++ seeding (greedy, 2 + ln K candidates per centre): K rows of `x` (N x D) chosen as starting
  /// centres (K x D, copies of those rows), with optional sample weights (empty: all 1). Distances are taken
  /// about the column means; one that lost its digits to cancellation in the expanded form is recomputed from
  /// exact differences. Apart from the result it keeps one N-vector (each row's distance to its nearest
  /// centre so far). @throw std::invalid_argument for k < 1, N < k, empty x or weights of the wrong length;
  /// std::domain_error for non-finite x, negative weights or weights that sum to 0.
  static Matrix<T> plus_plus(const MatrixCRef<T>& x, Index k, Rng& rng, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const detail::SampleWeights<T> w("KMeans::plus_plus", weights, x.rows(), 1);
    if (k <= 0 || x.rows() < k)
      detail::throw_shape("KMeans::plus_plus", "needs 0 < k <= rows, got k = " + std::to_string(k) + " and " +
                                                   std::to_string(x.rows()) + " rows");
    check_all_finite("KMeans::plus_plus", "x", x);
    const RowVector<T> shift = detail::column_means<T>(x);
    return plus_plus(Collective::single(), Centred{x, shift}, w, k, rng);
  }

 private:
  // The data minus a shift, block by block (KMeans never keeps a centred copy of the data).
  struct Centred {
    const MatrixCRef<T>& x;
    RowVector<T> shift;
    Matrix<T> rows(Index begin, Index count) const { return x.middleRows(begin, count).rowwise() - shift; }
    RowVector<T> row(Index i) const { return x.row(i) - shift; }
    Index size() const { return x.rows(); }
  };
  // Row blocks of the per-row passes (seeding, assignment): fixed by N, at most 8192 rows while N < 2^33.
  static detail::Chunks block_chunks(Index n) { return detail::split_rows(n, 8192, Index(1) << 20); }
  // Squared distances of the centred rows [b, b + m) to the centred row `centre` (norm rn; `original` is that
  // row in the data's coordinates) into db (length m).
  static void distances_to_row(const Centred& x, Index b, Index m, const RowVector<T>& original, const Vector<T>& centre, T rn,
                               Eigen::Ref<Vector<T>> db) {
    const Matrix<T> xb = x.rows(b, m);
    const Vector<T> norms = xb.rowwise().squaredNorm();  // (column by column: contiguous)
    db.noalias() = xb * centre;
    const T tau = detail::cancellation_fraction<T>();
    for (Index i = 0; i < m; ++i) {
      const T norm = norms(i);
      db(i) = norm - T(2) * db(i) + rn;
      if (!(db(i) >= tau * (norm + rn))) db(i) = (x.x.row(b + i) - original).squaredNorm();
      db(i) = std::max(db(i), T(0));
    }
  }
  // One row of every rank's data (in the data's coordinates) drawn in proportion to the weights: on one rank
  // random::categorical's draw, on several detail::draw_row's.
  static RowVector<T> draw_weighted_row(const Collective& ranks, const Centred& x, const detail::SampleWeights<T>& w, Rng& rng) {
    const Index n = x.size();
    const auto original = [&](Index r) { return RowVector<T>(x.x.row(r)); };
    if (ranks.size() == 1) return original(w.uniform() ? random::categorical(rng, Vector<T>::Ones(n)) : random::categorical(rng, w.given()));
    return detail::draw_row<T>(ranks, rng, w.uniform() ? Vector<T>(Vector<T>::Ones(n)) : Vector<T>(w.given()), original, x.x.cols());
  }
  // k-means++ on the centred data of every rank: the K rows chosen (K x D, in the data's coordinates), in order.
  // On one rank the draws are random::categorical's over the rows; on several, detail::draw_row's (the same
  // rows up to rounding), one potential sum per candidate and one row per draw exchanged.
  static Matrix<T> plus_plus(const Collective& ranks, const Centred& x, const detail::SampleWeights<T>& w, Index k, Rng& rng) {
    const Index n = x.size(), d = x.x.cols();
    const bool one = ranks.size() == 1;
    Matrix<T> chosen(k, d);
    const auto original = [&](Index r) { return RowVector<T>(x.x.row(r)); };
    const auto draw_by_weight = [&] { return draw_weighted_row(ranks, x, w, rng); };
    const detail::Chunks chunks = block_chunks(n);
    // each row's squared distance to its nearest centre so far: the only N-vector of the seeding
    Vector<T> closest(n);
    const auto draw_by_potential = [&]() -> RowVector<T> {
      if (one) return original(w.uniform() ? random::categorical(rng, closest) : random::categorical(rng, w.given().cwiseProduct(closest)));
      return detail::draw_row<T>(ranks, rng, w.uniform() ? closest : Vector<T>(w.given().cwiseProduct(closest)), original, d);
    };
    const auto centre_of = [&](const RowVector<T>& row) { return Vector<T>((row - x.shift).transpose()); };
    chosen.row(0) = draw_by_weight();
    {
      const RowVector<T> first = chosen.row(0);
      const Vector<T> centre = centre_of(first);
      const T rn = centre.squaredNorm();
      detail::parallel_chunks(chunks, [&](Index, Index b, Index e) { distances_to_row(x, b, e - b, first, centre, rn, closest.segment(b, e - b)); });
    }
    const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
    std::vector<RowVector<T>> candidates(static_cast<std::size_t>(trials));
    Vector<T> potentials(trials);
    for (Index c = 1; c < k; ++c) {
      // rows are drawn with mass w_n * closest_n
      const T mass = detail::all_sum(ranks, n == 0 ? T(0) : (w.uniform() ? closest.sum() : w.given().dot(closest)));
      const bool degenerate = !(mass > T(0));
      for (auto& candidate : candidates) candidate = degenerate ? draw_by_weight() : draw_by_potential();
      for (int t = 0; t < trials; ++t) {
        const RowVector<T>& candidate = candidates[static_cast<std::size_t>(t)];
        const Vector<T> centre = centre_of(candidate);
        const T rn = centre.squaredNorm();
        // the potential sum_n w_n min(closest_n, d_n) in chunks fixed by N, combined in chunk order
        potentials(t) = detail::parallel_sum(chunks, T(0), [&](Index, Index b, Index e, T& out) {
          Vector<T> db(e - b);
          distances_to_row(x, b, e - b, candidate, centre, rn, db);
          db = closest.segment(b, e - b).cwiseMin(db);
          out = w.uniform() ? db.sum() : w.given().segment(b, e - b).dot(db);
        });
      }
      detail::all_sum(ranks, potentials);
      T best_potential = std::numeric_limits<T>::infinity();
      int best_index = 0;
      for (int t = 0; t < trials; ++t)
        if (potentials(t) < best_potential) {
          best_potential = potentials(t);
          best_index = t;
        }
      const RowVector<T> best = candidates[static_cast<std::size_t>(best_index)];
      const Vector<T> centre = centre_of(best);
      const T rn = centre.squaredNorm();
      detail::parallel_chunks(chunks, [&](Index, Index b, Index e) {
        Vector<T> db(e - b);
        distances_to_row(x, b, e - b, best, centre, rn, db);
        closest.segment(b, e - b) = closest.segment(b, e - b).cwiseMin(db);
      });
      chosen.row(c) = best;
    }
    return chosen;
  }

  // k-means|| (Bahmani et al. 2012, algorithm 2) on the centred data of every rank: the K starting rows
  // (K x D, in the data's coordinates). `offset` is this rank's first row among all ranks' rows: a row is kept
  // in a pass when a uniform hashed from (one draw of rng, its position) falls below its probability, so the
  // kept rows do not depend on how the rows are sharded. The kept rows (about 2K per pass, gathered on every
  // rank) are weighted by the weight of the rows nearest to them and reduced to K by a one-process KMeans
  // (k-means++, then Lloyd) drawing from rng: the same on every rank.
  Matrix<T> parallel_seeds(const Collective& ranks, const Centred& x, const detail::SampleWeights<T>& w, Index offset, Rng& rng) const;

 public:

  /// Writes the fitted centres and the options to `path` (model type "KMeans"; format in serialization/model_file.hpp).
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    require_fitted("KMeans::save");
    io::save_model(*this, path, format, "KMeans::save");
  }
  /// A model saved by save(): the same centres (bit for bit), so predict() agrees exactly.
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static KMeans load(const std::filesystem::path& path) { return io::load_model<KMeans>(path, "KMeans::load"); }
  static constexpr const char* model_name = "KMeans";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  // The fitted state a model file holds (serialization/state.hpp): save() and load() both run this.
  template <class Self, class Archive> static void state(Self& self, Archive& a) { a.matrix("centres", self.centres_, self.options_.clusters, io::any); }

  // One fused Lloyd iteration over blocks of rows that stay in cache: distances (one small GEMM per
  // block), assignment, and the weighted sums of the new centres, without an N x K intermediate.
  // Returns the new centres (no labels are kept). A row whose nearest expanded distance lost its digits to
  // cancellation is reassigned from exact differences.
  // Sharded: the sums and masses are summed over the ranks; an emptied cluster takes the farthest row of all ranks.
  static Matrix<T> lloyd_step(const Collective& ranks, const Centred& x, const detail::SampleWeights<T>& w, const Matrix<T>& centres) {
    const Index n = x.size(), d = x.x.cols(), k = centres.rows();
    constexpr Index block = 256;
    // Rows go in chunks of 64 blocks, each with its own partial sums, combined in chunk order: the same
    // result for any thread count (core/parallel.hpp).
    constexpr Index chunk_rows = 64 * block;
    const Index chunks = (n + chunk_rows - 1) / chunk_rows;
    const Matrix<T> scaled = T(-2) * centres.transpose();  // D x K
    const RowVector<T> centre_norms = centres.rowwise().squaredNorm();
    std::vector<Matrix<T>> chunk_sums(static_cast<std::size_t>(chunks), Matrix<T>::Zero(k, d));
    std::vector<Vector<T>> chunk_mass(static_cast<std::size_t>(chunks), Vector<T>::Zero(k));
    const T tau = detail::cancellation_fraction<T>();
    detail::parallel_for(chunks, [&](Index ch) {
      Matrix<T> dist(block, k);
      Vector<T> best(block), index(block), row_norms(block);
      Matrix<T>& sums = chunk_sums[static_cast<std::size_t>(ch)];
      Vector<T>& mass = chunk_mass[static_cast<std::size_t>(ch)];
      for (Index start = ch * chunk_rows; start < std::min(n, (ch + 1) * chunk_rows); start += block) {
        const Index m = std::min(block, n - start);
        const Matrix<T> xb = x.rows(start, m);
        row_norms.head(m) = xb.rowwise().squaredNorm();
        auto db = dist.topRows(m);
        db.noalias() = xb * scaled;
        db.rowwise() += centre_norms;
        // argmin over the K columns with raw column pointers (contiguous, branch-free blends)
        T* b = best.data();
        T* idx = index.data();
        const T* d0 = dist.data();
        for (Index i = 0; i < m; ++i) {
          b[i] = d0[i];
          idx[i] = T(0);
        }
        for (Index c = 1; c < k; ++c) {
          const T* dc = dist.data() + c * block;
          const T label = T(c);
          for (Index i = 0; i < m; ++i) {
            const bool closer = dc[i] < b[i];
            b[i] = closer ? dc[i] : b[i];
            idx[i] = closer ? label : idx[i];
          }
        }
        for (Index i = 0; i < m; ++i) {
          Index c = static_cast<Index>(idx[i]);
          if (!(b[i] + row_norms(i) >= tau * (row_norms(i) + centre_norms(c)))) {
            T nearest = std::numeric_limits<T>::infinity();
            for (Index j = 0; j < k; ++j) {
              const T dj = (xb.row(i) - centres.row(j)).squaredNorm();
              if (dj < nearest) {
                nearest = dj;
                c = j;
              }
            }
            idx[i] = T(c);
          }
          mass(c) += w(start + i);
        }
        // weighted sums of the new centres, column by column while the block is in cache (the weights'
        // branch taken once per block, not per entry)
        const T* wb = w.uniform() ? nullptr : w.given().data() + start;
        for (Index j = 0; j < d; ++j) {
          const T* xj = &xb.coeffRef(0, j);
          T* sj = sums.data() + j * k;
          if (wb == nullptr)
            for (Index i = 0; i < m; ++i) sj[static_cast<Index>(idx[i])] += xj[i];
          else
            for (Index i = 0; i < m; ++i) sj[static_cast<Index>(idx[i])] += wb[i] * xj[i];
        }
      }
    });
    Matrix<T> sums = Matrix<T>::Zero(k, d);
    Vector<T> mass = Vector<T>::Zero(k);
    for (std::size_t ch = 0; ch < chunk_sums.size(); ++ch) {
      sums += chunk_sums[ch];
      mass += chunk_mass[ch];
    }
    detail::all_sum(ranks, sums);
    detail::all_sum(ranks, mass);
    Matrix<T> out = centres;
    Vector<T> far;
    for (Index c = 0; c < k; ++c) {
      if (mass(c) > T(0)) {
        out.row(c) = sums.row(c) / mass(c);
      } else {  // empty cluster: move it to the row farthest from its centre (scikit-learn's relocation)
        if (far.size() == 0) {  // (an N-vector only while a cluster is empty)
          far.resize(n);
          detail::parallel_chunks(block_chunks(n), [&](Index, Index b, Index e) {
            const Matrix<T> xb = x.rows(b, e - b);
            far.segment(b, e - b) = squared_distances(xb, xb.rowwise().squaredNorm(), centres).rowwise().minCoeff();
          });
        }
        Index farthest = -1;
        if (ranks.size() == 1) {
          far.maxCoeff(&farthest);
          out.row(c) = x.row(farthest);  // (centred)
          far(farthest) = -T(1);
        } else {  // the first of the ranks' farthest rows (the first largest entry, as on one rank)
          std::vector<double> tops(static_cast<std::size_t>(ranks.size()), -std::numeric_limits<double>::infinity());
          if (n > 0) tops[static_cast<std::size_t>(ranks.rank())] = double(far.maxCoeff(&farthest));
          ranks.max(tops.data(), tops.size());
          const int owner = static_cast<int>(std::max_element(tops.begin(), tops.end()) - tops.begin());
          RowVector<T> row = RowVector<T>::Zero(d);
          if (owner == ranks.rank() && farthest >= 0) {
            row = x.row(farthest);
            far(farthest) = -T(1);
          }
          detail::all_sum(ranks, row);
          out.row(c) = row;
        }
      }
    }
    return out;
  }

  // Squared distances ||x||^2 - 2 x c^T + ||c||^2 (N x K); may be slightly negative from rounding.
  static Matrix<T> squared_distances(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Matrix<T>& centres) {
    Matrix<T> d = T(-2) * (x * centres.transpose());
    d.colwise() += row_norms;
    d.rowwise() += centres.rowwise().squaredNorm().transpose();
    return d;
  }
  // Labels of the nearest centres (x and centres about a common shift); rows whose nearest expanded
  // distance lost its digits are recomputed exactly.
  static void assign(const Centred& x, const Matrix<T>& centres, IntVector& labels) {
    labels.resize(x.size());
    detail::parallel_chunks(detail::split_rows(x.size(), 4096, Index(1) << 20), [&](Index, Index b, Index e) {
      IntVector part;
      const Matrix<T> xb = x.rows(b, e - b);
      assign_rows(xb, xb.rowwise().squaredNorm(), centres, part);
      labels.segment(b, e - b) = part;
    });
  }
  static void assign_rows(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Matrix<T>& centres, IntVector& labels) {
    Matrix<T> d = squared_distances(x, row_norms, centres);
    const RowVector<T> centre_norms = centres.rowwise().squaredNorm().transpose();
    const T tau = detail::cancellation_fraction<T>();
    for (Index i = 0; i < d.rows(); ++i) {
      Index c;
      const T nearest = d.row(i).minCoeff(&c);
      if (!(nearest >= tau * (row_norms(i) + centre_norms(c))))
        for (Index j = 0; j < d.cols(); ++j) d(i, j) = (x.row(i) - centres.row(j)).squaredNorm();
    }
    // argmin over the columns, sweeping whole columns: contiguous, branch-free (vectorised blends)
    const Index n = x.rows();
    Vector<T> best = d.col(0), index = Vector<T>::Zero(n);
    T* b = best.data();
    T* idx = index.data();
    for (Index c = 1; c < d.cols(); ++c) {
      const T* dc = d.col(c).data();
      const T label = T(c);
      for (Index i = 0; i < n; ++i) {
        const bool closer = dc[i] < b[i];
        b[i] = closer ? dc[i] : b[i];
        idx[i] = closer ? label : idx[i];
      }
    }
    labels = index.template cast<long>();
  }
  // assign() for data in the original coordinates: both sides shifted by the centres' mean.
  void assign_shifted(const MatrixCRef<T>& x, IntVector& labels) const {
    const RowVector<T> shift = centres_.colwise().mean();
    const Centred xs{x, shift};
    assign(xs, Matrix<T>(centres_.rowwise() - shift), labels);
  }
  // sum_n w_n ||x_n - c_{label n}||^2 from exact differences, column by column (contiguous).
  // (in row chunks fixed by N, summed in chunk order: no N-vector, the same bits for any thread count)
  static T exact_inertia(const MatrixCRef<T>& x, const detail::SampleWeights<T>& w, const Matrix<T>& centres, const IntVector& labels) {
    return detail::parallel_sum(detail::split_rows(x.rows(), 8192, 64), T(0), [&](Index, Index b, Index e, T& out) {
      const Vector<T> dist = exact_squared_distances(x.middleRows(b, e - b), centres, labels.segment(b, e - b));
      out = w.uniform() ? dist.sum() : w.given().segment(b, e - b).dot(dist);
    });
  }
  // ||x_n - c_{label n}||^2 for each row, from exact differences, column by column (contiguous).
  static Vector<T> exact_squared_distances(const MatrixCRef<T>& x, const Matrix<T>& centres, const IntVectorCRef& labels) {
    Vector<T> acc = Vector<T>::Zero(x.rows());
    detail::parallel_chunks(detail::split_rows(x.rows(), 8192, Index(1) << 20), [&](Index, Index b, Index e) {
      for (Index j = 0; j < x.cols(); ++j)
        for (Index i = b; i < e; ++i) {
          const T diff = x(i, j) - centres(labels(i), j);
          acc(i) += diff * diff;
        }
    });
    return acc;
  }
  void require_fitted(const char* function) const {
    if (centres_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
  }

  Options options_;
  Matrix<T> centres_;
  IntVector labels_;
  T inertia_ = 0;
  int iterations_ = 0;
  bool converged_ = false;
};

// KMeans's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto KMeans<T>::fit(const Collective& ranks, const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights) -> KMeans& PML_RANKS_TRY {
    const char* f = "KMeans::fit";
    const Index k = options_.clusters;
    const bool given = options_.centres_init.size() > 0;
    const bool one = ranks.size() == 1;
    Index n = x.rows(), offset = 0;  // rows in all; this rank's first row among them
    std::optional<detail::SampleWeights<T>> w_;
    if (one) {
      // the given weights are used in place; without them, no N-vector of ones (issue 17 §3)
      w_.emplace(f, weights, x.rows(), 1);  // (per-row access only: no block of ones)
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
      w_.emplace(weights, x.rows(), 1, total);
    }
    const detail::SampleWeights<T>& w = *w_;
    const Index d = detail::shared_columns(ranks, f, x.rows(), x.cols());
    if (n < k)
      detail::throw_shape(f, "needs at least clusters = " + std::to_string(k) + " rows, got " + std::to_string(n));
    if (one) check_all_finite(f, "x", x);
    if (given) {
      check_size(f, "centres_init", options_.centres_init.rows(), k, "rows");
      check_size(f, "centres_init", options_.centres_init.cols(), d, "columns");
      check_all_finite(f, "centres_init", options_.centres_init);
    }
    // an empty shard of another width is seen as 0 x D
    const Matrix<T> no_rows(0, d);
    const MatrixCRef<T> xs = x.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(x);
    // everything runs on the centred data: cancellation-free expansions, no overflow of |x|^2 far from 0.
    // Each block of rows is centred as it is read, and its squared norms computed there (no centred copy of
    // the data, no N-vector of norms).
    const RowVector<T> shift = detail::column_means<T>(ranks, xs, n);
    detail::check_spread<T>(f, T(detail::all_max(ranks, double(detail::largest_deviation<T>(xs, shift)))), double(n) * double(d));
    const Centred xc{xs, shift};
    Vector<T> column_squares(d);
    for (Index j = 0; j < d; ++j) column_squares(j) = (xs.col(j).array() - shift(j)).square().sum();
    detail::all_sum(ranks, column_squares);
    T mean_variance = 0;
    for (Index j = 0; j < d; ++j) mean_variance += column_squares(j) / T(n);
    mean_variance /= T(d);
    const T tol = options_.tolerance * mean_variance;
    T best = std::numeric_limits<T>::infinity();
    bool have_best = false;
    for (int start = 0; start < (given ? 1 : options_.restarts); ++start) {
      Matrix<T> centres = given ? Matrix<T>(options_.centres_init.rowwise() - shift)
                                : Matrix<T>((options_.init == KMeansInit::k_means_parallel ? parallel_seeds(ranks, xc, w, offset, rng)
                                                                                          : plus_plus(ranks, xc, w, options_.clusters, rng))
                                                .rowwise() -
                                            shift);
      int it = 0;
      bool converged = false;
      for (; it < options_.max_iterations; ++it) {
        Matrix<T> updated = lloyd_step(ranks, xc, w, centres);
        const T moved = (updated - centres).squaredNorm();
        centres.swap(updated);
        if (moved <= tol) {
          converged = true;
          ++it;
          break;
        }
      }
      // the labels of a start that does not win are dropped (at most two N-vectors of labels: the best start's and this one's)
      const Matrix<T> returned = centres.rowwise() + shift;
      IntVector labels;
      assign(xc, centres, labels);
      // of the returned labels and centres, from exact differences
      const T inertia = detail::all_sum(ranks, xs.rows() == 0 ? T(0) : exact_inertia(xs, w, returned, labels));
      // the first start always counts: an inertia that is not a number can never leave the labels empty
      if (!have_best || inertia < best) {
        have_best = true;
        best = inertia;
        centres_ = returned;
        labels_ = std::move(labels);
        inertia_ = inertia;
        iterations_ = it;
        converged_ = converged;
      }
    }
    return *this;
  } PML_RANKS_CATCH(ranks, "KMeans::fit")

template <Real T>
auto KMeans<T>::transform(const MatrixCRef<T>& x) const -> Matrix<T> {
    require_fitted("KMeans::transform");
    check_size("KMeans::transform", "x", x.cols(), centres_.cols(), "columns");
    const RowVector<T> shift = centres_.colwise().mean();
    const Matrix<T> xs = x.rowwise() - shift;
    const Matrix<T> cs = centres_.rowwise() - shift;
    const Vector<T> row_norms = xs.rowwise().squaredNorm();
    Matrix<T> d = squared_distances(xs, row_norms, cs);
    detail::refine_squared_distances<T>(xs, row_norms, cs, cs.rowwise().squaredNorm().transpose(), d);
    return d.cwiseMax(T(0));
  }

template <Real T>
auto KMeans<T>::score(const MatrixCRef<T>& x) const -> T {
    require_fitted("KMeans::score");
    check_size("KMeans::score", "x", x.cols(), centres_.cols(), "columns");
    if (x.rows() == 0) pml::detail::throw_shape("KMeans::score", "x has no rows");
    IntVector labels;
    assign_shifted(x, labels);
    return -exact_squared_distances(x, centres_, labels).mean();
  }

template <Real T>
auto KMeans<T>::inertia(const MatrixCRef<T>& x) const -> T {
    require_fitted("KMeans::inertia");
    check_size("KMeans::inertia", "x", x.cols(), centres_.cols(), "columns");
    IntVector labels;
    assign_shifted(x, labels);
    if (x.rows() == 0) return T(0);  // the empty sum
    return exact_inertia(x, detail::SampleWeights<T>("KMeans::inertia", detail::no_weights<T>(), x.rows(), 1), centres_, labels);
  }

template <Real T>
auto KMeans<T>::parallel_seeds(const Collective& ranks, const Centred& x, const detail::SampleWeights<T>& w, Index offset, Rng& rng) const -> Matrix<T> {
    const Index n = x.size(), d = x.x.cols(), k = options_.clusters;
    const T oversampling = T(2 * k);
    const detail::Chunks chunks = block_chunks(n);
    const auto original = [&](Index r) { return RowVector<T>(x.x.row(r)); };
    // the first row: drawn in proportion to the weights
    Matrix<T> kept = draw_weighted_row(ranks, x, w, rng);
    // each row's squared distance to its nearest kept row (one N-vector), updated with each pass's rows
    Vector<T> closest = Vector<T>::Constant(n, std::numeric_limits<T>::infinity());
    const auto nearer = [&](const Matrix<T>& rows, Index b, Index e, Vector<T>* nearest_to, IntVector* which) {
      const Matrix<T> xb = x.rows(b, e - b);
      const Vector<T> norms = xb.rowwise().squaredNorm();
      const Matrix<T> cs = rows.rowwise() - x.shift;
      Matrix<T> dist = squared_distances(xb, norms, cs);
      detail::refine_squared_distances<T>(xb, norms, cs, cs.rowwise().squaredNorm().transpose(), dist);
      for (Index i = 0; i < e - b; ++i) {
        Index c;
        const T best = std::max(dist.row(i).minCoeff(&c), T(0));
        if (nearest_to) (*nearest_to)(b + i) = std::min((*nearest_to)(b + i), best);
        if (which) (*which)(b + i) = c;
      }
    };
    Matrix<T> fresh = kept;
    for (int step = 0; step < options_.init_steps; ++step) {
      if (fresh.rows() > 0)  // (a pass may keep no row: about e^-2K of them do)
        detail::parallel_chunks(chunks, [&](Index, Index b, Index e) { nearer(fresh, b, e, &closest, nullptr); });
      const T phi = detail::all_sum(ranks, n == 0 ? T(0) : (w.uniform() ? closest.sum() : w.given().dot(closest)));
      if (!(phi > T(0))) break;  // every row sits on a kept row
      const std::uint64_t key = rng();
      std::vector<char> keep(static_cast<std::size_t>(n), 0);
      detail::parallel_chunks(chunks, [&](Index, Index b, Index e) {
        for (Index i = b; i < e; ++i)
          keep[static_cast<std::size_t>(i)] = detail::hashed_uniform<T>(key, std::uint64_t(offset + i)) < oversampling * w(i) * closest(i) / phi;
      });
      std::vector<Index> mine;
      for (Index i = 0; i < n; ++i)
        if (keep[static_cast<std::size_t>(i)]) mine.push_back(i);
      // every rank's kept rows, in rank order
      const std::vector<Index> counts = detail::all_counts(ranks, Index(mine.size()));
      Index total = 0, before = 0;
      for (int r = 0; r < ranks.size(); ++r) {
        if (r == ranks.rank()) before = total;
        total += counts[static_cast<std::size_t>(r)];
      }
      fresh = Matrix<T>::Zero(total, d);
      for (std::size_t c = 0; c < mine.size(); ++c) fresh.row(before + Index(c)) = original(mine[c]);
      detail::all_sum(ranks, fresh);
      if (total == 0) continue;
      Matrix<T> grown(kept.rows() + total, d);
      grown << kept, fresh;
      kept.swap(grown);
    }
    // the weight of the rows nearest to each kept row
    IntVector which(n);
    detail::parallel_chunks(chunks, [&](Index, Index b, Index e) { nearer(kept, b, e, nullptr, &which); });
    Vector<T> mass = Vector<T>::Zero(kept.rows());
    for (Index i = 0; i < n; ++i) mass(which(i)) += w(i);
    detail::all_sum(ranks, mass);
    if ((mass.array() > T(0)).count() < k)  // fewer kept rows nearest to some row than clusters (few distinct
      return plus_plus(ranks, x, w, k, rng);  // rows, heavy duplicates): k-means++ over all rows instead
    KMeans<T> reduce({.clusters = k, .restarts = 1, .max_iterations = options_.max_iterations, .tolerance = options_.tolerance});
    reduce.fit(kept, rng, mass);
    return reduce.centres();
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::KMeans)
