#pragma once
/// @file
/// Data-parallel training of the deep models over a pml::Collective (issue 18 §3; docs/scaling.md, "Training
/// the networks on ranks"). Each rank holds a shard of the rows; every rank draws the same minibatches of the
/// whole data set (positions 0..N−1, rank 0's rows first) from the same Rng, computes the loss and gradient
/// of the rows of each minibatch it holds, and the ranks sum the gradients (one message per step) before
/// every rank applies the same optimiser step. The noise a step needs for a row (a VAE's ε) is hashed from
/// the step's key and the row's position, so P ranks with minibatch B each train exactly as one process with
/// minibatch P·B (the same rows, the same noise), up to the order of the gradient sums.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pml/core/collective.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/optim.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::detail {

/// FNV-1a over `n` bytes, continuing from `h`.
inline std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/// Whether every rank passed the same `value` (two 32-bit halves, exact in double; one collective).
inline bool same_on_every_rank(const Collective& ranks, std::uint64_t value) {
  if (ranks.size() == 1) return true;
  double m[4] = {double(value >> 32), double(value & 0xffffffffULL), -double(value >> 32), -double(value & 0xffffffffULL)};
  ranks.max(m, 4);
  return m[0] == -m[2] && m[1] == -m[3];
}

/// Copies rank 0's parameter values to every rank (the same initial network everywhere).
/// @throw std::invalid_argument on every rank if the ranks' networks have different shapes.
template <Real T> void broadcast_parameters(const Collective& ranks, const nn::ParameterList<T>& params, const char* function) {
  if (ranks.size() == 1) return;
  std::uint64_t shape = fnv1a(nullptr, 0);
  for (const auto* p : params) {
    const Index dims[2] = {p->value.rows(), p->value.cols()};
    shape = fnv1a(dims, sizeof dims, shape);
  }
  if (!same_on_every_rank(ranks, shape))
    throw std::invalid_argument(std::string(function) + ": the ranks' networks have different shapes (construct the model with the same options on every rank)");
  std::string bytes;
  if (ranks.rank() == 0)
    for (const auto* p : params) bytes.append(reinterpret_cast<const char*>(p->value.data()), static_cast<std::size_t>(p->value.size()) * sizeof(T));
  ranks.broadcast(bytes, 0);
  std::size_t at = 0;
  for (auto* p : params) {
    const std::size_t n = static_cast<std::size_t>(p->value.size()) * sizeof(T);
    std::memcpy(p->value.data(), bytes.data() + at, n);
    at += n;
  }
}

/// A hash of the parameters' values and the optimiser's state buffers (to check that the ranks agree).
template <Real T, class Optimizer> std::uint64_t state_hash(const Optimizer& optimizer) {
  std::uint64_t h = fnv1a(nullptr, 0);
  for (const auto* p : optimizer.parameters()) h = fnv1a(p->value.data(), static_cast<std::size_t>(p->value.size()) * sizeof(T), h);
  for (const auto& buffer : optimizer.buffers())
    for (const auto& m : buffer) h = fnv1a(m.data(), static_cast<std::size_t>(m.size()) * sizeof(T), h);
  const long steps = optimizer.steps();
  return fnv1a(&steps, sizeof steps, h);
}

/// Which ranks run each step of a data-parallel run_epochs(): those holding rows of the minibatch, or all of
/// them, those with no rows too (a network whose forward and backward passes take part in collectives:
/// synchronised batch normalisation). With `all` an exception of one rank's step ends every rank
/// (step_or_abort()): the other ranks may be inside one of the step's collectives.
enum class StepRanks : std::uint8_t { holders, all };

/// Runs a step that every rank runs together (its collectives need them all): an exception that agree() threw
/// on every rank passes on; any other — this rank's own — ends every rank through ranks.abort() (pml::mpi:
/// MPI_Abort), since the other ranks may be waiting inside one of the step's collectives.
template <class Step> auto step_or_abort(const Collective& ranks, const char* function, Step&& step) -> decltype(step()) {
  try {
    return step();
  } catch (...) {
    rethrow_or_abort(ranks, function, false);
  }
}

