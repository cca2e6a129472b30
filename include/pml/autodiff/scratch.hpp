#pragma once
/// @file
/// A per-thread scratch tape for const queries (prediction on a fitted network).

#include <cstddef>
#include <optional>

#include "pml/autodiff/tape.hpp"

namespace pml::ad {

/// Lends the calling thread's scratch tape for one query, reset and with the arenas of the thread's
/// earlier queries kept, so that repeated predictions allocate nothing. Each thread has its own
/// (thread_local, one per scalar type): const queries on one model from many threads never share a tape,
/// and nothing of the model is written. Re-entrant: a query that starts another query while it holds
/// the tape gets a fresh tape of its own. A tape grown past `max_kept_scalars` (a very large batch) is
/// released when it is returned, so an idle thread keeps at most about 2 × 8 × 2^22 bytes (64 MiB in double).
///
///     ScratchTape<T> scratch;            // the tape is reset
///     Tape<T>& tape = *scratch;          // use it; it goes back to the thread when `scratch` dies
template <Real T> class ScratchTape {
 public:
  /// Arenas larger than this (in scalars) are not kept between queries.
  static constexpr std::size_t max_kept_scalars = std::size_t(1) << 22;

  ScratchTape() {
    Slot& slot = this_thread();
    if (slot.busy) {
      fresh_.emplace();
      tape_ = &*fresh_;
    } else {
      slot.busy = true;
      slot.tape.reset();
      tape_ = &slot.tape;
    }
  }
  ~ScratchTape() {
    if (fresh_) return;
    Slot& slot = this_thread();
    if (slot.tape.capacity() > max_kept_scalars) slot.tape = Tape<T>();
    else slot.tape.reset();
    slot.busy = false;
  }
  ScratchTape(const ScratchTape&) = delete;
  ScratchTape& operator=(const ScratchTape&) = delete;

  Tape<T>& operator*() noexcept { return *tape_; }   ///< the lent tape
  Tape<T>* operator->() noexcept { return tape_; }   ///< the lent tape

 private:
  struct Slot {
    Tape<T> tape;
    bool busy = false;
  };
  static Slot& this_thread() {
    thread_local Slot slot;
    return slot;
  }
  Tape<T>* tape_ = nullptr;
  std::optional<Tape<T>> fresh_;
};

}  // namespace pml::ad
