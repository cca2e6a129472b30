#pragma once
/// @file
/// What the deep models share: the options of a minibatch training run, input checks with the model's
/// name in the message, and the epoch loop (shuffled minibatches gathered from a row-major copy).

#include <string>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/rng.hpp"
#include "pml/io/batches.hpp"

namespace pml {

/// Options of a deep model's fit(): epochs of shuffled minibatches, Adam's learning rate.
struct FitOptions {
  int epochs = 10;
  Index batch_size = 128;
  double learning_rate = 1e-3;
};

namespace detail {
/// x must have `width` columns, at least one row and only finite values.
template <class Derived> void check_rows(const char* function, const char* argument, const Eigen::MatrixBase<Derived>& x, Index width) {
  if (x.cols() != width)
    throw_shape(function, std::string(argument) + " has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(width));
  if (x.rows() == 0) throw_shape(function, std::string(argument) + " has no rows");
  check_all_finite(function, argument, x);
}
/// y must have as many rows as x.
template <class DX, class DY> void check_same_rows(const char* function, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y) {
  if (x.rows() != y.rows())
    throw_shape(function, "x has " + std::to_string(x.rows()) + " rows but y has " + std::to_string(y.rows()));
}
/// {in, hidden..., out}: the layer sizes of an MLP.
inline std::vector<Index> layer_sizes(Index in, const std::vector<Index>& hidden, Index out) {
  std::vector<Index> s{in};
  s.insert(s.end(), hidden.begin(), hidden.end());
  s.push_back(out);
  return s;
}
/// Every hidden size must be positive.
inline void check_hidden(const char* function, const std::vector<Index>& hidden) {
  for (const Index h : hidden)
    if (h <= 0) throw_shape(function, "hidden sizes must be positive, got " + std::to_string(h));
}
inline void check_fit_options(const char* function, const FitOptions& fit) {
  if (fit.epochs < 1) throw_domain(function, "epochs", "be at least 1", std::to_string(fit.epochs));
  if (fit.batch_size < 1) throw_domain(function, "batch_size", "be at least 1", std::to_string(fit.batch_size));
  check_positive(function, "learning_rate", fit.learning_rate);
}

/// Runs fit.epochs epochs over the rows of x and y (y may have no columns): each epoch draws a new order
/// from `rng`, and for each minibatch calls step(xb, yb, batch_index, batches_per_epoch), which returns
/// the batch's summed loss. Returns the mean loss per row of each epoch.
template <Real T, class DX, class DY, class Step>
std::vector<T> run_epochs(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const FitOptions& fit, Rng& rng, Step step) {
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMajor xr = x.template cast<T>(), yr = y.template cast<T>();  // one sample contiguous
  io::Minibatches batches(x.rows(), fit.batch_size);
  Matrix<T> xb, yb;
  std::vector<T> history;
  for (int epoch = 0; epoch < fit.epochs; ++epoch) {
    batches.shuffle(rng);
    double sum = 0;
    for (Index b = 0; b < batches.size(); ++b) {
      io::gather_rows(xr, batches[b], xb);
      io::gather_rows(yr, batches[b], yb);
      sum += double(step(xb, yb, b, batches.size()));
    }
    history.push_back(T(sum / double(x.rows())));
  }
  return history;
}
}  // namespace detail
}  // namespace pml
