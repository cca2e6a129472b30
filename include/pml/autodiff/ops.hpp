#pragma once
/// @file
/// Operations on pml::ad::Var, each recording one node with its backward pass (see tape.hpp).

#include "pml/autodiff/tape.hpp"

namespace pml::ad {
namespace detail {
template <Real T> void same_tape(const char* function, const Var<T>& a, const Var<T>& b) {
  if (a.tape != b.tape || a.tape == nullptr)
    pml::detail::throw_shape(function, "arguments must live on the same tape");
}
template <Real T> void same_shape(const char* function, const Var<T>& a, const Var<T>& b) {
  same_tape(function, a, b);
  if (a.rows() != b.rows() || a.cols() != b.cols())
    pml::detail::throw_shape(function, "shapes differ: " + std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + " and " +
                                           std::to_string(b.rows()) + "x" + std::to_string(b.cols()));
}
template <Real T, class F> Var<T> unary(Op op, const Var<T>& a, F forward) {
  Var<T> out = a.tape->push(op, a.id, -1, a.rows(), a.cols());
  out.value() = forward(a.value().array()).matrix();
  return out;
}
}  // namespace detail

/// Matrix product A B (one node; backward is two GEMMs).
template <Real T> Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::matmul", a, b);
  if (a.cols() != b.rows())
    pml::detail::throw_shape("ad::matmul", "inner dimensions differ: " + std::to_string(a.cols()) + " and " + std::to_string(b.rows()));
  Var<T> out = a.tape->push(detail::Op::matmul, a.id, b.id, a.rows(), b.cols());
  out.value().noalias() = a.value() * b.value();
  return out;
}
/// Elementwise sum of equal shapes, or A plus a 1 x cols row vector added to every row (a bias).
template <Real T> Var<T> operator+(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::add", a, b);
  if (b.rows() == 1 && a.rows() != 1 && b.cols() == a.cols()) {
    Var<T> out = a.tape->push(detail::Op::add_row, a.id, b.id, a.rows(), a.cols());
    out.value() = a.value().rowwise() + b.value().row(0);
    return out;
  }
  detail::same_shape("ad::add", a, b);
  Var<T> out = a.tape->push(detail::Op::add, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value() + b.value();
  return out;
}
template <Real T> Var<T> operator-(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::sub", a, b);
  Var<T> out = a.tape->push(detail::Op::sub, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value() - b.value();
  return out;
}
/// Elementwise (Hadamard) product.
template <Real T> Var<T> operator*(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::mul", a, b);
  Var<T> out = a.tape->push(detail::Op::mul, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value().cwiseProduct(b.value());
  return out;
}
template <Real T> Var<T> operator-(const Var<T>& a) { return detail::unary(detail::Op::neg, a, [](auto x) { return -x; }); }
/// c A for a constant c.
template <Real T> Var<T> operator*(T c, const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::scale, a.id, -1, a.rows(), a.cols(), c);
  out.value() = c * a.value();
  return out;
}
template <Real T> Var<T> exp(const Var<T>& a) { return detail::unary(detail::Op::exp, a, [](auto x) { return x.exp(); }); }
template <Real T> Var<T> log(const Var<T>& a) { return detail::unary(detail::Op::log, a, [](auto x) { return x.log(); }); }
template <Real T> Var<T> square(const Var<T>& a) { return detail::unary(detail::Op::square, a, [](auto x) { return x.square(); }); }
template <Real T> Var<T> sqrt(const Var<T>& a) { return detail::unary(detail::Op::sqrt, a, [](auto x) { return x.sqrt(); }); }
template <Real T> Var<T> tanh(const Var<T>& a) { return detail::unary(detail::Op::tanh, a, [](auto x) { return x.tanh(); }); }
template <Real T> Var<T> sigmoid(const Var<T>& a) {
  return detail::unary(detail::Op::sigmoid, a, [](auto x) { return pml::sigmoid(x); });
}
template <Real T> Var<T> softplus(const Var<T>& a) {
  return detail::unary(detail::Op::softplus, a, [](auto x) { return pml::softplus(x); });
}
template <Real T> Var<T> relu(const Var<T>& a) { return detail::unary(detail::Op::relu, a, [](auto x) { return x.max(T(0)); }); }
/// Sum of all entries (1 x 1).
template <Real T> Var<T> sum(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::sum, a.id, -1, 1, 1);
  out.value()(0, 0) = a.value().sum();
  return out;
}
/// Mean of all entries (1 x 1).
template <Real T> Var<T> mean(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::mean, a.id, -1, 1, 1);
  out.value()(0, 0) = a.value().mean();
  return out;
}

}  // namespace pml::ad
