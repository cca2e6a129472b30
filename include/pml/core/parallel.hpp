#pragma once
/// @file
/// Threads: pml runs its heavy loops on every hardware thread by default, through OpenMP (CMake option
/// `PML_OPENMP`, on by default; the `pml::pml` target links `OpenMP::OpenMP_CXX` when it is found, and a
/// build without OpenMP runs everything on one thread).
///
/// **Results do not depend on the thread count.** A parallel loop is split into chunks fixed by the data
/// size (never by the number of threads); each chunk writes its own rows or its own partial result, and
/// partial results are combined in chunk order on one thread. So `fit`, `predict`, `score_samples`, ...
/// give the same bits on 1, 2, 3 or 64 threads (tests/core/test_parallel.cpp checks every parallel path
/// at 1 to 4 threads, also under ThreadSanitizer). Random streams are never shared between chunks.
/// Eigen's own GEMM threading is switched off when pml uses OpenMP (`EIGEN_DONT_PARALLELIZE`): its
/// blocking, hence its rounding, depends on the thread count.
///
/// The thread count: `pml::set_num_threads(n)`; before the first call, the environment variable
/// `PML_NUM_THREADS` if set, else OpenMP's default (`OMP_NUM_THREADS`, else every hardware thread).
/// A loop already running on an OpenMP thread (a caller's own parallel region) runs its chunks serially.
/// A process forked after pml has started threads runs on one thread (OpenMP's thread pool does not
/// survive fork(): GCC's libgomp would hang in the child's first parallel region).

#include <atomic>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#if defined(PML_OPENMP) && defined(_OPENMP)
#include <omp.h>
/// 1 when pml's loops run on OpenMP threads (PML_OPENMP defined and the compiler's OpenMP on), else 0.
#define PML_HAVE_OPENMP_THREADS 1
#else
/// 1 when pml's loops run on OpenMP threads (PML_OPENMP defined and the compiler's OpenMP on), else 0.
#define PML_HAVE_OPENMP_THREADS 0
#endif
#if PML_HAVE_OPENMP_THREADS && defined(__unix__)
#include <pthread.h>
#endif

namespace pml {
/// Whether this build runs pml's loops on several threads (OpenMP found and `PML_OPENMP` on).
constexpr bool openmp_enabled() noexcept { return PML_HAVE_OPENMP_THREADS != 0; }

namespace detail {
// The number set by set_num_threads(); 0: not set (PML_NUM_THREADS or OpenMP's default).
inline std::atomic<int>& thread_setting() noexcept {
  static std::atomic<int> n{0};
  return n;
}
// Set in a child process forked after pml started OpenMP threads: the child then runs on one thread.
inline std::atomic<bool>& forked_after_threads() noexcept {
  static std::atomic<bool> forked{false};
  return forked;
}
// Registers (once) the fork handler that sets forked_after_threads() in a child.
inline void watch_fork() noexcept {
#if PML_HAVE_OPENMP_THREADS && defined(__unix__)
  static const bool registered = [] { return pthread_atfork(nullptr, nullptr, [] { forked_after_threads().store(true); }) == 0; }();
  (void)registered;
#endif
}
// PML_NUM_THREADS, read once: 0 when unset. @throw std::invalid_argument for anything but an integer >= 1.
inline int environment_threads() {
  static const int n = [] {
    const char* text = std::getenv("PML_NUM_THREADS");
    if (text == nullptr || *text == '\0') return 0;
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 1 || v > 1 << 16)
      throw std::invalid_argument(std::string("pml::get_num_threads: the environment variable PML_NUM_THREADS must be an integer in [1, 65536], got '") +
                                  text + "'");
    return static_cast<int>(v);
  }();
  return n;
}
}  // namespace detail

/// Sets how many threads pml's parallel loops use from now on (process-wide; 1 gives one thread).
/// `n = 0` returns to the default (`PML_NUM_THREADS`, else OpenMP's). Results are the same for any `n`.
/// In a build without OpenMP the setting is kept but every loop runs on one thread.
/// @throw std::invalid_argument for n < 0.
inline void set_num_threads(int n) {
  if (n < 0) throw std::invalid_argument("pml::set_num_threads: n must be >= 0 (0: the default), got " + std::to_string(n));
  detail::thread_setting().store(n, std::memory_order_relaxed);
}

/// The number of threads pml's parallel loops use now: set_num_threads()'s value, else
/// `PML_NUM_THREADS`, else OpenMP's default (`omp_get_max_threads()`); always 1 without OpenMP, and 1 in
/// a process forked after pml started threads.
/// @throw std::invalid_argument if `PML_NUM_THREADS` is set to anything but an integer in [1, 65536].
inline int get_num_threads() {
  const int set = detail::thread_setting().load(std::memory_order_relaxed);
  const int env = detail::environment_threads();  // validated even when not used
#if PML_HAVE_OPENMP_THREADS
  if (detail::forked_after_threads().load(std::memory_order_relaxed)) return 1;
  if (set > 0) return set;
  if (env > 0) return env;
  return omp_get_max_threads();
#else
  (void)set;
  (void)env;
  return 1;
#endif
}

