#pragma once
/// \file
/// pml on MPI (the optional `pml::mpi` CMake target: Open MPI from Debian's libopenmpi-dev): a
/// `pml::Collective` on an MPI communicator, for the sharded fits (`model.fit(comm, shard, seed)`), and an
/// RAII guard for MPI_Init/MPI_Finalize. The core headers never include MPI; only this one does.
#include <mpi.h>

#include <climits>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "pml/core/collective.hpp"

namespace pml::mpi {

/// Whether MPI_Init has run and MPI_Finalize has not.
inline bool initialized() {
  int started = 0, finished = 0;
  MPI_Initialized(&started);
  MPI_Finalized(&finished);
  return started != 0 && finished == 0;
}

/// MPI_Init_thread (MPI_THREAD_FUNNELED: pml's threads never call MPI) on construction unless MPI is already
/// initialised, and MPI_Finalize on destruction if it initialised MPI. One per program, in main().
class Environment {
 public:
  /// @throw std::runtime_error if MPI cannot be initialised.
  Environment(int& argc, char**& argv) {
    int started = 0;
    MPI_Initialized(&started);
    if (started) return;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw std::runtime_error("pml::mpi::Environment: MPI_Init_thread failed");
    owner_ = true;
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      owner_ = false;
      throw std::runtime_error("pml::mpi::Environment: this MPI library does not support MPI_THREAD_FUNNELED (got level " +
                               std::to_string(provided) + ")");
    }
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment() {
    if (owner_ && initialized()) MPI_Finalize();
  }

 private:
  bool owner_ = false;
};

/// The ranks of an MPI communicator as a pml::Collective. Sums are reduced to rank 0 and broadcast from it,
/// so every rank holds the same bits (an allreduce may round differently on different ranks); maxima use
/// MPI_Allreduce (exact). Every rank must make the same calls in the same order (as for any MPI collective).
/// The communicator is borrowed, not freed.
class Communicator final : public Collective {
 public:
  /// @throw std::logic_error if MPI is not initialised (construct a pml::mpi::Environment first).
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    if (!initialized()) throw std::logic_error("pml::mpi::Communicator: MPI is not initialised; construct a pml::mpi::Environment first");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }
  void sum(double* data, std::size_t n) const override { reduce_broadcast(data, n, MPI_DOUBLE); }
  void sum(float* data, std::size_t n) const override { reduce_broadcast(data, n, MPI_FLOAT); }
  void max(double* data, std::size_t n) const override {
    for (std::size_t at = 0; at < n; at += piece)
      check(MPI_Allreduce(MPI_IN_PLACE, data + at, count(n - at), MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  }
  void broadcast(std::string& bytes, int root) const override {
    unsigned long long length = bytes.size();
    check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, comm_), "MPI_Bcast");
    bytes.resize(static_cast<std::size_t>(length));
    for (std::size_t at = 0; at < bytes.size(); at += piece)
      check(MPI_Bcast(bytes.data() + at, count(bytes.size() - at), MPI_BYTE, root, comm_), "MPI_Bcast");
  }
  /// Prints "pml::mpi: rank r of P: <function>: <what>; ..." on standard error and ends every rank of the job with
  /// MPI_Abort (exit code 1): a sharded fit calls it when this rank leaves by an exception the others do not
  /// share (detail::rethrow_or_abort), which would otherwise leave them waiting in a collective for ever.
  void abort(const char* function, const char* what) const noexcept override {
    std::fprintf(stderr, "pml::mpi: rank %d of %d: %s: %s; no other rank can continue without this one, so MPI_Abort ends them all\n",
                 rank_, size_, function, what);
    std::fflush(stderr);
    MPI_Abort(comm_, 1);
  }
  /// Waits until every rank has reached this call.
  void barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }
  MPI_Comm get() const noexcept { return comm_; }  ///< the MPI communicator

 private:
  static constexpr std::size_t piece = std::size_t(1) << 30;  // elements per MPI call (counts are int)
  static int count(std::size_t left) { return static_cast<int>(left < piece ? left : piece); }
  template <class T> void reduce_broadcast(T* data, std::size_t n, MPI_Datatype type) const {
    for (std::size_t at = 0; at < n; at += piece) {
      const int c = count(n - at);
      if (rank_ == 0)
        check(MPI_Reduce(MPI_IN_PLACE, data + at, c, type, MPI_SUM, 0, comm_), "MPI_Reduce");
      else
        check(MPI_Reduce(data + at, nullptr, c, type, MPI_SUM, 0, comm_), "MPI_Reduce");
      check(MPI_Bcast(data + at, c, type, 0, comm_), "MPI_Bcast");
    }
  }
  static void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw std::runtime_error(std::string("pml::mpi::Communicator: ") + call + " failed: " + std::string(text, static_cast<std::size_t>(length)));
  }
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace pml::mpi
