#pragma once
/// @file
/// Recurrent layers on the tape: nn::LSTM and nn::GRU over a batch of sequences, unrolled step by step,
/// with the state carried between calls for truncated backpropagation through time.
///
/// **Layout.** A batch of N sequences of T steps with F features each is an N x (T·F) matrix: one
/// sequence per row, step t in columns [t·F, (t+1)·F) (PyTorch's batch_first N x T x F tensor reshaped to
/// N x (T·F)). The layer returns the hidden state of every step (N x H each) and the final state.
///
/// **Truncated BPTT.** forward() starts from the given initial state as constants of the tape: feed the
/// final state's values of one chunk of k steps as the initial state of the next, and gradients flow back
/// at most k steps.

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/ops/recurrent.hpp"
#include "pml/nn/dropout.hpp"
#include "pml/nn/init.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::nn {

/// The state a recurrent layer carries from one chunk of steps to the next (empty matrices: zeros).
template <Real T> struct RecurrentState {
  Matrix<T> h;  ///< hidden state, N x H
  Matrix<T> c;  ///< cell state, N x H (LSTM only)
};

/// What a recurrent layer's forward pass returns: the hidden state of every step and the final state.
template <Real T> struct RecurrentOutput {
  std::vector<ad::Var<T>> hidden;  ///< h_t for t = 0..T-1, each N x H (its capacity is reused from call to call)
  ad::Var<T> h;  ///< the final hidden state (N x H), = hidden.back()
  ad::Var<T> c;  ///< the final cell state (N x H; LSTM only)
  /// The final state's values, to start the next chunk from (truncated backpropagation through time).
  RecurrentState<T> state() const { return {h.value(), c.tape ? Matrix<T>(c.value()) : Matrix<T>()}; }
};

/// Dropout masks a recurrent layer applies at every step (variational dropout, Gal & Ghahramani 2016,
/// "A Theoretically Grounded Application of Dropout in Recurrent Neural Networks"): one mask per sequence
/// on the inputs x_t (N x F) and one on the hidden state fed back into the gates (N x H), **the same at
/// every step**. An empty Var: no dropout there. Draw them with variational_masks().
template <Real T> struct StepMasks {
  ad::Var<T> input;   ///< N x F, multiplies every x_t (or empty)
  ad::Var<T> hidden;  ///< N x H, multiplies h_{t-1} where it enters the gates (or empty)
};

/// StepMasks for N sequences: each entry kept with probability 1 − p and then scaled by 1/(1 − p)
/// (inverted dropout, so the expected input is unchanged), drawn from `rng` as constants of `tape`.
/// p = 0 gives empty masks. @throw std::domain_error naming the function unless 0 <= p < 1.
template <Real T> StepMasks<T> variational_masks(ad::Tape<T>& tape, Rng& rng, Index rows, Index input_size, Index hidden_size, double p) {
  if (!(p >= 0 && p < 1)) pml::detail::throw_domain("nn::variational_masks", "p", "lie in [0, 1)", pml::detail::describe(p));
  if (p == 0) return {};
  const T keep = T(1 - p);
  auto draw = [&](Index cols) {
    ad::Var<T> m = tape.constant(rows, cols);
    auto v = m.value();
    random::fill_uniform(rng, v);
    v = ((v.array() < keep).template cast<T>() * (T(1) / keep)).matrix();
    return m;
  };
  StepMasks<T> masks;
  masks.input = draw(input_size);
  masks.hidden = draw(hidden_size);
  return masks;
}

/// variational_masks() for a data-parallel fit: sequence i's masks hashed from (noise.key, noise.positions[i])
/// (RowNoise; the input mask from noise.layer(0), the hidden one from noise.layer(1)), the same whichever
/// rank holds the sequence. @throw as variational_masks(); std::invalid_argument for a position count that is not `rows`.
template <Real T> StepMasks<T> variational_masks(ad::Tape<T>& tape, const RowNoise& noise, Index rows, Index input_size, Index hidden_size, double p) {
  if (!(p >= 0 && p < 1)) pml::detail::throw_domain("nn::variational_masks", "p", "lie in [0, 1)", pml::detail::describe(p));
  if (p == 0) return {};
  StepMasks<T> masks;
  masks.input = tape.constant(rows, input_size);
  masks.hidden = tape.constant(rows, hidden_size);
  fill_row_mask("nn::variational_masks", noise.layer(0), p, masks.input.value());
  fill_row_mask("nn::variational_masks", noise.layer(1), p, masks.hidden.value());
  return masks;
}

