#pragma once
/// @file
/// Categorical distribution over {0, ..., K-1}.

#include <cmath>
#include <limits>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"

namespace pml {

/// Categorical(μ): \f$p(x = k|\boldsymbol\mu) = \mu_k\f$ (PRML 2.26 with a 1-of-K x).
template <Real T = double> class Categorical {
 public:
  /// @param probs K probabilities summing to 1. @throw std::domain_error otherwise.
  explicit Categorical(const VectorCRef<T>& probs) : p_(probs) {
    check_nonempty("Categorical", "probs", probs.size());
    check_simplex("Categorical", "probs", p_);
  }
  /// Categorical with probabilities proportional to exp(logits).
  static Categorical from_logits(const VectorCRef<T>& logits) {
    check_nonempty("Categorical::from_logits", "logits", logits.size());
    check_all_finite("Categorical::from_logits", "logits", logits);
    Vector<T> p = (logits.array() - log_sum_exp(logits)).exp();
    p /= p.sum();
    return Categorical(p);
  }

  Index categories() const noexcept { return p_.size(); }  ///< number of categories K
  const Vector<T>& probs() const noexcept { return p_; }  ///< the probabilities p_0..p_{K−1}

  /// \f$\log\mu_k\f$; -inf for k outside 0..K-1.
  T log_prob(long k) const noexcept {
    if (k < 0 || k >= p_.size()) return -std::numeric_limits<T>::infinity();
    return std::log(p_(k));
  }
  /// log p_{k_i} for each entry of k (−∞ outside 0..K−1)
  Vector<T> log_prob(const IntVectorCRef& k) const {
    Vector<T> out(k.size());
    for (Index i = 0; i < k.size(); ++i) out(i) = log_prob(k(i));
    return out;
  }
  long sample(Rng& rng) const { return static_cast<long>(random::categorical(rng, p_)); }  ///< one draw, a category in 0..K−1
  /// `n` draws by inversion of the cumulative probabilities (binary search per draw).
  IntVector sample(Rng& rng, Index n) const {
    Vector<T> cumulative(p_.size());
    T c = 0;
    for (Index k = 0; k < p_.size(); ++k) cumulative(k) = (c += p_(k));
    IntVector out(n);
    for (Index i = 0; i < n; ++i) {
      const T u = random::uniform<T>(rng) * c;
      const T* first = cumulative.data();
      Index k = std::upper_bound(first, first + cumulative.size(), u) - first;
      while (k > 0 && (k >= p_.size() || p_(k) == T(0))) --k;  // rounding: never a zero-mass class
      out(i) = static_cast<long>(k);
    }
    return out;
  }
  /// Mean of the one-hot encoding: the probability vector.
  const Vector<T>& mean() const noexcept { return p_; }
  /// Covariance of the one-hot encoding, \f$\mathrm{diag}(\mu) - \mu\mu^T\f$.
  Matrix<T> covariance() const { return Matrix<T>(p_.asDiagonal()) - p_ * p_.transpose(); }
  /// Variance of each one-hot coordinate, \f$\mu_k(1-\mu_k)\f$.
  Vector<T> variance() const { return (p_.array() * (T(1) - p_.array())).matrix(); }
  /// Most probable category (the first on ties).
  long mode() const noexcept {
    Index k;
    p_.maxCoeff(&k);
    return static_cast<long>(k);
  }
  /// \f$-\sum_k \mu_k\log\mu_k\f$ in nats.
  T entropy() const noexcept {
    T h = 0;
    for (Index k = 0; k < p_.size(); ++k)
      if (p_(k) > T(0)) h -= p_(k) * std::log(p_(k));
    return h;
  }
  /// Maximum likelihood \f$\mu_k = N_k / N\f$ (PRML 2.33), with weighted counts.
  /// @param categories K; labels must lie in 0..K-1.
  /// @param labels the observed categories.
  /// @param weights optional per-label weights (default: all 1).
  static Categorical fit(Index categories, const IntVectorCRef& labels,
                         const VectorCRef<T>& weights = detail::no_weights<T>()) {
    if (categories <= 0)
      detail::throw_domain("Categorical::fit", "categories", "be positive", std::to_string(categories));
    const Vector<T> w = detail::weights_or_ones<T>("Categorical::fit", weights, labels.size());
    Vector<T> counts = Vector<T>::Zero(categories);
    for (Index i = 0; i < labels.size(); ++i) {
      if (labels(i) < 0 || labels(i) >= categories)
        detail::throw_domain("Categorical::fit", "labels", "lie in 0..categories-1",
                             std::to_string(labels(i)) + " at index " + std::to_string(i));
      counts(labels(i)) += w(i);
    }
    return Categorical(counts / counts.sum());
  }

 private:
  Vector<T> p_;
};

}  // namespace pml
