#pragma once
/// @file
/// Inverted dropout (Srivastava et al. 2014) with the switch MC dropout needs (Gal & Ghahramani 2016).

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include "pml/autodiff/ops.hpp"
#include "pml/core/collective.hpp"
#include "pml/core/random.hpp"

namespace pml::nn {

/// Noise drawn per row from the row's position in the whole data set instead of from an Rng in sequence:
/// entry (i, j) of a layer's mask depends only on (key, positions[i], j), so the rows of a minibatch get the
/// same masks whichever rank holds them (data-parallel training, models/deep/data_parallel.hpp).
struct RowNoise {
  std::uint64_t key = 0;              ///< the step's key (the same on every rank)
  std::span<const Index> positions;   ///< each row's position in the whole data set (one per row of x)
  /// The noise of layer `l`: another key, the same positions.
  RowNoise layer(std::size_t l) const noexcept { return {pml::detail::mix64(key + 0x9e3779b97f4a7c15ULL * (l + 1)), positions}; }
};

/// Fills `mask` (one row per position of `noise`) with inverted dropout's factors: entry (i, j) is 1/(1 − p)
/// with probability 1 − p and 0 otherwise, drawn from (noise.key, noise.positions[i], j) alone.
/// @throw std::invalid_argument naming `function` if noise.positions does not give one position per row.
template <class Mask> void fill_row_mask(const char* function, const RowNoise& noise, double p, Mask&& mask) {
  using T = typename std::decay_t<Mask>::Scalar;
  if (static_cast<Index>(noise.positions.size()) != mask.rows())
    pml::detail::throw_shape(function, std::to_string(noise.positions.size()) + " row positions for " + std::to_string(mask.rows()) + " rows");
  const T keep = T(1) - T(p);
  const auto cols = static_cast<std::uint64_t>(mask.cols());
  for (Index j = 0; j < mask.cols(); ++j)
    for (Index i = 0; i < mask.rows(); ++i) {
      const std::uint64_t q = static_cast<std::uint64_t>(noise.positions[static_cast<std::size_t>(i)]) * cols + static_cast<std::uint64_t>(j);
      mask(i, j) = pml::detail::hashed_uniform<T>(noise.key, q) < keep ? T(1) / keep : T(0);
    }
}

/// The noise of dropout layer `l` of a network: an Rng's draws in sequence (the Rng itself), or RowNoise::layer(l).
inline Rng& layer_noise(Rng& rng, std::size_t) noexcept { return rng; }
/// The noise of dropout layer `l` of a network: noise.layer(l).
inline RowNoise layer_noise(const RowNoise& noise, std::size_t l) noexcept { return noise.layer(l); }

/// Whether a forward pass is for training (dropout on) or prediction (dropout off unless MC dropout).
enum class Mode : std::uint8_t { train, predict };

/// Zeroes each entry with probability p and scales the survivors by 1/(1-p), so the expected output
/// equals the input. The mask is drawn from the caller's Rng into the tape (no allocation after the
/// first step) and no gradient flows into it.
template <Real T> class Dropout {
 public:
  /// @throw std::domain_error unless 0 <= p < 1.
  explicit Dropout(T p = T(0.5)) : p_(p) {
    if (!(p >= T(0) && p < T(1))) throw std::domain_error("nn::Dropout: p must be in [0, 1), got " + pml::detail::describe(p));
  }
  /// x ⊙ mask when `active` (and p > 0), x itself otherwise.
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, bool active) const {
    if (!active || p_ == T(0)) return x;
    ad::Var<T> mask = tape.constant(x.rows(), x.cols());
    auto m = mask.value();
    random::fill_uniform(rng, m);
    const T keep = T(1) - p_;
    m = ((m.array() < keep).template cast<T>() * (T(1) / keep)).matrix();
    return ad::mask_mul(x, mask);
  }
  /// The same with the mask of row i drawn from (noise.key, noise.positions[i]) (RowNoise).
  /// @throw std::invalid_argument if noise.positions does not give one position per row of x.
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const RowNoise& noise, bool active) const {
    if (!active || p_ == T(0)) return x;
    ad::Var<T> mask = tape.constant(x.rows(), x.cols());
    fill_row_mask("nn::Dropout::forward", noise, double(p_), mask.value());
    return ad::mask_mul(x, mask);
  }
  T p() const noexcept { return p_; }  ///< the dropout probability p

 private:
  T p_;
};

}  // namespace pml::nn
