#pragma once
/// @file
/// Multivariate normal with a diagonal covariance (independent coordinates).

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"
#include "pml/distributions/scaled_moments.hpp"

namespace pml {

/// MultivariateNormalDiag(μ, σ): \f$\prod_d \mathcal N(x_d|\mu_d,\sigma_d^2)\f$, the mean-field
/// Gaussian of VAEs and Bayes by Backprop. Parameterised by standard deviations.
template <Real T = double> class MultivariateNormalDiag {
 public:
  /// @throw std::invalid_argument on mismatched sizes; std::domain_error unless every σ > 0.
  MultivariateNormalDiag(const VectorCRef<T>& mean, const VectorCRef<T>& stddev) : mu_(mean), sigma_(stddev) {
    check_nonempty("MultivariateNormalDiag", "mean", mean.size());
    check_all_finite("MultivariateNormalDiag", "mean", mean);
    check_size("MultivariateNormalDiag", "stddev", stddev.size(), mean.size(), "length");
    check_all_positive("MultivariateNormalDiag", "stddev", stddev);
    sum_log_sigma_ = sigma_.array().log().sum();
  }
  Index dimension() const noexcept { return mu_.size(); }  ///< dimension D
  const Vector<T>& mean() const noexcept { return mu_; }  ///< μ
  const Vector<T>& mode() const noexcept { return mu_; }  ///< μ
  const Vector<T>& stddev() const noexcept { return sigma_; }  ///< the standard deviations σ
  Vector<T> variance() const { return sigma_.array().square().matrix(); }  ///< σ², the diagonal of Σ
  Matrix<T> covariance() const { return Matrix<T>(variance().asDiagonal()); }  ///< Σ = diag(σ²) as a dense matrix

  /// Log-density of one point (column vector expression) or of each row of an N x D matrix.
  template <class Derived> auto log_prob(const Eigen::MatrixBase<Derived>& x) const {
    if constexpr (Derived::ColsAtCompileTime == 1) {
      check_size("MultivariateNormalDiag::log_prob", "x", x.size(), dimension(), "length");
      return normaliser() - T(0.5) * ((x - mu_).array() / sigma_.array()).square().sum();
    } else {
      check_size("MultivariateNormalDiag::log_prob", "x", x.cols(), dimension(), "columns");
      const auto inv = sigma_.cwiseInverse().transpose().array();
      return Vector<T>((normaliser() - T(0.5) * ((x.rowwise() - mu_.transpose()).array().rowwise() * inv)
                                                    .square()
                                                    .rowwise()
                                                    .sum())
                           .matrix());
    }
  }
  /// one draw, μ + σ ⊙ ε
  Vector<T> sample(Rng& rng) const {
    Vector<T> eps(dimension());
    random::fill_normal(rng, eps);
    return mu_ + sigma_.cwiseProduct(eps);
  }
  /// n independent draws, one per row (n x D)
  Matrix<T> sample(Rng& rng, Index n) const {
    Matrix<T> out(n, dimension());
    random::fill_normal(rng, out);
    out = (out.array().rowwise() * sigma_.transpose().array()).matrix();
    out.rowwise() += mu_.transpose();
    return out;
  }
  /// entropy in nats, Σ_d log σ_d + D/2 (1 + log 2π)
  T entropy() const noexcept {
    return T(0.5) * T(dimension()) * (T(1) + constants<T>::log_two_pi) + sum_log_sigma_;
  }
  /// Maximum likelihood: per-coordinate weighted mean and (1/N) variance.
  static MultivariateNormalDiag fit(const MatrixCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("MultivariateNormalDiag::fit", weights, x.rows());
    check_all_finite("MultivariateNormalDiag::fit", "x", x);
    const T total = w.sum();
    Vector<T> mu(x.cols()), sigma(x.cols());
    for (Index d = 0; d < x.cols(); ++d) {
      // per column in power-of-two scaled units: data near the limits of T give a finite stddev
      const auto m = detail::scaled_moments<T>(x.col(d), w, total);
      mu(d) = m.mean();
      sigma(d) = m.stddev();
      if (!(m.ratio > T(0)) || !(sigma(d) > T(0)))
        detail::throw_domain("MultivariateNormalDiag::fit", "x", "have positive spread in every column",
                             "zero variance in column " + std::to_string(d));
      detail::check_representable("MultivariateNormalDiag::fit", "x", sigma(d), "standard deviation", double(m.largest));
    }
    return MultivariateNormalDiag(mu, sigma);
  }

 private:
  T normaliser() const noexcept {
    return -T(0.5) * T(dimension()) * constants<T>::log_two_pi - sum_log_sigma_;
  }
  Vector<T> mu_, sigma_;
  T sum_log_sigma_ = 0;
};

}  // namespace pml
