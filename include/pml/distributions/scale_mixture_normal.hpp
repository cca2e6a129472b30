#pragma once
/// @file
/// Two-component zero-mean scale mixture of normals: the Bayes-by-Backprop weight prior.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// ScaleMixtureNormal(π, σ₁, σ₂): \f$p(w) = \pi\,\mathcal N(w|0,\sigma_1^2) +
/// (1-\pi)\,\mathcal N(w|0,\sigma_2^2)\f$ (Blundell et al. 2015, eq. 7), usually σ₁ > σ₂ with σ₂ ≪ 1.
template <Real T = double> class ScaleMixtureNormal {
 public:
  /// @throw std::domain_error unless π in [0, 1] and both scales > 0.
  ScaleMixtureNormal(T pi, T sigma1, T sigma2) : pi_(pi), s1_(sigma1), s2_(sigma2) {
    check_probability("ScaleMixtureNormal", "pi", pi);
    check_positive("ScaleMixtureNormal", "sigma1", sigma1);
    check_positive("ScaleMixtureNormal", "sigma2", sigma2);
  }
  T pi() const noexcept { return pi_; }  ///< weight π of the first component
  T sigma1() const noexcept { return s1_; }  ///< standard deviation σ₁ of the first component
  T sigma2() const noexcept { return s2_; }  ///< standard deviation σ₂ of the second component

  /// Log-density by log-sum-exp of the two components (no underflow for tiny σ₂).
  T log_prob(T x) const noexcept {
    const T l1 = component_log_prob(x, s1_) + (pi_ > T(0) ? std::log(pi_) : -std::numeric_limits<T>::infinity());
    const T l2 = component_log_prob(x, s2_) +
                 (pi_ < T(1) ? std::log1p(-pi_) : -std::numeric_limits<T>::infinity());
    return log_sum_exp(l1, l2);
  }
  /// log p(x_i) for each entry of x
  Vector<T> log_prob(const VectorCRef<T>& x) const {
    Vector<T> out(x.size());
    for (Index i = 0; i < x.size(); ++i) out(i) = log_prob(x(i));
    return out;
  }
  /// one draw: pick a component with probability π, then draw from it
  T sample(Rng& rng) const {
    const T s = random::uniform<T>(rng) < pi_ ? s1_ : s2_;
    return s * random::normal<T>(rng);
  }
  /// n independent draws
  Vector<T> sample(Rng& rng, Index n) const {
    Vector<T> out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  T mean() const noexcept { return T(0); }  ///< 0
  T variance() const noexcept { return pi_ * s1_ * s1_ + (T(1) - pi_) * s2_ * s2_; }  ///< π σ₁² + (1 − π) σ₂²
  T mode() const noexcept { return T(0); }  ///< 0
  /// Differential entropy. A mixture has no closed form: computed by composite Simpson
  /// quadrature of \f$-p\log p\f$ on a grid fine enough for the smaller scale (relative error
  /// below 1e-9 in double).
  T entropy() const {
    // Integrate in double over each component's natural scale and sum: the integrand is even.
    const double lo = std::min<double>(s1_, s2_), hi = std::max<double>(s1_, s2_);
    auto f = [&](double x) {
      const double lp = static_cast<double>(log_prob(static_cast<T>(x)));
      return -std::exp(lp) * lp;
    };
    auto simpson = [&](double a, double b, int n) {
      const double h = (b - a) / n;
      double s = f(a) + f(b);
      for (int i = 1; i < n; ++i) s += f(a + i * h) * (i % 2 ? 4.0 : 2.0);
      return s * h / 3.0;
    };
    const double inner = std::min(12.0 * lo, 12.0 * hi);
    double h = simpson(0.0, inner, 4000);
    if (hi > lo) h += simpson(inner, 12.0 * hi, 4000);
    return static_cast<T>(2.0 * h);
  }

  /// Maximum likelihood of (π, σ₁, σ₂) by EM, zero mean fixed. Returns σ₁ >= σ₂.
  static ScaleMixtureNormal fit(const VectorCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>(),
                                int max_iterations = 1000) {
    const Vector<T> w = detail::weights_or_ones<T>("ScaleMixtureNormal::fit", weights, x.size());
    check_all_finite("ScaleMixtureNormal::fit", "x", x);
    const T total = w.sum();
    const T second = (w.array() * x.array().square()).sum() / total;
    if (!(second > T(0)))
      detail::throw_domain("ScaleMixtureNormal::fit", "x", "not be all zero", "all zeros");
    T pi = T(0.5), v1 = T(4) * second, v2 = second / T(4);
    T previous = -std::numeric_limits<T>::infinity();
    for (int it = 0; it < max_iterations; ++it) {
      T n1 = 0, s1 = 0, n2 = 0, s2 = 0, loglik = 0;
      for (Index i = 0; i < x.size(); ++i) {
        const T x2 = x(i) * x(i);
        const T l1 = std::log(pi) - T(0.5) * std::log(v1) - T(0.5) * x2 / v1;
        const T l2 = std::log1p(-pi) - T(0.5) * std::log(v2) - T(0.5) * x2 / v2;
        const T l = log_sum_exp(l1, l2);
        const T r1 = std::exp(l1 - l);
        loglik += w(i) * l;
        n1 += w(i) * r1;
        s1 += w(i) * r1 * x2;
        n2 += w(i) * (T(1) - r1);
        s2 += w(i) * (T(1) - r1) * x2;
      }
      const T floor_var = second * T(1e-12);
      pi = std::clamp(n1 / total, T(1e-12), T(1) - T(1e-12));
      v1 = std::max(s1 / std::max(n1, std::numeric_limits<T>::min()), floor_var);
      v2 = std::max(s2 / std::max(n2, std::numeric_limits<T>::min()), floor_var);
      if (std::abs(loglik - previous) <= T(1e-12) * std::abs(loglik)) break;
      previous = loglik;
    }
    if (v1 < v2) {
      std::swap(v1, v2);
      pi = T(1) - pi;
    }
    return ScaleMixtureNormal(pi, std::sqrt(v1), std::sqrt(v2));
  }

 private:
  static T component_log_prob(T x, T s) noexcept {
    const T z = x / s;
    return -T(0.5) * z * z - std::log(s) - constants<T>::half_log_two_pi;
  }
  T pi_, s1_, s2_;
};

}  // namespace pml