/// What a data-parallel step sees besides its rows: their positions in the whole data set (for their
/// noise), the number of rows of the minibatch on all ranks together (the loss is a sum over those rows
/// divided by it) and the step's noise key (the same on every rank).
struct ShardStep {
  std::span<const Index> positions;
  Index minibatch_rows = 0;
  std::uint64_t key = 0;
  Index batch = 0;    ///< the minibatch's index in its epoch (0-based)
  Index batches = 0;  ///< minibatches per epoch
};

/// Checks at the start of a data-parallel fit that every rank trains alike: the same `options` (a hash of the
/// model's and the fit's options: a different step count or batch size would leave ranks waiting) and an
/// `rng` in the same state (one draw of a copy). @throw std::invalid_argument on every rank otherwise.
inline void check_same_training(const Collective& ranks, const char* function, std::uint64_t options, const Rng& rng, const char* which) {
  if (ranks.size() == 1) return;
  if (!same_on_every_rank(ranks, options))
    throw std::invalid_argument(std::string(function) + ": the ranks were given different options (" + which + " or the model's): give every rank the same");
  if (!same_on_every_rank(ranks, Rng(rng)()))
    throw std::invalid_argument(std::string(function) +
                                ": rng is not in the same state on every rank (seed it alike everywhere: the minibatches and the noise are drawn from it)");
}

/// One step's message: every rank's gradients of `params` (zeros from a rank that computed nothing,
/// `contributed` false, or whose step threw, `error`), its summed `loss` and whether its step threw are summed
/// over the ranks (one Collective::sum into `message`, kept between steps); the summed gradients are written
/// back to every rank's `params`. Returns the summed loss. @throw on every rank: the lowest failing rank's
/// exception (agree()) when a step threw anywhere.
template <Real T>
T sum_step(const Collective& ranks, const nn::ParameterList<T>& params, std::vector<T>& message, bool contributed, const std::exception_ptr& error, T loss) {
  std::size_t width = 0;
  for (const auto* p : params) width += static_cast<std::size_t>(p->value.size());
  message.resize(width + 2);
  std::size_t at = 0;
  for (const auto* p : params) {
    const auto size = static_cast<std::size_t>(p->value.size());
    if (!contributed || error) std::fill_n(message.begin() + std::ptrdiff_t(at), size, T(0));
    else std::copy_n(p->grad.data(), size, message.begin() + std::ptrdiff_t(at));
    at += size;
  }
  message[width] = error ? T(0) : loss;
  message[width + 1] = error ? T(1) : T(0);
  if (ranks.size() > 1) ranks.sum(message.data(), message.size());
  if (message[width + 1] != T(0))  // a step threw somewhere: every rank throws the lowest failing rank's error
    agree(ranks, [&] {
      if (error) std::rethrow_exception(error);
    });
  at = 0;
  for (auto* p : params) {
    std::copy_n(message.begin() + std::ptrdiff_t(at), p->value.size(), p->grad.data());
    at += static_cast<std::size_t>(p->value.size());
  }
  return message[width];
}

/// The largest |x| over the ranks' shards, for the message of a training run that diverged.
template <class Derived> double largest_magnitude(const Collective& ranks, const Eigen::MatrixBase<Derived>& x) {
  return all_max(ranks, x.size() > 0 ? double(x.cwiseAbs().maxCoeff()) : 0.0);
}

/// The number of scalars of `params`.
template <Real T> std::size_t parameter_count(const nn::ParameterList<T>& params) {
  std::size_t count = 0;
  for (const auto* p : params) count += static_cast<std::size_t>(p->value.size());
  return count;
}

