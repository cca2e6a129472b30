#pragma once
/// @file
/// Recurrent cells as single nodes: the LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate;
/// PyTorch's torch.nn.LSTM equations and gate order i, f, g, o) and the GRU cell (Cho et al. 2014, PyTorch's
/// torch.nn.GRU form with r applied to W_hn h + b_hn). The matrix products stay separate nodes (the tape's
/// GEMM); a cell node does the gates' elementwise work and its backward pass in one sweep.

#include <algorithm>
#include <string>

#include "pml/autodiff/ops/common.hpp"
#include "pml/core/simd.hpp"
#include "pml/core/special.hpp"

namespace pml::ad {
namespace detail {

/// Row chunks of at most 256 entries of one column: the cells work on them with Eigen's packet math in
/// stack buffers (no allocation), a column of each gate block at a time (column-major: contiguous).
template <Real T> using CellBuffer = Eigen::Array<T, Eigen::Dynamic, 1, 0, 256, 1>;
template <Real T> auto segment(const Map<T>& m, Index col, Index r0, Index len) { return m.col(col).segment(r0, len).array(); }
template <class Body> void cell_chunks(Index rows, Index cols, Body&& body) {
  for (Index j = 0; j < cols; ++j)
    for (Index r0 = 0; r0 < rows; r0 += 256) body(j, r0, std::min<Index>(256, rows - r0));
}

/// [h c] (N x 2H) from the pre-activations a = x W_ihᵀ + h W_hhᵀ + b (N x 4H, blocks i, f, g, o) and the
/// previous cell state c_prev (N x H): c = σ(f)⊙c_prev + σ(i)⊙tanh(g), h = σ(o)⊙tanh(c). The backward pass
/// recomputes the gates from a (cheaper than keeping them: four vectorised activations per entry).
template <Real T> struct LstmCell {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto a = t.value(n.a);
    const auto cp = t.value(n.b);
    const Index h = cp.cols();
    cell_chunks(cp.rows(), h, [&](Index j, Index r0, Index len) {
      const CellBuffer<T> c = pml::sigmoid(segment(a, h + j, r0, len)) * segment(cp, j, r0, len) +
                              pml::sigmoid(segment(a, j, r0, len)) * pml::simd::tanh(segment(a, 2 * h + j, r0, len));
      v.col(h + j).segment(r0, len) = c.matrix();
      v.col(j).segment(r0, len) = (pml::sigmoid(segment(a, 3 * h + j, r0, len)) * pml::simd::tanh(c)).matrix();
    });
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    const auto a = t.value(n.a);
    const auto cp = t.value(n.b);
    const Index h = cp.cols();
    cell_chunks(cp.rows(), h, [&](Index j, Index r0, Index len) {
      const CellBuffer<T> i = pml::sigmoid(segment(a, j, r0, len)), f = pml::sigmoid(segment(a, h + j, r0, len)),
                          gg = pml::simd::tanh(segment(a, 2 * h + j, r0, len)), o = pml::sigmoid(segment(a, 3 * h + j, r0, len)),
                          tc = pml::simd::tanh(segment(v, h + j, r0, len));
      const CellBuffer<T> dh = segment(g, j, r0, len);
      const CellBuffer<T> dc = segment(g, h + j, r0, len) + dh * o * (T(1) - tc.square());
      if (n.grad_a) {
        auto da = t.adjoint(n.a);
        da.col(j).segment(r0, len).array() += dc * gg * i * (T(1) - i);
        da.col(h + j).segment(r0, len).array() += dc * segment(cp, j, r0, len) * f * (T(1) - f);
        da.col(2 * h + j).segment(r0, len).array() += dc * i * (T(1) - gg.square());
        da.col(3 * h + j).segment(r0, len).array() += dh * tc * o * (T(1) - o);
      }
      if (n.grad_b) t.adjoint(n.b).col(j).segment(r0, len).array() += dc * f;
    });
  }
};

/// h' (N x H) from gx = x W_ihᵀ + b_ih and gh = h W_hhᵀ + b_hh (N x 3H each, blocks r, z, n) and h (N x H):
/// r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r⊙gh_n), h' = (1 − z)⊙n + z⊙h.
template <Real T> struct GruCell {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto gx = t.value(n.a);
    const auto gh = t.value(n.b);
    const auto hp = t.value(n.c);
    const Index h = hp.cols();
    cell_chunks(hp.rows(), h, [&](Index j, Index r0, Index len) {
      const CellBuffer<T> r = pml::sigmoid(segment(gx, j, r0, len) + segment(gh, j, r0, len)),
                          z = pml::sigmoid(segment(gx, h + j, r0, len) + segment(gh, h + j, r0, len));
      const CellBuffer<T> nn = pml::simd::tanh(segment(gx, 2 * h + j, r0, len) + r * segment(gh, 2 * h + j, r0, len));
      v.col(j).segment(r0, len) = ((T(1) - z) * nn + z * segment(hp, j, r0, len)).matrix();
    });
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const auto gx = t.value(n.a);
    const auto gh = t.value(n.b);
    const auto hp = t.value(n.c);
    const Index h = hp.cols();
    cell_chunks(hp.rows(), h, [&](Index j, Index r0, Index len) {
      const CellBuffer<T> r = pml::sigmoid(segment(gx, j, r0, len) + segment(gh, j, r0, len)),
                          z = pml::sigmoid(segment(gx, h + j, r0, len) + segment(gh, h + j, r0, len));
      const CellBuffer<T> nn = pml::simd::tanh(segment(gx, 2 * h + j, r0, len) + r * segment(gh, 2 * h + j, r0, len));
      const CellBuffer<T> d = segment(g, j, r0, len);
      const CellBuffer<T> dn = d * (T(1) - z) * (T(1) - nn.square());
      const CellBuffer<T> dr = dn * segment(gh, 2 * h + j, r0, len) * r * (T(1) - r);
      const CellBuffer<T> dz = d * (segment(hp, j, r0, len) - nn) * z * (T(1) - z);
      if (n.grad_a) {
        auto da = t.adjoint(n.a);
        da.col(j).segment(r0, len).array() += dr;
        da.col(h + j).segment(r0, len).array() += dz;
        da.col(2 * h + j).segment(r0, len).array() += dn;
      }
      if (n.grad_b) {
        auto db = t.adjoint(n.b);
        db.col(j).segment(r0, len).array() += dr;
        db.col(h + j).segment(r0, len).array() += dz;
        db.col(2 * h + j).segment(r0, len).array() += dn * r;
      }
      if (n.grad_c) t.adjoint(n.c).col(j).segment(r0, len).array() += d * z;
    });
  }
};

