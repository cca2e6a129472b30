#pragma once
/// @file
/// Measures of a classifier's predictive uncertainty and calibration: predictive entropy, the mutual
/// information between the prediction and the weights (BALD, Houlsby et al. 2011; Gal et al. 2017),
/// expected calibration error (Guo et al. 2017), negative log-likelihood, Brier score and accuracy.
///
/// Probabilities are N x C matrices (one row per point, rows summing to 1); posterior samples (MC
/// dropout passes, Bayes-by-Backprop weight draws) are a std::vector of such matrices; labels are an
/// IntVector with values in 0..C-1.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/types.hpp"

namespace pml::metrics {
namespace detail {
template <class Derived> void check_probabilities(const char* function, const Eigen::MatrixBase<Derived>& p) {
  using T = typename Derived::Scalar;
  if (p.rows() == 0 || p.cols() == 0) pml::detail::throw_shape(function, "probabilities are empty");
  for (Index i = 0; i < p.rows(); ++i) {
    T sum = 0;
    for (Index c = 0; c < p.cols(); ++c) {
      const T v = p(i, c);
      if (!(v >= T(0) && v <= T(1)))
        pml::detail::throw_domain(function, "probabilities", "lie in [0, 1]",
                                  pml::detail::describe(v) + " at (" + std::to_string(i) + ", " + std::to_string(c) + ")");
      sum += v;
    }
    const T tolerance = std::sqrt(std::numeric_limits<T>::epsilon()) * T(p.cols());
    if (std::abs(sum - T(1)) > tolerance)
      pml::detail::throw_domain(function, "probabilities", "have rows summing to 1",
                                "row " + std::to_string(i) + " sums to " + pml::detail::describe(sum));
  }
}
inline void check_labels(const char* function, const IntVectorCRef& labels, Index rows, Index classes) {
  if (labels.size() != rows)
    pml::detail::throw_shape(function, "labels has " + std::to_string(labels.size()) + " entries, probabilities have " +
                                           std::to_string(rows) + " rows");
  for (Index i = 0; i < labels.size(); ++i)
    if (labels(i) < 0 || labels(i) >= classes)
      pml::detail::throw_domain(function, "labels", "lie in 0.." + std::to_string(classes - 1),
                                std::to_string(labels(i)) + " at index " + std::to_string(i));
}
template <class T> void check_samples(const char* function, const std::vector<Matrix<T>>& samples) {
  if (samples.empty()) pml::detail::throw_shape(function, "no posterior samples");
  for (std::size_t t = 0; t < samples.size(); ++t) {
    if (samples[t].rows() != samples[0].rows() || samples[t].cols() != samples[0].cols())
      pml::detail::throw_shape(function, "sample " + std::to_string(t) + " is " + std::to_string(samples[t].rows()) + "x" +
                                             std::to_string(samples[t].cols()) + ", sample 0 is " +
                                             std::to_string(samples[0].rows()) + "x" + std::to_string(samples[0].cols()));
    check_probabilities(function, samples[t]);
  }
}
// -sum p log p of each row, with 0 log 0 = 0
template <class Derived> Vector<typename Derived::Scalar> entropy_rows(const Eigen::MatrixBase<Derived>& p) {
  using T = typename Derived::Scalar;
  Vector<T> h(p.rows());
  for (Index i = 0; i < p.rows(); ++i) {
    T s = 0;
    for (Index c = 0; c < p.cols(); ++c)
      if (p(i, c) > T(0)) s -= p(i, c) * std::log(p(i, c));
    h(i) = s;
  }
  return h;
}
}  // namespace detail

/// The mean of posterior-sample probabilities: the Monte Carlo predictive distribution p(y|x, D).
/// @throw std::invalid_argument for no samples or samples of different shapes; std::domain_error for rows
///        that are not probability vectors.
template <Real T> Matrix<T> mean_probabilities(const std::vector<Matrix<T>>& samples) {
  detail::check_samples("metrics::mean_probabilities", samples);
  Matrix<T> mean = Matrix<T>::Zero(samples[0].rows(), samples[0].cols());
  for (const auto& s : samples) mean += s;
  return mean / T(samples.size());
}

/// Entropy H[p] of each row (nats): total predictive uncertainty when p is the predictive distribution.
template <class Derived> Vector<typename Derived::Scalar> predictive_entropy(const Eigen::MatrixBase<Derived>& probabilities) {
  detail::check_probabilities("metrics::predictive_entropy", probabilities);
  return detail::entropy_rows(probabilities);
}
/// H[mean of the samples] for each row.
template <Real T> Vector<T> predictive_entropy(const std::vector<Matrix<T>>& samples) {
  return detail::entropy_rows(mean_probabilities(samples));
}

/// Mutual information between the label and the weights for each row (BALD):
/// I = H[E_w p(y|x,w)] - E_w H[p(y|x,w)] >= 0, the epistemic part of the predictive entropy. Zero when
/// all samples agree, whatever their entropy.
template <Real T> Vector<T> mutual_information(const std::vector<Matrix<T>>& samples) {
  const Matrix<T> mean = mean_probabilities(samples);
  Vector<T> expected = Vector<T>::Zero(mean.rows());
  for (const auto& s : samples) expected += detail::entropy_rows(s);
  expected /= T(samples.size());
  // H[mean] >= mean H by concavity; round-off may leave a tiny negative
  return (detail::entropy_rows(mean) - expected).cwiseMax(T(0));
}

/// Mean negative log-likelihood of the labels (nats per point). Probabilities are clipped below at
/// 1e-15 (as scikit-learn's log_loss does) so a confident mistake costs 34.5 nats instead of infinity.
template <class Derived> typename Derived::Scalar negative_log_likelihood(const Eigen::MatrixBase<Derived>& probabilities, const IntVectorCRef& labels) {
  using T = typename Derived::Scalar;
  detail::check_probabilities("metrics::negative_log_likelihood", probabilities);
  detail::check_labels("metrics::negative_log_likelihood", labels, probabilities.rows(), probabilities.cols());
  const T floor = std::max(T(1e-15), std::numeric_limits<T>::min());
  T sum = 0;
  for (Index i = 0; i < labels.size(); ++i) sum -= std::log(std::max(probabilities(i, labels(i)), floor));
  return sum / T(labels.size());
}

/// Brier score: mean over points of sum_c (p_c - [y = c])^2, in [0, 2].
template <class Derived> typename Derived::Scalar brier_score(const Eigen::MatrixBase<Derived>& probabilities, const IntVectorCRef& labels) {
  using T = typename Derived::Scalar;
  detail::check_probabilities("metrics::brier_score", probabilities);
  detail::check_labels("metrics::brier_score", labels, probabilities.rows(), probabilities.cols());
  T sum = 0;
  for (Index i = 0; i < labels.size(); ++i)
    for (Index c = 0; c < probabilities.cols(); ++c) {
      const T d = probabilities(i, c) - (c == labels(i) ? T(1) : T(0));
      sum += d * d;
    }
  return sum / T(labels.size());
}

/// The most probable class of each row (ties go to the lower index).
template <class Derived> IntVector predicted_labels(const Eigen::MatrixBase<Derived>& probabilities) {
  if (probabilities.cols() == 0) pml::detail::throw_shape("metrics::predicted_labels", "probabilities have no columns");
  IntVector out(probabilities.rows());
  for (Index i = 0; i < probabilities.rows(); ++i) {
    Index best = 0;
    probabilities.row(i).maxCoeff(&best);
    out(i) = static_cast<long>(best);
  }
  return out;
}

/// Fraction of rows whose most probable class is the label.
template <class Derived> typename Derived::Scalar accuracy(const Eigen::MatrixBase<Derived>& probabilities, const IntVectorCRef& labels) {
  using T = typename Derived::Scalar;
  detail::check_probabilities("metrics::accuracy", probabilities);
  detail::check_labels("metrics::accuracy", labels, probabilities.rows(), probabilities.cols());
  return T((predicted_labels(probabilities).array() == labels.array()).count()) / T(labels.size());
}

/// Area under the ROC curve of `scores` (higher: more likely positive) for binary `labels` (1 positive,
/// 0 negative): the probability that a random positive scores above a random negative, ties counting 1/2
/// (the Mann–Whitney U statistic over n₊ n₋, from average ranks: scikit-learn's roc_auc_score). Used for
/// out-of-distribution detection with predictive entropy or BALD as the score.
/// @throw std::invalid_argument if the lengths differ or a label is not 0 or 1, or there is no positive or
///        no negative; std::domain_error for a NaN score.
template <class Derived> double roc_auc(const Eigen::MatrixBase<Derived>& scores, const IntVectorCRef& labels) {
  constexpr const char* function = "metrics::roc_auc";
  if (scores.cols() != 1 && scores.rows() != 1) pml::detail::throw_shape(function, "scores must be a vector");
  const Index n = scores.size();
  if (labels.size() != n)
    pml::detail::throw_shape(function, "scores has " + std::to_string(n) + " entries, labels " + std::to_string(labels.size()));
  Index positives = 0;
  for (Index i = 0; i < n; ++i) {
    if (labels(i) != 0 && labels(i) != 1)
      pml::detail::throw_shape(function, "labels must be 0 or 1, got " + std::to_string(labels(i)) + " at index " + std::to_string(i));
    if (std::isnan(static_cast<double>(scores(i)))) pml::detail::throw_domain(function, "scores", "not be NaN", "NaN at index " + std::to_string(i));
    positives += labels(i);
  }
  const Index negatives = n - positives;
  if (positives == 0 || negatives == 0)
    pml::detail::throw_shape(function, "needs both classes, got " + std::to_string(positives) + " positives and " + std::to_string(negatives) + " negatives");
  std::vector<Index> order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return scores(a) < scores(b); });
  // the sum of the positives' average ranks (1-based; tied scores share the mean of their ranks)
  double rank_sum = 0;
  for (Index i = 0; i < n;) {
    Index j = i;
    while (j + 1 < n && scores(order[static_cast<std::size_t>(j + 1)]) == scores(order[static_cast<std::size_t>(i)])) ++j;
    const double average = 0.5 * double(i + j) + 1;
    for (Index k = i; k <= j; ++k) rank_sum += labels(order[static_cast<std::size_t>(k)]) ? average : 0;
    i = j + 1;
  }
  const double u = rank_sum - 0.5 * double(positives) * double(positives + 1);
  return u / (double(positives) * double(negatives));
}

