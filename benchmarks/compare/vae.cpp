// Companion of benchmarks/compare/vae.py: trains pml's VAE 784-400-20-400-784 (Bernoulli decoder,
// estimator B, L = 1, batch 128, Adam 1e-3, float) on Fashion-MNIST and prints the training ELBO of each
// epoch, the training samples/s, then the test-set ELBO (one sample per image) in nats per image.
//   compare_vae [epochs] [seed]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "pml/io/idx.hpp"
#include "pml/models/deep/vae.hpp"

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 3;
  const unsigned long seed = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 0;
  const auto data = pml::io::load_fashion_mnist<float>();
  pml::Rng rng(seed);
  pml::VAE<float> vae({.input = 784, .hidden = {400}, .latent = 20}, rng);
  const auto t0 = std::chrono::steady_clock::now();
  vae.fit(data.train_images, {.epochs = epochs, .batch_size = 128, .learning_rate = 1e-3}, rng);
  const auto& history = vae.elbo_history();
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int e = 0; e < epochs; ++e) std::printf("epoch %d train_elbo %.2f\n", e + 1, double(history[std::size_t(e)]));
  std::printf("samples_per_second %.0f\n", double(epochs) * double(data.train_images.rows()) / total);
  std::printf("test_elbo %.2f\n", double(vae.elbo(data.test_images, rng).mean()));
  return 0;
}
