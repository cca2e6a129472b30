#pragma once
/// @file
/// Laplace (double-exponential) distribution.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Laplace(μ, b): \f$p(x) = \frac{1}{2b}\exp(-|x-\mu|/b)\f$.
template <Real T = double> class Laplace {
 public:
  /// @throw std::domain_error unless location is finite and scale > 0.
  Laplace(T location, T scale) : mu_(location), b_(scale) {
    check_finite("Laplace", "location", location);
    check_positive("Laplace", "scale", scale);
  }
  T location() const noexcept { return mu_; }  ///< location μ
  T scale() const noexcept { return b_; }  ///< scale b
  T log_prob(T x) const noexcept { return -std::abs(x - mu_) / b_ - std::log(T(2) * b_); }  ///< log p(x)
  /// log p(x_i) for each entry of x
  Vector<T> log_prob(const VectorCRef<T>& x) const {
    return (-(x.array() - mu_).abs() / b_ - std::log(T(2) * b_)).matrix();
  }
  /// P(X ≤ x)
  T cdf(T x) const noexcept {
    return x < mu_ ? T(0.5) * std::exp((x - mu_) / b_) : T(1) - T(0.5) * std::exp(-(x - mu_) / b_);
  }
  /// Inversion: the difference of two exponentials has this law.
  T sample(Rng& rng) const {
    return mu_ + b_ * static_cast<T>(std::log(rng.uniform_positive()) - std::log(rng.uniform_positive()));
  }
  /// n independent draws
  Vector<T> sample(Rng& rng, Index n) const {
    Vector<T> out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  T mean() const noexcept { return mu_; }  ///< E[X] = μ
  T variance() const noexcept { return T(2) * b_ * b_; }  ///< Var[X] = 2b²
  T mode() const noexcept { return mu_; }  ///< μ
  T entropy() const noexcept { return T(1) + std::log(T(2) * b_); }  ///< entropy in nats, 1 + log 2b

  /// Maximum likelihood: μ is the weighted median, b the weighted mean absolute deviation from it.
  static Laplace fit(const VectorCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("Laplace::fit", weights, x.size());
    check_all_finite("Laplace::fit", "x", x);
    std::vector<Index> order(static_cast<std::size_t>(x.size()));
    std::iota(order.begin(), order.end(), Index(0));
    std::sort(order.begin(), order.end(), [&](Index a, Index b) { return x(a) < x(b); });
    const T half = w.sum() / T(2);
    T cumulative = 0, median = x(order.back());
    for (Index i : order) {
      cumulative += w(i);
      if (cumulative >= half) {
        median = x(i);
        break;
      }
    }
    const T b = (w.array() * (x.array() - median).abs()).sum() / w.sum();
    if (!(b > T(0)))
      detail::throw_domain("Laplace::fit", "x", "have positive spread", "all weighted values equal");
    return Laplace(median, b);
  }

 private:
  T mu_, b_;
};

}  // namespace pml
