#pragma once
// Shared helpers for pml's tests: goodness-of-fit statistics and numerical integration.

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace pml_test {

/// Formats a short decimal as Python's repr does (4.0 -> "4.0", 0.3 -> "0.3"): the fixture keys.
inline std::string py(double x) {
  std::ostringstream os;
  os << x;
  std::string s = os.str();
  if (s.find('.') == std::string::npos && s.find('e') == std::string::npos) s += ".0";
  return s;
}

/// A row-major (C order, as numpy writes) array viewed as an Eigen matrix.
inline Eigen::MatrixXd rows(const std::vector<double>& v, Eigen::Index r, Eigen::Index c) {
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(v.data(), r, c);
}
/// A flat array as an Eigen vector.
inline Eigen::VectorXd vec(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

/// Kolmogorov–Smirnov statistic of a sample against a continuous CDF.
template <class V, class Cdf> double ks_statistic(const V& sample, Cdf cdf) {
  std::vector<double> xs(sample.data(), sample.data() + sample.size());
  std::sort(xs.begin(), xs.end());
  const double n = static_cast<double>(xs.size());
  double d = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double f = cdf(xs[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

/// Critical value of the KS statistic at significance 0.001 (asymptotic: 1.95 / sqrt(n)).
inline double ks_critical(std::size_t n) { return 1.95 / std::sqrt(static_cast<double>(n)); }

/// Pearson chi-square statistic of observed counts against expected counts (bins with expected
/// count below 5 are merged into their neighbour).
inline double chi_square(const std::vector<double>& observed, const std::vector<double>& expected, int* dof) {
  double stat = 0, o = 0, e = 0;
  int bins = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    o += observed[i];
    e += expected[i];
    if (e >= 5) {
      stat += (o - e) * (o - e) / e;
      o = e = 0;
      ++bins;
    }
  }
  if (e > 0) {
    stat += (o - e) * (o - e) / e;
    ++bins;
  }
  *dof = bins - 1;
  return stat;
}

/// Result of a chi-square goodness-of-fit test: the statistic and the 0.001 critical value.
struct ChiSquare {
  double statistic;
  double critical;
  int dof;
};
inline double chi_square_critical(int dof);
/// Pearson chi-square test of observed against expected counts at significance 0.001.
inline ChiSquare chi_square_test(const std::vector<double>& observed, const std::vector<double>& expected) {
  ChiSquare r{};
  r.statistic = chi_square(observed, expected, &r.dof);
  r.critical = chi_square_critical(r.dof);
  return r;
}

/// Upper 0.001 quantile of chi-square with `dof` degrees of freedom (Wilson–Hilferty).
inline double chi_square_critical(int dof) {
  const double k = dof, z = 3.090232;  // z_{0.999}
  const double t = 1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k));
  return k * t * t * t;
}

/// Composite Simpson integral of f on [a, b] with n (even) panels.
inline double integrate(const std::function<double(double)>& f, double a, double b, int n = 20000) {
  const double h = (b - a) / n;
  double s = f(a) + f(b);
  for (int i = 1; i < n; ++i) s += f(a + i * h) * (i % 2 ? 4 : 2);
  return s * h / 3;
}

}  // namespace pml_test
