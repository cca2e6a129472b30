// A GAN (Goodfellow et al. 2014) with the non-saturating generator loss on the 2-D ring of 8 Gaussians
// (radius 2, sd 0.02): counts how many of 10 000 generated points fall within 3 sd of each mode and
// draws gan_ring.svg (data and samples). A mode counts as covered with >= 1 % of the samples (the
// measure of PacGAN's and VEEGAN's tables and of issue 20); high-quality samples are those within 3 sd
// of a mode. The goal is at least 7 of 8 modes and >= 80 % high-quality samples. `--seeds N` trains
// seeds 1..N and reports how many reach it; `--steps S` changes the number of generator steps (default
// 20 000, half a minute to a minute and a half on one core); `--quick` (the tour's and ctest's run) trains
// 6 000 steps (about 28 s on one core of a plain x86-64 build; seed 1 then covers 6 of 8 modes, with 29 %
// of the samples within 3 sd). The exit status fails only on a collapse (seed 1 covering fewer than 6
// modes, fewer than 5 with --quick), not on missing the goal: how sharp the modes come out depends on the
// rounding of the build (a plain x86-64 build's seed 1 has 25 % high-quality samples, an x86-64-v3 build's 95 %).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>

#include <pml/io/svg.hpp>
#include <pml/models/deep/gan.hpp>

namespace {
constexpr double kRadius = 2.0, kSd = 0.02;

Eigen::MatrixXf ring_data(pml::Rng& rng, Eigen::Index n) {
  Eigen::MatrixXf x(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double a = 2 * std::numbers::pi * double(i % 8) / 8;
    x(i, 0) = float(kRadius * std::cos(a) + kSd * pml::random::normal<double>(rng));
    x(i, 1) = float(kRadius * std::sin(a) + kSd * pml::random::normal<double>(rng));
  }
  return x;
}
// samples within 3 sd of each mode's centre
std::array<int, 8> mode_counts(const Eigen::MatrixXf& s) {
  std::array<int, 8> counts{};
  for (Eigen::Index i = 0; i < s.rows(); ++i)
    for (int k = 0; k < 8; ++k) {
      const double a = 2 * std::numbers::pi * k / 8, dx = s(i, 0) - kRadius * std::cos(a), dy = s(i, 1) - kRadius * std::sin(a);
      if (dx * dx + dy * dy < 9 * kSd * kSd) ++counts[std::size_t(k)];
    }
  return counts;
}
}  // namespace

int main(int argc, char** argv) {
  int seeds = 1, steps = 20000;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true, steps = 6000;
    else if (std::strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) seeds = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = std::max(1, std::atoi(argv[++i]));
  }
  std::printf("GAN 2-128-128-2 / 2-128-128-1, non-saturating loss, %d steps (k = 1), batch 256, Adam 5e-4 (beta1 0.5)\n", steps);
  int passed = 0, first_covered = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    pml::Rng rng(static_cast<std::uint64_t>(seed));
    const Eigen::MatrixXf x = ring_data(rng, 10000);
    pml::GAN<float> gan({.noise = 2, .output = 2}, rng);
    gan.fit(x, {.steps = steps, .batch_size = 256, .generator_learning_rate = 5e-4, .discriminator_learning_rate = 5e-4}, rng, 1000);
    const auto& history = gan.loss_history();
    const Eigen::MatrixXf s = gan.sample(rng, 10000);
    const auto counts = mode_counts(s);
    int covered = 0, within = 0;
    for (const int c : counts) {
      covered += c >= 100;
      within += c;
    }
    passed += covered >= 7 && within >= 8000;
    if (seed == 1) first_covered = covered;
    std::printf("seed %d: %d of 8 modes with >= 1%% of the samples, %.1f%% of samples within 3 sd of a mode; per mode:", seed, covered,
                100.0 * within / 10000);
    for (const int c : counts) std::printf(" %d", c);
    std::printf("  (final D loss %.3f, G loss %.3f)\n", double(history.discriminator_loss.back()), double(history.generator_loss.back()));
    if (seed == 1) {
      pml::io::SvgPlot plot(-2.6, 2.6, -2.6, 2.6, 480, 480);
      plot.title("GAN on a ring of 8 Gaussians: data (grey), 2000 samples (blue)");
      plot.points(x.col(0).head(2000), x.col(1).head(2000), "#888888", 1.5, 0.5);
      plot.points(s.col(0).head(2000), s.col(1).head(2000), "#1f77b4", 1.5, 0.6);
      plot.save("gan_ring.svg");
      std::printf("wrote gan_ring.svg\n");
    }
  }
  std::printf("%d of %d seeds reach the goal (>= 7 of 8 modes, >= 80%% of the samples within 3 sd)\n", passed, seeds);
  return first_covered >= (quick ? 5 : 6) ? 0 : 1;  // fails only on a collapse, not on missing the goal
}
