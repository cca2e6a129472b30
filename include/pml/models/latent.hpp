#pragma once
/// @file
/// Umbrella header of pml's latent linear models.
#include "pml/models/latent/pca.hpp"
#include "pml/models/latent/probabilistic_pca.hpp"
