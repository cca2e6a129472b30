#pragma once
/// @file
/// Sample-weight helpers shared by every maximum-likelihood `fit`.

#include <string_view>

#include "pml/core/check.hpp"
#include "pml/core/types.hpp"

namespace pml::detail {

/// Validates optional sample weights (empty means all ones) for `n` samples and returns them.
template <Real T>
Vector<T> weights_or_ones(std::string_view function, const VectorCRef<T>& weights, Index n) {
  check_nonempty(function, "data", n);
  check_weights(function, weights, n);
  if (weights.size() == 0) return Vector<T>::Ones(n);
  return weights;
}

/// An empty weight vector: the default argument of every `fit`.
template <Real T> const Vector<T>& no_weights() {
  static const Vector<T> empty;
  return empty;
}

}  // namespace pml::detail
