#pragma once
/// @file
/// Samplers on pml::Rng: normal (ziggurat), uniform, exponential, gamma (Marsaglia–Tsang), beta,
/// Dirichlet, categorical, binomial, multinomial, Poisson, chi-squared, Student-t and Wishart
/// (Bartlett). Single draws and batch versions that fill an Eigen array.

#include <array>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include <Eigen/Core>

#include "pml/core/check.hpp"
#include "pml/core/rng.hpp"
#include "pml/core/special.hpp"
#include "pml/core/types.hpp"

namespace pml::random {
namespace detail {

/// Tables of the 256-layer normal ziggurat (Marsaglia & Tsang 2000), built with Doornik's (2005)
/// recurrence. x[0] is the width of the base strip (area v / f(r)), x[1] = r, x[256] = 0;
/// ratio[i] = x[i+1]/x[i] is the rectangle test; f[i] = exp(-x[i]^2/2) the wedge test.
struct ZigguratTables {
  static constexpr int layers = 256;
  static constexpr double r = 3.6541528853610088;
  static constexpr double v = 4.92867323399e-3;
  std::array<double, layers + 1> x{};
  std::array<double, layers> ratio{};
  std::array<double, layers + 1> f{};
  ZigguratTables() {
    double fr = std::exp(-0.5 * r * r);
    x[0] = v / fr;
    x[1] = r;
    x[layers] = 0;
    for (int i = 2; i < layers; ++i) {
      x[i] = std::sqrt(-2.0 * std::log(v / x[i - 1] + fr));
      fr = std::exp(-0.5 * x[i] * x[i]);
    }
    for (int i = 0; i < layers; ++i) ratio[i] = x[i + 1] / x[i];
    for (int i = 0; i <= layers; ++i) f[i] = std::exp(-0.5 * x[i] * x[i]);
  }
};

inline const ZigguratTables& ziggurat() {
  static const ZigguratTables tables;
  return tables;
}

/// Maps 64 random bits to a uniform on [-1, 1) with 52 random bits (bits 12..63) by building the
/// double 1.f directly: integer operations only, so the batch loop vectorises (AVX2 has no
/// int64 -> double conversion). The low 8 bits, unused here, choose the ziggurat layer.
inline double signed_unit(std::uint64_t bits) noexcept {
  const std::uint64_t one_to_two = (bits >> 12) | 0x3FF0000000000000ULL;
  double d;
  std::memcpy(&d, &one_to_two, sizeof d);
  return 2.0 * d - 3.0;
}

/// Finishes a draw whose first 64 bits missed the ziggurat's rectangles: the base strip's tail
/// (Marsaglia 1964) or the wedge test, then fresh draws until one is accepted.
inline double ziggurat_slow(Rng& rng, const ZigguratTables& z, std::uint64_t bits) {
  for (;;) {
    const int i = static_cast<int>(bits & 0xFF);
    const double u = signed_unit(bits);
    if (std::abs(u) < z.ratio[i]) return u * z.x[i];
    if (i == 0) {
      double x, y;
      do {
        x = std::log(rng.uniform_positive()) / ZigguratTables::r;
        y = std::log(rng.uniform_positive());
      } while (-2.0 * y < x * x);
      return u < 0 ? x - ZigguratTables::r : ZigguratTables::r - x;
    }
    // wedge: accept x when a uniform height under the layer lies below the density
    const double x = u * z.x[i];
    if (z.f[i] + rng.uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-0.5 * x * x)) return x;
    bits = rng();
  }
}

/// One standard normal draw with the tables passed in (so batch loops look them up once).
inline double ziggurat_normal(Rng& rng, const ZigguratTables& z) {
  const std::uint64_t bits = rng();
  const int i = static_cast<int>(bits & 0xFF);
  const double u = signed_unit(bits);
  if (std::abs(u) < z.ratio[i]) return u * z.x[i];  // ~99% of draws end here
  return ziggurat_slow(rng, z, bits);
}

/// Marsaglia–Tsang (2000) draw for shape >= 1, returned as log to stay finite everywhere.
inline double marsaglia_tsang_log(Rng& rng, double shape) {
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  const auto& z = ziggurat();
  for (;;) {
    double x, v;
    do {
      x = ziggurat_normal(rng, z);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng.uniform_positive();
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v)))
      return std::log(d) + std::log(v);
  }
}

}  // namespace detail

