#pragma once
/// @file
/// Optional OpenMP parallelism (CMake option PML_OPENMP, off by default). pml parallelises only loops
/// whose work is split into fixed chunks that do not depend on the thread count and whose partial
/// results are combined in chunk order, so a result is bit-for-bit the same for any number of threads,
/// and the same as with OpenMP off. With PML_OPENMP, Eigen's own GEMM threading is switched off
/// (EIGEN_DONT_PARALLELIZE): its blocking depends on the thread count.

#if defined(PML_OPENMP) && defined(_OPENMP)
#include <omp.h>
/// Put before a `for` over independent chunks.
#define PML_PARALLEL_FOR _Pragma("omp parallel for schedule(dynamic, 1)")
#else
#define PML_PARALLEL_FOR
#endif

namespace pml {
/// Whether this build runs pml's chunked loops on several threads.
constexpr bool openmp_enabled() noexcept {
#if defined(PML_OPENMP) && defined(_OPENMP)
  return true;
#else
  return false;
#endif
}
}  // namespace pml
