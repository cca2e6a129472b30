// InfoGAN on Fashion-MNIST (Chen et al. 2016; the seed's first day, hidden variables): a DCGAN body whose
// generator also takes one 10-way categorical code c1 and two continuous codes c2, c3 ~ U(−1, 1), with the
// information term λ L_I (λ 1 for c1, 0.1 for c2 and c3). Draws the paper's figure 2 layout:
//   infogan_categorical.png  columns: c1 = 0..9; rows: 8 noise vectors (c2 = c3 = 0)
//   infogan_continuous.png   columns: c2 from −2 to 2 (beyond the prior's [−1, 1], as the paper does); rows: c1 = 0..9
//   infogan_continuous2.png  the same for c3
// and measures how well the categorical code agrees with the true classes, against a plain DCGAN:
//   - InfoGAN: Q's reading of c1 on the first 5 000 test images (2 000 by default, 1 000 with --quick) against their labels, best one-to-one matching
//     (Hungarian assignment, pml::metrics::clustering_accuracy; the paper's MNIST measure);
//   - InfoGAN, generated: c1 against the class an MC dropout LeNet (trained on the real images) gives each
//     generated image;
//   - plain DCGAN (same networks and schedule, no codes): k-means (k = 10) on its latent space, that is on
//     the z of its generated images, against the LeNet's classes of those images; and k-means on its
//     discriminator's features of the (first 5 000) test images against their labels;
//   - k-means on the test images' pixels, for scale;
// and both models' Fréchet distance to 2 000 test images on the LeNet's last hidden layer and the entropy of
// the LeNet's class histogram of their images (metrics/generative.hpp).
// Usage: infogan_fashion_mnist [--full | --quick] [--seeds N] [--epochs N] [--features F] [--images N]. The default
// (10 000 images, 1 epoch, 32/32 features, 2 000 test images) runs in about two minutes on one core and checks
// only that the code carries information (the bound on I(c1; G) above half of log 10 nats); --full trains on
// all 60 000 images for 5 epochs with 64/64 features (--features 32: 32/32); --quick (the tour's and CI's run:
// 3 000 images, 16/16 features, the judge 1 epoch, 1 000 test images) makes the same check, but its other
// numbers are not the example's results.
// Needs Debian's dataset-fashion-mnist.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include <pml/io.hpp>
#include <pml/metrics/clustering.hpp>
#include <pml/metrics/generative.hpp>
#include <pml/models/cluster/kmeans.hpp>
#include <pml/models/deep/infogan.hpp>
#include <pml/models/deep/mc_dropout_classifier.hpp>

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }

// k-means (k = 10, 2 restarts) on the rows of x; the cluster of each row
pml::IntVector kmeans_clusters(const Eigen::MatrixXf& x, std::uint64_t seed) {
  pml::KMeans<double> km({.clusters = 10, .restarts = 2});
  km.fit(x.cast<double>(), seed);
  return km.labels();
}
// the LeNet's class of each image (20 MC dropout passes)
pml::IntVector classes_of(const pml::MCDropoutClassifier<float>& scorer, const Eigen::MatrixXf& images) {
  pml::Rng rng(3);
  return scorer.predict(images, 20, rng);
}
}  // namespace

