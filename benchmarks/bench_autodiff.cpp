// Autodiff benchmarks (issue 3), all in one run:
//  * gradient of sum_i log N(y_i | mu, sigma) w.r.t. (mu, sigma), N = 16384, double: pml's tape, a
//    hand-written fused loop, and (when Debian's r-cran-stanheaders was found at configure time) Stan Math
//    reverse mode, both its vectorised normal_lpdf and a loop of scalar normal_lpdf terms;
//  * per-node overhead of the tape on 4x4 matrices (forward + backward, ns per node);
//  * one training step (forward + backward + Adam) of an MLP 784-400-20-400-784 at batch 128 in float,
//    with samples/s and GFLOP/s, next to Eigen's float GEMM rate on the same shapes.
// Run: build/dev/benchmarks/bench_autodiff  (benchmarks/compare/mlp_step.py adds PyTorch's step).
#include <benchmark/benchmark.h>

#include <cmath>

#ifdef PML_HAVE_STAN  // first: Stan adds its plugins to Eigen's classes before Eigen is included
#include <stan/math/rev/mat.hpp>
#endif

#include "pml/autodiff/ops.hpp"
#include "pml/core/random.hpp"
#include "pml/nn/mlp.hpp"
#include "pml/nn/optim.hpp"

namespace {
constexpr int kNormalN = 16384;
// benchmark::DoNotOptimize(double&) of libbenchmark 1.7 ("+r,m" asm constraint) corrupted the doubles
// it was given here under GCC 12 (the reported gradients were garbage); a volatile sink is enough.
volatile double sink;
inline void keep(double v) { sink = v; }
Eigen::VectorXd normal_data() {
  pml::Rng rng(1);
  Eigen::VectorXd y(kNormalN);
  pml::random::fill_normal(rng, y, 0.3, 1.7);
  return y;
}
}  // namespace

// The data go on the tape once; each step rewinds to just after them and rebuilds the graph.
static void BM_normal_grad_pml(benchmark::State& state) {
  const Eigen::VectorXd y = normal_data();
  pml::ad::Tape<double> tape;
  const auto vy = tape.constant(y);
  const std::size_t mark = tape.mark();
  double dmu = 0, dsigma = 0;
  for (auto _ : state) {
    tape.rewind(mark);
    const auto mu = tape.variable(Eigen::Matrix<double, 1, 1>(0.1));
    const auto sigma = tape.variable(Eigen::Matrix<double, 1, 1>(1.2));
    const auto lp = pml::ad::normal_log_prob(vy, mu, sigma);
    tape.backward(lp);
    dmu = mu.adjoint()(0, 0);
    dsigma = sigma.adjoint()(0, 0);
    keep(dmu);
    keep(dsigma);
  }
  state.counters["dmu"] = dmu;
  state.SetItemsProcessed(state.iterations() * kNormalN);
}
BENCHMARK(BM_normal_grad_pml);

// The same with the data copied onto a fresh tape every step (reset + constant).
static void BM_normal_grad_pml_copy_data(benchmark::State& state) {
  const Eigen::VectorXd y = normal_data();
  pml::ad::Tape<double> tape;
  double dmu = 0;
  for (auto _ : state) {
    tape.reset();
    const auto vy = tape.constant(y);
    const auto mu = tape.variable(Eigen::Matrix<double, 1, 1>(0.1));
    const auto sigma = tape.variable(Eigen::Matrix<double, 1, 1>(1.2));
    tape.backward(pml::ad::normal_log_prob(vy, mu, sigma));
    dmu = mu.adjoint()(0, 0);
    keep(dmu);
    keep(sigma.adjoint()(0, 0));
  }
  state.counters["dmu"] = dmu;
  state.SetItemsProcessed(state.iterations() * kNormalN);
}
BENCHMARK(BM_normal_grad_pml_copy_data);

