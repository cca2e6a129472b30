#pragma once
/// @file
/// Inverted dropout (Srivastava et al. 2014) with the switch MC dropout needs (Gal & Ghahramani 2016).

#include "pml/autodiff/ops.hpp"
#include "pml/core/random.hpp"

namespace pml::nn {

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
  T p() const noexcept { return p_; }  ///< the dropout probability p

 private:
  T p_;
};

}  // namespace pml::nn