/// Uniform integer on [0, n), unbiased (rejection of the top remainder of the 64-bit range).
/// @throw std::domain_error if n == 0.
inline std::uint64_t uniform_index(Rng& rng, std::uint64_t n) {
  if (n == 0) pml::detail::throw_domain("random::uniform_index", "n", "be positive", "0");
  const std::uint64_t limit = ~std::uint64_t(0) - (~std::uint64_t(0) % n + 1) % n;  // a multiple of n, minus 1
  while (true) {
    const std::uint64_t x = rng();
    if (x <= limit) return x % n;
  }
}

/// Uniform draw on [0, 1).
template <Real T = double> T uniform(Rng& rng) {
  if constexpr (sizeof(T) <= 4)
    return static_cast<T>(rng() >> 40) * T(0x1.0p-24);
  else
    return static_cast<T>(rng.uniform());
}
/// Uniform draw on [low, high).
/// @throw std::domain_error unless low < high, both finite.
template <Real T> T uniform(Rng& rng, T low, T high) {
  check_finite("uniform", "low", low);
  check_greater("uniform", "high", high, low);
  return low + (high - low) * uniform<T>(rng);
}

/// Standard normal draw (256-layer ziggurat; one 64-bit draw for 98.5% of samples).
template <Real T = double> T normal(Rng& rng) {
  return static_cast<T>(detail::ziggurat_normal(rng, detail::ziggurat()));
}
/// Normal draw with the given mean and standard deviation.
/// @throw std::domain_error unless stddev > 0 and mean finite.
template <Real T> T normal(Rng& rng, T mean, T stddev) {
  check_finite("normal", "mean", mean);
  check_positive("normal", "stddev", stddev);
  return mean + stddev * normal<T>(rng);
}

/// Fills `out` (any Eigen array, matrix, block or map) with independent N(mean, stddev^2) draws,
/// in column-major order. Same seed, same values, for float and double alike.
template <class Derived>
void fill_normal(Rng& rng, const Eigen::DenseBase<Derived>& out_,
                 typename Derived::Scalar mean = 0, typename Derived::Scalar stddev = 1) {
  using T = typename Derived::Scalar;
  check_finite("fill_normal", "mean", mean);
  check_positive("fill_normal", "stddev", stddev);
  auto& out = const_cast<Eigen::DenseBase<Derived>&>(out_);
  const auto& z = detail::ziggurat();
  Rng local = rng;  // a local copy keeps the state in registers (stores to `out` cannot alias it)
  for (Index j = 0; j < out.cols(); ++j)
    for (Index i = 0; i < out.rows(); ++i)
      out(i, j) = mean + stddev * static_cast<T>(detail::ziggurat_normal(local, z));
  rng = local;
}

/// Standard normal draw truncated to [−bound, bound] (bound > 0; +∞: normal()). Exact: for bound ≥ 1 a normal
/// draw redrawn while outside (acceptance ≥ 68%); below, a uniform draw on [−bound, bound] kept with probability
/// exp(−z²/2) (≥ 60%), so it ends quickly for any bound. @throw std::domain_error unless bound > 0.
template <Real T = double> T truncated_normal(Rng& rng, double bound) {
  if (!(bound > 0)) pml::detail::throw_domain("random::truncated_normal", "bound", "be positive", pml::detail::describe(bound));
  if (bound >= 1) {
    double v = normal<double>(rng);
    while (std::abs(v) > bound) v = normal<double>(rng);
    return static_cast<T>(v);
  }
  for (;;) {
    const double v = bound * (2 * uniform<double>(rng) - 1);
    if (uniform<double>(rng) < std::exp(-0.5 * v * v)) return static_cast<T>(v);
  }
}

/// Fills `out` with independent standard normal draws truncated to [−bound, bound] (truncated_normal), in
/// column-major order. @throw std::domain_error unless bound > 0.
template <class Derived> void fill_truncated_normal(Rng& rng, const Eigen::DenseBase<Derived>& out_, double bound) {
  using T = typename Derived::Scalar;
  if (!(bound > 0)) pml::detail::throw_domain("random::fill_truncated_normal", "bound", "be positive", pml::detail::describe(bound));
  auto& out = const_cast<Eigen::DenseBase<Derived>&>(out_);
  for (Index j = 0; j < out.cols(); ++j)
    for (Index i = 0; i < out.rows(); ++i) out(i, j) = truncated_normal<T>(rng, bound);
}

