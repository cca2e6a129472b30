#pragma once
/// @file
/// Agreement of a clustering (or of any unsupervised assignment, such as InfoGAN's categorical code)
/// with true classes: the best one-to-one matching of clusters to classes (the Hungarian assignment on
/// the contingency table; Kuhn 1955, Munkres 1957) and the accuracy under it, the "unsupervised
/// clustering accuracy" of the deep-clustering literature (e.g. Xie et al. 2016, eq. 10).
///
/// Labels and clusters are IntVectors of equal length with non-negative values; a cluster left without
/// a class (more clusters than classes) counts its points as errors.

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/types.hpp"

namespace pml::metrics {

namespace detail {
/// Equal lengths, at least one point, values in 0..2^20.
inline void check_labellings(const char* function, const IntVectorCRef& clusters, const IntVectorCRef& labels) {
  if (clusters.size() != labels.size())
    pml::detail::throw_shape(function, "clusters has " + std::to_string(clusters.size()) + " entries but labels " + std::to_string(labels.size()));
  if (labels.size() == 0) pml::detail::throw_shape(function, "no points");
  constexpr long limit = 1L << 20;
  for (const auto& [name, v] : {std::pair{"clusters", &clusters}, std::pair{"labels", &labels}})
    for (Index i = 0; i < v->size(); ++i)
      if ((*v)(i) < 0 || (*v)(i) > limit)
        pml::detail::throw_domain(function, name, "lie in 0..2^20", std::to_string((*v)(i)) + " at index " + std::to_string(i));
}
}  // namespace detail

/// The contingency table of two labellings: entry (k, c) counts the points in cluster k with class c
/// ((max cluster + 1) x (max label + 1), dense: for sparse ids best_matching() and clustering_accuracy()
/// use the values present only). @throw std::invalid_argument for different lengths, no points or a table of
/// more than 2^26 entries; std::domain_error for a negative value or one above 2^20.
inline Eigen::MatrixXd contingency_table(const IntVectorCRef& clusters, const IntVectorCRef& labels) {
  constexpr const char* function = "metrics::contingency_table";
  detail::check_labellings(function, clusters, labels);
  const Index rows = clusters.maxCoeff() + 1, cols = labels.maxCoeff() + 1;
  if (double(rows) * double(cols) > double(1L << 26))
    pml::detail::throw_shape(function, "a table of " + std::to_string(rows) + " x " + std::to_string(cols) + " entries is too large; renumber the ids 0..K-1");
  Eigen::MatrixXd table = Eigen::MatrixXd::Zero(rows, cols);
  for (Index i = 0; i < labels.size(); ++i) table(clusters(i), labels(i)) += 1;
  return table;
}

/// The assignment of rows to columns that maximises the sum of the chosen entries of a non-negative
/// table (R x C): entry r of the result is the column given to row r, or −1 when R > C leaves row r
/// without one; no column is given twice. The Hungarian method with potentials, O(n³) for n = max(R, C).
/// @throw std::invalid_argument for an empty table; std::domain_error for a non-finite entry.
inline IntVector best_assignment(const Eigen::MatrixXd& table) {
  constexpr const char* function = "metrics::best_assignment";
  if (table.size() == 0) pml::detail::throw_shape(function, "the table is empty");
  if (!table.allFinite()) pml::detail::throw_domain(function, "table", "be finite", "a non-finite entry");
  const Index rows = table.rows(), n = std::max(table.rows(), table.cols());
  // minimise cost = max − table on the square padding (padded entries cost max: choosing them gains 0)
  const double top = table.maxCoeff();
  auto cost = [&](Index r, Index c) { return r < table.rows() && c < table.cols() ? top - table(r, c) : top; };
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based arrays: u row potentials, v column potentials, p[c] the row matched to column c
  std::vector<double> u(std::size_t(n + 1), 0), v(std::size_t(n + 1), 0), minv(std::size_t(n + 1));
  std::vector<Index> p(std::size_t(n + 1), 0), way(std::size_t(n + 1), 0);
  std::vector<char> used(std::size_t(n + 1));
  for (Index r = 1; r <= n; ++r) {
    p[0] = r;
    Index c0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), char(0));
    do {
      used[std::size_t(c0)] = 1;
      const Index r0 = p[std::size_t(c0)];
      double delta = inf;
      Index c1 = 0;
      for (Index c = 1; c <= n; ++c) {
        if (used[std::size_t(c)]) continue;
        const double reduced = cost(r0 - 1, c - 1) - u[std::size_t(r0)] - v[std::size_t(c)];
        if (reduced < minv[std::size_t(c)]) {
          minv[std::size_t(c)] = reduced;
          way[std::size_t(c)] = c0;
        }
        if (minv[std::size_t(c)] < delta) {
          delta = minv[std::size_t(c)];
          c1 = c;
        }
      }
      for (Index c = 0; c <= n; ++c) {
        if (used[std::size_t(c)]) {
          u[std::size_t(p[std::size_t(c)])] += delta;
          v[std::size_t(c)] -= delta;
        } else {
          minv[std::size_t(c)] -= delta;
        }
      }
      c0 = c1;
    } while (p[std::size_t(c0)] != 0);
    do {
      const Index c1 = way[std::size_t(c0)];
      p[std::size_t(c0)] = p[std::size_t(c1)];
      c0 = c1;
    } while (c0 != 0);
  }
  IntVector out = IntVector::Constant(rows, -1);
  for (Index c = 1; c <= n; ++c) {
    const Index r = p[std::size_t(c)] - 1;
    if (r < rows && c - 1 < table.cols()) out(r) = long(c - 1);
  }
  return out;
}

