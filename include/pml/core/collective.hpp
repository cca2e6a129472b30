#pragma once
/// \file
/// The processes a sharded fit runs on. Each process (rank) holds some of the rows of the data; a model's
/// fit() sees the other ranks only through these collectives: elementwise sums and maxima of small arrays
/// (sufficient statistics, never rows in bulk) and one string broadcast (an error message). The core is
/// MPI-free: `Collective::single()` is the one process, and `pml::mpi::Communicator` (pml/mpi.hpp, the
/// optional `pml::mpi` CMake target) runs them on MPI. docs/scaling.md says which models take one.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <stdexcept>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "pml/core/linalg.hpp"
#include "pml/core/random.hpp"
#include "pml/core/types.hpp"

namespace pml {

/// A group of processes that each hold a shard of the rows (rank 0..size-1).
/// Every rank must call the same collectives in the same order with arrays of the same length.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const noexcept = 0;  ///< this process, 0..size()-1
  virtual int size() const noexcept = 0;  ///< the number of processes
  /// Elementwise sum over the ranks, in place. Every rank receives the same bits (pml::mpi reduces to one
  /// rank and broadcasts; MPI recommends, without requiring, that a reduction repeated on the same arguments
  /// repeat its bits).
  virtual void sum(double* data, std::size_t n) const = 0;
  virtual void sum(float* data, std::size_t n) const = 0;  ///< sum() in float
  /// Elementwise maximum over the ranks, in place.
  virtual void max(double* data, std::size_t n) const = 0;
  /// Copies `bytes` of rank `root` to every rank (resized as needed).
  virtual void broadcast(std::string& bytes, int root) const = 0;
  /// Called on a rank whose sharded fit is leaving by an exception that the other ranks may not share (an
  /// allocation failure, an I/O error, a user's callback: not a check, not thrown by agree()), so they would
  /// wait for it for ever in their next collective: `function` is the fit's name, `what` the exception's
  /// message (no allocation is needed to report them: memory may be what ran out).
  /// pml::mpi::Communicator prints them and ends every rank with MPI_Abort; the default does nothing (the
  /// exception propagates: right for one process, and for a collective that can recover by itself).
  virtual void abort(const char* function, const char* what) const noexcept {
    (void)function;
    (void)what;
  }

  /// The one process: every collective returns its input.
  static const Collective& single();
};

namespace detail {
class SingleProcess final : public Collective {
 public:
  int rank() const noexcept override { return 0; }
  int size() const noexcept override { return 1; }
  void sum(double*, std::size_t) const override {}
  void sum(float*, std::size_t) const override {}
  void max(double*, std::size_t) const override {}
  void broadcast(std::string&, int) const override {}
};
}  // namespace detail

inline const Collective& Collective::single() {
  static const detail::SingleProcess one;
  return one;
}

/// The mark of an exception that agree() throws on every rank: `catch (const pml::ThrownOnEveryRank&)` (or a
/// dynamic_cast) tells it from an exception of this rank alone, after which the other ranks may be waiting.
class ThrownOnEveryRank {
 public:
  virtual ~ThrownOnEveryRank() = default;
};

/// An exception of type E that every rank throws (agree()): an E and a ThrownOnEveryRank.
template <class E> class OnEveryRank final : public E, public ThrownOnEveryRank {
 public:
  using E::E;
};

