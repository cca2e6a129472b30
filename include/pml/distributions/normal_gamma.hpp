#pragma once
/// @file
/// Normal–Gamma distribution: the joint conjugate prior of a Gaussian's mean and precision.

#include <cmath>

#include "pml/distributions/gamma.hpp"
#include "pml/distributions/student_t.hpp"

namespace pml {

/// A draw (μ, τ) from a NormalGamma.
template <Real T> struct NormalGammaSample {
  T mean;       ///< μ
  T precision;  ///< τ
};

/// NormalGamma(μ₀, κ, a, b): \f$p(\mu,\tau) = \mathcal N(\mu|\mu_0,(\kappa\tau)^{-1})\,\mathrm{Gam}(\tau|a,b)\f$
/// (PRML 2.154, with β written κ).
template <Real T = double> class NormalGamma {
 public:
  /// @throw std::domain_error unless μ₀ finite and κ, a, b > 0.
  NormalGamma(T mu0, T kappa, T a, T b) : mu0_(mu0), kappa_(kappa), gamma_(a, b) {
    check_finite("NormalGamma", "mu0", mu0);
    check_positive("NormalGamma", "kappa", kappa);
  }
  T mu0() const noexcept { return mu0_; }  ///< prior mean μ₀ of μ
  T kappa() const noexcept { return kappa_; }  ///< κ: μ | τ ~ N(μ₀, 1/(κτ))
  T a() const noexcept { return gamma_.shape(); }  ///< Gamma shape a of the precision τ
  T b() const noexcept { return gamma_.rate(); }  ///< Gamma rate b of the precision τ
  /// The marginal of the precision, Gam(a, b).
  const Gamma<T>& precision_marginal() const noexcept { return gamma_; }
  /// The marginal of the mean, a Student-t with 2a degrees of freedom and scale \f$\sqrt{b/(a\kappa)}\f$.
  StudentT<T> mean_marginal() const { return StudentT<T>(T(2) * a(), mu0_, std::sqrt(b() / (a() * kappa_))); }

  /// log p(μ, τ); −∞ for τ ≤ 0
  T log_prob(T mu, T tau) const noexcept {
    if (!(tau > T(0))) return -std::numeric_limits<T>::infinity();
    const T prec = kappa_ * tau;
    return gamma_.log_prob(tau) + T(0.5) * std::log(prec) - constants<T>::half_log_two_pi -
           T(0.5) * prec * (mu - mu0_) * (mu - mu0_);
  }
  /// Log-density of each pair (mu(i), tau(i)).
  Vector<T> log_prob(const VectorCRef<T>& mu, const VectorCRef<T>& tau) const {
    check_size("NormalGamma::log_prob", "tau", tau.size(), mu.size(), "length");
    Vector<T> out(mu.size());
    for (Index i = 0; i < mu.size(); ++i) out(i) = log_prob(mu(i), tau(i));
    return out;
  }
  /// one draw: τ ~ Gamma(a, b), then μ ~ N(μ₀, 1/(κτ))
  NormalGammaSample<T> sample(Rng& rng) const {
    const T tau = gamma_.sample(rng);
    return {mu0_ + random::normal<T>(rng) / std::sqrt(kappa_ * tau), tau};
  }
  /// `n` draws as an n x 2 matrix with columns (μ, τ).
  Matrix<T> sample(Rng& rng, Index n) const {
    Matrix<T> out(n, 2);
    for (Index i = 0; i < n; ++i) {
      const auto s = sample(rng);
      out(i, 0) = s.mean;
      out(i, 1) = s.precision;
    }
    return out;
  }
  /// (E[μ], E[τ]) = (μ₀, a/b).
  NormalGammaSample<T> mean() const noexcept { return {mu0_, gamma_.mean()}; }
  /// (var[μ], var[τ]) = (b/(κ(a−1)), a/b²). @throw std::domain_error for a <= 1.
  NormalGammaSample<T> variance() const {
    if (!(a() > T(1))) detail::throw_domain("NormalGamma::variance", "a", "exceed 1", detail::describe(a()));
    return {b() / (kappa_ * (a() - T(1))), gamma_.variance()};
  }
  /// Joint mode (μ₀, (a − 1/2)/b). @throw std::domain_error for a <= 1/2.
  NormalGammaSample<T> mode() const {
    if (!(a() > T(0.5))) detail::throw_domain("NormalGamma::mode", "a", "exceed 1/2", detail::describe(a()));
    return {mu0_, (a() - T(0.5)) / b()};
  }
  /// \f$H[\mathrm{Gam}(a,b)] + \frac12(1 + \log 2\pi) - \frac12\log\kappa - \frac12(\psi(a) - \log b)\f$.
  T entropy() const noexcept {
    return gamma_.entropy() + T(0.5) + constants<T>::half_log_two_pi - T(0.5) * std::log(kappa_) -
           T(0.5) * gamma_.mean_log();
  }
  /// Maximum likelihood from draws (μᵢ, τᵢ): (a, b) is the Gamma MLE of the τᵢ; then
  /// \f$\mu_0 = \sum w\tau\mu / \sum w\tau\f$ and \f$\kappa = \sum w / \sum w\tau(\mu-\mu_0)^2\f$.
  static NormalGamma fit(const VectorCRef<T>& mu, const VectorCRef<T>& tau,
                         const VectorCRef<T>& weights = detail::no_weights<T>()) {
    check_size("NormalGamma::fit", "tau", tau.size(), mu.size(), "length");
    const Vector<T> w = detail::weights_or_ones<T>("NormalGamma::fit", weights, mu.size());
    check_all_finite("NormalGamma::fit", "mu", mu);
    const Gamma<T> g = Gamma<T>::fit(tau, w);
    const Vector<T> wt = w.cwiseProduct(tau);
    const T mu0 = wt.dot(mu) / wt.sum();
    const T spread = (wt.array() * (mu.array() - mu0).square()).sum();
    if (!(spread > T(0)))
      detail::throw_domain("NormalGamma::fit", "mu", "have positive spread", "all weighted values equal");
    return NormalGamma(mu0, w.sum() / spread, g.shape(), g.rate());
  }

 private:
  T mu0_, kappa_;
  Gamma<T> gamma_;
};

}  // namespace pml