/// A whole LSTM sequence as one node (the layout is lstm_sequence()'s). Each step copies x_t into its
/// rows, sets h_{t-1} ⊙ m beside it and a column of ones after them, and computes its gates with one GEMM
/// [x_t | h_{t-1} ⊙ m | 1] [W_ih | W_hh | b]ᵀ on those blocks (input projection, recurrence and bias at
/// once; the weights packed for the GEMM kernel once per pass, Tape::pack_rhs), then applies them in
/// place (kept activated for the backward pass). The backward pass runs the steps in reverse: the gates'
/// adjoints D_t into the node's own adjoint, one GEMM D_t W_hh per step for h_{t-1} (and D_t W_ih for x_t
/// when x needs it), and after the loop one GEMM Dᵀ [x | h ⊙ m | 1] over all steps for the weights and
/// the bias (the weight gradient batched over time, as cuDNN's LSTM does).
template <Real T> struct LstmSequence {
  struct Data {
    Index steps;
  };
  using Strided = typename Tape<T>::StridedMap;
  using Column = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
  /// Rows [r0, r0 + len) of column k of a column-major matrix whose leading dimension is ld.
  static Column column(T* data, Index ld, Index k, Index r0, Index len) { return Column(data + k * ld + r0, len); }
  static Strided rows_block(T* data, Index ld, Index first_col, Index r0, Index rows, Index cols) {
    return Strided(data + first_col * ld + r0, rows, cols, Eigen::OuterStride<>(ld));
  }
  struct Shape {
    Index rows, h, f, ld;  ///< N, H, F, the node's rows (steps·N)
    bool masked;
    Index x() const { return 2 * h; }              ///< first column of x_t
    Index hm() const { return 2 * h + f; }         ///< first column of h_{t-1} ⊙ m
    Index ones() const { return 3 * h + f; }       ///< the column of ones
    Index gates() const { return 3 * h + f + 1; }  ///< first column of the gates i, f, g, o
  };
  static Shape shape(Tape<T>& t, const Node<T>& n) {
    const Index h = t.rows(n.b) / 4;
    return {t.rows(n.c), h, t.cols(n.b) - h - 1, n.rows, t.cols(n.c) == 3 * h};
  }

  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Data d = op_data<Data>(n);
    const Shape z = shape(t, n);
    const Index rows = z.rows, h = z.h, ld = z.ld;
    auto x = t.value(n.a);
    auto w = t.value(n.b);
    auto s0 = t.value(n.c);
    t.template pack_rhs<true>(0, Strided(w.data(), w.rows(), w.cols(), Eigen::OuterStride<>(w.rows())), rows);  // packed once for every step
    n.zeroed = 2 * h * ld;  // only h_t's and c_t's adjoints are accumulated; the backward pass writes the rest before reading it
    for (Index s = 0; s < d.steps; ++s) {
      const Index r0 = s * rows;
      // h_{t-1} and c_{t-1}: the given state at the first step, the previous step's rows after it
      T* const hp = s == 0 ? s0.data() : v.data() + (r0 - rows);
      T* const cp = s == 0 ? s0.data() + h * rows : v.data() + h * ld + (r0 - rows);
      const Index ldp = s == 0 ? rows : ld;
      v.block(r0, z.x(), rows, z.f) = x.middleCols(s * z.f, z.f);
      for (Index k = 0; k < h; ++k) {
        if (z.masked) column(v.data(), ld, z.hm() + k, r0, rows) = column(hp, ldp, k, 0, rows) * column(s0.data(), rows, 2 * h + k, 0, rows);
        else column(v.data(), ld, z.hm() + k, r0, rows) = column(hp, ldp, k, 0, rows);
      }
      column(v.data(), ld, z.ones(), r0, rows).setOnes();
      Strided gates = rows_block(v.data(), ld, z.gates(), r0, rows, 4 * h);
      gates.setZero();
      t.gemm_packed(0, gates, rows_block(v.data(), ld, z.x(), r0, rows, z.f + h + 1));
      cell_chunks(rows, h, [&](Index j, Index q0, Index len) {
        Column ai = column(v.data(), ld, z.gates() + j, r0 + q0, len), af = column(v.data(), ld, z.gates() + h + j, r0 + q0, len),
               ag = column(v.data(), ld, z.gates() + 2 * h + j, r0 + q0, len), ao = column(v.data(), ld, z.gates() + 3 * h + j, r0 + q0, len);
        const CellBuffer<T> i = pml::sigmoid(ai), f = pml::sigmoid(af), g = pml::simd::tanh(ag), o = pml::sigmoid(ao);
        const CellBuffer<T> c = f * column(cp, ldp, j, q0, len) + i * g;
        ai = i;
        af = f;
        ag = g;
        ao = o;
        column(v.data(), ld, h + j, r0 + q0, len) = c;
        column(v.data(), ld, j, r0 + q0, len) = o * pml::simd::tanh(c);
      });
    }
  }

  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    const Data d = op_data<Data>(n);
    const Shape z = shape(t, n);
    const Index rows = z.rows, h = z.h, ld = z.ld;
    auto w = t.value(n.b);
    auto s0 = t.value(n.c);
    // W_hh and W_ih packed once for every step
    t.template pack_rhs<false>(0, Strided(w.data() + z.f * w.rows(), w.rows(), h, Eigen::OuterStride<>(w.rows())), rows);
    if (n.grad_a) t.template pack_rhs<false>(1, Strided(w.data(), w.rows(), z.f, Eigen::OuterStride<>(w.rows())), rows);
    T* const ds0 = n.grad_c ? t.adjoint(n.c).data() : nullptr;
    for (Index s = d.steps; s-- > 0;) {
      const Index r0 = s * rows;
      T* const cp = s == 0 ? s0.data() + h * rows : v.data() + h * ld + (r0 - rows);
      const Index ldp = s == 0 ? rows : ld;
      // where the adjoints of h_{t-1} and c_{t-1} go: the previous step's rows of this node's adjoint, or the state's
      T* const dp = s == 0 ? ds0 : g.data() + (r0 - rows);
      cell_chunks(rows, h, [&](Index j, Index q0, Index len) {
        const Index gj = z.gates() + j;
        // the activated gates read where they are (a copy into stack buffers cost 3% of a step in memcpy)
        const Column i = column(v.data(), ld, gj, r0 + q0, len), f = column(v.data(), ld, gj + h, r0 + q0, len),
                     gg = column(v.data(), ld, gj + 2 * h, r0 + q0, len), o = column(v.data(), ld, gj + 3 * h, r0 + q0, len);
        const CellBuffer<T> tc = pml::simd::tanh(column(v.data(), ld, h + j, r0 + q0, len));
        const Column dh = column(g.data(), ld, j, r0 + q0, len);
        const CellBuffer<T> dc = column(g.data(), ld, h + j, r0 + q0, len) + dh * o * (T(1) - tc.square());
        column(g.data(), ld, gj, r0 + q0, len) = dc * gg * i * (T(1) - i);
        column(g.data(), ld, gj + h, r0 + q0, len) = dc * column(cp, ldp, j, q0, len) * f * (T(1) - f);
        column(g.data(), ld, gj + 2 * h, r0 + q0, len) = dc * i * (T(1) - gg.square());
        column(g.data(), ld, gj + 3 * h, r0 + q0, len) = dh * tc * o * (T(1) - o);
        if (dp) column(dp, ldp, h + j, q0, len) += dc * f;
      });
      const Strided dgates = rows_block(g.data(), ld, z.gates(), r0, rows, 4 * h);
      if (n.grad_a) {  // x_t's adjoint: D_t W_ih into its columns of x's
        auto dx = t.adjoint(n.a);
        t.gemm_packed(1, Strided(dx.data() + s * z.f * rows, rows, z.f, Eigen::OuterStride<>(rows)), dgates);
      }
      if (!dp) continue;
      Strided dhp = rows_block(dp, ldp, 0, 0, rows, h);
      if (!z.masked) {  // h_{t-1}'s adjoint += D_t W_hh, straight into it
        t.gemm_packed(0, dhp, dgates);
        continue;
      }
      // the adjoint of h_{t-1} ⊙ m: D_t W_hh, kept in this node's own adjoint (its h ⊙ m block), then times m
      Strided dhm = rows_block(g.data(), ld, z.hm(), r0, rows, h);
      dhm.setZero();
      t.gemm_packed(0, dhm, dgates);
      dhp.array() += dhm.array() * rows_block(s0.data(), rows, 2 * h, 0, rows, h).array();
    }
    if (n.grad_b) {  // [W_ih | W_hh | b] += Dᵀ [x | h ⊙ m | 1], every step at once
      const Index total = d.steps * rows;
      t.template gemm<true, false>(t.adjoint(n.b), Eigen::Map<Matrix<T>>(g.data() + z.gates() * ld, total, 4 * h),
                                   Eigen::Map<Matrix<T>>(v.data() + z.x() * ld, total, z.f + h + 1));
    }
  }
};

}  // namespace detail

