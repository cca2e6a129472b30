// Normal sampling throughput: pml's batch ziggurat sampler against std::mt19937_64 +
// std::normal_distribution, in the same run. Run: build/dev/benchmarks/bench_random
#include <benchmark/benchmark.h>

#include <random>

#include "pml/core/random.hpp"

static void BM_pml_fill_normal(benchmark::State& state) {
  pml::Rng rng(42);
  Eigen::VectorXd x(state.range(0));
  for (auto _ : state) {
    pml::random::fill_normal(rng, x);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_pml_fill_normal)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

static void BM_pml_fill_normal_float(benchmark::State& state) {
  pml::Rng rng(42);
  Eigen::VectorXf x(state.range(0));
  for (auto _ : state) {
    pml::random::fill_normal(rng, x);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_pml_fill_normal_float)->Arg(1 << 16);

static void BM_std_mt19937_64_normal_distribution(benchmark::State& state) {
  std::mt19937_64 gen(42);
  std::normal_distribution<double> normal;
  Eigen::VectorXd x(state.range(0));
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < x.size(); ++i) x(i) = normal(gen);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_std_mt19937_64_normal_distribution)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// The generator alone: pml::Rng (xoshiro256++) driving std::normal_distribution, to separate the
// bit generator's share from the ziggurat's.
static void BM_pml_rng_std_normal_distribution(benchmark::State& state) {
  pml::Rng gen(42);
  std::normal_distribution<double> normal;
  Eigen::VectorXd x(state.range(0));
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < x.size(); ++i) x(i) = normal(gen);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_pml_rng_std_normal_distribution)->Arg(1 << 16);

BENCHMARK_MAIN();
