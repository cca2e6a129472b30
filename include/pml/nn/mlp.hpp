#pragma once
/// @file
/// nn::MLP: a stack of Linear layers with an activation, optional dropout (kept on for MC dropout).

#include <vector>

#include "pml/nn/dropout.hpp"
#include "pml/nn/linear.hpp"

namespace pml::nn {

/// Architecture of an MLP: `sizes` = {in, hidden..., out}.
struct MLPOptions {
  std::vector<Index> sizes{};  ///< {in, hidden..., out}
  ad::Activation activation = ad::Activation::relu;         ///< after every hidden layer
  ad::Activation output_activation = ad::Activation::identity;  ///< after the last layer
  double dropout = 0;          ///< dropout probability after every hidden activation (0: none)
  bool dropout_input = false;  ///< also drop input features
  double leaky_slope = 0.01;   ///< slope of leaky_relu
};

/// A multilayer perceptron. `nn::MLP<float> net({.sizes = {784, 400, 20}, .activation = ad::Activation::relu}, rng);`
/// Weights are He-initialised for (leaky) ReLU hidden layers and Xavier-initialised otherwise.
template <Real T> class MLP {
 public:
  /// @throw std::invalid_argument if fewer than two sizes or a size <= 0; std::domain_error for a bad dropout.
  MLP(const MLPOptions& options, Rng& rng) : options_(options), dropout_(static_cast<T>(options.dropout)) {
    if (options.sizes.size() < 2)
      pml::detail::throw_shape("nn::MLP", "sizes needs at least {in, out}, got " + std::to_string(options.sizes.size()) + " entries");
    const bool relu_like = options.activation == ad::Activation::relu || options.activation == ad::Activation::leaky_relu;
    layers_.reserve(options.sizes.size() - 1);
    for (std::size_t l = 0; l + 1 < options.sizes.size(); ++l) {
      const bool hidden = l + 2 < options.sizes.size();
      layers_.emplace_back(options.sizes[l], options.sizes[l + 1], rng, hidden && relu_like ? Init::he_normal : Init::xavier_uniform,
                           "layer" + std::to_string(l));
    }
  }

  /// The network's output on the tape. Dropout is active in Mode::train, and in Mode::predict too
  /// when mc_dropout() is on; the masks come from `rng`.
  ad::Var<T> forward(ad::Tape<T>& tape, ad::Var<T> x, Rng& rng, Mode mode = Mode::train) {
    const bool drop = mode == Mode::train || mc_dropout_;
    if (options_.dropout_input) x = dropout_.forward(tape, x, rng, drop);
    const T slope = static_cast<T>(options_.leaky_slope);
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const bool hidden = l + 1 < layers_.size();
      x = layers_[l].forward(tape, x, hidden ? options_.activation : options_.output_activation, slope);
      if (hidden) x = dropout_.forward(tape, x, rng, drop);
    }
    return x;
  }
  /// Forward pass without dropout (throws if dropout would be active, since no Rng is given).
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x) {
    if (options_.dropout > 0 && mc_dropout_) pml::detail::throw_shape("nn::MLP::forward", "MC dropout is on: pass an Rng");
    Rng unused(0);
    return forward(tape, x, unused, Mode::predict);
  }
  /// Output for a batch x (N x in) outside any training tape (uses the network's own tape).
  template <class Derived> Matrix<T> predict(const Eigen::MatrixBase<Derived>& x, Rng& rng) {
    check_input("nn::MLP::predict", x);
    scratch_.reset();
    return forward(scratch_, scratch_.constant(x), rng, Mode::predict).value();
  }
  /// The output at `x` with dropout off (deterministic); MC dropout needs the overload with an Rng.
  template <class Derived> Matrix<T> predict(const Eigen::MatrixBase<Derived>& x) {
    check_input("nn::MLP::predict", x);
    scratch_.reset();
    return forward(scratch_, scratch_.constant(x)).value();
  }

  /// Keep dropout on at prediction time (MC dropout, Gal & Ghahramani 2016).
  void set_mc_dropout(bool on) noexcept { mc_dropout_ = on; }
  bool mc_dropout() const noexcept { return mc_dropout_; }  ///< whether dropout stays on at prediction

  Index in() const noexcept { return layers_.front().in(); }  ///< input width
  Index out() const noexcept { return layers_.back().out(); }  ///< output width
  const MLPOptions& options() const noexcept { return options_; }  ///< The options the network was built with.
  std::vector<Linear<T>>& layers() noexcept { return layers_; }  ///< The Linear layers, input first.
  /// Pointers to every trainable parameter, in the order files store them.
  ParameterList<T> parameters() {
    ParameterList<T> list;
    for (auto& layer : layers_) append(list, layer.parameters());
    return list;
  }

 private:
  template <class Derived> void check_input(const char* function, const Eigen::MatrixBase<Derived>& x) const {
    if (x.cols() != in())
      pml::detail::throw_shape(function, "x has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(in()));
    if (x.rows() == 0) pml::detail::throw_shape(function, "x has no rows");
    check_all_finite(function, "x", x);
  }

  MLPOptions options_;
  Dropout<T> dropout_;
  std::vector<Linear<T>> layers_;
  bool mc_dropout_ = false;
  ad::Tape<T> scratch_;
};

}  // namespace pml::nn
