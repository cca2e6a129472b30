// LeNet-5 training step (forward, backward, Adam) at batch 128 in float, one convolution layer's forward
// and backward pass alone, and Eigen's float GEMM rate on a 512^3 product in the same binary: run by
// benchmarks/compare/lenet_step.py beside the same step in PyTorch.
#include <benchmark/benchmark.h>

#include "pml/models/deep/dcgan.hpp"
#include "pml/nn.hpp"
#include "pml/nn/bayesian_conv.hpp"
#include "pml/nn/conv.hpp"
#include "pml/nn/recurrent.hpp"

namespace {
constexpr int kBatch = 128;
using pml::ad::ImageShape;
using pml::ad::Window2d;

/// LeNet-5 as in PyTorch's tutorials for 28 x 28 inputs: conv 1->6 5x5 pad 2, ReLU, max-pool 2, conv 6->16
/// 5x5, ReLU, max-pool 2, dense 400-120-84-10 with ReLU, softmax cross-entropy.
struct LeNet {
  pml::nn::Conv2d<float> conv1, conv2;
  pml::nn::Linear<float> fc1, fc2, fc3;
  pml::nn::MaxPool2d<float> pool{Window2d::square(2, 2)};
  explicit LeNet(pml::Rng& rng)
      : conv1(1, 6, Window2d::square(5, 1, 2), rng), conv2(6, 16, Window2d::square(5), rng), fc1(400, 120, rng, pml::nn::Init::pytorch),
        fc2(120, 84, rng, pml::nn::Init::pytorch), fc3(84, 10, rng, pml::nn::Init::pytorch) {}
  pml::ad::Var<float> logits(pml::ad::Tape<float>& tape, const pml::ad::Var<float>& x) {
    auto h = conv1.forward(tape, {x, ImageShape{1, 28, 28}});
    h.var = pml::ad::relu(h.var);
    h = pool.forward(tape, h);
    h = conv2.forward(tape, h);
    h.var = pml::ad::relu(h.var);
    h = pool.forward(tape, h);
    const auto a = fc1.forward(tape, h.var, pml::ad::Activation::relu);
    return fc3.forward(tape, fc2.forward(tape, a, pml::ad::Activation::relu));
  }
  pml::nn::ParameterList<float> parameters() {
    auto p = conv1.parameters();
    for (auto* layer : {&fc1, &fc2, &fc3}) pml::nn::append(p, layer->parameters());
    pml::nn::append(p, conv2.parameters());
    return p;
  }
};
}  // namespace

