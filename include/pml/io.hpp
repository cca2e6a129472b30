#pragma once
/// @file
/// Umbrella header for pml's data loading and pictures: CSV, minibatches, SVG, and, with the optional
/// target pml::io (zlib, libpng), gzip, IDX (Fashion-MNIST) and PNG.
#include "pml/io/batches.hpp"
#include "pml/io/csv.hpp"
#include "pml/io/svg.hpp"
#if defined(PML_HAVE_ZLIB)
#include "pml/io/gzip.hpp"
#include "pml/io/idx.hpp"
#endif
#if defined(PML_HAVE_PNG)
#include "pml/io/png.hpp"
#endif
