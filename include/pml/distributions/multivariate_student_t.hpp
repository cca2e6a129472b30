#pragma once
/// @file
/// Multivariate Student-t distribution.

#include <cmath>

#include <Eigen/Cholesky>

#include "pml/core/check.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// MultivariateStudentT(ν, μ, Σ): \f$\mathrm{St}(\mathbf x|\boldsymbol\mu,\Sigma,\nu) =
/// \frac{\Gamma(\frac{\nu+D}{2})}{\Gamma(\frac\nu2)(\nu\pi)^{D/2}|\Sigma|^{1/2}}
/// \left[1 + \frac{\Delta^2}{\nu}\right]^{-\frac{\nu+D}{2}}\f$ with Σ the scale matrix (PRML 2.162);
/// the posterior predictive of the Normal–Wishart model.
template <Real T = double> class MultivariateStudentT {
 public:
  /// @throw std::domain_error unless df > 0, μ finite, Σ symmetric positive definite.
  MultivariateStudentT(T df, const VectorCRef<T>& location, const MatrixCRef<T>& scale) : nu_(df), mu_(location) {
    check_positive("MultivariateStudentT", "df", df);
    check_nonempty("MultivariateStudentT", "location", location.size());
    check_all_finite("MultivariateStudentT", "location", location);
    check_square("MultivariateStudentT", "scale", scale);
    check_size("MultivariateStudentT", "scale", scale.rows(), location.size(), "rows");
    llt_ = cholesky_checked("MultivariateStudentT", "scale", scale);
    log_det_ = log_det(llt_);
  }
  Index dimension() const noexcept { return mu_.size(); }  ///< dimension D
  T df() const noexcept { return nu_; }  ///< degrees of freedom ν
  const Vector<T>& location() const noexcept { return mu_; }  ///< location μ
  Matrix<T> scale() const { return llt_.reconstructedMatrix(); }  ///< scale matrix Σ (the covariance is ν/(ν − 2) Σ)

  /// Log-density of one point (column vector) or of each row of an N x D matrix.
  template <class Derived> auto log_prob(const Eigen::MatrixBase<Derived>& x) const {
    const T d = T(dimension());
    // log Γ((ν+D)/2) - log Γ(ν/2) - (D/2) log ν = lgamma_difference_scaled(ν/2, D/2) - (D/2) log 2
    const double dd = double(dimension());
    const T c = T(detail::lgamma_difference_scaled(0.5 * double(nu_), 0.5 * dd) -
                  0.5 * dd * (constants<double>::log_two + constants<double>::log_pi) - 0.5 * double(log_det_));
    if constexpr (Derived::ColsAtCompileTime == 1) {
      check_size("MultivariateStudentT::log_prob", "x", x.size(), dimension(), "length");
      const Vector<T> z = llt_.matrixL().solve(Vector<T>(x - mu_));
      return c - T(0.5) * (nu_ + d) * std::log1p(z.squaredNorm() / nu_);
    } else {
      check_size("MultivariateStudentT::log_prob", "x", x.cols(), dimension(), "columns");
      Matrix<T> z = x.rowwise() - mu_.transpose();
      llt_.matrixU().template solveInPlace<Eigen::OnTheRight>(z);
      return Vector<T>((c - T(0.5) * (nu_ + d) * (z.rowwise().squaredNorm().array() / nu_).log1p()).matrix());
    }
  }
  /// μ + L z / sqrt(χ²_ν / ν).
  Vector<T> sample(Rng& rng) const {
    Vector<T> z(dimension());
    random::fill_normal(rng, z);
    return mu_ + (llt_.matrixL() * z) / std::sqrt(random::chi_squared(rng, nu_) / nu_);
  }
  /// n independent draws, one per row (n x D)
  Matrix<T> sample(Rng& rng, Index n) const {
    Matrix<T> out(n, dimension());
    for (Index i = 0; i < n; ++i) out.row(i) = sample(rng).transpose();
    return out;
  }
  /// μ. @throw std::domain_error for ν <= 1.
  const Vector<T>& mean() const {
    if (!(nu_ > T(1))) detail::throw_domain("MultivariateStudentT::mean", "df", "exceed 1", detail::describe(nu_));
    return mu_;
  }
  const Vector<T>& mode() const noexcept { return mu_; }  ///< μ
  /// \f$\frac{\nu}{\nu-2}\Sigma\f$. @throw std::domain_error for ν <= 2.
  Matrix<T> covariance() const {
    if (!(nu_ > T(2)))
      detail::throw_domain("MultivariateStudentT::covariance", "df", "exceed 2", detail::describe(nu_));
    return nu_ / (nu_ - T(2)) * scale();
  }
  /// \f$\frac12\log|\Sigma| + \log\frac{(\nu\pi)^{D/2}\Gamma(\nu/2)}{\Gamma((\nu+D)/2)} +
  /// \frac{\nu+D}{2}[\psi(\frac{\nu+D}{2}) - \psi(\frac\nu2)]\f$.
  /// Evaluated through lgamma_difference_scaled() and digamma_difference() so that it tends to the
  /// Gaussian entropy without cancellation as ν grows.
  T entropy() const noexcept {
    const double d = double(dimension()), nu = double(nu_), h = 0.5 * (nu + d);
    return T(0.5 * double(log_det_) + 0.5 * d * (constants<double>::log_pi + constants<double>::log_two) -
             detail::lgamma_difference_scaled(0.5 * nu, 0.5 * d) + h * detail::digamma_difference(0.5 * nu, 0.5 * d));
  }
  /// Maximum likelihood of location and scale with ν held at `df`, by EM on the Gaussian scale
  /// mixture (Liu & Rubin 1995); every iteration is one TRSM over the data.
  static MultivariateStudentT fit(T df, const MatrixCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>(),
                                  int max_iterations = 500) {
    check_positive("MultivariateStudentT::fit", "df", df);
    const Vector<T> w = detail::weights_or_ones<T>("MultivariateStudentT::fit", weights, x.rows());
    check_all_finite("MultivariateStudentT::fit", "x", x);
    const T total = w.sum(), d = T(x.cols());
    Vector<T> mu = (x.transpose() * w) / total;
    Matrix<T> centred = x.rowwise() - mu.transpose();
    Matrix<T> sigma = centred.transpose() * w.asDiagonal() * centred / total;
    for (int it = 0; it < max_iterations; ++it) {
      Eigen::LLT<Matrix<T>> llt(sigma);
      if (llt.info() != Eigen::Success)
        detail::throw_domain("MultivariateStudentT::fit", "x", "give a positive definite scale",
                             std::to_string(x.rows()) + " rows in dimension " + std::to_string(x.cols()));
      Matrix<T> z = centred;
      llt.matrixU().template solveInPlace<Eigen::OnTheRight>(z);
      const Vector<T> u = ((df + d) / (df + z.rowwise().squaredNorm().array())).matrix();
      const Vector<T> wu = w.cwiseProduct(u);
      const Vector<T> new_mu = (x.transpose() * wu) / wu.sum();
      centred = x.rowwise() - new_mu.transpose();
      const Matrix<T> new_sigma = centred.transpose() * wu.asDiagonal() * centred / total;
      const T change = (new_mu - mu).norm() + (new_sigma - sigma).norm();
      mu = new_mu;
      sigma = T(0.5) * (new_sigma + new_sigma.transpose());
      if (change <= T(1e-10) * (T(1) + sigma.norm())) break;
    }
    return MultivariateStudentT(df, mu, sigma);
  }

 private:
  T nu_;
  Vector<T> mu_;
  Eigen::LLT<Matrix<T>> llt_;
  T log_det_ = 0;
};

}  // namespace pml
