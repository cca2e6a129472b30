#pragma once
/// @file
/// Univariate normal distribution.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"
#include "pml/distributions/scaled_moments.hpp"

namespace pml {

/// Normal(μ, σ): \f$\mathcal N(x|\mu,\sigma^2) = \frac{1}{\sqrt{2\pi}\sigma}
/// \exp\left(-\frac{(x-\mu)^2}{2\sigma^2}\right)\f$ (PRML 1.46). Parameterised by the standard
/// deviation, as scipy and PyTorch are.
template <Real T = double> class Normal {
 public:
  /// @throw std::domain_error unless mean is finite and stddev > 0.
  Normal(T mean, T stddev) : mu_(mean), sigma_(stddev) {
    check_finite("Normal", "mean", mean);
    check_positive("Normal", "stddev", stddev);
  }
  /// N(0, 1).
  Normal() : Normal(T(0), T(1)) {}

  T stddev() const noexcept { return sigma_; }  ///< σ
  T mean() const noexcept { return mu_; }  ///< μ
  T variance() const noexcept { return sigma_ * sigma_; }  ///< σ²
  T mode() const noexcept { return mu_; }  ///< μ
  T precision() const noexcept { return T(1) / (sigma_ * sigma_); }  ///< 1/σ²

  /// log p(x)
  T log_prob(T x) const noexcept {
    const T z = (x - mu_) / sigma_;
    return -T(0.5) * z * z - std::log(sigma_) - constants<T>::half_log_two_pi;
  }
  /// Log-density of each entry (vectorised).
  Vector<T> log_prob(const VectorCRef<T>& x) const {
    return (-T(0.5) * ((x.array() - mu_) / sigma_).square() -
            (std::log(sigma_) + constants<T>::half_log_two_pi))
        .matrix();
  }
  /// \f$\Phi((x-\mu)/\sigma)\f$.
  T cdf(T x) const noexcept {
    return T(0.5) * std::erfc(-(x - mu_) / (sigma_ * std::sqrt(T(2))));
  }
  T sample(Rng& rng) const { return mu_ + sigma_ * random::normal<T>(rng); }  ///< one draw (ziggurat)
  /// n independent draws
  Vector<T> sample(Rng& rng, Index n) const {
    Vector<T> out(n);
    random::fill_normal(rng, out, mu_, sigma_);
    return out;
  }
  /// \f$\frac12\log(2\pi e\sigma^2)\f$.
  T entropy() const noexcept { return T(0.5) + constants<T>::half_log_two_pi + std::log(sigma_); }

  /// Maximum likelihood: weighted mean and (biased, 1/N) variance (PRML 1.55, 1.56).
  /// Computed in power-of-two scaled units, so data near the limits of T give a finite σ whenever it is
  /// representable. @throw std::domain_error if the data have zero spread or non-finite values, or σ is not
  /// representable in T.
  static Normal fit(const VectorCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("Normal::fit", weights, x.size());
    check_all_finite("Normal::fit", "x", x);
    const T total = w.sum();
    // moments in power-of-two scaled units: the stddev of data near the top of the range is finite even
    // where the variance would overflow
    const auto m = detail::scaled_moments<T>(x, w, total);
    if (!(m.ratio > T(0)))
      detail::throw_domain("Normal::fit", "x", "have positive spread", "all weighted values equal");
    const T sigma = m.stddev();
    detail::check_representable("Normal::fit", "x", sigma, "standard deviation", double(m.largest));
    if (!(sigma > T(0)))
      detail::throw_domain("Normal::fit", "x", "have a spread representable in the scalar type",
                           "standard deviation underflows, largest |x| = " + detail::describe(double(m.largest)));
    return Normal(m.mean(), sigma);
  }

 private:
  T mu_, sigma_;
};

}  // namespace pml
