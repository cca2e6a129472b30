#pragma once
/// @file
/// Dirichlet-multinomial distribution: the posterior predictive of the Dirichlet–Multinomial model.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"

namespace pml {

/// DirichletMultinomial(n, α): \f$p(\mathbf m) = \frac{n!\,\Gamma(\alpha_0)}{\Gamma(n+\alpha_0)}
/// \prod_k\frac{\Gamma(m_k+\alpha_k)}{m_k!\,\Gamma(\alpha_k)}\f$.
template <Real T = double> class DirichletMultinomial {
 public:
  /// @throw std::domain_error unless trials >= 0 and every α_k > 0.
  DirichletMultinomial(long trials, const VectorCRef<T>& alpha) : n_(trials), alpha_(alpha) {
    if (trials < 0)
      detail::throw_domain("DirichletMultinomial", "trials", "be non-negative", std::to_string(trials));
    check_nonempty("DirichletMultinomial", "alpha", alpha.size());
    check_all_positive("DirichletMultinomial", "alpha", alpha);
    alpha0_ = alpha_.sum();
  }
  long trials() const noexcept { return n_; }  ///< number of trials n
  const Vector<T>& alpha() const noexcept { return alpha_; }  ///< Dirichlet concentration α
  Index categories() const noexcept { return alpha_.size(); }  ///< number of categories K

  /// Log-probability of one count vector (a column vector; -inf unless the counts are
  /// non-negative and sum to n) or of each row of a count matrix (returns a vector).
  template <class Derived> auto log_prob(const Eigen::MatrixBase<Derived>& m) const {
    if constexpr (Derived::ColsAtCompileTime == 1) {
      check_size("DirichletMultinomial::log_prob", "counts", m.size(), alpha_.size(), "length");
      return point_log_prob(m);
    } else {
      check_size("DirichletMultinomial::log_prob", "counts", m.cols(), alpha_.size(), "columns");
      Vector<T> out(m.rows());
      for (Index i = 0; i < m.rows(); ++i) out(i) = point_log_prob(m.row(i).transpose());
      return out;
    }
  }
  /// one draw of K counts: π ~ Dir(α), then Multinomial(n, π)
  IntVector sample(Rng& rng) const { return random::multinomial(rng, n_, random::dirichlet(rng, alpha_)); }
  /// `count` independent draws, one per row
  IntMatrix sample(Rng& rng, Index count) const {
    IntMatrix out(count, alpha_.size());
    for (Index i = 0; i < count; ++i) out.row(i) = sample(rng).transpose();
    return out;
  }
  Vector<T> mean() const { return T(n_) * alpha_ / alpha0_; }  ///< E[x] = n α / α₀
  /// \f$n\frac{n+\alpha_0}{1+\alpha_0}(\mathrm{diag}(p) - pp^T)\f$ with \f$p = \alpha/\alpha_0\f$.
  Matrix<T> covariance() const {
    const Vector<T> p = alpha_ / alpha0_;
    return T(n_) * (T(n_) + alpha0_) / (T(1) + alpha0_) * (Matrix<T>(p.asDiagonal()) - p * p.transpose());
  }
  Vector<T> variance() const { return covariance().diagonal(); }  ///< Var[x_k] for each k (the diagonal of covariance())

 private:
  template <class V> T point_log_prob(const V& m) const {
    if (m.minCoeff() < 0 || m.sum() != n_) return -std::numeric_limits<T>::infinity();
    // arranged by regime so that large counts or concentrations do not cancel (see core/special.hpp)
    return T(detail::log_dirichlet_multinomial(m.template cast<double>().eval(), alpha_.template cast<double>().eval()));
  }
  long n_;
  Vector<T> alpha_;
  T alpha0_ = 0;
};

}  // namespace pml
