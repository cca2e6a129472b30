#pragma once
/// @file
/// Gamma distribution (shape–rate).

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Gamma(a, b) with rate b: \f$\mathrm{Gam}(\lambda|a,b) = \frac{b^a}{\Gamma(a)}\lambda^{a-1}
/// e^{-b\lambda}\f$ (PRML 2.146). Note scipy uses scale = 1/b.
template <Real T = double> class Gamma {
 public:
  /// @throw std::domain_error unless shape > 0 and rate > 0.
  Gamma(T shape, T rate) : a_(shape), b_(rate) {
    check_positive("Gamma", "shape", shape);
    check_positive("Gamma", "rate", rate);
  }
  T shape() const noexcept { return a_; }  ///< shape a
  T rate() const noexcept { return b_; }  ///< rate b
  T scale() const noexcept { return T(1) / b_; }  ///< scale 1/b

  /// Log-density; -inf for x <= 0 (except x = 0 with shape 1). For shape >= 10 in Loader's saddle-point
  /// form \f$\log b - \frac12\log 2\pi a - \delta(a) + a\,\mathrm{log1pmx}(t) - \log(1+t)\f$, t = bx/a − 1,
  /// so large shapes do not cancel (float evaluated in double).
  T log_prob(T x) const noexcept {
    if (x < T(0)) return -std::numeric_limits<T>::infinity();
    if (x == T(0))
      return a_ == T(1) ? std::log(b_) : (a_ < T(1) ? std::numeric_limits<T>::infinity()
                                                     : -std::numeric_limits<T>::infinity());
    return T(detail::log_gamma_density(double(a_), double(b_), double(x)));
  }
  /// log p(x_i) for each entry of x (see log_prob(T))
  Vector<T> log_prob(const VectorCRef<T>& x) const {
    Vector<T> out(x.size());
    for (Index i = 0; i < x.size(); ++i) out(i) = log_prob(x(i));
    return out;
  }
  T sample(Rng& rng) const { return random::gamma(rng, a_, b_); }  ///< one draw (Marsaglia–Tsang)
  /// n independent draws
  Vector<T> sample(Rng& rng, Index n) const {
    Vector<T> out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  T mean() const noexcept { return a_ / b_; }  ///< E[X] = a/b
  T variance() const noexcept { return a_ / (b_ * b_); }  ///< Var[X] = a/b²
  /// \f$(a-1)/b\f$ for a >= 1. @throw std::domain_error for a < 1 (the density is unbounded at 0).
  T mode() const {
    if (a_ < T(1))
      detail::throw_domain("Gamma::mode", "shape", "be at least 1 for a finite mode", detail::describe(a_));
    return (a_ - T(1)) / b_;
  }
  /// \f$E[\log\lambda] = \psi(a) - \log b\f$ (PRML B.30).
  T mean_log() const noexcept { return digamma(a_) - std::log(b_); }
  /// \f$a - \log b + \log\Gamma(a) + (1-a)\psi(a)\f$ (PRML B.31), as gamma_entropy_core(a) − log b
  /// (no cancellation for large shapes).
  T entropy() const noexcept {
    return T(detail::gamma_entropy_core(double(a_)) - std::log(double(b_)));
  }

  /// Maximum likelihood: Minka's (2002) generalised Newton iteration for the shape, then
  /// rate = shape / mean. Converges to machine precision in a handful of steps.
  /// @throw std::domain_error for non-positive values or zero spread.
  static Gamma fit(const VectorCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    return fit_named("Gamma::fit", x, weights);
  }

  /// fit() with the calling function's name in error messages (InverseGamma::fit reuses it).
  static Gamma fit_named(const char* function, const VectorCRef<T>& x, const VectorCRef<T>& weights) {
    const Vector<T> w = detail::weights_or_ones<T>(function, weights, x.size());
    check_all_positive(function, "x", x);
    const T total = w.sum();
    const T mean = w.dot(x) / total;
    const T mean_log = (w.array() * x.array().log()).sum() / total;
    const T a = shape_from_log_moments(mean, mean_log, function);
    return Gamma(a, a / mean);
  }

  /// Solves \f$\log a - \psi(a) = \log\bar x - \overline{\log x}\f$ for the shape.
  static T shape_from_log_moments(T mean, T mean_log, const char* function) {
    const T s = std::log(mean) - mean_log;
    if (!(s > T(0)) || !std::isfinite(s))
      detail::throw_domain(function, "x", "have positive spread", "all weighted values equal");
    T a = (T(3) - s + std::sqrt((s - T(3)) * (s - T(3)) + T(24) * s)) / (T(12) * s);
    for (int it = 0; it < 100; ++it) {
      const T next_inv = T(1) / a + (mean_log - std::log(mean) + std::log(a) - digamma(a)) /
                                         (a * a * (T(1) / a - trigamma(a)));
      const T next = T(1) / next_inv;
      if (!(next > T(0)) || !std::isfinite(next)) break;
      const bool done = std::abs(next - a) <= T(8) * std::numeric_limits<T>::epsilon() * a;
      a = next;
      if (done) break;
    }
    return a;
  }

 private:
  T a_, b_;
};

}  // namespace pml
