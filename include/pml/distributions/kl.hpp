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
/// (a_q-a_p+b_q-b_p)\psi(a_p+b_p)\f$, summed as \f$R(a_p, a_q-a_p) + R(b_p, b_q-b_p) - R(a_p+b_p, a_q+b_q-a_p-b_p)\f$
/// with R = lgamma_remainder(); when all four shapes are >= 10 the large parts are summed exactly as
/// \f$(a_q+b_q)\,KL(\mathrm{Bern}(\frac{a_q}{a_q+b_q})\|\mathrm{Bern}(\frac{a_p}{a_p+b_p}))\f$ first (no cancellation for
/// large shapes); float evaluated in double.
template <Real T> T kl_divergence(const Beta<T>& p, const Beta<T>& q) noexcept {
  const Eigen::Vector2d pv{double(p.a()), double(p.b())}, qv{double(q.a()), double(q.b())};
  return T(detail::dirichlet_kl(pv, qv));
}

/// \f$\log\Gamma(\alpha_0) - \sum\log\Gamma(\alpha_k) - \log\Gamma(\beta_0) + \sum\log\Gamma(\beta_k) +
/// \sum_k(\alpha_k-\beta_k)(\psi(\alpha_k) - \psi(\alpha_0))\f$, summed as \f$\sum_k R(\alpha_k, \beta_k-\alpha_k) -
/// R(\alpha_0, \beta_0-\alpha_0)\f$ with R = lgamma_remainder(); when every concentration is >= 10 the large parts
/// are summed exactly first, as \f$\beta_0\sum_k\mathrm{bd0}(\beta_k/\beta_0, \alpha_k/\alpha_0)\f$; float evaluated in double.
template <Real T> T kl_divergence(const Dirichlet<T>& p, const Dirichlet<T>& q) {
  check_size("kl_divergence", "q.dimension", q.dimension(), p.dimension(), "value");
  return T(detail::dirichlet_kl(p.alpha().template cast<double>().eval(), q.alpha().template cast<double>().eval()));
}

/// Shape–rate gammas: \f$(a_p-a_q)\psi(a_p) - \log\Gamma(a_p) + \log\Gamma(a_q) +
/// a_q(\log b_p - \log b_q) + a_p\frac{b_q-b_p}{b_p}\f$, with the lgamma and digamma terms summed as
/// lgamma_remainder(a_p, a_q − a_p) and \f$a_q\log(b_p/b_q) + a_p(b_q/b_p - 1)\f$ as
/// \f$a_p[r - 1 - \log r] + (a_p - a_q)\log r\f$, r = b_q/b_p; when both shapes are >= 10 the shape-sized parts
/// combine exactly into \f$-a_q\,\mathrm{log1pmx}(\frac{a_pb_q}{a_qb_p} - 1)\f$ (no cancellation for large shapes).
/// Float evaluated in double.
template <Real T> T kl_divergence(const Gamma<T>& p, const Gamma<T>& q) noexcept {
  const double ap = double(p.shape()), aq = double(q.shape()), bp = double(p.rate()), bq = double(q.rate());
  if (ap >= detail::stirling_threshold && aq >= detail::stirling_threshold) {
    // all shape-sized parts together: -a_q log1pmx(v), v = a_p b_q / (a_q b_p) - 1 (difference of products by fma)
    const double num = detail::difference_of_products(ap, bq, aq, bp), den = aq * bp;
    const double v = std::isfinite(num) && std::isfinite(den) ? num / den : (ap / aq) * (bq / bp) - 1.0;
    return T(-aq * detail::log1pmx(v) + detail::lgamma_remainder_tail(ap, aq - ap));
  }
  const double u = (bq - bp) / bp, log_r = std::log(bq) - std::log(bp);
  const double rate_part = std::abs(u) < 0.5 ? -ap * detail::log1pmx(u) : ap * (u - log_r);
  return T(detail::lgamma_remainder(ap, aq - ap) + rate_part + (ap - aq) * log_r);
}

/// \f$\frac{\nu_p-\nu_q}{2}\psi_D(\frac{\nu_p}2) + \log\Gamma_D(\frac{\nu_q}2) - \log\Gamma_D(\frac{\nu_p}2) +
/// \frac{\nu_q}2(\log|W_q| - \log|W_p|) + \frac{\nu_p}2(\mathrm{tr}(W_q^{-1}W_p) - D)\f$.
template <Real T> T kl_divergence(const Wishart<T>& p, const Wishart<T>& q) {
  check_size("kl_divergence", "q.dimension", q.dimension(), p.dimension(), "value");
  const Index d = p.dimension();
  const Eigen::LLT<Matrix<T>> lp(p.scale()), lq(q.scale());
  const T trace = lq.solve(p.scale()).trace();
  // the lmgamma and mdigamma terms as sum_j lgamma_remainder(x_j, (ν_q − ν_p)/2), x_j = (ν_p + 1 − j)/2
  double gamma_part = 0;
  const double half_gap = 0.5 * (double(q.df()) - double(p.df()));
  for (Index j = 1; j <= d; ++j) gamma_part += detail::lgamma_remainder(0.5 * (double(p.df()) + double(1 - j)), half_gap);
  return T(gamma_part) + T(0.5) * q.df() * (log_det(lq) - log_det(lp)) + T(0.5) * p.df() * (trace - T(d));
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
/// Jensen–Shannon divergence of two binomials with the same trials (the mixture is summed exactly over the
/// union of both count windows, see Binomial::window()). @throw std::domain_error beyond 2e7 counts.
template <Real T> T js_divergence(const Binomial<T>& p, const Binomial<T>& q) {
  check_size("js_divergence", "q.trials", q.trials(), p.trials(), "value");
  const auto wp = p.window("js_divergence"), wq = q.window("js_divergence");
  const long lo = std::min(wp.first, wq.first), hi = std::max(wp.second, wq.second);
  if (double(hi - lo) > detail::max_summed_terms)
    detail::throw_domain("js_divergence", "p and q", "have count windows spanning at most 2e7 counts",
                         std::to_string(hi - lo + 1) + " counts");
  T js = 0;
  for (long k = lo; k <= hi; ++k) {
    const T a = std::exp(p.log_prob(k)), b = std::exp(q.log_prob(k));
    const T m = T(0.5) * (a + b);
    js += T(0.5) * (detail::kl_term(a, m) + detail::kl_term(b, m));
  }
  return js;
}

}  // namespace pml