/// One LSTM step's elementwise part: `gates` (N x 4H, the pre-activations x W_ihᵀ + h W_hhᵀ + b in
/// PyTorch's block order i, f, g, o) and `c_prev` (N x H) give [h c] (N x 2H; slice_cols takes h and c).
/// @throw std::invalid_argument if the tapes differ or gates is not N x 4H for c_prev's N x H.
template <Real T> Var<T> lstm_cell(const Var<T>& gates, const Var<T>& c_prev) {
  detail::same_tape("ad::lstm_cell", gates, c_prev);
  if (gates.rows() != c_prev.rows() || gates.cols() != 4 * c_prev.cols() || c_prev.cols() < 1)
    pml::detail::throw_shape("ad::lstm_cell", "gates are " + std::to_string(gates.rows()) + "x" + std::to_string(gates.cols()) + ", c_prev " +
                                                  std::to_string(c_prev.rows()) + "x" + std::to_string(c_prev.cols()) + ": expected N x 4H and N x H");
  return gates.tape->template record<detail::LstmCell<T>>(c_prev.rows(), 2 * c_prev.cols(), {gates.id, c_prev.id});
}

/// A whole LSTM sequence of `steps` steps over N sequences as one node (PyTorch's torch.nn.LSTM equations,
/// gate order i, f, g, o; Hochreiter & Schmidhuber 1997 with a forget gate).
/// - `x` (N x (steps·F)): the inputs, step t in columns [t·F, (t+1)·F) (nn::LSTM's layout).
/// - `weight` (4H x (F + H + 1)): [W_ih | W_hh | bᵀ], the input and recurrent weights and the bias.
/// - `state` (N x 2H, or N x 3H): [h_0 c_0], the initial hidden and cell state, and optionally a third block
///   m, the variational-dropout mask multiplying h_{t-1} where it enters the gates at every step (like
///   mask_mul, the mask gets no gradient).
///
/// Returns a (steps·N) x (7H + F + 1) node: rows [t·N, (t+1)·N) hold step t's [h_t | c_t | x_t | h_{t-1} ⊙ m
/// | 1 | i f g o], the blocks after c_t the node's working values (the gates activated, kept for the
/// backward pass; their adjoints are the node's own: take h_t and c_t from it with ad::block, nothing
/// else. Tape::backward zeroes only the h_t and c_t blocks of the node's adjoint (Node::zeroed); the
/// backward pass writes the gates' and h_{t-1} ⊙ m's before reading them and never reads the x_t and ones
/// blocks, whose adjoints are unspecified: an adjoint sent to any block but h_t and c_t is lost or
/// overwritten). nn::LSTM and nn::BayesianLSTM do.
/// @throw std::invalid_argument if the tapes differ or the shapes do not fit (naming them).
template <Real T> Var<T> lstm_sequence(const Var<T>& x, const Var<T>& weight, const Var<T>& state, Index steps) {
  detail::same_tape("ad::lstm_sequence", x, weight);
  detail::same_tape("ad::lstm_sequence", x, state);
  const Index h = weight.rows() / 4, rows = state.rows();
  const Index f = steps >= 1 ? x.cols() / steps : 0;
  if (steps < 1 || h < 1 || f < 1 || weight.rows() != 4 * h || x.cols() != steps * f || weight.cols() != f + h + 1 || x.rows() != rows ||
      (state.cols() != 2 * h && state.cols() != 3 * h))
    pml::detail::throw_shape("ad::lstm_sequence", "x is " + std::to_string(x.rows()) + "x" + std::to_string(x.cols()) + ", weight " +
                                                      std::to_string(weight.rows()) + "x" + std::to_string(weight.cols()) + ", state " +
                                                      std::to_string(state.rows()) + "x" + std::to_string(state.cols()) + " for " +
                                                      std::to_string(steps) +
                                                      " steps: expected N x (steps·F), 4H x (F + H + 1) and N x 2H or N x 3H");
  return x.tape->template record<detail::LstmSequence<T>>(steps * rows, 7 * h + f + 1, {x.id, weight.id, state.id}, {steps});
}

