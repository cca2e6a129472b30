#pragma once
/// @file
/// Umbrella header for pml's data loading and pictures: gzip, IDX (Fashion-MNIST), CSV, minibatches, PNG.
#include "pml/io/batches.hpp"
#include "pml/io/csv.hpp"
#include "pml/io/gzip.hpp"
#include "pml/io/idx.hpp"
#include "pml/io/png.hpp"
#include "pml/io/svg.hpp"
