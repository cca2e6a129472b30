#pragma once
/// @file
/// Minibatch iteration: a shuffled order of the rows from a pml::Rng, cut into batches, and a gather of
/// a batch's rows into a reusable matrix (no allocation once it has the batch's shape).

#include <numeric>
#include <span>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/types.hpp"

namespace pml::io {

/// The rows 0..n-1 in batches of `batch_size` (the last one shorter unless drop_last; a last batch of fewer
/// than `min_last` rows joins the one before it, so that e.g. batch normalisation never sees one row). shuffle() draws a
/// new order (Fisher–Yates with unbiased bounded integers): same seed, same batches.
class Minibatches {
 public:
  /// @throw std::invalid_argument if n <= 0 or batch_size <= 0.
  Minibatches(Index n, Index batch_size, bool drop_last = false, Index min_last = 1)
      : order_(static_cast<std::size_t>(n > 0 ? n : 0)), batch_(batch_size), drop_last_(drop_last), min_last_(min_last) {
    if (n <= 0) pml::detail::throw_shape("io::Minibatches", "n must be positive, got " + std::to_string(n));
    if (batch_size <= 0) pml::detail::throw_shape("io::Minibatches", "batch_size must be positive, got " + std::to_string(batch_size));
    std::iota(order_.begin(), order_.end(), Index(0));
  }
  /// A new random order of the rows.
  void shuffle(Rng& rng) {
    for (std::size_t i = order_.size() - 1; i > 0; --i) std::swap(order_[i], order_[static_cast<std::size_t>(random::uniform_index(rng, i + 1))]);
  }
  /// Number of batches per epoch.
  Index size() const noexcept {
    const Index n = static_cast<Index>(order_.size());
    const Index full = n / batch_, rest = n % batch_;
    return drop_last_ || rest == 0 || (rest < min_last_ && full > 0) ? full : full + 1;
  }
  /// The row indices of batch `b` (0 <= b < size()).
  std::span<const Index> operator[](Index b) const {
    if (b < 0 || b >= size()) pml::detail::throw_shape("io::Minibatches", "batch " + std::to_string(b) + " of " + std::to_string(size()));
    const std::size_t from = static_cast<std::size_t>(b * batch_);
    if (!drop_last_ && b == size() - 1) return std::span<const Index>(order_).subspan(from);  // the rest, a merged remainder included
    return std::span<const Index>(order_).subspan(from, static_cast<std::size_t>(batch_));
  }
  const std::vector<Index>& order() const noexcept { return order_; }  ///< the shuffled row order of this epoch

 private:
  std::vector<Index> order_;
  Index batch_;
  bool drop_last_;
  Index min_last_;
};

/// out = the rows of x listed in `rows`, in that order (resizes out only when the shape changes). For a
/// large data set keep x row-major (one sample contiguous), as VAE::fit does: a column-major x makes every
/// row a strided gather.
template <class Derived, class Out> void gather_rows(const Eigen::MatrixBase<Derived>& x, std::span<const Index> rows, Eigen::MatrixBase<Out>& out) {
  const Index m = static_cast<Index>(rows.size());
  if (out.rows() != m || out.cols() != x.cols()) out.derived().resize(m, x.cols());
  for (Index i = 0; i < m; ++i)
    if (rows[static_cast<std::size_t>(i)] < 0 || rows[static_cast<std::size_t>(i)] >= x.rows())
      pml::detail::throw_shape("io::gather_rows", "row " + std::to_string(rows[static_cast<std::size_t>(i)]) + " outside 0.." + std::to_string(x.rows()));
  if (x.cols() == 0) return;  // no data to copy (a row Block of an empty matrix would offset a null pointer)
  if constexpr (Derived::IsRowMajor) {
    for (Index i = 0; i < m; ++i) out.row(i) = x.row(rows[static_cast<std::size_t>(i)]);
  } else {
    for (Index j = 0; j < x.cols(); ++j)
      for (Index i = 0; i < m; ++i) out(i, j) = x(rows[static_cast<std::size_t>(i)], j);
  }
}

}  // namespace pml::io
