#pragma once
/// @file
/// Umbrella header of pml's reverse-mode autodiff (first slice: tape, arena, core ops, gradcheck).
#include "pml/autodiff/gradcheck.hpp"
#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/tape.hpp"
