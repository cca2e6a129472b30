#pragma once
/// @file
/// Umbrella header of pml's conjugate-prior layer.
#include "pml/conjugate/beta_bernoulli.hpp"
#include "pml/conjugate/dirichlet_categorical.hpp"
#include "pml/conjugate/gamma_poisson.hpp"
#include "pml/conjugate/normal_gamma_model.hpp"
#include "pml/conjugate/normal_known_variance.hpp"
#include "pml/conjugate/normal_wishart_model.hpp"
