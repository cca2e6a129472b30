#pragma once
/// @file
/// Basis functions for linear models (PRML §3.1): each maps inputs (N x D) to a design matrix
/// \f$\Phi\f$ (N x M) whose first column is the bias \f$\phi_0 = 1\f$.

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/special.hpp"
#include "pml/core/types.hpp"

namespace pml {

/// \f$\phi_j(x) = x^j\f$, j = 0..degree, for one-dimensional inputs (the first column of x).
struct PolynomialBasis {
  int degree = 1;  ///< degree of the highest power
  /// \f$\Phi\f$ (N x (degree + 1)) at one-dimensional inputs `x`.
  template <Real T> Matrix<T> design_matrix(const MatrixCRef<T>& x) const {
    if (degree < 0) detail::throw_domain("PolynomialBasis", "degree", "be non-negative", std::to_string(degree));
    check_size("PolynomialBasis::design_matrix", "x", x.cols(), 1, "columns");
    Matrix<T> phi(x.rows(), degree + 1);
    phi.col(0).setOnes();
    for (int j = 1; j <= degree; ++j) phi.col(j) = phi.col(j - 1).cwiseProduct(x.col(0));
    return phi;
  }
};

/// Gaussian radial basis \f$\phi_j(\mathbf x) = \exp(-\|\mathbf x - \boldsymbol\mu_j\|^2 / 2s^2)\f$ (PRML 3.4), plus a bias.
template <Real T = double> struct GaussianBasis {
  Matrix<T> centres;  ///< K x D
  T scale = 1;  ///< s, the common width of the bumps
  /// \f$\Phi\f$ (N x (K + 1)) at inputs `x` (N x D).
  Matrix<T> design_matrix(const MatrixCRef<T>& x) const {
    check_positive("GaussianBasis", "scale", scale);
    check_size("GaussianBasis::design_matrix", "x", x.cols(), centres.cols(), "columns");
    // expanded about the centres' mean (not the origin); entries that still cancelled recomputed exactly
    const RowVector<T> shift = centres.rows() > 0 ? RowVector<T>(centres.colwise().mean()) : RowVector<T>::Zero(centres.cols());
    const Matrix<T> xs = x.rowwise() - shift;
    const Matrix<T> cs = centres.rowwise() - shift;
    const Vector<T> row_norms = xs.rowwise().squaredNorm();
    const RowVector<T> centre_norms = cs.rowwise().squaredNorm().transpose();
    Matrix<T> d = -T(2) * xs * cs.transpose();
    d.colwise() += row_norms;
    d.rowwise() += centre_norms;
    detail::refine_squared_distances<T>(xs, row_norms, cs, centre_norms, d);
    Matrix<T> phi(x.rows(), centres.rows() + 1);
    phi.col(0).setOnes();
    phi.rightCols(centres.rows()) = (-d.cwiseMax(T(0)) / (T(2) * scale * scale)).array().exp().matrix();
    return phi;
  }
};

/// Logistic sigmoid basis \f$\phi_j(x) = \sigma((x - \mu_j)/s)\f$ (PRML 3.5) for one-dimensional inputs, plus a bias.
template <Real T = double> struct SigmoidBasis {
  Vector<T> centres;  ///< the centres μ_j
  T scale = 1;  ///< s, the common slope scale
  /// \f$\Phi\f$ (N x (K + 1)) at one-dimensional inputs `x`.
  Matrix<T> design_matrix(const MatrixCRef<T>& x) const {
    check_positive("SigmoidBasis", "scale", scale);
    check_size("SigmoidBasis::design_matrix", "x", x.cols(), 1, "columns");
    Matrix<T> phi(x.rows(), centres.size() + 1);
    phi.col(0).setOnes();
    for (Index j = 0; j < centres.size(); ++j)
      phi.col(j + 1) = pml::sigmoid(((x.col(0).array() - centres(j)) / scale).eval()).matrix();
    return phi;
  }
};

/// The inputs themselves, with a leading bias column.
struct IdentityBasis {
  /// \f$\Phi\f$ = [1, x] (N x (D + 1)).
  template <Real T> Matrix<T> design_matrix(const MatrixCRef<T>& x) const {
    Matrix<T> phi(x.rows(), x.cols() + 1);
    phi.col(0).setOnes();
    phi.rightCols(x.cols()) = x;
    return phi;
  }
};

/// \f$\Phi\f$ for `basis` at inputs `x`: `design_matrix(PolynomialBasis{3}, x)`.
template <class Basis, class Derived> auto design_matrix(const Basis& basis, const Eigen::MatrixBase<Derived>& x) {
  using T = typename Derived::Scalar;
  return basis.template design_matrix<T>(MatrixCRef<T>(x));
}
/// \f$\Phi\f$ for a GaussianBasis at inputs `x`.
template <Real T, class Derived> Matrix<T> design_matrix(const GaussianBasis<T>& basis, const Eigen::MatrixBase<Derived>& x) {
  return basis.design_matrix(MatrixCRef<T>(x));
}
/// \f$\Phi\f$ for a SigmoidBasis at inputs `x`.
template <Real T, class Derived> Matrix<T> design_matrix(const SigmoidBasis<T>& basis, const Eigen::MatrixBase<Derived>& x) {
  return basis.design_matrix(MatrixCRef<T>(x));
}

/// A basis named by a short text, so that it can be given on a command line and recorded in a model file
/// (BayesianLinearRegressionOptions::basis): "identity" (the inputs and a bias column, any D), "poly:D"
/// (PolynomialBasis of degree D), "rbf:K:s:lo:hi" (K GaussianBasis bumps of width s with centres evenly
/// spaced over [lo, hi]) and "sigmoid:K:s:lo:hi" (the same for SigmoidBasis). poly, rbf and sigmoid take
/// one-dimensional inputs. "rbf:K:s" and "sigmoid:K:s" leave the range open; with_range() fills it from data.
struct NamedBasis {
  /// The basis families a NamedBasis can name.
  enum class Kind { identity, polynomial, gaussian, sigmoid };
  Kind kind = Kind::identity;  ///< which family
  int degree = 1;              ///< polynomial degree
  Index count = 0;             ///< number of Gaussian / sigmoid centres
  double scale = 1;            ///< width of the Gaussian / sigmoid bumps
  double low = std::numeric_limits<double>::quiet_NaN();   ///< first centre (NaN: not yet set)
  double high = std::numeric_limits<double>::quiet_NaN();  ///< last centre (NaN: not yet set)

