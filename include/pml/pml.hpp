#pragma once
/// @file
/// Everything in pml. Including one module's umbrella (pml/core.hpp, pml/distributions.hpp,
/// pml/conjugate.hpp) or one header compiles faster.
#include "pml/conjugate.hpp"
#include "pml/core.hpp"
#include "pml/distributions.hpp"
