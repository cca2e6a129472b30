#pragma once
/// @file
/// pml::Rng — the seedable, splittable random bit generator every pml sampler draws from.

#include <array>
#include <cstdint>
#include <limits>

namespace pml {

/// xoshiro256++ (Blackman & Vigna 2019): 256 bits of state, period 2^256 - 1, 64-bit output.
///
/// Satisfies `std::uniform_random_bit_generator`, so it also drives `<random>` distributions.
/// Seeding goes through SplitMix64, so nearby seeds give unrelated streams. `split()` hands out
/// independent, non-overlapping streams (each 2^128 draws long) for parallel work: results depend
/// only on the seed and the order of the splits, never on thread count or scheduling.
class Rng {
 public:
  using result_type = std::uint64_t;  ///< the type of the random bits (UniformRandomBitGenerator)

  /// Seeds the generator; the same seed always gives the same sequence on every platform.
  explicit Rng(std::uint64_t seed = 0x853c49e6748fea9bULL) noexcept { reseed(seed); }

  /// Resets the state from `seed` (via SplitMix64).
  void reseed(std::uint64_t seed) noexcept {
    std::uint64_t z = seed;
    for (auto& word : s_) word = splitmix64(z);
  }

  static constexpr result_type min() noexcept { return 0; }  ///< smallest value operator()() returns
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }  ///< largest value operator()() returns

  /// Next 64 random bits.
  result_type operator()() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  /// Uniform double in (0, 1]: safe to pass to log.
  double uniform_positive() noexcept {
    return static_cast<double>(((*this)() >> 11) + 1) * 0x1.0p-53;
  }

  /// Advances the state by 2^128 draws (the xoshiro jump polynomial).
  void jump() noexcept {
    static constexpr std::uint64_t poly[] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                             0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
    apply_jump(poly);
  }
  /// Advances the state by 2^192 draws.
  void long_jump() noexcept {
    static constexpr std::uint64_t poly[] = {0x76e15d3efefdcbbfULL, 0xc5004e441c522fb3ULL,
                                             0x77710069854ee241ULL, 0x39109bb02acbe635ULL};
    apply_jump(poly);
  }

  /// Returns a generator for an independent stream: the child continues this stream's current
  /// position and this generator jumps 2^128 draws ahead, so the two never overlap.
  [[nodiscard]] Rng split() noexcept {
    Rng child = *this;
    jump();
    return child;
  }

  /// The raw state (for saving a generator alongside a model).
  const std::array<std::uint64_t, 4>& state() const noexcept { return s_; }
  /// Restores a state returned by state(). An all-zero state is replaced by the default seed.
  void set_state(const std::array<std::uint64_t, 4>& s) noexcept {
    s_ = s;
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) reseed(0x853c49e6748fea9bULL);
  }

  friend bool operator==(const Rng& a, const Rng& b) noexcept { return a.s_ == b.s_; }  ///< same state (so the same future stream)

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  void apply_jump(const std::uint64_t (&poly)[4]) noexcept {
    std::array<std::uint64_t, 4> acc{};
    for (std::uint64_t word : poly)
      for (int b = 0; b < 64; ++b) {
        if (word & (std::uint64_t{1} << b))
          for (int i = 0; i < 4; ++i) acc[i] ^= s_[i];
        (*this)();
      }
    s_ = acc;
  }

  std::array<std::uint64_t, 4> s_{};
};

}  // namespace pml
