#pragma once
/// @file
/// Sample-weight helpers shared by every maximum-likelihood `fit`.

#include <algorithm>
#include <string_view>

#include "pml/core/check.hpp"
#include "pml/core/types.hpp"

namespace pml::detail {

/// Validates optional sample weights (empty means all ones) for `n` samples and returns them.
template <Real T>
Vector<T> weights_or_ones(std::string_view function, const VectorCRef<T>& weights, Index n) {
  check_nonempty(function, "data", n);
  check_weights(function, weights, n);
  if (weights.size() == 0) return Vector<T>::Ones(n);
  return weights;
}

/// Optional sample weights seen without an N-vector of ones: the given weights in place (no copy), or,
/// when none are given, a shared block of ones for segments of at most `longest` rows (issue 17 §3:
/// a fit adds no N-vector to the data). The caller's weights must outlive this view.
template <Real T> class SampleWeights {
 public:
  /// Validates `weights` (empty means all ones) for `n` samples, as weights_or_ones().
  /// @throw std::invalid_argument for n = 0 or a wrong length; std::domain_error for negative weights or a zero sum.
  SampleWeights(std::string_view function, const VectorCRef<T>& weights, Index n, Index longest) : given_(weights), n_(n) {
    check_nonempty(function, "data", n);
    check_weights(function, weights, n);
    if (weights.size() == 0) ones_ = Vector<T>::Ones(std::min(n, std::max<Index>(1, longest)));
    sum_ = weights.size() == 0 ? T(n) : weights.sum();
  }
  /// One rank's weights in a sharded fit (core/collective.hpp): the rank's `n` rows (0 allowed) with weights of
  /// length 0 or `n` that the caller has checked (non-negative), and `total`, the weights' sum over every rank.
  SampleWeights(const VectorCRef<T>& weights, Index n, Index longest, T total) : given_(weights), n_(n), sum_(total) {
    if (weights.size() == 0) ones_ = Vector<T>::Ones(std::min(n, std::max<Index>(1, longest)));
  }
  /// Whether no weights were given (every weight 1).
  bool uniform() const noexcept { return given_.size() == 0; }
  /// The given weights (empty when uniform()).
  const VectorCRef<T>& given() const noexcept { return given_; }
  /// The weight of row i.
  T operator()(Index i) const { return uniform() ? T(1) : given_(i); }
  /// Weights of rows [begin, begin + count): count must not exceed the `longest` given to the constructor.
  VectorCRef<T> segment(Index begin, Index count) const {
    if (!uniform()) return given_.segment(begin, count);
    if (count > ones_.size())
      throw std::logic_error("SampleWeights::segment: a segment of " + std::to_string(count) + " rows, longer than " +
                             std::to_string(ones_.size()));
    return ones_.head(count);
  }
  /// The sum of the weights (N when uniform()); in a sharded fit, over every rank.
  T sum() const noexcept { return sum_; }
  /// The number of rows N (this rank's, in a sharded fit).
  Index size() const noexcept { return n_; }

 private:
  VectorCRef<T> given_;  // a view (Eigen::Ref) of the caller's weights
  Index n_;
  Vector<T> ones_;
  T sum_ = 0;
};

/// An empty weight vector: the default argument of every `fit`.
template <Real T> const Vector<T>& no_weights() {
  static const Vector<T> empty;
  return empty;
}

}  // namespace pml::detail
