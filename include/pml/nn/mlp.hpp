#pragma once
/// @file
/// nn::MLP: a stack of Linear layers with an activation, optional dropout (kept on for MC dropout).

#include <vector>

#include "pml/autodiff/scratch.hpp"
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
  /// How every layer's weights are drawn (nn/init.hpp); automatic: He normal for the hidden layers of a
  /// (leaky) ReLU network, Xavier uniform for the others
  Init init = Init::automatic;
};

/// A multilayer perceptron. `nn::MLP<float> net({.sizes = {784, 400, 20}, .activation = ad::Activation::relu}, rng);`
/// Weights are drawn as options.init says: by default He-initialised for (leaky) ReLU hidden layers and
/// Xavier-initialised otherwise.
/// Thread safety: the const members (predict(), forward() const, parameters() const) only read the
/// network, so any number of threads may call them at once on one network; training (the non-const
/// forward() and an optimiser step) and set_mc_dropout() need the network to themselves.
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
      layers_.emplace_back(options.sizes[l], options.sizes[l + 1], rng, resolve_init(options.init, hidden, relu_like),
                           "layer" + std::to_string(l));
    }
  }

  /// The network's output on the tape. Dropout is active in Mode::train, and in Mode::predict too
  /// when mc_dropout() is on; the masks come from `rng`.
  ad::Var<T> forward(ad::Tape<T>& tape, ad::Var<T> x, Rng& rng, Mode mode = Mode::train) {
    return forward_impl(*this, tape, x, rng, mode == Mode::train || mc_dropout_);
  }
  /// The same pass with the weights as constants of the tape (no gradients; see Linear::forward() const):
  /// reads the network only, so many threads may run it at once, each with its own tape and Rng.
  ad::Var<T> forward(ad::Tape<T>& tape, ad::Var<T> x, Rng& rng, Mode mode = Mode::train) const {
    return forward_impl(*this, tape, x, rng, mode == Mode::train || mc_dropout_);
  }
  /// The pass with each row's dropout masks drawn from its position (RowNoise; data-parallel training:
  /// the same masks for a row whichever rank holds it). Layer l's masks use noise.layer(l).
  ad::Var<T> forward(ad::Tape<T>& tape, ad::Var<T> x, const RowNoise& noise, Mode mode = Mode::train) {
    return forward_impl(*this, tape, x, noise, mode == Mode::train || mc_dropout_);
  }
  /// The same pass with the weights as constants of the tape (no gradients).
  ad::Var<T> forward(ad::Tape<T>& tape, ad::Var<T> x, const RowNoise& noise, Mode mode = Mode::train) const {
    return forward_impl(*this, tape, x, noise, mode == Mode::train || mc_dropout_);
  }
  /// Forward pass without dropout (throws if dropout would be active, since no Rng is given).
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x) {
    check_no_mc("nn::MLP::forward");
    Rng unused(0);
    return forward(tape, x, unused, Mode::predict);
  }
  /// Forward pass without dropout on constant weights (see forward() const above).
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x) const {
    check_no_mc("nn::MLP::forward");
    Rng unused(0);
    return forward(tape, x, unused, Mode::predict);
  }
  /// Output for a batch x (N x in), on the calling thread's scratch tape (ad::ScratchTape): const, and
  /// safe to call from many threads at once on one network (each with its own `rng`).
  template <class Derived> Matrix<T> predict(const Eigen::MatrixBase<Derived>& x, Rng& rng) const {
    return predict(x, rng, mc_dropout_);
  }
  /// Output for a batch x with dropout on or off for this call, whatever mc_dropout() says.
  template <class Derived> Matrix<T> predict(const Eigen::MatrixBase<Derived>& x, Rng& rng, bool dropout) const {
    check_input("nn::MLP::predict", x);
    ad::ScratchTape<T> scratch;  // this thread's tape: nothing of the network is written
    ad::Tape<T>& tape = *scratch;
    return forward_impl(*this, tape, tape.constant(x), rng, dropout).value();
  }
  /// The output at `x` with dropout off (deterministic); MC dropout needs the overload with an Rng.
  template <class Derived> Matrix<T> predict(const Eigen::MatrixBase<Derived>& x) const {
    check_no_mc("nn::MLP::predict");
    Rng unused(0);
    return predict(x, unused, false);
  }

  /// Keep dropout on at prediction time (MC dropout, Gal & Ghahramani 2016).
  void set_mc_dropout(bool on) noexcept { mc_dropout_ = on; }
  bool mc_dropout() const noexcept { return mc_dropout_; }  ///< whether dropout stays on at prediction

  Index in() const noexcept { return layers_.front().in(); }  ///< input width
  Index out() const noexcept { return layers_.back().out(); }  ///< output width
  const MLPOptions& options() const noexcept { return options_; }  ///< The options the network was built with.
  std::vector<Linear<T>>& layers() noexcept { return layers_; }  ///< The Linear layers, input first.
  const std::vector<Linear<T>>& layers() const noexcept { return layers_; }  ///< The Linear layers, input first.
  /// Pointers to every trainable parameter, in the order files store them.
  ParameterList<T> parameters() {
    ParameterList<T> list;
    for (auto& layer : layers_) append(list, layer.parameters());
    return list;
  }
  /// Read-only pointers to every parameter, same order.
  ConstParameterList<T> parameters() const {
    ConstParameterList<T> list;
    for (const auto& layer : layers_) {
      const auto more = layer.parameters();
      list.insert(list.end(), more.begin(), more.end());
    }
    return list;
  }

 private:
  // Noise: an Rng (masks drawn in sequence) or a RowNoise (dropout layer l, 0 the input's, from layer_noise(noise, l))
  template <class Self, class Noise> static ad::Var<T> forward_impl(Self& self, ad::Tape<T>& tape, ad::Var<T> x, Noise& noise, bool drop) {
    if (self.options_.dropout_input) x = self.dropout_.forward(tape, x, layer_noise(noise, 0), drop);
    const T slope = static_cast<T>(self.options_.leaky_slope);
    for (std::size_t l = 0; l < self.layers_.size(); ++l) {
      const bool hidden = l + 1 < self.layers_.size();
      x = self.layers_[l].forward(tape, x, hidden ? self.options_.activation : self.options_.output_activation, slope);
      if (hidden) x = self.dropout_.forward(tape, x, layer_noise(noise, l + 1), drop);
    }
    return x;
  }
  void check_no_mc(const char* function) const {
    if (options_.dropout > 0 && mc_dropout_) pml::detail::throw_shape(function, "MC dropout is on: pass an Rng");
  }
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
};

}  // namespace pml::nn
