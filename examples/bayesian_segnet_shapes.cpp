// Bayesian SegNet in small (Kendall, Badrinarayanan & Cipolla 2017): an encoder-decoder that upsamples
// with the encoder's max-pooling indices, MC dropout in its central layers, on a generated segmentation
// set: discs (class 1) and squares (class 2) on textured noise (class 0), 32 x 32 pixels, made by the
// seeded generator below. Prints the pixel accuracy and the mean predictive entropy within 1 pixel of a
// shape's boundary and elsewhere, and draws bayesian_segnet.png: for six test images, the image, the true
// mask, the predicted mask and the per-pixel predictive entropy (white = log 3 nats) side by side.
// The default trains on 1 500 images for 8 epochs (about a minute on 2 cores); --full on 6 000 for 20;
// --quick (CI's run) on 300 for 2, every step in seconds, but its numbers are not the example's results.
// --write-csv PREFIX writes the training and test images and masks as CSV for `pml segnet` and stops.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include <pml/io.hpp>
#include <pml/models/deep/bayesian_segnet.hpp>

namespace {
constexpr Eigen::Index kSize = 32;

// n images: a sum of random plane waves plus pixel noise, and one or two shapes (a disc or a square each)
// brighter than the background by an amount the texture makes hard to see at their edges
void make_shapes(pml::Rng& rng, Eigen::Index n, Eigen::MatrixXf& x, Eigen::MatrixXf& masks) {
  x.resize(n, kSize * kSize);
  masks = Eigen::MatrixXf::Zero(n, kSize * kSize);
  for (Eigen::Index i = 0; i < n; ++i) {
    double fx[3], fy[3], ph[3];
    for (int k = 0; k < 3; ++k) {
      fx[k] = 0.6 * pml::random::normal<double>(rng);
      fy[k] = 0.6 * pml::random::normal<double>(rng);
      ph[k] = 6.283 * pml::random::uniform<double>(rng);
    }
    for (Eigen::Index r = 0; r < kSize; ++r)
      for (Eigen::Index c = 0; c < kSize; ++c) {
        double v = 0.35 + 0.08 * pml::random::normal<double>(rng);
        for (int k = 0; k < 3; ++k) v += 0.05 * std::sin(fx[k] * double(c) + fy[k] * double(r) + ph[k]);
        x(i, r * kSize + c) = float(v);
      }
    const int shapes = 1 + int(pml::random::uniform_index(rng, 2));
    for (int s = 0; s < shapes; ++s) {
      const bool disc = pml::random::uniform<double>(rng) < 0.5;
      const double radius = 3 + 5 * pml::random::uniform<double>(rng);
      const double cr = radius + (kSize - 2 * radius) * pml::random::uniform<double>(rng), cc = radius + (kSize - 2 * radius) * pml::random::uniform<double>(rng);
      const float lift = float(0.25 + 0.1 * pml::random::uniform<double>(rng));
      for (Eigen::Index r = 0; r < kSize; ++r)
        for (Eigen::Index c = 0; c < kSize; ++c) {
          const double dr = double(r) + 0.5 - cr, dc = double(c) + 0.5 - cc;
          const bool inside = disc ? dr * dr + dc * dc <= radius * radius : std::abs(dr) <= radius && std::abs(dc) <= radius;
          if (inside) {
            x(i, r * kSize + c) += lift;
            masks(i, r * kSize + c) = disc ? 1.0f : 2.0f;
          }
        }
    }
  }
  x = x.cwiseMax(0.0f).cwiseMin(1.0f);
}

bool near_boundary(const Eigen::MatrixXf& masks, Eigen::Index i, Eigen::Index r, Eigen::Index c) {
  for (Eigen::Index dr = -1; dr <= 1; ++dr)
    for (Eigen::Index dc = -1; dc <= 1; ++dc) {
      const Eigen::Index rr = r + dr, cc = c + dc;
      if (rr >= 0 && rr < kSize && cc >= 0 && cc < kSize && masks(i, rr * kSize + cc) != masks(i, r * kSize + c)) return true;
    }
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  bool full = false, quick = false;
  std::string prefix;  // --write-csv: write the data for `pml segnet` and stop
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0) full = true;
    else if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else if (std::strcmp(argv[i], "--write-csv") == 0 && i + 1 < argc) prefix = argv[++i];
    else {
      std::fprintf(stderr, "usage: bayesian_segnet_shapes [--full | --quick] [--write-csv PREFIX]\n");
      return 2;
    }
  }
  if (full && quick) {
    std::fprintf(stderr, "bayesian_segnet_shapes: --full and --quick exclude each other\n");
    return 2;
  }
  if (quick) std::printf("quick run (CI's): every step on little data; the numbers are not the example's results\n");
  pml::Rng rng(1);
  Eigen::MatrixXf x, masks, xt, mt;
  make_shapes(rng, full ? 6000 : (quick ? 300 : 1500), x, masks);
  make_shapes(rng, 200, xt, mt);
  if (!prefix.empty()) {
    pml::io::write_csv(prefix + "_images.csv", x);
    pml::io::write_csv(prefix + "_masks.csv", masks);
    pml::io::write_csv(prefix + "_test_images.csv", xt);
    pml::io::write_csv(prefix + "_test_masks.csv", mt);
    std::printf("wrote %s_images.csv and %s_masks.csv (%ld training images of %ldx%ld, masks 0 background, 1 disc, 2 square), %s_test_images.csv "
                "and %s_test_masks.csv (200); try: pml segnet fit %s_images.csv %s_masks.csv -o segnet.pml\n",
                prefix.c_str(), prefix.c_str(), long(x.rows()), long(kSize), long(kSize), prefix.c_str(), prefix.c_str(), prefix.c_str(), prefix.c_str());
    return 0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  pml::BayesianSegNet<float> net({.height = kSize, .width = kSize, .classes = 3, .features = {16, 32}, .dropout = 0.5}, rng);
  net.fit(x, masks, {.epochs = full ? 20 : (quick ? 2 : 8), .batch_size = 32, .learning_rate = 2e-3}, rng);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("BayesianSegNet 16-32, %ld training images of %ldx%ld, %zu epochs, %.1f s; cross-entropy per image %.1f -> %.1f\n", long(x.rows()), long(kSize),
              long(kSize), net.loss_history().size(), seconds, double(net.loss_history().front()), double(net.loss_history().back()));
  pml::Rng eval(2);
  const auto p = net.predict(xt, 30, eval);
  double correct = 0, boundary = 0, elsewhere = 0;
  long nb = 0, ne = 0;
  for (Eigen::Index i = 0; i < xt.rows(); ++i)
    for (Eigen::Index r = 0; r < kSize; ++r)
      for (Eigen::Index c = 0; c < kSize; ++c) {
        const Eigen::Index j = r * kSize + c;
        correct += double(p.labels(i, j) == Eigen::Index(mt(i, j)));
        if (near_boundary(mt, i, r, c)) {
          boundary += p.entropy(i, j);
          ++nb;
        } else {
          elsewhere += p.entropy(i, j);
          ++ne;
        }
      }
  std::printf("test pixel accuracy %.2f%% (200 images, 30 passes)\n", 100 * correct / double(xt.rows() * kSize * kSize));
  std::printf("mean predictive entropy: %.3f nats within 1 pixel of a boundary (%ld pixels), %.3f elsewhere (%ld pixels): %.1fx\n", boundary / double(nb), nb,
              elsewhere / double(ne), ne, (boundary / double(nb)) / (elsewhere / double(ne)));
  // six test images: image | true mask | predicted mask | entropy, one row each
  Eigen::MatrixXf panels(24, kSize * kSize);
  for (Eigen::Index i = 0; i < 6; ++i) {
    panels.row(4 * i) = xt.row(i);
    panels.row(4 * i + 1) = mt.row(i) / 2.0f;
    panels.row(4 * i + 2) = p.labels.row(i).cast<float>() / 2.0f;
    panels.row(4 * i + 3) = (p.entropy.row(i) / float(std::log(3.0))).cwiseMin(1.0f);
  }
  pml::io::write_png("bayesian_segnet.png", pml::io::tile_images(panels, kSize, kSize, 4));
  std::printf("wrote bayesian_segnet.png\n");
  return boundary / double(nb) > elsewhere / double(ne) ? 0 : 1;
}
