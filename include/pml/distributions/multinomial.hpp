#pragma once
/// @file
/// Multinomial distribution.

#include <cmath>
#include <limits>
#include <queue>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"
#include "pml/distributions/binomial.hpp"

namespace pml {

/// Multinomial(N, μ): \f$\mathrm{Mult}(m_1..m_K|\mu,N) = \frac{N!}{m_1!\cdots m_K!}\prod_k\mu_k^{m_k}\f$
/// (PRML 2.34). Observations are rows of K counts summing to N.
template <Real T = double> class Multinomial {
 public:
  /// @throw std::domain_error unless trials >= 0 and probs is a probability vector.
  Multinomial(long trials, const VectorCRef<T>& probs) : n_(trials), p_(probs) {
    if (trials < 0)
      detail::throw_domain("Multinomial", "trials", "be non-negative", std::to_string(trials));
    check_nonempty("Multinomial", "probs", probs.size());
    check_simplex("Multinomial", "probs", p_);
  }
  long trials() const noexcept { return n_; }  ///< number of trials n
  Index categories() const noexcept { return p_.size(); }  ///< number of categories K
  const Vector<T>& probs() const noexcept { return p_; }  ///< the category probabilities p

  /// Log-probability of one count vector (a column vector, -inf when counts are negative or do
  /// not sum to N) or of each row of an N x K count matrix (returns a vector).
  /// @throw std::invalid_argument if the counts have the wrong length.
  template <class Derived> auto log_prob(const Eigen::MatrixBase<Derived>& counts) const {
    if constexpr (Derived::ColsAtCompileTime == 1) {
      check_size("Multinomial::log_prob", "counts", counts.size(), p_.size(), "length");
      return point_log_prob(counts);
    } else {
      check_size("Multinomial::log_prob", "counts", counts.cols(), p_.size(), "columns");
      Vector<T> out(counts.rows());
      for (Index i = 0; i < counts.rows(); ++i) out(i) = point_log_prob(counts.row(i).transpose());
      return out;
    }
  }
  IntVector sample(Rng& rng) const { return random::multinomial(rng, n_, p_); }  ///< one draw of K counts summing to n
  /// `n` draws as rows of an n x K matrix.
  IntMatrix sample(Rng& rng, Index n) const {
    IntMatrix out(n, p_.size());
    for (Index i = 0; i < n; ++i) out.row(i) = sample(rng).transpose();
    return out;
  }
  Vector<T> mean() const { return T(n_) * p_; }  ///< E[x] = n p
  /// \f$N(\mathrm{diag}(\mu) - \mu\mu^T)\f$.
  Matrix<T> covariance() const {
    return T(n_) * (Matrix<T>(p_.asDiagonal()) - p_ * p_.transpose());
  }
  Vector<T> variance() const { return (T(n_) * p_.array() * (T(1) - p_.array())).matrix(); }  ///< Var[x_k] = n p_k (1 − p_k)
  /// Most probable count vector. The log-pmf is separable and concave in the counts, so greedy
  /// unit allocation by marginal gain \f$\log\mu_k - \log(m_k + 1)\f$ is exact; it starts from
  /// \f$\max(0, \lfloor N\mu_k\rfloor - 1)\f$, a lower bound of the mode, so it costs O(K log K).
  IntVector mode() const {
    IntVector m(p_.size());
    long assigned = 0;
    for (Index k = 0; k < p_.size(); ++k) {
      m(k) = std::max<long>(0, static_cast<long>(std::floor(T(n_) * p_(k))) - 1);
      assigned += m(k);
    }
    using Entry = std::pair<T, Index>;
    std::priority_queue<Entry> gains;
    for (Index k = 0; k < p_.size(); ++k)
      if (p_(k) > T(0)) gains.emplace(std::log(p_(k)) - std::log(T(m(k) + 1)), k);
    for (; assigned < n_; ++assigned) {
      const Index k = gains.top().second;
      gains.pop();
      ++m(k);
      gains.emplace(std::log(p_(k)) - std::log(T(m(k) + 1)), k);
    }
    return m;
  }
  /// Entropy in nats: \f$-\log N! - N\sum_k\mu_k\log\mu_k + \sum_k\sum_{x=0}^{N}
  /// \mathrm{Bin}(x|N,\mu_k)\log x!\f$ (exact, summed over each binomial's count window, see
  /// Binomial::window()). The terms grow like N log N while the entropy grows like log N, so about
  /// N·1e-16 of absolute accuracy is lost. @throw std::domain_error for N above 1e7.
  T entropy() const {
    if (double(n_) > 1e7)
      detail::throw_domain("Multinomial::entropy", "trials", "be at most 1e7 for the exact sum", std::to_string(n_));
    T h = -lgamma(T(n_) + 1);
    for (Index k = 0; k < p_.size(); ++k) {
      const T pk = p_(k);
      if (pk <= T(0)) continue;
      h -= T(n_) * pk * std::log(pk);
      if (pk >= T(1)) {
        h += lgamma(T(n_) + 1);
        continue;
      }
      const Binomial<T> marginal(n_, pk);
      const auto [lo, hi] = marginal.window("Multinomial::entropy");
      for (long x = std::max(2L, lo); x <= hi; ++x) h += std::exp(marginal.log_prob(x)) * lgamma(T(x) + 1);
    }
    return h;
  }
  /// Maximum-likelihood probabilities for rows of counts (each row sums to `trials`).
  static Multinomial fit(const IntMatrixCRef& counts,
                         const VectorCRef<T>& weights = detail::no_weights<T>()) {
    const Vector<T> w = detail::weights_or_ones<T>("Multinomial::fit", weights, counts.rows());
    check_nonempty("Multinomial::fit", "counts columns", counts.cols());
    const long n = counts.row(0).sum();
    Vector<T> total = Vector<T>::Zero(counts.cols());
    for (Index i = 0; i < counts.rows(); ++i) {
      if (counts.row(i).minCoeff() < 0 || counts.row(i).sum() != n)
        detail::throw_domain("Multinomial::fit", "counts",
                             "have non-negative rows with one common total " + std::to_string(n),
                             "row " + std::to_string(i) + " summing to " + std::to_string(counts.row(i).sum()));
      total += w(i) * counts.row(i).transpose().template cast<T>();
    }
    if (!(total.sum() > T(0)))
      detail::throw_domain("Multinomial::fit", "counts", "contain a positive count", "all zeros");
    return Multinomial(n, total / total.sum());
  }

 private:
  template <class V> T point_log_prob(const V& counts) const {
    if (counts.minCoeff() < 0 || counts.sum() != n_) return -std::numeric_limits<T>::infinity();
    if (n_ == 0) return T(0);
    // Loader's saddle-point form over the non-zero counts: no cancellation of log N! and sum m log p
    std::vector<double> m, p;
    for (Index k = 0; k < p_.size(); ++k)
      if (counts(k) > 0) {
        m.push_back(double(counts(k)));
        p.push_back(double(p_(k)));
      }
    const Eigen::Map<const Eigen::VectorXd> mm(m.data(), Index(m.size())), pp(p.data(), Index(p.size()));
    return T(detail::log_multinomial_saddle(mm, pp));
  }
  long n_;
  Vector<T> p_;
};

}  // namespace pml