static void BM_normal_grad_hand_loop(benchmark::State& state) {
  const Eigen::VectorXd y = normal_data();
  double dmu = 0, dsigma = 0;
  for (auto _ : state) {
    const double mu = 0.1, sigma = 1.2, inv = 1 / sigma, inv2 = inv * inv;
    double r = 0, r2 = 0;
    for (int i = 0; i < kNormalN; ++i) {
      const double d = y[i] - mu;
      r += d;
      r2 += d * d;
    }
    const double lp = -0.5 * r2 * inv2 - kNormalN * std::log(sigma) - kNormalN * 0.9189385332046727;
    dmu = r * inv2;
    dsigma = r2 * inv2 * inv - kNormalN * inv;
    keep(lp);
    keep(dmu);
    keep(dsigma);
  }
  state.counters["dmu"] = dmu;
  state.SetItemsProcessed(state.iterations() * kNormalN);
}
BENCHMARK(BM_normal_grad_hand_loop);

// The hand-written gradient with Eigen array reductions, which (unlike the plain loop above, whose
// floating-point sum GCC must not reorder) are vectorised: the fastest plain C++ we wrote for it.
static void BM_normal_grad_hand_eigen(benchmark::State& state) {
  const Eigen::VectorXd y = normal_data();
  double dmu = 0;
  for (auto _ : state) {
    const double mu = 0.1, sigma = 1.2, inv = 1 / sigma, inv2 = inv * inv;
    const auto d = y.array() - mu;
    const double r = d.sum(), r2 = d.square().sum();
    keep(-0.5 * r2 * inv2 - kNormalN * std::log(sigma) - kNormalN * 0.9189385332046727);
    dmu = r * inv2;
    keep(dmu);
    keep(r2 * inv2 * inv - kNormalN * inv);
  }
  state.counters["dmu"] = dmu;
  state.SetItemsProcessed(state.iterations() * kNormalN);
}
BENCHMARK(BM_normal_grad_hand_eigen);

#ifdef PML_HAVE_STAN
static void BM_normal_grad_stan_vectorised(benchmark::State& state) {
  const Eigen::VectorXd y = normal_data();
  double dmu = 0;
  for (auto _ : state) {
    stan::math::var mu = 0.1, sigma = 1.2;
    stan::math::var lp = stan::math::normal_lpdf(y, mu, sigma);
    lp.grad();
    dmu = mu.adj();
    keep(dmu);
    keep(sigma.adj());
    stan::math::recover_memory();
  }
  state.counters["dmu"] = dmu;
  state.SetItemsProcessed(state.iterations() * kNormalN);
}
BENCHMARK(BM_normal_grad_stan_vectorised);

static void BM_normal_grad_stan_scalar_terms(benchmark::State& state) {
  const Eigen::VectorXd y = normal_data();
  double dmu = 0;
  for (auto _ : state) {
    stan::math::var mu = 0.1, sigma = 1.2, lp = 0;
    for (int i = 0; i < kNormalN; ++i) lp += stan::math::normal_lpdf(y[i], mu, sigma);
    lp.grad();
    dmu = mu.adj();
    keep(dmu);
    stan::math::recover_memory();
  }
  state.counters["dmu"] = dmu;
  state.SetItemsProcessed(state.iterations() * kNormalN);
}
BENCHMARK(BM_normal_grad_stan_scalar_terms);
#endif