static void BM_lenet_step_float(benchmark::State& state) {
  pml::Rng rng(3);
  LeNet net(rng);
  pml::nn::Adam<float> adam(net.parameters(), {.learning_rate = 1e-3});
  Eigen::MatrixXf x(kBatch, 784), t = Eigen::MatrixXf::Zero(kBatch, 10);
  pml::random::fill_uniform(rng, x);
  for (int i = 0; i < kBatch; ++i) t(i, i % 10) = 1;
  pml::ad::Tape<float> tape;
  for (auto _ : state) {
    tape.reset();
    const auto out = net.logits(tape, tape.constant(x));
    const auto loss = pml::ad::softmax_cross_entropy(out, tape.constant(t));
    tape.backward(loss);
    adam.step();
    benchmark::DoNotOptimize(loss.value()(0, 0));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_lenet_step_float)->Unit(benchmark::kMillisecond);

// LeNet's second convolution (6 -> 16 channels, 5x5, on 14 x 14) forward and backward at batch 128: 3 x
// 2·N·OH·OW·C_out·C_in·KH·KW floating-point operations (output, weight gradient, input gradient).
static void BM_conv_layer_float(benchmark::State& state) {
  pml::Rng rng(4);
  pml::nn::Conv2d<float> conv(6, 16, Window2d::square(5), rng);
  Eigen::MatrixXf x(kBatch, 6 * 14 * 14);
  pml::random::fill_uniform(rng, x);
  pml::ad::Tape<float> tape;
  for (auto _ : state) {
    tape.reset();
    const auto y = conv.forward(tape, {tape.variable(x), ImageShape{6, 14, 14}});
    tape.backward(pml::ad::sum(y.var));
    benchmark::DoNotOptimize(conv.weight().grad.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(3 * 2.0 * kBatch * 10 * 10 * 16 * 6 * 25 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_conv_layer_float)->Unit(benchmark::kMicrosecond);

// The same layer as a BayesianConv2d (Gaussian prior, closed-form KL) in each training sampling mode:
// issue 16 asks for at most 2.5x the plain layer's time.
static void BM_bayesian_conv_layer_float(benchmark::State& state) {
  pml::Rng rng(4);
  pml::nn::BayesianConv2d<float> conv(6, 16, Window2d::square(5), rng);
  Eigen::MatrixXf x(kBatch, 6 * 14 * 14);
  pml::random::fill_uniform(rng, x);
  const auto sampling = static_cast<pml::nn::WeightSampling>(state.range(0));
  pml::ad::Tape<float> tape;
  for (auto _ : state) {
    tape.reset();
    const auto r = conv.forward(tape, {tape.variable(x), ImageShape{6, 14, 14}}, rng, pml::nn::BayesPrior::gaussian(0.1), sampling);
    tape.backward(pml::ad::sum(r.out.var) + r.kl);
    benchmark::DoNotOptimize(conv.weight_mu().grad.data());
  }
  state.SetLabel(std::string(pml::enum_name(sampling)));
}
BENCHMARK(BM_bayesian_conv_layer_float)
    ->Arg(int(pml::nn::WeightSampling::weights))
    ->Arg(int(pml::nn::WeightSampling::local))
    ->Arg(int(pml::nn::WeightSampling::flipout))
    ->Unit(benchmark::kMicrosecond);

// The tape's float GEMM (Eigen's kernel on pml's threads) on a 512 x 512 x 512 product, zeroing C included:
// the GEMM rate the convolution layer is measured against.
static void BM_gemm_float_512(benchmark::State& state) {
  pml::Rng rng(5);
  Eigen::MatrixXf a(512, 512), b(512, 512), c(512, 512);
  pml::random::fill_uniform(rng, a);
  pml::random::fill_uniform(rng, b);
  using Map = Eigen::Map<Eigen::MatrixXf>;
  pml::ad::Tape<float> tape;  // the tape's GEMM: Eigen's kernel, split over pml's threads as in the layers
  for (auto _ : state) {
    c.setZero();
    tape.gemm<false, false>(Map(c.data(), 512, 512), Map(a.data(), 512, 512), Map(b.data(), 512, 512));
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * 512 * 512 * 512 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_gemm_float_512)->Unit(benchmark::kMicrosecond);

// LSTM training step: hidden 128, 50 time steps, batch 64, 32 input features; loss = mean square of every
// step's hidden state; Adam.
static void BM_lstm_step_float(benchmark::State& state) {
  pml::Rng rng(6);
  pml::nn::LSTM<float> lstm(32, 128, rng);
  pml::nn::Adam<float> adam(lstm.parameters(), {.learning_rate = 1e-3});
  Eigen::MatrixXf x(64, 32 * 50);
  pml::random::fill_uniform(rng, x);
  pml::ad::Tape<float> tape;
  pml::nn::RecurrentOutput<float> out;
  for (auto _ : state) {
    tape.reset();
    lstm.forward(tape, tape.constant(x), out);
    pml::ad::Var<float> loss = pml::ad::mean(pml::ad::square(out.hidden[0]));
    for (std::size_t t = 1; t < out.hidden.size(); ++t) loss = loss + pml::ad::mean(pml::ad::square(out.hidden[t]));
    tape.backward(loss);
    adam.step();
    benchmark::DoNotOptimize(loss.value()(0, 0));
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_lstm_step_float)->Unit(benchmark::kMillisecond);

// DCGAN training step on 28 x 28 images, 64/64 features, noise 100, batch 64: G makes a batch, D takes an
// Adam step on real and generated images, G one on D's verdict (DCGAN::fit's inner step).
static void BM_dcgan_step_float(benchmark::State& state) {
  pml::Rng rng(7);
  pml::DCGAN<float> gan({}, rng);
  pml::nn::Adam<float> g_opt(gan.generator_parameters(), {.learning_rate = 2e-4, .beta1 = 0.5});
  pml::nn::Adam<float> d_opt(gan.discriminator_parameters(), {.learning_rate = 2e-4, .beta1 = 0.5});
  Eigen::MatrixXf real(64, 784), z(64, 100);
  pml::random::fill_uniform(rng, real);
  real = (real.array() * 2 - 1).matrix();
  pml::ad::Tape<float> g_tape, d_tape;
  for (auto _ : state) {
    pml::random::fill_normal(rng, z);
    g_tape.reset();
    const auto fake = gan.generator_forward(g_tape, g_tape.constant(z));
    d_tape.reset();
    const auto d = gan.discriminator_loss(d_tape, d_tape.constant(real), d_tape.constant(fake.value()));
    d_tape.backward((1.0f / 64) * d);
    d_opt.step();
    const auto g = gan.generator_loss(g_tape, fake);
    g_tape.backward((1.0f / 64) * g);
    g_opt.step();
    benchmark::DoNotOptimize(g.value()(0, 0));
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_dcgan_step_float)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
