#pragma once
/// @file
/// Parameter initialisation: Xavier/Glorot (Glorot & Bengio 2010) and He (He et al. 2015).

#include <cmath>

#include "pml/core/random.hpp"

namespace pml::nn {

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

}  // namespace pml::nn
