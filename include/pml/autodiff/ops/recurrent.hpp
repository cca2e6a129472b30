#pragma once
/// @file
/// Recurrent cells as single nodes: the LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate;
/// PyTorch's torch.nn.LSTM equations and gate order i, f, g, o) and the GRU cell (Cho et al. 2014, PyTorch's
/// torch.nn.GRU form with r applied to W_hn h + b_hn). The matrix products stay separate nodes (the tape's
/// GEMM); a cell node does the gates' elementwise work and its backward pass in one sweep.

#include <string>

#include "pml/autodiff/ops/common.hpp"

namespace pml::ad {
namespace detail {

template <Real T> T sigmoid_of(T x) { return T(1) / (T(1) + std::exp(-x)); }

/// [h c] (N x 2H) from the pre-activations a = x W_ihᵀ + h W_hhᵀ + b (N x 4H, blocks i, f, g, o) and the
/// previous cell state c_prev (N x H): c = σ(f)⊙c_prev + σ(i)⊙tanh(g), h = σ(o)⊙tanh(c).
template <Real T> struct LstmCell {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto a = t.value(n.a);
    const auto cp = t.value(n.b);
    const Index h = cp.cols(), rows = cp.rows();
    for (Index j = 0; j < h; ++j)
      for (Index k = 0; k < rows; ++k) {
        const T i = sigmoid_of(a(k, j)), f = sigmoid_of(a(k, h + j)), g = std::tanh(a(k, 2 * h + j)), o = sigmoid_of(a(k, 3 * h + j));
        const T c = f * cp(k, j) + i * g;
        v(k, h + j) = c;
        v(k, j) = o * std::tanh(c);
      }
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    const auto a = t.value(n.a);
    const auto cp = t.value(n.b);
    const Index h = cp.cols(), rows = cp.rows();
    for (Index j = 0; j < h; ++j)
      for (Index k = 0; k < rows; ++k) {
        const T i = sigmoid_of(a(k, j)), f = sigmoid_of(a(k, h + j)), gg = std::tanh(a(k, 2 * h + j)), o = sigmoid_of(a(k, 3 * h + j));
        const T tc = std::tanh(v(k, h + j));
        const T dh = g(k, j);
        const T dc = g(k, h + j) + dh * o * (T(1) - tc * tc);
        if (n.grad_a) {
          auto da = t.adjoint(n.a);
          da(k, j) += dc * gg * i * (T(1) - i);
          da(k, h + j) += dc * cp(k, j) * f * (T(1) - f);
          da(k, 2 * h + j) += dc * i * (T(1) - gg * gg);
          da(k, 3 * h + j) += dh * tc * o * (T(1) - o);
        }
        if (n.grad_b) t.adjoint(n.b)(k, j) += dc * f;
      }
  }
};

/// h' (N x H) from gx = x W_ihᵀ + b_ih and gh = h W_hhᵀ + b_hh (N x 3H each, blocks r, z, n) and h (N x H):
/// r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r⊙gh_n), h' = (1 − z)⊙n + z⊙h.
template <Real T> struct GruCell {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto gx = t.value(n.a);
    const auto gh = t.value(n.b);
    const auto hp = t.value(n.c);
    const Index h = hp.cols(), rows = hp.rows();
    for (Index j = 0; j < h; ++j)
      for (Index k = 0; k < rows; ++k) {
        const T r = sigmoid_of(gx(k, j) + gh(k, j)), z = sigmoid_of(gx(k, h + j) + gh(k, h + j));
        const T nn = std::tanh(gx(k, 2 * h + j) + r * gh(k, 2 * h + j));
        v(k, j) = (T(1) - z) * nn + z * hp(k, j);
      }
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const auto gx = t.value(n.a);
    const auto gh = t.value(n.b);
    const auto hp = t.value(n.c);
    const Index h = hp.cols(), rows = hp.rows();
    for (Index j = 0; j < h; ++j)
      for (Index k = 0; k < rows; ++k) {
        const T r = sigmoid_of(gx(k, j) + gh(k, j)), z = sigmoid_of(gx(k, h + j) + gh(k, h + j));
        const T nn = std::tanh(gx(k, 2 * h + j) + r * gh(k, 2 * h + j));
        const T d = g(k, j);
        const T dn = d * (T(1) - z) * (T(1) - nn * nn);
        const T dr = dn * gh(k, 2 * h + j) * r * (T(1) - r);
        const T dz = d * (hp(k, j) - nn) * z * (T(1) - z);
        if (n.grad_a) {
          auto da = t.adjoint(n.a);
          da(k, j) += dr;
          da(k, h + j) += dz;
          da(k, 2 * h + j) += dn;
        }
        if (n.grad_b) {
          auto db = t.adjoint(n.b);
          db(k, j) += dr;
          db(k, h + j) += dz;
          db(k, 2 * h + j) += dn * r;
        }
        if (n.grad_c) t.adjoint(n.c)(k, j) += d * z;
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