int main(int argc, char** argv) {
  bool full = false, quick = false;
  int seeds = 1, epochs = 0, features = 0;
  long images = 0;
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
    else if (std::strcmp(argv[i], "--images") == 0 && i + 1 < argc)
      images = std::max(100L, std::atol(argv[++i]));
    else {
      std::fprintf(stderr, "usage: infogan_fashion_mnist [--full | --quick] [--seeds N] [--epochs N] [--features F] [--images N]\n");
      return 2;
    }
  }
  if (full && quick) {
    std::fprintf(stderr, "infogan_fashion_mnist: --full and --quick exclude each other\n");
    return 2;
  }
  if (quick) std::printf("quick run (the tour's): little data and small networks; only the information check is the example's\n");
  pml::io::FashionMnist<float> data;
  try {
    data = pml::io::load_fashion_mnist<float>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const Eigen::Index n = images > 0 ? std::min<Eigen::Index>(images, data.train_images.rows()) : (full ? data.train_images.rows() : (quick ? 3000 : 10000));
  const Eigen::MatrixXf x = data.train_images.topRows(n);
  const Eigen::Index tested = full ? 5000 : (quick ? 1000 : 2000);  // the matched accuracies: the first 5 000 test images (2 000 by default)
  const Eigen::MatrixXf test = data.test_images.topRows(tested);
  const pml::IntVector test_labels = data.test_labels.head(tested);
  epochs = epochs > 0 ? epochs : (full ? 5 : 1);
  features = features > 0 ? features : (full ? 64 : (quick ? 16 : 32));

  // the judge of generated images: an MC dropout LeNet on the real ones
  pml::Rng rng(1);
  auto t0 = std::chrono::steady_clock::now();
  pml::MCDropoutClassifier<float> scorer({}, rng);
  scorer.fit(x, data.train_labels.head(n), {.epochs = full ? 5 : (quick ? 1 : 2), .batch_size = 128, .learning_rate = 1e-3}, rng);
  const Eigen::Index judged = std::min<Eigen::Index>(2000, tested);
  const double scorer_accuracy = (classes_of(scorer, test.topRows(judged)).array() == test_labels.head(judged).array()).cast<double>().mean();
  std::printf("judge: MC dropout LeNet on %ld images, test accuracy %.2f%% (first %ld test images), %.1f s\n", long(n), 100 * scorer_accuracy, long(judged),
              seconds_since(t0));
  const Eigen::MatrixXf test_features = scorer.hidden_features(test.topRows(judged));
  // the generated images' Fréchet distance to the test images on the judge's features, and their class histogram's entropy
  auto quality = [&](const Eigen::MatrixXf& made) {
    const pml::IntVector classes = classes_of(scorer, made);
    return std::pair{pml::metrics::frechet_distance(scorer.hidden_features(made), test_features), pml::metrics::class_histogram_entropy(classes, 10)};
  };
  t0 = std::chrono::steady_clock::now();
  const double pixels = pml::metrics::clustering_accuracy(kmeans_clusters(test, 7), test_labels);
  std::printf("k-means (k = 10) on the test images' pixels: matched accuracy %.3f (%.1f s)\n", pixels, seconds_since(t0));

  pml::InfoGANOptions options;  // noise 62, c1 10-way, c2 and c3 uniform: the paper's MNIST codes
  options.generator_features = options.discriminator_features = features;
  const pml::InfoGANFitOptions fit{.epochs = epochs, .batch_size = 64};
  bool code_used = true;
  for (int seed = 1; seed <= seeds; ++seed) {
    pml::Rng g_rng(static_cast<std::uint64_t>(200 + seed));
    t0 = std::chrono::steady_clock::now();
    pml::InfoGAN<float> gan(options, g_rng);
    gan.fit(x, fit, g_rng);
    const double train_s = seconds_since(t0);
    // Q on the real test images
    const pml::IntVector read = gan.predict_codes(test).col(0).cast<long>();
    const double q_accuracy = pml::metrics::clustering_accuracy(read, test_labels);
    // c1 against the judge's classes of 1 000 generated images (100 per value of c1)
    Eigen::MatrixXf z(1000, options.noise);
    pml::random::fill_normal(g_rng, z);
    Eigen::MatrixXf codes = gan.sample_codes(g_rng, 1000);
    for (Eigen::Index i = 0; i < 1000; ++i) codes(i, 0) = float(i % 10);
    const Eigen::MatrixXf made = gan.generate(z, codes);
    const pml::IntVector code_values = codes.col(0).cast<long>();
    const double generated_accuracy = pml::metrics::clustering_accuracy(code_values, classes_of(scorer, made));
    pml::Rng mi_rng(5);
    const Eigen::VectorXf bound = gan.mutual_information(mi_rng, 2000);
    std::printf("InfoGAN seed %d (%d/%d features, %d epochs, %.1f s): I(c1; G) bound %.3f nats (log 10 = %.3f), c2 %.3f, c3 %.3f; last epoch D %.3f, G %.3f\n",
                seed, features, features, epochs, train_s, double(bound(0)), std::log(10.0), double(bound(1)), double(bound(2)),
                double(gan.loss_history().discriminator_loss.back()), double(gan.loss_history().generator_loss.back()));
    std::printf("  c1 vs classes, matched accuracy: Q on the test images %.3f; generated images judged by the LeNet %.3f\n", q_accuracy, generated_accuracy);
    const auto [fd, entropy] = quality(made);
    std::printf("  1 000 generated images: Fréchet distance to %ld test images on the judge's features %.2f, class-histogram entropy %.3f nats\n", long(judged), fd,
                entropy);
    code_used = code_used && double(bound(0)) > 0.5 * std::log(10.0);
    if (seed == 1) {
      // figure 2: c1 across, 8 noise vectors down
      Eigen::MatrixXf zf(80, options.noise), cf = Eigen::MatrixXf::Zero(80, 3);
      Eigen::MatrixXf base(8, options.noise);
      pml::Rng fig(11);
      pml::random::fill_normal(fig, base);
      for (Eigen::Index r = 0; r < 8; ++r)
        for (Eigen::Index c = 0; c < 10; ++c) {
          zf.row(r * 10 + c) = base.row(r);
          cf(r * 10 + c, 0) = float(c);
        }
      pml::io::write_png("infogan_categorical.png", pml::io::tile_images(gan.generate(zf, cf), 28, 28, 10));
      // c2 (then c3) from −2 to 2 across, c1 = 0..9 down, one noise vector
      for (int which = 1; which <= 2; ++which) {
        Eigen::MatrixXf zc(90, options.noise), cc = Eigen::MatrixXf::Zero(90, 3);
        for (Eigen::Index r = 0; r < 10; ++r)
          for (Eigen::Index c = 0; c < 9; ++c) {
            zc.row(r * 9 + c) = base.row(0);
            cc(r * 9 + c, 0) = float(r);
            cc(r * 9 + c, which) = float(-2.0 + 0.5 * double(c));
          }
        pml::io::write_png(which == 1 ? "infogan_continuous.png" : "infogan_continuous2.png", pml::io::tile_images(gan.generate(zc, cc), 28, 28, 9));
      }
      std::printf("  wrote infogan_categorical.png, infogan_continuous.png, infogan_continuous2.png\n");
    }

    // the plain DCGAN: same networks (its noise as wide as InfoGAN's z and codes), same schedule
    pml::DCGANOptions plain;
    plain.noise = options.noise + 12;
    plain.generator_features = plain.discriminator_features = features;
    pml::Rng d_rng(static_cast<std::uint64_t>(300 + seed));
    t0 = std::chrono::steady_clock::now();
    pml::DCGAN<float> dcgan(plain, d_rng);
    dcgan.fit(x, {.epochs = epochs, .batch_size = 64}, d_rng);
    const double dcgan_s = seconds_since(t0);
    Eigen::MatrixXf zd(1000, plain.noise);
    pml::random::fill_normal(d_rng, zd);
    const Eigen::MatrixXf dc_made = dcgan.generate(zd);
    const double latent = pml::metrics::clustering_accuracy(kmeans_clusters(zd, 8), classes_of(scorer, dc_made));
    const auto [dc_fd, dc_entropy] = quality(dc_made);
    // D's features of the test images (running statistics), in chunks
    Eigen::MatrixXf feats(test.rows(), 2 * features * 49);
    pml::ad::Tape<float> tape;
    for (Eigen::Index r0 = 0; r0 < test.rows(); r0 += 500) {  // 5 000, 2 000 or 1 000 rows
      tape.reset();
      const Eigen::MatrixXf rows = (test.middleRows(r0, 500).array() * 2 - 1).matrix();
      feats.middleRows(r0, 500) = std::as_const(dcgan).discriminator_forward(tape, tape.constant(rows)).features.value();
    }
    const double d_features = pml::metrics::clustering_accuracy(kmeans_clusters(feats, 9), test_labels);
    std::printf("plain DCGAN seed %d (%.1f s): k-means on its latent z vs the LeNet's classes of the images %.3f; k-means on D's features of the test "
                "images vs labels %.3f; Fréchet distance %.2f, class-histogram entropy %.3f nats\n",
                seed, dcgan_s, latent, d_features, dc_fd, dc_entropy);
  }
  std::printf("%s\n", code_used ? "every seed's categorical code carries at least half of its log 10 nats (the bound on I(c1; G))"
                                    : "FAIL: a categorical code's bound on I(c1; G) below half of log 10: the code was ignored");
  return code_used ? 0 : 1;
}