/// Expected calibration error (Guo et al. 2017): points are put in `bins` equal-width bins of their
/// confidence max_c p_c; ECE = sum_b (n_b / N) |accuracy_b - confidence_b|. 0 for a calibrated model.
/// @throw std::domain_error unless bins >= 1.
template <class Derived>
typename Derived::Scalar expected_calibration_error(const Eigen::MatrixBase<Derived>& probabilities, const IntVectorCRef& labels, int bins = 15) {
  using T = typename Derived::Scalar;
  constexpr const char* function = "metrics::expected_calibration_error";
  if (bins < 1) pml::detail::throw_domain(function, "bins", "be at least 1", std::to_string(bins));
  detail::check_probabilities(function, probabilities);
  detail::check_labels(function, labels, probabilities.rows(), probabilities.cols());
  std::vector<T> confidence(static_cast<std::size_t>(bins), T(0)), correct(static_cast<std::size_t>(bins), T(0));
  std::vector<Index> count(static_cast<std::size_t>(bins), 0);
  for (Index i = 0; i < probabilities.rows(); ++i) {
    Index best = 0;
    const T p = probabilities.row(i).maxCoeff(&best);
    // bin b holds confidences in (b/B, (b+1)/B]; confidence 0 cannot happen (rows sum to 1)
    const auto b = static_cast<std::size_t>(std::clamp(static_cast<int>(std::ceil(p * T(bins))) - 1, 0, bins - 1));
    confidence[b] += p;
    correct[b] += best == labels(i) ? T(1) : T(0);
    ++count[b];
  }
  T ece = 0;
  for (std::size_t b = 0; b < count.size(); ++b)
    if (count[b] > 0) ece += std::abs(correct[b] - confidence[b]);  // n_b |acc_b - conf_b| = |sum correct - sum conf|
  return ece / T(probabilities.rows());
}

}  // namespace pml::metrics