/// Fills `out` with independent uniform draws on [0, 1).
template <class Derived> void fill_uniform(Rng& rng, const Eigen::DenseBase<Derived>& out_) {
  using T = typename Derived::Scalar;
  auto& out = const_cast<Eigen::DenseBase<Derived>&>(out_);
  for (Index j = 0; j < out.cols(); ++j)
    for (Index i = 0; i < out.rows(); ++i) out(i, j) = uniform<T>(rng);
}

/// Exponential draw with the given rate.
template <Real T = double> T exponential(Rng& rng, T rate = 1) {
  check_positive("exponential", "rate", rate);
  return static_cast<T>(-std::log(rng.uniform_positive())) / rate;
}

/// Logarithm of a Gamma(shape, 1) draw. Stays finite for tiny shapes, where the draw itself
/// underflows to 0 (shape < 1 uses Gamma(shape + 1) * U^(1/shape)).
template <Real T = double> T log_gamma(Rng& rng, T shape) {
  check_positive("gamma", "shape", shape);
  const double a = static_cast<double>(shape);
  if (a >= 1.0) return static_cast<T>(detail::marsaglia_tsang_log(rng, a));
  return static_cast<T>(detail::marsaglia_tsang_log(rng, a + 1.0) +
                        std::log(rng.uniform_positive()) / a);
}

/// Gamma draw with density \f$\frac{\beta^\alpha}{\Gamma(\alpha)} x^{\alpha-1} e^{-\beta x}\f$
/// (shape-rate), by Marsaglia & Tsang (2000).
template <Real T = double> T gamma(Rng& rng, T shape, T rate = 1) {
  check_positive("gamma", "rate", rate);
  return std::exp(log_gamma(rng, shape)) / rate;
}

/// Chi-squared draw with `df` degrees of freedom.
template <Real T = double> T chi_squared(Rng& rng, T df) {
  check_positive("chi_squared", "df", df);
  return T(2) * std::exp(log_gamma(rng, df / T(2)));
}

/// Beta(a, b) draw from two gamma draws, combined in log space (exact for tiny a, b).
template <Real T = double> T beta(Rng& rng, T a, T b) {
  check_positive("beta", "a", a);
  check_positive("beta", "b", b);
  const T la = log_gamma(rng, a);
  const T lb = log_gamma(rng, b);
  return sigmoid(la - lb);  // x / (x + y) with x = e^la, y = e^lb
}

/// Student-t draw with `df` degrees of freedom, location 0, scale 1.
template <Real T = double> T student_t(Rng& rng, T df) {
  check_positive("student_t", "df", df);
  const T z = normal<T>(rng);
  return z / std::sqrt(chi_squared(rng, df) / df);
}

/// Dirichlet(alpha) draw: normalised gamma draws, in log space so tiny concentrations work.
template <class Derived>
Vector<typename Derived::Scalar> dirichlet(Rng& rng, const Eigen::MatrixBase<Derived>& alpha) {
  using T = typename Derived::Scalar;
  check_nonempty("dirichlet", "alpha", alpha.size());
  check_all_positive("dirichlet", "alpha", alpha);
  Vector<T> logs(alpha.size());
  for (Index k = 0; k < alpha.size(); ++k) logs(k) = log_gamma(rng, alpha(k));
  const T norm = log_sum_exp(logs);
  return (logs.array() - norm).exp().matrix();
}

/// Categorical draw: the index k with probability probs(k). `probs` must be non-negative; it is
/// normalised here, so unnormalised weights are accepted.
template <class Derived> Index categorical(Rng& rng, const Eigen::MatrixBase<Derived>& probs) {
  using T = typename Derived::Scalar;
  check_nonempty("categorical", "probs", probs.size());
  const T total = probs.sum();
  const T u = uniform<T>(rng) * total;
  T cumulative = 0;
  for (Index k = 0; k < probs.size(); ++k) {
    cumulative += probs(k);
    if (u < cumulative) return k;
  }
  for (Index k = probs.size() - 1; k >= 0; --k)  // rounding: last category with positive mass
    if (probs(k) > 0) return k;
  return probs.size() - 1;
}

/// Binomial(n, p) draw (std::binomial_distribution on pml::Rng).
template <Real T = double> long binomial(Rng& rng, long n, T p) {
  if (n < 0) pml::detail::throw_domain("binomial", "n", "be non-negative", std::to_string(n));
  check_probability("binomial", "p", p);
  if (p <= T(0) || n == 0) return 0;
  if (p >= T(1)) return n;
  std::binomial_distribution<long> dist(n, static_cast<double>(p));
  return dist(rng);
}

