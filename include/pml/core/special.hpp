#pragma once
/// @file
/// Special functions: stable log-sum-exp, softplus, sigmoid, log-gamma family, digamma and
/// trigamma, multivariate gamma. Everything that works in log space lives here, once.

#include <cmath>
#include <limits>

#include <Eigen/Core>

#include "pml/core/check.hpp"
#include "pml/core/simd.hpp"
#include "pml/core/types.hpp"

namespace pml {

/// Stable \f$\log(1 + e^x)\f$ (softplus). Never overflows: for large x it returns x.
template <Real T> T softplus(T x) noexcept {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
/// Same as softplus(); the name Stan and R use.
template <Real T> T log1p_exp(T x) noexcept { return softplus(x); }

/// Stable logistic sigmoid \f$1 / (1 + e^{-x})\f$, accurate in both tails.
template <Real T> T sigmoid(T x) noexcept {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

/// \f$\log \sigma(x) = -\mathrm{softplus}(-x)\f$, stable.
template <Real T> T log_sigmoid(T x) noexcept { return -softplus(-x); }

/// Logit \f$\log(p / (1 - p))\f$.
template <Real T> T logit(T p) noexcept { return std::log(p) - std::log1p(-p); }

/// \f$\log \Gamma(x)\f$ for x > 0 (thread-safe wrapper around std::lgamma).
template <Real T> T lgamma(T x) noexcept { return std::lgamma(x); }

/// \f$\log B(a, b) = \log\Gamma(a) + \log\Gamma(b) - \log\Gamma(a + b)\f$.
template <Real T> T lbeta(T a, T b) noexcept {
  return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
}

/// \f$\log \binom{n}{k}\f$ for real n >= k >= 0.
template <Real T> T lchoose(T n, T k) noexcept {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}

/// Digamma \f$\psi(x) = \frac{d}{dx}\log\Gamma(x)\f$: recurrence to x >= 10, then the asymptotic
/// (Stirling) series to the x^-14 term; reflection for negative non-integers. Poles return NaN.
template <Real T> T digamma(T x) noexcept {
  if (x <= T(0)) {
    if (x == std::floor(x)) return std::numeric_limits<T>::quiet_NaN();
    // psi(1 - x) - psi(x) = pi cot(pi x)
    return digamma(T(1) - x) - constants<T>::pi / std::tan(constants<T>::pi * x);
  }
  T result = 0;
  while (x < T(10)) {
    result -= T(1) / x;
    x += T(1);
  }
  // ln x - 1/2x - sum_k B_2k / (2k x^2k), k = 1..7; the first omitted term is below 1e-17 at x >= 10
  const T inv = T(1) / x;
  const T z = inv * inv;
  const T series =
      z * (T(1) / 12 - z * (T(1) / 120 - z * (T(1) / 252 - z * (T(1) / 240 - z * (T(1) / 132 - z * (T(691) / 32760 - z * (T(1) / 12)))))));
  result += std::log(x) - T(0.5) * inv - series;
  return result;
}

/// Trigamma \f$\psi'(x)\f$: recurrence to x >= 10, then the asymptotic series to the x^-15 term;
/// reflection for negative non-integers.
template <Real T> T trigamma(T x) noexcept {
  if (x <= T(0)) {
    if (x == std::floor(x)) return std::numeric_limits<T>::quiet_NaN();
    const T s = std::sin(constants<T>::pi * x);
    return -trigamma(T(1) - x) + constants<T>::pi * constants<T>::pi / (s * s);
  }
  T result = 0;
  while (x < T(10)) {
    result += T(1) / (x * x);
    x += T(1);
  }
  // 1/x + 1/2x^2 + sum_k B_2k / x^(2k+1), k = 1..7
  const T inv = T(1) / x;
  const T z = inv * inv;
  const T series =
      inv * z * (T(1) / 6 - z * (T(1) / 30 - z * (T(1) / 42 - z * (T(1) / 30 - z * (T(5) / 66 - z * (T(691) / 2730 - z * (T(7) / 6)))))));
  result += inv + T(0.5) * z + series;
  return result;
}

/// Inverse of the digamma function on (0, inf): Newton's method from Minka's (2000) start.
template <Real T> T inverse_digamma(T y) noexcept {
  T x = y >= T(-2.22) ? std::exp(y) + T(0.5) : -T(1) / (y - digamma(T(1)));
  for (int i = 0; i < 12; ++i) {
    const T step = (digamma(x) - y) / trigamma(x);
    x -= step;
    if (std::abs(step) <= std::numeric_limits<T>::epsilon() * x) break;
  }
  return x;
}

/// Multivariate log-gamma \f$\log\Gamma_D(a) = \frac{D(D-1)}{4}\log\pi + \sum_{j=1}^{D}
/// \log\Gamma(a + (1 - j)/2)\f$ (PRML B.79 normaliser), for a > (D - 1)/2.
template <Real T> T lmgamma(Index dimension, T a) noexcept {
  T result = T(dimension * (dimension - 1)) / T(4) * constants<T>::log_pi;
  for (Index j = 1; j <= dimension; ++j) result += std::lgamma(a + T(1 - j) / T(2));
  return result;
}

/// Multivariate digamma \f$\psi_D(a) = \sum_{j=1}^{D}\psi(a + (1 - j)/2)\f$.
template <Real T> T mdigamma(Index dimension, T a) noexcept {
  T result = 0;
  for (Index j = 1; j <= dimension; ++j) result += digamma(a + T(1 - j) / T(2));
  return result;
}

/// Multivariate trigamma \f$\psi'_D(a) = \sum_{j=1}^{D}\psi'(a + (1 - j)/2)\f$.
template <Real T> T mtrigamma(Index dimension, T a) noexcept {
  T result = 0;
  for (Index j = 1; j <= dimension; ++j) result += trigamma(a + T(1 - j) / T(2));
  return result;
}

/// Stable \f$\log\sum_i e^{x_i}\f$ of all coefficients; -inf for an empty input or all -inf.
template <class Derived> typename Derived::Scalar log_sum_exp(const Eigen::DenseBase<Derived>& x) {
  using T = typename Derived::Scalar;
  if (x.size() == 0) return -std::numeric_limits<T>::infinity();
  const T m = x.maxCoeff();
  if (!std::isfinite(m)) return m;  // all -inf -> -inf; any +inf -> +inf; NaN propagates
  return m + std::log((x.derived().array() - m).exp().sum());
}

/// Stable log-sum-exp of two scalars.
template <Real T> T log_sum_exp(T a, T b) noexcept {
  if (a < b) std::swap(a, b);
  if (a == -std::numeric_limits<T>::infinity()) return a;
  return a + std::log1p(std::exp(b - a));
}

/// Row-wise log-sum-exp: returns a column vector with one entry per row (the E-step normaliser).
/// Sweeps the columns, so every pass over column-major data is contiguous and vectorised.
template <class Derived>
Vector<typename Derived::Scalar> log_sum_exp_rows(const Eigen::DenseBase<Derived>& x) {
  using T = typename Derived::Scalar;
  const Index n = x.rows(), k = x.cols();
  if (k == 0) return Vector<T>::Constant(n, -std::numeric_limits<T>::infinity());
  Vector<T> m = x.col(0);
  for (Index c = 1; c < k; ++c) m = m.cwiseMax(x.col(c));
  // rows of all -inf (or with +inf) use shift 0 so that -inf and +inf come out unchanged
  m = m.unaryExpr([](T v) { return std::isfinite(v) ? v : T(0); });
  Vector<T> sum = Vector<T>::Zero(n);
  for (Index c = 0; c < k; ++c) sum.array() += (x.col(c) - m).array().exp();
  return (sum.array().log() + m.array()).matrix();
}

/// Column-wise log-sum-exp: returns a row vector with one entry per column.
template <class Derived>
RowVector<typename Derived::Scalar> log_sum_exp_cols(const Eigen::DenseBase<Derived>& x) {
  return log_sum_exp_rows(x.transpose()).transpose();
}

/// Softmax of each row, stable for any logits (exp(x - log_sum_exp_rows(x))).
template <class Derived> Matrix<typename Derived::Scalar> softmax_rows(const Eigen::MatrixBase<Derived>& logits) {
  const auto lse = log_sum_exp_rows(logits);
  return (logits.array().colwise() - lse.array()).exp().matrix();
}

/// Elementwise stable softplus of an array expression (vectorised kernel, see core/simd.hpp).
template <class Derived> auto softplus(const Eigen::ArrayBase<Derived>& x) { return simd::softplus(x); }

/// Elementwise stable sigmoid of an array expression (vectorised kernel, see core/simd.hpp).
template <class Derived> auto sigmoid(const Eigen::ArrayBase<Derived>& x) { return simd::sigmoid(x); }

}  // namespace pml
