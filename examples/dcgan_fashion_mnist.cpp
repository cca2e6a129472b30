// DCGAN on Fashion-MNIST (Radford et al. 2016; the guidelines in the seed's third day): strided
// convolutions, transposed convolutions, batch normalisation, ReLU / LeakyReLU, Adam 2e-4 with β₁ 0.5.
// Draws dcgan_samples.png (an 8 x 8 grid of generated images) and measures their quality with an MC
// dropout LeNet trained on the real images as the scorer: the mean top-class probability of 1 000
// generated images (goal ≥ 0.8) and the entropy of their predicted-class histogram (goal ≥ 0.9 ln 10 =
// 2.07 nats: every class generated); also the Fréchet distance between the scorer's last hidden layer on the
// generated images and on 2 000 test images (metrics::frechet_distance; real training images give the floor).
// Usage: dcgan_fashion_mnist [--full | --quick] [--seeds N] [--epochs N] [--features F] [--wgan-gp] [--average B]. The default (20 000 images, 2 epochs, 32/32 features)
// runs in about a minute on 2 cores; --quick (the tour's and CI's run: 4 000 images, 1 epoch, 16/16 features, the scorer
// 1 epoch) runs every step in seconds, but its numbers are not the example's results; --full trains 64/64 features on all 60 000 images for 5 epochs
// (--epochs and --features override either's DCGAN epochs and ngf = ndf; the scorer keeps its own).
// --wgan-gp trains the WGAN-GP critic instead (Gulrajani et al. 2017: no batch normalisation in D, λ = 10,
// 5 critic steps per generator step, Adam 1e-4 with β₂ 0.9 as in the paper's algorithm 1, β₁ 0.5 as in the
// authors' DCGAN code; the algorithm's β₁ is 0). --average B keeps a moving average of the generator's weights
// with β = B as the fitted generator (DCGANFitOptions::generator_average; Yazıcı et al. 2019; 0, the default: off).
// --truncation P1,P2,... also scores 1 000 images from truncated noise for each ψ = Pk (the truncation trick,
// Brock et al. 2019: each z_i drawn again until |z_i| <= ψ; quality for diversity).
// Needs Debian's dataset-fashion-mnist.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <pml/io.hpp>
#include <pml/metrics/generative.hpp>
#include <pml/models/deep/dcgan.hpp>
#include <pml/models/deep/mc_dropout_classifier.hpp>

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
}  // namespace

