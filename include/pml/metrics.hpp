#pragma once
/// @file
/// Uncertainty and calibration measures for classifiers; the agreement of a clustering with classes.

#include "pml/metrics/clustering.hpp"
#include "pml/metrics/uncertainty.hpp"
