#pragma once
/// \file
/// pml over MPI: link the optional CMake target `pml::mpi` (found only when MPI is). See pml/mpi/communicator.hpp.
#include "pml/mpi/communicator.hpp"
