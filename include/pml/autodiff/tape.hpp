#pragma once
/// @file
/// Reverse-mode automatic differentiation over matrix-valued nodes (the Stan `var_value<Matrix>` idea):
/// one node per matrix operation, values and adjoints in an arena that is reused from one step to the
/// next, so that after the first step a step allocates nothing.
///
/// This is the first slice of the autodiff core: the tape, the arena, elementwise and reduction ops,
/// matrix products and broadcasting adds. More ops, the fused probabilistic nodes and nn/ build on it.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "pml/core/check.hpp"
#include "pml/core/special.hpp"
#include "pml/core/types.hpp"

namespace pml::ad {

template <Real T> class Tape;

/// A handle to a node on a Tape: cheap to copy, valid until the tape is reset().
template <Real T> struct Var {
  Tape<T>* tape = nullptr;
  int id = -1;
  /// The node's value (rows x cols), a view into the tape's arena.
  Eigen::Map<Matrix<T>> value() const { return tape->value(id); }
  /// The node's adjoint d(output)/d(node), filled by Tape::backward().
  Eigen::Map<Matrix<T>> adjoint() const { return tape->adjoint(id); }
  Index rows() const { return tape->rows(id); }
  Index cols() const { return tape->cols(id); }
};

namespace detail {
enum class Op : std::uint8_t {
  leaf, matmul, add, add_row, sub, mul, neg, scale, exp, log, square, sqrt, tanh, sigmoid, softplus, relu, sum, mean
};
}  // namespace detail

/// The tape: nodes in creation order, their values and adjoints in two arenas. reset() forgets the
/// nodes but keeps every buffer's capacity, so a training loop that builds the same graph each step
/// stops allocating after its first step.
template <Real T> class Tape {
 public:
  using Op = detail::Op;

  /// Reserves room for `nodes` nodes and `scalars` scalars of values (and as many of adjoints).
  void reserve(std::size_t nodes, std::size_t scalars) {
    nodes_.reserve(nodes);
    values_.reserve(scalars);
    adjoints_.reserve(scalars);
  }
  /// Forgets all nodes; keeps the arenas' capacity.
  void reset() noexcept {
    nodes_.clear();
    values_.clear();
    adjoints_.clear();
  }
  std::size_t size() const noexcept { return nodes_.size(); }

  /// A leaf (input or parameter) with the given value.
  template <class Derived> Var<T> variable(const Eigen::MatrixBase<Derived>& v) {
    Var<T> out = push(Op::leaf, -1, -1, v.rows(), v.cols());
    value(out.id) = v;
    return out;
  }

  Eigen::Map<Matrix<T>> value(int id) {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    return {values_.data() + n.offset, n.rows, n.cols};
  }
  Eigen::Map<Matrix<T>> adjoint(int id) {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    return {adjoints_.data() + n.offset, n.rows, n.cols};
  }
  Index rows(int id) const { return nodes_[static_cast<std::size_t>(id)].rows; }
  Index cols(int id) const { return nodes_[static_cast<std::size_t>(id)].cols; }

  /// Back-propagates from a 1 x 1 node: zeroes every adjoint, seeds d(out)/d(out) = 1, then runs the
  /// nodes' backward passes in reverse creation order.
  /// @throw std::invalid_argument if `out` is not 1 x 1.
  void backward(const Var<T>& out) {
    if (out.rows() != 1 || out.cols() != 1)
      pml::detail::throw_shape("Tape::backward", "the output must be 1 x 1, got " + std::to_string(out.rows()) + "x" +
                                                     std::to_string(out.cols()));
    std::fill(adjoints_.begin(), adjoints_.end(), T(0));
    adjoint(out.id)(0, 0) = T(1);
    for (int id = out.id; id >= 0; --id) backward_node(id);
  }

  // ---- node construction (used by the operator functions in ops.hpp) ----
  Var<T> push(Op op, int a, int b, Index rows, Index cols, T scalar = T(0)) {
    Node n{op, a, b, rows, cols, values_.size(), scalar};
    const std::size_t count = static_cast<std::size_t>(rows * cols);
    values_.resize(values_.size() + count);
    adjoints_.resize(adjoints_.size() + count);
    nodes_.push_back(n);
    return Var<T>{this, static_cast<int>(nodes_.size() - 1)};
  }
  Op op(int id) const { return nodes_[static_cast<std::size_t>(id)].op; }

 private:
  struct Node {
    Op op;
    int a, b;
    Index rows, cols;
    std::size_t offset;
    T scalar;
  };

  void backward_node(int id) {
    const Node n = nodes_[static_cast<std::size_t>(id)];
    if (n.op == Op::leaf) return;
    auto g = adjoint(id);
    auto v = value(id);
    switch (n.op) {
      case Op::matmul:  // C = A B: dA += dC B^T, dB += A^T dC
        adjoint(n.a).noalias() += g * value(n.b).transpose();
        adjoint(n.b).noalias() += value(n.a).transpose() * g;
        break;
      case Op::add:
        adjoint(n.a) += g;
        adjoint(n.b) += g;
        break;
      case Op::add_row:  // C = A + 1 b (b a row vector): db += column sums of dC
        adjoint(n.a) += g;
        adjoint(n.b) += g.colwise().sum();
        break;
      case Op::sub:
        adjoint(n.a) += g;
        adjoint(n.b) -= g;
        break;
      case Op::mul:
        adjoint(n.a).array() += g.array() * value(n.b).array();
        adjoint(n.b).array() += g.array() * value(n.a).array();
        break;
      case Op::neg: adjoint(n.a) -= g; break;
      case Op::scale: adjoint(n.a) += n.scalar * g; break;
      case Op::exp: adjoint(n.a).array() += g.array() * v.array(); break;
      case Op::log: adjoint(n.a).array() += g.array() / value(n.a).array(); break;
      case Op::square: adjoint(n.a).array() += T(2) * g.array() * value(n.a).array(); break;
      case Op::sqrt: adjoint(n.a).array() += g.array() / (T(2) * v.array()); break;
      case Op::tanh: adjoint(n.a).array() += g.array() * (T(1) - v.array().square()); break;
      case Op::sigmoid: adjoint(n.a).array() += g.array() * v.array() * (T(1) - v.array()); break;
      case Op::softplus: adjoint(n.a).array() += g.array() * pml::sigmoid(value(n.a).array()); break;
      case Op::relu: adjoint(n.a).array() += (value(n.a).array() > T(0)).select(g.array(), T(0)); break;
      case Op::sum: adjoint(n.a).array() += g(0, 0); break;
      case Op::mean: adjoint(n.a).array() += g(0, 0) / T(value(n.a).size()); break;
      case Op::leaf: break;
    }
  }

  std::vector<Node> nodes_;
  std::vector<T> values_, adjoints_;
};

}  // namespace pml::ad
