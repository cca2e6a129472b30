#pragma once
/// @file
/// Argument checks used at every API boundary. Each names the function, the argument and the value:
/// `normal: scale must be positive, got -2`. Bad values throw std::domain_error, bad shapes
/// std::invalid_argument (Stan Math's convention).

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <Eigen/Core>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace pml {
namespace detail {

template <class V> std::string describe(const V& v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

[[noreturn]] inline void throw_domain(std::string_view function, std::string_view argument,
                                      std::string_view requirement, const std::string& got) {
  std::string msg;
  msg.append(function).append(": ").append(argument).append(" must ").append(requirement);
  msg.append(", got ").append(got);
  throw std::domain_error(msg);
}

[[noreturn]] inline void throw_shape(std::string_view function, std::string_view what) {
  std::string msg;
  msg.append(function).append(": ").append(what);
  throw std::invalid_argument(msg);
}

/// The mean of per-row scores, the `score(x)` of a model whose `score_samples(x)` gives them: the mean of
/// no rows is undefined, so @throw std::invalid_argument naming `function` when x had no rows.
template <class Derived> typename Derived::Scalar mean_score(std::string_view function, const Eigen::MatrixBase<Derived>& per_row) {
  if (per_row.size() == 0) throw_shape(function, "x has no rows: the mean score of no rows is undefined");
  return per_row.mean();
}

/// Bytes of physical memory on this machine (sysconf), or 0 where it cannot be told.
inline double physical_memory_bytes() noexcept {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) return double(pages) * double(page);
#endif
  return 0;
}

/// Refuses, before allocating, a model whose parameters alone need more than this machine's physical
/// memory (a full covariance of 100 000 columns is 80 GB): std::length_error naming the function, the
/// argument, the size asked for and what to do instead. `bytes` is computed in double, so it cannot overflow.
inline void check_model_memory(std::string_view function, std::string_view argument, double bytes,
                               std::string_view what, std::string_view instead) {
  const double available = physical_memory_bytes();
  if (available > 0 && bytes > available) {
    std::ostringstream msg;
    msg.precision(3);
    msg << function << ": " << argument << " asks for " << what << ", " << bytes / 1e9 << " GB, more than this machine's "
        << available / 1e9 << " GB of memory; " << instead;
    throw std::length_error(msg.str());
  }
}

}  // namespace detail

/// Throws std::domain_error unless `value` is finite.
template <class T> void check_finite(std::string_view function, std::string_view argument, T value) {
  if (!std::isfinite(static_cast<double>(value)))
    detail::throw_domain(function, argument, "be finite", detail::describe(value));
}

/// Throws std::domain_error unless `value` > 0 and finite.
template <class T>
void check_positive(std::string_view function, std::string_view argument, T value) {
  if (!(value > T(0)) || !std::isfinite(static_cast<double>(value)))
    detail::throw_domain(function, argument, "be positive and finite", detail::describe(value));
}

/// Throws std::domain_error unless `value` >= 0 and finite.
template <class T>
void check_nonnegative(std::string_view function, std::string_view argument, T value) {
  if (!(value >= T(0)) || !std::isfinite(static_cast<double>(value)))
    detail::throw_domain(function, argument, "be non-negative and finite", detail::describe(value));
}

/// Throws std::domain_error unless `value` lies in [0, 1].
template <class T>
void check_probability(std::string_view function, std::string_view argument, T value) {
  if (!(value >= T(0) && value <= T(1)))
    detail::throw_domain(function, argument, "be a probability in [0, 1]", detail::describe(value));
}

/// Throws std::domain_error unless `value` > `bound`.
template <class T, class U>
void check_greater(std::string_view function, std::string_view argument, T value, U bound) {
  if (!(value > static_cast<T>(bound)) || !std::isfinite(static_cast<double>(value)))
    detail::throw_domain(function, argument, "be greater than " + detail::describe(bound),
                         detail::describe(value));
}

/// Throws std::domain_error unless every coefficient of `x` is finite.
template <class Derived>
void check_all_finite(std::string_view function, std::string_view argument,
                      const Eigen::DenseBase<Derived>& x) {
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      if (!std::isfinite(static_cast<double>(x(i, j))))
        detail::throw_domain(function, argument,
                             "have finite entries (entry (" + std::to_string(i) + ", " +
                                 std::to_string(j) + ") is not)",
                             detail::describe(x(i, j)));
}

/// Throws std::domain_error unless every coefficient of `x` is > 0 and finite.
template <class Derived>
void check_all_positive(std::string_view function, std::string_view argument,
                        const Eigen::DenseBase<Derived>& x) {
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      if (!(x(i, j) > 0) || !std::isfinite(static_cast<double>(x(i, j))))
        detail::throw_domain(function, argument,
                             "have positive finite entries (entry " + std::to_string(i) +
                                 (x.cols() > 1 ? ", " + std::to_string(j) : std::string()) + ")",
                             detail::describe(x(i, j)));
}

/// Throws std::domain_error unless every coefficient of `x` is >= 0 and finite.
template <class Derived>
void check_all_nonnegative(std::string_view function, std::string_view argument,
                           const Eigen::DenseBase<Derived>& x) {
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      if (!(x(i, j) >= 0) || !std::isfinite(static_cast<double>(x(i, j))))
        detail::throw_domain(function, argument,
                             "have non-negative finite entries (entry " + std::to_string(i) +
                                 (x.cols() > 1 ? ", " + std::to_string(j) : std::string()) + ")",
                             detail::describe(x(i, j)));
}

/// Throws std::domain_error unless `p` is a probability vector (entries >= 0 summing to 1 within tol).
template <class Derived>
void check_simplex(std::string_view function, std::string_view argument,
                   const Eigen::MatrixBase<Derived>& p, double tolerance = 1e-8) {
  check_all_nonnegative(function, argument, p);
  const double total = static_cast<double>(p.sum());
  const double tol = std::max(tolerance, static_cast<double>(p.size()) *
                                             static_cast<double>(Eigen::NumTraits<typename Derived::Scalar>::epsilon()) * 4);
  if (p.size() == 0 || std::abs(total - 1.0) > tol)
    detail::throw_domain(function, argument, "sum to 1", "a sum of " + detail::describe(total));
}

/// Throws std::invalid_argument unless `size` equals `expected`.
inline void check_size(std::string_view function, std::string_view argument, Eigen::Index size,
                       Eigen::Index expected, std::string_view what = "size") {
  if (size != expected)
    detail::throw_shape(function, std::string(argument) + " has " + std::string(what) + " " +
                                      std::to_string(size) + ", expected " +
                                      std::to_string(expected));
}

/// Throws std::invalid_argument when the container has no elements.
inline void check_nonempty(std::string_view function, std::string_view argument, Eigen::Index size) {
  if (size <= 0) detail::throw_shape(function, std::string(argument) + " must not be empty");
}

/// Throws std::invalid_argument unless `m` is square.
template <class Derived>
void check_square(std::string_view function, std::string_view argument,
                  const Eigen::MatrixBase<Derived>& m) {
  if (m.rows() != m.cols())
    detail::throw_shape(function, std::string(argument) + " must be square, got " +
                                      std::to_string(m.rows()) + "x" + std::to_string(m.cols()));
}

/// Throws std::domain_error unless `m` is symmetric to a relative tolerance.
template <class Derived>
void check_symmetric(std::string_view function, std::string_view argument,
                     const Eigen::MatrixBase<Derived>& m, double tolerance = 1e-8) {
  check_square(function, argument, m);
  check_all_finite(function, argument, m);
  const double scale = std::max(1.0, static_cast<double>(m.cwiseAbs().maxCoeff()));
  const double tol = std::max(tolerance, 100.0 * static_cast<double>(
                                               Eigen::NumTraits<typename Derived::Scalar>::epsilon()));
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = j + 1; i < m.rows(); ++i)
      if (std::abs(static_cast<double>(m(i, j) - m(j, i))) > tol * scale)
        detail::throw_domain(function, argument,
                             "be symmetric (entries (" + std::to_string(i) + ", " +
                                 std::to_string(j) + ") and its transpose differ)",
                             detail::describe(m(i, j)) + " vs " + detail::describe(m(j, i)));
}

/// Throws std::invalid_argument unless `weights` is empty or has `n` non-negative entries with a
/// positive sum (the optional sample weights every `fit` accepts).
template <class Derived>
void check_weights(std::string_view function, const Eigen::MatrixBase<Derived>& weights,
                   Eigen::Index n) {
  if (weights.size() == 0) return;
  check_size(function, "weights", weights.size(), n, "length");
  check_all_nonnegative(function, "weights", weights);
  if (!(weights.sum() > 0)) detail::throw_domain(function, "weights", "have a positive sum", "0");
}

}  // namespace pml
