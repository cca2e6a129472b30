#pragma once
/// @file
/// Inverse-gamma distribution (shape–scale).

#include <cmath>

#include "pml/distributions/gamma.hpp"

namespace pml {

/// InverseGamma(a, b): \f$p(x) = \frac{b^a}{\Gamma(a)} x^{-a-1} e^{-b/x}\f$; if
/// \f$1/x \sim \mathrm{Gam}(a, b)\f$ (rate b) then \f$x \sim \mathrm{InvGam}(a, b)\f$.
template <Real T = double> class InverseGamma {
 public:
  /// @throw std::domain_error unless shape > 0 and scale > 0.
  InverseGamma(T shape, T scale) : a_(shape), b_(scale) {
    check_positive("InverseGamma", "shape", shape);
    check_positive("InverseGamma", "scale", scale);
  }
  T shape() const noexcept { return a_; }  ///< shape a
  T scale() const noexcept { return b_; }  ///< scale b
  /// log p(x); −∞ for x ≤ 0
  T log_prob(T x) const noexcept {
    if (x <= T(0)) return -std::numeric_limits<T>::infinity();
    // the Gamma(a, rate b) density of 1/x times the Jacobian 1/x²
    return T(detail::log_gamma_density(double(a_), double(b_), 1.0 / double(x)) - 2.0 * std::log(double(x)));
  }
  /// log p(x_i) for each entry of x
  Vector<T> log_prob(const VectorCRef<T>& x) const {
    Vector<T> out(x.size());
    for (Index i = 0; i < x.size(); ++i) out(i) = log_prob(x(i));
    return out;
  }
  T sample(Rng& rng) const { return b_ / random::gamma(rng, a_); }  ///< one draw, b / Gamma(a, 1)
  /// n independent draws
  Vector<T> sample(Rng& rng, Index n) const {
    Vector<T> out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  /// \f$b/(a-1)\f$. @throw std::domain_error for a <= 1 (infinite mean).
  T mean() const {
    if (!(a_ > T(1))) detail::throw_domain("InverseGamma::mean", "shape", "exceed 1", detail::describe(a_));
    return b_ / (a_ - T(1));
  }
  /// \f$b^2/((a-1)^2(a-2))\f$. @throw std::domain_error for a <= 2.
  T variance() const {
    if (!(a_ > T(2)))
      detail::throw_domain("InverseGamma::variance", "shape", "exceed 2", detail::describe(a_));
    return b_ * b_ / ((a_ - T(1)) * (a_ - T(1)) * (a_ - T(2)));
  }
  T mode() const noexcept { return b_ / (a_ + T(1)); }  ///< b/(a + 1)
  /// \f$a + \log b + \log\Gamma(a) - (1+a)\psi(a)\f$ = gamma_entropy_core(a) − 2ψ(a) + log b.
  T entropy() const noexcept {
    return T(detail::gamma_entropy_core(double(a_)) - 2.0 * detail::boost_digamma(double(a_)) + std::log(double(b_)));
  }

  /// Maximum likelihood: the Gamma MLE of the reciprocals (the Jacobian does not involve a, b).
  static InverseGamma fit(const VectorCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    check_all_positive("InverseGamma::fit", "x", x);
    const Gamma<T> g = Gamma<T>::fit_named("InverseGamma::fit", x.cwiseInverse(), weights);
    return InverseGamma(g.shape(), g.rate());
  }

 private:
  T a_, b_;
};

}  // namespace pml
