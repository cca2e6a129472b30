#pragma once
/// @file
/// Umbrella header of pml's linear models.
#include "pml/models/linear/basis.hpp"
#include "pml/models/linear/bayesian_linear_regression.hpp"
#include "pml/models/linear/bayesian_logistic_regression.hpp"
