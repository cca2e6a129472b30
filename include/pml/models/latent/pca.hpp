#pragma once
/// @file
/// Principal component analysis.

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <cmath>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include "pml/core/check.hpp"
#include "pml/core/collective.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/parallel.hpp"
#include "pml/serialization/state.hpp"
#include "pml/core/types.hpp"

namespace pml {
namespace detail {

/// Mean and the eigen-decomposition of the sample covariance (divided by N - ddof), eigenvalues in
/// decreasing order. For N >= D the covariance is one symmetric rank-N update (SYRK) of the centred data
/// over blocks of rows; for N < D the N x N Gram matrix of the centred data is decomposed instead (its
/// nonzero eigenvalues are the covariance's, the eigenvectors \f$u = Z^Tv/\sqrt{(N-ddof)\lambda}\f$), so wide
/// data cost O(N^2 D), never a D x D matrix.
template <Real T> struct CovarianceEigen {
  Vector<T> mean;
  Vector<T> eigenvalues;   ///< decreasing, all D of them (for N < D the trailing D - N + 1 or so are 0)
  Matrix<T> eigenvectors;  ///< columns, matching eigenvalues: D of them for N >= D, otherwise max(N, min_columns)
};

/// On rows spread over processes (`ranks`; this rank's shard `x_rows`, N_r x D, N_r = 0 allowed): the scatter
/// is summed over the ranks (D^2 numbers, after the column means), so the D x D side is decomposed whatever N
/// (the N x N side needs the rows in one place); on one rank, the single-process function. @throw as it, on every rank.
template <Real T>
CovarianceEigen<T> covariance_eigen(const Collective& ranks, const char* function, const MatrixCRef<T>& x_rows, int ddof,
                                    Index min_columns = 0) {
  const bool one = ranks.size() == 1;
  Index n = x_rows.rows();
  if (one) check_nonempty(function, "x", n);
  agree(ranks, [&] { check_all_finite(function, "x", x_rows); });
  if (!one) {
    n = 0;
    for (const Index c : all_counts(ranks, x_rows.rows())) n += c;
    check_nonempty(function, "x", n);
  }
  if (n <= ddof)
    throw_shape(function, "x must have more than " + std::to_string(ddof) + (ddof == 1 ? " row" : " rows") + ", got " +
                              std::to_string(n));
  const Index d = shared_columns(ranks, function, x_rows.rows(), x_rows.cols());
  const Matrix<T> no_rows(0, d);  // an empty shard of another width is seen as 0 x D
  const MatrixCRef<T> x = x_rows.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(x_rows);
  CovarianceEigen<T> out;
  const RowVector<T> mean = column_means<T>(ranks, x, n);
  out.mean = mean.transpose();
  if (n < d && one) {
    // the N x N side: G = Z Z^T / (N - ddof) with Z the centred data (refused if its squares overflow)
    const Matrix<T> z = centred_checked<T>(function, x, mean, double(n));
    Matrix<T> gram = z * z.transpose() / T(n - ddof);
    gram = T(0.5) * (gram + gram.transpose());
    Eigen::SelfAdjointEigenSolver<Matrix<T>> eig(gram);
    const Vector<T> lambda = eig.eigenvalues().reverse().cwiseMax(T(0));
    const Matrix<T> v = eig.eigenvectors().rowwise().reverse();
    const Index cols = std::min(d, std::max(n, min_columns));
    out.eigenvalues = Vector<T>::Zero(d);
    out.eigenvalues.head(n) = lambda;
    // eigenvalues at rounding level of the largest have no reliable direction: they are 0, and their
    // columns (with those past N) complete the orthonormal set
    const T floor = lambda(0) * T(n) * std::numeric_limits<T>::epsilon();
    Index rank = 0;
    while (rank < n && lambda(rank) > floor) ++rank;
    out.eigenvalues.segment(rank, n - rank).setZero();
    Matrix<T> u = Matrix<T>::Identity(d, cols);
    for (Index j = 0; j < rank; ++j) {
      u.col(j) = z.transpose() * v.col(j);
      u.col(j).normalize();
    }
    if (rank > 0 && rank < cols) {
      Eigen::HouseholderQR<Matrix<T>> qr(u.leftCols(rank));
      const Matrix<T> q = qr.householderQ() * Matrix<T>::Identity(d, cols);
      u.rightCols(cols - rank) = q.rightCols(cols - rank);
      if (rank > 0) {  // re-orthogonalise the completion against the leading columns (one Gram-Schmidt pass)
        auto rest = u.rightCols(cols - rank);
        rest -= u.leftCols(rank) * (u.leftCols(rank).transpose() * rest);
        for (Index j = 0; j < rest.cols(); ++j) rest.col(j).normalize();
      }
    }
    out.eigenvectors = u;
  } else {
    // the scatter's lower triangle, summed over at most 16 row chunks fixed by N and D (each on its own thread,
    // combined in chunk order: the same bits for any thread count; fewer for wide data, so that the D x D
    // partials stay small next to the data), one rank update per 2048-row block. More chunks or smaller
    // blocks cost more in allocation than in arithmetic: 49 chunks of 512-row blocks ran 2.4x slower at
    // N = 100 000, D = 256 (each D x D partial and Eigen's packing buffers freed back to the system and
    // faulted in again: docs/architecture.md, "Threads").
    constexpr Index block = 2048;
    Matrix<T> cov = parallel_sum(split_rows(x.rows(), block, std::clamp<Index>(Index(4096) / std::max<Index>(d, 1), 1, 16), block), Matrix<T>(Matrix<T>::Zero(d, d)),
                                 [&](Index, Index begin, Index end, Matrix<T>& part) {
                                   Matrix<T> z;
                                   for (Index start = begin; start < end; start += block) {
                                     const Index m = std::min(block, end - start);
                                     z = x.middleRows(start, m).rowwise() - mean;
                                     part.template selfadjointView<Eigen::Lower>().rankUpdate(z.transpose());
                                   }
                                 });
    all_sum(ranks, cov);
    // sums of squares that overflowed show on the diagonal: only then find the largest deviation to refuse
    if (!(cov.diagonal().array() < std::numeric_limits<T>::max()).all())
      check_spread<T>(function, T(all_max(ranks, x.rows() > 0 ? double((x.rowwise() - mean).cwiseAbs().maxCoeff()) : 0.0)), double(n));
    cov = cov.template selfadjointView<Eigen::Lower>();
    cov /= T(n - ddof);
    Eigen::SelfAdjointEigenSolver<Matrix<T>> eig(cov);
    out.eigenvalues = eig.eigenvalues().reverse().cwiseMax(T(0));
    out.eigenvectors = eig.eigenvectors().rowwise().reverse();
    // eigenvalues at the rounding level of the largest (a constant column, rank-deficient data) are 0
    const T floor = out.eigenvalues(0) * T(d) * std::numeric_limits<T>::epsilon();
    for (Index j = 0; j < d; ++j)
      if (!(out.eigenvalues(j) > floor)) out.eigenvalues(j) = T(0);
  }
  // a deterministic sign: the largest-magnitude entry of each component is positive
  for (Index j = 0; j < out.eigenvectors.cols(); ++j) {
    Index i;
    out.eigenvectors.col(j).cwiseAbs().maxCoeff(&i);
    if (out.eigenvectors(i, j) < T(0)) out.eigenvectors.col(j) *= T(-1);
  }
  return out;
}
/// covariance_eigen() of the rows of `x` in one process.
template <Real T>
CovarianceEigen<T> covariance_eigen(const char* function, const MatrixCRef<T>& x, int ddof, Index min_columns = 0) {
  return covariance_eigen<T>(Collective::single(), function, x, ddof, min_columns);
}

}  // namespace detail

/// Options of PCA.
struct PCAOptions {
  Index components = 0;  ///< M; 0 keeps all D
  bool whiten = false;   ///< scale the projections to unit variance

  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("components", o.components, io::as_size);
    v("whiten", o.whiten);
  }
};

