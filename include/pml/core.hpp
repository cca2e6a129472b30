#pragma once
/// @file
/// Umbrella header of pml's core layer.
#include "pml/core/check.hpp"
#include "pml/core/enum_names.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/random.hpp"
#include "pml/core/rng.hpp"
#include "pml/core/special.hpp"
#include "pml/core/types.hpp"
#include "pml/core/weights.hpp"
