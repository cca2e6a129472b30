#pragma once
/// @file
/// Umbrella header for pml's neural building blocks: parameters, Linear, Dropout, MLP, optimisers,
/// gradient clipping and parameter files.

#include "pml/nn/bayesian_linear.hpp"
#include "pml/nn/dropout.hpp"
#include "pml/nn/gradcheck.hpp"
#include "pml/nn/init.hpp"
#include "pml/nn/linear.hpp"
#include "pml/nn/mlp.hpp"
#include "pml/nn/optim.hpp"
#include "pml/nn/parameter.hpp"
#include "pml/nn/serialize.hpp"
