#pragma once
/// @file
/// Linear-algebra helpers: a Cholesky factorisation that adds jitter when a covariance is not
/// positive definite (and reports how much), and log-determinants from Cholesky factors.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "pml/core/check.hpp"
#include "pml/core/types.hpp"

namespace pml {

/// Result of cholesky_jitter(): the factor, the jitter that was added to the diagonal, and whether
/// the factorisation succeeded at all.
template <Real T> struct JitteredCholesky {
  Eigen::LLT<Matrix<T>> llt;  ///< factorisation of A + jitter * I
  T jitter = 0;               ///< amount added to the diagonal (0 when A was positive definite)
  bool success = false;       ///< false when even the largest jitter failed (see Eigen::LLT::info)
  /// Lower-triangular factor L with L L^T = A + jitter I.
  Matrix<T> matrix_l() const { return llt.matrixL(); }
};

/// Cholesky factorisation of the symmetric matrix `a`. When `a` is not numerically positive
/// definite, adds jitter \f$\epsilon I\f$ with \f$\epsilon = 10^{k}\,\epsilon_0\f$,
/// \f$\epsilon_0 = 10^{-10}\cdot\mathrm{mean}(|\mathrm{diag}\,a|)\f$ (float: \f$10^{-6}\f$),
/// k = 0..max_tries-1, and reports the jitter used. Numerical failure is a status, not a throw.
/// @throw std::invalid_argument if `a` is not square.
template <class Derived>
JitteredCholesky<typename Derived::Scalar> cholesky_jitter(const Eigen::MatrixBase<Derived>& a,
                                                           int max_tries = 10) {
  using T = typename Derived::Scalar;
  check_square("cholesky_jitter", "a", a);
  JitteredCholesky<T> out;
  out.llt.compute(a);
  if (out.llt.info() == Eigen::Success) {
    out.success = true;
    return out;
  }
  const T mean_diag = a.diagonal().cwiseAbs().mean();
  T eps = (mean_diag > T(0) && std::isfinite(mean_diag) ? mean_diag : T(1)) *
          (sizeof(T) < 8 ? T(1e-6) : T(1e-10));
  Matrix<T> work;
  for (int k = 0; k < max_tries; ++k, eps *= T(10)) {
    work = a;
    work.diagonal().array() += eps;
    out.llt.compute(work);
    if (out.llt.info() == Eigen::Success) {
      out.jitter = eps;
      out.success = true;
      return out;
    }
  }
  out.jitter = eps / T(10);
  return out;
}

/// Cholesky factorisation that must succeed: throws std::domain_error naming `function` and
/// `argument` when `a` is not symmetric positive definite.
template <class Derived>
Eigen::LLT<Matrix<typename Derived::Scalar>> cholesky_checked(std::string_view function,
                                                               std::string_view argument,
                                                               const Eigen::MatrixBase<Derived>& a) {
  check_symmetric(function, argument, a);
  Eigen::LLT<Matrix<typename Derived::Scalar>> llt(a);
  if (llt.info() != Eigen::Success)
    detail::throw_domain(function, argument, "be positive definite",
                         "a matrix whose Cholesky factorisation failed");
  return llt;
}

/// \f$\log|A| = 2\sum_i \log L_{ii}\f$ from a lower Cholesky factor L of A.
template <class Derived> typename Derived::Scalar log_det_from_cholesky(const Eigen::MatrixBase<Derived>& l) {
  return typename Derived::Scalar(2) * l.diagonal().array().log().sum();
}

/// \f$\log|A|\f$ from an Eigen::LLT factorisation.
template <class M> typename M::Scalar log_det(const Eigen::LLT<M>& llt) {
  return log_det_from_cholesky(llt.matrixLLT());
}

namespace detail {
template <class M> struct FactorLLT : Eigen::LLT<M> {
  explicit FactorLLT(const M& l) {
    this->m_matrix = l;
    this->m_l1_norm = (l * l.transpose()).cwiseAbs().colwise().sum().maxCoeff();
    this->m_isInitialized = true;
    this->m_info = Eigen::Success;
  }
};
}  // namespace detail

/// An Eigen::LLT holding a given lower Cholesky factor L, as if it had factorised \f$LL^T\f$. A model
/// loaded from a file solves with the very factor it saved, so its results are bit-identical (refactorising
/// \f$LL^T\f$ would round differently). The caller checks that L is lower triangular with a positive diagonal.
template <Real T> Eigen::LLT<Matrix<T>> llt_from_factor(const Matrix<T>& l) {
  return detail::FactorLLT<Matrix<T>>(l);
}

namespace detail {
/// Expanded squared distances \f$\|a\|^2 - 2a\cdot b + \|b\|^2\f$ (the GEMM form) lose their digits when
/// the distance is small next to \f$\|a\|^2 + \|b\|^2\f$; an entry below this fraction of that sum
/// (\f$\sqrt\epsilon\f$: 1.5e-8 in double, 3.5e-4 in float) is recomputed from the exact differences, so
/// an expanded entry that is kept carries a relative error of at most about \f$\sqrt\epsilon\f$ times a
/// small multiple of D, and a recomputed one is exact to rounding.
template <Real T> inline T cancellation_fraction() { return std::sqrt(std::numeric_limits<T>::epsilon()); }

/// Column means of x as one evaluated row vector (written into a variable once: a mean expression nested in a
/// broadcast is re-evaluated per column, which made wide data cost D^2). Each mean is taken about the
/// column's first entry, \f$x_{0j} + \mathrm{mean}_i(x_{ij} - x_{0j})\f$, so a constant column's mean is that
/// constant exactly and data far from 0 keep the digits of their spread (plain mean if that overflows).
template <Real T> RowVector<T> column_means(const MatrixCRef<T>& x) {
  RowVector<T> m = RowVector<T>::Zero(x.cols());
  if (x.rows() == 0) return m;
  for (Index j = 0; j < x.cols(); ++j) {
    const T reference = x(0, j);
    const T about = (x.col(j).array() - reference).mean();
    m(j) = std::isfinite(about) ? reference + about : x.col(j).mean();
  }
  return m;
}

/// Refuses (std::domain_error naming `function` and x) data whose largest deviation from the column means,
/// squared and summed over `terms` entries, overflows T: the rule of every clustering and latent model for
/// data such as values near 1e200 in double, instead of an inf/NaN objective or a model that cannot be used.
template <Real T> void check_spread(const char* function, T largest, double terms) {
  const double bound = static_cast<double>(largest) * static_cast<double>(largest) * std::max(1.0, terms);
  if (!(bound < static_cast<double>(std::numeric_limits<T>::max())))
    throw_domain(function, "x",
                 "have deviations from its column means whose squares (summed over the data) are finite in this precision; "
                 "rescale the data",
                 "a largest |x - column mean| of " + describe(largest));
}

/// max |x - shift| over every entry (shift a row), without forming x - shift; 0 for empty x.
template <Real T> T largest_deviation(const MatrixCRef<T>& x, const RowVector<T>& shift) {
  T top = 0;
  for (Index j = 0; j < x.cols(); ++j)
    if (x.rows() > 0) top = std::max(top, (x.col(j).array() - shift(j)).abs().maxCoeff());
  return top;
}

/// x minus `shift` (a row), checked by check_spread().
template <Real T> Matrix<T> centred_checked(const char* function, const MatrixCRef<T>& x, const RowVector<T>& shift, double terms) {
  Matrix<T> xc = x.rowwise() - shift;
  check_spread<T>(function, xc.size() > 0 ? xc.cwiseAbs().maxCoeff() : T(0), terms);
  return xc;
}

/// Recomputes, from the exact differences, the entries of `d` (N x K, expanded squared distances between the
/// rows of x and of c, with row_norms = |x_n|^2 and c_norms = |c_k|^2) that fell below
/// cancellation_fraction() of |x_n|^2 + |c_k|^2. Returns the number of recomputed entries.
template <Real T>
Index refine_squared_distances(const MatrixCRef<T>& x, const Vector<T>& row_norms, const MatrixCRef<T>& c,
                               const RowVector<T>& c_norms, Eigen::Ref<Matrix<T>> d) {
  const T tau = cancellation_fraction<T>();
  Index refined = 0;
  for (Index k = 0; k < d.cols(); ++k) {
    // a vectorised test first: most columns have nothing to recompute
    if ((d.col(k).array() >= tau * (row_norms.array() + c_norms(k))).all()) continue;
    for (Index i = 0; i < d.rows(); ++i)
      if (!(d(i, k) >= tau * (row_norms(i) + c_norms(k)))) {
        d(i, k) = (x.row(i) - c.row(k)).squaredNorm();
        ++refined;
      }
  }
  return refined;
}
}  // namespace detail

}  // namespace pml
