#pragma once
/// @file
/// Wishart distribution over symmetric positive definite matrices.

#include <cmath>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "pml/core/check.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Wishart(ν, W): \f$\mathcal W(\Lambda|W,\nu) = B(W,\nu)|\Lambda|^{(\nu-D-1)/2}
/// \exp(-\tfrac12\mathrm{Tr}(W^{-1}\Lambda))\f$ with \f$B(W,\nu)^{-1} = |W|^{\nu/2}2^{\nu D/2}\Gamma_D(\nu/2)\f$
/// (PRML B.78–79), ν > D − 1. The conjugate prior of a Gaussian precision matrix.
template <Real T = double> class Wishart {
 public:
  /// @throw std::domain_error unless df > D − 1 and scale is symmetric positive definite.
  Wishart(T df, const MatrixCRef<T>& scale) : nu_(df), w_(scale) {
    check_square("Wishart", "scale", scale);
    check_nonempty("Wishart", "scale", scale.rows());
    check_greater("Wishart", "df", df, scale.rows() - 1);
    llt_ = cholesky_checked("Wishart", "scale", scale);
    log_det_w_ = log_det(llt_);
  }
  Index dimension() const noexcept { return w_.rows(); }  ///< dimension D
  T df() const noexcept { return nu_; }  ///< degrees of freedom ν
  const Matrix<T>& scale() const noexcept { return w_; }  ///< scale matrix W (E[Λ] = νW)

  /// \f$\log B(W,\nu)\f$ (PRML B.79).
  T log_normaliser() const noexcept {
    const T d = T(dimension());
    return -T(0.5) * nu_ * log_det_w_ - T(0.5) * nu_ * d * constants<T>::log_two - lmgamma(dimension(), T(0.5) * nu_);
  }
  /// Log-density of one matrix (PRML B.78), rearranged so that no ν-sized terms cancel: with μ_i the
  /// eigenvalues of \f$L^{-1}\Lambda L^{-T}\f$ (W = LLᵀ), a = ν/2 and φ(t) = t − 1 − log t,
  /// \f$\log p = -\tfrac{D+1}2(\log|W| + \sum_i\log\mu_i) - \tfrac{D(D-1)}4\log\pi - a\sum_i\phi(\mu_i/\nu)
  /// + \sum_{j=1}^D[\tfrac12\log\frac a{2\pi} - \delta(a) - (\log\Gamma(a-\tfrac{j-1}2) - \log\Gamma(a))]\f$
  /// (δ the Stirling error, the last bracket lgamma_difference()), so ν up to 1e300 keeps full accuracy.
  /// Float evaluated in double. Returns -inf when `x` is not positive definite.
  /// @throw std::invalid_argument on a wrong size.
  T log_prob(const MatrixCRef<T>& x) const {
    check_square("Wishart::log_prob", "x", x);
    check_size("Wishart::log_prob", "x", x.rows(), dimension(), "rows");
    const Index dim = dimension();
    const Eigen::MatrixXd l = Matrix<T>(llt_.matrixL()).template cast<double>();
    const Eigen::MatrixXd a1 = l.triangularView<Eigen::Lower>().solve(x.template cast<double>());
    const Eigen::MatrixXd m = l.triangularView<Eigen::Lower>().solve(a1.transpose());  // L^-1 x L^-T
    if (!m.allFinite()) return -std::numeric_limits<T>::infinity();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m, Eigen::EigenvaluesOnly);
    const Eigen::VectorXd mu = es.eigenvalues();
    if (es.info() != Eigen::Success || !(mu.minCoeff() > 0)) return -std::numeric_limits<T>::infinity();
    const double d = double(dim), nu = double(nu_), a = 0.5 * nu;
    double lp = -0.5 * (d + 1) * (double(log_det_w_) + mu.array().log().sum()) - 0.25 * d * (d - 1) * constants<double>::log_pi;
    for (Index i = 0; i < dim; ++i) lp += a * detail::log1pmx(mu(i) / nu - 1.0);  // -a phi(mu_i / nu)
    for (Index j = 1; j <= dim; ++j)
      lp += 0.5 * std::log(a) - 0.5 * constants<double>::log_two_pi - detail::stirling_error(a) -
            detail::lgamma_difference(a, -0.5 * double(j - 1));
    return T(lp);
  }
  /// Log-density of each matrix of a batch.
  Vector<T> log_prob(const std::vector<Matrix<T>>& xs) const {
    Vector<T> out(static_cast<Index>(xs.size()));
    for (std::size_t i = 0; i < xs.size(); ++i) out(static_cast<Index>(i)) = log_prob(xs[i]);
    return out;
  }
  /// One draw by the Bartlett decomposition.
  Matrix<T> sample(Rng& rng) const { return random::wishart_from_cholesky(rng, nu_, Matrix<T>(llt_.matrixL())); }
  /// n independent draws (Bartlett decomposition)
  std::vector<Matrix<T>> sample(Rng& rng, Index n) const {
    const Matrix<T> l = llt_.matrixL();
    std::vector<Matrix<T>> out;
    out.reserve(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) out.push_back(random::wishart_from_cholesky(rng, nu_, l));
    return out;
  }
  /// \f$\nu W\f$ (PRML B.80).
  Matrix<T> mean() const { return nu_ * w_; }
  /// Elementwise variances \f$\mathrm{var}[\Lambda_{ij}] = \nu(W_{ij}^2 + W_{ii}W_{jj})\f$.
  Matrix<T> variance() const {
    const Vector<T> d = w_.diagonal();
    return nu_ * (w_.array().square() + (d * d.transpose()).array()).matrix();
  }
  /// \f$(\nu - D - 1)W\f$. @throw std::domain_error for ν < D + 1.
  Matrix<T> mode() const {
    if (nu_ < T(dimension() + 1))
      detail::throw_domain("Wishart::mode", "df", "be at least D + 1 = " + std::to_string(dimension() + 1),
                           detail::describe(nu_));
    return (nu_ - T(dimension()) - T(1)) * w_;
  }
  /// \f$E[\log|\Lambda|] = \psi_D(\nu/2) + D\log2 + \log|W|\f$ (PRML B.81).
  T mean_log_det() const noexcept {
    return mdigamma(dimension(), T(0.5) * nu_) + T(dimension()) * constants<T>::log_two + log_det_w_;
  }
  /// \f$-\log B(W,\nu) - \frac{\nu-D-1}{2}E[\log|\Lambda|] + \frac{\nu D}{2}\f$ (PRML B.82), with the
  /// ν-sized terms cancelled algebraically: \f$\frac{D+1}2\log|W| + \frac{D(D+1)}2\log 2 + \frac{D(D-1)}4\log\pi
  /// + \sum_{j=1}^D[h(x_j) + \frac{D-j}2\psi(x_j) + \frac{j-1}2]\f$, \f$x_j = \frac{\nu+1-j}2\f$ and
  /// h = gamma_entropy_core(), so large ν does not cancel. Float evaluated in double.
  T entropy() const noexcept {
    const Index dim = dimension();
    const double d = double(dim), nu = double(nu_);
    double h = 0.5 * (d + 1) * double(log_det_w_) + 0.5 * d * (d + 1) * constants<double>::log_two +
               0.25 * d * (d - 1) * constants<double>::log_pi;
    for (Index j = 1; j <= dim; ++j) {
      const double x = 0.5 * (nu + 1 - double(j));
      h += detail::gamma_entropy_core(x) + 0.5 * double(dim - j) * detail::boost_digamma(x) + 0.5 * double(j - 1);
    }
    return T(h);
  }

  /// Maximum likelihood of (ν, W) from positive definite matrices. With W = W̄/ν substituted, the
  /// profile score in ν, \f$\frac12(\overline{\log|X|} - \log|\bar X|) + \frac D2\log\frac\nu2 -
  /// \frac12\psi_D(\frac\nu2)\f$, decreases from +∞ at ν = D − 1 to a negative limit;
  /// its root is found by bisection on log(ν − D + 1).
  static Wishart fit(const std::vector<Matrix<T>>& xs, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Index n = static_cast<Index>(xs.size());
    const Vector<T> w = detail::weights_or_ones<T>("Wishart::fit", weights, n);
    const Index d = xs[0].rows();
    Matrix<T> mean = Matrix<T>::Zero(d, d);
    T mean_log_det = 0;
    for (Index i = 0; i < n; ++i) {
      const Matrix<T>& x = xs[static_cast<std::size_t>(i)];
      check_square("Wishart::fit", "xs", x);
      check_size("Wishart::fit", "xs", x.rows(), d, "rows");
      Eigen::LLT<Matrix<T>> l(x);
      if (l.info() != Eigen::Success)
        detail::throw_domain("Wishart::fit", "xs", "be positive definite", "matrix " + std::to_string(i));
      mean += w(i) * x;
      mean_log_det += w(i) * log_det(l);
    }
    mean /= w.sum();
    mean_log_det /= w.sum();
    Eigen::LLT<Matrix<T>> lm(mean);
    const T gap = mean_log_det - log_det(lm);  // <= 0 by concavity of log det
    if (!(gap < T(0)))
      detail::throw_domain("Wishart::fit", "xs", "vary (identical matrices give an infinite df)",
                           "a log-determinant gap of " + detail::describe(gap));
    const T dd = T(d);
    auto score = [&](T nu) { return T(0.5) * gap + T(0.5) * dd * std::log(T(0.5) * nu) - T(0.5) * mdigamma(d, T(0.5) * nu); };
    T lo = T(-30), hi = T(30);
    for (int it = 0; it < 200; ++it) {
      const T mid = T(0.5) * (lo + hi);
      if (score(dd - T(1) + std::exp(mid)) > T(0)) lo = mid; else hi = mid;
    }
    const T nu = dd - T(1) + std::exp(T(0.5) * (lo + hi));
    return Wishart(nu, mean / nu);
  }

 private:
  T nu_;
  Matrix<T> w_;
  Eigen::LLT<Matrix<T>> llt_;
  T log_det_w_ = 0;
};

}  // namespace pml