/// Principal component analysis (PRML §12.1): the M leading eigenvectors of the sample covariance
/// \f$S = \frac{1}{N-1}\sum_n(\mathbf x_n-\bar{\mathbf x})(\mathbf x_n-\bar{\mathbf x})^T\f$ (scikit-learn's
/// normalisation). `score` is scikit-learn's PCA.score: the mean log-likelihood under the probabilistic
/// PCA model whose noise variance is the mean of the discarded eigenvalues.
///
/// Degenerate spectra: with N < D the decomposition is that of the N x N Gram matrix of the centred data
/// (cost O(N²D), no D x D matrix); a component whose variance is zero to rounding (at most D·ε times the
/// largest, e.g. along a constant column) is output as 0 by a whitened transform() (and contributes
/// nothing in inverse_transform()), never divided by √0; explained_variance_ratio() of constant data is 0;
/// with every component kept (noise variance 0) score_samples() is the full-rank Gaussian log-density
/// with the N − 1 sample covariance, and throws only when that covariance is singular. Data whose squared
/// deviations from the column means overflow are refused by fit().
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class PCA {
 public:
  using Options = PCAOptions;  ///< The options type (sizes and hyper-parameters, so not templated on the scalar).
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// A PCA with the given options (fit() it next). @throw std::domain_error naming the option whose value is invalid.
  explicit PCA(const PCAOptions& options = {}) : options_(options) {
    if (options.components < 0)
      detail::throw_domain("PCA", "components", "be non-negative", std::to_string(options.components));
  }
  /// @throw std::invalid_argument when components exceeds min(N, D) or for fewer than 2 rows;
  /// std::domain_error for non-finite data or data whose squared deviations from the column means overflow.
  PCA& fit(const MatrixCRef<T>& x) { return fit(Collective::single(), x); }
  /// fit() on rows spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own rows `x` (N_r x D; N_r = 0 allowed, then any width). The ranks exchange the column means
  /// and the D x D scatter once, and every rank ends with the same components, equal to fit() on the stacked
  /// rows up to rounding (bit for bit on one rank; with fewer rows in all than columns, from the D x D
  /// scatter rather than the N x N Gram matrix). @throw as fit(), on every rank.
  PCA& fit(const Collective& ranks, const MatrixCRef<T>& x);
  /// Projections onto the components (N x M), whitened if requested.
  Matrix<T> transform(const MatrixCRef<T>& x) const;
  /// Back to data space (N x D) from projections.
  Matrix<T> inverse_transform(const MatrixCRef<T>& z) const;
  /// Model covariance \f$U_M(\Lambda_M - \sigma^2 I)U_M^T + \sigma^2 I\f$.
  Matrix<T> covariance() const {
    require_fitted("PCA::covariance", mean_.size());
    Matrix<T> c = components_ * (explained_variance_.array() - noise_variance_).matrix().asDiagonal() * components_.transpose();
    c.diagonal().array() += noise_variance_;
    return c;
  }
  /// Log-likelihood of each row under the probabilistic PCA model (scikit-learn's score_samples). With
  /// every one of the D components kept (noise variance 0) the model is the Gaussian with the sample
  /// covariance, \f$\log\mathcal N(x|\bar x, S)\f$, \f$S = U\Lambda U^T\f$ (N − 1 divisor).
  /// @throw std::domain_error when the model covariance is singular (noise variance 0 with fewer than D
  /// components, or a zero eigenvalue: rank-deficient data, N <= D).
  Vector<T> score_samples(const MatrixCRef<T>& x) const {
    require_fitted("PCA::score_samples", x.cols());
    return detail::map_rows<Vector<T>>(x.rows(), [&](Index b, Index m) { return score_rows(x.middleRows(b, m)); });
  }
  /// Mean of score_samples(). @throw std::invalid_argument for x with no rows (score_samples gives an empty vector).
  T score(const MatrixCRef<T>& x) const { return pml::detail::mean_score("PCA::score", score_samples(x)); }

  const Vector<T>& mean() const noexcept { return mean_; }  ///< the data mean that transform() subtracts
  const Matrix<T>& components() const noexcept { return components_; }  ///< D x M, orthonormal columns
  /// variance along each component (descending; N − 1 divisor, as scikit-learn)
  const Vector<T>& explained_variance() const noexcept { return explained_variance_; }
  /// fraction of the total variance along each component (0 for data without variance, never 0/0)
  Vector<T> explained_variance_ratio() const {
    if (!(total_variance_ > T(0))) return Vector<T>::Zero(explained_variance_.size());
    return explained_variance_ / total_variance_;
  }
  T noise_variance() const noexcept { return noise_variance_; }  ///< mean variance of the discarded directions (scikit-learn's noise_variance_)

  const PCAOptions& options() const noexcept { return options_; }  ///< The options the model was built with.

  /// Writes the fitted model and its options to `path` (model type "PCA"; format in serialization/model_file.hpp).
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    if (mean_.size() == 0) throw std::logic_error("PCA::save: the model is not fitted; call fit() first");
    io::save_model(*this, path, format, "PCA::save");
  }
  /// A model saved by save() (bit-identical transforms). @throw std::runtime_error naming the path for a
  /// missing, truncated, corrupt or wrong-type file.
  static PCA load(const std::filesystem::path& path) { return io::load_model<PCA>(path, "PCA::load"); }
  static constexpr const char* model_name = "PCA";  ///< The model type in its files' headers.

 private:
  // score_samples() of a block of rows (its checks done)
  Vector<T> score_rows(const MatrixCRef<T>& x) const;
  friend struct io::StateAccess;
  // The fitted state a model file holds (serialization/state.hpp): save() and load() both run this.
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    a.vector("mean", self.mean_);
    a.matrix("components", self.components_, self.mean_.size(), io::any);  // D x M
    a.vector("explained_variance", self.explained_variance_, self.components_.cols());
    a.scalars("variances", self.total_variance_, self.noise_variance_);
  }

  void require_fitted(const char* function, Index columns) const {
    if (mean_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    check_size(function, "x", columns, mean_.size(), "columns");
  }
  // sqrt of each component's variance, 0 for a variance that is zero to rounding (see the class notes)
  Vector<T> whitening_scale() const {
    if (explained_variance_.size() == 0) return {};
    const T floor = explained_variance_.maxCoeff() * T(mean_.size()) * std::numeric_limits<T>::epsilon();
    return explained_variance_.unaryExpr([floor](T v) { return v > floor ? std::sqrt(v) : T(0); });
  }
  PCAOptions options_;
  Vector<T> mean_, explained_variance_;
  Matrix<T> components_;
  T total_variance_ = 0, noise_variance_ = 0;
};

