#pragma once
/// @file
/// Umbrella header of pml's reverse-mode autodiff: the tape and its arena, the ops (including the fused
/// probabilistic nodes) and gradcheck.
#include "pml/autodiff/gradcheck.hpp"
#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/scratch.hpp"
#include "pml/autodiff/tape.hpp"
