// Companion of benchmarks/compare/bbb_uci.py: Bayes by Backprop regression on the splits the script
// writes. DIR holds x.csv (N x D), y.csv (N x 1) and splits.csv (S x N, 1 where a row is a test row),
// all without headers. For each split: inputs and targets standardised on the training rows (population
// sd, as numpy's std), pml's BayesByBackprop (double) trained with the options below, then T posterior
// samples at the test rows; prints per split the test RMSE of the predictive mean and the test NLL
// -mean_i log (1/T) sum_t N(y_i; yhat_ti, noise^2) on the raw target scale, the fit time and the training
// free energy per row (mean over the last tenth of the epochs).
//   compare_bbb_uci DIR [--hidden 50] [--epochs 400] [--batch 32] [--lr 1e-3] [--noise 0.7] [--rho -3]
//                       [--kl uniform|geometric] [--train-samples 1] [--test-samples 100] [--seed 0]
//                       [--init automatic]   (an nn::Init name: how the means mu are drawn)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pml/core/special.hpp"
#include "pml/io/csv.hpp"
#include "pml/models/deep/bayes_by_backprop.hpp"

namespace {
Eigen::MatrixXd read(const std::filesystem::path& path) { return pml::io::read_csv<double>(path, {.header = pml::io::Header::no}).data; }
Eigen::MatrixXd rows(const Eigen::MatrixXd& m, const std::vector<Eigen::Index>& index) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(index.size()), m.cols());
  for (std::size_t i = 0; i < index.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = m.row(index[i]);
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (argc % 2) != 0) {
    std::fprintf(stderr,
                 "usage: compare_bbb_uci DIR [--hidden H] [--epochs E] [--batch B] [--lr LR] [--noise S] [--rho R]\n"
                 "                           [--kl uniform|geometric] [--train-samples K] [--test-samples T] [--seed N]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  int hidden = 50, epochs = 400, batch = 32, train_samples = 1, test_samples = 100;
  double lr = 1e-3, noise = 0.7, rho = -3;
  unsigned long seed = 0;
  std::string kl = "uniform";
  pml::nn::Init init = pml::nn::Init::automatic;
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string name = argv[a], value = argv[a + 1];
    if (name == "--hidden") hidden = std::stoi(value);
    else if (name == "--epochs") epochs = std::stoi(value);
    else if (name == "--batch") batch = std::stoi(value);
    else if (name == "--lr") lr = std::stod(value);
    else if (name == "--noise") noise = std::stod(value);
    else if (name == "--rho") rho = std::stod(value);
    else if (name == "--kl") kl = value;
    else if (name == "--train-samples") train_samples = std::stoi(value);
    else if (name == "--test-samples") test_samples = std::stoi(value);
    else if (name == "--seed") seed = std::stoul(value);
    else if (name == "--init") {
      const auto names = enum_names(pml::nn::Init{});
      const auto it = std::find(names.begin(), names.end(), value);
      if (it == names.end()) {
        std::fprintf(stderr, "compare_bbb_uci: unknown --init %s\n", value.c_str());
        return 2;
      }
      init = pml::nn::Init(it - names.begin());
    }
    else {
      std::fprintf(stderr, "compare_bbb_uci: unknown option %s\n", name.c_str());
      return 2;
    }
  }
  if (kl != "uniform" && kl != "geometric") {
    std::fprintf(stderr, "compare_bbb_uci: --kl must be uniform or geometric, got %s\n", kl.c_str());
    return 2;
  }
  const Eigen::MatrixXd x = read(dir / "x.csv"), y = read(dir / "y.csv"), splits = read(dir / "splits.csv");
  if (y.rows() != x.rows() || y.cols() != 1 || splits.cols() != x.rows()) {
    std::fprintf(stderr, "compare_bbb_uci: x is %ldx%ld, y %ldx%ld, splits %ldx%ld\n", long(x.rows()), long(x.cols()), long(y.rows()),
                 long(y.cols()), long(splits.rows()), long(splits.cols()));
    return 1;
  }
  for (Eigen::Index s = 0; s < splits.rows(); ++s) {
    std::vector<Eigen::Index> train, test;
    for (Eigen::Index i = 0; i < x.rows(); ++i) (splits(s, i) != 0 ? test : train).push_back(i);
    const Eigen::MatrixXd xtr = rows(x, train), xte = rows(x, test), ytr = rows(y, train), yte = rows(y, test);
    // standardise on the training rows (population sd; a constant column keeps sd 1)
    const Eigen::RowVectorXd xm = xtr.colwise().mean();
    Eigen::RowVectorXd xs = ((xtr.rowwise() - xm).colwise().squaredNorm() / double(xtr.rows())).cwiseSqrt();
    xs = (xs.array() > 0).select(xs, 1.0);
    const double ym = ytr.mean(), ys = std::sqrt((ytr.array() - ym).square().mean());
    const Eigen::MatrixXd xtr_s = (xtr.rowwise() - xm).array().rowwise() / xs.array();
    const Eigen::MatrixXd xte_s = (xte.rowwise() - xm).array().rowwise() / xs.array();
    const Eigen::MatrixXd ytr_s = (ytr.array() - ym) / ys;

    pml::Rng rng(seed + static_cast<unsigned long>(s));
    pml::BayesByBackprop<double> bnn({.input = x.cols(),
                                      .hidden = {hidden},
                                      .output = 1,
                                      .noise = noise,
                                      .rho_init = rho,
                                      .kl_weighting = kl == "uniform" ? pml::KLWeighting::uniform : pml::KLWeighting::geometric,
                                      .samples = train_samples,
                                      .init = init},
                                     rng);
    const auto t0 = std::chrono::steady_clock::now();
    bnn.fit(xtr_s, ytr_s, {.epochs = epochs, .batch_size = batch, .learning_rate = lr}, rng);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // predictive mean and NLL on the raw scale: yhat = ym + ys f, sd = ys noise
    const auto f = bnn.sample_outputs(xte_s, test_samples, rng);
    const Eigen::Index n = xte.rows();
    Eigen::MatrixXd logp(n, test_samples);
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(n);
    const double sd = ys * noise;
    for (int t = 0; t < test_samples; ++t) {
      const Eigen::VectorXd yhat = (ym + ys * f[std::size_t(t)].col(0).array()).matrix();
      mean += yhat / double(test_samples);
      logp.col(t) = -0.5 * ((yte.col(0) - yhat) / sd).array().square() - std::log(sd) - pml::constants<double>::half_log_two_pi;
    }
    const double rmse = std::sqrt((yte.col(0) - mean).squaredNorm() / double(n));
    const double nll = -(pml::log_sum_exp_rows(logp).array() - std::log(double(test_samples))).mean();
    // the free energy per training row, averaged over the last tenth of the epochs (one epoch is noisy)
    const auto& history = bnn.loss_history();
    const std::size_t last = std::max<std::size_t>(1, history.size() / 10);
    double loss = 0;
    for (std::size_t e = history.size() - last; e < history.size(); ++e) loss += double(history[e]) / double(last);
    std::printf("split %ld rmse %.6f nll %.6f seconds %.3f final_loss %.6f\n", long(s), rmse, nll, seconds, loss);
    std::fflush(stdout);
  }
  return 0;
}