namespace detail {

/// Sums a contiguous Eigen object (vector or matrix) over the ranks, in place.
template <class Derived> void all_sum(const Collective& ranks, Eigen::PlainObjectBase<Derived>& a) {
  if (ranks.size() > 1 && a.size() > 0) ranks.sum(a.data(), static_cast<std::size_t>(a.size()));
}
/// A scalar summed over the ranks.
template <Real T> T all_sum(const Collective& ranks, T value) {
  if (ranks.size() > 1) ranks.sum(&value, 1);
  return value;
}
/// A scalar's maximum over the ranks (in double: exact for float and for integers below 2^53).
inline double all_max(const Collective& ranks, double value) {
  if (ranks.size() > 1) ranks.max(&value, 1);
  return value;
}
/// Each rank's value of a count, in rank order (exact below 2^53).
inline std::vector<Index> all_counts(const Collective& ranks, Index local) {
  std::vector<double> counts(static_cast<std::size_t>(ranks.size()), 0.0);
  counts[static_cast<std::size_t>(ranks.rank())] = static_cast<double>(local);
  if (ranks.size() > 1) ranks.sum(counts.data(), counts.size());
  return std::vector<Index>(counts.begin(), counts.end());
}

/// Where this rank's rows stand among every rank's (rank order is row order): the rows of all ranks and the
/// position of this rank's first row. One collective (all_counts()).
struct ShardPlace {
  Index total = 0;   ///< rows on all ranks together
  Index offset = 0;  ///< the position of this rank's first row among them
};
/// shard_place(ranks, this rank's row count): see ShardPlace.
inline ShardPlace shard_place(const Collective& ranks, Index local) {
  const std::vector<Index> counts = all_counts(ranks, local);
  ShardPlace place;
  for (int r = 0; r < ranks.size(); ++r) {
    if (r == ranks.rank()) place.offset = place.total;
    place.total += counts[static_cast<std::size_t>(r)];
  }
  return place;
}

/// Runs `local` (a rank's own checks and work between collectives) on every rank and makes the ranks agree on
/// its outcome: if it throws on any rank, every rank throws the same exception type with the lowest failing
/// rank's message followed by " (on rank r of P)", so no rank is left waiting in a later collective. On one
/// process it is just `local()`: messages are unchanged.
template <class Local> void agree(const Collective& ranks, Local&& local) {
  if (ranks.size() == 1) {
    local();
    return;
  }
  char kind = 0;  // 0: none; 'i' invalid_argument, 'd' domain_error, 'o' out_of_range, 'L' length_error, 'l' logic_error, 'r' other
  std::string message;
  try {
    local();
  } catch (const std::invalid_argument& e) {
    kind = 'i', message = e.what();
  } catch (const std::domain_error& e) {
    kind = 'd', message = e.what();
  } catch (const std::out_of_range& e) {
    kind = 'o', message = e.what();
  } catch (const std::length_error& e) {
    kind = 'L', message = e.what();
  } catch (const std::logic_error& e) {
    kind = 'l', message = e.what();
  } catch (const std::exception& e) {
    kind = 'r', message = e.what();
  } catch (...) {
    kind = 'r', message = "an exception of unknown type";
  }
  std::vector<double> failed(static_cast<std::size_t>(ranks.size()), 0.0);
  failed[static_cast<std::size_t>(ranks.rank())] = kind != 0 ? 1.0 : 0.0;
  ranks.sum(failed.data(), failed.size());
  const auto first = std::find_if(failed.begin(), failed.end(), [](double f) { return f > 0; });
  if (first == failed.end()) return;
  const int root = static_cast<int>(first - failed.begin());
  std::string packet = kind != 0 ? std::string(1, kind) + message : std::string();
  ranks.broadcast(packet, root);
  const std::string text = packet.substr(1) + " (on rank " + std::to_string(root) + " of " + std::to_string(ranks.size()) + ")";
  switch (packet.empty() ? 'r' : packet[0]) {
    case 'i': throw OnEveryRank<std::invalid_argument>(text);
    case 'd': throw OnEveryRank<std::domain_error>(text);
    case 'o': throw OnEveryRank<std::out_of_range>(text);
    case 'L': throw OnEveryRank<std::length_error>(text);
    case 'l': throw OnEveryRank<std::logic_error>(text);
    default: throw OnEveryRank<std::runtime_error>(text);
  }
}

}  // namespace detail
}  // namespace pml

