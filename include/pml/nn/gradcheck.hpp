#pragma once
/// @file
/// Gradient check of a model's loss with respect to its parameters (the nn counterpart of ad::gradcheck).

#include <algorithm>
#include <cmath>

#include "pml/nn/parameter.hpp"

namespace pml::nn {

/// The largest discrepancy, relative to max(1, |gradient|), between the parameters' gradients from one
/// Tape::backward() and central differences over every parameter entry. `loss()` must reset `tape`,
/// build the loss on it from the parameters' current values and return it (1 x 1); it is called
/// 2 x (number of entries) + 1 times, so keep the model small. Any randomness inside must be re-seeded
/// identically on each call.
template <Real T, class Loss> T parameter_gradcheck(const ParameterList<T>& params, ad::Tape<T>& tape, Loss loss, T step = T(1e-6)) {
  tape.backward(loss());
  T worst = 0;
  for (auto* p : params) {
    const Matrix<T> analytic = p->grad;
    for (Index i = 0; i < p->value.size(); ++i) {
      const T v = p->value(i);
      p->value(i) = v + step;
      const T up = loss().value()(0, 0);
      p->value(i) = v - step;
      const T down = loss().value()(0, 0);
      p->value(i) = v;
      worst = std::max(worst, std::abs((up - down) / (T(2) * step) - analytic(i)) / std::max(T(1), std::abs(analytic(i))));
    }
  }
  return worst;
}

}  // namespace pml::nn