namespace detail {
/// The values of v renumbered 0..K−1 in increasing order (K distinct values); `values` gets them.
inline IntVector compact(const IntVectorCRef& v, std::vector<long>& values) {
  values.assign(v.data(), v.data() + v.size());
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  IntVector out(v.size());
  for (Index i = 0; i < v.size(); ++i) out(i) = long(std::lower_bound(values.begin(), values.end(), v(i)) - values.begin());
  return out;
}
/// The contingency table of the values present only (K clusters x C classes), with their original values.
inline Eigen::MatrixXd compact_table(const char* function, const IntVectorCRef& clusters, const IntVectorCRef& labels, std::vector<long>& cluster_values,
                                     std::vector<long>& label_values) {
  check_labellings(function, clusters, labels);
  return contingency_table(compact(clusters, cluster_values), compact(labels, label_values));
}
}  // namespace detail

/// The best one-to-one matching of clusters to classes: entry k is the class given to cluster k (−1 for
/// a cluster left without one or an id with no points), chosen to maximise the points whose cluster's class
/// is their own (max cluster + 1 entries). Only the values present enter the assignment, so sparse ids cost
/// nothing. @throw as contingency_table() (naming metrics::best_matching).
inline IntVector best_matching(const IntVectorCRef& clusters, const IntVectorCRef& labels) {
  std::vector<long> cv, lv;
  const IntVector match = best_assignment(detail::compact_table("metrics::best_matching", clusters, labels, cv, lv));
  IntVector out = IntVector::Constant(cv.back() + 1, -1);
  for (std::size_t k = 0; k < cv.size(); ++k)
    if (match(Index(k)) >= 0) out(cv[k]) = lv[std::size_t(match(Index(k)))];
  return out;
}

/// The accuracy of `clusters` as a classifier of `labels` under best_matching(): the share of points
/// in [0, 1] (1 for any relabelling of the true classes); sparse ids cost nothing. @throw as contingency_table()
/// (naming metrics::clustering_accuracy).
inline double clustering_accuracy(const IntVectorCRef& clusters, const IntVectorCRef& labels) {
  std::vector<long> cv, lv;
  const Eigen::MatrixXd table = detail::compact_table("metrics::clustering_accuracy", clusters, labels, cv, lv);
  const IntVector match = best_assignment(table);
  double hits = 0;
  for (Index k = 0; k < match.size(); ++k)
    if (match(k) >= 0) hits += table(k, match(k));
  return hits / double(labels.size());
}

}  // namespace pml::metrics
