#pragma once
/// @file
/// A fully connected layer on the autodiff tape.

#include "pml/autodiff/ops.hpp"
#include "pml/nn/init.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::nn {

/// y = act(x W + b) for a batch x (N x in), W (in x out), b (1 x out); the bias and the activation are
/// one fused node (ad::bias_activation). The weights (and for Init::pytorch the bias; otherwise it starts
/// at zero) are drawn as nn::Init says (nn/init.hpp).
template <Real T> class Linear {
 public:
  /// A layer from `in` to `out` units, initialised from `rng` as `init` says (Init::automatic: Xavier
  /// uniform; nn::MLP resolves it per layer). @throw std::invalid_argument for non-positive sizes.
  Linear(Index in, Index out, Rng& rng, Init init = Init::xavier_uniform, const std::string& name = "linear") {
    if (in <= 0 || out <= 0)
      pml::detail::throw_shape("nn::Linear", "sizes must be positive, got " + std::to_string(in) + " x " + std::to_string(out));
    init = resolve_init(init, false, false);
    weight_ = Parameter<T>(name + ".weight", initial_weights<T>(rng, in, out, init));
    bias_ = Parameter<T>(name + ".bias", initial_bias<T>(rng, in, out, init));
  }
  /// act(x W + b) on the tape; binds W and b so Tape::backward() fills their gradients.
  /// @throw std::invalid_argument if x does not have in() columns.
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, ad::Activation act = ad::Activation::identity, T slope = T(0.01)) {
    return forward_impl(*this, tape, x, act, slope);
  }
  /// The same pass with W and b as constants of the tape (no gradients): reads the layer only, so any
  /// number of threads may run it at once, each on its own tape.
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, ad::Activation act = ad::Activation::identity, T slope = T(0.01)) const {
    return forward_impl(*this, tape, x, act, slope);
  }
  Index in() const noexcept { return weight_.value.rows(); }  ///< input width
  Index out() const noexcept { return weight_.value.cols(); }  ///< output width
  Parameter<T>& weight() noexcept { return weight_; }  ///< the weights W (in x out)
  Parameter<T>& bias() noexcept { return bias_; }  ///< the bias b (1 x out)
  const Parameter<T>& weight() const noexcept { return weight_; }  ///< the weights W (in x out)
  const Parameter<T>& bias() const noexcept { return bias_; }  ///< the bias b (1 x out)
  /// Pointers to every trainable parameter, in the order files store them.
  ParameterList<T> parameters() { return {&weight_, &bias_}; }
  ConstParameterList<T> parameters() const { return {&weight_, &bias_}; }  ///< read-only parameters(), same order

 private:
  template <class Self> static ad::Var<T> forward_impl(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, ad::Activation act, T slope) {
    if (x.cols() != self.in())
      pml::detail::throw_shape("nn::Linear::forward", "x has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(self.in()));
    const ad::Var<T> w = self.weight_.bind(tape);  // a parameter leaf, or a constant for a const layer
    const ad::Var<T> b = self.bias_.bind(tape);
    return ad::bias_activation(ad::matmul(x, w), b, act, slope);
  }

  Parameter<T> weight_, bias_;
};

}  // namespace pml::nn
