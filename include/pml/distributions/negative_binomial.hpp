#pragma once
/// @file
/// Negative binomial distribution: the posterior predictive of the Gamma–Poisson model.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"

namespace pml {

/// NegativeBinomial(r, p): \f$p(k) = \frac{\Gamma(k+r)}{k!\,\Gamma(r)}p^r(1-p)^k\f$, k = 0, 1, ...
/// (failures before the r-th success; scipy's nbinom(r, p)). A Poisson whose rate is
/// Gamma(r, rate = p/(1−p)) distributed.
template <Real T = double> class NegativeBinomial {
 public:
  /// @throw std::domain_error unless r > 0 and p in (0, 1].
  NegativeBinomial(T r, T p) : r_(r), p_(p) {
    check_positive("NegativeBinomial", "r", r);
    if (!(p > T(0) && p <= T(1)))
      detail::throw_domain("NegativeBinomial", "p", "lie in (0, 1]", detail::describe(p));
  }
  T r() const noexcept { return r_; }  ///< number of successes r
  T p() const noexcept { return p_; }  ///< success probability p
  /// log P(K = k), k failures before the r-th success; −∞ for k < 0. For r >= 1 and k >= 1 as
  /// \f$\log\frac{r}{r+k} + \log\mathrm{Bin}(r | r+k, p)\f$ with the binomial in Loader's saddle-point form
  /// (R's dnbinom); otherwise \f$\log\frac{\Gamma(k+r)}{\Gamma(k+1)} - \log\Gamma(r)\f$ by lgamma_difference().
  /// Float evaluated in double.
  T log_prob(long k) const noexcept {
    if (k < 0) return -std::numeric_limits<T>::infinity();
    const double r = double(r_), p = double(p_), kk = double(k);
    if (k == 0) return T(r * std::log(p));
    if (p == 1) return -std::numeric_limits<T>::infinity();
    if (r >= 1) return T(-std::log1p(kk / r) + detail::log_binomial_saddle(r, kk, p));
    return T(detail::lgamma_difference(kk + 1, r - 1) - detail::boost_lgamma(r) + r * std::log(p) + kk * std::log1p(-p));
  }
  /// log P(K = k_i) for each entry of k
  Vector<T> log_prob(const IntVectorCRef& k) const {
    Vector<T> out(k.size());
    for (Index i = 0; i < k.size(); ++i) out(i) = log_prob(k(i));
    return out;
  }
  /// Gamma–Poisson mixture draw.
  long sample(Rng& rng) const {
    if (p_ >= T(1)) return 0;
    return random::poisson(rng, random::gamma(rng, r_, p_ / (T(1) - p_)));
  }
  /// n independent draws
  IntVector sample(Rng& rng, Index n) const {
    IntVector out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  T mean() const noexcept { return r_ * (T(1) - p_) / p_; }  ///< E[K] = r(1 − p)/p
  T variance() const noexcept { return r_ * (T(1) - p_) / (p_ * p_); }  ///< Var[K] = r(1 − p)/p²
  /// \f$\lfloor(r-1)(1-p)/p\rfloor\f$ for r > 1, else 0.
  long mode() const noexcept {
    return r_ > T(1) ? static_cast<long>(std::floor((r_ - T(1)) * (T(1) - p_) / p_)) : 0;
  }

 private:
  T r_, p_;
};

}  // namespace pml
