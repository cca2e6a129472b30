#pragma once
/// @file
/// k-means clustering: k-means++ seeding, Lloyd iterations written as matrix products, restarts.

#include <cmath>
#include <limits>

#include "pml/core/parallel.hpp"
#include "pml/core/check.hpp"
#include "pml/io/model_file.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Options of KMeans (designated initialisers: `KMeans<double>({.clusters = 3})`).
template <Real T = double> struct KMeansOptions {
  Index clusters = 8;        ///< K
  int restarts = 1;          ///< independent k-means++ starts; the lowest inertia wins (sklearn's n_init)
  int max_iterations = 300;  ///< Lloyd iterations per start
  T tolerance = T(1e-4);     ///< stop when the squared centre shift is below tolerance x mean feature variance
  Matrix<T> centres_init{};  ///< optional K x D starting centres (then one start, no k-means++)
};

/// k-means (PRML §9.1): minimises the inertia \f$J = \sum_n w_n \min_k \|x_n - \mu_k\|^2\f$ (PRML 9.1) by
/// Lloyd's alternation of assignments (9.2) and weighted means (9.4), from k-means++ seeds
/// (Arthur & Vassilvitskii 2007; greedy with 2 + ln K trials per centre, as scikit-learn).
/// Distances are computed as \f$\|x\|^2 - 2XC^T + \|c\|^2\f$, one GEMM per iteration.
template <Real T = double> class KMeans {
 public:
  using Options = KMeansOptions<T>;  ///< The options type.
  /// A k-means model with the given options (fit() it next). @throw std::domain_error naming the option whose value is invalid.
  explicit KMeans(const Options& options = {}) : options_(options) {
    if (options.clusters <= 0)
      detail::throw_domain("KMeans", "clusters", "be positive", std::to_string(options.clusters));
    if (options.restarts <= 0)
      detail::throw_domain("KMeans", "restarts", "be positive", std::to_string(options.restarts));
    if (options.max_iterations <= 0)
      detail::throw_domain("KMeans", "max_iterations", "be positive", std::to_string(options.max_iterations));
    check_nonnegative("KMeans", "tolerance", options.tolerance);
  }

  /// Fits the centres to the rows of `x` (N x D), with optional sample weights.
  /// @throw std::invalid_argument for N < K or empty data; std::domain_error for non-finite data.
  KMeans& fit(const MatrixCRef<T>& x, Rng& rng, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Index k = options_.clusters;
    const Vector<T> w = detail::weights_or_ones<T>("KMeans::fit", weights, x.rows());
    if (x.rows() < k)
      detail::throw_shape("KMeans::fit", "needs at least clusters = " + std::to_string(k) + " rows, got " +
                                             std::to_string(x.rows()));
    check_all_finite("KMeans::fit", "x", x);
    const bool given = options_.centres_init.size() > 0;
    if (given) {
      check_size("KMeans::fit", "centres_init", options_.centres_init.rows(), k, "rows");
      check_size("KMeans::fit", "centres_init", options_.centres_init.cols(), x.cols(), "columns");
      check_all_finite("KMeans::fit", "centres_init", options_.centres_init);
    }
    const Vector<T> row_norms = x.rowwise().squaredNorm();
    const T mean_variance = ((x.rowwise() - x.colwise().mean()).array().square().colwise().sum() / T(x.rows())).mean();
    const T tol = options_.tolerance * mean_variance;
    T best = std::numeric_limits<T>::infinity();
    for (int start = 0; start < (given ? 1 : options_.restarts); ++start) {
      Matrix<T> centres = given ? options_.centres_init : plus_plus(x, row_norms, w, rng);
      IntVector labels;
      T inertia = 0;
      int it = 0;
      bool converged = false;
      for (; it < options_.max_iterations; ++it) {
        Matrix<T> updated = lloyd_step(x, row_norms, w, centres, labels, inertia);
        const T shift = (updated - centres).squaredNorm();
        centres.swap(updated);
        if (shift <= tol) {
          converged = true;
          ++it;
          break;
        }
      }
      inertia = assign(x, row_norms, w, centres, labels);
      if (inertia < best) {
        best = inertia;
        centres_ = centres;
        labels_ = labels;
        inertia_ = inertia;
        iterations_ = it;
        converged_ = converged;
      }
    }
    return *this;
  }
  /// fit() with a generator seeded from `seed`.
  KMeans& fit(const MatrixCRef<T>& x, std::uint64_t seed = 0, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    Rng rng(seed);
    return fit(x, rng, weights);
  }

  /// Index of the nearest centre for each row. @throw std::logic_error before fit().
  IntVector predict(const MatrixCRef<T>& x) const {
    require_fitted("KMeans::predict");
    check_size("KMeans::predict", "x", x.cols(), centres_.cols(), "columns");
    IntVector labels;
    assign(x, x.rowwise().squaredNorm(), Vector<T>::Ones(x.rows()), centres_, labels);
    return labels;
  }
  /// Squared distances to every centre (N x K).
  Matrix<T> transform(const MatrixCRef<T>& x) const {
    require_fitted("KMeans::transform");
    check_size("KMeans::transform", "x", x.cols(), centres_.cols(), "columns");
    return squared_distances(x, x.rowwise().squaredNorm(), centres_).cwiseMax(T(0));
  }
  /// Weighted inertia of `x` under the fitted centres.
  T score(const MatrixCRef<T>& x) const {
    require_fitted("KMeans::score");
    return squared_distances(x, x.rowwise().squaredNorm(), centres_).cwiseMax(T(0)).rowwise().minCoeff().sum();
  }

  const Matrix<T>& centres() const noexcept { return centres_; }  ///< K x D
  const IntVector& labels() const noexcept { return labels_; }     ///< labels of the training rows
  T inertia() const noexcept { return inertia_; }                  ///< weighted sum of squared distances
  int iterations() const noexcept { return iterations_; }          ///< Lloyd iterations of the best start
  bool converged() const noexcept { return converged_; }  ///< Whether the last fit() stopped because no centre moved more than the tolerance.
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

  /// k-means++ seeding (greedy, 2 + ln K candidates per centre); exposed for GaussianMixture.
  static Matrix<T> plus_plus(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Vector<T>& w, Index k, Rng& rng) {
    Matrix<T> centres(k, x.cols());
    Index first = random::categorical(rng, w);
    centres.row(0) = x.row(first);
    Vector<T> closest = ((row_norms.array() - T(2) * (x * x.row(first).transpose()).array() + row_norms(first)).max(T(0))).matrix();
    const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
    for (Index c = 1; c < k; ++c) {
      T best_potential = std::numeric_limits<T>::infinity();
      Vector<T> best_closest;
      Index best_index = 0;
      const Vector<T> mass = w.cwiseProduct(closest);
      const bool degenerate = !(mass.sum() > T(0));
      for (int t = 0; t < trials; ++t) {
        const Index candidate = degenerate ? random::categorical(rng, w) : random::categorical(rng, mass);
        const Vector<T> d = ((row_norms.array() - T(2) * (x * x.row(candidate).transpose()).array() + row_norms(candidate))
                                 .max(T(0)))
                                .matrix();
        const Vector<T> candidate_closest = closest.cwiseMin(d);
        const T potential = w.dot(candidate_closest);
        if (potential < best_potential) {
          best_potential = potential;
          best_closest = candidate_closest;
          best_index = candidate;
        }
      }
      centres.row(c) = x.row(best_index);
      closest = best_closest;
    }
    return centres;
  }

  /// Writes the fitted centres and the options to `path` (model type "KMeans"; format in io/model_file.hpp).
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    require_fitted("KMeans::save");
    const std::string options = io::OptionsWriter()
                                    .add("clusters", options_.clusters)
                                    .add("restarts", options_.restarts)
                                    .add("max_iterations", options_.max_iterations)
                                    .add("tolerance", double(options_.tolerance))
                                    .str();
    io::write_model_file<T>(path, {{"centres", centres_}}, format, {"KMeans", options}, "KMeans::save");
  }
  /// A model saved by save(): the same centres (bit for bit), so predict() agrees exactly.
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static KMeans load(const std::filesystem::path& path) {
    constexpr const char* function = "KMeans::load";
    const io::ModelFile<T> file = io::read_model_file<T>(path, function);
    io::require_model(file, "KMeans", path, function);
    const io::OptionsReader r(file, path, function);
    Options o;
    o.clusters = r.size("clusters");
    o.restarts = r.number<int>("restarts");
    o.max_iterations = r.number<int>("max_iterations");
    o.tolerance = r.number<T>("tolerance");
    KMeans km = io::construct_model<KMeans>(o, path, function);
    km.centres_ = io::matrix(file, "centres", o.clusters, -1, path, function);
    return km;
  }

 private:
  Matrix<T> plus_plus(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Vector<T>& w, Rng& rng) const {
    return plus_plus(x, row_norms, w, options_.clusters, rng);
  }
  // One fused Lloyd iteration over blocks of rows that stay in cache: distances (one small GEMM per
  // block), assignment, and the weighted sums of the new centres, without an N x K intermediate.
  // Returns the new centres; `labels` and `inertia` describe the assignment to the old ones.
  static Matrix<T> lloyd_step(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Vector<T>& w,
                              const Matrix<T>& centres, IntVector& labels, T& inertia) {
    const Index n = x.rows(), d = x.cols(), k = centres.rows();
    constexpr Index block = 256;
    // Rows go in chunks of 64 blocks, each with its own partial sums, combined in chunk order: the same
    // result with OpenMP on (chunks run in parallel) or off, for any thread count.
    constexpr Index chunk_rows = 64 * block;
    const Index chunks = (n + chunk_rows - 1) / chunk_rows;
    const Matrix<T> scaled = T(-2) * centres.transpose();  // D x K
    const RowVector<T> centre_norms = centres.rowwise().squaredNorm();
    std::vector<Matrix<T>> chunk_sums(static_cast<std::size_t>(chunks), Matrix<T>::Zero(k, d));
    std::vector<Vector<T>> chunk_mass(static_cast<std::size_t>(chunks), Vector<T>::Zero(k));
    std::vector<T> chunk_inertia(static_cast<std::size_t>(chunks), T(0));
    labels.resize(n);
    PML_PARALLEL_FOR
    for (Index ch = 0; ch < chunks; ++ch) {
      Matrix<T> dist(block, k);
      Vector<T> best(block), index(block);
      Matrix<T>& sums = chunk_sums[static_cast<std::size_t>(ch)];
      Vector<T>& mass = chunk_mass[static_cast<std::size_t>(ch)];
      T part = 0;
      for (Index start = ch * chunk_rows; start < std::min(n, (ch + 1) * chunk_rows); start += block) {
        const Index m = std::min(block, n - start);
        auto xb = x.middleRows(start, m);
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
          const Index c = static_cast<Index>(idx[i]);
          labels(start + i) = static_cast<long>(c);
          mass(c) += w(start + i);
          part += w(start + i) * std::max(T(0), b[i] + row_norms(start + i));
        }
        // weighted sums of the new centres, column by column while the block is in cache
        for (Index j = 0; j < d; ++j) {
          const T* xj = &xb.coeffRef(0, j);
          T* sj = sums.data() + j * k;
          for (Index i = 0; i < m; ++i) sj[static_cast<Index>(idx[i])] += w(start + i) * xj[i];
        }
      }
      chunk_inertia[static_cast<std::size_t>(ch)] = part;
    }
    Matrix<T> sums = Matrix<T>::Zero(k, d);
    Vector<T> mass = Vector<T>::Zero(k);
    inertia = 0;
    for (std::size_t ch = 0; ch < chunk_sums.size(); ++ch) {
      sums += chunk_sums[ch];
      mass += chunk_mass[ch];
      inertia += chunk_inertia[ch];
    }
    Matrix<T> out = centres;
    Vector<T> far;
    for (Index c = 0; c < k; ++c) {
      if (mass(c) > T(0)) {
        out.row(c) = sums.row(c) / mass(c);
      } else {  // empty cluster: move it to the row farthest from its centre (scikit-learn's relocation)
        if (far.size() == 0) far = squared_distances(x, row_norms, centres).rowwise().minCoeff();
        Index farthest;
        far.maxCoeff(&farthest);
        out.row(c) = x.row(farthest);
        far(farthest) = -T(1);
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
  static T assign(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Vector<T>& w, const Matrix<T>& centres,
                  IntVector& labels) {
    const Matrix<T> d = squared_distances(x, row_norms, centres);
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
    return w.dot(best.cwiseMax(T(0)));  // rounding can make a tiny distance negative
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

}  // namespace pml
