// Batched MultivariateNormal log_prob against its floor, one N x D x D matrix product, in the same
// run. Run: build/dev/benchmarks/bench_mvn
#include <benchmark/benchmark.h>

#include "pml/distributions/multivariate_normal.hpp"

namespace {
struct Data {
  Eigen::MatrixXd x;
  pml::MultivariateNormal<double> mvn;
};
Data make(Eigen::Index n, Eigen::Index d) {
  pml::Rng rng(1);
  Eigen::MatrixXd a(d, d);
  pml::random::fill_normal(rng, a);
  Eigen::MatrixXd cov = a * a.transpose() / static_cast<double>(d);
  cov.diagonal().array() += 1.0;
  Eigen::MatrixXd x(n, d);
  pml::random::fill_normal(rng, x);
  return {x, pml::MultivariateNormal<double>(Eigen::VectorXd::Zero(d), cov)};
}
}  // namespace

static void BM_mvn_log_prob(benchmark::State& state) {
  const Data data = make(state.range(0), state.range(1));
  for (auto _ : state) {
    Eigen::VectorXd lp = data.mvn.log_prob(data.x);
    benchmark::DoNotOptimize(lp.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_mvn_log_prob)->Args({1000, 32})->Args({100000, 32})->Args({100000, 8})->Unit(benchmark::kMillisecond);

// The floor: one N x D by D x D product (twice the flops of the triangular solve).
static void BM_gemm_NxDxD(benchmark::State& state) {
  const Data data = make(state.range(0), state.range(1));
  const Eigen::MatrixXd l = data.mvn.cholesky_l();
  Eigen::MatrixXd out(state.range(0), state.range(1));
  for (auto _ : state) {
    out.noalias() = data.x * l;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(state.range(0) * state.range(1) * state.range(1)),
                                                 benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_gemm_NxDxD)->Args({1000, 32})->Args({100000, 32})->Args({100000, 8})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
