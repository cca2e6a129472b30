#pragma once
/// @file
/// Univariate Student-t distribution (location–scale).

#include <algorithm>
#include <cmath>
#include <limits>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"
#include "pml/distributions/scaled_moments.hpp"

namespace pml {

/// StudentT(ν, μ, σ): \f$\mathrm{St}(x|\mu,\lambda,\nu) = \frac{\Gamma(\nu/2+1/2)}{\Gamma(\nu/2)}
/// \left(\frac{\lambda}{\pi\nu}\right)^{1/2}\left[1+\frac{\lambda(x-\mu)^2}{\nu}\right]^{-\nu/2-1/2}\f$
/// with \f$\lambda = 1/\sigma^2\f$ (PRML 2.159). The posterior predictive of the Normal–Gamma model.
template <Real T = double> class StudentT {
 public:
  /// @throw std::domain_error unless df > 0, location finite, scale > 0.
  StudentT(T df, T location, T scale) : nu_(df), mu_(location), sigma_(scale) {
    check_positive("StudentT", "df", df);
    check_finite("StudentT", "location", location);
    check_positive("StudentT", "scale", scale);
  }
  T df() const noexcept { return nu_; }  ///< degrees of freedom ν
  T location() const noexcept { return mu_; }  ///< location μ
  T scale() const noexcept { return sigma_; }  ///< scale σ

  /// log p(x)
  T log_prob(T x) const noexcept {
    const T z = (x - mu_) / sigma_;
    return log_normaliser() - T(0.5) * (nu_ + T(1)) * std::log1p(z * (z / nu_));
  }
  /// log p(x_i) for each entry of x
  Vector<T> log_prob(const VectorCRef<T>& x) const {
    const T c = log_normaliser();
    return (c - T(0.5) * (nu_ + T(1)) * (((x.array() - mu_) / sigma_).square() / nu_).log1p()).matrix();
  }
  T sample(Rng& rng) const { return mu_ + sigma_ * random::student_t(rng, nu_); }  ///< one draw, μ + σ t_ν
  /// n independent draws
  Vector<T> sample(Rng& rng, Index n) const {
    Vector<T> out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  /// μ. @throw std::domain_error for ν <= 1.
  T mean() const {
    if (!(nu_ > T(1))) detail::throw_domain("StudentT::mean", "df", "exceed 1", detail::describe(nu_));
    return mu_;
  }
  /// \f$\sigma^2\nu/(\nu-2)\f$. @throw std::domain_error for ν <= 2.
  T variance() const {
    if (!(nu_ > T(2))) detail::throw_domain("StudentT::variance", "df", "exceed 2", detail::describe(nu_));
    return sigma_ * sigma_ * nu_ / (nu_ - T(2));
  }
  T mode() const noexcept { return mu_; }  ///< μ
  /// \f$\frac{\nu+1}{2}[\psi(\frac{\nu+1}{2}) - \psi(\frac{\nu}{2})] + \log(\sqrt\nu B(\frac\nu2,\frac12)) + \log\sigma\f$,
  /// evaluated as \f$\frac{\nu+1}{2}\,\mathrm{digamma\_difference}(\frac\nu2, \frac12) + \frac12\log 2\pi -
  /// \mathrm{lgamma\_difference\_scaled}(\frac\nu2, \frac12) + \log\sigma\f$ so that it tends to the normal
  /// entropy \f$\frac12\log(2\pi e\sigma^2)\f$ without cancellation as ν grows (relative error ~1e-15 for
  /// ν in [1e-300, 1e300]; float evaluated in double).
  T entropy() const noexcept {
    const double nu = double(nu_), half = 0.5 * nu;
    return T(0.5 * (nu + 1) * detail::digamma_difference(half, 0.5) + constants<double>::half_log_two_pi -
             detail::lgamma_difference_scaled(half, 0.5) + std::log(double(sigma_)));
  }

  /// Maximum likelihood for location and scale with the degrees of freedom held at `df`, by the EM
  /// algorithm of the Gaussian scale-mixture representation (PRML 2.160; Liu & Rubin 1995). The
  /// likelihood increases at every step; stops when the relative change is below 1e-10. The iterations run
  /// on the data centred at the weighted mean and scaled by a power of two, so the fit is shift-equivariant
  /// to rounding and finite for data near the limits of T. @throw std::domain_error for df <= 0, non-finite
  /// x, zero spread, or a location/scale not representable in T.
  static StudentT fit(T df, const VectorCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>(),
                      int max_iterations = 500) {
    check_positive("StudentT::fit", "df", df);
    const Vector<T> w = detail::weights_or_ones<T>("StudentT::fit", weights, x.size());
    check_all_finite("StudentT::fit", "x", x);
    const T total = w.sum();
    // Work on z = (x - shift) / 2^e: shift = the weighted mean, 2^e a power of two bounding the largest
    // |x - shift|. The EM arithmetic is then shift-invariant (the location is the shift plus a small
    // update, not a weighted sum of large values) and cannot overflow for data near the limits of T.
    const auto m = detail::scaled_moments<T>(x, w, total);
    if (!(m.ratio > T(0)))
      detail::throw_domain("StudentT::fit", "x", "have positive spread", "all weighted values equal");
    const T shift = m.mean();
    // x - shift in the scaled units of x (|y| <= 1, so no overflow), then rescaled to |z| <= 1
    const Vector<T> y = ((x.array() * std::ldexp(T(1), -m.exponent)) - m.scaled_mean).matrix();
    int ey = 0;
    (void)std::frexp(y.cwiseAbs().maxCoeff(), &ey);
    ey = std::max(ey, 2 - std::numeric_limits<T>::max_exponent);  // 2^-ey finite
    const Vector<T> z = y * std::ldexp(T(1), -ey);
    T mu = T(0);  // location in z units (the weighted mean of z is 0 up to rounding)
    T var = (w.array() * z.array().square()).sum() / total;
    for (int it = 0; it < max_iterations; ++it) {
      // E-step: expected latent precisions u_i = (nu + 1) / (nu + z_i^2)
      const Vector<T> u = ((df + T(1)) / (df + (z.array() - mu).square() / var)).matrix();
      const Vector<T> wu = w.cwiseProduct(u);
      const T new_mu = mu + wu.dot((z.array() - mu).matrix()) / wu.sum();
      const T new_var = (wu.array() * (z.array() - new_mu).square()).sum() / total;
      const bool done = std::abs(new_mu - mu) <= T(1e-10) * std::sqrt(var) &&
                        std::abs(new_var - var) <= T(1e-10) * var;
      mu = new_mu;
      var = new_var;
      if (done) break;
    }
    const int e = m.exponent + ey;
    const T location = shift + std::ldexp(mu, e), scale = std::ldexp(std::sqrt(var), e);
    detail::check_representable("StudentT::fit", "x", location, "location", double(m.largest));
    detail::check_representable("StudentT::fit", "x", scale, "scale", double(m.largest));
    if (!(scale > T(0)))
      detail::throw_domain("StudentT::fit", "x", "have a spread representable in the scalar type",
                           "scale underflows, largest |x| = " + detail::describe(double(m.largest)));
    return StudentT(df, location, scale);
  }

 private:
  // log Γ((ν+1)/2) - log Γ(ν/2) - ½ log(νπ) - log σ, with the Γ ratio over sqrt(ν/2) kept small
  T log_normaliser() const noexcept {
    const double nu = double(nu_);
    return T(detail::lgamma_difference_scaled(0.5 * nu, 0.5) - constants<double>::half_log_two_pi -
             std::log(double(sigma_)));
  }
  T nu_, mu_, sigma_;
};

}  // namespace pml
