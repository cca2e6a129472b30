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
