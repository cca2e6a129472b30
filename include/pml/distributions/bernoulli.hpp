#pragma once
/// @file
/// Bernoulli distribution.

#include <cmath>
#include <limits>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Bernoulli(p): \f$p(x|\mu) = \mu^x (1 - \mu)^{1-x}\f$, x in {0, 1} (PRML 2.2).
/// @tparam T scalar type (float or double).
template <Real T = double> class Bernoulli {
 public:
  /// @param p probability of x = 1. @throw std::domain_error unless p in [0, 1].
  explicit Bernoulli(T p) : p_(p) { check_probability("Bernoulli", "p", p); }

  /// Probability of a one.
  T p() const noexcept { return p_; }

  /// \f$\log p(x)\f$; -inf for x outside {0, 1}.
  T log_prob(long x) const noexcept {
    if (x == 1) return std::log(p_);
    if (x == 0) return std::log1p(-p_);
    return -std::numeric_limits<T>::infinity();
  }
  /// Log-probability of each entry of `x`.
  Vector<T> log_prob(const IntVectorCRef& x) const {
    Vector<T> out(x.size());
    for (Index i = 0; i < x.size(); ++i) out(i) = log_prob(x(i));
    return out;
  }
  /// One draw.
  long sample(Rng& rng) const { return random::uniform<double>(rng) < static_cast<double>(p_) ? 1 : 0; }
  /// `n` draws.
  IntVector sample(Rng& rng, Index n) const {
    IntVector out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  /// \f$E[x] = \mu\f$.
  T mean() const noexcept { return p_; }
  /// \f$\mathrm{var}[x] = \mu(1 - \mu)\f$.
  T variance() const noexcept { return p_ * (T(1) - p_); }
  /// 1 when p > 1/2, else 0 (ties go to 0).
  long mode() const noexcept { return p_ > T(0.5) ? 1 : 0; }
  /// Entropy in nats, \f$-\mu\log\mu - (1-\mu)\log(1-\mu)\f$.
  T entropy() const noexcept { return xlogx(p_) + xlogx(T(1) - p_); }

  /// Maximum likelihood \f$\mu_{ML} = \sum_n w_n x_n / \sum_n w_n\f$ (PRML 2.7).
  /// @throw std::domain_error for values other than 0/1 or bad weights.
  static Bernoulli fit(const IntVectorCRef& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("Bernoulli::fit", weights, x.size());
    T ones = 0;
    for (Index i = 0; i < x.size(); ++i) {
      if (x(i) != 0 && x(i) != 1)
        detail::throw_domain("Bernoulli::fit", "x", "contain only 0 and 1",
                             std::to_string(x(i)) + " at index " + std::to_string(i));
      ones += w(i) * T(x(i));
    }
    return Bernoulli(std::clamp(ones / w.sum(), T(0), T(1)));
  }

 private:
  static T xlogx(T q) noexcept { return q > T(0) ? -q * std::log(q) : T(0); }
  T p_;
};

}  // namespace pml