/// One GRU step's elementwise part: gx = x W_ihᵀ + b_ih and gh = h W_hhᵀ + b_hh (N x 3H, blocks r, z, n)
/// and h (N x H) give h' (N x H), PyTorch's torch.nn.GRU equations.
/// @throw std::invalid_argument if the tapes differ or the shapes are not N x 3H, N x 3H and N x H.
template <Real T> Var<T> gru_cell(const Var<T>& gx, const Var<T>& gh, const Var<T>& h) {
  detail::same_tape("ad::gru_cell", gx, gh);
  detail::same_tape("ad::gru_cell", gx, h);
  if (gx.rows() != h.rows() || gx.cols() != 3 * h.cols() || !gh.size_is(gx.rows(), gx.cols()) || h.cols() < 1)
    pml::detail::throw_shape("ad::gru_cell", "gx is " + std::to_string(gx.rows()) + "x" + std::to_string(gx.cols()) + ", gh " +
                                                 std::to_string(gh.rows()) + "x" + std::to_string(gh.cols()) + ", h " + std::to_string(h.rows()) + "x" +
                                                 std::to_string(h.cols()) + ": expected N x 3H, N x 3H and N x H");
  return gx.tape->template record<detail::GruCell<T>>(h.rows(), h.cols(), {gx.id, gh.id, h.id});
}

}  // namespace pml::ad
