#pragma once
/// @file
/// Closed-form Kullback–Leibler divergences \f$KL(p\|q) = E_p[\log p - \log q]\f$ between members of
/// one family, and Jensen–Shannon divergences for the discrete families. All in nats.

#include <cmath>
#include <limits>

#include "pml/core/linalg.hpp"
#include "pml/distributions/bernoulli.hpp"
#include "pml/distributions/beta.hpp"
#include "pml/distributions/binomial.hpp"
#include "pml/distributions/categorical.hpp"
#include "pml/distributions/dirichlet.hpp"
#include "pml/distributions/gamma.hpp"
#include "pml/distributions/multinomial.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/distributions/multivariate_normal_diag.hpp"
#include "pml/distributions/normal.hpp"
#include "pml/distributions/wishart.hpp"

namespace pml {
namespace detail {
/// \f$p\log(p/q)\f$ with the conventions 0 log 0 = 0 and p log(p/0) = +inf.
template <Real T> T kl_term(T p, T q) noexcept {
  if (p <= T(0)) return T(0);
  if (q <= T(0)) return std::numeric_limits<T>::infinity();
  return p * (std::log(p) - std::log(q));
}
}  // namespace detail

/// \f$KL = \mu_p\log\frac{\mu_p}{\mu_q} + (1-\mu_p)\log\frac{1-\mu_p}{1-\mu_q}\f$.
template <Real T> T kl_divergence(const Bernoulli<T>& p, const Bernoulli<T>& q) noexcept {
  return detail::kl_term(p.p(), q.p()) + detail::kl_term(T(1) - p.p(), T(1) - q.p());
}

/// n KL of the success probabilities. @throw std::invalid_argument unless the trials agree.
template <Real T> T kl_divergence(const Binomial<T>& p, const Binomial<T>& q) {
  check_size("kl_divergence", "q.trials", q.trials(), p.trials(), "value");
  return T(p.trials()) * kl_divergence(Bernoulli<T>(p.p()), Bernoulli<T>(q.p()));
}

/// \f$\sum_k\mu_k\log(\mu_k/\nu_k)\f$. @throw std::invalid_argument on different K.
template <Real T> T kl_divergence(const Categorical<T>& p, const Categorical<T>& q) {
  check_size("kl_divergence", "q.categories", q.categories(), p.categories(), "value");
  T kl = 0;
  for (Index k = 0; k < p.categories(); ++k) kl += detail::kl_term(p.probs()(k), q.probs()(k));
  return kl;
}

/// n times the categorical KL. @throw std::invalid_argument unless trials and K agree.
template <Real T> T kl_divergence(const Multinomial<T>& p, const Multinomial<T>& q) {
  check_size("kl_divergence", "q.trials", q.trials(), p.trials(), "value");
  return T(p.trials()) * kl_divergence(Categorical<T>(p.probs()), Categorical<T>(q.probs()));
}

/// \f$\log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p-\mu_q)^2}{2\sigma_q^2} - \frac12\f$.
template <Real T> T kl_divergence(const Normal<T>& p, const Normal<T>& q) noexcept {
  const T r = p.stddev() / q.stddev();
  const T d = (p.mean() - q.mean()) / q.stddev();
  return T(0.5) * (r * r + d * d - T(1)) - std::log(r);
}

/// \f$\frac12[\mathrm{tr}(\Sigma_q^{-1}\Sigma_p) + (\mu_q-\mu_p)^T\Sigma_q^{-1}(\mu_q-\mu_p) - D +
/// \log|\Sigma_q| - \log|\Sigma_p|]\f$, through the Cholesky factors.
template <Real T> T kl_divergence(const MultivariateNormal<T>& p, const MultivariateNormal<T>& q) {
  check_size("kl_divergence", "q.dimension", q.dimension(), p.dimension(), "value");
  const Matrix<T> lq = q.cholesky_l();
  const Matrix<T> m = lq.template triangularView<Eigen::Lower>().solve(p.cholesky_l());
  const Vector<T> z = lq.template triangularView<Eigen::Lower>().solve(q.mean() - p.mean());
  return T(0.5) * (m.squaredNorm() + z.squaredNorm() - T(p.dimension()) + q.log_det_covariance() -
                   p.log_det_covariance());
}

/// Sum of the per-coordinate normal divergences.
template <Real T> T kl_divergence(const MultivariateNormalDiag<T>& p, const MultivariateNormalDiag<T>& q) {
  check_size("kl_divergence", "q.dimension", q.dimension(), p.dimension(), "value");
  const auto r = p.stddev().array() / q.stddev().array();
  const auto d = (p.mean() - q.mean()).array() / q.stddev().array();
  return (T(0.5) * (r.square() + d.square() - T(1)) - r.log()).sum();
}

/// \f$\log\frac{B(a_q,b_q)}{B(a_p,b_p)} + (a_p-a_q)\psi(a_p) + (b_p-b_q)\psi(b_p) +
/// (a_q-a_p+b_q-b_p)\psi(a_p+b_p)\f$.
template <Real T> T kl_divergence(const Beta<T>& p, const Beta<T>& q) noexcept {
  return lbeta(q.a(), q.b()) - lbeta(p.a(), p.b()) + (p.a() - q.a()) * digamma(p.a()) +
         (p.b() - q.b()) * digamma(p.b()) + (q.a() - p.a() + q.b() - p.b()) * digamma(p.a() + p.b());
}

/// \f$\log\Gamma(\alpha_0) - \sum\log\Gamma(\alpha_k) - \log\Gamma(\beta_0) + \sum\log\Gamma(\beta_k) +
/// \sum_k(\alpha_k-\beta_k)(\psi(\alpha_k) - \psi(\alpha_0))\f$.
template <Real T> T kl_divergence(const Dirichlet<T>& p, const Dirichlet<T>& q) {
  check_size("kl_divergence", "q.dimension", q.dimension(), p.dimension(), "value");
  const T a0 = p.concentration(), b0 = q.concentration();
  T kl = std::lgamma(a0) - std::lgamma(b0);
  const T psi0 = digamma(a0);
  for (Index k = 0; k < p.dimension(); ++k) {
    const T a = p.alpha()(k), b = q.alpha()(k);
    kl += std::lgamma(b) - std::lgamma(a) + (a - b) * (digamma(a) - psi0);
  }
  return kl;
}

/// Shape–rate gammas: \f$(a_p-a_q)\psi(a_p) - \log\Gamma(a_p) + \log\Gamma(a_q) +
/// a_q(\log b_p - \log b_q) + a_p\frac{b_q-b_p}{b_p}\f$.
template <Real T> T kl_divergence(const Gamma<T>& p, const Gamma<T>& q) noexcept {
  return (p.shape() - q.shape()) * digamma(p.shape()) - std::lgamma(p.shape()) + std::lgamma(q.shape()) +
         q.shape() * (std::log(p.rate()) - std::log(q.rate())) + p.shape() * (q.rate() - p.rate()) / p.rate();
}

/// \f$\frac{\nu_p-\nu_q}{2}\psi_D(\frac{\nu_p}2) + \log\Gamma_D(\frac{\nu_q}2) - \log\Gamma_D(\frac{\nu_p}2) +
/// \frac{\nu_q}2(\log|W_q| - \log|W_p|) + \frac{\nu_p}2(\mathrm{tr}(W_q^{-1}W_p) - D)\f$.
template <Real T> T kl_divergence(const Wishart<T>& p, const Wishart<T>& q) {
  check_size("kl_divergence", "q.dimension", q.dimension(), p.dimension(), "value");
  const Index d = p.dimension();
  const Eigen::LLT<Matrix<T>> lp(p.scale()), lq(q.scale());
  const T trace = lq.solve(p.scale()).trace();
  return T(0.5) * (p.df() - q.df()) * mdigamma(d, T(0.5) * p.df()) + lmgamma(d, T(0.5) * q.df()) -
         lmgamma(d, T(0.5) * p.df()) + T(0.5) * q.df() * (log_det(lq) - log_det(lp)) +
         T(0.5) * p.df() * (trace - T(d));
}

/// Jensen–Shannon divergence \f$\frac12KL(p\|m) + \frac12KL(q\|m)\f$, m = (p + q)/2; in [0, log 2].
template <Real T> T js_divergence(const Bernoulli<T>& p, const Bernoulli<T>& q) noexcept {
  const Bernoulli<T> m(T(0.5) * (p.p() + q.p()));
  return T(0.5) * (kl_divergence(p, m) + kl_divergence(q, m));
}
/// Jensen–Shannon divergence of two categoricals.
template <Real T> T js_divergence(const Categorical<T>& p, const Categorical<T>& q) {
  check_size("js_divergence", "q.categories", q.categories(), p.categories(), "value");
  const Vector<T> m = T(0.5) * (p.probs() + q.probs());
  T js = 0;
  for (Index k = 0; k < m.size(); ++k)
    js += T(0.5) * (detail::kl_term(p.probs()(k), m(k)) + detail::kl_term(q.probs()(k), m(k)));
  return js;
}
/// Jensen–Shannon divergence of two binomials with the same trials (the mixture is summed exactly).
template <Real T> T js_divergence(const Binomial<T>& p, const Binomial<T>& q) {
  check_size("js_divergence", "q.trials", q.trials(), p.trials(), "value");
  T js = 0;
  for (long k = 0; k <= p.trials(); ++k) {
    const T a = std::exp(p.log_prob(k)), b = std::exp(q.log_prob(k));
    const T m = T(0.5) * (a + b);
    js += T(0.5) * (detail::kl_term(a, m) + detail::kl_term(b, m));
  }
  return js;
}

}  // namespace pml
