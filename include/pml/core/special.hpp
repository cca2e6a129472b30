#pragma once
/// @file
/// Special functions: stable log-sum-exp, softplus, sigmoid, log-gamma family, digamma and
/// trigamma, multivariate gamma. Everything that works in log space lives here, once.

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/log1p.hpp>
#include <boost/math/special_functions/trigamma.hpp>

#include "pml/core/check.hpp"
#include "pml/core/simd.hpp"
#include "pml/core/types.hpp"

namespace pml {

/// Stable \f$\log(1 + e^x)\f$ (softplus). Never overflows: for large x it returns x.
template <Real T> T softplus(T x) noexcept {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
/// Same as softplus(); the name Stan and R use.
template <Real T> T log1p_exp(T x) noexcept { return softplus(x); }

/// Stable logistic sigmoid \f$1 / (1 + e^{-x})\f$, accurate in both tails.
template <Real T> T sigmoid(T x) noexcept {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

/// \f$\log \sigma(x) = -\mathrm{softplus}(-x)\f$, stable.
template <Real T> T log_sigmoid(T x) noexcept { return -softplus(-x); }

/// Logit \f$\log(p / (1 - p))\f$.
template <Real T> T logit(T p) noexcept { return std::log(p) - std::log1p(-p); }

namespace detail {
/// Boost.Math error policy for pml: no exceptions, no printing — poles, overflow and domain errors
/// come back as ±inf or NaN, which the callers' own argument checks have already ruled out.
using boost_policy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::underflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>,
    boost::math::policies::rounding_error<boost::math::policies::ignore_error>,
    boost::math::policies::promote_double<false>>;

inline double boost_lgamma(double x) noexcept { return boost::math::lgamma(x, boost_policy()); }
inline double boost_digamma(double x) noexcept { return boost::math::digamma(x, boost_policy()); }
inline double boost_trigamma(double x) noexcept { return boost::math::trigamma(x, boost_policy()); }
/// lgamma(1 + x), accurate also for tiny x (Boost.Math tgamma1pm1 and log1p), x > -1.
inline double lgamma1p(double x) noexcept {
  if (std::abs(x) < 0.5) return std::log1p(boost::math::tgamma1pm1(x, boost_policy()));
  return boost_lgamma(1 + x);
}

/// log1p(t) - t (Boost.Math log1pmx); -inf at t = -1, NaN below.
inline double log1pmx(double t) noexcept {
  if (t == -1.0) return -std::numeric_limits<double>::infinity();
  if (!(t > -1.0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return -t;
  return boost::math::log1pmx(t, boost_policy());
}

/// log((x + d)/x) for x > 0, x + d > 0, without overflow of d/x.
inline double log1p_ratio(double d, double x) noexcept {
  const double t = d / x;
  return std::isfinite(t) ? std::log1p(t) : std::log(x + d) - std::log(x);
}

// Asymptotic (Stirling) series, all valid to double precision for x >= 10.
// delta(x) = sum_k B_2k / (2k(2k-1) x^(2k-1)), k = 1..8; the first omitted term is < 1e-20 at x = 10.
inline constexpr double stirling_coefficients[8] = {1.0 / 12,     -1.0 / 360,  1.0 / 1260, -1.0 / 1680,
                                                    1.0 / 1188,   -691.0 / 360360, 1.0 / 156, -3617.0 / 122400};
// psi(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k), k = 1..8.
inline constexpr double digamma_coefficients[8] = {1.0 / 12,  -1.0 / 120,      1.0 / 252, -1.0 / 240,
                                                   1.0 / 132, -691.0 / 32760, 1.0 / 12,  -3617.0 / 8160};
inline constexpr double stirling_threshold = 10.0;

/// delta(x) for x >= 10 from its asymptotic series.
inline double stirling_series(double x) noexcept {
  const double z = 1.0 / (x * x);
  double s = 0;
  for (int k = 7; k >= 0; --k) s = s * z + stirling_coefficients[k];
  return s / x;
}
/// S(x) = log x - 1/(2x) - psi(x) for x >= 10 from its asymptotic series.
inline double digamma_series(double x) noexcept {
  const double z = 1.0 / (x * x);
  double s = 0;
  for (int k = 7; k >= 0; --k) s = s * z + digamma_coefficients[k];
  return s * z;
}
/// delta(x + d) - delta(x) for x >= 10 and x + d >= 10, term by term with
/// (1 + d/x)^(-m) - 1 = expm1(-m log1p(d/x)), so it keeps its relative accuracy for tiny d.
inline double stirling_error_difference(double x, double d) noexcept {
  if (d == 0) return 0;
  const double l = std::log1p(d / x), z = 1.0 / (x * x);
  double power = 1.0 / x, sum = 0;
  for (int k = 0; k < 8; ++k) {
    sum += stirling_coefficients[k] * power * std::expm1(-double(2 * k + 1) * l);
    power *= z;
  }
  return sum;
}
/// S(x + d) - S(x) for x, x + d >= 10 (see digamma_series), cancellation-free as above.
inline double digamma_series_difference(double x, double d) noexcept {
  const double l = std::log1p(d / x), z = 1.0 / (x * x);
  double power = z, sum = 0;
  for (int k = 0; k < 8; ++k) {
    sum += digamma_coefficients[k] * power * std::expm1(-double(2 * k + 2) * l);
    power *= z;
  }
  return sum;
}

inline double stirling_error(double x) noexcept {
  if (std::isnan(x) || !(x > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(x)) return 0;
  if (x >= stirling_threshold) return stirling_series(x);
  // Below 10 the terms cancel by up to ~3 digits: evaluate them in 64-bit long double.
  const long double xl = x;
  const long double lg = boost::math::lgamma(xl, boost_policy());
  return double(lg - (xl - 0.5L) * std::log(xl) + xl - 0.918938533204672741780329736405617640L);
}

inline double lgamma_difference(double x, double d) noexcept {
  if (std::isnan(x) || std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
  if (d == 0) return 0;
  if (d < 0) return -lgamma_difference(x + d, -d);
  if (!(x > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(x)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(d)) return d;
  // lgamma(x + d) - lgamma(x) = [lgamma(x + n + d) - lgamma(x + n)] - sum_j log((x + j + d)/(x + j))
  double shift = 0;
  while (x < stirling_threshold) {
    shift += log1p_ratio(d, x);
    x += 1;
  }
  const double t = d / x;
  // (x - 1/2) log1p(t), also when t underflows (d << x): then it is d - t/2 to double precision
  const double head = t < 1e-20 ? d - 0.5 * t : (x - 0.5) * std::log1p(t);
  const double stirling = head + d * (std::log(x + d) - 1.0) + stirling_error_difference(x, d);
  return stirling - shift;
}

inline double lgamma_difference_scaled(double x, double d) noexcept {
  if (x >= stirling_threshold && x + d >= stirling_threshold && std::isfinite(d)) {
    const double t = d / x;
    return x * log1pmx(t) + (d - 0.5) * std::log1p(t) + stirling_error_difference(x, d);
  }
  return lgamma_difference(x, d) - d * std::log(x);
}

inline double digamma_difference(double x, double d) noexcept {
  if (std::isnan(x) || std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
  if (d == 0) return 0;
  if (d < 0) return -digamma_difference(x + d, -d);
  if (!(x > 0) || std::isinf(x)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(d)) return d;
  // psi(x + d) - psi(x) = [psi(x + n + d) - psi(x + n)] + sum_j (1/(x + j) - 1/(x + j + d)), all terms >= 0
  double shift = 0;
  while (x < stirling_threshold) {
    shift += d <= x ? (d / x) / (x + d) : 1.0 / x - 1.0 / (x + d);
    x += 1;
  }
  const double y = x + d;
  return shift + std::log1p(d / x) + (d / x) / (2.0 * y) - digamma_series_difference(x, d);
}

inline double lbeta(double a, double b) noexcept {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  if (a > b) std::swap(a, b);
  if (a < 0) return std::numeric_limits<double>::quiet_NaN();
  if (a == 0) return std::numeric_limits<double>::infinity();
  if (std::isinf(b)) return -std::numeric_limits<double>::infinity();
  if (a >= stirling_threshold) {
    // Both large: Stirling for each lgamma, the logs of the ratios a/s and b/s = 1 - a/s kept exact.
    const double s = a + b, r = a / s;
    return 0.918938533204672741780329736405617640 + (a - 0.5) * std::log(r) + (b - 0.5) * std::log1p(-r) -
           0.5 * std::log(s) + stirling_series(a) - stirling_error_difference(b, a);
  }
  return boost_lgamma(a) - lgamma_difference(b, a);
}

inline double lchoose(double n, double k) noexcept {
  if (std::isnan(n) || std::isnan(k)) return std::numeric_limits<double>::quiet_NaN();
  if (!(k >= 0) || !(k <= n)) return std::numeric_limits<double>::quiet_NaN();
  if (k == 0 || k == n) return 0;
  return -std::log1p(n) - lbeta(n - k + 1, k + 1);
}

inline double digamma_large(double x) noexcept { return std::log(x) - 0.5 / x - digamma_series(x); }

inline double lgamma_remainder(double x, double d) noexcept {
  if (d == 0) return 0;
  if (x >= stirling_threshold && x + d >= stirling_threshold && std::isfinite(d)) {
    // x (log1pmx(t) + t log1p(t)) - log1pmx(t)/2 + delta(x + d) - delta(x) + d S(x), t = d/x: the
    // d log x and d/(2x) parts of lgamma_difference and d psi(x) cancelled algebraically.
    const double t = d / x, l = std::log1p(t), m = log1pmx(t);
    return x * m + d * l - 0.5 * m + stirling_error_difference(x, d) + d * digamma_series(x);
  }
  // below 10: R(x, d) = R(x + n, d) - sum_j log1pmx(d/(x + j)), every term >= 0
  double shift = 0;
  while (x < stirling_threshold || x + d < stirling_threshold) {
    shift -= log1pmx(d / x);
    x += 1;
  }
  return lgamma_remainder(x, d) + shift;
}

/// a*b - c*d with one rounding (Kahan's fma trick), for a difference of nearly equal products.
inline double difference_of_products(double a, double b, double c, double d) noexcept {
  const double cd = c * d, err = std::fma(-c, d, cd);
  return std::fma(a, b, -cd) + err;
}

/// Loader's deviance term bd0(x, M) = x log(x/M) + M - x >= 0 for x > 0, given log M and diff = M - x
/// (computed by the caller without cancellation).
inline double bd0(double x, double log_m, double diff) noexcept {
  if (std::abs(diff) < 0.5 * x) return -x * log1pmx(diff / x);
  return x * (std::log(x) - log_m) + diff;
}

/// log of the binomial probability of k successes and m failures (real k, m >= 1 for full accuracy)
/// in Loader's (2000) saddle-point form, n = k + m: delta(n) - delta(k) - delta(m) - bd0(k, np) -
/// bd0(m, nq) + log(n / (2 pi k m))/2, with q = 1 - p and log q = log1p(-p).
inline double log_binomial_saddle(double k, double m, double p) noexcept {
  const double n = k + m;
  // n p - k with one rounding when n = k + m is exact, else m p - k q as an fma difference of products
  const double diff = n - k == m ? std::fma(n, p, -k) : difference_of_products(m, p, k, 1.0 - p);
  const double log_n = std::log(n);
  const double stirling = stirling_error(n) - stirling_error(k) - stirling_error(m) +
                          0.5 * (log_n - std::log(k) - std::log(m)) - 0.918938533204672741780329736405617640;
  return stirling - (bd0(k, log_n + std::log(p), diff) + bd0(m, log_n + std::log1p(-p), -diff));
}

/// log of the multinomial probability of real counts m_k >= 1 (n = sum m_k) for probabilities p_k,
/// Loader's form: delta(n) - sum delta(m_k) + (log n - sum log m_k - (K-1) log 2 pi)/2 - sum bd0(m_k, n p_k)
/// + sum (n p_k - m_k) (the last sum is 0 when p sums to 1). The probabilities are p_k = w_k / w0, and
/// n p_k - m_k is formed as (n w_k - m_k w0) / w0 by an fma difference of products, so a probability
/// close to 1 (given as a ratio of large weights) loses nothing.
template <class VM, class VP> double log_multinomial_saddle(const VM& m, const VP& w, double w0 = 1.0) noexcept {
  double n = 0;
  for (Index k = 0; k < m.size(); ++k) n += double(m(k));
  const double log_n = std::log(n), log_w0 = std::log(w0);
  double result = stirling_error(n) + 0.5 * log_n - 0.918938533204672741780329736405617640 * double(m.size() - 1);
  double deviance = 0;
  for (Index k = 0; k < m.size(); ++k) {
    const double mk = double(m(k)), wk = double(w(k));
    const double diff = difference_of_products(n, wk, mk, w0) / w0;
    const double log_pk = std::log(wk) - log_w0;
    result -= stirling_error(mk) + 0.5 * std::log(mk);
    deviance += diff - bd0(mk, log_n + log_pk, diff);  // kept apart: often tiny next to the Stirling terms
  }
  return result + deviance;
}

/// Binomial log-pmf for 0 <= k <= n, 0 <= p <= 1 (Loader's form inside, exact endpoints).
inline double log_binomial(double k, double n, double p) noexcept {
  if (k == 0) return n == 0 ? 0.0 : (p == 1 ? -std::numeric_limits<double>::infinity() : n * std::log1p(-p));
  if (k == n) return p == 0 ? -std::numeric_limits<double>::infinity() : n * std::log(p);
  if (p == 0 || p == 1) return -std::numeric_limits<double>::infinity();
  if (k >= 1 && n - k >= 1) return log_binomial_saddle(k, n - k, p);
  return lchoose(n, k) + k * std::log(p) + (n - k) * std::log1p(-p);
}

/// Gamma(a, rate b) log-density at x > 0: Loader-style for a >= 10 (no cancellation of a log(bx) and bx
/// near the mode), log b + (a-1) log(bx) - bx - lgamma(a) below.
inline double log_gamma_density(double a, double b, double x) noexcept {
  const double y = b * x;
  const bool y_ok = std::isfinite(y) && y >= std::numeric_limits<double>::min();
  const double log_y = y_ok ? std::log(y) : std::log(b) + std::log(x);
  if (a >= stirling_threshold) {
    const double t = y_ok ? (y - a) / a : std::expm1(log_y - std::log(a));
    // near the mode a log1pmx(t) - log1p(t); far from it (a - 1) log(y/a) - (y - a), which has no cancellation
    const double core = std::abs(t) < 0.5 ? a * log1pmx(t) - std::log1p(t)
                                          : (a - 1) * (log_y - std::log(a)) - (y_ok ? y - a : a * t);
    return std::log(b) - 0.5 * std::log(a) - 0.918938533204672741780329736405617640 - stirling_series(a) + core;
  }
  const double yy = y_ok ? y : std::exp(log_y);
  // small shapes: lgamma(a) = lgamma(1 + a) - log a, and (a - 1) log y + log a = a log y - log(y/a)
  if (a < 1) {
    const double ratio = yy / a, log_ratio = std::isfinite(ratio) && ratio > 0 ? std::log(ratio) : log_y - std::log(a);
    return std::log(b) + a * log_y - log_ratio - yy - lgamma1p(a);
  }
  return std::log(b) + (a - 1) * log_y - yy - boost_lgamma(a);
}

/// Dirichlet entropy \f$\log B(\alpha) + \sum_k(\alpha_k-1)[\psi(\alpha_0)-\psi(\alpha_k)]\f$ (PRML B.22).
/// When every alpha_k >= 10 the Stirling expansions of all terms are combined first:
/// (K-1)/2 log 2pi - (K-1)/2 log a0 + sum log(a_k/a0)/2 + (K-1)/2 - sum 1/(2a_k) + K/(2a0) + sum delta(a_k)
/// - delta(a0) + sum (a_k-1) S(a_k) - (a0-K) S(a0); otherwise sum_k h(a_k) - h(a0) - (K-1) psi(a0) with
/// h = gamma_entropy_core.
inline double gamma_entropy_core(double a) noexcept;

template <class V> double dirichlet_entropy(const V& alpha) noexcept {
  const Index k = alpha.size();
  double a0 = 0, smallest = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < k; ++i) {
    a0 += double(alpha(i));
    smallest = std::min(smallest, double(alpha(i)));
  }
  const double kk = double(k);
  std::vector<double> suffix(static_cast<std::size_t>(k) + 1, 0.0);
  for (Index i = k - 1; i >= 0; --i) suffix[static_cast<std::size_t>(i)] = suffix[static_cast<std::size_t>(i) + 1] + double(alpha(i));
  double prefix = 0;
  if (smallest >= stirling_threshold) {
    double h = 0.5 * (kk - 1) * (0.918938533204672741780329736405617640 * 2 - std::log(a0) + 1) + kk / (2 * a0) -
               stirling_series(a0) - (a0 - kk) * digamma_series(a0);
    for (Index i = 0; i < k; ++i) {
      const double ai = double(alpha(i)), rest = prefix + suffix[static_cast<std::size_t>(i) + 1];
      prefix += ai;
      const double log_share = ai <= rest ? std::log(ai / a0) : std::log1p(-rest / a0);
      h += 0.5 * log_share - 0.5 / ai + stirling_series(ai) + (ai - 1) * digamma_series(ai);
    }
    return h;
  }
  // sum_k h(a_k) - h(a0) - (K-1) psi(a0), h = gamma_entropy_core: the a-sized parts cancel algebraically
  double h = -gamma_entropy_core(a0) - (kk - 1) * boost_digamma(a0);
  for (Index i = 0; i < k; ++i) h += gamma_entropy_core(double(alpha(i)));
  return h;
}

/// The small remainder of lgamma_remainder(x, d) once its main part x[(1+t) log1p(t) - t] is taken out
/// (x, x + d >= 10, t = d/x): -log1pmx(t)/2 + delta(x+d) - delta(x) + d S(x).
inline double lgamma_remainder_tail(double x, double d) noexcept {
  if (d == 0) return 0;
  if (x >= stirling_threshold && x + d >= stirling_threshold)
    return -0.5 * log1pmx(d / x) + stirling_error_difference(x, d) + d * digamma_series(x);
  // small arguments: R minus its main part (x + d) log((x + d)/x) - d, both of moderate size here
  return lgamma_remainder(x, d) - ((x + d) * log1p_ratio(d, x) - d);
}

/// KL(Dir(p) || Dir(q)) = sum_k R(p_k, q_k - p_k) - R(p0, q0 - p0), R = lgamma_remainder. Each R is split
/// into its main part x[(1+t) log1p(t) - t] = q log(q/p) - (q - p) and a tail (see lgamma_remainder_tail);
/// the main parts sum exactly to q0 * sum_k bd0(q_k/q0, p_k/p0), with p_k/p0 - q_k/q0 from an fma
/// difference of products, so nearly equal large concentrations do not cancel.
template <class VP, class VQ> double dirichlet_kl(const VP& p, const VQ& q) noexcept {
  const Index k = p.size();
  double p0 = 0, q0 = 0, smallest = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < k; ++i) {
    p0 += double(p(i));
    q0 += double(q(i));
    smallest = std::min({smallest, double(p(i)), double(q(i))});
  }
  // the products below must neither overflow nor leave the normal range
  if (smallest / std::max(p0, q0) > 1e-306 && std::isfinite(p0) && std::isfinite(q0)) {
    // the difference of products is formed on copies scaled by a power of 2 (exact), so it cannot overflow
    const double scale = std::ldexp(1.0, -std::ilogb(std::max(p0, q0)));
    const double p0s = p0 * scale, q0s = q0 * scale;
    double main = 0, tail = -lgamma_remainder_tail(p0, q0 - p0);
    for (Index i = 0; i < k; ++i) {
      const double pi = double(p(i)), qi = double(q(i));
      const double mq = qi / q0;
      const double diff = difference_of_products(pi * scale, q0s, qi * scale, p0s) / (p0s * q0s);  // p_i/p0 - q_i/q0
      const double mp = pi / p0;
      main += std::abs(diff) < 0.5 * mq ? -mq * log1pmx(diff / mq) : mq * std::log(mq / mp) + diff;  // bd0(mq, mp)
      tail += lgamma_remainder_tail(pi, qi - pi);
    }
    return q0 * main + tail;
  }
  double kl = -lgamma_remainder(p0, q0 - p0);
  for (Index i = 0; i < k; ++i) kl += lgamma_remainder(double(p(i)), double(q(i)) - double(p(i)));
  return kl;
}

/// Largest number of terms an entropy or divergence sums exactly over a count window.
inline constexpr double max_summed_terms = 2e7;

/// Entropy of a count distribution by exact summation of -p log p over the window [lo, hi].
template <class LogProb> double entropy_by_summation(long lo, long hi, LogProb log_prob) {
  double h = 0;
  for (long k = lo; k <= hi; ++k) {
    const double lp = log_prob(k);
    if (std::isfinite(lp)) h -= std::exp(lp) * lp;
  }
  return h;
}

inline double gamma_entropy_core(double a) noexcept {
  if (!(a > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(a)) return a;
  if (a >= stirling_threshold)
    return 0.5 * std::log(a) + 0.918938533204672741780329736405617640 + stirling_series(a) + (a - 1) / (2 * a) +
           (a - 1) * digamma_series(a);
  return boost_lgamma(a) + (1 - a) * boost_digamma(a) + a;
}
}  // namespace detail

/// \f$\log \Gamma(x)\f$ (Boost.Math `lgamma`; NaN at the poles 0, -1, ... instead of an exception; thread-safe, unlike std::lgamma).
/// float is evaluated in double and rounded.
template <Real T> T lgamma(T x) noexcept { return T(detail::boost_lgamma(double(x))); }

/// Stirling error \f$\delta(x) = \log\Gamma(x) - (x - \tfrac12)\log x + x - \tfrac12\log 2\pi\f$ for x > 0
/// (NaN otherwise). Boost.Math has no such function, so pml's own: the asymptotic series
/// \f$\sum_{k=1}^{8} B_{2k}/(2k(2k-1)x^{2k-1})\f$ for x >= 10, and below that the definition evaluated in
/// 64-bit long double (Boost's long-double lgamma), where it loses at most three of its 19 digits.
template <Real T> T stirling_error(T x) noexcept { return T(detail::stirling_error(double(x))); }

/// \f$\log\Gamma(x + d) - \log\Gamma(x)\f$ without cancellation, for x > 0 and x + d > 0 (NaN otherwise).
/// Boost.Math's `tgamma_delta_ratio` gives the ratio, not its logarithm, and overflows for the
/// arguments that matter here, so this is pml's own: recurrence up to x >= 10, then
/// \f$(x-\tfrac12)\log(1+d/x) + d(\log(x+d) - 1) + \delta(x+d) - \delta(x)\f$ with the Stirling-error
/// difference summed term by term (see stirling_error()). Worst relative error 4e-16 against mpmath (tests/fixtures/make_mpmath_reference.py) for
/// x, d in [1e-300, 1e300]. float is evaluated in double and rounded.
template <Real T> T lgamma_difference(T x, T d) noexcept { return T(detail::lgamma_difference(double(x), double(d))); }

/// \f$\log\Gamma(a) - \log\Gamma(b)\f$ = lgamma_difference(b, a - b) for a, b > 0.
template <Real T> T lgamma_ratio(T a, T b) noexcept {
  return T(detail::lgamma_difference(double(b), double(a) - double(b)));
}

/// \f$\log\Gamma(x + d) - \log\Gamma(x) - d\log x\f$ for x > 0, x + d > 0: the part of
/// lgamma_difference() that stays small when d << x (e.g. \f$\log\frac{\Gamma(\nu/2+1/2)}{\Gamma(\nu/2)
/// \sqrt{\nu/2}}\f$ in the Student-t normaliser). pml's own: for x, x + d >= 10 it is
/// \f$x\,\mathrm{log1pmx}(d/x) + (d-\tfrac12)\log(1+d/x) + \delta(x+d)-\delta(x)\f$ (Boost's log1pmx).
template <Real T> T lgamma_difference_scaled(T x, T d) noexcept {
  return T(detail::lgamma_difference_scaled(double(x), double(d)));
}

/// \f$\psi(x + d) - \psi(x)\f$ without cancellation, for x > 0 and x + d > 0 (NaN otherwise). pml's own
/// (Boost.Math has no digamma difference): recurrence up to x >= 10, whose terms
/// \f$1/(x+j) - 1/(x+j+d)\f$ all have one sign, then the difference of the asymptotic series.
template <Real T> T digamma_difference(T x, T d) noexcept {
  return T(detail::digamma_difference(double(x), double(d)));
}

/// \f$\log B(a, b) = \log\Gamma(a) + \log\Gamma(b) - \log\Gamma(a + b)\f$ for a, b > 0 (NaN for a
/// negative argument, +inf at 0). Boost.Math has `beta` but no log-beta, so pml's own: with a <= b,
/// \f$\log\Gamma(a) - [\log\Gamma(a+b) - \log\Gamma(b)]\f$ through lgamma_difference() when a < 10, and
/// for a >= 10 Stirling's form \f$\tfrac12\log 2\pi + (a-\tfrac12)\log\frac{a}{a+b} +
/// (b-\tfrac12)\log(1-\frac{a}{a+b}) - \tfrac12\log(a+b) + \delta(a) + \delta(b) - \delta(a+b)\f$.
/// Worst relative error 1e-15 against mpmath for a, b in [1e-300, 1e300].
template <Real T> T lbeta(T a, T b) noexcept { return T(detail::lbeta(double(a), double(b))); }

/// \f$\log\binom{n}{k} = -\log(n+1) - \log B(n-k+1, k+1)\f$ for real n >= k >= 0 (NaN otherwise; 0 at
/// k = 0 and k = n). Worst relative error 1e-15 against mpmath for n up to 2^53.
template <Real T> T lchoose(T n, T k) noexcept { return T(detail::lchoose(double(n), double(k))); }

/// Entropy of Gamma(a, rate 1), \f$\log\Gamma(a) + (1-a)\psi(a) + a\f$, for a > 0. pml's own form for
/// a >= 10, where the three terms cancel: \f$\tfrac12\log a + \tfrac12\log 2\pi + \delta(a) +
/// \frac{a-1}{2a} + (a-1)S(a)\f$ with \f$S(a) = \log a - \frac1{2a} - \psi(a)\f$ from its asymptotic series.
template <Real T> T gamma_entropy_core(T a) noexcept { return T(detail::gamma_entropy_core(double(a))); }

/// First-order Taylor remainder \f$\log\Gamma(x + d) - \log\Gamma(x) - d\,\psi(x) \ge 0\f$ for x > 0,
/// x + d > 0: the lgamma/digamma part of the Gamma, Beta, Dirichlet and Wishart KL divergences. pml's own:
/// for x, x + d >= 10 the large terms cancel algebraically (see lgamma_difference_scaled()), below that
/// lgamma_difference() - d digamma(x).
template <Real T> T lgamma_remainder(T x, T d) noexcept { return T(detail::lgamma_remainder(double(x), double(d))); }

/// Digamma \f$\psi(x) = \frac{d}{dx}\log\Gamma(x)\f$ (Boost.Math `digamma`); NaN at the poles 0, -1, -2, ...
template <Real T> T digamma(T x) noexcept { return T(detail::boost_digamma(double(x))); }

/// Trigamma \f$\psi'(x)\f$ (Boost.Math `trigamma`); NaN at the poles 0, -1, -2, ...
template <Real T> T trigamma(T x) noexcept { return T(detail::boost_trigamma(double(x))); }

/// \f$\log(1 + t) - t\f$ (Boost.Math `log1pmx`), accurate for small t; -inf at t = -1.
template <Real T> T log1pmx(T t) noexcept { return T(detail::log1pmx(double(t))); }

/// Inverse of the digamma function on (0, inf): Newton's method from Minka's (2000) start.
template <Real T> T inverse_digamma(T y) noexcept {
  T x = y >= T(-2.22) ? std::exp(y) + T(0.5) : -T(1) / (y - digamma(T(1)));
  for (int i = 0; i < 12; ++i) {
    const T step = (digamma(x) - y) / trigamma(x);
    x -= step;
    if (std::abs(step) <= std::numeric_limits<T>::epsilon() * x) break;
  }
  return x;
}

/// Multivariate log-gamma \f$\log\Gamma_D(a) = \frac{D(D-1)}{4}\log\pi + \sum_{j=1}^{D}
/// \log\Gamma(a + (1 - j)/2)\f$ (PRML B.79 normaliser), for a > (D - 1)/2.
template <Real T> T lmgamma(Index dimension, T a) noexcept {
  T result = T(dimension * (dimension - 1)) / T(4) * constants<T>::log_pi;
  for (Index j = 1; j <= dimension; ++j) result += lgamma(a + T(1 - j) / T(2));
  return result;
}

/// \f$\log\Gamma_D(a + d) - \log\Gamma_D(a) = \sum_{j=1}^{D}[\log\Gamma(a + d + (1-j)/2) -
/// \log\Gamma(a + (1-j)/2)]\f$, each term by lgamma_difference() (no cancellation for large a).
template <Real T> T lmgamma_difference(Index dimension, T a, T d) noexcept {
  double result = 0;
  for (Index j = 1; j <= dimension; ++j)
    result += detail::lgamma_difference(double(a) + double(1 - j) / 2.0, double(d));
  return T(result);
}

/// Multivariate log-beta \f$\log B(\boldsymbol\alpha) = \sum_k\log\Gamma(\alpha_k) - \log\Gamma(\alpha_0)\f$,
/// \f$\alpha_0 = \sum_k\alpha_k\f$ (the log of the Dirichlet normaliser's inverse, PRML 2.38), as the
/// telescoping sum \f$\sum_{k\ge2}\log B(\alpha_1 + \dots + \alpha_{k-1}, \alpha_k)\f$ of accurate lbeta() terms.
template <class Derived> typename Derived::Scalar lmbeta(const Eigen::MatrixBase<Derived>& alpha) {
  using T = typename Derived::Scalar;
  if (alpha.size() == 0) return T(0);
  double partial = double(alpha(0)), result = 0;
  for (Index k = 1; k < alpha.size(); ++k) {
    result += detail::lbeta(partial, double(alpha(k)));
    partial += double(alpha(k));
  }
  return T(result);
}

/// \f$\log B(\boldsymbol\alpha + \mathbf m) - \log B(\boldsymbol\alpha) = \sum_k[\log\Gamma(\alpha_k + m_k) -
/// \log\Gamma(\alpha_k)] - [\log\Gamma(\alpha_0 + M) - \log\Gamma(\alpha_0)]\f$ (the Dirichlet–multinomial
/// and beta–binomial evidence, PRML 2.41), with α_k > 0 and m_k >= 0. When every α_k >= 10 it is summed as
/// \f$\sum_k m_k\log\frac{\alpha_k}{\alpha_0} + \sum_k s(\alpha_k, m_k) - s(\alpha_0, M)\f$ with
/// s = lgamma_difference_scaled(), so large concentrations do not cancel; otherwise through lgamma_difference().
/// @throw std::invalid_argument if the lengths differ.
template <class DerivedA, class DerivedM>
typename DerivedA::Scalar lmbeta_ratio(const Eigen::MatrixBase<DerivedA>& alpha, const Eigen::MatrixBase<DerivedM>& m) {
  using T = typename DerivedA::Scalar;
  check_size("lmbeta_ratio", "m", m.size(), alpha.size(), "length");
  const Index k = alpha.size();
  double a0 = 0, total = 0, smallest = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < k; ++i) {
    a0 += double(alpha(i));
    total += double(m(i));
    smallest = std::min(smallest, double(alpha(i)));
  }
  double result = 0;
  if (smallest >= detail::stirling_threshold) {
    // alpha_0 - alpha_i as a sum of the others (prefix + suffix), so log(alpha_i / alpha_0) near 1 stays exact
    std::vector<double> suffix(static_cast<std::size_t>(k) + 1, 0.0);
    for (Index i = k - 1; i >= 0; --i) suffix[static_cast<std::size_t>(i)] = suffix[static_cast<std::size_t>(i) + 1] + double(alpha(i));
    double prefix = 0;
    for (Index i = 0; i < k; ++i) {
      const double ai = double(alpha(i)), mi = double(m(i));
      const double rest = prefix + suffix[static_cast<std::size_t>(i) + 1];
      prefix += ai;
      if (mi == 0) continue;
      const double log_share = ai <= rest ? std::log(ai / a0) : std::log1p(-rest / a0);
      result += mi * log_share + detail::lgamma_difference_scaled(ai, mi);
    }
    result -= detail::lgamma_difference_scaled(a0, total);
  } else {
    for (Index i = 0; i < k; ++i) result += detail::lgamma_difference(double(alpha(i)), double(m(i)));
    result -= detail::lgamma_difference(a0, total);
  }
  return T(result);
}

/// Multivariate digamma \f$\psi_D(a) = \sum_{j=1}^{D}\psi(a + (1 - j)/2)\f$.
template <Real T> T mdigamma(Index dimension, T a) noexcept {
  T result = 0;
  for (Index j = 1; j <= dimension; ++j) result += digamma(a + T(1 - j) / T(2));
  return result;
}

/// Multivariate trigamma \f$\psi'_D(a) = \sum_{j=1}^{D}\psi'(a + (1 - j)/2)\f$.
template <Real T> T mtrigamma(Index dimension, T a) noexcept {
  T result = 0;
  for (Index j = 1; j <= dimension; ++j) result += trigamma(a + T(1 - j) / T(2));
  return result;
}

/// Stable \f$\log\sum_i e^{x_i}\f$ of all coefficients; -inf for an empty input or all -inf.
template <class Derived> typename Derived::Scalar log_sum_exp(const Eigen::DenseBase<Derived>& x) {
  using T = typename Derived::Scalar;
  if (x.size() == 0) return -std::numeric_limits<T>::infinity();
  const T m = x.maxCoeff();
  if (!std::isfinite(m)) return m;  // all -inf -> -inf; any +inf -> +inf; NaN propagates
  return m + std::log((x.derived().array() - m).exp().sum());
}

/// Stable log-sum-exp of two scalars.
template <Real T> T log_sum_exp(T a, T b) noexcept {
  if (a < b) std::swap(a, b);
  if (a == -std::numeric_limits<T>::infinity()) return a;
  return a + std::log1p(std::exp(b - a));
}

/// Row-wise log-sum-exp: returns a column vector with one entry per row (the E-step normaliser).
/// Sweeps the columns, so every pass over column-major data is contiguous and vectorised.
template <class Derived>
Vector<typename Derived::Scalar> log_sum_exp_rows(const Eigen::DenseBase<Derived>& x) {
  using T = typename Derived::Scalar;
  const Index n = x.rows(), k = x.cols();
  if (k == 0) return Vector<T>::Constant(n, -std::numeric_limits<T>::infinity());
  Vector<T> m = x.col(0);
  for (Index c = 1; c < k; ++c) m = m.cwiseMax(x.col(c));
  // rows of all -inf (or with +inf) use shift 0 so that -inf and +inf come out unchanged
  m = m.unaryExpr([](T v) { return std::isfinite(v) ? v : T(0); });
  Vector<T> sum = Vector<T>::Zero(n);
  for (Index c = 0; c < k; ++c) sum.array() += (x.col(c) - m).array().exp();
  Vector<T> out = (sum.array().log() + m.array()).matrix();
  // Eigen's vectorised exp clamps its argument at about log of the smallest normal number, so exp(-inf)
  // comes back as ~1e-308 (float ~1e-38), not 0: a row of all -inf must stay -inf whatever the row count.
  for (Index i = 0; i < n; ++i)
    if (m(i) == T(0) && !(x.row(i).maxCoeff() > -std::numeric_limits<T>::infinity()) && !std::isnan(out(i)))
      out(i) = -std::numeric_limits<T>::infinity();
  return out;
}

/// Column-wise log-sum-exp: returns a row vector with one entry per column.
template <class Derived>
RowVector<typename Derived::Scalar> log_sum_exp_cols(const Eigen::DenseBase<Derived>& x) {
  return log_sum_exp_rows(x.transpose()).transpose();
}

/// Softmax of each row, stable for any logits (exp(x - log_sum_exp_rows(x))).
/// Entries whose logit is -inf get exactly 0 (Eigen's vectorised exp alone would give ~1e-308).
template <class Derived> Matrix<typename Derived::Scalar> softmax_rows(const Eigen::MatrixBase<Derived>& logits) {
  using T = typename Derived::Scalar;
  const auto lse = log_sum_exp_rows(logits);
  Matrix<T> out = (logits.array().colwise() - lse.array()).exp().matrix();
  out = (logits.array() == -std::numeric_limits<T>::infinity()).select(T(0), out);
  return out;
}

/// Elementwise stable softplus of an array expression (vectorised kernel, see core/simd.hpp).
template <class Derived> auto softplus(const Eigen::ArrayBase<Derived>& x) { return simd::softplus(x); }

/// Elementwise stable sigmoid of an array expression (vectorised kernel, see core/simd.hpp).
template <class Derived> auto sigmoid(const Eigen::ArrayBase<Derived>& x) { return simd::sigmoid(x); }

namespace detail {
/// delta(x + d) - delta(x) for x > 0, d >= 0 (the series difference when both are >= 10, so a tiny d keeps
/// its relative accuracy).
inline double stirling_error_step(double x, double d) noexcept {
  if (d == 0) return 0;
  if (x >= stirling_threshold) return stirling_error_difference(x, d);
  return stirling_error(x + d) - stirling_error(x);
}

/// log of the Dirichlet-multinomial probability of integer counts m (sum n) under concentrations alpha,
/// log n! - sum log m_k! + log B(alpha + m) - log B(alpha). Two forms, neither of which subtracts large terms:
/// (A) every alpha_k < 10: lgamma(alpha_0) - lgamma_difference(n + 1, alpha_0 - 1) + sum over m_k > 0 of
/// [lgamma_difference(m_k + 1, alpha_k - 1) - lgamma(alpha_k)], with lgamma(x) = lgamma(1 + x) - log x below 1.
/// (B) otherwise a saddle-point identity (our derivation, in the spirit of Loader 2000): with t = n + alpha_0
/// and theta_k = (m_k + alpha_k)/t (the posterior mean), every x log x term of the Stirling expansion sums
/// exactly to -sum_k [bd0(m_k, n theta_k) + bd0(alpha_k, alpha_0 theta_k)], where n theta_k - m_k =
/// -(alpha_0 theta_k - alpha_k) = (n alpha_k - m_k alpha_0)/t is formed by an fma difference of products, so
/// log p = [delta(n) - sum_{m_k>0} delta(m_k) + (log n - sum_{m_k>0} log m_k - (K' - 1) log 2 pi)/2]
///       - [sum_k log1p(m_k/alpha_k) - log1p(n/alpha_0)]/2
///       + sum_k [delta(m_k + alpha_k) - delta(alpha_k)] - [delta(t) - delta(alpha_0)] - sum_k bd0-terms,
/// K' the number of non-zero counts, delta the Stirling error: every part is O(log) or a non-negative deviance,
/// so counts up to 2^53 and concentrations up to 1e300 keep full relative accuracy.
template <class VM, class VA> double log_dirichlet_multinomial(const VM& m, const VA& alpha) {
  const Index k = alpha.size();
  double n = 0, a0 = 0, amax = 0;
  for (Index i = 0; i < k; ++i) {
    n += double(m(i));
    a0 += double(alpha(i));
    amax = std::max(amax, double(alpha(i)));
  }
  if (n == 0) return 0;
  if (amax < stirling_threshold) {
    // lgamma(x) = lgamma(1 + x) - log x below 1, the logs summed apart: with alpha_0 < 1 the ones of the
    // largest concentration j with a count and of alpha_0 (up to 690 each) combine into
    // -log1p((alpha_0 - alpha_j)/alpha_j), the difference being the sum of the other concentrations
    double r = -lgamma_difference(n + 1, a0 - 1) + (a0 < 1 ? lgamma1p(a0) : boost_lgamma(a0)), logs = 0;
    Index largest = -1;
    for (Index i = 0; i < k; ++i) {
      if (m(i) == 0) continue;
      const double ai = double(alpha(i));
      r += lgamma_difference(double(m(i)) + 1, ai - 1) - (ai < 1 ? lgamma1p(ai) : boost_lgamma(ai));
      if (a0 < 1 && (largest < 0 || ai > double(alpha(largest)))) largest = i;
    }
    for (Index i = 0; i < k; ++i)
      if (m(i) > 0 && i != largest && double(alpha(i)) < 1) logs += std::log(double(alpha(i)));
    if (a0 < 1) {  // log alpha_j - log alpha_0, never formed as a difference
      double rest = 0;
      for (Index i = 0; i < k; ++i)
        if (i != largest) rest += double(alpha(i));
      logs -= std::log1p(rest / double(alpha(largest)));
    }
    return r + logs;
  }
  // (n alpha_i - m_i alpha_0)/t below is formed with alpha scaled by a power of 2 (exact) so that n alpha_i
  // cannot overflow
  const double scale = a0 > 1 ? std::ldexp(1.0, -std::ilogb(a0)) : 1.0, a0s = a0 * scale;
  const double t = n + a0, ts = n * scale + a0s, log_t = std::log(t), log_n = std::log(n), log_a0 = std::log(a0);
  double stirling = stirling_error(n) + 0.5 * log_n + 0.918938533204672741780329736405617640;
  double half_logs = -std::log1p(n / a0);
  double deltas = -stirling_error_step(a0, n);
  double deviance = 0;
  for (Index i = 0; i < k; ++i) {
    const double mi = double(m(i)), ai = double(alpha(i));
    const double diff = difference_of_products(n, ai * scale, mi, a0s) / ts;  // n theta_i - m_i
    const double log_theta = std::log(mi + ai) - log_t;
    if (mi > 0) {
      stirling -= stirling_error(mi) + 0.5 * std::log(mi) + 0.918938533204672741780329736405617640;
      const double ratio = mi / ai;  // log1p(m/alpha); the ratio overflows for alpha near 1e-300
      half_logs += std::isinf(ratio) ? std::log(mi) - std::log(ai) : std::log1p(ratio);
      deltas += stirling_error_step(ai, mi);
      deviance += bd0(mi, log_n + log_theta, diff);
    } else {
      deviance += diff;  // bd0(0, M) = M
    }
    deviance += bd0(ai, log_a0 + log_theta, -diff);
  }
  return stirling - 0.5 * half_logs + deltas - deviance;
}

}  // namespace detail

}  // namespace pml
