#pragma once
/// @file
/// Uncertainty and calibration measures for classifiers.

#include "pml/metrics/uncertainty.hpp"
