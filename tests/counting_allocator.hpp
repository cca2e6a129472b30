#pragma once
// Include FIRST (before any Eigen header): turns on Eigen's runtime malloc hook and keeps eigen_assert,
// through which the hook reports, even under NDEBUG (the Release build would compile it out).
#define EIGEN_RUNTIME_NO_MALLOC
#include <cstdio>
#include <cstdlib>
#define eigen_assert(x)                                                  \
  do {                                                                   \
    if (!(x)) {                                                          \
      std::fprintf(stderr, "Eigen assertion failed: %s\n", #x);          \
      std::abort();                                                      \
    }                                                                    \
  } while (0)

// Counts every heap allocation made through the global operator new family, for the "a steady-state
// step allocates nothing" tests. Include in exactly ONE source file of a test executable: it defines the
// replaceable global allocation functions (all of them, plain, array, nothrow and aligned, so memory is
// always released by the matching function, which AddressSanitizer checks).
#include <atomic>
#include <cstdlib>
#include <new>

namespace pml_test {
inline std::atomic<long> allocations{0};
}  // namespace pml_test

// An executable of several files includes this header FIRST in every file (the same Eigen settings in
// each) and defines PML_COUNTING_ALLOCATOR_DECLARE_ONLY before it in all but one, which defines the
// allocation functions.
#ifndef PML_COUNTING_ALLOCATOR_DECLARE_ONLY
// GCC cannot see that these operator delete replacements pair with the malloc-based operator new.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  ++pml_test::allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++pml_test::allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept { return ::operator new(n, tag); }
void* operator new(std::size_t n, std::align_val_t al) {
  ++pml_test::allocations;
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a + (n == 0 ? a : 0))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al) { return ::operator new(n, al); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif  // PML_COUNTING_ALLOCATOR_DECLARE_ONLY
