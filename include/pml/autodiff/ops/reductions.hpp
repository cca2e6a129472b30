#pragma once
/// @file
/// Reductions and row-wise normalisations: sum, mean, row and column sums and means, log-sum-exp of
/// rows, softmax and log-softmax of rows. Each op's forward and backward pass are side by side in its struct.

#include <cmath>

#include "pml/autodiff/ops/common.hpp"

namespace pml::ad {
namespace detail {

/// c = Σ A: dA += dc.
template <Real T> struct Sum {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v(0, 0) = t.value(n.a).sum(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a).array() += g(0, 0); }
};

/// c = mean of A: dA += dc / size.
template <Real T> struct Mean {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v(0, 0) = t.value(n.a).mean(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).array() += g(0, 0) / T(t.value(n.a).size());
  }
};

/// Row sums (rows x 1): every column of dA += dc.
template <Real T> struct SumRows {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).rowwise().sum(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a).colwise() += g.col(0); }
};

/// Row means (rows x 1): every column of dA += dc / cols.
template <Real T> struct MeanRows {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).rowwise().mean(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).colwise() += T(1) / T(t.cols(n.a)) * g.col(0);
  }
};

/// Column sums (1 x cols): every row of dA += dc.
template <Real T> struct SumCols {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).colwise().sum(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a).rowwise() += g.row(0); }
};

/// Column means (1 x cols): every row of dA += dc / rows.
template <Real T> struct MeanCols {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).colwise().mean(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).rowwise() += T(1) / T(t.rows(n.a)) * g.row(0);
  }
};

/// c_i = log Σ_j exp(A_ij): dA += dc softmax(A).
template <Real T> struct LogSumExpRows {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = pml::log_sum_exp_rows(t.value(n.a)); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    t.adjoint(n.a).array() += ((t.value(n.a).colwise() - v.col(0)).array().exp()).colwise() * g.col(0).array();
  }
};

/// Y = softmax of each row of A: dA = Y (dY - rowsum(dY Y)).
template <Real T> struct SoftmaxRows {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v = t.value(n.a);
    for (Index i = 0; i < v.rows(); ++i) {
      v.row(i).array() = (v.row(i).array() - v.row(i).maxCoeff()).exp();
      v.row(i) /= v.row(i).sum();
    }
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    auto da = t.adjoint(n.a);
    for (Index i = 0; i < v.rows(); ++i) {
      const T dot = g.row(i).dot(v.row(i));
      da.row(i).array() += v.row(i).array() * (g.row(i).array() - dot);
    }
  }
};

/// Y = A - logsumexp of each row: dA = dY - softmax(A) rowsum(dY).
template <Real T> struct LogSoftmaxRows {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v = t.value(n.a);
    for (Index i = 0; i < v.rows(); ++i) {
      const T m = v.row(i).maxCoeff();
      v.row(i).array() -= m + std::log((v.row(i).array() - m).exp().sum());
    }
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    auto da = t.adjoint(n.a);
    for (Index i = 0; i < v.rows(); ++i) da.row(i).array() += g.row(i).array() - v.row(i).array().exp() * g.row(i).sum();
  }
};

}  // namespace detail

/// Sum of all entries (1 x 1; 0 for an empty A).
template <Real T> Var<T> sum(const Var<T>& a) { return a.tape->template record<detail::Sum<T>>(1, 1, {a.id}); }
/// Mean of all entries (1 x 1; NaN for an empty A).
template <Real T> Var<T> mean(const Var<T>& a) { return a.tape->template record<detail::Mean<T>>(1, 1, {a.id}); }
/// Row sums of A (rows x 1).
template <Real T> Var<T> sum_rows(const Var<T>& a) { return a.tape->template record<detail::SumRows<T>>(a.rows(), 1, {a.id}); }
/// Column sums of A (1 x cols).
template <Real T> Var<T> sum_cols(const Var<T>& a) { return a.tape->template record<detail::SumCols<T>>(1, a.cols(), {a.id}); }
/// Row means of A (rows x 1).
/// @throw std::invalid_argument if A has no columns.
template <Real T> Var<T> mean_rows(const Var<T>& a) {
  if (a.cols() == 0) pml::detail::throw_shape("ad::mean_rows", "a has no columns");
  return a.tape->template record<detail::MeanRows<T>>(a.rows(), 1, {a.id});
}
/// Column means of A (1 x cols).
/// @throw std::invalid_argument if A has no rows.
template <Real T> Var<T> mean_cols(const Var<T>& a) {
  if (a.rows() == 0) pml::detail::throw_shape("ad::mean_cols", "a has no rows");
  return a.tape->template record<detail::MeanCols<T>>(1, a.cols(), {a.id});
}
/// Stable log-sum-exp of each row of A (rows x 1).
template <Real T> Var<T> log_sum_exp_rows(const Var<T>& a) {
  return a.tape->template record<detail::LogSumExpRows<T>>(a.rows(), 1, {a.id});
}
/// Softmax of each row of A (A's shape; every row sums to 1).
template <Real T> Var<T> softmax(const Var<T>& a) { return a.tape->template record<detail::SoftmaxRows<T>>(a.rows(), a.cols(), {a.id}); }
/// Log-softmax of each row of A, \f$a - \mathrm{logsumexp}(a)\f$ (A's shape).
template <Real T> Var<T> log_softmax(const Var<T>& a) {
  return a.tape->template record<detail::LogSoftmaxRows<T>>(a.rows(), a.cols(), {a.id});
}

}  // namespace pml::ad
