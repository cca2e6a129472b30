#pragma once
/// @file
/// Umbrella header of pml's clustering models.
#include "pml/models/cluster/gaussian_mixture.hpp"
#include "pml/models/cluster/kmeans.hpp"
#include "pml/models/cluster/variational_gaussian_mixture.hpp"
