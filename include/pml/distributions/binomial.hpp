#pragma once
/// @file
/// Binomial distribution.

#include <cmath>
#include <limits>
#include <utility>

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

  /// \f$\log \mathrm{Bin}(k|n,p)\f$; -inf outside 0..n. In Loader's (2000) saddle-point form
  /// \f$\delta(n) - \delta(k) - \delta(n-k) - \mathrm{bd0}(k, np) - \mathrm{bd0}(n-k, nq) +
  /// \frac12\log\frac{n}{2\pi k(n-k)}\f$ (the form of R's dbinom), which equals
  /// lchoose(n, k) + k log p + (n − k) log1p(−p) without its cancellation: relative error ~1e-15 for n up
  /// to 2^53 and p down to 1e-300. Float evaluated in double.
  T log_prob(long k) const noexcept {
    if (k < 0 || k > n_) return -std::numeric_limits<T>::infinity();
    return T(detail::log_binomial(double(k), double(n_), double(p_)));
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
  /// Entropy in nats, by exact summation over the counts within 40 standard deviations (+ 40) of the
  /// mean (the rest has probability below e^-800).
  /// @throw std::domain_error when that window holds more than 2e7 counts (n p (1 − p) above ~6e10).
  T entropy() const {
    const auto [lo, hi] = window("Binomial::entropy");
    return T(detail::entropy_by_summation(lo, hi, [this](long k) { return double(log_prob(k)); }));
  }
  /// The counts [lo, hi] holding all but e^-800 of the probability. @throw std::domain_error beyond 2e7 counts.
  std::pair<long, long> window(const char* function) const {
    const double mean = double(n_) * double(p_), sd = std::sqrt(mean * (1.0 - double(p_)));
    const double lo = std::max(0.0, std::floor(mean - 40 * sd - 40)), hi = std::min(double(n_), std::ceil(mean + 40 * sd + 40));
    if (hi - lo > detail::max_summed_terms)
      detail::throw_domain(function, "trials", "give at most 2e7 counts within 40 standard deviations of the mean",
                           std::to_string(n_) + " trials with p = " + detail::describe(p_));
    return {long(lo), long(hi)};
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
