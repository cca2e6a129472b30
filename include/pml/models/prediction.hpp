#pragma once
/// @file
/// The one predictive-distribution result every probabilistic regressor returns.

#include "pml/core/types.hpp"

namespace pml {

/// A Gaussian predictive distribution at N inputs: one row per input, one column per output (N x 1 for
/// single-output models such as BayesianLinearRegression). The variance splits into the noise the model
/// cannot remove (aleatoric) and the uncertainty about its parameters (epistemic), which more data
/// shrinks: variance = aleatoric + epistemic, entry by entry (PRML 3.59; Kendall & Gal 2017).
/// Returned by BayesianLinearRegression::predict, MCDropoutRegressor::predict and BayesByBackprop::predict.
template <Real T> struct Prediction {
  Matrix<T> mean;       ///< N x outputs: predictive mean
  Matrix<T> variance;   ///< N x outputs: predictive variance = aleatoric + epistemic
  Matrix<T> aleatoric;  ///< N x outputs: noise variance (1/β, 1/τ, noise², or the heteroscedastic σ²(x))
  Matrix<T> epistemic;  ///< N x outputs: variance due to the parameters (φᵀS_Nφ, or the spread over posterior samples)
};

}  // namespace pml
