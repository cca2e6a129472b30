#pragma once
/// @file
/// Umbrella header of pml's Gaussian processes: composable kernels, exact and sparse (Titsias) GP
/// regression and binary GP classification (Laplace).
/// The regressor's optimiser is LBFGS++ (header-only; Debian's liblbfgspp-dev).
#include "pml/models/gaussian_process/kernel.hpp"
#include "pml/models/gaussian_process/regressor.hpp"
#include "pml/models/gaussian_process/classifier.hpp"
#include "pml/models/gaussian_process/sparse_regressor.hpp"
