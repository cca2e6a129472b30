#pragma once
/// @file
/// Beta-binomial distribution: the posterior predictive of the Beta–Binomial model.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"

namespace pml {

/// BetaBinomial(n, a, b): \f$p(k) = \binom nk\frac{B(k+a, n-k+b)}{B(a,b)}\f$, the number of
/// successes in n trials when the success probability is Beta(a, b) distributed.
template <Real T = double> class BetaBinomial {
 public:
  /// @throw std::domain_error unless trials >= 0, a > 0 and b > 0.
  BetaBinomial(long trials, T a, T b) : n_(trials), a_(a), b_(b) {
    if (trials < 0) detail::throw_domain("BetaBinomial", "trials", "be non-negative", std::to_string(trials));
    check_positive("BetaBinomial", "a", a);
    check_positive("BetaBinomial", "b", b);
  }
  long trials() const noexcept { return n_; }  ///< number of trials n
  T a() const noexcept { return a_; }  ///< Beta shape α of the success probability
  T b() const noexcept { return b_; }  ///< Beta shape β of the success probability
  /// log P(K = k); −∞ outside 0..n
  T log_prob(long k) const noexcept {
    if (k < 0 || k > n_) return -std::numeric_limits<T>::infinity();
    return lchoose(T(n_), T(k)) + lbeta(T(k) + a_, T(n_ - k) + b_) - lbeta(a_, b_);
  }
  /// log P(K = k_i) for each entry of k
  Vector<T> log_prob(const IntVectorCRef& k) const {
    Vector<T> out(k.size());
    for (Index i = 0; i < k.size(); ++i) out(i) = log_prob(k(i));
    return out;
  }
  long sample(Rng& rng) const { return random::binomial(rng, n_, random::beta(rng, a_, b_)); }  ///< one draw: p ~ Beta(α, β), then Binomial(n, p)
  /// `count` independent draws
  IntVector sample(Rng& rng, Index count) const {
    IntVector out(count);
    for (Index i = 0; i < count; ++i) out(i) = sample(rng);
    return out;
  }
  T mean() const noexcept { return T(n_) * a_ / (a_ + b_); }  ///< E[K] = nα/(α+β)
  /// Var[K] = nαβ(α+β+n) / ((α+β)²(α+β+1))
  T variance() const noexcept {
    const T s = a_ + b_;
    return T(n_) * a_ * b_ * (s + T(n_)) / (s * s * (s + T(1)));
  }
  /// Most probable count, by enumeration.
  long mode() const noexcept {
    long best = 0;
    for (long k = 1; k <= n_; ++k)
      if (log_prob(k) > log_prob(best)) best = k;
    return best;
  }
  /// Entropy in nats, by exact summation.
  T entropy() const noexcept {
    T h = 0;
    for (long k = 0; k <= n_; ++k) {
      const T lp = log_prob(k);
      h -= std::exp(lp) * lp;
    }
    return h;
  }

 private:
  long n_;
  T a_, b_;
};

}  // namespace pml