namespace detail {
/// The checks and the per-step loop the LSTM and the GRU share.
template <Real T> Index recurrent_steps(const char* function, const ad::Var<T>& x, Index input_size) {
  if (x.cols() < input_size || x.cols() % input_size != 0)
    pml::detail::throw_shape(function, "x has " + std::to_string(x.cols()) + " columns, not a positive multiple of the input size " +
                                           std::to_string(input_size) + " (N x (T·F) expected)");
  return x.cols() / input_size;
}
template <Real T> void check_initial_state(const char* function, const Matrix<T>& m, Index rows, Index hidden, const char* what) {
  if (m.size() != 0 && (m.rows() != rows || m.cols() != hidden))
    pml::detail::throw_shape(function, std::string("the initial ") + what + " is " + std::to_string(m.rows()) + "x" + std::to_string(m.cols()) +
                                           ", expected " + std::to_string(rows) + "x" + std::to_string(hidden));
}
template <Real T> ad::Var<T> initial_state(const char* function, ad::Tape<T>& tape, const Matrix<T>& m, Index rows, Index hidden, const char* what) {
  check_initial_state(function, m, rows, hidden, what);
  return m.size() == 0 ? tape.constant(rows, hidden, T(0)) : tape.constant(m);
}
/// x masked by `mask` when it is not empty (StepMasks).
template <Real T> ad::Var<T> masked(const ad::Var<T>& x, const ad::Var<T>& mask) { return mask.tape ? ad::mask_mul(x, mask) : x; }
template <Real T> void check_masks(const char* function, const StepMasks<T>& m, Index rows, Index input, Index hidden) {
  auto check = [&](const ad::Var<T>& v, Index cols, const char* what) {
    if (v.tape && (v.rows() != rows || v.cols() != cols))
      pml::detail::throw_shape(function, std::string("the ") + what + " mask is " + std::to_string(v.rows()) + "x" + std::to_string(v.cols()) + ", expected " +
                                             std::to_string(rows) + "x" + std::to_string(cols));
  };
  check(m.input, input, "input");
  check(m.hidden, hidden, "hidden");
}
/// The LSTM's pass over all steps (nn::LSTM, and nn::BayesianLSTM with one weight sample): x masked by the
/// input mask (the same at every step), then ad::lstm_sequence with [W_ih | W_hh | bᵀ] from [h_0 c_0 (m)],
/// h_t and c_t taken from it with ad::block.
template <Real T>
void lstm_pass(const char* function, ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& wih, const ad::Var<T>& whh, const ad::Var<T>& b,
               RecurrentOutput<T>& out, const RecurrentState<T>& initial, const StepMasks<T>& masks) {
  const Index f = wih.cols(), h = whh.cols(), n = x.rows();
  const Index steps = recurrent_steps(function, x, f);
  check_masks(function, masks, n, f, h);
  for (const ad::Var<T>* mask : {&masks.input, &masks.hidden})
    if (mask->tape && mask->tape != x.tape) throw std::invalid_argument(std::string(function) + ": a dropout mask lives on another tape than x");
  const ad::Var<T> h0 = initial_state(function, tape, initial.h, n, h, "hidden state");
  const ad::Var<T> c0 = initial_state(function, tape, initial.c, n, h, "cell state");
  ad::Var<T> xm = x;
  if (masks.input.tape) {  // the same mask at every step (like mask_mul, it gets no gradient)
    ad::Var<T> tiled = tape.constant(n, steps * f);
    for (Index t = 0; t < steps; ++t) tiled.value().middleCols(t * f, f) = masks.input.value();
    xm = ad::mask_mul(x, tiled);
  }
  ad::Var<T> state = ad::concat_cols(h0, c0);
  if (masks.hidden.tape) state = ad::concat_cols(state, masks.hidden);
  const ad::Var<T> seq = ad::lstm_sequence(xm, ad::concat_cols(ad::concat_cols(wih, whh), ad::transpose(b)), state, steps);
  out.hidden.clear();
  for (Index t = 0; t < steps; ++t) out.hidden.push_back(ad::block(seq, t * n, 0, n, h));
  out.h = out.hidden.back();
  out.c = ad::block(seq, (steps - 1) * n, h, n, h);
}
}  // namespace detail

