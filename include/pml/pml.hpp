#pragma once
/// @file
/// Everything in pml. Including one module's umbrella (pml/core.hpp, pml/distributions.hpp,
/// pml/conjugate.hpp, pml/models/linear.hpp, ..., pml/autodiff.hpp, pml/nn.hpp) or one header compiles faster.
#include "pml/autodiff.hpp"
#include "pml/conjugate.hpp"
#include "pml/core.hpp"
#include "pml/distributions.hpp"
#include "pml/io.hpp"
#include "pml/metrics.hpp"
#include "pml/models/deep.hpp"
#if __has_include(<LBFGSB.h>)  // the Gaussian processes' optimiser (liblbfgspp-dev)
#include "pml/models/gaussian_process.hpp"
#endif
#include "pml/models/cluster.hpp"
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"
#include "pml/nn.hpp"