int main(int argc, char** argv) {
  bool full = false, quick = false;
  int seeds = 1;
  int epochs = 0;  // 0: the run's default (2, or 5 with --full)
  int features = 0;  // 0: the run's default (32, or 64 with --full)
  bool wgan_gp = false;
  double average = 0;
  std::vector<double> truncations;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      full = true;
    else if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
      seeds = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
      epochs = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--features") == 0 && i + 1 < argc)
      features = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--wgan-gp") == 0)
      wgan_gp = true;
    else if (std::strcmp(argv[i], "--average") == 0 && i + 1 < argc)
      average = std::atof(argv[++i]);
    else if (std::strcmp(argv[i], "--truncation") == 0 && i + 1 < argc) {
      for (const char* p = argv[++i]; *p != 0;) {
        char* end = nullptr;
        const double psi = std::strtod(p, &end);
        if (end == p || !(psi > 0)) {
          std::fprintf(stderr, "dcgan_fashion_mnist: --truncation takes positive numbers separated by commas, got '%s'\n", argv[i]);
          return 2;
        }
        truncations.push_back(psi);
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != 0) {
          std::fprintf(stderr, "dcgan_fashion_mnist: --truncation takes positive numbers separated by commas, got '%s'\n", argv[i]);
          return 2;
        }
      }
    }
    else {
      std::fprintf(stderr, "usage: dcgan_fashion_mnist [--full | --quick] [--seeds N] [--epochs N] [--features F] [--wgan-gp] [--average B] [--truncation P1,P2,...]\n");
      return 2;
    }
  }
  if (full && quick) {
    std::fprintf(stderr, "dcgan_fashion_mnist: --full and --quick exclude each other\n");
    return 2;
  }
  if (quick) std::printf("quick run (the tour's): every step on little data; the numbers are not the example's results\n");
  pml::io::FashionMnist<float> data;
  try {
    data = pml::io::load_fashion_mnist<float>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const Eigen::Index n = full ? data.train_images.rows() : (quick ? 4000 : 20000);
  const Eigen::MatrixXf x = data.train_images.topRows(n);

  // the scorer: an MC dropout LeNet on the real images
  pml::Rng rng(1);
  auto t0 = std::chrono::steady_clock::now();
  pml::MCDropoutClassifier<float> scorer({}, rng);
  scorer.fit(x, data.train_labels.head(n), {.epochs = full ? 5 : (quick ? 1 : 2), .batch_size = 128, .learning_rate = 1e-3}, rng);
  pml::Rng eval(2);
  const Eigen::MatrixXf test = data.test_images.topRows(2000);
  const double accuracy = (scorer.predict(test, 10, eval).array() == data.test_labels.head(2000).array()).cast<double>().mean();
  // the bar the generated images are held to, on real ones: the scorer's mean top-class probability
  const Eigen::MatrixXf p_test = scorer.predict_proba(test, 20, eval);
  const double real_top = p_test.rowwise().maxCoeff().cast<double>().mean();
  std::printf("scorer: MC dropout LeNet, %ld images, test accuracy %.2f%%, mean top-class probability %.3f (first 2 000 test images), %.1f s\n",
              long(n), 100 * accuracy, real_top, seconds_since(t0));
  // the Fréchet distance's reference: the scorer's last hidden layer on 2 000 test images; real training images' distance is the floor
  const Eigen::MatrixXf test_features = scorer.hidden_features(test);
  const double real_fd = pml::metrics::frechet_distance(scorer.hidden_features(data.train_images.bottomRows(2000)), test_features);

  pml::DCGANOptions options;
  options.generator_features = options.discriminator_features = features > 0 ? features : (full ? 64 : (quick ? 16 : 32));
  pml::DCGANFitOptions fit{.epochs = epochs > 0 ? epochs : (full ? 5 : (quick ? 1 : 2)), .batch_size = 64, .generator_average = average};
  if (wgan_gp) {
    options.generator_loss = pml::GANLoss::wasserstein_gp;
    fit.learning_rate = 1e-4;
    fit.beta2 = 0.9;
    fit.discriminator_steps = 5;
  }
  int passed = 0;
  bool first = true;
  for (int seed = 1; seed <= seeds; ++seed) {
    pml::Rng g_rng(static_cast<std::uint64_t>(100 + seed));
    t0 = std::chrono::steady_clock::now();
    pml::DCGAN<float> gan(options, g_rng);
    try {
      gan.fit(x, fit, g_rng);
    } catch (const std::exception& e) {  // e.g. --average outside [0, 1)
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
    const double train_s = seconds_since(t0);
    const Eigen::MatrixXf samples = gan.sample(g_rng, 1000);
    // the scorer's class probabilities for each generated image (20 passes)
    pml::Rng score_rng(3);
    const Eigen::MatrixXf p = scorer.predict_proba(samples, 20, score_rng);
    const double top = p.rowwise().maxCoeff().cast<double>().mean();
    const pml::IntVector classes = pml::detail::argmax_rows(p);
    Eigen::VectorXd histogram = Eigen::VectorXd::Zero(10);
    for (Eigen::Index i = 0; i < classes.size(); ++i) histogram(classes(i)) += 1;
    histogram /= histogram.sum();
    const double entropy = pml::metrics::class_histogram_entropy(classes, 10);
    const double fd = pml::metrics::frechet_distance(scorer.hidden_features(samples), test_features);
    const bool ok = top >= 0.8 && entropy >= 0.9 * std::log(10.0);
    passed += ok;
    std::printf("DCGAN%s seed %d (%ld/%ld features, %d epochs, batch %ld, generator average %g, %.1f s): last epoch D loss %.3f, G loss %.3f; mean top-class probability %.3f "
                "(goal >= 0.8), class-histogram entropy %.3f nats (goal >= %.3f) -> %s; Fréchet distance to 2 000 test images on the scorer's features %.2f "
                "(real training images: %.2f)\n",
                wgan_gp ? " (WGAN-GP)" : "", seed, long(options.generator_features), long(options.discriminator_features), fit.epochs, long(fit.batch_size),
                fit.generator_average, train_s,
                double(gan.loss_history().discriminator_loss.back()), double(gan.loss_history().generator_loss.back()), top, entropy, 0.9 * std::log(10.0),
                ok ? "pass" : "FAIL", fd, real_fd);
    std::printf("  class histogram:");
    for (Eigen::Index k = 0; k < 10; ++k) std::printf(" %.3f", histogram(k));
    std::printf("\n");
    for (const double psi : truncations) {  // the same model, noise redrawn beyond ±ψ
      Eigen::MatrixXf z(1000, options.noise);
      for (Eigen::Index i = 0; i < z.size(); ++i) {
        double v = pml::random::normal<double>(g_rng);
        while (std::abs(v) > psi) v = pml::random::normal<double>(g_rng);
        z.data()[i] = float(v);
      }
      const Eigen::MatrixXf images = gan.generate(z);
      pml::Rng r(3);
      const Eigen::MatrixXf q = scorer.predict_proba(images, 20, r);
      std::printf("  truncation psi = %g: mean top-class probability %.3f, class-histogram entropy %.3f nats, Fréchet distance %.2f\n", psi,
                  q.rowwise().maxCoeff().cast<double>().mean(), pml::metrics::class_histogram_entropy(pml::detail::argmax_rows(q), 10),
                  pml::metrics::frechet_distance(scorer.hidden_features(images), test_features));
    }
    std::fflush(stdout);  // a seed's lines at once, also when stdout is a file
    if (first) {
      pml::io::write_png("dcgan_samples.png", pml::io::tile_images(samples.topRows(64), 28, 28, 8));
      std::printf("wrote dcgan_samples.png\n");
      first = false;
    }
  }
  std::printf("%d of %d seeds pass both goals\n", passed, seeds);
  return 0;
}