// Per-node overhead: a chain of small ops on 4x4 matrices, forward and backward on a reused tape.
static void BM_tape_overhead_4x4(benchmark::State& state) {
  pml::Rng rng(2);
  Eigen::Matrix4d a0 = Eigen::Matrix4d::Zero(), w0 = Eigen::Matrix4d::Zero();
  pml::random::fill_normal(rng, a0, 0.0, 0.3);
  pml::random::fill_normal(rng, w0, 0.0, 0.3);
  pml::ad::Tape<double> tape;
  std::size_t nodes = 0;
  for (auto _ : state) {
    tape.reset();
    auto x = tape.variable(a0);
    const auto w = tape.variable(w0);
    for (int i = 0; i < 25; ++i) x = pml::ad::tanh(pml::ad::matmul(x, w) + x) * w;  // 4 nodes per round
    const auto loss = pml::ad::sum(x);
    tape.backward(loss);
    benchmark::DoNotOptimize(w.adjoint()(0, 0));
    nodes = tape.size();
  }
  state.counters["nodes"] = double(nodes);
  state.counters["nodes_per_second"] = benchmark::Counter(double(nodes), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_tape_overhead_4x4);

namespace {
constexpr int kBatch = 128;
// Useful floating-point work of one step of 784-400-20-400-784: forward GEMMs, weight gradients, and the
// input gradients of every layer but the first (whose input is data). Elementwise work is not counted.
constexpr double kForwardFlops = 2.0 * kBatch * (784 * 400 + 400 * 20 + 20 * 400 + 400 * 784);
constexpr double kStepFlops = kForwardFlops * 2 + 2.0 * kBatch * (400 * 20 + 20 * 400 + 400 * 784);
}  // namespace

static void BM_mlp_step_784_400_20_400_784_float(benchmark::State& state) {
  pml::Rng rng(3);
  pml::nn::MLP<float> net({.sizes = {784, 400, 20, 400, 784}, .activation = pml::ad::Activation::relu}, rng);
  pml::nn::Adam<float> adam(net.parameters(), {.learning_rate = 1e-3});
  Eigen::MatrixXf x(kBatch, 784);
  pml::random::fill_uniform(rng, x);
  pml::ad::Tape<float> tape;
  for (auto _ : state) {
    tape.reset();
    const auto vx = tape.constant(x);
    const auto loss = pml::ad::mean(pml::ad::square(net.forward(tape, vx, rng) - vx));
    tape.backward(loss);
    adam.step();
    benchmark::DoNotOptimize(loss.value()(0, 0));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["GFLOPs"] = benchmark::Counter(kStepFlops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_mlp_step_784_400_20_400_784_float)->Unit(benchmark::kMillisecond);

// Eigen's float GEMM on the step's largest shapes (the rate the step is measured against).
static void BM_gemm_float_128x784x400(benchmark::State& state) {
  pml::Rng rng(4);
  Eigen::MatrixXf a(kBatch, 784), b(784, 400), c(kBatch, 400);
  pml::random::fill_uniform(rng, a);
  pml::random::fill_uniform(rng, b);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * kBatch * 784 * 400 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_gemm_float_128x784x400)->Unit(benchmark::kMicrosecond);

// nn::MLP::predict (const, thread-safe) on the thread's scratch tape, against the same forward pass on a
// tape made for each call (what a const predict costs without the scratch tape: fresh arenas, page faults).
// Rows: state.range(0); network 784-400-20 (float).
static void BM_mlp_predict_scratch_tape(benchmark::State& state) {
  pml::Rng rng(1);
  const pml::nn::MLP<float> net({.sizes = {784, 400, 20}, .activation = pml::ad::Activation::relu}, rng);
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(state.range(0), 784);
  for (auto _ : state) benchmark::DoNotOptimize(net.predict(x).data());
}
BENCHMARK(BM_mlp_predict_scratch_tape)->Arg(1)->Arg(128)->Unit(benchmark::kMicrosecond);
static void BM_mlp_predict_fresh_tape(benchmark::State& state) {
  pml::Rng rng(1);
  const pml::nn::MLP<float> net({.sizes = {784, 400, 20}, .activation = pml::ad::Activation::relu}, rng);
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(state.range(0), 784);
  for (auto _ : state) {
    pml::ad::Tape<float> tape;
    const Eigen::MatrixXf out = net.forward(tape, tape.constant(x)).value();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_mlp_predict_fresh_tape)->Arg(1)->Arg(128)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