// PCA's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto PCA<T>::fit(const Collective& ranks, const MatrixCRef<T>& x) -> PCA& PML_RANKS_TRY {
    Index rows = x.rows();
    if (ranks.size() > 1) {
      rows = 0;
      for (const Index c : detail::all_counts(ranks, x.rows())) rows += c;
    }
    const Index cols = detail::shared_columns(ranks, "PCA::fit", x.rows(), x.cols());
    const Index m = options_.components == 0 ? std::min(rows, cols) : options_.components;
    if (m > cols || m > rows)
      detail::throw_shape("PCA::fit", "components = " + std::to_string(m) + " exceeds min(N, D) = " +
                                          std::to_string(std::min(rows, cols)) + " of x");
    auto e = detail::covariance_eigen<T>(ranks, "PCA::fit", x, 1, m);
    mean_ = e.mean;
    components_ = e.eigenvectors.leftCols(m);
    explained_variance_ = e.eigenvalues.head(m);
    total_variance_ = e.eigenvalues.sum();
    const Index rest = std::min(rows, cols) - m;
    noise_variance_ = rest > 0 ? e.eigenvalues.segment(m, rest).sum() / T(rest) : T(0);
    return *this;
  } PML_RANKS_CATCH(ranks, "PCA::fit")

template <Real T>
auto PCA<T>::transform(const MatrixCRef<T>& x) const -> Matrix<T> {
    require_fitted("PCA::transform", x.cols());
    Matrix<T> z = (x.rowwise() - mean_.transpose()) * components_;
    if (options_.whiten) {
      const Vector<T> scale = whitening_scale();
      for (Index j = 0; j < z.cols(); ++j) z.col(j) *= scale(j) > T(0) ? T(1) / scale(j) : T(0);
    }
    return z;
  }

