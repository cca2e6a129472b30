#pragma once
/// @file
/// Parameter initialisation (issue 15 §1): Xavier/Glorot uniform and normal (Glorot & Bengio 2010, eq. 16),
/// He/Kaiming uniform and normal (He et al. 2015, eq. 10, for ReLU layers), and PyTorch's default for
/// torch.nn.Linear (kaiming_uniform_ with a = √5 on the weights, i.e. U(±1/√fan_in), and the bias
/// U(±1/√fan_in) too: `torch/nn/modules/linear.py`, reset_parameters). Weights are fan_in x fan_out
/// (pml's layers compute x W).

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "pml/core/enum_names.hpp"
#include "pml/core/random.hpp"

namespace pml::nn {

/// How a layer's weights (and bias) are drawn.
enum class Init : std::uint8_t {
  xavier_uniform,  ///< U(-a, a), a = √(6 / (fan_in + fan_out)); zero bias
  he_normal,       ///< N(0, 2 / fan_in); zero bias
  /// He normal for the hidden layers of a (leaky) ReLU network, Xavier uniform for every other layer:
  /// pml's default (nn::MLP and the deep models), what their tests and fixtures were measured with
  automatic,
  xavier_normal,   ///< N(0, 2 / (fan_in + fan_out)); zero bias
  he_uniform,      ///< U(-a, a), a = √(6 / fan_in); zero bias
  /// PyTorch's torch.nn.Linear default: weights and bias both U(-a, a), a = 1/√fan_in
  pytorch,
};
/// The names of Init's values, as the command line spells them (core/enum_names.hpp); model files store
/// the weights, not the scheme.
constexpr std::array<std::string_view, 6> enum_names(Init) {
  return {"xavier_uniform", "he_normal", "automatic", "xavier_normal", "he_uniform", "pytorch"};
}

/// Xavier/Glorot uniform: U(-a, a), \f$a = \sqrt{6/(\text{fan\_in} + \text{fan\_out})}\f$, for a fan_in x fan_out matrix.
template <Real T> Matrix<T> xavier_uniform(Rng& rng, Index fan_in, Index fan_out) {
  const T a = std::sqrt(T(6) / T(fan_in + fan_out));
  Matrix<T> w(fan_in, fan_out);
  random::fill_uniform(rng, w);
  return ((w.array() * T(2) - T(1)) * a).matrix();
}

/// He normal: N(0, 2 / fan_in), for ReLU layers.
template <Real T> Matrix<T> he_normal(Rng& rng, Index fan_in, Index fan_out) {
  Matrix<T> w(fan_in, fan_out);
  random::fill_normal(rng, w, T(0), std::sqrt(T(2) / T(fan_in)));
  return w;
}

/// Xavier/Glorot normal: N(0, 2 / (fan_in + fan_out)).
template <Real T> Matrix<T> xavier_normal(Rng& rng, Index fan_in, Index fan_out) {
  Matrix<T> w(fan_in, fan_out);
  random::fill_normal(rng, w, T(0), std::sqrt(T(2) / T(fan_in + fan_out)));
  return w;
}

/// A rows x cols matrix of U(-a, a) draws.
template <Real T> Matrix<T> uniform_symmetric(Rng& rng, Index rows, Index cols, T a) {
  Matrix<T> w(rows, cols);
  random::fill_uniform(rng, w);
  return ((w.array() * T(2) - T(1)) * a).matrix();
}

/// He uniform: U(-a, a), \f$a = \sqrt{6/\text{fan\_in}}\f$ (the same variance, 2 / fan_in, as he_normal).
template <Real T> Matrix<T> he_uniform(Rng& rng, Index fan_in, Index fan_out) {
  return uniform_symmetric<T>(rng, fan_in, fan_out, std::sqrt(T(6) / T(fan_in)));
}

/// A fan_in x fan_out weight matrix drawn as `init` says (Init::automatic must be resolved by the
/// caller, which knows the layer's place and activation: nn::MLP does). @throw std::domain_error for a value outside the enum; std::invalid_argument for
/// Init::automatic.
template <Real T> Matrix<T> initial_weights(Rng& rng, Index fan_in, Index fan_out, Init init) {
  switch (init) {
    case Init::xavier_uniform: return xavier_uniform<T>(rng, fan_in, fan_out);
    case Init::he_normal: return he_normal<T>(rng, fan_in, fan_out);
    case Init::xavier_normal: return xavier_normal<T>(rng, fan_in, fan_out);
    case Init::he_uniform: return he_uniform<T>(rng, fan_in, fan_out);
    case Init::pytorch: return uniform_symmetric<T>(rng, fan_in, fan_out, T(1) / std::sqrt(T(fan_in)));
    case Init::automatic:
      pml::detail::throw_shape("nn::initial_weights", "Init::automatic depends on the layer; resolve it with nn::resolve_init first");
  }
  pml::detail::throw_domain("nn::initial_weights", "init", "be one of xavier_uniform, he_normal, automatic, xavier_normal, he_uniform, pytorch",
                            std::to_string(int(init)));
}
/// The 1 x fan_out bias drawn as `init` says: U(±1/√fan_in) for Init::pytorch, zero otherwise (drawn
/// after the weights, from the same Rng).
template <Real T> Matrix<T> initial_bias(Rng& rng, Index fan_in, Index fan_out, Init init) {
  if (init == Init::pytorch) return uniform_symmetric<T>(rng, 1, fan_out, T(1) / std::sqrt(T(fan_in)));
  return Matrix<T>::Zero(1, fan_out);
}
/// Init::automatic made concrete for one layer: He normal for a hidden layer of a (leaky) ReLU network,
/// Xavier uniform otherwise; any other value is returned as it is.
constexpr Init resolve_init(Init init, bool hidden, bool relu_like) noexcept {
  if (init != Init::automatic) return init;
  return hidden && relu_like ? Init::he_normal : Init::xavier_uniform;
}

}  // namespace pml::nn