namespace detail {
/// Rows [0, n) in chunks of `size` rows (the last one shorter): boundaries depend on n and size only.
struct Chunks {
  Eigen::Index n = 0;     ///< rows in all
  Eigen::Index size = 1;  ///< rows per chunk
  Eigen::Index count() const noexcept { return n == 0 ? 0 : (n + size - 1) / size; }
  Eigen::Index begin(Eigen::Index c) const noexcept { return c * size; }
  Eigen::Index end(Eigen::Index c) const noexcept { return std::min(n, (c + 1) * size); }
  Eigen::Index rows(Eigen::Index c) const noexcept { return end(c) - begin(c); }
};

/// Chunks of [0, n) of at least `min_rows` rows (a multiple of `align`), at most `max_chunks` of them:
/// the split depends on n and these constants only, never on the thread count.
inline Chunks split_rows(Eigen::Index n, Eigen::Index min_rows, Eigen::Index max_chunks, Eigen::Index align = 1) {
  Eigen::Index size = std::max<Eigen::Index>(min_rows, (n + max_chunks - 1) / std::max<Eigen::Index>(1, max_chunks));
  size = (size + align - 1) / align * align;
  return {n, std::max<Eigen::Index>(1, size)};
}

/// Runs task(i) for i in [0, count), on up to get_num_threads() threads (each i once; any order).
/// The tasks must write disjoint data. If tasks throw, every task still runs and the exception of the
/// lowest i is rethrown (the same one whatever the thread count).
template <class Task> void parallel_for(Eigen::Index count, Task&& task) {
  if (count <= 0) return;
#if PML_HAVE_OPENMP_THREADS
  const int threads = static_cast<int>(std::min<Eigen::Index>(get_num_threads(), count));
  if (threads > 1 && !omp_in_parallel()) {
    watch_fork();
    // no allocation here (a training step must not allocate): the first failure by index is kept
    std::exception_ptr error;
    Eigen::Index failed = count;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (Eigen::Index i = 0; i < count; ++i) {
      try {
        task(i);
      } catch (...) {
#pragma omp critical(pml_parallel_for_error)
        if (i < failed) {
          failed = i;
          error = std::current_exception();
        }
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  for (Eigen::Index i = 0; i < count; ++i) task(i);
}

/// Runs task(c, begin, end) for every chunk c of `chunks` (see parallel_for()).
template <class Task> void parallel_chunks(const Chunks& chunks, Task&& task) {
  parallel_for(chunks.count(), [&](Eigen::Index c) { task(c, chunks.begin(c), chunks.end(c)); });
}

/// Sum over chunks of a per-chunk partial result, combined in chunk order: partial(c, begin, end, out)
/// fills `out` (the value `zero` on entry) for the rows of chunk c. The same bits for any thread count.
template <class Value, class Partial> Value parallel_sum(const Chunks& chunks, const Value& zero, Partial&& partial) {
  const Eigen::Index count = chunks.count();
  if (count == 0) return zero;
  std::vector<Value> parts(static_cast<std::size_t>(count), zero);
  parallel_chunks(chunks, [&](Eigen::Index c, Eigen::Index b, Eigen::Index e) { partial(c, b, e, parts[static_cast<std::size_t>(c)]); });
  Value total = std::move(parts[0]);
  for (std::size_t c = 1; c < parts.size(); ++c) total += parts[c];
  return total;
}

/// Runs pass(stream) for `count` Monte Carlo passes on up to get_num_threads() threads and returns the
/// results in pass order. Pass t draws from its own generator, split from `rng` in pass order before any
/// pass runs (`Generator::split()`), so the results are the same for any thread count; `rng` is left
/// `count` splits ahead. Used by the MC-dropout and Bayes-by-Backprop prediction passes.
template <class Result, class Generator, class Pass> std::vector<Result> parallel_passes(int count, Generator& rng, Pass&& pass) {
  std::vector<Generator> streams;
  streams.reserve(static_cast<std::size_t>(std::max(count, 0)));
  for (int t = 0; t < count; ++t) streams.push_back(rng.split());
  std::vector<Result> out(static_cast<std::size_t>(std::max(count, 0)));
  parallel_for(count, [&](Eigen::Index t) { out[static_cast<std::size_t>(t)] = pass(streams[static_cast<std::size_t>(t)]); });
  return out;
}

/// A per-row result (a vector of n, or a matrix of n rows) computed chunk by chunk: rows(begin, count)
/// returns the result for input rows [begin, begin + count). The chunks (at least 2048 rows) are fixed by n,
/// so the result is the same for any thread count; n <= 2048 is one call.
template <class Result, class Rows> Result map_rows(Eigen::Index n, Rows&& rows) {
  const Chunks chunks = split_rows(n, 2048, Eigen::Index(1) << 20);
  if (chunks.count() <= 1) return Result(rows(Eigen::Index(0), n));
  std::vector<Result> parts(static_cast<std::size_t>(chunks.count()));
  parallel_chunks(chunks, [&](Eigen::Index c, Eigen::Index b, Eigen::Index e) { parts[static_cast<std::size_t>(c)] = rows(b, e - b); });
  Result out;
  if constexpr (Result::ColsAtCompileTime == 1)
    out.resize(n);
  else
    out.resize(n, parts[0].cols());
  for (Eigen::Index c = 0; c < chunks.count(); ++c) out.middleRows(chunks.begin(c), chunks.rows(c)) = parts[static_cast<std::size_t>(c)];
  return out;
}
}  // namespace detail
}  // namespace pml