/// A one-layer LSTM (torch.nn.LSTM, batch_first, gate order i, f, g, o): W_ih 4H x F, W_hh 4H x H and one
/// bias 1 x 4H (PyTorch's b_ih + b_hh: the same function and the same gradient for each), each drawn from
/// U(±1/√H) (PyTorch's weights likewise; its effective bias is the sum of two such draws). A pass is one
/// node (ad::lstm_sequence: one GEMM per step forward, one per step backward (two when x needs a
/// gradient), the weights' and the bias's gradient in one GEMM over all steps); out.hidden[t] are blocks
/// of it.
template <Real T> class LSTM {
 public:
  /// @throw std::invalid_argument for non-positive sizes.
  LSTM(Index input_size, Index hidden_size, Rng& rng, const std::string& name = "lstm") {
    if (input_size <= 0 || hidden_size <= 0)
      pml::detail::throw_shape("nn::LSTM", "sizes must be positive, got " + std::to_string(input_size) + " -> " + std::to_string(hidden_size));
    const T a = T(1) / std::sqrt(T(hidden_size));
    weight_ih_ = Parameter<T>(name + ".weight_ih", uniform_symmetric<T>(rng, 4 * hidden_size, input_size, a));
    weight_hh_ = Parameter<T>(name + ".weight_hh", uniform_symmetric<T>(rng, 4 * hidden_size, hidden_size, a));
    bias_ = Parameter<T>(name + ".bias", uniform_symmetric<T>(rng, 1, 4 * hidden_size, a));
  }
  /// Runs the sequences x (N x (T·F)) from `initial` (zeros when empty) into `out`, binding the weights,
  /// with the variational dropout `masks` (none when empty) at every step.
  /// @throw std::invalid_argument if x's columns are not a multiple of input_size() or a state's or mask's shape is wrong.
  void forward(ad::Tape<T>& tape, const ad::Var<T>& x, RecurrentOutput<T>& out, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) {
    forward_impl(*this, tape, x, out, initial, masks);
  }
  /// The same with the weights as constants (reads the layer only; safe from many threads).
  void forward(ad::Tape<T>& tape, const ad::Var<T>& x, RecurrentOutput<T>& out, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) const {
    forward_impl(*this, tape, x, out, initial, masks);
  }
  /// forward() into a new RecurrentOutput.
  RecurrentOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) {
    RecurrentOutput<T> out;
    forward(tape, x, out, initial, masks);
    return out;
  }
  /// forward() into a new RecurrentOutput, the weights as constants (reads the layer only).
  RecurrentOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) const {
    RecurrentOutput<T> out;
    forward(tape, x, out, initial, masks);
    return out;
  }
  Index input_size() const noexcept { return weight_ih_.value.cols(); }  ///< F
  Index hidden_size() const noexcept { return weight_hh_.value.cols(); }  ///< H
  Parameter<T>& weight_ih() noexcept { return weight_ih_; }  ///< W_ih, 4H x F
  Parameter<T>& weight_hh() noexcept { return weight_hh_; }  ///< W_hh, 4H x H
  Parameter<T>& bias() noexcept { return bias_; }  ///< b, 1 x 4H
  const Parameter<T>& weight_ih() const noexcept { return weight_ih_; }  ///< W_ih, 4H x F
  const Parameter<T>& weight_hh() const noexcept { return weight_hh_; }  ///< W_hh, 4H x H
  const Parameter<T>& bias() const noexcept { return bias_; }  ///< b, 1 x 4H
  /// The trainable parameters in file order.
  ParameterList<T> parameters() { return {&weight_ih_, &weight_hh_, &bias_}; }
  ConstParameterList<T> parameters() const { return {&weight_ih_, &weight_hh_, &bias_}; }  ///< read-only parameters()

 private:
  template <class Self>
  static void forward_impl(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, RecurrentOutput<T>& out, const RecurrentState<T>& initial,
                           const StepMasks<T>& masks) {
    detail::recurrent_steps("nn::LSTM::forward", x, self.input_size());  // x's shape checked before the weights are bound
    detail::lstm_pass("nn::LSTM::forward", tape, x, self.weight_ih_.bind(tape), self.weight_hh_.bind(tape), self.bias_.bind(tape), out, initial, masks);
  }
  Parameter<T> weight_ih_, weight_hh_, bias_;
};

