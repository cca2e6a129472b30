#pragma once
/// @file
/// Poisson distribution (the likelihood of the Gamma–Poisson conjugate pair).

#include <cmath>
#include <limits>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Poisson(λ): \f$p(k|\lambda) = \lambda^k e^{-\lambda} / k!\f$.
template <Real T = double> class Poisson {
 public:
  /// @throw std::domain_error unless rate > 0.
  explicit Poisson(T rate) : rate_(rate) { check_positive("Poisson", "rate", rate); }
  T rate() const noexcept { return rate_; }  ///< rate λ
  /// log P(K = k); −∞ for k < 0
  T log_prob(long k) const noexcept {
    if (k < 0) return -std::numeric_limits<T>::infinity();
    return T(k) * std::log(rate_) - rate_ - std::lgamma(T(k) + 1);
  }
  /// log P(K = k_i) for each entry of k
  Vector<T> log_prob(const IntVectorCRef& k) const {
    Vector<T> out(k.size());
    for (Index i = 0; i < k.size(); ++i) out(i) = log_prob(k(i));
    return out;
  }
  long sample(Rng& rng) const { return random::poisson(rng, rate_); }  ///< one draw
  /// n independent draws
  IntVector sample(Rng& rng, Index n) const {
    IntVector out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  T mean() const noexcept { return rate_; }  ///< E[K] = λ
  T variance() const noexcept { return rate_; }  ///< Var[K] = λ
  /// \f$\lfloor\lambda\rfloor\f$ (λ - 1 is a mode too when λ is an integer).
  long mode() const noexcept { return static_cast<long>(std::floor(rate_)); }
  /// Entropy in nats, summed until the tail mass is negligible.
  T entropy() const {
    T h = 0;
    const long upper = static_cast<long>(rate_ + 40 * std::sqrt(rate_) + 40);
    for (long k = 0; k <= upper; ++k) {
      const T lp = log_prob(k);
      h -= std::exp(lp) * lp;
    }
    return h;
  }
  /// Maximum likelihood: the weighted mean count.
  static Poisson fit(const IntVectorCRef& k, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("Poisson::fit", weights, k.size());
    T s = 0;
    for (Index i = 0; i < k.size(); ++i) {
      if (k(i) < 0)
        detail::throw_domain("Poisson::fit", "k", "be non-negative",
                             std::to_string(k(i)) + " at index " + std::to_string(i));
      s += w(i) * T(k(i));
    }
    const T rate = s / w.sum();
    if (!(rate > T(0)))
      detail::throw_domain("Poisson::fit", "k", "contain a positive count", "all zeros");
    return Poisson(rate);
  }

 private:
  T rate_;
};

}  // namespace pml