/// Opens the function-try-block of a sharded function's body: `auto Model::fit(const Collective& ranks, ...)
/// -> Model& PML_RANKS_TRY { ... } PML_RANKS_CATCH(ranks, "Model::fit")` (pml::detail::rethrow_or_abort).
/// (Doxygen, which cannot parse a function-try-block, sees both as nothing: docs/Doxyfile.in's PREDEFINED.)
#define PML_RANKS_TRY try
/// Closes PML_RANKS_TRY's block: an exception of this rank alone ends every rank (Collective::abort).
#define PML_RANKS_CATCH(ranks, function) \
  catch (...) {                         \
    ::pml::detail::rethrow_or_abort(ranks, function); \
  }

namespace pml {
namespace detail {

/// The handler of a sharded function's function-try-block (PML_RANKS_TRY / PML_RANKS_CATCH): rethrows the exception in flight when every rank throws it too — on one process; a
/// check (std::logic_error and its kind: pml's checks run inside agree() or on numbers every rank shares);
/// one thrown by agree() — and otherwise calls ranks.abort() with the function's name and the exception's
/// message first (pml::mpi ends every rank there), so that no rank is left waiting in a collective. (An
/// allocation that fails alike on every rank ends the job too: a rank cannot know that the others failed.)
/// With `checks_on_every_rank` false (inside a step every rank runs together, whose checks may fail on one rank
/// alone) only agree()'s exceptions are rethrown; every other one ends the job.
[[noreturn]] inline void rethrow_or_abort(const Collective& ranks, const char* function, bool checks_on_every_rank = true) {
  if (ranks.size() == 1) throw;
  try {
    throw;
  } catch (const ThrownOnEveryRank&) {
    throw;
  } catch (const std::logic_error& e) {
    if (!checks_on_every_rank) ranks.abort(function, e.what());
    throw;
  } catch (const std::exception& e) {
    ranks.abort(function, e.what());
    throw;
  } catch (...) {
    ranks.abort(function, "an exception of unknown type");
    throw;
  }
}

/// The number of columns the ranks' shards share: a rank with no rows may pass any width (0 x 0 included);
/// ranks with rows must agree (0 if no rank has rows). @throw std::invalid_argument (on every rank) naming `function` otherwise.
inline Index shared_columns(const Collective& ranks, const char* function, Index rows, Index cols) {
  if (ranks.size() == 1) return cols;
  const double widest = all_max(ranks, rows > 0 ? double(cols) : -1.0);
  const double narrowest = -all_max(ranks, rows > 0 ? -double(cols) : -std::numeric_limits<double>::max());
  if (widest >= 0 && widest != narrowest)
    throw std::invalid_argument(std::string(function) + ": the ranks' shards have different numbers of columns (" +
                                std::to_string(Index(narrowest)) + " to " + std::to_string(Index(widest)) + ")");
  return widest >= 0 ? Index(widest) : 0;  // (no rank has rows: 0 on every rank)
}

/// Column means of the rows of every rank (`n` of them in all; this rank's shard `x`, N_r x D), as
/// column_means(x) computes them on one process (the same bits there): about the first row of the lowest
/// rank that has rows, a plain mean if that overflows.
template <Real T> RowVector<T> column_means(const Collective& ranks, const MatrixCRef<T>& x, Index n) {
  if (ranks.size() == 1) return column_means<T>(x);
  const Index d = x.cols();
  RowVector<T> m = RowVector<T>::Zero(d);
  if (n == 0) return m;
  const std::vector<Index> counts = all_counts(ranks, x.rows());
  const int first = static_cast<int>(std::find_if(counts.begin(), counts.end(), [](Index c) { return c > 0; }) - counts.begin());
  RowVector<T> reference = ranks.rank() == first ? RowVector<T>(x.row(0)) : RowVector<T>(RowVector<T>::Zero(d));
  all_sum(ranks, reference);
  RowVector<T> about(d), plain(d);
  for (Index j = 0; j < d; ++j) {
    about(j) = x.rows() > 0 ? (x.col(j).array() - reference(j)).sum() : T(0);
    plain(j) = x.rows() > 0 ? x.col(j).sum() : T(0);
  }
  all_sum(ranks, about);
  all_sum(ranks, plain);
  for (Index j = 0; j < d; ++j) {
    const T mean_about = about(j) / T(n);
    m(j) = std::isfinite(mean_about) ? reference(j) + mean_about : plain(j) / T(n);
  }
  return m;
}

/// splitmix64's step and finaliser: a 64-bit hash of `z`.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A uniform in [0, 1) that depends only on `key` and `position` (splitmix64's finaliser of both): a row's
/// own draw, the same whichever rank holds the row and whatever the thread count.
template <Real T> T hashed_uniform(std::uint64_t key, std::uint64_t position) {
  const double u = double(mix64(key ^ mix64(position)) >> 11) * 0x1.0p-53;
  return T(u) < T(1) ? T(u) : std::nextafter(T(1), T(0));
}

/// Standard normals for a minibatch's rows: out(i, j) depends only on `key`, the row's position in the whole
/// data set `positions[i]` and j (Box–Muller on two hashed_uniform draws), so a row's noise is the same
/// whichever rank holds it and however the minibatch is split.
template <class Out> void fill_row_normals(std::uint64_t key, std::span<const Index> positions, Out&& out) {
  using T = typename std::decay_t<Out>::Scalar;
  const auto cols = static_cast<std::uint64_t>(out.cols());
  for (Index j = 0; j < out.cols(); ++j)
    for (Index i = 0; i < out.rows(); ++i) {
      const std::uint64_t q = 2 * (static_cast<std::uint64_t>(positions[static_cast<std::size_t>(i)]) * cols + static_cast<std::uint64_t>(j));
      const double u1 = hashed_uniform<double>(key, q), u2 = hashed_uniform<double>(key, q + 1);
      out(i, j) = T(std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(6.283185307179586 * u2));
    }
}

/// One row drawn from the rows of every rank with probability proportional to `mass` (this rank's rows',
/// length N_r, non-negative), with one uniform from `rng` (in the same state on every rank): the row
/// random::categorical draws from the masses stacked in rank order, up to rounding at the boundaries.
/// `row_of(i)` gives this rank's row i (a RowVector<T> of length d); every rank returns the drawn row.
template <Real T, class RowOf> RowVector<T> draw_row(const Collective& ranks, Rng& rng, const Vector<T>& mass, RowOf&& row_of, Index d) {
  if (ranks.size() == 1) return row_of(random::categorical(rng, mass));
  const int p = ranks.size();
  std::vector<T> totals(static_cast<std::size_t>(p), T(0));
  totals[static_cast<std::size_t>(ranks.rank())] = mass.size() > 0 ? mass.sum() : T(0);
  ranks.sum(totals.data(), totals.size());
  T total = 0;
  for (const T t : totals) total += t;
  const T u = random::uniform<T>(rng) * total;
  int owner = -1;
  T before = 0;
  for (int r = 0; r < p; ++r) {
    if (u < before + totals[static_cast<std::size_t>(r)]) {
      owner = r;
      break;
    }
    before += totals[static_cast<std::size_t>(r)];
  }
  if (owner < 0) {  // rounding: the last rank with positive mass (the last rank if none has), and there the
    // last row with positive mass (as random::categorical): its scan finds nothing below v = u - before
    for (owner = p - 1; owner > 0 && !(totals[static_cast<std::size_t>(owner)] > T(0)); --owner) {
    }
    before = 0;
    for (int r = 0; r < owner; ++r) before += totals[static_cast<std::size_t>(r)];
  }
  RowVector<T> row = RowVector<T>::Zero(d);
  if (ranks.rank() == owner && mass.size() > 0) {
    const T v = u - before;
    Index chosen = -1;
    T cumulative = 0;
    for (Index i = 0; i < mass.size(); ++i) {
      cumulative += mass(i);
      if (v < cumulative) {
        chosen = i;
        break;
      }
    }
    if (chosen < 0)
      for (chosen = mass.size() - 1; chosen > 0 && !(mass(chosen) > T(0)); --chosen) {
      }
    row = row_of(chosen);
  }
  all_sum(ranks, row);
  return row;
}

}  // namespace detail
}  // namespace pml
