#pragma once
// Shared by the benchmarks/compare/ companion programs: best-of-n wall time.
#include <algorithm>
#include <chrono>

namespace pml_bench {

/// The shortest wall-clock time of `repeats` runs of `f`, in seconds.
template <class F> double best_seconds(int repeats, F f) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace pml_bench
