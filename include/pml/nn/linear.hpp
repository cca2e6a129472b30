#pragma once
/// @file
/// A fully connected layer on the autodiff tape.

#include "pml/autodiff/ops.hpp"
#include "pml/nn/init.hpp"

namespace pml::nn {

/// y = x W + b for a batch x (N x in), W (in x out), b (1 x out), Xavier-initialised. forward() puts
/// W and b on the tape as leaves and remembers them, so gradients() reads their adjoints after
/// Tape::backward().
template <Real T> class Linear {
 public:
  Linear(Index in, Index out, Rng& rng) : weight_(xavier_uniform<T>(rng, in, out)), bias_(RowVector<T>::Zero(out)) {
    if (in <= 0 || out <= 0)
      pml::detail::throw_shape("nn::Linear", "sizes must be positive, got " + std::to_string(in) + " x " + std::to_string(out));
  }
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x) {
    if (x.cols() != weight_.rows())
      pml::detail::throw_shape("nn::Linear::forward", "x has columns " + std::to_string(x.cols()) + ", expected " +
                                                          std::to_string(weight_.rows()));
    w_ = tape.variable(weight_);
    b_ = tape.variable(bias_);
    return ad::matmul(x, w_) + b_;
  }
  Matrix<T>& weight() noexcept { return weight_; }
  RowVector<T>& bias() noexcept { return bias_; }
  /// Adjoints of W and b from the last backward pass through the last forward().
  Matrix<T> weight_gradient() const { return w_.adjoint(); }
  RowVector<T> bias_gradient() const { return b_.adjoint(); }

 private:
  Matrix<T> weight_;
  RowVector<T> bias_;
  ad::Var<T> w_, b_;
};

}  // namespace pml::nn
