#pragma once
/// @file
/// Dirichlet distribution.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Dirichlet(α): \f$\mathrm{Dir}(\boldsymbol\mu|\boldsymbol\alpha) = \frac{\Gamma(\alpha_0)}
/// {\Gamma(\alpha_1)\cdots\Gamma(\alpha_K)}\prod_k\mu_k^{\alpha_k-1}\f$, \f$\alpha_0=\sum_k\alpha_k\f$
/// (PRML 2.38), the conjugate prior of the categorical and multinomial.
template <Real T = double> class Dirichlet {
 public:
  /// @throw std::domain_error unless every concentration is > 0 (and there are at least two).
  explicit Dirichlet(const VectorCRef<T>& alpha) : alpha_(alpha) {
    if (alpha.size() < 2)
      detail::throw_shape("Dirichlet", "alpha needs at least 2 entries, got " + std::to_string(alpha.size()));
    check_all_positive("Dirichlet", "alpha", alpha);
    alpha0_ = alpha_.sum();
    log_norm_ = -lmbeta(alpha_);
  }
  Index dimension() const noexcept { return alpha_.size(); }  ///< dimension K
  const Vector<T>& alpha() const noexcept { return alpha_; }  ///< concentration parameters α
  T concentration() const noexcept { return alpha0_; }  ///< α₀ = Σ α_k

  /// Log-density of one point of the simplex (a column vector) or of each row of an N x K matrix.
  /// Points off the simplex (negative entries, or a sum off 1 by more than 1e-6) get -inf.
  template <class Derived> auto log_prob(const Eigen::MatrixBase<Derived>& x) const {
    if constexpr (Derived::ColsAtCompileTime == 1) {
      check_size("Dirichlet::log_prob", "x", x.size(), dimension(), "length");
      return point_log_prob(x);
    } else {
      check_size("Dirichlet::log_prob", "x", x.cols(), dimension(), "columns");
      Vector<T> out(x.rows());
      for (Index i = 0; i < x.rows(); ++i) out(i) = point_log_prob(x.row(i).transpose());
      return out;
    }
  }
  Vector<T> sample(Rng& rng) const { return random::dirichlet(rng, alpha_); }  ///< one draw (normalised gamma draws), a point on the simplex
  /// `n` draws as rows of an n x K matrix.
  Matrix<T> sample(Rng& rng, Index n) const {
    Matrix<T> out(n, dimension());
    for (Index i = 0; i < n; ++i) out.row(i) = sample(rng).transpose();
    return out;
  }
  /// \f$\alpha_k/\alpha_0\f$ (PRML B.17).
  Vector<T> mean() const { return alpha_ / alpha0_; }
  /// \f$\mathrm{cov}[\mu_j,\mu_k] = \frac{\delta_{jk}\alpha_k\alpha_0 - \alpha_j\alpha_k}{\alpha_0^2(\alpha_0+1)}\f$ (PRML B.18–19).
  Matrix<T> covariance() const {
    const Vector<T> m = mean();
    return (Matrix<T>(m.asDiagonal()) - m * m.transpose()) / (alpha0_ + T(1));
  }
  Vector<T> variance() const { return covariance().diagonal(); }  ///< Var[π_k] for each k (the diagonal of covariance())
  /// \f$(\alpha_k - 1)/(\alpha_0 - K)\f$ (PRML B.20). @throw std::domain_error unless every α_k > 1.
  Vector<T> mode() const {
    for (Index k = 0; k < dimension(); ++k)
      if (!(alpha_(k) > T(1)))
        detail::throw_domain("Dirichlet::mode", "alpha", "exceed 1 in every entry for an interior mode",
                             detail::describe(alpha_(k)) + " at index " + std::to_string(k));
    return (alpha_.array() - T(1)) / (alpha0_ - T(dimension()));
  }
  /// \f$E[\log\mu_k] = \psi(\alpha_k) - \psi(\alpha_0)\f$ (PRML B.21).
  Vector<T> mean_log() const {
    Vector<T> out(dimension());
    for (Index k = 0; k < dimension(); ++k) out(k) = digamma(alpha_(k)) - digamma(alpha0_);
    return out;
  }
  /// \f$-\log C(\alpha) + (\alpha_0 - K)\psi(\alpha_0) - \sum_k(\alpha_k - 1)\psi(\alpha_k)\f$ (PRML B.22).
  /// With every α_k >= 10 the Stirling expansions of the terms are combined before summing, so large
  /// concentrations do not cancel; otherwise through lbeta() and digamma_difference(). Float in double.
  T entropy() const noexcept { return T(detail::dirichlet_entropy(alpha_)); }

  /// Maximum likelihood from rows on the open simplex: Newton's method with the diagonal-plus-
  /// rank-one Hessian (Minka 2000, "Estimating a Dirichlet distribution"), started from moments.
  static Dirichlet fit(const MatrixCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("Dirichlet::fit", weights, x.rows());
    for (Index i = 0; i < x.rows(); ++i)
      for (Index k = 0; k < x.cols(); ++k)
        if (!(x(i, k) > T(0)))
          detail::throw_domain("Dirichlet::fit", "x", "have strictly positive entries",
                               detail::describe(x(i, k)) + " at (" + std::to_string(i) + ", " + std::to_string(k) + ")");
    const Index kdim = x.cols();
    const T total = w.sum();
    const Vector<T> mean_log = (x.array().log().matrix().transpose() * w) / total;
    const Vector<T> m = (x.transpose() * w) / total;
    // moment start from the first coordinate, its variance about its mean (not E[x²] - mean²)
    const T v0 = (w.array() * (x.col(0).array() - m(0)).square()).sum() / total;
    T s = m(0) * (T(1) - m(0)) / v0 - T(1);
    if (!(s > T(0)) || !std::isfinite(s)) s = T(1);
    Vector<T> alpha = m * s;
    for (int it = 0; it < 500; ++it) {
      const T a0 = alpha.sum();
      Vector<T> g(kdim), q(kdim);
      for (Index k = 0; k < kdim; ++k) {
        g(k) = digamma(a0) - digamma(alpha(k)) + mean_log(k);
        q(k) = -trigamma(alpha(k));
      }
      const T z = trigamma(a0);
      const T b = (g.array() / q.array()).sum() / (T(1) / z + q.cwiseInverse().sum());
      const Vector<T> step = ((g.array() - b) / q.array()).matrix();
      T scale = 1;
      while (((alpha - scale * step).array() <= T(0)).any()) scale /= T(2);
      alpha -= scale * step;
      if ((scale * step).cwiseAbs().maxCoeff() <= T(64) * std::numeric_limits<T>::epsilon() * alpha.maxCoeff())
        break;
    }
    return Dirichlet(alpha);
  }

 private:
  // For every α_k >= 2: log Γ(α₀)/Γ(n+1) + log Mult(α - 1 | n, x), n = α₀ - K, the multinomial in
  // Loader's saddle-point form, so large concentrations do not cancel near the mode.
  template <class V> T point_log_prob(const V& x) const {
    if (x.minCoeff() < T(0) || std::abs(x.sum() - T(1)) > T(1e-6)) return -std::numeric_limits<T>::infinity();
    if (alpha_.minCoeff() >= T(2)) {
      const Eigen::VectorXd m = alpha_.template cast<double>().array() - 1.0;
      const double n = m.sum();
      return T(detail::lgamma_difference(n + 1.0, double(dimension()) - 1.0) +
               detail::log_multinomial_saddle(m, x.template cast<double>()));
    }
    T lp = log_norm_;
    for (Index k = 0; k < dimension(); ++k)
      if (alpha_(k) != T(1)) lp += (alpha_(k) - T(1)) * std::log(x(k));
    return lp;
  }
  Vector<T> alpha_;
  T alpha0_ = 0, log_norm_ = 0;
};

}  // namespace pml
