#pragma once
/// @file
/// What the op families under ops/ share: the argument checks and the names an op struct uses.
///
/// An op is a struct template `detail::Name<T>` with
///   - `static void forward(Tape<T>& t, Node<T>& n, Map<T> v)`: fills the node's value `v` from its inputs
///     `t.value(n.a)`, `t.value(n.b)`, `t.value(n.c)`;
///   - `static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g)`: adds the node's adjoint
///     `g` into the adjoints of the inputs that need one (`n.grad_a` ... `n.grad_c`);
///   - optionally `struct Data`, its own parameters (trivially copyable, at most detail::kOpDataSize bytes),
///     read with `op_data<Data>(n)`.
/// The public function checks its arguments and calls `tape.record<detail::Name<T>>(rows, cols, {inputs}, data)`.

#include <string>

#include "pml/autodiff/tape.hpp"

namespace pml::ad::detail {

/// A view of a node's value or adjoint in the tape's arenas.
template <Real T> using Map = Eigen::Map<Matrix<T>>;

/// @throw std::invalid_argument unless `a` and `b` live on the same tape.
template <Real T> void same_tape(const char* function, const Var<T>& a, const Var<T>& b) {
  if (a.tape != b.tape || a.tape == nullptr)
    pml::detail::throw_shape(function, "arguments must live on the same tape");
}
/// @throw std::invalid_argument unless `a` and `b` live on the same tape and have the same shape.
template <Real T> void same_shape(const char* function, const Var<T>& a, const Var<T>& b) {
  same_tape(function, a, b);
  if (a.rows() != b.rows() || a.cols() != b.cols())
    pml::detail::throw_shape(function, "shapes differ: " + std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + " and " +
                                           std::to_string(b.rows()) + "x" + std::to_string(b.cols()));
}
/// A node of op `Op` with a's shape and a as its one input (the elementwise functions of one argument).
template <class Op, Real T> Var<T> unary(const Var<T>& a) { return a.tape->template record<Op>(a.rows(), a.cols(), {a.id}); }

}  // namespace pml::ad::detail
