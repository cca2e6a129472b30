#pragma once
/// @file
/// k-means clustering: k-means++ seeding, Lloyd iterations written as matrix products, restarts.

#include <cmath>
#include <limits>

#include "pml/core/check.hpp"
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
  using Options = KMeansOptions<T>;
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
        inertia = assign(x, row_norms, w, centres, labels);
        Matrix<T> updated = weighted_means(x, w, labels, centres, row_norms);
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
    return squared_distances(x, x.rowwise().squaredNorm(), centres_);
  }
  /// Weighted inertia of `x` under the fitted centres.
  T score(const MatrixCRef<T>& x) const {
    require_fitted("KMeans::score");
    return squared_distances(x, x.rowwise().squaredNorm(), centres_).rowwise().minCoeff().sum();
  }

  const Matrix<T>& centres() const noexcept { return centres_; }  ///< K x D
  const IntVector& labels() const noexcept { return labels_; }     ///< labels of the training rows
  T inertia() const noexcept { return inertia_; }                  ///< weighted sum of squared distances
  int iterations() const noexcept { return iterations_; }          ///< Lloyd iterations of the best start
  bool converged() const noexcept { return converged_; }
  const Options& options() const noexcept { return options_; }

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

 private:
  Matrix<T> plus_plus(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Vector<T>& w, Rng& rng) const {
    return plus_plus(x, row_norms, w, options_.clusters, rng);
  }
  static Matrix<T> squared_distances(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Matrix<T>& centres) {
    Matrix<T> d = -T(2) * (x * centres.transpose());
    d.colwise() += row_norms;
    d.rowwise() += centres.rowwise().squaredNorm().transpose();
    return d.cwiseMax(T(0));
  }
  static T assign(const MatrixCRef<T>& x, const Vector<T>& row_norms, const Vector<T>& w, const Matrix<T>& centres,
                  IntVector& labels) {
    const Matrix<T> d = squared_distances(x, row_norms, centres);
    labels.resize(x.rows());
    T inertia = 0;
    for (Index i = 0; i < x.rows(); ++i) {
      Index best;
      inertia += w(i) * d.row(i).minCoeff(&best);
      labels(i) = static_cast<long>(best);
    }
    return inertia;
  }
  // Weighted means of the assigned rows; an empty cluster is moved to the row farthest from its
  // centre (scikit-learn's relocation), so no centre is ever NaN.
  static Matrix<T> weighted_means(const MatrixCRef<T>& x, const Vector<T>& w, const IntVector& labels,
                                  const Matrix<T>& centres, const Vector<T>& row_norms) {
    const Index k = centres.rows();
    Matrix<T> sums = Matrix<T>::Zero(k, x.cols());
    Vector<T> mass = Vector<T>::Zero(k);
    for (Index i = 0; i < x.rows(); ++i) mass(labels(i)) += w(i);
    for (Index j = 0; j < x.cols(); ++j)  // column by column: contiguous reads of column-major data
      for (Index i = 0; i < x.rows(); ++i) sums(labels(i), j) += w(i) * x(i, j);
    Matrix<T> out = centres;
    Vector<T> far;
    for (Index c = 0; c < k; ++c) {
      if (mass(c) > T(0)) {
        out.row(c) = sums.row(c) / mass(c);
      } else {
        if (far.size() == 0) far = squared_distances(x, row_norms, centres).rowwise().minCoeff();
        Index farthest;
        far.maxCoeff(&farthest);
        out.row(c) = x.row(farthest);
        far(farthest) = -T(1);  // do not reuse the same row for another empty cluster
      }
    }
    return out;
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
