#pragma once
/// @file
/// Beta-binomial distribution: the posterior predictive of the Beta–Binomial model.

#include <algorithm>
#include <cmath>
#include <vector>

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
  /// log P(K = k); −∞ outside 0..n. Arranged by regime so that large counts or shapes do not cancel
  /// (see the Dirichlet-multinomial, of which this is K = 2); float evaluated in double.
  T log_prob(long k) const noexcept {
    if (k < 0 || k > n_) return -std::numeric_limits<T>::infinity();
    const Eigen::Vector2d m{double(k), double(n_ - k)}, alpha{double(a_), double(b_)};
    return T(detail::log_dirichlet_multinomial(m, alpha));
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
  /// Most probable count (the smallest one on a tie), in O(1) for any n: p(k+1)/p(k) > 1 exactly when
  /// n(α−1) + 1 − β > k(α+β−2), a condition linear in k, so the pmf rises then falls (α+β > 2: the
  /// maximum is next to k* = (n(α−1)+1−β)/(α+β−2)) or is largest at 0 or n; the candidates are compared
  /// by log_prob. (Before: enumeration of 0..n, which never ended for large n.)
  long mode() const noexcept {
    std::vector<long> candidates{0, n_};
    const double s = double(a_) + double(b_) - 2.0;
    if (s > 0) {
      const double k = (double(n_) * (double(a_) - 1.0) + 1.0 - double(b_)) / s;
      for (const double c : {std::floor(k), std::ceil(k), std::floor(k) - 1.0, std::ceil(k) + 1.0})
        if (c > 0 && c < double(n_)) candidates.push_back(long(c));
    }
    std::sort(candidates.begin(), candidates.end());
    long best = candidates.front();
    T best_lp = log_prob(best);
    for (const long c : candidates) {
      const T lp = log_prob(c);
      if (lp > best_lp) best = c, best_lp = lp;
    }
    return best;
  }
  /// Entropy in nats, by exact summation over 0..n. @throw std::domain_error for more than 2e7 trials.
  T entropy() const {
    if (double(n_) > detail::max_summed_terms)
      detail::throw_domain("BetaBinomial::entropy", "trials", "be at most 2e7 for the exact sum", std::to_string(n_));
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
