#pragma once
/// @file
/// Reverse-mode automatic differentiation over matrix-valued nodes (the Stan `var_value<Matrix>` idea):
/// one node per matrix operation, values and adjoints in an arena that is reused from one step to the
/// next, so that after the first step a step allocates nothing.
///
/// The operations are in ops.hpp, one small struct per op in its family header under ops/ (forward pass,
/// backward pass and the op's own parameters side by side); a node keeps a pointer to its op's backward
/// function and the op's parameters in a small fixed-size buffer.

#include <array>
#include <cmath>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#if defined(__linux__)
#include <sys/mman.h>  // madvise: transparent huge pages for the large arenas
#endif

#include "pml/core/check.hpp"
#include "pml/core/enum_names.hpp"
#include "pml/core/parallel.hpp"
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
  /// The node's adjoint d(output)/d(node), filled by Tape::backward() (for an op's own working entries,
  /// such as lstm_sequence's blocks after h_t and c_t, unspecified: see the op).
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
/// Bytes of a node's op data: the largest is three scalars of double (the scale-mixture prior's pi,
/// sigma1, sigma2).
inline constexpr std::size_t kOpDataSize = 24;

/// The inputs of a node: up to three earlier nodes (-1: none).
struct Inputs {
  int a = -1, b = -1, c = -1;
};

/// One node of the tape. An op's forward and backward functions read its inputs' values and adjoints
/// through the tape (Tape::value(n.a), Tape::adjoint(n.a)) and its own data with op_data().
template <Real T> struct Node {
  /// The op's backward pass: adds this node's adjoint `g` (its value is `v`) into its inputs' adjoints.
  using Backward = void (*)(Tape<T>& tape, const Node& n, Eigen::Map<Matrix<T>> v, Eigen::Map<Matrix<T>> g);
  Backward backward;  // nullptr for a leaf
  std::size_t offset;  // of the value and the adjoint in the arenas
  Index rows, cols;
  /// How many adjoint entries (from the first, column-major) backward() zeroes before the backward passes:
  /// rows·cols unless the op's forward pass says fewer (a node whose backward pass overwrites the rest of its
  /// own adjoint before reading it, e.g. lstm_sequence's working blocks).
  Index zeroed;
  int a, b, c;  // inputs (-1: none)
  bool needs_grad;  // backward() computes this node's adjoint
  bool grad_a, grad_b, grad_c;  // the inputs that need a gradient (fixed when the node is made)
  alignas(8) unsigned char data[kOpDataSize];  // the op's Data, trivially copyable
};

/// The op data `D` of a node (copied out of the node's buffer).
template <class D, Real T> D op_data(const Node<T>& n) noexcept {
  static_assert(sizeof(D) <= kOpDataSize && alignof(D) <= 8 && std::is_trivially_copyable_v<D>);
  D d;
  std::memcpy(&d, n.data, sizeof(D));
  return d;
}
/// Stores op data `d` in a node (the forward pass may keep numbers it computed for the backward pass).
template <class D, Real T> void set_op_data(Node<T>& n, const D& d) noexcept {
  static_assert(sizeof(D) <= kOpDataSize && alignof(D) <= 8 && std::is_trivially_copyable_v<D>,
                "an op's Data must be trivially copyable and fit the node's buffer (detail::kOpDataSize)");
  std::memcpy(n.data, &d, sizeof(D));
}
}  // namespace detail

