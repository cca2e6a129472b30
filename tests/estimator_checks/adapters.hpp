// Helpers shared by the estimator check suite's adapters (one test executable per model family keeps
// each compile small; checks in estimator_checks.hpp). A model joins with an adapter in its family's
// test_*.cpp and one line in that file's type list.
#pragma once

#include "estimator_checks/estimator_checks.hpp"

#include <numeric>
#include <tuple>

#include "pml/core/weights.hpp"

namespace pml_test::estimator {

using pml::Index;
using pml::IntVector;
using pml::Matrix;
using pml::Vector;

// Mixture and clustering models number their components arbitrarily; the adapters put them in a
// canonical order (by the first coordinate of the mean), which shifts and positive scalings preserve.
template <class T> std::vector<Index> order_by_first_column(const Matrix<T>& means) {
  std::vector<Index> order(std::size_t(means.rows()));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return means(a, 0) < means(b, 0); });
  return order;
}
template <class T> Matrix<T> rows_in(const Matrix<T>& m, const std::vector<Index>& order) {
  Matrix<T> out(m.rows(), m.cols());
  for (std::size_t i = 0; i < order.size(); ++i) out.row(Index(i)) = m.row(order[i]);
  return out;
}
template <class T> Matrix<T> cols_in(const Matrix<T>& m, const std::vector<Index>& order) {
  Matrix<T> out(m.rows(), m.cols());
  for (std::size_t i = 0; i < order.size(); ++i) out.col(Index(i)) = m.col(order[i]);
  return out;
}
inline IntVector relabel(const IntVector& labels, const std::vector<Index>& order) {
  std::vector<long> rank(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) rank[std::size_t(order[i])] = long(i);
  IntVector out(labels.size());
  for (Index i = 0; i < labels.size(); ++i) out(i) = rank[std::size_t(labels(i))];
  return out;
}
template <class T> const Vector<T>& weights_of(const Problem<T>& p) { return p.weights.size() ? p.weights : pml::detail::no_weights<T>(); }

}  // namespace pml_test::estimator
