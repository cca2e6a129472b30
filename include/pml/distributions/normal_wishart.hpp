#pragma once
/// @file
/// Normal–Wishart distribution: the joint conjugate prior of a multivariate Gaussian's mean and
/// precision matrix.

#include <cmath>
#include <vector>

#include "pml/distributions/multivariate_normal.hpp"
#include "pml/distributions/multivariate_student_t.hpp"
#include "pml/distributions/wishart.hpp"

namespace pml {

/// A draw (μ, Λ) from a NormalWishart.
template <Real T> struct NormalWishartSample {
  Vector<T> mean;       ///< μ
  Matrix<T> precision;  ///< Λ
};

/// NormalWishart(μ₀, κ, ν, W): \f$p(\boldsymbol\mu,\Lambda) = \mathcal N(\boldsymbol\mu|\boldsymbol\mu_0,
/// (\kappa\Lambda)^{-1})\,\mathcal W(\Lambda|W,\nu)\f$ (PRML 2.157, with β written κ).
template <Real T = double> class NormalWishart {
 public:
  /// @throw std::invalid_argument on mismatched sizes; std::domain_error unless κ > 0, ν > D − 1
  /// and W symmetric positive definite.
  NormalWishart(const VectorCRef<T>& mu0, T kappa, T nu, const MatrixCRef<T>& scale)
      : mu0_(mu0), kappa_(kappa), wishart_(nu, scale) {
    check_all_finite("NormalWishart", "mu0", mu0);
    check_size("NormalWishart", "mu0", mu0.size(), scale.rows(), "length");
    check_positive("NormalWishart", "kappa", kappa);
  }
  Index dimension() const noexcept { return mu0_.size(); }  ///< dimension D
  const Vector<T>& mu0() const noexcept { return mu0_; }  ///< prior mean μ₀ of μ
  T kappa() const noexcept { return kappa_; }  ///< κ: μ | Λ ~ N(μ₀, (κΛ)⁻¹)
  T nu() const noexcept { return wishart_.df(); }  ///< Wishart degrees of freedom ν of the precision Λ
  const Matrix<T>& scale() const noexcept { return wishart_.scale(); }  ///< Wishart scale matrix W of the precision Λ
  /// The marginal of the precision, W(Λ|W, ν).
  const Wishart<T>& precision_marginal() const noexcept { return wishart_; }
  /// The marginal of the mean: a Student-t with ν − D + 1 degrees of freedom and scale
  /// \f$W^{-1}/(\kappa(\nu - D + 1))\f$.
  MultivariateStudentT<T> mean_marginal() const {
    const T dof = nu() - T(dimension()) + T(1);
    const Matrix<T> winv = scale().llt().solve(Matrix<T>::Identity(dimension(), dimension()));
    return MultivariateStudentT<T>(dof, mu0_, T(0.5) * (winv + winv.transpose()) / (kappa_ * dof));
  }

  /// \f$\log\mathcal N(\mu|\mu_0,(\kappa\Lambda)^{-1}) + \log\mathcal W(\Lambda|W,\nu)\f$; -inf for a Λ
  /// that is not positive definite.
  T log_prob(const VectorCRef<T>& mu, const MatrixCRef<T>& precision) const {
    check_size("NormalWishart::log_prob", "mu", mu.size(), dimension(), "length");
    const T lw = wishart_.log_prob(precision);
    if (!std::isfinite(lw)) return lw;
    Eigen::LLT<Matrix<T>> l(precision);
    const Vector<T> diff = mu - mu0_;
    const T d = T(dimension());
    return lw + T(0.5) * (d * std::log(kappa_) + log_det(l)) - T(0.5) * d * constants<T>::log_two_pi -
           T(0.5) * kappa_ * diff.dot(precision * diff);
  }
  /// one draw: Λ ~ W(W, ν), then μ ~ N(μ₀, (κΛ)⁻¹)
  NormalWishartSample<T> sample(Rng& rng) const {
    NormalWishartSample<T> s;
    s.precision = wishart_.sample(rng);
    s.mean = MultivariateNormal<T>::from_precision(mu0_, kappa_ * s.precision).sample(rng);
    return s;
  }
  /// n independent draws
  std::vector<NormalWishartSample<T>> sample(Rng& rng, Index n) const {
    std::vector<NormalWishartSample<T>> out;
    out.reserve(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) out.push_back(sample(rng));
    return out;
  }
  /// (E[μ], E[Λ]) = (μ₀, νW).
  NormalWishartSample<T> mean() const { return {mu0_, wishart_.mean()}; }
  /// Joint mode (μ₀, (ν − D)W). @throw std::domain_error for ν <= D.
  NormalWishartSample<T> mode() const {
    if (!(nu() > T(dimension())))
      detail::throw_domain("NormalWishart::mode", "nu", "exceed D = " + std::to_string(dimension()),
                           detail::describe(nu()));
    return {mu0_, (nu() - T(dimension())) * scale()};
  }
  /// \f$H[\mathcal W] + \frac D2(1 + \log 2\pi) - \frac D2\log\kappa - \frac12E[\log|\Lambda|]\f$.
  T entropy() const noexcept {
    const T d = T(dimension());
    return wishart_.entropy() + T(0.5) * d * (T(1) + constants<T>::log_two_pi) - T(0.5) * d * std::log(kappa_) -
           T(0.5) * wishart_.mean_log_det();
  }
  /// Maximum likelihood from draws (μᵢ, Λᵢ): (ν, W) is the Wishart MLE of the Λᵢ; then
  /// \f$\mu_0 = (\sum w\Lambda)^{-1}\sum w\Lambda\mu\f$ and
  /// \f$\kappa = D\sum w / \sum w(\mu-\mu_0)^T\Lambda(\mu-\mu_0)\f$.
  static NormalWishart fit(const std::vector<NormalWishartSample<T>>& draws,
                           const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Index n = static_cast<Index>(draws.size());
    const Vector<T> w = detail::weights_or_ones<T>("NormalWishart::fit", weights, n);
    std::vector<Matrix<T>> precisions;
    precisions.reserve(draws.size());
    for (const auto& s : draws) precisions.push_back(s.precision);
    const Wishart<T> wish = Wishart<T>::fit(precisions, w);
    const Index d = wish.dimension();
    Matrix<T> sum_prec = Matrix<T>::Zero(d, d);
    Vector<T> sum_prec_mu = Vector<T>::Zero(d);
    for (Index i = 0; i < n; ++i) {
      const auto& s = draws[static_cast<std::size_t>(i)];
      check_size("NormalWishart::fit", "mean", s.mean.size(), d, "length");
      sum_prec += w(i) * s.precision;
      sum_prec_mu += w(i) * (s.precision * s.mean);
    }
    const Vector<T> mu0 = sum_prec.llt().solve(sum_prec_mu);
    T spread = 0;
    for (Index i = 0; i < n; ++i) {
      const auto& s = draws[static_cast<std::size_t>(i)];
      const Vector<T> diff = s.mean - mu0;
      spread += w(i) * diff.dot(s.precision * diff);
    }
    if (!(spread > T(0)))
      detail::throw_domain("NormalWishart::fit", "mean", "have positive spread", "all weighted means equal");
    return NormalWishart(mu0, T(d) * w.sum() / spread, wish.df(), wish.scale());
  }

 private:
  Vector<T> mu0_;
  T kappa_;
  Wishart<T> wishart_;
};

}  // namespace pml