/// One player's update in a data-parallel GAN fit: sum_step() of its gradients (this rank's `reported`
/// progress exception as its error), a check that the summed loss is finite, then optimizer.step(). Returns
/// the summed loss. @throw on every rank: std::domain_error naming `function` and x (with the largest |x| of
/// all ranks) for a non-finite loss or gradient; what sum_step() throws.
template <Real T, class DX>
double sum_step_and_update(const Collective& ranks, const char* function, const Eigen::MatrixBase<DX>& x, nn::Adam<T>& optimizer,
                           const nn::ParameterList<T>& params, std::vector<T>& message, const std::exception_ptr& reported, T loss, int epoch, Index batch) {
  const auto diverged = [&](const std::string& what) {  // the same on every rank (thrown inside a step every rank runs)
    throw OnEveryRank<std::domain_error>(std::string(function) + ": x must give a finite training loss and gradient (rescale or standardise the data), got " +
                                         what + " at epoch " + std::to_string(epoch + 1) + ", minibatch " + std::to_string(batch + 1) + "; largest |x| is " +
                                         describe(largest_magnitude(ranks, x)));
  };
  const double total = double(sum_step(ranks, params, message, true, reported, loss));
  if (!std::isfinite(total)) diverged("a loss of " + describe(total));
  try {
    optimizer.step();
  } catch (const std::domain_error& e) {  // a non-finite gradient (the same on every rank)
    diverged(e.what());
  }
  return total;
}

/// After an epoch of a data-parallel fit: checks that every rank holds the same bits in `stored` (the
/// parameters and buffers such as running statistics) and in the optimisers' states.
/// @throw std::runtime_error on every rank otherwise.
template <Real T>
void check_same_state(const Collective& ranks, const char* function, std::initializer_list<const nn::Adam<T>*> optimizers, const nn::ParameterList<T>& stored,
                      int epoch) {
  if (ranks.size() == 1) return;
  std::uint64_t h = fnv1a(nullptr, 0);
  for (const auto* optimizer : optimizers) h = mix64(h ^ state_hash<T>(*optimizer));
  for (const auto* q : stored) h = fnv1a(q->value.data(), static_cast<std::size_t>(q->value.size()) * sizeof(T), h);
  if (!same_on_every_rank(ranks, h))
    throw OnEveryRank<std::runtime_error>(std::string(function) + ": the ranks' parameters, optimiser states or running statistics differ after epoch " +
                                          std::to_string(epoch + 1) + " (every rank must run the same build on processors that round alike)");
}

/// A minibatch of a data-parallel fit with a loop of its own (shard_epochs()).
struct ShardMinibatch {
  int epoch = 0;                    ///< 0-based
  Index batch = 0, batches = 0;     ///< the minibatch's index in its epoch, minibatches per epoch
  std::uint64_t key = 0;            ///< the minibatch's noise key (the same on every rank)
  std::span<const Index> local;     ///< this rank's rows of the minibatch (indices into its own rows)
  std::span<const Index> positions; ///< the same rows' positions in the whole data set
  Index rows = 0;                   ///< the minibatch's rows on all ranks together
};

/// The epoch loop of a data-parallel fit that is not run_epochs()'s (the GANs: two players' updates per
/// minibatch): `epochs` passes over the same shuffled minibatches of all n row positions (rank 0's rows first)
/// on every rank, `global` rows each, drawn from `rng` as run_epochs() draws them, with one noise key per
/// minibatch. `step(const ShardMinibatch&)` runs on every rank for every minibatch (with this rank's rows of
/// it, perhaps none) and returns the loss to report so far; `progress` (if any) is called after it, and an
/// exception it throws is kept in `reported` — the step passes it to its next sum_step(), which raises it on
/// every rank — and raised on every rank at the end of the epoch, after which `end_epoch(epoch)` runs.
template <class Step, class EndEpoch>
void shard_epochs(const Collective& ranks, const char* function, Index n, Index offset, Index local_rows, Index global, int epochs, Rng& rng,
                  const std::function<void(const TrainingProgress&)>& progress, std::exception_ptr& reported, Step step, EndEpoch end_epoch) {
  std::optional<io::Minibatches> order;
  std::vector<Index> local, positions;
  agree(ranks, [&] {  // the allocations: one rank short of memory stops every rank
    order.emplace(n, global);
    local.reserve(static_cast<std::size_t>(global)), positions.reserve(static_cast<std::size_t>(global));
  });
  io::Minibatches& batches = *order;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    batches.shuffle(rng);
    for (Index b = 0; b < batches.size(); ++b) {
      const std::span<const Index> minibatch = batches[b];
      const std::uint64_t key = rng();
      local.clear(), positions.clear();
      for (const Index g : minibatch)
        if (g >= offset && g < offset + local_rows) local.push_back(g - offset), positions.push_back(g);
      const double mean = step_or_abort(ranks, function, [&] {
        return step(ShardMinibatch{epoch, b, batches.size(), key, local, positions, static_cast<Index>(minibatch.size())});
      });
      if (progress) {
        try {
          progress({epoch, epochs, b, batches.size(), mean});
        } catch (...) {
          reported = std::current_exception();
        }
      }
    }
    agree(ranks, [&] {  // a progress report that threw at the epoch's last step
      if (reported) std::rethrow_exception(reported);
    });
    end_epoch(epoch);
  }
}


