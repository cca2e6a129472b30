#pragma once
/// @file
/// Moved: model files are their own layer now, pml/serialization/model_file.hpp (same names, namespace
/// pml::io). This forwarding header stays for code written before the move.
#include "pml/serialization/model_file.hpp"
