#pragma once
/// @file
/// nn::BayesianConv2d: a 2-d convolution with a factorised Gaussian posterior over its filters and bias
/// (Bayes by Backprop for CNNs, Shridhar et al. 2019): W = μ + softplus(ρ) ⊙ ε, the prior a Gaussian or
/// a scale mixture (nn::BayesPrior), drawn per pass as nn::WeightSampling says: one filter bank per pass,
/// local reparameterisation of the output (conv(x, μ) + √conv(x², σ²) ⊙ ε, Kingma et al. 2015; Shridhar
/// et al.'s choice), flipout (Wen et al. 2018) or the posterior mean.

#include <cmath>
#include <limits>
#include <string>

#include "pml/nn/bayesian_linear.hpp"
#include "pml/nn/conv.hpp"

namespace pml::nn {

/// A BayesianConv2d's output images and its KL term (1 x 1; no node in WeightSampling::mean).
template <Real T> struct BayesianImages {
  Images<T> out;   ///< the layer's output (N x C_out·OH·OW and its shape)
  ad::Var<T> kl;   ///< KL(q || p) of the filters and the bias
};

/// y = conv(x, W) + b with W (C_out x C_in·KH·KW, each filter a row, as nn::Conv2d) and b (1 x C_out)
/// drawn from q. The means start as PyTorch's Conv2d (U(±1/√(C_in·KH·KW))) or as `init` says, ρ at
/// `rho_init` (σ = softplus(−5) ≈ 0.0067).
template <Real T> class BayesianConv2d {
 public:
  /// @throw std::invalid_argument for non-positive channel counts or a bad window; std::domain_error for a
  /// non-finite rho_init.
  BayesianConv2d(Index in_channels, Index out_channels, const ad::Window2d& window, Rng& rng, Init init = Init::pytorch, double rho_init = -5.0,
                 const std::string& name = "bayesian_conv")
      : window_(window) {
    detail::check_window("nn::BayesianConv2d", in_channels, out_channels, window);
    check_finite("nn::BayesianConv2d", "rho_init", rho_init);
    const Index taps = window.kernel_h * window.kernel_w;
    const Init concrete = init == Init::automatic ? Init::pytorch : init;
    weight_mu_ = Parameter<T>(name + ".weight_mu", detail::initial_filters<T>(rng, out_channels, in_channels * taps, in_channels * taps, out_channels * taps, concrete));
    weight_rho_ = Parameter<T>(name + ".weight_rho", Matrix<T>::Constant(out_channels, in_channels * taps, T(rho_init)));
    bias_mu_ = Parameter<T>(name + ".bias_mu", concrete == Init::pytorch ? uniform_symmetric<T>(rng, 1, out_channels, T(1) / std::sqrt(T(in_channels * taps)))
                                                                          : Matrix<T>::Zero(1, out_channels));
    bias_rho_ = Parameter<T>(name + ".bias_rho", Matrix<T>::Constant(1, out_channels, T(rho_init)));
  }

  /// The layer on the tape with noise from `rng` (unused for WeightSampling::mean), binding μ and ρ.
  /// @throw std::invalid_argument if x's channels are not in_channels() or the window does not fit.
  BayesianImages<T> forward(ad::Tape<T>& tape, const Images<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling) {
    return forward_impl(*this, tape, x, rng, prior, sampling);
  }
  /// The same pass with μ and ρ as constants (reads the layer only; safe from many threads, each with its own tape and Rng).
  BayesianImages<T> forward(ad::Tape<T>& tape, const Images<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling) const {
    return forward_impl(*this, tape, x, rng, prior, sampling);
  }
  /// The pass of a data-parallel fit: each image's noise (local reparameterisation's, flipout's signs) hashed
  /// from its position (RowDraws). @throw std::invalid_argument as above, or for a position count that is not x's rows.
  BayesianImages<T> forward(ad::Tape<T>& tape, const Images<T>& x, const RowDraws& draws, const BayesPrior& prior, WeightSampling sampling) {
    return forward_impl(*this, tape, x, draws, prior, sampling);
  }
  /// The output shape for inputs of shape `in`.
  ad::ImageShape output_shape(const ad::ImageShape& in) const { return ad::window_output_shape(in, window_, out_channels()); }
  /// |μ| / σ of every filter weight (not the biases): the pruning score of Blundell et al.
  Matrix<T> signal_to_noise() const { return weight_mu_.value.cwiseAbs().cwiseQuotient(pml::softplus(weight_rho_.value.array()).matrix()); }
  Index in_channels() const noexcept { return weight_mu_.value.cols() / (window_.kernel_h * window_.kernel_w); }  ///< C_in
  Index out_channels() const noexcept { return weight_mu_.value.rows(); }  ///< C_out
  const ad::Window2d& window() const noexcept { return window_; }  ///< kernel, stride, padding, dilation
  Parameter<T>& weight_mu() noexcept { return weight_mu_; }  ///< μ of the filters (C_out x C_in·KH·KW)
  Parameter<T>& weight_rho() noexcept { return weight_rho_; }  ///< ρ of the filters: σ = softplus(ρ)
  Parameter<T>& bias_mu() noexcept { return bias_mu_; }  ///< μ of the bias (1 x C_out)
  Parameter<T>& bias_rho() noexcept { return bias_rho_; }  ///< ρ of the bias
  const Parameter<T>& weight_mu() const noexcept { return weight_mu_; }  ///< μ of the filters (C_out x C_in·KH·KW)
  const Parameter<T>& weight_rho() const noexcept { return weight_rho_; }  ///< ρ of the filters: σ = softplus(ρ)
  /// The trainable parameters in file order.
  ParameterList<T> parameters() { return {&weight_mu_, &weight_rho_, &bias_mu_, &bias_rho_}; }
  /// Read-only parameters(), same order.
  ConstParameterList<T> parameters() const { return {&weight_mu_, &weight_rho_, &bias_mu_, &bias_rho_}; }

 private:
  // Noise: an Rng (every draw in sequence) or RowDraws (per-image draws hashed from the images' positions)
  template <class Self, class Noise>
  static BayesianImages<T> forward_impl(Self& self, ad::Tape<T>& tape, const Images<T>& x, Noise& noise, const BayesPrior& prior, WeightSampling sampling) {
    Rng& rng = detail::shared_draws(noise);
    if (x.shape.channels != self.in_channels())
      pml::detail::throw_shape("nn::BayesianConv2d::forward", "x has " + std::to_string(x.shape.channels) + " channels (" + ad::to_string(x.shape) +
                                                                  "), the layer expects " + std::to_string(self.in_channels()));
    const ad::ImageShape shape = self.output_shape(x.shape);
    const ad::Var<T> wmu = self.weight_mu_.bind(tape), bmu = self.bias_mu_.bind(tape);
    if (sampling == WeightSampling::mean) return {{ad::conv2d(x.var, x.shape, wmu, bmu, self.window_), shape}, ad::Var<T>{}};
    const ad::Var<T> wsigma = ad::softplus(self.weight_rho_.bind(tape)), bsigma = ad::softplus(self.bias_rho_.bind(tape));
    const ad::Var<T> b = ad::reparameterize(bmu, bsigma, detail::normal_noise(tape, rng, 1, self.out_channels()));
    ad::Var<T> kl = detail::bayes_kl(tape, rng, prior, bmu, bsigma, &b);
    const ad::Var<T> none{};
    ad::Var<T> y;
    if (sampling == WeightSampling::weights) {
      const ad::Var<T> w = ad::reparameterize(wmu, wsigma, detail::normal_noise(tape, rng, wmu.rows(), wmu.cols()));
      kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, &w);
      y = ad::conv2d(x.var, x.shape, w, none, self.window_);
    } else if (sampling == WeightSampling::local) {
      // each output value's own Gaussian: mean conv(x, μ), variance conv(x², σ²), drawn independently
      // (the im2col matrix of x² is the square of x's, padding included, so the variance is one more convolution)
      kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, nullptr);
      const Index rows = x.var.rows(), cols = shape.size();
      const ad::Var<T> var = ad::conv2d(ad::square(x.var), x.shape, ad::square(wsigma), none, self.window_);
      y = ad::reparameterize_variance(ad::conv2d(x.var, x.shape, wmu, none, self.window_), var,
                                      detail::row_normal_noise<T>("nn::BayesianConv2d::forward", tape, noise, rows, cols));
    } else {  // flipout: one ΔW per pass, random signs per row and channel on its input and output
      const ad::Var<T> delta = wsigma * detail::normal_noise(tape, rng, wmu.rows(), wmu.cols());
      if (prior.kind == BayesPrior::Kind::gaussian) {
        kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, nullptr);
      } else {
        const ad::Var<T> w = wmu + delta;
        kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, &w);
      }
      const ad::Var<T> s_in = channel_signs(tape, noise, x.var.rows(), x.shape), s_out = channel_signs(tape, noise, x.var.rows(), shape);
      y = ad::conv2d(x.var, x.shape, wmu, none, self.window_) +
          ad::mask_mul(ad::conv2d(ad::mask_mul(x.var, s_in), x.shape, delta, none, self.window_), s_out);
    }
    return {{ad::add_channel_bias(y, b), shape}, kl};
  }
  // an N x (C·H·W) constant of ±1, one sign per row and channel (the same over the channel's pixels)
  template <class Noise> static ad::Var<T> channel_signs(ad::Tape<T>& tape, Noise& noise, Index rows, const ad::ImageShape& shape) {
    const ad::Var<T> per_channel = detail::row_signs<T>("nn::BayesianConv2d::forward", tape, noise, rows, shape.channels);
    ad::Var<T> s = tape.constant(rows, shape.size());
    const Index pixels = shape.height * shape.width;
    auto v = s.value();
    const auto c = per_channel.value();
    for (Index k = 0; k < shape.channels; ++k)
      for (Index p = 0; p < pixels; ++p) v.col(k * pixels + p) = c.col(k);
    return s;
  }

  ad::Window2d window_;
  Parameter<T> weight_mu_, weight_rho_, bias_mu_, bias_rho_;
};

}  // namespace pml::nn