/// The data-parallel twin of run_epochs(): `x` and `y` are this rank's rows (any number, 0 included; rank
/// order is row order), `fit.batch_size` the rows per rank, so each step's minibatch holds
/// ranks.size() · batch_size rows of the whole data set. `rng` must be in the same state on every rank (it is
/// checked): each epoch's order and each step's noise key are drawn from it. Rank 0's initial parameters are
/// copied to every rank first. For each step, step(xb, yb, ShardStep) runs on the ranks that hold rows of the
/// minibatch (on every rank, with `on` = StepRanks::all; a remainder of fewer than `skip_below` rows joins the epoch's last minibatch, and x of fewer rows on all ranks is refused): it back-propagates its rows' summed loss divided by ShardStep::minibatch_rows into the
/// parameters' gradients and returns that summed loss (undivided); the gradients and losses are summed over
/// the ranks (one message) and every rank applies `optimizer.step()`. After every epoch the ranks' parameters
/// and optimiser state are checked to be the same bits. `model_options` (the model's options as its file
/// header stores them) and fit's epochs, batch_size and learning_rate are checked to be the same on every rank.
/// An exception from fit.progress on one rank is thrown on every rank at the next message (agree()).
/// Returns the mean loss per row of each epoch.
/// @throw on every rank: std::invalid_argument if no rank has rows, `rng` or the options differ between ranks or
///        the networks differ in shape; std::domain_error (naming `function` and x) for a loss or gradient that stops being
///        finite; std::runtime_error if the ranks' states drift apart; what a step throws on any rank (agree()).
template <Real T, class DX, class DY, class Optimizer, class Step>
std::vector<T> run_epochs(const Collective& ranks, const char* function, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y,
                          const FitOptions& fit, Rng& rng, Optimizer& optimizer, std::string_view model_options, Step step,
                          StepRanks on = StepRanks::holders, Index skip_below = 0) {
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const ShardPlace place = shard_place(ranks, x.rows());
  const Index n = place.total, offset = place.offset;
  if (n == 0) throw_shape(function, "x has no rows on any rank");
  // the same training on every rank: options (a different epoch count or batch size would leave ranks waiting), then rng
  {
    const double rate = fit.learning_rate;
    const long sizes[2] = {long(fit.epochs), long(fit.batch_size)};
    const std::uint64_t options = fnv1a(sizes, sizeof sizes, fnv1a(&rate, sizeof rate, fnv1a(model_options.data(), model_options.size())));
    check_same_training(ranks, function, options, rng, "epochs, batch_size, learning_rate");
  }
  if (n < skip_below)  // the same n on every rank: every rank throws
    throw OnEveryRank<std::invalid_argument>(std::string(function) + ": x has " + std::to_string(n) + " row(s) on all ranks together; the fit needs at least " +
                                             std::to_string(skip_below) + " (batch normalisation)");
  // P · batch_size rows a step, at most all of them (one process with batch_size P·B does the same)
  const Index global = fit.batch_size >= n ? n : std::min<Index>(n, static_cast<Index>(ranks.size()) * fit.batch_size);
  const nn::ParameterList<T>& params = optimizer.parameters();
  broadcast_parameters(ranks, params, function);
  std::size_t width = 0;
  for (const auto* p : params) width += static_cast<std::size_t>(p->value.size());
  std::vector<T> message;  // the gradients, the summed loss, the number of ranks whose step (or progress report) threw
  RowMajor xr, yr;
  std::optional<io::Minibatches> order;
  agree(ranks, [&] {  // the allocations: one rank short of memory stops every rank
    message.reserve(width + 2);
    xr = x.template cast<T>(), yr = y.template cast<T>();
    order.emplace(n, global, false, std::max<Index>(skip_below, 1));  // a remainder below skip_below joins the last minibatch
  });
  io::Minibatches& batches = *order;
  std::vector<Index> local, positions;
  Matrix<T> xb, yb;
  std::exception_ptr reported;  // thrown by fit.progress on this rank: raised on every rank at the next message
  std::vector<T> history;
  const auto diverged = [&](const std::string& what, int epoch, Index b) {
    throw_domain(function, "x", "give a finite training loss and gradient (rescale or standardise the data)",
                 what + " at epoch " + std::to_string(epoch + 1) + ", minibatch " + std::to_string(b + 1) + "; largest |x| is " +
                     describe(largest_magnitude(ranks, x)));
  };
  for (int epoch = 0; epoch < fit.epochs; ++epoch) {
    batches.shuffle(rng);
    double sum = 0;
    Index rows = 0;
    for (Index b = 0; b < batches.size(); ++b) {
      const std::span<const Index> minibatch = batches[b];
      const std::uint64_t key = rng();
      local.clear(), positions.clear();
      for (const Index g : minibatch)
        if (g >= offset && g < offset + x.rows()) local.push_back(g - offset), positions.push_back(g);
      // a minibatch smaller than skip_below on all ranks (a batch norm's last one of one row) is skipped on every rank
      if (static_cast<Index>(minibatch.size()) >= skip_below) {
        std::exception_ptr error = reported;
        T loss = 0;
        const ShardStep shard{positions, static_cast<Index>(minibatch.size()), key, b, batches.size()};
        if (on == StepRanks::all) {  // also with no rows: the step's collectives need every rank
          io::gather_rows(xr, std::span<const Index>(local), xb);
          io::gather_rows(yr, std::span<const Index>(local), yb);
          loss = step_or_abort(ranks, function, [&] { return step(xb, yb, shard); });
        } else if (!local.empty() && !error) {
          io::gather_rows(xr, std::span<const Index>(local), xb);
          io::gather_rows(yr, std::span<const Index>(local), yb);
          try {
            loss = step(xb, yb, shard);
          } catch (...) {
            error = std::current_exception();
          }
        }
        const double batch_loss = double(sum_step(ranks, params, message, on == StepRanks::all || !local.empty(), error, loss));
        if (!std::isfinite(batch_loss)) diverged("a minibatch loss of " + describe(batch_loss), epoch, b);
        try {
          optimizer.step();
        } catch (const std::domain_error& e) {  // the optimiser refuses a non-finite gradient (the same on every rank)
          diverged(e.what(), epoch, b);
        }
        sum += batch_loss;
      }
      rows += static_cast<Index>(minibatch.size());
      if (fit.progress) {
        try {
          fit.progress({epoch, fit.epochs, b, batches.size(), sum / double(rows)});
        } catch (...) {
          reported = std::current_exception();
        }
      }
    }
    agree(ranks, [&] {  // a progress report that threw at the epoch's last step
      if (reported) std::rethrow_exception(reported);
    });
    if (ranks.size() > 1 && !same_on_every_rank(ranks, state_hash<T>(optimizer)))
      throw OnEveryRank<std::runtime_error>(std::string(function) + ": the ranks' parameters or optimiser state differ after epoch " + std::to_string(epoch + 1) +
                               " (every rank must run the same build on processors that round alike)");
    history.push_back(T(sum / double(n)));
  }
  return history;
}

}  // namespace pml::detail
