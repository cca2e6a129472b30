#pragma once
/// @file
/// Linear-algebra helpers: a Cholesky factorisation that adds jitter when a covariance is not
/// positive definite (and reports how much), and log-determinants from Cholesky factors.

#include <cmath>
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

}  // namespace pml
