#pragma once
/// @file
/// Umbrella header for pml's data loading: gzip, IDX (Fashion-MNIST), CSV, minibatches.
#include "pml/io/batches.hpp"
#include "pml/io/csv.hpp"
#include "pml/io/gzip.hpp"
#include "pml/io/idx.hpp"