/// Poisson(rate) draw (std::poisson_distribution on pml::Rng).
template <Real T = double> long poisson(Rng& rng, T rate) {
  check_nonnegative("poisson", "rate", rate);
  if (rate == T(0)) return 0;
  std::poisson_distribution<long> dist(static_cast<double>(rate));
  return dist(rng);
}

/// Multinomial(n, probs) draw by sequential conditional binomials.
template <class Derived>
IntVector multinomial(Rng& rng, long n, const Eigen::MatrixBase<Derived>& probs) {
  using T = typename Derived::Scalar;
  check_nonempty("multinomial", "probs", probs.size());
  check_all_nonnegative("multinomial", "probs", probs);
  IntVector counts = IntVector::Zero(probs.size());
  long remaining = n;
  T mass = probs.sum();
  for (Index k = 0; k + 1 < probs.size() && remaining > 0; ++k) {
    const T p = mass > T(0) ? std::min(T(1), probs(k) / mass) : T(0);
    counts(k) = binomial(rng, remaining, p);
    remaining -= counts(k);
    mass -= probs(k);
  }
  counts(probs.size() - 1) += remaining;
  return counts;
}

namespace detail {
/// Calls `draw()` for every coefficient of `out_`, in column-major order.
template <class Derived, class Draw> void fill_with(const Eigen::DenseBase<Derived>& out_, Draw draw) {
  auto& out = const_cast<Eigen::DenseBase<Derived>&>(out_);
  for (Index j = 0; j < out.cols(); ++j)
    for (Index i = 0; i < out.rows(); ++i) out(i, j) = static_cast<typename Derived::Scalar>(draw());
}
}  // namespace detail

/// Fills `out` with Exponential(rate) draws.
template <class Derived>
void fill_exponential(Rng& rng, const Eigen::DenseBase<Derived>& out, typename Derived::Scalar rate = 1) {
  check_positive("fill_exponential", "rate", rate);
  detail::fill_with(out, [&] { return -std::log(rng.uniform_positive()) / static_cast<double>(rate); });
}

/// Fills `out` with Gamma(shape, rate) draws.
template <class Derived>
void fill_gamma(Rng& rng, const Eigen::DenseBase<Derived>& out, typename Derived::Scalar shape,
                typename Derived::Scalar rate = 1) {
  check_positive("fill_gamma", "shape", shape);
  check_positive("fill_gamma", "rate", rate);
  detail::fill_with(out, [&] { return std::exp(log_gamma(rng, static_cast<double>(shape))) / static_cast<double>(rate); });
}

/// Fills `out` with Beta(a, b) draws.
template <class Derived>
void fill_beta(Rng& rng, const Eigen::DenseBase<Derived>& out, typename Derived::Scalar a, typename Derived::Scalar b) {
  check_positive("fill_beta", "a", a);
  check_positive("fill_beta", "b", b);
  detail::fill_with(out, [&] { return beta(rng, static_cast<double>(a), static_cast<double>(b)); });
}

/// Fills an integer array with categorical draws (indices into `probs`).
template <class Derived, class ProbDerived>
void fill_categorical(Rng& rng, const Eigen::DenseBase<Derived>& out, const Eigen::MatrixBase<ProbDerived>& probs) {
  check_nonempty("fill_categorical", "probs", probs.size());
  check_all_nonnegative("fill_categorical", "probs", probs);
  detail::fill_with(out, [&] { return categorical(rng, probs); });
}

/// Wishart(df, V) draw by the Bartlett decomposition, given the lower Cholesky factor L of the
/// scale V = L L^T: W = (L A)(L A)^T with A lower triangular, A_ii^2 ~ chi2(df - i), A_ij ~ N(0, 1).
template <class Derived>
Matrix<typename Derived::Scalar> wishart_from_cholesky(Rng& rng, typename Derived::Scalar df,
                                                        const Eigen::MatrixBase<Derived>& scale_cholesky) {
  using T = typename Derived::Scalar;
  const Index d = scale_cholesky.rows();
  check_greater("wishart", "df", df, d - 1);
  Matrix<T> a = Matrix<T>::Zero(d, d);
  for (Index i = 0; i < d; ++i) {
    a(i, i) = std::sqrt(chi_squared(rng, df - T(i)));
    for (Index j = 0; j < i; ++j) a(i, j) = normal<T>(rng);
  }
  const Matrix<T> la = scale_cholesky.template triangularView<Eigen::Lower>() * a;
  return la * la.transpose();
}

}  // namespace pml::random
