#pragma once
/// @file
/// Dense symmetric positive-definite kernels on every core, with the same bits for any thread count: a blocked
/// Cholesky factorisation, the inverse of a lower-triangular matrix and the inverse of a matrix from its
/// Cholesky factor (LAPACK's potrf, trtri and potri in N³/3 flops each, against 2N³ for solving against the
/// identity), for the exact Gaussian process's N x N systems (pml/models/gaussian_process/regressor.hpp).
///
/// Each routine splits its work into blocks of columns (or rows) of 128 fixed by the matrix size, never by the
/// thread count; every entry is computed by one task in one fixed order (Eigen's products, whose blocking
/// depends on the sizes and the cache sizes only), so the result is bit-for-bit the same on 1 or 64 threads
/// (docs/architecture.md, "Threads").

#include <algorithm>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "pml/core/parallel.hpp"
#include "pml/core/types.hpp"

namespace pml::detail {

inline constexpr Index cholesky_block = 128;  ///< the block width of the routines below

/// In-place Cholesky factorisation of the symmetric N x N matrix `a` (its lower triangle is read): on success
/// `a` holds the lower factor L (LLᵀ = a, strict upper triangle zeroed) and true is returned; false when `a` is
/// not numerically positive definite (`a` is then overwritten). Right-looking, 128-column panels: the panel's
/// diagonal block by Eigen's LLT, the rows below by a triangular solve in row blocks, the trailing matrix's
/// lower triangle updated in column blocks (one task each).
template <Real T> bool blocked_cholesky(Matrix<T>& a) {
  const Index n = a.rows();
  for (Index k = 0; k < n; k += cholesky_block) {
    const Index b = std::min(cholesky_block, n - k), r = n - k - b;
    Eigen::Ref<Matrix<T>> a11 = a.block(k, k, b, b);
    Eigen::LLT<Eigen::Ref<Matrix<T>>> llt(a11);  // in place
    if (llt.info() != Eigen::Success || !(a11.diagonal().array() > T(0)).all()) return false;
    if (r == 0) break;
    auto a21 = a.block(k + b, k, r, b);
    // A21 <- A21 L11^{-T}
    parallel_chunks(split_rows(r, cholesky_block, 64), [&](Index, Index begin, Index end) {
      auto rows = a21.middleRows(begin, end - begin);
      a11.transpose().template triangularView<Eigen::Upper>().template solveInPlace<Eigen::OnTheRight>(rows);
    });
    // A22 <- A22 - A21 A21^T (lower triangle, by column blocks)
    parallel_chunks(Chunks{r, cholesky_block}, [&](Index, Index j0, Index j1) {
      a.block(k + b + j0, k + b + j0, r - j0, j1 - j0).noalias() -= a21.middleRows(j0, r - j0) * a21.middleRows(j0, j1 - j0).transpose();
    });
  }
  a.template triangularView<Eigen::StrictlyUpper>().setZero();
  return true;
}

/// X = L⁻¹ for a lower-triangular N x N `l` with a nonzero diagonal (X is lower triangular): column block J
/// solves L[J.., J..] X[J.., J] = I, so the zeros above the diagonal cost nothing (N³/3 flops in all).
template <Real T> void lower_triangular_inverse(const Matrix<T>& l, Matrix<T>& x) {
  const Index n = l.rows();
  x.setZero(n, n);
  parallel_chunks(Chunks{n, cholesky_block}, [&](Index, Index c0, Index c1) {
    auto y = x.block(c0, c0, n - c0, c1 - c0);
    y.topRows(c1 - c0).setIdentity();
    l.bottomRightCorner(n - c0, n - c0).template triangularView<Eigen::Lower>().solveInPlace(y);
  });
}

/// A⁻¹ = L⁻ᵀL⁻¹ (symmetric, both triangles filled) from the inverse `x` = L⁻¹ of A's lower Cholesky factor:
/// column block J of the lower triangle is X[J.., J..]ᵀ X[J.., J] (a triangular product; N³/3 flops in all).
template <Real T> void inverse_from_inverse_factor(const Matrix<T>& x, Matrix<T>& out) {
  const Index n = x.rows();
  out.resize(n, n);
  parallel_chunks(Chunks{n, cholesky_block}, [&](Index, Index c0, Index c1) {
    out.block(c0, c0, n - c0, c1 - c0).noalias() =
        x.bottomRightCorner(n - c0, n - c0).transpose().template triangularView<Eigen::Upper>() * x.block(c0, c0, n - c0, c1 - c0);
  });
  out.template triangularView<Eigen::StrictlyUpper>() = out.transpose();
}

/// Solves L V = B for V in place (`b` N x M, L lower triangular N x N), in column blocks of B on several threads.
template <Real T> void lower_solve_in_place(const Matrix<T>& l, Matrix<T>& b) {
  parallel_chunks(split_rows(b.cols(), 64, 64), [&](Index, Index c0, Index c1) {
    auto cols = b.middleCols(c0, c1 - c0);
    l.template triangularView<Eigen::Lower>().solveInPlace(cols);
  });
}

}  // namespace pml::detail
