// What the MPI test executables share: the communicator, each rank's shard of N rows, and main().
#pragma once
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "pml/mpi.hpp"

namespace mpi_test {

inline const pml::mpi::Communicator& world() {
  static const pml::mpi::Communicator comm;
  return comm;
}

// Rows [begin, end) of rank r of P: shares in proportion 1, 2, 3, ... (uneven), and rank 1 empty when P >= 3.
inline std::pair<Eigen::Index, Eigen::Index> shard_of(Eigen::Index n, int rank, int size) {
  std::vector<double> share(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) share[static_cast<std::size_t>(r)] = (size >= 3 && r == 1) ? 0.0 : double(r + 1);
  double total = 0;
  for (double s : share) total += s;
  double before = 0;
  for (int r = 0; r < rank; ++r) before += share[static_cast<std::size_t>(r)];
  const auto at = [&](double f) { return static_cast<Eigen::Index>(std::floor(f / total * double(n))); };
  return {at(before), rank == size - 1 ? n : at(before + share[static_cast<std::size_t>(rank)])};
}

// Max |a - b| over max |b|.
template <class A, class B> double relative(const A& a, const B& b) {
  return double((a - b).cwiseAbs().maxCoeff()) / std::max(1e-300, double(b.cwiseAbs().maxCoeff()));
}

// main() of a test executable (the file defines CATCH_CONFIG_RUNNER): MPI started and finished around the
// session; every rank's verdict is its exit code (mpirun fails if any rank returns non-zero).
inline int run_tests(int argc, char** argv) {
  pml::mpi::Environment mpi(argc, argv);
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  return session.run() == 0 ? 0 : 1;
}

}  // namespace mpi_test

using mpi_test::relative;
using mpi_test::shard_of;
using mpi_test::world;
