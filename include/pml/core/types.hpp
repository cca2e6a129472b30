#pragma once
/// @file
/// Scalar, index, vector and matrix types shared by every pml module.

#include <Eigen/Core>
#include <concepts>

namespace pml {

/// Index type of all pml containers (Eigen's signed index).
using Index = Eigen::Index;

/// The scalar types pml models are templated on.
template <class T>
concept Real = std::floating_point<T>;

/// Dynamic column vector of `T`.
template <class T> using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
/// Dynamic row vector of `T`.
template <class T> using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
/// Dynamic column-major matrix of `T`; data sets are N x D with one sample per row.
template <class T> using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
/// Integer column vector (labels, counts).
using IntVector = Eigen::Matrix<long, Eigen::Dynamic, 1>;
/// Integer matrix (rows of counts).
using IntMatrix = Eigen::Matrix<long, Eigen::Dynamic, Eigen::Dynamic>;

/// Read-only view of any vector expression of scalar `T` (maps and blocks bind without a copy).
template <class T> using VectorCRef = Eigen::Ref<const Vector<T>>;
/// Read-only view of any matrix expression of scalar `T`.
template <class T> using MatrixCRef = Eigen::Ref<const Matrix<T>>;
/// Read-only view of an integer vector.
using IntVectorCRef = Eigen::Ref<const IntVector>;
/// Read-only view of an integer matrix.
using IntMatrixCRef = Eigen::Ref<const IntMatrix>;

/// Mathematical constants in the scalar type of the computation.
template <Real T> struct constants {
  static constexpr T pi = T(3.141592653589793238462643383279502884L);  ///< π
  static constexpr T log_pi = T(1.144729885849400174143427351353058712L);  ///< log π
  static constexpr T log_two = T(0.693147180559945309417232121458176568L);  ///< log 2
  static constexpr T log_two_pi = T(1.837877066409345483560659472811235279L);  ///< log 2π
  static constexpr T half_log_two_pi = T(0.918938533204672741780329736405617640L);  ///< ½ log 2π
  static constexpr T euler_gamma = T(0.577215664901532860606512090082402431L);  ///< Euler–Mascheroni γ
};

}  // namespace pml
