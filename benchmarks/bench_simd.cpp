// Elementwise hot spots: pml's vectorised forms (Eigen packet math) against scalar std:: loops, float and
// double, N = 65536 (L2-resident). This is the benchmark that decides where pml needs its own kernel.
// Run: build/dev/benchmarks/bench_simd
#include <benchmark/benchmark.h>

#include <cmath>

#include "pml/core/random.hpp"
#include "pml/core/simd.hpp"
#include "pml/core/special.hpp"

namespace {
constexpr int kN = 1 << 16;
template <class T> Eigen::Array<T, Eigen::Dynamic, 1> data(T scale) {
  pml::Rng rng(1);
  Eigen::Array<T, Eigen::Dynamic, 1> x(kN);
  pml::random::fill_normal(rng, x, T(0), scale);
  return x;
}
template <class T, class F> void run_vector(benchmark::State& state, F f) {
  const auto x = data<T>(T(3));
  Eigen::Array<T, Eigen::Dynamic, 1> y(kN);
  for (auto _ : state) {
    f(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kN);
}
template <class T, class F> void run_scalar(benchmark::State& state, F f) {
  const auto x = data<T>(T(3));
  Eigen::Array<T, Eigen::Dynamic, 1> y(kN);
  for (auto _ : state) {
    for (int i = 0; i < kN; ++i) y[i] = f(x[i]);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kN);
}
}  // namespace

#define PML_SIMD_PAIR(name, vec_expr, scalar_expr)                                                          \
  template <class T> void BM_##name##_eigen(benchmark::State& s) {                                           \
    run_vector<T>(s, [](const auto& x, auto& y) { y = vec_expr; });                                         \
  }                                                                                                          \
  template <class T> void BM_##name##_scalar(benchmark::State& s) {                                          \
    run_scalar<T>(s, [](T v) { return scalar_expr; });                                                      \
  }                                                                                                          \
  BENCHMARK_TEMPLATE(BM_##name##_eigen, float);                                                              \
  BENCHMARK_TEMPLATE(BM_##name##_scalar, float);                                                             \
  BENCHMARK_TEMPLATE(BM_##name##_eigen, double);                                                             \
  BENCHMARK_TEMPLATE(BM_##name##_scalar, double);

PML_SIMD_PAIR(exp, x.exp(), std::exp(v))
PML_SIMD_PAIR(log, x.abs().log(), std::log(std::abs(v)))
PML_SIMD_PAIR(tanh, x.tanh(), std::tanh(v))
PML_SIMD_PAIR(tanh_simd, pml::simd::tanh(x), std::tanh(v))
PML_SIMD_PAIR(sigmoid, (T(0.5) * (T(0.5) * x).tanh() + T(0.5)), pml::sigmoid(v))
PML_SIMD_PAIR(sigmoid_simd, pml::simd::sigmoid(x), pml::sigmoid(v))
PML_SIMD_PAIR(softplus, (x.max(T(0)) + (-x.abs()).exp().log1p()), pml::softplus(v))
PML_SIMD_PAIR(softplus_simd, pml::simd::softplus(x), pml::softplus(v))
PML_SIMD_PAIR(log1p, x.abs().log1p(), std::log1p(std::abs(v)))

// log-sum-exp over the rows of an N x K matrix (column-major, as the tape stores it), K = 16
template <class T> void BM_log_sum_exp_rows_eigen(benchmark::State& state) {
  const auto x = data<T>(T(3));
  const Eigen::Map<const pml::Matrix<T>> m(x.data(), kN / 16, 16);
  pml::Vector<T> out(kN / 16);
  for (auto _ : state) {
    out = pml::log_sum_exp_rows(m);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kN);
}
template <class T> void BM_log_sum_exp_rows_scalar(benchmark::State& state) {
  const auto x = data<T>(T(3));
  const Eigen::Map<const pml::Matrix<T>> m(x.data(), kN / 16, 16);
  pml::Vector<T> out(kN / 16);
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      T mx = m(i, 0);
      for (Eigen::Index j = 1; j < 16; ++j) mx = std::max(mx, m(i, j));
      T s = 0;
      for (Eigen::Index j = 0; j < 16; ++j) s += std::exp(m(i, j) - mx);
      out[i] = mx + std::log(s);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kN);
}
BENCHMARK_TEMPLATE(BM_log_sum_exp_rows_eigen, float);
BENCHMARK_TEMPLATE(BM_log_sum_exp_rows_scalar, float);
BENCHMARK_TEMPLATE(BM_log_sum_exp_rows_eigen, double);
BENCHMARK_TEMPLATE(BM_log_sum_exp_rows_scalar, double);

BENCHMARK_MAIN();
