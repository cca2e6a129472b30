#pragma once
/// @file
/// Poisson distribution (the likelihood of the Gamma–Poisson conjugate pair).

#include <cmath>
#include <limits>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Poisson(λ): \f$p(k|\lambda) = \lambda^k e^{-\lambda} / k!\f$.
template <Real T = double> class Poisson {
 public:
  /// @throw std::domain_error unless rate > 0.
  explicit Poisson(T rate) : rate_(rate) { check_positive("Poisson", "rate", rate); }
  T rate() const noexcept { return rate_; }  ///< rate λ
  /// log P(K = k); −∞ for k < 0. For k >= 1 in Loader's saddle-point form
  /// \f$-\delta(k) - \frac12\log 2\pi k - \mathrm{bd0}(k, \lambda)\f$ (no cancellation of k log λ and
  /// log k! for large counts, up to 2^53); float evaluated in double.
  T log_prob(long k) const noexcept {
    if (k < 0) return -std::numeric_limits<T>::infinity();
    const double lam = double(rate_);
    if (k == 0) return T(-lam);
    const double kk = double(k);
    return T(-detail::stirling_error(kk) - 0.5 * std::log(kk) - constants<double>::half_log_two_pi -
             detail::bd0(kk, std::log(lam), lam - kk));
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
  /// Entropy in nats: for λ < 1e5 exact summation over the counts within 40 standard deviations (+ 40)
  /// of the mean; above, the asymptotic series \f$\frac12\log(2\pi e\lambda) - \frac1{12\lambda} -
  /// \frac1{24\lambda^2} - \frac{19}{360\lambda^3}\f$ (error below 1e-20 there).
  T entropy() const {
    const double lam = double(rate_);
    if (lam >= 1e5) {
      const double inv = 1.0 / lam;
      return T(0.5 * (std::log(lam) + 1.0) + constants<double>::half_log_two_pi -
               inv * (1.0 / 12 + inv * (1.0 / 24 + inv * 19.0 / 360)));
    }
    const double sd = std::sqrt(lam);
    const long lo = long(std::max(0.0, std::floor(lam - 40 * sd - 40))), hi = long(std::ceil(lam + 40 * sd + 40));
    return T(detail::entropy_by_summation(lo, hi, [this](long k) { return double(log_prob(k)); }));
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
