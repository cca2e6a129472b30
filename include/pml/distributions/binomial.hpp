#pragma once
/// @file
/// Binomial distribution.

#include <cmath>
#include <limits>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Binomial(n, p): \f$\mathrm{Bin}(m|N,\mu) = \binom{N}{m}\mu^m(1-\mu)^{N-m}\f$ (PRML 2.9).
template <Real T = double> class Binomial {
 public:
  /// @throw std::domain_error unless trials >= 0 and p in [0, 1].
  Binomial(long trials, T p) : n_(trials), p_(p) {
    if (trials < 0)
      detail::throw_domain("Binomial", "trials", "be non-negative", std::to_string(trials));
    check_probability("Binomial", "p", p);
  }
  long trials() const noexcept { return n_; }  ///< number of trials n
  T p() const noexcept { return p_; }  ///< success probability p

  /// \f$\log \mathrm{Bin}(k|n,p)\f$; -inf outside 0..n.
  T log_prob(long k) const noexcept {
    if (k < 0 || k > n_) return -std::numeric_limits<T>::infinity();
    const T kk = T(k), nk = T(n_ - k);
    const T a = k == 0 ? T(0) : kk * std::log(p_);
    const T b = n_ - k == 0 ? T(0) : nk * std::log1p(-p_);
    return lchoose(T(n_), kk) + a + b;
  }
  /// Log-probability of each entry.
  Vector<T> log_prob(const IntVectorCRef& k) const {
    Vector<T> out(k.size());
    for (Index i = 0; i < k.size(); ++i) out(i) = log_prob(k(i));
    return out;
  }
  long sample(Rng& rng) const { return random::binomial(rng, n_, p_); }  ///< one draw
  /// `count` independent draws
  IntVector sample(Rng& rng, Index count) const {
    IntVector out(count);
    for (Index i = 0; i < count; ++i) out(i) = sample(rng);
    return out;
  }
  T mean() const noexcept { return T(n_) * p_; }  ///< E[K] = np
  T variance() const noexcept { return T(n_) * p_ * (T(1) - p_); }  ///< Var[K] = np(1 − p)
  /// \f$\lfloor (n+1)p \rfloor\f$, capped at n.
  long mode() const noexcept {
    return std::min(n_, static_cast<long>(std::floor(T(n_ + 1) * p_)));
  }
  /// Entropy in nats, by exact summation over 0..n.
  T entropy() const {
    T h = 0;
    for (long k = 0; k <= n_; ++k) {
      const T lp = log_prob(k);
      if (std::isfinite(lp)) h -= std::exp(lp) * lp;
    }
    return h;
  }
  /// Maximum-likelihood p for a known number of trials: \f$\sum w_i k_i / (n \sum w_i)\f$.
  static Binomial fit(long trials, const IntVectorCRef& k,
                      const VectorCRef<T>& weights = detail::no_weights<T>()) {
    if (trials <= 0)
      detail::throw_domain("Binomial::fit", "trials", "be positive", std::to_string(trials));
    const Vector<T> w = detail::weights_or_ones<T>("Binomial::fit", weights, k.size());
    T s = 0;
    for (Index i = 0; i < k.size(); ++i) {
      if (k(i) < 0 || k(i) > trials)
        detail::throw_domain("Binomial::fit", "k", "lie in 0..trials",
                             std::to_string(k(i)) + " at index " + std::to_string(i));
      s += w(i) * T(k(i));
    }
    return Binomial(trials, std::clamp(s / (T(trials) * w.sum()), T(0), T(1)));
  }

 private:
  long n_;
  T p_;
};

}  // namespace pml
