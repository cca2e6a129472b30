#pragma once
/// @file
/// Measures of a generative model's samples: the Fréchet distance between two sets of features (Dowson &
/// Landau 1982; on a classifier's features it is the Fréchet Inception Distance of Heusel et al. 2017), and
/// the entropy of the histogram of the classes a classifier gives the samples (every class generated:
/// log K nats).
///
/// Features are N x D matrices, one sample per row.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Eigenvalues>

#include "pml/core/check.hpp"
#include "pml/core/types.hpp"

namespace pml::metrics {

/// The Fréchet (2-Wasserstein) distance, squared, between the Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂):
///   ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})
/// (Dowson & Landau 1982; Heusel et al. 2017, the FID's formula, whose trace term equals this symmetric
/// form). The square roots come from symmetric eigendecompositions, eigenvalues below 0 (rounding) taken as
/// 0; a result below 0 by rounding is returned as 0.
/// @throw std::invalid_argument for shapes that differ or covariances that are not square; std::domain_error
///        for non-finite entries.
inline double frechet_distance(const VectorCRef<double>& mean1, const MatrixCRef<double>& cov1, const VectorCRef<double>& mean2,
                               const MatrixCRef<double>& cov2) {
  constexpr const char* function = "metrics::frechet_distance";
  const Index d = mean1.size();
  if (mean2.size() != d || cov1.rows() != d || cov1.cols() != d || cov2.rows() != d || cov2.cols() != d)
    pml::detail::throw_shape(function, "the means have " + std::to_string(d) + " and " + std::to_string(mean2.size()) + " entries, the covariances are " +
                                           std::to_string(cov1.rows()) + " x " + std::to_string(cov1.cols()) + " and " + std::to_string(cov2.rows()) + " x " +
                                           std::to_string(cov2.cols()) + "; all must match");
  if (d == 0) pml::detail::throw_shape(function, "no features");
  pml::check_all_finite(function, "mean1", mean1);
  pml::check_all_finite(function, "mean2", mean2);
  pml::check_all_finite(function, "cov1", cov1);
  pml::check_all_finite(function, "cov2", cov2);
  const Eigen::MatrixXd s1 = (cov1 + cov1.transpose()) / 2, s2 = (cov2 + cov2.transpose()) / 2;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e1(s1);
  const Eigen::MatrixXd root1 = e1.eigenvectors() * e1.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() * e1.eigenvectors().transpose();
  Eigen::MatrixXd inner = root1 * s2 * root1;
  inner = (inner + inner.transpose()) / 2;
  const double cross = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(inner, Eigen::EigenvaluesOnly).eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  const double value = (mean1 - mean2).squaredNorm() + s1.trace() + s2.trace() - 2 * cross;
  if (!std::isfinite(value))
    pml::detail::throw_domain(function, "the distance", "be finite", "an overflow: the means or covariances are too large for double");
  return std::max(value, 0.0);
}

namespace detail {
/// The mean (1 x D) and the covariance (D x D, divisor N − 1) of the rows, in double, about the mean
/// (two passes: no cancellation when the features sit far from 0).
template <class Derived> void mean_and_covariance(const char* function, const char* argument, const Eigen::MatrixBase<Derived>& x, Eigen::VectorXd& mean,
                                                  Eigen::MatrixXd& cov) {
  if (x.rows() < 2) pml::detail::throw_shape(function, std::string(argument) + " has " + std::to_string(x.rows()) + " rows; a covariance needs at least 2");
  pml::check_all_finite(function, argument, x);
  const Eigen::MatrixXd xd = x.template cast<double>();
  mean = xd.colwise().mean().transpose();
  const Eigen::MatrixXd centred = xd.rowwise() - mean.transpose();
  cov = centred.transpose() * centred / double(xd.rows() - 1);
}
}  // namespace detail

/// The Fréchet distance between the Gaussians fitted to two sets of feature rows (N₁ x D and N₂ x D, for
/// example a classifier's penultimate layer on real and on generated images: the FID of Heusel et al. 2017
/// with the project's own classifier in place of Inception). Means and covariances (divisor N − 1) are
/// computed in double about the mean. Lower is closer; 0 for two sets with equal mean and covariance.
/// @throw std::invalid_argument for different widths or fewer than 2 rows; std::domain_error for
///        non-finite features.
template <class DA, class DB> double frechet_distance(const Eigen::MatrixBase<DA>& a, const Eigen::MatrixBase<DB>& b) {
  constexpr const char* function = "metrics::frechet_distance";
  if (a.cols() != b.cols())
    pml::detail::throw_shape(function, "the feature sets have " + std::to_string(a.cols()) + " and " + std::to_string(b.cols()) + " columns");
  pml::check_all_finite(function, "a", a);
  pml::check_all_finite(function, "b", b);
  // features far from 1 in size (up to the largest doubles): the distance of the features divided by a power
  // of two s near their largest magnitude, times s² (it scales as the square; the division is exact)
  double top = 0;
  if (a.size() > 0) top = std::max(top, double(a.cwiseAbs().maxCoeff()));
  if (b.size() > 0) top = std::max(top, double(b.cwiseAbs().maxCoeff()));
  int exponent = 0;
  std::frexp(top, &exponent);
  const double s = top == 0 || (exponent > -200 && exponent < 200) ? 1.0 : std::ldexp(1.0, exponent);
  Eigen::VectorXd m1, m2;
  Eigen::MatrixXd c1, c2;
  detail::mean_and_covariance(function, "a", (a.template cast<double>() / s).eval(), m1, c1);
  detail::mean_and_covariance(function, "b", (b.template cast<double>() / s).eval(), m2, c2);
  const double d = frechet_distance(m1, c1, m2, c2);
  if (s == 1.0) return d;
  if (d > std::numeric_limits<double>::max() / (s * s)) pml::detail::throw_domain(function, "the distance", "be finite", "an overflow of double");
  return d * s * s;
}

/// The entropy (nats) of the histogram of `classes` (values 0..K−1): log K when every class is equally
/// frequent, 0 when one class takes every sample (a generator that collapsed onto one class).
/// @throw std::invalid_argument for no entries or K < 1; std::domain_error for a value outside 0..K−1.
inline double class_histogram_entropy(const IntVectorCRef& classes, Index k) {
  constexpr const char* function = "metrics::class_histogram_entropy";
  if (classes.size() == 0) pml::detail::throw_shape(function, "no entries");
  if (k < 1) pml::detail::throw_shape(function, "the number of classes must be positive, got " + std::to_string(k));
  Eigen::VectorXd count = Eigen::VectorXd::Zero(k);
  for (Index i = 0; i < classes.size(); ++i) {
    if (classes(i) < 0 || classes(i) >= k)
      pml::detail::throw_domain(function, "classes", "lie in 0.." + std::to_string(k - 1), std::to_string(classes(i)) + " at index " + std::to_string(i));
    count(classes(i)) += 1;
  }
  double h = 0;
  for (Index c = 0; c < k; ++c)
    if (count(c) > 0) {
      const double p = count(c) / double(classes.size());
      h -= p * std::log(p);
    }
  return h;
}

}  // namespace pml::metrics
