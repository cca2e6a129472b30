#pragma once
/// @file
/// nn::BayesianLSTM: an LSTM with a factorised Gaussian posterior over its weights and bias (Bayes by
/// Backprop for recurrent networks, Fortunato et al. 2017, "Bayesian Recurrent Neural Networks"):
/// W = μ + softplus(ρ) ⊙ ε, **one weight sample per forward pass, shared by every time step** (the
/// paper's section 3), the prior a Gaussian or a scale mixture (nn::BayesPrior).
///
/// Layout and state as nn::LSTM (pml/nn/recurrent.hpp): x is N x (T·F), one sequence per row; the pass
/// returns h_t for every step, the final (h, c) and the KL term. The posterior sharpening of Fortunato et
/// al.'s section 4 is not implemented.

#include <stdexcept>
#include <string>

#include "pml/nn/bayesian_linear.hpp"
#include "pml/nn/recurrent.hpp"

namespace pml::nn {

/// What a Bayesian recurrent layer's pass returns: nn::RecurrentOutput plus the KL term.
template <Real T> struct BayesianRecurrentOutput : RecurrentOutput<T> {
  ad::Var<T> kl;  ///< KL(q || p) of the layer's weights and bias (1 x 1; no node in WeightSampling::mean)
};

/// A one-layer LSTM (gate order i, f, g, o; weights W_ih 4H x F, W_hh 4H x H, bias 1 x 4H, as nn::LSTM)
/// whose weights and bias have the posterior q = N(μ, softplus(ρ)²), entry by entry. The means start as
/// nn::LSTM's weights (U(±1/√H)), ρ at `rho_init` (σ = softplus(−5) ≈ 0.0067).
///
/// Sampling (nn::WeightSampling):
/// - `weights`: one draw of W_ih, W_hh and b per pass, the same at every step and for every sequence of
///   the batch (Fortunato et al.); the draws are the ones sample() makes from the same Rng state.
/// - `flipout` (Wen et al. 2018): one perturbation ΔW = σ ⊙ ε per pass, decorrelated across the batch's
///   sequences by random signs drawn once per pass, so each sequence keeps one weight sample over time:
///   the pre-activation is [x_t, h] μᵀ + (([x_t, h] ⊙ s_in) ΔWᵀ) ⊙ s_out + b.
/// - `mean`: the posterior means, no noise and no KL node.
/// - `local` is refused: it draws every step's pre-activations afresh, which is not a weight sample
///   shared across time.
template <Real T> class BayesianLSTM {
 public:
  /// @throw std::invalid_argument for non-positive sizes; std::domain_error for a non-finite rho_init.
  BayesianLSTM(Index input_size, Index hidden_size, Rng& rng, double rho_init = -5.0, const std::string& name = "bayesian_lstm") {
    if (input_size <= 0 || hidden_size <= 0)
      pml::detail::throw_shape("nn::BayesianLSTM", "sizes must be positive, got " + std::to_string(input_size) + " -> " + std::to_string(hidden_size));
    check_finite("nn::BayesianLSTM", "rho_init", rho_init);
    const T a = T(1) / std::sqrt(T(hidden_size));
    const Index g = 4 * hidden_size;
    weight_ih_mu_ = Parameter<T>(name + ".weight_ih_mu", uniform_symmetric<T>(rng, g, input_size, a));
    weight_ih_rho_ = Parameter<T>(name + ".weight_ih_rho", Matrix<T>::Constant(g, input_size, T(rho_init)));
    weight_hh_mu_ = Parameter<T>(name + ".weight_hh_mu", uniform_symmetric<T>(rng, g, hidden_size, a));
    weight_hh_rho_ = Parameter<T>(name + ".weight_hh_rho", Matrix<T>::Constant(g, hidden_size, T(rho_init)));
    bias_mu_ = Parameter<T>(name + ".bias_mu", uniform_symmetric<T>(rng, 1, g, a));
    bias_rho_ = Parameter<T>(name + ".bias_rho", Matrix<T>::Constant(1, g, T(rho_init)));
  }

  /// Runs the sequences x (N x (T·F)) from `initial` (zeros when empty) into `out`, with noise from `rng`
  /// (unused for WeightSampling::mean), binding μ and ρ.
  /// @throw std::invalid_argument if x's columns are not a multiple of input_size(), the state's shape is
  /// wrong, or sampling is WeightSampling::local.
  void forward(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling, BayesianRecurrentOutput<T>& out,
               const RecurrentState<T>& initial = {}) {
    forward_impl(*this, tape, x, rng, prior, sampling, out, initial);
  }
  /// The same pass with μ and ρ as constants (reads the layer only; safe from many threads, each with its own tape and Rng).
  void forward(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling, BayesianRecurrentOutput<T>& out,
               const RecurrentState<T>& initial = {}) const {
    forward_impl(*this, tape, x, rng, prior, sampling, out, initial);
  }
  /// forward() into a new BayesianRecurrentOutput.
  BayesianRecurrentOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling,
                                     const RecurrentState<T>& initial = {}) {
    BayesianRecurrentOutput<T> out;
    forward(tape, x, rng, prior, sampling, out, initial);
    return out;
  }
  /// The pass of a data-parallel fit: the weight draws (and flipout's ΔW) from draws.shared, each sequence's
  /// flipout signs hashed from its position (RowDraws), into a new BayesianRecurrentOutput.
  /// @throw as forward(), or std::invalid_argument for a position count that is not x's rows.
  BayesianRecurrentOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const RowDraws& draws, const BayesPrior& prior, WeightSampling sampling,
                                     const RecurrentState<T>& initial = {}) {
    BayesianRecurrentOutput<T> out;
    forward_impl(*this, tape, x, draws, prior, sampling, out, initial);
    return out;
  }
  /// forward() into a new BayesianRecurrentOutput, μ and ρ as constants (reads the layer only).
  BayesianRecurrentOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling,
                                     const RecurrentState<T>& initial = {}) const {
    BayesianRecurrentOutput<T> out;
    forward(tape, x, rng, prior, sampling, out, initial);
    return out;
  }

  /// One draw from the posterior as a deterministic nn::LSTM (the draws forward() makes in
  /// WeightSampling::weights from the same Rng state: bias, then W_ih, then W_hh).
  LSTM<T> sample(Rng& rng) const {
    LSTM<T> lstm = posterior_mean();
    Matrix<T> eps(1, bias_mu_.value.cols());
    random::fill_normal(rng, eps);
    lstm.bias().value += pml::softplus(bias_rho_.value.array()).matrix().cwiseProduct(eps);
    eps.resize(weight_ih_mu_.value.rows(), weight_ih_mu_.value.cols());
    random::fill_normal(rng, eps);
    lstm.weight_ih().value += pml::softplus(weight_ih_rho_.value.array()).matrix().cwiseProduct(eps);
    eps.resize(weight_hh_mu_.value.rows(), weight_hh_mu_.value.cols());
    random::fill_normal(rng, eps);
    lstm.weight_hh().value += pml::softplus(weight_hh_rho_.value.array()).matrix().cwiseProduct(eps);
    return lstm;
  }
  /// The posterior means as a deterministic nn::LSTM.
  LSTM<T> posterior_mean() const {
    Rng unused(0);  // the LSTM's own initial draws are overwritten
    LSTM<T> lstm(input_size(), hidden_size(), unused);
    lstm.weight_ih().value = weight_ih_mu_.value;
    lstm.weight_hh().value = weight_hh_mu_.value;
    lstm.bias().value = bias_mu_.value;
    return lstm;
  }
  /// |μ| / σ of every weight (not the bias), [W_ih | W_hh] side by side: 4H x (F + H). The pruning score
  /// of Blundell et al. (2015, sec. 5.1).
  Matrix<T> signal_to_noise() const {
    Matrix<T> snr(weight_ih_mu_.value.rows(), input_size() + hidden_size());
    snr << weight_ih_mu_.value.cwiseAbs().cwiseQuotient(pml::softplus(weight_ih_rho_.value.array()).matrix()),
        weight_hh_mu_.value.cwiseAbs().cwiseQuotient(pml::softplus(weight_hh_rho_.value.array()).matrix());
    return snr;
  }

  Index input_size() const noexcept { return weight_ih_mu_.value.cols(); }  ///< F
  Index hidden_size() const noexcept { return weight_hh_mu_.value.cols(); }  ///< H
  Parameter<T>& weight_ih_mu() noexcept { return weight_ih_mu_; }  ///< μ of W_ih (4H x F)
  Parameter<T>& weight_ih_rho() noexcept { return weight_ih_rho_; }  ///< ρ of W_ih: σ = softplus(ρ)
  Parameter<T>& weight_hh_mu() noexcept { return weight_hh_mu_; }  ///< μ of W_hh (4H x H)
  Parameter<T>& weight_hh_rho() noexcept { return weight_hh_rho_; }  ///< ρ of W_hh
  Parameter<T>& bias_mu() noexcept { return bias_mu_; }  ///< μ of the bias (1 x 4H)
  Parameter<T>& bias_rho() noexcept { return bias_rho_; }  ///< ρ of the bias
  const Parameter<T>& weight_ih_mu() const noexcept { return weight_ih_mu_; }  ///< μ of W_ih (4H x F)
  const Parameter<T>& weight_ih_rho() const noexcept { return weight_ih_rho_; }  ///< ρ of W_ih: σ = softplus(ρ)
  const Parameter<T>& weight_hh_mu() const noexcept { return weight_hh_mu_; }  ///< μ of W_hh (4H x H)
  const Parameter<T>& weight_hh_rho() const noexcept { return weight_hh_rho_; }  ///< ρ of W_hh
  const Parameter<T>& bias_mu() const noexcept { return bias_mu_; }  ///< μ of the bias (1 x 4H)
  const Parameter<T>& bias_rho() const noexcept { return bias_rho_; }  ///< ρ of the bias
  /// The trainable parameters in file order (W_ih μ, ρ; W_hh μ, ρ; bias μ, ρ).
  ParameterList<T> parameters() { return {&weight_ih_mu_, &weight_ih_rho_, &weight_hh_mu_, &weight_hh_rho_, &bias_mu_, &bias_rho_}; }
  /// Read-only parameters(), same order.
  ConstParameterList<T> parameters() const { return {&weight_ih_mu_, &weight_ih_rho_, &weight_hh_mu_, &weight_hh_rho_, &bias_mu_, &bias_rho_}; }

 private:
  // Noise: an Rng (every draw in sequence) or RowDraws (flipout's signs hashed from the sequences' positions)
  template <class Self, class Noise>
  static void forward_impl(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, Noise& noise, const BayesPrior& prior, WeightSampling sampling,
                           BayesianRecurrentOutput<T>& out, const RecurrentState<T>& initial) {
    constexpr const char* function = "nn::BayesianLSTM::forward";
    Rng& rng = detail::shared_draws(noise);
    if (sampling == WeightSampling::local)
      throw std::invalid_argument(std::string(function) +
                                  ": sampling = local draws every step's pre-activations afresh, not one weight sample shared across time steps "
                                  "(Fortunato et al. 2017); use weights, flipout or mean");
    const Index f = self.input_size(), h = self.hidden_size(), n = x.rows();
    const Index steps = detail::recurrent_steps(function, x, f);
    detail::check_initial_state(function, initial.h, n, h, "hidden state");  // before any draw
    detail::check_initial_state(function, initial.c, n, h, "cell state");
    const ad::Var<T> wih_mu = self.weight_ih_mu_.bind(tape), whh_mu = self.weight_hh_mu_.bind(tape), b_mu = self.bias_mu_.bind(tape);
    ad::Var<T> wih = wih_mu, whh = whh_mu, b = b_mu, dih, dhh, s_x, s_h, s_out;
    out.kl = ad::Var<T>{};
    if (sampling != WeightSampling::mean) {
      const ad::Var<T> sih = ad::softplus(self.weight_ih_rho_.bind(tape)), shh = ad::softplus(self.weight_hh_rho_.bind(tape)),
                       sb = ad::softplus(self.bias_rho_.bind(tape));
      b = ad::reparameterize(b_mu, sb, detail::normal_noise(tape, rng, 1, 4 * h));
      out.kl = detail::bayes_kl(tape, rng, prior, b_mu, sb, &b);
      if (sampling == WeightSampling::weights) {
        wih = ad::reparameterize(wih_mu, sih, detail::normal_noise(tape, rng, 4 * h, f));
        whh = ad::reparameterize(whh_mu, shh, detail::normal_noise(tape, rng, 4 * h, h));
        out.kl = out.kl + detail::bayes_kl(tape, rng, prior, wih_mu, sih, &wih) + detail::bayes_kl(tape, rng, prior, whh_mu, shh, &whh);
      } else {  // flipout: ΔW and the signs drawn once, shared by every step
        dih = sih * detail::normal_noise(tape, rng, 4 * h, f);
        dhh = shh * detail::normal_noise(tape, rng, 4 * h, h);
        if (prior.kind == BayesPrior::Kind::gaussian) {
          out.kl = out.kl + detail::bayes_kl(tape, rng, prior, wih_mu, sih, nullptr) + detail::bayes_kl(tape, rng, prior, whh_mu, shh, nullptr);
        } else {
          const ad::Var<T> wih_s = wih_mu + dih, whh_s = whh_mu + dhh;  // the pass's shared sample, for the sampled KL
          out.kl = out.kl + detail::bayes_kl(tape, rng, prior, wih_mu, sih, &wih_s) + detail::bayes_kl(tape, rng, prior, whh_mu, shh, &whh_s);
        }
        s_x = detail::row_signs<T>(function, tape, noise, n, f);
        s_h = detail::row_signs<T>(function, tape, noise, n, h);
        s_out = detail::row_signs<T>(function, tape, noise, n, 4 * h);
      }
    }
    if (sampling != WeightSampling::flipout) {  // one set of weights at every step: the fused pass of nn::LSTM
      RecurrentOutput<T>& base = out;
      detail::lstm_pass(function, tape, x, wih, whh, b, base, initial, StepMasks<T>{});
      return;
    }
    ad::Var<T> hs = detail::initial_state(function, tape, initial.h, n, h, "hidden state");
    ad::Var<T> cs = detail::initial_state(function, tape, initial.c, n, h, "cell state");
    out.hidden.clear();
    for (Index t = 0; t < steps; ++t) {
      const ad::Var<T> xt = steps == 1 ? x : ad::slice_cols(x, t * f, f);
      ad::Var<T> pre = ad::matmul_nt(xt, wih) + ad::matmul_nt(hs, whh) + b;
      if (sampling == WeightSampling::flipout)
        pre = pre + ad::mask_mul(ad::matmul_nt(ad::mask_mul(xt, s_x), dih) + ad::matmul_nt(ad::mask_mul(hs, s_h), dhh), s_out);
      const ad::Var<T> hc = ad::lstm_cell(pre, cs);
      hs = ad::slice_cols(hc, 0, h);
      cs = ad::slice_cols(hc, h, h);
      out.hidden.push_back(hs);
    }
    out.h = hs;
    out.c = cs;
  }
  Parameter<T> weight_ih_mu_, weight_ih_rho_, weight_hh_mu_, weight_hh_rho_, bias_mu_, bias_rho_;
};

}  // namespace pml::nn
