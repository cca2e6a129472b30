#pragma once
/// @file
/// Basis functions for linear models (PRML §3.1): each maps inputs (N x D) to a design matrix
/// \f$\Phi\f$ (N x M) whose first column is the bias \f$\phi_0 = 1\f$.

#include <cmath>

#include "pml/core/check.hpp"
#include "pml/core/special.hpp"
#include "pml/core/types.hpp"

namespace pml {

/// \f$\phi_j(x) = x^j\f$, j = 0..degree, for one-dimensional inputs (the first column of x).
struct PolynomialBasis {
  int degree = 1;
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
  T scale = 1;
  Matrix<T> design_matrix(const MatrixCRef<T>& x) const {
    check_positive("GaussianBasis", "scale", scale);
    check_size("GaussianBasis::design_matrix", "x", x.cols(), centres.cols(), "columns");
    Matrix<T> d = -T(2) * x * centres.transpose();
    d.colwise() += x.rowwise().squaredNorm();
    d.rowwise() += centres.rowwise().squaredNorm().transpose();
    Matrix<T> phi(x.rows(), centres.rows() + 1);
    phi.col(0).setOnes();
    phi.rightCols(centres.rows()) = (-d.cwiseMax(T(0)) / (T(2) * scale * scale)).array().exp().matrix();
    return phi;
  }
};

/// Logistic sigmoid basis \f$\phi_j(x) = \sigma((x - \mu_j)/s)\f$ (PRML 3.5) for one-dimensional inputs, plus a bias.
template <Real T = double> struct SigmoidBasis {
  Vector<T> centres;
  T scale = 1;
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
template <Real T, class Derived> Matrix<T> design_matrix(const GaussianBasis<T>& basis, const Eigen::MatrixBase<Derived>& x) {
  return basis.design_matrix(MatrixCRef<T>(x));
}
template <Real T, class Derived> Matrix<T> design_matrix(const SigmoidBasis<T>& basis, const Eigen::MatrixBase<Derived>& x) {
  return basis.design_matrix(MatrixCRef<T>(x));
}

}  // namespace pml
