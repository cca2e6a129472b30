#pragma once
/// @file
/// Beta distribution.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Beta(a, b): \f$\mathrm{Beta}(\mu|a,b) = \frac{\Gamma(a+b)}{\Gamma(a)\Gamma(b)}\mu^{a-1}
/// (1-\mu)^{b-1}\f$ (PRML 2.13), the conjugate prior of the Bernoulli and binomial.
template <Real T = double> class Beta {
 public:
  /// @throw std::domain_error unless a > 0 and b > 0.
  Beta(T a, T b) : a_(a), b_(b) {
    check_positive("Beta", "a", a);
    check_positive("Beta", "b", b);
  }
  T a() const noexcept { return a_; }  ///< shape α (the pseudo-count of ones)
  T b() const noexcept { return b_; }  ///< shape β (the pseudo-count of zeros)

  /// Log-density; -inf outside [0, 1]. For a, b >= 2 as \f$\log(a+b-1) + \log\mathrm{Bin}(a-1|a+b-2, x)\f$
  /// in Loader's saddle-point form (no cancellation for large shapes); float evaluated in double.
  T log_prob(T x) const noexcept {
    if (x < T(0) || x > T(1)) return -std::numeric_limits<T>::infinity();
    if (a_ >= T(2) && b_ >= T(2)) {
      if (x == T(0) || x == T(1)) return -std::numeric_limits<T>::infinity();
      const double k = double(a_) - 1.0, m = double(b_) - 1.0;
      return T(std::log1p(k + m) + detail::log_binomial_saddle(k, m, double(x)));
    }
    if (a_ < T(1) && x > T(0)) {
      // log B(a, b) = lgamma(1 + a) - log a + lgamma(b) - lgamma(a + b): the log a and (a - 1) log x meet as log(x/a)
      const double a = double(a_), b = double(b_), xd = double(x);
      const double right = b == 1 ? 0.0 : (b - 1) * std::log1p(-xd);
      const double ratio = xd / a, log_ratio = std::isfinite(ratio) && ratio > 0 ? std::log(ratio) : std::log(xd) - std::log(a);
      return T(a * std::log(xd) - log_ratio + right + detail::lgamma_difference(b, a) -
               detail::lgamma1p(a));
    }
    const T left = a_ == T(1) ? T(0) : (a_ - T(1)) * std::log(x);
    const T right = b_ == T(1) ? T(0) : (b_ - T(1)) * std::log1p(-x);
    return left + right - lbeta(a_, b_);  // no large cancellation: a or b < 2
  }
  /// log p(x_i) for each entry of x (−∞ outside [0, 1])
  Vector<T> log_prob(const VectorCRef<T>& x) const {
    Vector<T> out(x.size());
    for (Index i = 0; i < x.size(); ++i) out(i) = log_prob(x(i));
    return out;
  }
  T sample(Rng& rng) const { return random::beta(rng, a_, b_); }  ///< one draw
  /// n independent draws
  Vector<T> sample(Rng& rng, Index n) const {
    Vector<T> out(n);
    for (Index i = 0; i < n; ++i) out(i) = sample(rng);
    return out;
  }
  /// \f$a/(a+b)\f$ (PRML 2.15).
  T mean() const noexcept { return a_ / (a_ + b_); }
  /// \f$ab/((a+b)^2(a+b+1))\f$ (PRML 2.16).
  T variance() const noexcept {
    const T s = a_ + b_;
    return a_ * b_ / (s * s * (s + T(1)));
  }
  /// \f$(a-1)/(a+b-2)\f$ for a, b > 1; 0 or 1 at a boundary when one parameter is <= 1.
  /// @throw std::domain_error when the mode is not unique (a, b <= 1).
  T mode() const {
    if (a_ > T(1) && b_ > T(1)) return (a_ - T(1)) / (a_ + b_ - T(2));
    if (a_ <= T(1) && b_ > T(1)) return T(0);
    if (a_ > T(1) && b_ <= T(1)) return T(1);
    detail::throw_domain("Beta::mode", "a and b", "not both be <= 1 for a unique mode",
                         detail::describe(a_) + " and " + detail::describe(b_));
  }
  /// \f$\log B(a,b) - (a-1)\psi(a) - (b-1)\psi(b) + (a+b-2)\psi(a+b)\f$, as Dirichlet::entropy() does it
  /// (no cancellation for large shapes).
  T entropy() const noexcept {
    const Eigen::Vector2d alpha{double(a_), double(b_)};
    return T(detail::dirichlet_entropy(alpha));
  }

  /// Maximum likelihood by Newton's method on (a, b) with the digamma/trigamma gradient and
  /// Hessian, started from the method of moments; values must lie strictly inside (0, 1).
  static Beta fit(const VectorCRef<T>& x, const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("Beta::fit", weights, x.size());
    for (Index i = 0; i < x.size(); ++i)
      if (!(x(i) > T(0) && x(i) < T(1)))
        detail::throw_domain("Beta::fit", "x", "lie strictly inside (0, 1)",
                             detail::describe(x(i)) + " at index " + std::to_string(i));
    const T total = w.sum();
    const T m = w.dot(x) / total;
    const T v = (w.array() * (x.array() - m).square()).sum() / total;
    if (!(v > T(0)))
      detail::throw_domain("Beta::fit", "x", "have positive spread", "all weighted values equal");
    const T mean_log_x = (w.array() * x.array().log()).sum() / total;
    const T mean_log_1mx = (w.array() * (-x.array()).log1p()).sum() / total;
    T common = m * (T(1) - m) / v - T(1);
    if (!(common > T(0))) common = T(1);
    T a = m * common, b = (T(1) - m) * common;
    for (int it = 0; it < 200; ++it) {
      const T psi_ab = digamma(a + b), tri_ab = trigamma(a + b);
      const T ga = mean_log_x - digamma(a) + psi_ab;
      const T gb = mean_log_1mx - digamma(b) + psi_ab;
      const T haa = tri_ab - trigamma(a), hbb = tri_ab - trigamma(b), hab = tri_ab;
      const T det = haa * hbb - hab * hab;
      T da = -(hbb * ga - hab * gb) / det;
      T db = -(haa * gb - hab * ga) / det;
      // keep the iterate positive: halve the step until it is
      T step = 1;
      while (a + step * da <= T(0) || b + step * db <= T(0)) step /= T(2);
      a += step * da;
      b += step * db;
      if (std::abs(step * da) <= T(16) * std::numeric_limits<T>::epsilon() * a &&
          std::abs(step * db) <= T(16) * std::numeric_limits<T>::epsilon() * b)
        break;
    }
    return Beta(a, b);
  }

 private:
  T a_, b_;
};

}  // namespace pml
