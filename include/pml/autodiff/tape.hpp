#pragma once
/// @file
/// Reverse-mode automatic differentiation over matrix-valued nodes (the Stan `var_value<Matrix>` idea):
/// one node per matrix operation, values and adjoints in an arena that is reused from one step to the
/// next, so that after the first step a step allocates nothing.
///
/// The operator functions that record nodes are in ops.hpp; the backward passes are in Tape::backward_node.

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "pml/core/check.hpp"
#include "pml/core/enum_names.hpp"
#include "pml/core/special.hpp"
#include "pml/core/types.hpp"

namespace pml::ad {

template <Real T> class Tape;

/// A handle to a node on a Tape: cheap to copy, valid until the tape is reset().
template <Real T> struct Var {
  Tape<T>* tape = nullptr;  ///< the tape the node lives on
  int id = -1;  ///< the node's index on the tape
  /// The node's value (rows x cols), a view into the tape's arena.
  Eigen::Map<Matrix<T>> value() const { return tape->value(id); }
  /// The node's adjoint d(output)/d(node), filled by Tape::backward().
  Eigen::Map<Matrix<T>> adjoint() const { return tape->adjoint(id); }
  Index rows() const { return tape->rows(id); }  ///< rows of the node's value
  Index cols() const { return tape->cols(id); }  ///< columns of the node's value
  bool size_is(Index r, Index c) const { return rows() == r && cols() == c; }  ///< whether the node's value is r x c
};

/// Elementwise activation functions, used by the fused bias-plus-activation node and by nn::MLP.
enum class Activation : std::uint8_t { identity, relu, leaky_relu, tanh, sigmoid, softplus };
/// The names of the activations, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 6> enum_names(Activation) { return {"identity", "relu", "leaky_relu", "tanh", "sigmoid", "softplus"}; }

namespace detail {
enum class Op : std::uint8_t {
  leaf, matmul, matmul_tn, matmul_nt, add, add_row, add_col, sub, mul, mul_row, div, neg, scale, exp, log, log1p, square,
  sqrt, tanh, sigmoid, softplus, relu, leaky_relu, sum, mean, sum_rows, sum_cols, log_sum_exp_rows, softmax_rows,
  log_softmax_rows, slice_cols, concat_cols, mask_mul, bce_with_logits, gaussian_nll, softmax_cross_entropy,
  kl_standard_normal, reparameterize, scale_mixture_log_prob, bias_activation, normal_log_prob
};

}  // namespace detail

/// The tape: nodes in creation order, their values and adjoints in two arenas. reset() forgets the
/// nodes but keeps every buffer's capacity, so a training loop that builds the same graph each step
/// stops allocating after its first step.
template <Real T> class Tape {
 public:
  using Op = detail::Op;  ///< the node types (internal)

  Tape() = default;
  Tape(const Tape& other) { *this = other; }  ///< A copy of the nodes and the used part of the arenas (gradient bindings stay with the original).
  /// Copies the nodes and the used part of the arenas (gradient bindings stay with the original).
  Tape& operator=(const Tape& other) {  // copies the nodes and the used part of the arenas
    if (this == &other) return *this;
    nodes_ = other.nodes_;
    sinks_.clear();  // gradient sinks belong to the original's bindings
    values_.assign(other.values_, other.used_);
    adjoints_.assign(other.adjoints_, other.used_);
    used_ = other.used_;
    return *this;
  }
  Tape(Tape&&) noexcept = default;  ///< Moves the tape; Vars of the moved-from tape keep pointing at it and become invalid.
  Tape& operator=(Tape&&) noexcept = default;  ///< Moves the tape; Vars of the moved-from tape keep pointing at it and become invalid.

  /// Reserves room for `nodes` nodes and `scalars` scalars of values (and as many of adjoints).
  void reserve(std::size_t nodes, std::size_t scalars) {
    nodes_.reserve(nodes);
    values_.reserve(scalars, used_);
    adjoints_.reserve(scalars, used_);
  }
  /// Forgets all nodes; keeps the arenas' capacity. Every Var of the tape becomes invalid.
  void reset() noexcept { rewind(0); }
  /// The current position, for rewind(): nodes made so far stay when the tape is rewound to it.
  std::size_t mark() const noexcept { return nodes_.size(); }
  /// Forgets the nodes made after mark() returned `position` (e.g. keep data put on the tape once and
  /// rebuild the model's graph on top of it each step). Vars made before the mark stay valid.
  void rewind(std::size_t position) noexcept {
    if (position >= nodes_.size()) return;
    used_ = position == 0 ? 0 : nodes_[position].offset;
    nodes_.resize(position);
    std::size_t keep = 0;
    for (const Sink& sink : sinks_)
      if (static_cast<std::size_t>(sink.id) < position) sinks_[keep++] = sink;
    sinks_.resize(keep);
  }
  std::size_t size() const noexcept { return nodes_.size(); }  ///< number of nodes on the tape
  /// Scalars the value arena holds without growing (as many again are reserved for the adjoints).
  std::size_t capacity() const noexcept { return values_.capacity(); }

  /// A leaf (input or parameter) with the given value.
  template <class Derived> Var<T> variable(const Eigen::MatrixBase<Derived>& v) {
    Var<T> out = push(Op::leaf, -1, -1, v.rows(), v.cols());
    copy_into(out.id, v);
    return out;
  }

  /// A constant: a leaf that needs no gradient (data, targets, a dropout mask, a noise draw). Nodes whose
  /// inputs are all constants are constants too, and backward() skips them; a matrix product with a
  /// constant operand skips that operand's GEMM (so the input layer's dX is never computed).
  template <class Derived> Var<T> constant(const Eigen::MatrixBase<Derived>& v) {
    Var<T> out = constant(v.rows(), v.cols());
    copy_into(out.id, v);
    return out;
  }
  /// A constant of the given shape whose value the caller fills in place (saves variable()'s copy).
  Var<T> constant(Index rows, Index cols) {
    Var<T> out = push(Op::leaf, -1, -1, rows, cols);
    nodes_.back().needs_grad = false;
    return out;
  }
  /// A constant of the given shape with every entry `fill` (targets, scalar offsets).
  Var<T> constant(Index rows, Index cols, T fill) {
    Var<T> out = constant(rows, cols);
    out.value().setConstant(fill);
    return out;
  }
  /// Whether backward() computes this node's adjoint (false for constants and nodes made only of them).
  bool needs_grad(int id) const { return nodes_[static_cast<std::size_t>(id)].needs_grad; }

  /// A leaf whose adjoint backward() writes into `gradient` (rows x cols, owned by the caller, e.g. an
  /// nn::Parameter) at the end of the pass; when several leaves share one `gradient` (a layer used twice)
  /// it receives the sum of their adjoints. The pointer must stay valid until the next reset().
  template <class Derived> Var<T> parameter(const Eigen::MatrixBase<Derived>& v, T* gradient) {
    Var<T> out = variable(v);
    sinks_.push_back(Sink{out.id, gradient});
    return out;
  }

  /// The value of node `id` (a view into the value arena); Var::value() is the usual way in.
  Eigen::Map<Matrix<T>> value(int id) {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    return {values_.data() + n.offset, n.rows, n.cols};
  }
  /// The adjoint of a node; unspecified (not zeroed, not accumulated) for a node that !needs_grad().
  Eigen::Map<Matrix<T>> adjoint(int id) {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    return {adjoints_.data() + n.offset, n.rows, n.cols};
  }
  Index rows(int id) const { return nodes_[static_cast<std::size_t>(id)].rows; }  ///< rows of node `id`
  Index cols(int id) const { return nodes_[static_cast<std::size_t>(id)].cols; }  ///< columns of node `id`

  /// Back-propagates from a 1 x 1 node: zeroes the adjoints of the nodes that need a gradient, seeds
  /// d(out)/d(out) = 1, then runs the nodes' backward passes in reverse creation order. Calling it
  /// again (after changing nothing) gives the same adjoints.
  /// @throw std::invalid_argument if `out` is not 1 x 1.
  void backward(const Var<T>& out) {
    if (out.rows() != 1 || out.cols() != 1)
      pml::detail::throw_shape("Tape::backward", "the output must be 1 x 1, got " + std::to_string(out.rows()) + "x" +
                                                     std::to_string(out.cols()));
    for (const Node& n : nodes_)
      if (n.needs_grad) std::fill_n(adjoints_.data() + n.offset, static_cast<std::size_t>(n.rows * n.cols), T(0));
    adjoint(out.id)(0, 0) = T(1);
    for (int id = out.id; id >= 0; --id) backward_node(id);
    // a parameter bound twice (e.g. a decoder applied to L samples) has two leaves: their adjoints add up
    for (const Sink& s : sinks_) Eigen::Map<Matrix<T>>(s.gradient, rows(s.id), cols(s.id)).setZero();
    for (const Sink& s : sinks_) Eigen::Map<Matrix<T>>(s.gradient, rows(s.id), cols(s.id)) += adjoint(s.id);
  }

  /// C += alpha op(A) op(B) for column-major maps, op = transpose when the flag is set, through Eigen's
  /// GEMM kernel with packing buffers owned by the tape (Eigen's own product allocates them on the heap
  /// for every product above EIGEN_STACK_ALLOCATION_LIMIT, i.e. at real layer sizes). Tiny products use
  /// Eigen's coefficient-based lazy product.
  template <bool TransA, bool TransB>
  void gemm(Eigen::Map<Matrix<T>> c, const Eigen::Map<Matrix<T>>& a, const Eigen::Map<Matrix<T>>& b, T alpha = T(1)) {
    const Index m = c.rows(), n = c.cols(), k = TransA ? a.rows() : a.cols();
    if (m == 0 || n == 0 || k == 0) return;
    if (m * n * k <= 4096) {
      if constexpr (TransA && TransB) c.noalias() += alpha * a.transpose().lazyProduct(b.transpose());
      else if constexpr (TransA) c.noalias() += alpha * a.transpose().lazyProduct(b);
      else if constexpr (TransB) c.noalias() += alpha * a.lazyProduct(b.transpose());
      else c.noalias() += alpha * a.lazyProduct(b);
      return;
    }
    Blocking blocking(m, n, k, packing_a_, packing_b_);
    Eigen::internal::general_matrix_matrix_product<Index, T, TransA ? Eigen::RowMajor : Eigen::ColMajor, false, T,
                                                   TransB ? Eigen::RowMajor : Eigen::ColMajor, false, Eigen::ColMajor, 1>::run(
        m, n, k, a.data(), a.rows(), b.data(), b.rows(), c.data(), 1, c.rows(), alpha, blocking, nullptr);
  }

  // ---- node construction (used by the operator functions in ops.hpp) ----
  /// Appends a node (for the op functions in ops.hpp; not needed by users). Its value is left for the caller to fill.
  Var<T> push(Op op, int a, int b, Index rows, Index cols, T scalar = T(0), int c = -1, T scalar2 = T(0), T scalar3 = T(0)) {
    const bool grad = op == Op::leaf || (a >= 0 && needs_grad(a)) || (b >= 0 && op != Op::slice_cols && needs_grad(b)) || (c >= 0 && needs_grad(c));
    const std::size_t count = static_cast<std::size_t>(rows * cols);
    const std::size_t offset = used_;
    // every node starts on a 64-byte boundary (the arenas are 64-byte aligned): aligned GEMM operands
    used_ = offset + (count + kAlign - 1) / kAlign * kAlign;
    if (used_ > values_.capacity()) {
      const std::size_t want = std::max(used_, 2 * values_.capacity());
      values_.reserve(want, offset);
      adjoints_.reserve(want, offset);
    }
    nodes_.push_back(Node{op, grad, a, b, c, rows, cols, offset, scalar, scalar2, scalar3});
    return Var<T>{this, static_cast<int>(nodes_.size() - 1)};
  }
  /// Lets an op keep two numbers it computed in the forward pass for its backward pass (e.g. the sums
  /// normal_log_prob needs), in the node's parameter slots 2 and 3.
  void stash(int id, T first, T second) noexcept {
    nodes_[static_cast<std::size_t>(id)].scalar2 = first;
    nodes_[static_cast<std::size_t>(id)].scalar3 = second;
  }
  Op op(int id) const { return nodes_[static_cast<std::size_t>(id)].op; }  ///< the type of node `id`

 private:
  struct Node {
    Op op;
    bool needs_grad;
    int a, b, c;  // inputs (-1: none); slice_cols keeps its first column in b
    Index rows, cols;
    std::size_t offset;
    T scalar, scalar2, scalar3;  // op parameters (scale factor, leaky slope, mixture pi / sigma1 / sigma2)
  };

  // Fixed-size sources (small) are copied entry by entry: for a Matrix<T, 1, 1> source GCC 12 warns
  // -Warray-bounds about the packet path of Eigen's vectorised copy into a dynamic Map.
  template <class Derived> void copy_into(int id, const Eigen::MatrixBase<Derived>& v) {
    auto dst = value(id);
    if constexpr (Derived::SizeAtCompileTime != Eigen::Dynamic) {
      for (Index j = 0; j < v.cols(); ++j)
        for (Index i = 0; i < v.rows(); ++i) dst(i, j) = v(i, j);
    } else {
      dst = v;
    }
  }

  struct Sink {
    int id;
    T* gradient;
  };
  static constexpr std::size_t kAlign = 64 / sizeof(T);

  /// A 64-byte aligned buffer that never initialises its contents (every value is written by the op
  /// that makes it; adjoints are zeroed by backward()). Grows only when a step needs more than before.
  class Arena {
   public:
    T* data() noexcept { return data_.get(); }
    const T* data() const noexcept { return data_.get(); }
    std::size_t capacity() const noexcept { return capacity_; }
    /// Grows to at least `n` entries keeping the first `used` ones.
    void reserve(std::size_t n, std::size_t used) {
      if (n <= capacity_) return;
      std::unique_ptr<T[], Free> grown(static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(64))));
      if (used) std::copy_n(data_.get(), used, grown.get());
      data_ = std::move(grown);
      capacity_ = n;
    }
    void assign(const Arena& other, std::size_t used) {
      reserve(used, 0);
      if (used) std::copy_n(other.data_.get(), used, data_.get());
    }

