#pragma once
/// @file
/// Multivariate normal distribution with a full covariance, held by its Cholesky factor.

#include <cmath>

#include <Eigen/Cholesky>

#include "pml/core/check.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// MultivariateNormal(μ, Σ): \f$\mathcal N(\mathbf x|\boldsymbol\mu,\Sigma) =
/// (2\pi)^{-D/2}|\Sigma|^{-1/2}\exp\{-\tfrac12(\mathbf x-\boldsymbol\mu)^T\Sigma^{-1}(\mathbf x-\boldsymbol\mu)\}\f$
/// (PRML 2.43). Σ = L Lᵀ is factored once; the batch log-density is a blocked triangular solve
/// (TRSM) over the N x D data, so it runs at matrix-product speed.
template <Real T = double> class MultivariateNormal {
 public:
  /// @throw std::invalid_argument on mismatched sizes; std::domain_error unless Σ is symmetric
  /// positive definite and μ finite.
  MultivariateNormal(const VectorCRef<T>& mean, const MatrixCRef<T>& covariance) : mu_(mean) {
    check_nonempty("MultivariateNormal", "mean", mean.size());
    check_all_finite("MultivariateNormal", "mean", mean);
    check_square("MultivariateNormal", "covariance", covariance);
    check_size("MultivariateNormal", "covariance", covariance.rows(), mean.size(), "rows");
    llt_ = cholesky_checked("MultivariateNormal", "covariance", covariance);
    log_det_ = log_det(llt_);
  }
  /// From the mean and the precision matrix Λ = Σ⁻¹.
  static MultivariateNormal from_precision(const VectorCRef<T>& mean, const MatrixCRef<T>& precision) {
    const auto llt = cholesky_checked("MultivariateNormal::from_precision", "precision", precision);
    const Matrix<T> cov = llt.solve(Matrix<T>::Identity(precision.rows(), precision.cols()));
    return MultivariateNormal(mean, T(0.5) * (cov + cov.transpose()));
  }

  Index dimension() const noexcept { return mu_.size(); }  ///< dimension D
  const Vector<T>& mean() const noexcept { return mu_; }  ///< μ
  const Vector<T>& mode() const noexcept { return mu_; }  ///< μ
  Matrix<T> covariance() const { return llt_.reconstructedMatrix(); }  ///< Σ, rebuilt from its Cholesky factor
  Matrix<T> precision() const { return llt_.solve(Matrix<T>::Identity(dimension(), dimension())); }  ///< Σ⁻¹ (a D x D solve)
  /// Lower Cholesky factor L of Σ.
  Matrix<T> cholesky_l() const { return llt_.matrixL(); }
  /// \f$\log|\Sigma|\f$.
  T log_det_covariance() const noexcept { return log_det_; }

  /// Log-density of one point (a column vector expression) or of each row of an N x D matrix
  /// (returns a vector of N). A compile-time column vector is one point.
  template <class Derived> auto log_prob(const Eigen::MatrixBase<Derived>& x) const {
    if constexpr (Derived::ColsAtCompileTime == 1) {
      check_size("MultivariateNormal::log_prob", "x", x.size(), dimension(), "length");
      const Vector<T> z = llt_.matrixL().solve(Vector<T>(x - mu_));
      return normaliser() - T(0.5) * z.squaredNorm();
    } else {
      check_size("MultivariateNormal::log_prob", "x", x.cols(), dimension(), "columns");
      return Vector<T>((normaliser() - T(0.5) * mahalanobis_squared(x).array()).matrix());
    }
  }
  /// Squared Mahalanobis distance \f$(\mathbf x-\boldsymbol\mu)^T\Sigma^{-1}(\mathbf x-\boldsymbol\mu)\f$
  /// of each row. Works through the rows in blocks that stay in cache: centre, one triangular solve
  /// \f$Z L^T = X - \mu\f$ (TRSM), row norms; no N x D temporary is formed.
  template <class Derived> Vector<T> mahalanobis_squared(const Eigen::MatrixBase<Derived>& x) const {
    check_size("MultivariateNormal::mahalanobis_squared", "x", x.cols(), dimension(), "columns");
    constexpr Index block = 128;
    const Index n = x.rows();
    Vector<T> out(n);
    // chunks of whole blocks, fixed by n, on several threads (core/parallel.hpp): the same bits for any count
    detail::parallel_chunks(detail::split_rows(n, 2048, Index(1) << 20, block), [&](Index, Index begin, Index end) {
      Matrix<T> z(std::min(block, end - begin), dimension());
      for (Index start = begin; start < end; start += block) {
        const Index m = std::min(block, end - start);
        if (m != z.rows()) z.resize(m, dimension());
        z = x.middleRows(start, m).rowwise() - mu_.transpose();
        llt_.matrixU().template solveInPlace<Eigen::OnTheRight>(z);  // rows become L^{-1}(x - mu)
        out.segment(start, m) = z.rowwise().squaredNorm();
      }
    });
    return out;
  }
  /// One draw μ + L ε.
  Vector<T> sample(Rng& rng) const {
    Vector<T> eps(dimension());
    random::fill_normal(rng, eps);
    return mu_ + llt_.matrixL() * eps;
  }
  /// `n` draws as the rows of an n x D matrix (one GEMM).
  Matrix<T> sample(Rng& rng, Index n) const {
    Matrix<T> eps(n, dimension());
    random::fill_normal(rng, eps);
    Matrix<T> out = eps * llt_.matrixU();
    out.rowwise() += mu_.transpose();
    return out;
  }
  /// \f$\frac D2(1 + \log 2\pi) + \frac12\log|\Sigma|\f$.
  T entropy() const noexcept {
    return T(0.5) * T(dimension()) * (T(1) + constants<T>::log_two_pi) + T(0.5) * log_det_;
  }

  /// Maximum likelihood: weighted mean and (1/N) covariance (PRML 2.121, 2.122), plus
  /// `regularization` on the diagonal (as scikit-learn's reg_covar).
  /// @throw std::domain_error when the covariance is singular (e.g. N <= D with no regularisation) or not
  /// representable in T (data near the top of the range, |x| ~ 1e300 in double), naming x and its largest |x|.
  static MultivariateNormal fit(const MatrixCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>(),
                                T regularization = T(0)) {
    const Vector<T> w = detail::weights_or_ones<T>("MultivariateNormal::fit", weights, x.rows());
    check_nonnegative("MultivariateNormal::fit", "regularization", regularization);
    check_all_finite("MultivariateNormal::fit", "x", x);
    const T total = w.sum();
    const Vector<T> mu = (x.transpose() * w) / total;
    Matrix<T> centred = x.rowwise() - mu.transpose();
    Matrix<T> cov = Matrix<T>::Zero(x.cols(), x.cols());
    cov.template selfadjointView<Eigen::Lower>().rankUpdate((centred.array().colwise() * w.array().sqrt()).matrix().transpose(),
                                                            T(1) / total);
    cov = cov.template selfadjointView<Eigen::Lower>();
    cov.diagonal().array() += regularization;
    // data near the top of the range: the covariance (squares of the spread) overflows T
    if (!mu.allFinite() || !cov.allFinite())
      detail::throw_domain("MultivariateNormal::fit", "x", "give a mean and covariance representable in the scalar type",
                           "largest |x| = " + detail::describe(double(x.cwiseAbs().maxCoeff())));
    Eigen::LLT<Matrix<T>> llt(cov);
    if (llt.info() != Eigen::Success)
      detail::throw_domain("MultivariateNormal::fit", "x",
                           "give a positive definite covariance (add regularization?)",
                           std::to_string(x.rows()) + " rows in dimension " + std::to_string(x.cols()));
    return MultivariateNormal(mu, cov);
  }

 private:
  T normaliser() const noexcept {
    return -T(0.5) * (T(dimension()) * constants<T>::log_two_pi + log_det_);
  }
  Vector<T> mu_;
  Eigen::LLT<Matrix<T>> llt_;
  T log_det_ = 0;
};

}  // namespace pml
