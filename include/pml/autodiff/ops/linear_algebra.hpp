#pragma once
/// @file
/// Linear-algebra ops: the matrix products (through the tape's GEMM, see Tape::gemm) and the column
/// blocks (slice_cols, concat_cols). Each op's forward and backward pass are side by side in its struct.

#include <string>

#include "pml/autodiff/ops/common.hpp"

namespace pml::ad {
namespace detail {

/// C = A B: dA += dC B^T, dB += A^T dC.
template <Real T> struct MatMul {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v.setZero();
    t.template gemm<false, false>(v, t.value(n.a), t.value(n.b));
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.template gemm<false, true>(t.adjoint(n.a), g, t.value(n.b));
    if (n.grad_b) t.template gemm<true, false>(t.adjoint(n.b), t.value(n.a), g);
  }
};

/// C = A^T B: dA += B dC^T, dB += A dC.
template <Real T> struct MatMulTN {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v.setZero();
    t.template gemm<true, false>(v, t.value(n.a), t.value(n.b));
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.template gemm<false, true>(t.adjoint(n.a), t.value(n.b), g);
    if (n.grad_b) t.template gemm<false, false>(t.adjoint(n.b), t.value(n.a), g);
  }
};

/// C = A B^T: dA += dC B, dB += dC^T A.
template <Real T> struct MatMulNT {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v.setZero();
    t.template gemm<false, true>(v, t.value(n.a), t.value(n.b));
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.template gemm<false, false>(t.adjoint(n.a), g, t.value(n.b));
    if (n.grad_b) t.template gemm<true, false>(t.adjoint(n.b), g, t.value(n.a));
  }
};

/// Columns [first, first + cols) of A.
template <Real T> struct SliceCols {
  struct Data {
    Index first;  ///< A's column that is the output's first
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).middleCols(op_data<Data>(n).first, n.cols); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a).middleCols(op_data<Data>(n).first, n.cols) += g; }
};

/// The block of A at (first_row, first_col) of the node's shape.
template <Real T> struct Block {
  struct Data {
    Index first_row, first_col;
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Data& d = op_data<Data>(n);
    v = t.value(n.a).block(d.first_row, d.first_col, n.rows, n.cols);
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const Data& d = op_data<Data>(n);
    t.adjoint(n.a).block(d.first_row, d.first_col, n.rows, n.cols) += g;
  }
};

/// Aᵀ.
template <Real T> struct Transpose {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).transpose(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a) += g.transpose(); }
};

/// [A B].
template <Real T> struct ConcatCols {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v << t.value(n.a), t.value(n.b); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g.leftCols(t.cols(n.a));
    if (n.grad_b) t.adjoint(n.b) += g.rightCols(t.cols(n.b));
  }
};

}  // namespace detail

/// Matrix product A B of an m x k and a k x n node (m x n; one node, its backward two GEMMs, the one of
/// a constant operand skipped).
/// @throw std::invalid_argument if the tapes or the inner dimensions differ.
template <Real T> Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::matmul", a, b);
  if (a.cols() != b.rows())
    pml::detail::throw_shape("ad::matmul", "inner dimensions differ: " + std::to_string(a.cols()) + " and " + std::to_string(b.rows()));
  return a.tape->template record<detail::MatMul<T>>(a.rows(), b.cols(), {a.id, b.id});
}
/// \f$A^T B\f$ of a k x m and a k x n node (m x n), without forming the transpose.
/// @throw std::invalid_argument if the tapes or the row counts differ.
template <Real T> Var<T> matmul_tn(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::matmul_tn", a, b);
  if (a.rows() != b.rows())
    pml::detail::throw_shape("ad::matmul_tn", "row counts differ: " + std::to_string(a.rows()) + " and " + std::to_string(b.rows()));
  return a.tape->template record<detail::MatMulTN<T>>(a.cols(), b.cols(), {a.id, b.id});
}
/// \f$A B^T\f$ of an m x k and an n x k node (m x n), without forming the transpose.
/// @throw std::invalid_argument if the tapes or the column counts differ.
template <Real T> Var<T> matmul_nt(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::matmul_nt", a, b);
  if (a.cols() != b.cols())
    pml::detail::throw_shape("ad::matmul_nt", "column counts differ: " + std::to_string(a.cols()) + " and " + std::to_string(b.cols()));
  return a.tape->template record<detail::MatMulNT<T>>(a.rows(), b.rows(), {a.id, b.id});
}
/// Columns [first, first + count) of A (rows x count).
/// @throw std::invalid_argument if the range is not inside A's columns.
template <Real T> Var<T> slice_cols(const Var<T>& a, Index first, Index count) {
  if (first < 0 || count < 0 || first + count > a.cols())
    pml::detail::throw_shape("ad::slice_cols", "columns [" + std::to_string(first) + ", " + std::to_string(first + count) +
                                                   ") outside 0.." + std::to_string(a.cols()));
  return a.tape->template record<detail::SliceCols<T>>(a.rows(), count, {a.id}, {first});
}
/// The rows x cols block of A whose top-left entry is A(first_row, first_col) (Eigen's block()).
/// @throw std::invalid_argument if the block is not inside A.
template <Real T> Var<T> block(const Var<T>& a, Index first_row, Index first_col, Index rows, Index cols) {
  if (first_row < 0 || first_col < 0 || rows < 0 || cols < 0 || first_row + rows > a.rows() || first_col + cols > a.cols())
    pml::detail::throw_shape("ad::block", "a " + std::to_string(rows) + "x" + std::to_string(cols) + " block at (" + std::to_string(first_row) + ", " +
                                              std::to_string(first_col) + ") is not inside a " + std::to_string(a.rows()) + "x" +
                                              std::to_string(a.cols()) + " node");
  return a.tape->template record<detail::Block<T>>(rows, cols, {a.id}, {first_row, first_col});
}
/// Aᵀ (cols x rows; a copy).
template <Real T> Var<T> transpose(const Var<T>& a) { return a.tape->template record<detail::Transpose<T>>(a.cols(), a.rows(), {a.id}); }
/// [A B], side by side: rows x (A's columns + B's columns).
/// @throw std::invalid_argument if the tapes or the row counts differ.
template <Real T> Var<T> concat_cols(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::concat_cols", a, b);
  if (a.rows() != b.rows())
    pml::detail::throw_shape("ad::concat_cols", "row counts differ: " + std::to_string(a.rows()) + " and " + std::to_string(b.rows()));
  return a.tape->template record<detail::ConcatCols<T>>(a.rows(), a.cols() + b.cols(), {a.id, b.id});
}

}  // namespace pml::ad
