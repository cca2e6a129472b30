#pragma once
/// @file
/// Weighted mean and spread computed in power-of-two scaled units, so that data near the limits of the
/// floating-point range (|x| near 1e300 in double, 1e35 in float) give a finite mean and standard deviation
/// whenever they are representable (the variance itself may not be).

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "pml/core/check.hpp"

namespace pml::detail {

/// Mean and spread of a weighted sample: x = 2^exponent y with |y| <= 1 (an exact scaling), mean =
/// 2^exponent ymean and variance = 4^exponent ratio (ratio = Σ w (y - ymean)² / Σ w, no overflow).
template <class T> struct ScaledMoments {
  int exponent = 0;  // power of two dividing x
  T scaled_mean = 0;  // weighted mean of y
  T ratio = 0;  // weighted mean square deviation of y
  T largest = 0;  // largest |x|
  T mean() const { return std::ldexp(scaled_mean, exponent); }
  T stddev() const { return std::ldexp(std::sqrt(ratio), exponent); }  // may be inf when not representable
  T variance() const { return std::ldexp(ratio, 2 * exponent); }  // may be inf when not representable
};

/// The exponent e with max|x| = f 2^e, f in [0.5, 1), or 0 (no scaling) when max|x| lies within
/// 2^(±max_exponent/4), where squares and sums cannot over- or underflow; at least 2 - max_exponent so
/// that 2^-e stays finite for subnormal data.
template <class T> int scaling_exponent(T largest) {
  if (!(largest > T(0))) return 0;
  int e = 0;
  (void)std::frexp(largest, &e);
  constexpr int safe = std::numeric_limits<T>::max_exponent / 4;
  if (e >= -safe && e <= safe) return 0;
  return std::max(e, 2 - std::numeric_limits<T>::max_exponent);
}

/// Weighted moments of x (finite entries, weights summing to `total` > 0). The direct formulas (no
/// scaling) for data of moderate magnitude; otherwise they are evaluated on the exactly scaled y.
template <class T, class X, class W> ScaledMoments<T> scaled_moments(const X& x, const W& w, T total) {
  ScaledMoments<T> m;
  m.largest = x.size() ? T(x.cwiseAbs().maxCoeff()) : T(0);
  m.exponent = scaling_exponent(m.largest);
  const auto y = (x.array() * std::ldexp(T(1), -m.exponent)).eval();
  m.scaled_mean = w.dot(y.matrix()) / total;
  m.ratio = (w.array() * (y - m.scaled_mean).square()).sum() / total;
  return m;
}

/// Throws std::domain_error from `function` naming `argument` and its largest magnitude when `value`
/// (a fitted quantity derived from the data) is not finite in T.
template <class T> void check_representable(std::string_view function, std::string_view argument, T value,
                                            std::string_view what, double largest) {
  if (!std::isfinite(static_cast<double>(value)))
    throw_domain(function, argument, std::string("give a ") + std::string(what) + " representable in the scalar type",
                 "largest |" + std::string(argument) + "| = " + describe(largest));
}

}  // namespace pml::detail
