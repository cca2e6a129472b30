// Companion of benchmarks/compare/vae.py: trains pml's VAE 784-400-20-400-784 (Bernoulli decoder,
// estimator B, L = 1, batch 128, Adam 1e-3, float) on Fashion-MNIST and prints the training ELBO of each
// epoch, the training samples/s, the test-set ELBO (one sample per image) and, if asked, the
// importance-weighted bound (Burda et al. 2016) with k samples on the first n test images, in nats per image.
//   compare_vae [--epochs 3] [--seed 0] [--init automatic] [--order FILE] [--init-out FILE]
//               [--iwae-k 0] [--iwae-n 1000]
// --init: an nn::Init name (automatic, pytorch, xavier_uniform, xavier_normal, he_uniform, he_normal).
// --init-out FILE: writes the initial parameters (before training) in parameters() order, each as
//   int64 rows, int64 cols, then rows x cols float32 in column-major order (a fan_in x fan_out weight read
//   row-major is PyTorch's out x in weight), so the PyTorch side can start from the same numbers.
// --order FILE: epochs x 60000 int32 row indices (one permutation per epoch, the order of the minibatches);
//   training then runs the same step as VAE::fit (negative_elbo on the tape, mean over the batch, Adam) in
//   that order instead of VAE::fit's own shuffle.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pml/core/enum_names.hpp"
#include "pml/io/idx.hpp"
#include "pml/models/deep/vae.hpp"
#include "pml/nn/optim.hpp"

namespace {
struct Args {
  int epochs = 3;
  unsigned long seed = 0;
  pml::nn::Init init = pml::nn::Init::automatic;
  std::string order, init_out;
  int iwae_k = 0;
  long iwae_n = 1000;
};
Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--epochs") a.epochs = std::stoi(value);
    else if (key == "--seed") a.seed = std::stoul(value);
    else if (key == "--init") {
      const auto names = enum_names(pml::nn::Init{});
      bool found = false;
      for (std::size_t j = 0; j < names.size(); ++j)
        if (names[j] == value) a.init = pml::nn::Init(j), found = true;
      if (!found) throw std::invalid_argument("compare_vae: unknown --init " + value);
    } else if (key == "--order") a.order = value;
    else if (key == "--init-out") a.init_out = value;
    else if (key == "--iwae-k") a.iwae_k = std::stoi(value);
    else if (key == "--iwae-n") a.iwae_n = std::stol(value);
    else throw std::invalid_argument("compare_vae: unknown option " + std::string(key));
  }
  if (argc % 2 == 0) throw std::invalid_argument("compare_vae: an option without a value");
  return a;
}
void write_parameters(const std::string& path, const pml::nn::ConstParameterList<float>& params) {
  std::ofstream out(path, std::ios::binary);
  for (const auto* p : params) {
    const std::int64_t shape[2] = {p->value.rows(), p->value.cols()};
    out.write(reinterpret_cast<const char*>(shape), sizeof shape);
    out.write(reinterpret_cast<const char*>(p->value.data()), std::streamsize(sizeof(float) * std::size_t(p->value.size())));
  }
  if (!out) throw std::runtime_error("compare_vae: cannot write " + path);
}
}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const auto data = pml::io::load_fashion_mnist<float>();
  pml::Rng rng(args.seed);
  pml::VAE<float> vae({.input = 784, .hidden = {400}, .latent = 20, .init = args.init}, rng);
  if (!args.init_out.empty()) write_parameters(args.init_out, std::as_const(vae).parameters());
  const pml::Index n = data.train_images.rows();
  std::vector<std::int32_t> order;
  if (!args.order.empty()) {
    order.resize(std::size_t(args.epochs) * std::size_t(n));
    std::ifstream in(args.order, std::ios::binary);
    in.read(reinterpret_cast<char*>(order.data()), std::streamsize(order.size() * sizeof(std::int32_t)));
    if (!in) throw std::runtime_error("compare_vae: " + args.order + " holds fewer than epochs x 60000 int32 indices");
  }
  std::vector<double> history;
  const auto t0 = std::chrono::steady_clock::now();
  if (order.empty()) {
    vae.fit(data.train_images, {.epochs = args.epochs, .batch_size = 128, .learning_rate = 1e-3}, rng);
    for (const float e : vae.elbo_history()) history.push_back(double(e));
  } else {  // VAE::fit's step, in the given order
    pml::nn::Adam<float> adam(vae.parameters(), {.learning_rate = 1e-3});
    pml::ad::Tape<float> tape;
    pml::Matrix<float> xb;
    for (int e = 0; e < args.epochs; ++e) {
      double sum = 0;
      for (pml::Index start = 0; start < n; start += 128) {
        const pml::Index rows = std::min<pml::Index>(128, n - start);
        xb.resize(rows, 784);
        for (pml::Index r = 0; r < rows; ++r) xb.row(r) = data.train_images.row(order[std::size_t(e) * std::size_t(n) + std::size_t(start + r)]);
        tape.reset();
        const pml::ad::Var<float> batch = vae.negative_elbo(tape, tape.constant(xb), rng);
        tape.backward((1.0f / float(rows)) * batch);
        adam.step();
        sum += double(batch.value()(0, 0));
      }
      history.push_back(-sum / double(n));
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (std::size_t e = 0; e < history.size(); ++e) std::printf("epoch %zu train_elbo %.3f\n", e + 1, history[e]);
  std::printf("samples_per_second %.0f\n", double(args.epochs) * double(n) / total);
  std::printf("test_elbo %.4f\n", double(vae.elbo(data.test_images, rng).mean()));
  if (args.iwae_k > 0) {
    const pml::Index m = std::min<pml::Index>(args.iwae_n, data.test_images.rows());
    std::printf("test_iwae %.4f\n", double(vae.score(data.test_images.topRows(m), args.iwae_k, rng)));
  }
  return 0;
}