  /// Whether the centres are placed (always true for identity and poly).
  bool has_range() const noexcept { return kind == Kind::identity || kind == Kind::polynomial || (std::isfinite(low) && std::isfinite(high)); }
  /// This basis with an open range set to the smallest and largest value of the first column of `x`.
  template <class Derived> NamedBasis with_range(const Eigen::MatrixBase<Derived>& x) const {
    NamedBasis b = *this;
    if (!b.has_range()) {
      check_nonempty("NamedBasis::with_range", "x", x.rows());
      b.low = static_cast<double>(x.col(0).minCoeff());
      b.high = static_cast<double>(x.col(0).maxCoeff());
    }
    return b;
  }
  /// \f$\Phi\f$ (N x M, first column the bias) at inputs `x`.
  /// @throw std::logic_error if the centres' range is still open; the basis' own errors for wrong widths.
  template <Real T> Matrix<T> design_matrix(const MatrixCRef<T>& x) const {
    switch (kind) {
      case Kind::identity: return IdentityBasis{}.design_matrix<T>(x);
      case Kind::polynomial: return PolynomialBasis{degree}.design_matrix<T>(x);
      case Kind::gaussian:
      case Kind::sigmoid: break;
    }
    if (!has_range()) throw std::logic_error("NamedBasis::design_matrix: the centres of '" + str() + "' have no range; call with_range(x) first");
    Vector<T> centres(count);
    for (Index j = 0; j < count; ++j)
      centres(j) = static_cast<T>(count == 1 ? low : low + (high - low) * static_cast<double>(j) / static_cast<double>(count - 1));
    if (kind == Kind::gaussian) return GaussianBasis<T>{Matrix<T>(centres), static_cast<T>(scale)}.design_matrix(x);
    return SigmoidBasis<T>{centres, static_cast<T>(scale)}.design_matrix(x);
  }
  /// The text that parse_basis() reads back to this basis (shortest round-trip numbers).
  std::string str() const {
    auto num = [](double v) {
      char buf[32];
      return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    };
    switch (kind) {
      case Kind::identity: return "identity";
      case Kind::polynomial: return "poly:" + std::to_string(degree);
      case Kind::gaussian:
      case Kind::sigmoid: break;
    }
    std::string t = std::string(kind == Kind::gaussian ? "rbf:" : "sigmoid:") + std::to_string(count) + ":" + num(scale);
    if (has_range()) t += ":" + num(low) + ":" + num(high);
    return t;
  }
};

/// Reads a basis from its text (see NamedBasis): `parse_basis("poly:3")`.
/// @throw std::invalid_argument naming the text and what is wrong with it.
inline NamedBasis parse_basis(std::string_view text) {
  auto fail = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("parse_basis: basis '" + std::string(text) + "' " + why +
                                 " (expected identity, poly:DEGREE, rbf:COUNT:SCALE[:LOW:HIGH] or sigmoid:COUNT:SCALE[:LOW:HIGH])");
  };
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  auto number = [&](std::string_view p, const char* what) {
    double v = 0;
    const auto res = std::from_chars(p.data(), p.data() + p.size(), v);
    if (res.ec != std::errc() || res.ptr != p.data() + p.size() || !std::isfinite(v)) throw fail(std::string("has a bad ") + what + " '" + std::string(p) + "'");
    return v;
  };
  auto integer = [&](std::string_view p, const char* what) {
    long v = 0;
    const auto res = std::from_chars(p.data(), p.data() + p.size(), v);
    if (res.ec != std::errc() || res.ptr != p.data() + p.size() || v < 0 || v > 1000000) throw fail(std::string("has a bad ") + what + " '" + std::string(p) + "'");
    return v;
  };
  NamedBasis b;
  if (parts[0] == "identity" || parts[0] == "linear") {
    if (parts.size() != 1) throw fail("takes no parameters");
    return b;
  }
  if (parts[0] == "poly") {
    if (parts.size() != 2) throw fail("needs one parameter, the degree");
    b.kind = NamedBasis::Kind::polynomial;
    b.degree = static_cast<int>(integer(parts[1], "degree"));
    return b;
  }
  if (parts[0] == "rbf" || parts[0] == "sigmoid") {
    if (parts.size() != 3 && parts.size() != 5) throw fail("needs COUNT:SCALE or COUNT:SCALE:LOW:HIGH");
    b.kind = parts[0] == "rbf" ? NamedBasis::Kind::gaussian : NamedBasis::Kind::sigmoid;
    b.count = integer(parts[1], "count");
    if (b.count < 1) throw fail("needs at least one centre");
    b.scale = number(parts[2], "scale");
    if (!(b.scale > 0)) throw fail("needs a positive scale");
    if (parts.size() == 5) {
      b.low = number(parts[3], "low end");
      b.high = number(parts[4], "high end");
      if (!(b.low <= b.high)) throw fail("has its low end above its high end");
    }
    return b;
  }
  throw fail("is not a known basis");
}

}  // namespace pml