/// The tape: nodes in creation order, their values and adjoints in two arenas. reset() forgets the
/// nodes but keeps every buffer's capacity, so a training loop that builds the same graph each step
/// stops allocating after its first step.
template <Real T> class Tape {
 public:
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
    Var<T> out = push_leaf(v.rows(), v.cols());
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
    Var<T> out = push_leaf(rows, cols);
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

  /// Back-propagates from a 1 x 1 node: zeroes the adjoints of the nodes that need a gradient (the first
  /// Node::zeroed entries of each: all of them, unless the op says its backward pass writes the rest), seeds
  /// d(out)/d(out) = 1, then runs the nodes' backward passes in reverse creation order. Calling it
  /// again (after changing nothing) gives the same adjoints.
  /// @throw std::invalid_argument if `out` is not 1 x 1.
  void backward(const Var<T>& out) {
    if (out.rows() != 1 || out.cols() != 1)
      pml::detail::throw_shape("Tape::backward", "the output must be 1 x 1, got " + std::to_string(out.rows()) + "x" +
                                                     std::to_string(out.cols()));
    for (const Node& n : nodes_)
      if (n.needs_grad) std::fill_n(adjoints_.data() + n.offset, static_cast<std::size_t>(n.zeroed), T(0));
    adjoint(out.id)(0, 0) = T(1);
    for (std::size_t id = static_cast<std::size_t>(out.id) + 1; id-- > 0;) {
      const Node& n = nodes_[id];
      if (n.backward && n.needs_grad)
        n.backward(*this, n, {values_.data() + n.offset, n.rows, n.cols}, {adjoints_.data() + n.offset, n.rows, n.cols});
    }
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
    gemm_impl<TransA, TransB>(c, a, b, alpha);
  }
  /// A block of a column-major matrix: its own rows and columns, the leading dimension of its parent.
  using StridedMap = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;
  /// gemm() on blocks of larger matrices (e.g. one time step's rows of a sequence's matrix): the same
  /// kernel, each operand read or written with its own leading dimension.
  template <bool TransA, bool TransB> void gemm(StridedMap c, const StridedMap& a, const StridedMap& b, T alpha = T(1)) {
    gemm_impl<TransA, TransB>(c, a, b, alpha);
  }

  /// Packs op(B) (k x n; op = transpose when TransB) into the tape's buffer `slot` (0 or 1) for products
  /// gemm_packed(slot, C, A) with A of `m` rows: Eigen's GEMM packs its right operand at every product, so a
  /// recurrent layer's weights, the same operand at every time step, are packed once per pass instead.
  /// The packing holds op(B)'s values (B may change afterwards) until the slot is packed again.
  template <bool TransB> void pack_rhs(int slot, const StridedMap& b, Index m) {
    constexpr int order = TransB ? Eigen::RowMajor : Eigen::ColMajor;
    using Mapper = Eigen::internal::const_blas_data_mapper<T, Index, order>;
    Eigen::internal::gemm_pack_rhs<T, Index, Mapper, Traits::nr, order> pack;
    if (slot < 0 || slot >= static_cast<int>(packed_.size()))
      pml::detail::throw_domain("Tape::pack_rhs", "slot", "be 0 or 1", std::to_string(slot));
    Packed& p = packed_[static_cast<std::size_t>(slot)];
    p.m = m;
    p.n = TransB ? b.rows() : b.cols();
    p.k = TransB ? b.cols() : b.rows();
    // C's columns in pieces fixed by the shape alone (as gemm()), each packed with its own blocking
    p.pieces = std::clamp<Index>(std::min(p.n / 64, m * p.n * p.k >> 20), 1, 16);
    p.piece = (p.n + p.pieces - 1) / p.pieces;
    if (static_cast<Index>(p.b.size()) < p.pieces) p.b.resize(static_cast<std::size_t>(p.pieces));
    const Mapper rhs(b.data(), b.outerStride());
    for (Index q = 0; q < p.pieces; ++q) {
      const Index start = q * p.piece, size = std::min(p.piece, p.n - start);
      if (size <= 0) continue;
      Index kc = p.k, mc = m, nc = size;
      Eigen::internal::computeProductBlockingSizes<T, T, 1>(kc, mc, nc, Index(1));
      p.blocking[static_cast<std::size_t>(q)] = {kc, mc, nc};
      Arena& buffer = p.b[static_cast<std::size_t>(q)];
      buffer.reserve(static_cast<std::size_t>(p.k * size), 0);
      for (Index k2 = 0; k2 < p.k; k2 += kc) {
        const Index actual_kc = std::min(k2 + kc, p.k) - k2;
        for (Index j2 = 0; j2 < size; j2 += nc)
          pack(buffer.data() + k2 * size + actual_kc * j2, rhs.getSubMapper(k2, start + j2), actual_kc, std::min(j2 + nc, size) - j2);
      }
    }
  }
  /// C += alpha A op(B) for op(B) packed in `slot` by pack_rhs() (C m x n, A m x k; m as packed for): the
  /// same kernel as gemm(), the right operand not packed again.
  /// @throw std::invalid_argument if the shapes are not the packed ones.
  void gemm_packed(int slot, StridedMap c, const StridedMap& a, T alpha = T(1)) {
    if (slot < 0 || slot >= static_cast<int>(packed_.size()))
      pml::detail::throw_domain("Tape::gemm_packed", "slot", "be 0 or 1", std::to_string(slot));
    const Packed& p = packed_[static_cast<std::size_t>(slot)];
    if (a.rows() != p.m || c.rows() != p.m || a.cols() != p.k || c.cols() != p.n)
      pml::detail::throw_shape("Tape::gemm_packed", "C is " + std::to_string(c.rows()) + "x" + std::to_string(c.cols()) + " and A " +
                                                        std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + ", packed for " +
                                                        std::to_string(p.m) + " x " + std::to_string(p.k) + " times " + std::to_string(p.k) + " x " +
                                                        std::to_string(p.n));
    if (p.m == 0 || p.n == 0 || p.k == 0) return;
    using LhsMapper = Eigen::internal::const_blas_data_mapper<T, Index, Eigen::ColMajor>;
    using ResMapper = Eigen::internal::blas_data_mapper<T, Index, Eigen::ColMajor, Eigen::Unaligned, 1>;
    if (static_cast<Index>(packing_.size()) < p.pieces) packing_.resize(static_cast<std::size_t>(p.pieces));
    const LhsMapper lhs(a.data(), a.outerStride());
    const ResMapper res(c.data(), c.outerStride());
    pml::detail::parallel_for(p.pieces, [&](Index q) {
      const Index start = q * p.piece, size = std::min(p.piece, p.n - start);
      if (size <= 0) return;
      Eigen::internal::gemm_pack_lhs<T, Index, LhsMapper, Traits::mr, Traits::LhsProgress, typename Traits::LhsPacket4Packing, Eigen::ColMajor> pack_lhs;
      Eigen::internal::gebp_kernel<T, T, Index, ResMapper, Traits::mr, Traits::nr, false, false> gebp;
      const auto [kc, mc, nc] = p.blocking[static_cast<std::size_t>(q)];
      Arena& block_a = packing_[static_cast<std::size_t>(q)].first;
      block_a.reserve(static_cast<std::size_t>(kc * mc), 0);
      const T* const block_b = p.b[static_cast<std::size_t>(q)].data();
      for (Index i2 = 0; i2 < p.m; i2 += mc) {
        const Index actual_mc = std::min(i2 + mc, p.m) - i2;
        for (Index k2 = 0; k2 < p.k; k2 += kc) {
          const Index actual_kc = std::min(k2 + kc, p.k) - k2;
          pack_lhs(block_a.data(), lhs.getSubMapper(i2, k2), actual_kc, actual_mc);
          for (Index j2 = 0; j2 < size; j2 += nc)
            gebp(res.getSubMapper(i2, start + j2), block_a.data(), block_b + k2 * size + actual_kc * j2, actual_mc, actual_kc,
                 std::min(j2 + nc, size) - j2, alpha);
        }
      }
    });
  }

  /// Workspace for an op that runs `tasks` tasks in parallel (pml::detail::parallel_for over task indices,
  /// e.g. a convolution's groups of rows): task i gets task_scratch(i), `scalars` entries of its own, and
  /// task_gemm(i, ...) runs on its own packing buffers. Call before the parallel loop (it may allocate;
  /// a steady step that asks for no more than before does not).
  void prepare_tasks(Index tasks, std::size_t scalars) {
    if (static_cast<Index>(tasks_.size()) < tasks) tasks_.resize(static_cast<std::size_t>(tasks));
    for (Index i = 0; i < tasks; ++i) tasks_[static_cast<std::size_t>(i)].scratch.reserve(scalars, 0);
  }
  /// Task `task`'s scratch (as sized by the last prepare_tasks(); 64-byte aligned, not initialised).
  T* task_scratch(Index task) noexcept { return tasks_[static_cast<std::size_t>(task)].scratch.data(); }
  /// C += alpha op(A) op(B) on the calling thread with task `task`'s packing buffers: the GEMM of one task
  /// of a parallel loop (prepare_tasks() first). Every product, however small, runs on Eigen's kernel (a
  /// convolution's blocks must all take the same path, see ConvCore).
  template <bool TransA, bool TransB> void task_gemm(Index task, StridedMap c, const StridedMap& a, const StridedMap& b, T alpha = T(1)) {
    const Index m = c.rows(), n = c.cols(), k = TransA ? a.rows() : a.cols();
    if (m == 0 || n == 0 || k == 0) return;
    using Kernel = Eigen::internal::general_matrix_matrix_product<Index, T, TransA ? Eigen::RowMajor : Eigen::ColMajor, false, T,
                                                                  TransB ? Eigen::RowMajor : Eigen::ColMajor, false, Eigen::ColMajor, 1>;
    TaskSpace& s = tasks_[static_cast<std::size_t>(task)];
    Blocking blocking(m, n, k, s.a, s.b);
    Kernel::run(m, n, k, a.data(), a.outerStride(), b.data(), b.outerStride(), c.data(), 1, c.outerStride(), alpha, blocking, nullptr);
  }

 private:
  template <bool TransA, bool TransB, class MC, class MA, class MB> void gemm_impl(MC& c, const MA& a, const MB& b, T alpha) {
    const Index m = c.rows(), n = c.cols(), k = TransA ? a.rows() : a.cols();
    if (m == 0 || n == 0 || k == 0) return;
    if (m * n * k <= 4096) {
      if constexpr (TransA && TransB) c.noalias() += alpha * a.transpose().lazyProduct(b.transpose());
      else if constexpr (TransA) c.noalias() += alpha * a.transpose().lazyProduct(b);
      else if constexpr (TransB) c.noalias() += alpha * a.lazyProduct(b.transpose());
      else c.noalias() += alpha * a.lazyProduct(b);
      return;
    }
    using Kernel = Eigen::internal::general_matrix_matrix_product<Index, T, TransA ? Eigen::RowMajor : Eigen::ColMajor, false, T,
                                                                  TransB ? Eigen::RowMajor : Eigen::ColMajor, false, Eigen::ColMajor, 1>;
    // A large product is split into pieces of C's longer side, fixed by the shape alone (at least 64 rows or
    // columns and 2^20 multiply-adds each, at most 16 pieces), each with its own packing buffers, on several
    // threads (core/parallel.hpp): the same bits for any thread count. Smaller products stay on one thread
    // (waking a team costs more than they take).
    const bool by_rows = m > n;
    const Index side = by_rows ? m : n;
    const Index pieces = std::clamp<Index>(std::min(side / 64, m * n * k >> 20), 1, 16);
    const Index piece = (side + pieces - 1) / pieces;
    const Index lda = a.outerStride(), ldb = b.outerStride(), ldc = c.outerStride();
    if (static_cast<Index>(packing_.size()) < pieces) packing_.resize(static_cast<std::size_t>(pieces));
    pml::detail::parallel_for(pieces, [&](Index p) {
      const Index start = p * piece, size = std::min(piece, side - start);
      if (size <= 0) return;
      auto& buffers = packing_[static_cast<std::size_t>(p)];
      if (by_rows) {  // rows [start, start + size) of C and op(A)
        Blocking blocking(size, n, k, buffers.first, buffers.second);
        Kernel::run(size, n, k, a.data() + (TransA ? start * lda : start), lda, b.data(), ldb, c.data() + start, 1, ldc, alpha, blocking, nullptr);
      } else {  // columns [start, start + size) of C and op(B)
        Blocking blocking(m, size, k, buffers.first, buffers.second);
        Kernel::run(m, size, k, a.data(), lda, b.data() + (TransB ? start : start * ldb), ldb, c.data() + start * ldc, 1, ldc, alpha, blocking,
                    nullptr);
      }
    });
  }

 public:

  // ---- node construction (used by the op functions in ops/; not needed by users) ----
  /// Appends a node of type `Op` (a struct with static `forward` and `backward` functions, see ops/)
  /// of the given shape and inputs and runs `Op::forward`, which fills the node's value. The node needs
  /// a gradient when any of its inputs does.
  template <class Op> Var<T> record(Index rows, Index cols, detail::Inputs in) {
    static_assert(!requires { typename Op::Data; }, "record<Op>: this op needs its Data");
    Node& n = push_op(&Op::backward, rows, cols, in);
    Op::forward(*this, n, Eigen::Map<Matrix<T>>(values_.data() + n.offset, n.rows, n.cols));
    return Var<T>{this, static_cast<int>(nodes_.size() - 1)};
  }
  /// The same for an op with parameters: `data` (the op's own trivially copyable `Op::Data`) is kept in
  /// the node for its forward and backward passes.
  template <class Op> Var<T> record(Index rows, Index cols, detail::Inputs in, const typename Op::Data& data) {
    Node& n = push_op(&Op::backward, rows, cols, in);
    detail::set_op_data(n, data);
    Op::forward(*this, n, Eigen::Map<Matrix<T>>(values_.data() + n.offset, n.rows, n.cols));
    return Var<T>{this, static_cast<int>(nodes_.size() - 1)};
  }

 private:
  using Node = detail::Node<T>;

  Var<T> push_leaf(Index rows, Index cols) {
    push(nullptr, rows, cols, detail::Inputs{}, true);
    return Var<T>{this, static_cast<int>(nodes_.size() - 1)};
  }
  Node& push_op(typename Node::Backward backward, Index rows, Index cols, detail::Inputs in) {
    const bool ga = in.a >= 0 && needs_grad(in.a), gb = in.b >= 0 && needs_grad(in.b), gc = in.c >= 0 && needs_grad(in.c);
    Node& n = push(backward, rows, cols, in, ga || gb || gc);
    n.grad_a = ga;
    n.grad_b = gb;
    n.grad_c = gc;
    return n;
  }
  Node& push(typename Node::Backward backward, Index rows, Index cols, detail::Inputs in, bool grad) {
    const std::size_t count = static_cast<std::size_t>(rows * cols);
    const std::size_t offset = used_;
    // every node starts on a 64-byte boundary (the arenas are 64-byte aligned): aligned GEMM operands
    used_ = offset + (count + kAlign - 1) / kAlign * kAlign;
    if (used_ > values_.capacity()) {
      const std::size_t want = std::max(used_, 2 * values_.capacity());
      values_.reserve(want, offset);
      adjoints_.reserve(want, offset);
    }
    Node& n = nodes_.emplace_back();
    n.backward = backward;
    n.offset = offset;
    n.rows = rows;
    n.cols = cols;
    n.a = in.a;
    n.b = in.b;
    n.c = in.c;
    n.needs_grad = grad;
    n.zeroed = rows * cols;
    return n;
  }

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
  /// From 4 MiB on (Linux) it is aligned to 2 MiB and advised to use transparent huge pages
  /// (madvise(MADV_HUGEPAGE); with the kernel's usual "madvise" setting nothing else would): a sequence's
  /// or a convolution's node read a column block at a time touches a 4 KiB page per column; the huge
  /// pages made the LSTM step about 5% and the local-reparameterisation convolution about 6% faster
  /// (benchmarks/compare/lenet.cpp, with and without the advice).
  class Arena {
   public:
    T* data() noexcept { return data_.get(); }
    const T* data() const noexcept { return data_.get(); }
    std::size_t capacity() const noexcept { return capacity_; }
    /// Grows to at least `n` entries keeping the first `used` ones.
    void reserve(std::size_t n, std::size_t used) {
      if (n <= capacity_) return;
      constexpr std::size_t huge = std::size_t(2) << 20;
      const std::size_t bytes = n * sizeof(T);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      const std::size_t align = bytes >= 2 * huge ? huge : 64;
#else
      const std::size_t align = 64;
#endif
      std::unique_ptr<T[], Free> grown(static_cast<T*>(::operator new[](bytes, std::align_val_t(align))), Free{align});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (align == huge) ::madvise(grown.get(), bytes / huge * huge, MADV_HUGEPAGE);  // advice only: a refusal changes nothing
#endif
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
      std::size_t align = 64;  ///< the alignment it was allocated with (operator delete[] must be given the same)
      void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t(align)); }
    };
    std::unique_ptr<T[], Free> data_;
    std::size_t capacity_ = 0;
  };

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
  std::vector<std::pair<Arena, Arena>> packing_;  // GEMM packing buffers (A, B) of each piece of a product
  using Traits = Eigen::internal::gebp_traits<T, T>;  // Eigen's GEMM kernel's register blocking (mr, nr)
  /// A right operand packed by pack_rhs(): its shape, the pieces of its columns, each piece's packing and blocking.
  struct Packed {
    Index m = 0, n = 0, k = 0, pieces = 0, piece = 0;
    std::vector<Arena> b;
    std::array<std::array<Index, 3>, 16> blocking{};  // kc, mc, nc of each piece
  };
  std::array<Packed, 2> packed_;
  struct TaskSpace {
    Arena scratch, a, b;  // a task's scratch and its GEMM packing buffers
  };
  std::vector<TaskSpace> tasks_;  // prepare_tasks()
  Arena values_, adjoints_;
  std::size_t used_ = 0;  // entries of the arenas in use
  std::vector<Sink> sinks_;
};

}  // namespace pml::ad