/// A one-layer GRU (torch.nn.GRU, batch_first, blocks r, z, n): W_ih 3H x F, W_hh 3H x H, b_ih and b_hh
/// 1 x 3H (both kept: b_hn sits inside r⊙(W_hn h + b_hn)), all drawn from U(±1/√H) as PyTorch does.
template <Real T> class GRU {
 public:
  /// @throw std::invalid_argument for non-positive sizes.
  GRU(Index input_size, Index hidden_size, Rng& rng, const std::string& name = "gru") {
    if (input_size <= 0 || hidden_size <= 0)
      pml::detail::throw_shape("nn::GRU", "sizes must be positive, got " + std::to_string(input_size) + " -> " + std::to_string(hidden_size));
    const T a = T(1) / std::sqrt(T(hidden_size));
    weight_ih_ = Parameter<T>(name + ".weight_ih", uniform_symmetric<T>(rng, 3 * hidden_size, input_size, a));
    weight_hh_ = Parameter<T>(name + ".weight_hh", uniform_symmetric<T>(rng, 3 * hidden_size, hidden_size, a));
    bias_ih_ = Parameter<T>(name + ".bias_ih", uniform_symmetric<T>(rng, 1, 3 * hidden_size, a));
    bias_hh_ = Parameter<T>(name + ".bias_hh", uniform_symmetric<T>(rng, 1, 3 * hidden_size, a));
  }
  /// Runs the sequences x (N x (T·F)) from `initial` (zeros when empty; its c is ignored) into `out`, with
  /// the variational dropout `masks` (none when empty) at every step.
  /// @throw std::invalid_argument if x's columns are not a multiple of input_size() or a state's or mask's shape is wrong.
  void forward(ad::Tape<T>& tape, const ad::Var<T>& x, RecurrentOutput<T>& out, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) {
    forward_impl(*this, tape, x, out, initial, masks);
  }
  /// The same with the weights as constants (reads the layer only; safe from many threads).
  void forward(ad::Tape<T>& tape, const ad::Var<T>& x, RecurrentOutput<T>& out, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) const {
    forward_impl(*this, tape, x, out, initial, masks);
  }
  /// forward() into a new RecurrentOutput.
  RecurrentOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) {
    RecurrentOutput<T> out;
    forward(tape, x, out, initial, masks);
    return out;
  }
  /// forward() into a new RecurrentOutput, the weights as constants (reads the layer only).
  RecurrentOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const RecurrentState<T>& initial = {}, const StepMasks<T>& masks = {}) const {
    RecurrentOutput<T> out;
    forward(tape, x, out, initial, masks);
    return out;
  }
  Index input_size() const noexcept { return weight_ih_.value.cols(); }  ///< F
  Index hidden_size() const noexcept { return weight_hh_.value.cols(); }  ///< H
  Parameter<T>& weight_ih() noexcept { return weight_ih_; }  ///< W_ih, 3H x F
  Parameter<T>& weight_hh() noexcept { return weight_hh_; }  ///< W_hh, 3H x H
  Parameter<T>& bias_ih() noexcept { return bias_ih_; }  ///< b_ih, 1 x 3H
  Parameter<T>& bias_hh() noexcept { return bias_hh_; }  ///< b_hh, 1 x 3H
  const Parameter<T>& weight_ih() const noexcept { return weight_ih_; }  ///< W_ih, 3H x F
  const Parameter<T>& weight_hh() const noexcept { return weight_hh_; }  ///< W_hh, 3H x H
  const Parameter<T>& bias_ih() const noexcept { return bias_ih_; }  ///< b_ih, 1 x 3H
  const Parameter<T>& bias_hh() const noexcept { return bias_hh_; }  ///< b_hh, 1 x 3H
  /// The trainable parameters in file order.
  ParameterList<T> parameters() { return {&weight_ih_, &weight_hh_, &bias_ih_, &bias_hh_}; }
  ConstParameterList<T> parameters() const { return {&weight_ih_, &weight_hh_, &bias_ih_, &bias_hh_}; }  ///< read-only parameters()

 private:
  template <class Self>
  static void forward_impl(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, RecurrentOutput<T>& out, const RecurrentState<T>& initial,
                           const StepMasks<T>& masks) {
    const Index f = self.input_size(), h = self.hidden_size();
    const Index steps = detail::recurrent_steps("nn::GRU::forward", x, f);
    detail::check_masks("nn::GRU::forward", masks, x.rows(), f, h);
    ad::Var<T> hs = detail::initial_state("nn::GRU::forward", tape, initial.h, x.rows(), h, "hidden state");
    const ad::Var<T> wih = self.weight_ih_.bind(tape), whh = self.weight_hh_.bind(tape), bih = self.bias_ih_.bind(tape),
                     bhh = self.bias_hh_.bind(tape);
    out.hidden.clear();
    for (Index t = 0; t < steps; ++t) {
      const ad::Var<T> xt = detail::masked(steps == 1 ? x : ad::slice_cols(x, t * f, f), masks.input);
      hs = ad::gru_cell(ad::matmul_nt(xt, wih) + bih, ad::matmul_nt(detail::masked(hs, masks.hidden), whh) + bhh, hs);
      out.hidden.push_back(hs);
    }
    out.h = hs;
    out.c = ad::Var<T>{};
  }
  Parameter<T> weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

}  // namespace pml::nn