template <Real T>
auto PCA<T>::inverse_transform(const MatrixCRef<T>& z) const -> Matrix<T> {
    require_fitted("PCA::inverse_transform", mean_.size());
    check_size("PCA::inverse_transform", "z", z.cols(), components_.cols(), "columns");
    Matrix<T> zz = z;
    if (options_.whiten) {
      const Vector<T> scale = whitening_scale();
      for (Index j = 0; j < zz.cols(); ++j) zz.col(j) *= scale(j);
    }
    Matrix<T> x = zz * components_.transpose();
    x.rowwise() += mean_.transpose();
    return x;
  }

template <Real T>
auto PCA<T>::score_rows(const MatrixCRef<T>& x) const -> Vector<T> {
    const Index d = mean_.size();
    if (!(noise_variance_ > T(0))) {
      if (components_.cols() < d || !(explained_variance_.minCoeff() > T(0)))
        detail::throw_domain("PCA::score_samples", "x",
                             "be scored under a model with a nonsingular covariance (noise variance 0 and " +
                                 std::to_string(components_.cols()) + " components of D = " + std::to_string(d) +
                                 "; the data were rank-deficient)",
                             "a singular model covariance");
      const Matrix<T> z = (x.rowwise() - mean_.transpose()) * components_;
      const Vector<T> quad = (z.array().square().rowwise() / explained_variance_.transpose().array()).rowwise().sum().matrix();
      const T log_det = explained_variance_.array().log().sum();
      return (-T(0.5) * (quad.array() + T(d) * constants<T>::log_two_pi + log_det)).matrix();
    }
    // Woodbury: C^{-1} = (I - U diag(1 - s2/l) U^T) / s2 ; log|C| = sum log l + (D - M) log s2
    const Matrix<T> xc = x.rowwise() - mean_.transpose();
    const Matrix<T> z = xc * components_;
    const Vector<T> shrink = (T(1) - noise_variance_ / explained_variance_.array()).matrix();
    const Vector<T> quad = (xc.rowwise().squaredNorm() - (z.array().square().rowwise() * shrink.transpose().array()).rowwise().sum().matrix()) /
                           noise_variance_;
    const T log_det = explained_variance_.array().log().sum() + T(d - components_.cols()) * std::log(noise_variance_);
    return (-T(0.5) * (quad.array() + T(d) * constants<T>::log_two_pi + log_det)).matrix();
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::PCA)
