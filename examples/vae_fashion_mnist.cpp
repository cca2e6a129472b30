// A VAE with a 2-D latent space on Fashion-MNIST (Kingma & Welling 2013, figure 4's "learned manifold"):
// trains, prints the ELBO per epoch and the importance-weighted log-likelihood, and draws
//   vae_reconstructions.png  test images (odd rows) above their reconstructions (even rows)
//   vae_manifold.png         the decoder's mean image over a 20 x 20 grid of z in [-2.5, 2.5]^2
// Defaults run in well under a minute on 2 cores (20 000 training images, 5 epochs); --full trains on all
// 60 000 images for 20 epochs. Needs Debian's dataset-fashion-mnist.
#include <cstdio>
#include <cstring>
#include <exception>

#include <pml/io.hpp>
#include <pml/io/png.hpp>
#include <pml/models/deep/vae.hpp>

int main(int argc, char** argv) {
  const bool full = argc > 1 && std::strcmp(argv[1], "--full") == 0;
  pml::io::FashionMnist<float> data;
  try {
    data = pml::io::load_fashion_mnist<float>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const Eigen::Index n = full ? data.train_images.rows() : 20000;
  const int epochs = full ? 20 : 5;
  const Eigen::MatrixXf train = data.train_images.topRows(n);
  pml::Rng rng(1);
  pml::VAE<float> vae({.input = 784, .hidden = {400}, .latent = 2}, rng);
  std::printf("VAE 784-400-2-400-784 (Bernoulli decoder), %ld training images, %d epochs, batch 100, Adam 1e-3\n\n", long(n), epochs);
  vae.fit(train, {.epochs = epochs, .batch_size = 100, .learning_rate = 1e-3}, rng);
  const auto& history = vae.elbo_history();
  for (std::size_t e = 0; e < history.size(); ++e) std::printf("epoch %2zu  train ELBO %8.2f nats/image\n", e + 1, double(history[e]));
  const Eigen::MatrixXf test = data.test_images.topRows(1000);
  std::printf("\ntest (1000 images): ELBO %.2f, importance-weighted log p(x) with k = 50: %.2f nats/image\n",
              double(vae.elbo(test, rng).mean()), double(vae.score(test, 50, rng)));

  // reconstructions: 2 rows of 10 originals, each above its reconstruction
  const Eigen::MatrixXf originals = test.topRows(20), rec = vae.reconstruct(originals);
  Eigen::MatrixXf pairs(40, 784);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 10; ++c) {
      pairs.row(r * 20 + c) = originals.row(r * 10 + c);
      pairs.row(r * 20 + 10 + c) = rec.row(r * 10 + c);
    }
  pml::io::write_png("vae_reconstructions.png", pml::io::tile_images(pairs, 28, 28, 10));
  // the learned manifold: decoder means over a grid in latent space
  Eigen::MatrixXf z(400, 2);
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 20; ++j) z.row(i * 20 + j) << -2.5f + 5.0f * float(j) / 19.0f, 2.5f - 5.0f * float(i) / 19.0f;
  pml::io::write_png("vae_manifold.png", pml::io::tile_images(vae.decode(z), 28, 28, 20));
  std::printf("wrote vae_reconstructions.png and vae_manifold.png\n");
  return history.back() > history.front() ? 0 : 1;
}
