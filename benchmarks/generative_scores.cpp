// Issue 20 §3: the VAE, the DCGAN and InfoGAN on Fashion-MNIST scored by one judge, the project's MC dropout
// LeNet trained on the real images:
//   - the Fréchet distance between the judge's last hidden layer (500 ReLU units) on 2 000 generated
//     images and on 2 000 test images (metrics::frechet_distance: Heusel et al. 2017's FID with this
//     classifier in place of Inception, so its values are not comparable with published FIDs);
//   - the entropy of the histogram of the judge's classes of the generated images (log 10 = 2.303 nats:
//     every class equally often), and the judge's mean top-class probability on them (its confidence);
//   - for scale, the same numbers for 2 000 real training images against the test images (the floor).
// Usage: generative_scores [--images N] [--epochs E] [--features F] [--seed S]. The default trains every model
// on 20 000 images for 2 epochs with 32/32 convolutional features (the examples' defaults); the VAE is
// 784-400-20 with a Bernoulli decoder (its samples are the decoder's mean images). Not part of the tests
// (benchmarks are built by the dev preset only). Needs Debian's dataset-fashion-mnist.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <pml/io.hpp>
#include <pml/metrics/generative.hpp>
#include <pml/models/deep/dcgan.hpp>
#include <pml/models/deep/infogan.hpp>
#include <pml/models/deep/mc_dropout_classifier.hpp>
#include <pml/models/deep/vae.hpp>

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }

struct Judge {
  const pml::MCDropoutClassifier<float>& net;
  Eigen::MatrixXf test_features;
  void report(const char* name, const Eigen::MatrixXf& images, double seconds) const {
    const Eigen::MatrixXf f = net.hidden_features(images);
    const double fd = pml::metrics::frechet_distance(f, test_features);
    pml::Rng rng(3);
    const Eigen::MatrixXf p = net.predict_proba(images, 20, rng);
    const double top = p.rowwise().maxCoeff().cast<double>().mean();
    pml::IntVector classes(p.rows());
    for (Eigen::Index i = 0; i < p.rows(); ++i) p.row(i).maxCoeff(&classes(i));
    std::printf("| %s | %.2f | %.3f | %.3f | %.0f s |\n", name, fd, pml::metrics::class_histogram_entropy(classes, 10), top, seconds);
    std::fflush(stdout);
  }
};
}  // namespace

int main(int argc, char** argv) {
  long images = 20000;
  int epochs = 2, features = 32;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--images") == 0 && i + 1 < argc)
      images = std::max(1000L, std::atol(argv[++i]));
    else if (std::strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
      epochs = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--features") == 0 && i + 1 < argc)
      features = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: generative_scores [--images N] [--epochs E] [--features F] [--seed S]\n");
      return 2;
    }
  }
  pml::io::FashionMnist<float> data;
  try {
    data = pml::io::load_fashion_mnist<float>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const Eigen::Index n = std::min<Eigen::Index>(images, data.train_images.rows());
  const Eigen::MatrixXf x = data.train_images.topRows(n);

  pml::Rng rng(1);
  auto t0 = std::chrono::steady_clock::now();
  pml::MCDropoutClassifier<float> scorer({}, rng);
  scorer.fit(x, data.train_labels.head(n), {.epochs = 2, .batch_size = 128, .learning_rate = 1e-3}, rng);
  const Judge judge{scorer, scorer.hidden_features(data.test_images.topRows(2000))};
  std::printf("judge: MC dropout LeNet, %ld training images, 2 epochs (%.0f s); models: %ld images, %d epochs, %d/%d features, seed %llu\n\n", long(n),
              seconds_since(t0), long(n), epochs, features, features, static_cast<unsigned long long>(seed));
  std::printf("| 2 000 images from | Fréchet distance to 2 000 test images (judge's features) | class-histogram entropy (nats; log 10 = 2.303) | judge's mean top-class probability | training time |\n");
  std::printf("|---|---|---|---|---|\n");
  judge.report("real training images (the floor)", data.train_images.bottomRows(2000), 0);

  pml::Rng v_rng(seed);
  t0 = std::chrono::steady_clock::now();
  pml::VAE<float> vae({.input = 784, .hidden = {400}, .latent = 20}, v_rng);
  vae.fit(x, {.epochs = epochs, .batch_size = 128, .learning_rate = 1e-3}, v_rng);
  judge.report("VAE 784-400-20 (decoder means)", vae.sample(v_rng, 2000), seconds_since(t0));

  pml::DCGANOptions d;
  d.generator_features = d.discriminator_features = features;
  pml::Rng d_rng(seed);
  t0 = std::chrono::steady_clock::now();
  pml::DCGAN<float> dcgan(d, d_rng);
  dcgan.fit(x, {.epochs = epochs, .batch_size = 64}, d_rng);
  judge.report("DCGAN", dcgan.sample(d_rng, 2000), seconds_since(t0));

  pml::InfoGANOptions o;
  o.generator_features = o.discriminator_features = features;
  pml::Rng i_rng(seed);
  t0 = std::chrono::steady_clock::now();
  pml::InfoGAN<float> infogan(o, i_rng);
  infogan.fit(x, {.epochs = epochs, .batch_size = 64}, i_rng);
  judge.report("InfoGAN (10-way + 2 continuous codes)", infogan.sample(i_rng, 2000), seconds_since(t0));
  return 0;
}
