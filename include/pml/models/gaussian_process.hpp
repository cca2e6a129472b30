#pragma once
/// @file
/// Umbrella header of pml's Gaussian processes: composable kernels and exact GP regression.
/// The regressor's optimiser is LBFGS++ (header-only; Debian's liblbfgspp-dev).
#include "pml/models/gaussian_process/kernel.hpp"
#include "pml/models/gaussian_process/regressor.hpp"
