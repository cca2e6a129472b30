// Bayes by Backprop on Fashion-MNIST (Blundell et al. 2015, sec. 5.1 on MNIST): a 784-400-400-10 ReLU
// network with a scale-mixture prior, against a plain network of the same size trained by SGD for as many
// epochs; then the pruning table: test accuracy of the posterior-mean network after removing the
// weights with the lowest signal-to-noise ratio |mu| / sigma (the paper's table 2).
// Defaults run in about a minute on 2 cores (20 000 training images, 3 epochs); --full trains on all
// 60 000 images for 20 epochs; --quick (CI's run: 3 000 images, 1 epoch) runs every step in seconds, but its
// numbers are not the example's results; --epochs N overrides. Needs Debian's dataset-fashion-mnist.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <pml/io.hpp>
#include <pml/metrics/uncertainty.hpp>
#include <pml/models/deep/bayes_by_backprop.hpp>
#include <pml/nn/mlp.hpp>
#include <pml/nn/optim.hpp>

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
// A plain 784-400-400-10 ReLU network trained by SGD with momentum on the softmax cross-entropy.
pml::nn::MLP<float> train_plain(const Eigen::MatrixXf& x, const pml::IntVector& y, int epochs, pml::Rng& rng) {
  pml::nn::MLP<float> net({.sizes = {784, 400, 400, 10}, .activation = pml::ad::Activation::relu}, rng);
  pml::nn::SGD<float> sgd(net.parameters(), {.learning_rate = 0.01, .momentum = 0.9});
  Eigen::MatrixXf onehot = Eigen::MatrixXf::Zero(x.rows(), 10);
  for (Eigen::Index i = 0; i < x.rows(); ++i) onehot(i, y(i)) = 1;
  const Eigen::Matrix<float, -1, -1, Eigen::RowMajor> rows = x, targets = onehot;
  pml::io::Minibatches batches(x.rows(), 128);
  pml::ad::Tape<float> tape;
  Eigen::MatrixXf xb, yb;
  for (int e = 0; e < epochs; ++e) {
    batches.shuffle(rng);
    for (Eigen::Index b = 0; b < batches.size(); ++b) {
      pml::io::gather_rows(rows, batches[b], xb);
      pml::io::gather_rows(targets, batches[b], yb);
      tape.reset();
      const auto logits = net.forward(tape, tape.constant(xb), rng);
      tape.backward((1.0f / float(xb.rows())) * pml::ad::softmax_cross_entropy(logits, tape.constant(yb)));
      sgd.step();
    }
  }
  return net;
}
}  // namespace

int main(int argc, char** argv) {
  bool full = false, quick = false;
  int epochs = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0) full = true;
    else if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else if (std::strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) epochs = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bbb_fashion_mnist [--full | --quick] [--epochs N]\n");
      return 2;
    }
  }
  if (full && quick) {
    std::fprintf(stderr, "bbb_fashion_mnist: --full and --quick exclude each other\n");
    return 2;
  }
  if (quick) std::printf("quick run (CI's): every step on little data; the numbers are not the example's results\n");
  if (epochs < 1) epochs = full ? 20 : (quick ? 1 : 3);
  pml::io::FashionMnist<float> data;
  try {
    data = pml::io::load_fashion_mnist<float>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const Eigen::Index n = full ? data.train_images.rows() : (quick ? 3000 : 20000);
  const Eigen::MatrixXf x = data.train_images.topRows(n);
  const pml::IntVector y = data.train_labels.head(n);
  const Eigen::MatrixXf& xt = data.test_images;
  const pml::IntVector& yt = data.test_labels;
  std::printf("Fashion-MNIST: %ld training images, %ld test images, %d epochs, batch 128\n\n", long(n), long(xt.rows()), epochs);

  pml::Rng rng(1);
  auto t0 = std::chrono::steady_clock::now();
  pml::BayesByBackprop<float> bnn({.input = 784,
                                   .hidden = {400, 400},
                                   .output = 10,
                                   .task = pml::BayesTask::classification,
                                   .prior = pml::nn::BayesPrior::scale_mixture(0.5, 1.0, std::exp(-6.0)),
                                   .rho_init = -5},
                                  rng);
  bnn.fit(x, y, {.epochs = epochs, .batch_size = 128, .learning_rate = 1e-3}, rng);
  const auto& history = bnn.loss_history();
  const double bbb_time = seconds_since(t0);
  for (std::size_t e = 0; e < history.size(); ++e) std::printf("BBB epoch %2zu  free energy %.4f nats/image\n", e + 1, double(history[e]));
  const Eigen::MatrixXf p = bnn.predict_proba(xt, 10, rng);
  const double bbb_acc = pml::metrics::accuracy(p, yt);

  t0 = std::chrono::steady_clock::now();
  pml::nn::MLP<float> plain = train_plain(x, y, epochs, rng);
  const double plain_time = seconds_since(t0);
  const Eigen::MatrixXf pp = pml::softmax_rows(plain.predict(xt));
  const double plain_acc = pml::metrics::accuracy(pp, yt);

  std::printf("\n%-44s %9s %8s %8s %8s %8s\n", "model (784-400-400-10)", "accuracy", "NLL", "Brier", "ECE", "train s");
  std::printf("%-44s %8.2f%% %8.4f %8.4f %8.4f %8.1f\n", "Bayes by Backprop, scale mixture, T = 10", 100 * bbb_acc,
              double(pml::metrics::negative_log_likelihood(p, yt)), double(pml::metrics::brier_score(p, yt)),
              double(pml::metrics::expected_calibration_error(p, yt)), bbb_time);
  std::printf("%-44s %8.2f%% %8.4f %8.4f %8.4f %8.1f\n", "plain network, SGD (momentum 0.9, lr 0.01)", 100 * plain_acc,
              double(pml::metrics::negative_log_likelihood(pp, yt)), double(pml::metrics::brier_score(pp, yt)),
              double(pml::metrics::expected_calibration_error(pp, yt)), plain_time);
  std::printf("difference: %+.2f points (goal: within 1)\n", 100 * (bbb_acc - plain_acc));

  std::printf("\npruning by signal-to-noise |mu|/sigma (posterior-mean weights)\n%-18s %9s\n", "weights removed", "accuracy");
  for (const double f : {0.0, 0.5, 0.75, 0.95, 0.98})
    std::printf("%16.0f%% %8.2f%%\n", 100 * f, 100 * double(pml::metrics::accuracy(bnn.predict_mean(xt, f), yt)));
  return bbb_acc > 0.5 ? 0 : 1;
}