   private:
    struct Free {
      void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t(64)); }
    };
    std::unique_ptr<T[], Free> data_;
    std::size_t capacity_ = 0;
  };

  void backward_node(int id) {
    const Node n = nodes_[static_cast<std::size_t>(id)];
    if (n.op == Op::leaf || !n.needs_grad) return;
    auto g = adjoint(id);
    auto v = value(id);
    const bool ga = n.a >= 0 && needs_grad(n.a), gb = n.b >= 0 && n.op != Op::slice_cols && needs_grad(n.b),
               gc = n.c >= 0 && needs_grad(n.c);
    switch (n.op) {
      case Op::matmul:  // C = A B: dA += dC B^T, dB += A^T dC
        if (ga) gemm<false, true>(adjoint(n.a), g, value(n.b));
        if (gb) gemm<true, false>(adjoint(n.b), value(n.a), g);
        break;
      case Op::matmul_tn:  // C = A^T B: dA += B dC^T, dB += A dC
        if (ga) gemm<false, true>(adjoint(n.a), value(n.b), g);
        if (gb) gemm<false, false>(adjoint(n.b), value(n.a), g);
        break;
      case Op::matmul_nt:  // C = A B^T: dA += dC B, dB += dC^T A
        if (ga) gemm<false, false>(adjoint(n.a), g, value(n.b));
        if (gb) gemm<true, false>(adjoint(n.b), g, value(n.a));
        break;
      case Op::add:
        if (ga) adjoint(n.a) += g;
        if (gb) adjoint(n.b) += g;
        break;
      case Op::add_row:  // C = A + 1 b (b a row vector): db += column sums of dC
        if (ga) adjoint(n.a) += g;
        if (gb) adjoint(n.b) += g.colwise().sum();
        break;
      case Op::add_col:  // C = A + b 1^T (b a column vector): db += row sums of dC
        if (ga) adjoint(n.a) += g;
        if (gb) adjoint(n.b) += g.rowwise().sum();
        break;
      case Op::sub:
        if (ga) adjoint(n.a) += g;
        if (gb) adjoint(n.b) -= g;
        break;
      case Op::mul:
        if (ga) adjoint(n.a).array() += g.array() * value(n.b).array();
        if (gb) adjoint(n.b).array() += g.array() * value(n.a).array();
        break;
      case Op::mul_row:  // C = A diag(b) (each column j scaled by b_j)
        if (ga) adjoint(n.a).array() += g.array().rowwise() * value(n.b).row(0).array();
        if (gb) adjoint(n.b) += (g.array() * value(n.a).array()).colwise().sum().matrix();
        break;
      case Op::div:
        if (ga) adjoint(n.a).array() += g.array() / value(n.b).array();
        if (gb) adjoint(n.b).array() -= g.array() * v.array() / value(n.b).array();
        break;
      case Op::neg: adjoint(n.a) -= g; break;
      case Op::scale: adjoint(n.a) += n.scalar * g; break;
      case Op::exp: adjoint(n.a).array() += g.array() * v.array(); break;
      case Op::log: adjoint(n.a).array() += g.array() / value(n.a).array(); break;
      case Op::log1p: adjoint(n.a).array() += g.array() / (T(1) + value(n.a).array()); break;
      case Op::square: adjoint(n.a).array() += T(2) * g.array() * value(n.a).array(); break;
      case Op::sqrt: adjoint(n.a).array() += g.array() / (T(2) * v.array()); break;
      case Op::tanh: adjoint(n.a).array() += g.array() * (T(1) - v.array().square()); break;
      case Op::sigmoid: adjoint(n.a).array() += g.array() * v.array() * (T(1) - v.array()); break;
      case Op::softplus: adjoint(n.a).array() += g.array() * pml::sigmoid(value(n.a).array()); break;
      case Op::relu: adjoint(n.a).array() += (value(n.a).array() > T(0)).select(g.array(), T(0)); break;
      case Op::leaky_relu: adjoint(n.a).array() += (value(n.a).array() > T(0)).select(g.array(), n.scalar * g.array()); break;
      case Op::sum: adjoint(n.a).array() += g(0, 0); break;
      case Op::mean: adjoint(n.a).array() += g(0, 0) / T(value(n.a).size()); break;
      case Op::sum_rows: adjoint(n.a).colwise() += n.scalar * g.col(0); break;  // out N x 1 (scalar: 1 or 1/D for means)
      case Op::sum_cols: adjoint(n.a).rowwise() += n.scalar * g.row(0); break;  // out 1 x D (scalar: 1 or 1/N)
      case Op::log_sum_exp_rows:  // da = g * softmax(a)
        adjoint(n.a).array() += ((value(n.a).colwise() - v.col(0)).array().exp()).colwise() * g.col(0).array();
        break;
      case Op::softmax_rows: {  // da = y * (g - rowsum(g * y))
        auto da = adjoint(n.a);
        for (Index i = 0; i < v.rows(); ++i) {
          const T dot = g.row(i).dot(v.row(i));
          da.row(i).array() += v.row(i).array() * (g.row(i).array() - dot);
        }
        break;
      }
      case Op::log_softmax_rows: {  // da = g - softmax(a) * rowsum(g)
        auto da = adjoint(n.a);
        for (Index i = 0; i < v.rows(); ++i) da.row(i).array() += g.row(i).array() - v.row(i).array().exp() * g.row(i).sum();
        break;
      }
      case Op::slice_cols: adjoint(n.a).middleCols(n.b, n.cols) += g; break;
      case Op::concat_cols:
        if (ga) adjoint(n.a) += g.leftCols(cols(n.a));
        if (gb) adjoint(n.b) += g.rightCols(cols(n.b));
        break;
      case Op::mask_mul:  // no gradient to the mask
        if (ga) adjoint(n.a).array() += g.array() * value(n.b).array();
        break;
      case Op::bce_with_logits: {  // sum softplus(l) - t l
        if (ga) adjoint(n.a).array() += g(0, 0) * (pml::sigmoid(value(n.a).array()) - value(n.b).array());
        if (gb) adjoint(n.b).array() -= g(0, 0) * value(n.a).array();
        break;
      }
      case Op::gaussian_nll: {  // sum 1/2 (log 2pi + s + (y - mu)^2 e^-s); a = mu, b = s (log variance), c = y
        const auto r = (value(n.c) - value(n.a)).array();
        const auto inv = (-value(n.b).array()).exp();
        if (ga) adjoint(n.a).array() -= g(0, 0) * r * inv;
        if (gb) adjoint(n.b).array() += g(0, 0) * T(0.5) * (T(1) - r.square() * inv);
        if (gc) adjoint(n.c).array() += g(0, 0) * r * inv;
        break;
      }
      case Op::softmax_cross_entropy: {  // -sum t log softmax(l): dl = softmax(l) rowsum(t) - t
        auto dl = adjoint(n.a);
        const auto l = value(n.a);
        const auto t = value(n.b);
        for (Index i = 0; i < l.rows(); ++i) {
          const T m = l.row(i).maxCoeff();
          const T lse = m + std::log((l.row(i).array() - m).exp().sum());
          if (ga) dl.row(i).array() += g(0, 0) * ((l.row(i).array() - lse).exp() * t.row(i).sum() - t.row(i).array());
          if (gb) adjoint(n.b).row(i).array() -= g(0, 0) * (l.row(i).array() - lse);
        }
        break;
      }
      case Op::kl_standard_normal:  // sum 1/2 (mu^2 + e^s - 1 - s); a = mu, b = s (log variance)
        if (ga) adjoint(n.a).array() += g(0, 0) * value(n.a).array();
        if (gb) adjoint(n.b).array() += g(0, 0) * T(0.5) * (value(n.b).array().exp() - T(1));
        break;
      case Op::reparameterize:  // z = mu + sigma * eps; a = mu, b = sigma, c = eps (no gradient)
        if (ga) adjoint(n.a) += g;
        if (gb) adjoint(n.b).array() += g.array() * value(n.c).array();
        break;
      case Op::scale_mixture_log_prob: {  // sum log(pi N(w|0,s1^2) + (1-pi) N(w|0,s2^2))
        const T pi = n.scalar, s1 = n.scalar2, s2 = n.scalar3;
        const auto w = value(n.a).array();
        // d/dw = -w (r1 / s1^2 + (1 - r1) / s2^2), r1 = sigmoid(l1 - l2) the first component's responsibility
        const T c = std::log(pi) - std::log(s1) - std::log1p(-pi) + std::log(s2);
        const T inv1 = T(1) / (s1 * s1), inv2 = T(1) / (s2 * s2);
        // one statement: the sigmoid expression refers to temporaries that live until its end
        adjoint(n.a).array() -= g(0, 0) * w * (inv2 + (inv1 - inv2) * pml::sigmoid(c - T(0.5) * (inv1 - inv2) * w.square()));
        break;
      }
      case Op::bias_activation: {  // y = act(x + 1 b): dpre = g act'(y) (written over g, which no one reads
                                   // after this node); dx += dpre, db += column sums of dpre
        const T slope = n.scalar2;
        auto ga_ = g.array();
        const auto y = v.array();
        switch (static_cast<Activation>(int(n.scalar))) {
          case Activation::relu: ga_ *= (y > T(0)).template cast<T>(); break;
          case Activation::leaky_relu: ga_ *= (y > T(0)).select(Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>::Ones(y.rows(), y.cols()), slope); break;
          case Activation::tanh: ga_ *= T(1) - y.square(); break;
          case Activation::sigmoid: ga_ *= y * (T(1) - y); break;
          case Activation::softplus: ga_ *= -(-y).expm1(); break;  // sigmoid(x) = 1 - exp(-softplus(x))
          case Activation::identity: break;
        }
        if (ga) adjoint(n.a) += g;
        if (gb) adjoint(n.b) += g.colwise().sum();
        break;
      }
      case Op::normal_log_prob: {  // sum log N(y | mu, sigma); a = y, b = mu, c = sigma; mu, sigma same shape or 1 x 1
        const auto y = value(n.a), mu = value(n.b), sigma = value(n.c);
        const bool mu1 = mu.size() == 1 && y.size() != 1, s1 = sigma.size() == 1 && y.size() != 1;
        const T gg = g(0, 0);
        if (mu1 && s1) {  // the forward pass stashed r = sum(y - mu) and r2 = sum (y - mu)^2
          const T m = mu(0, 0), s = sigma(0, 0), inv2 = T(1) / (s * s), r = n.scalar2, r2 = n.scalar3;
          if (gb) adjoint(n.b)(0, 0) += gg * r * inv2;
          if (gc) adjoint(n.c)(0, 0) += gg * (r2 * inv2 / s - T(y.size()) / s);
          if (ga) adjoint(n.a).array() -= gg * (y.array() - m) * inv2;
          break;
        }
        if (!mu1 && !s1) {  // vectorised: every entry its own mean and sd
          const auto z = (y.array() - mu.array()) / sigma.array();
          if (ga) adjoint(n.a).array() -= gg * z / sigma.array();
          if (gb) adjoint(n.b).array() += gg * z / sigma.array();
          if (gc) adjoint(n.c).array() += gg * (z.square() - T(1)) / sigma.array();
          break;
        }
        for (Index i = 0; i < y.size(); ++i) {
          const T m = mu1 ? mu(0, 0) : mu(i), s = s1 ? sigma(0, 0) : sigma(i);
          const T z = (y(i) - m) / s;
          if (ga) adjoint(n.a)(i) -= gg * z / s;
          if (gb) adjoint(n.b)(mu1 ? 0 : i) += gg * z / s;
          if (gc) adjoint(n.c)(s1 ? 0 : i) += gg * (z * z - T(1)) / s;
        }
        break;
      }
      case Op::leaf: break;
    }
  }

  /// Eigen's level-3 blocking with its packing buffers in the tape's arenas (grown when a product needs
  /// more than any before, so a steady-state step allocates nothing).
  class Blocking : public Eigen::internal::level3_blocking<T, T> {
   public:
    Blocking(Index m, Index n, Index k, Arena& a, Arena& b) {
      this->m_mc = m;
      this->m_nc = n;
      this->m_kc = k;
      Eigen::internal::computeProductBlockingSizes<T, T, 1>(this->m_kc, this->m_mc, this->m_nc, Index(1));
      const auto size_a = static_cast<std::size_t>(this->m_mc * this->m_kc), size_b = static_cast<std::size_t>(this->m_kc * this->m_nc);
      if (size_a > a.capacity()) a.reserve(size_a, 0);
      if (size_b > b.capacity()) b.reserve(size_b, 0);
      this->m_blockA = a.data();
      this->m_blockB = b.data();
    }
    void initParallel(Index, Index, Index, Index) {}
    void allocateA() {}
    void allocateB() {}
    void allocateAll() {}
  };

  std::vector<Node> nodes_;
  Arena packing_a_, packing_b_;  // GEMM packing buffers
  Arena values_, adjoints_;
  std::size_t used_ = 0;  // entries of the arenas in use
  std::vector<Sink> sinks_;
};

}  // namespace pml::ad
