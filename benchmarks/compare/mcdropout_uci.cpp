// Companion of benchmarks/compare/mcdropout_uci.py: Gal & Ghahramani's UCI protocol with pml's
// MCDropoutRegressor on the data and splits the script writes to DIR:
//   DIR/data.csv               N rows: the D inputs, then the target (no header)
//   DIR/train_K.csv, test_K.csv the row indices (0-based, one per line) of split K = 0, 1, ...
// For each split: the training part (in the order of its file) is cut 80/20 into a training and a
// validation set; every (dropout, tau) of the grid is trained on the 80% and scored by its validation
// log-likelihood; the best pair is trained again on the whole training part and tested. Inputs and the
// target are standardised with the mean and standard deviation (ddof 0; a zero sd counts as 1) of the
// set being trained on. Network: D-50-1 ReLU, dropout on the inputs and the hidden layer, l = 1e-2,
// Adam 1e-3, batch 128, double. RMSE of the MC mean on the raw scale; log-likelihood per test point
// with tau on the raw target scale (Gal's code) or, with --tau-scale standardised, on the
// standardised scale (then converted to the raw scale's density).
//   compare_mcdropout_uci DIR [--splits 20] [--epochs 400] [--samples 10000] [--seed 0]
//       [--dropout 0.005,0.01,0.05,0.1] [--tau 1.5e-4,3e-4,6e-4] [--tau-scale raw|standardised]
//       [--loss mean_squared_error|half_squared_error] [--init xavier_uniform|automatic|...]
// Prints "grid K p tau val_ll val_rmse" per grid point and "split K p tau rmse ll seconds" per split.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pml/io/csv.hpp"
#include "pml/models/deep/mc_dropout.hpp"

namespace {
using Eigen::MatrixXd;
using Eigen::RowVectorXd;

struct Config {
  int splits = 20, epochs = 400, samples = 10000;
  unsigned long seed = 0;
  std::vector<double> dropout{0.005, 0.01, 0.05, 0.1}, tau{1.5e-4, 3e-4, 6e-4};
  bool raw_tau = true;
  pml::MCDropoutLoss loss = pml::MCDropoutLoss::mean_squared_error;
  pml::nn::Init init = pml::nn::Init::xavier_uniform;
};

std::vector<double> numbers(const std::string& list) {
  std::vector<double> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stod(item));
  return out;
}

template <class E> E named(const char* option, const std::string& name) {
  if (const auto e = pml::enum_from_name<E>(name)) return *e;
  throw std::invalid_argument(std::string(option) + " must be " + pml::enum_choices<E>() + ", got '" + name + "'");
}

MatrixXd rows(const MatrixXd& m, const std::vector<Eigen::Index>& idx) {
  MatrixXd out(static_cast<Eigen::Index>(idx.size()), m.cols());
  for (std::size_t i = 0; i < idx.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = m.row(idx[i]);
  return out;
}

std::vector<Eigen::Index> indices(const std::filesystem::path& path) {
  const MatrixXd m = pml::io::read_csv<double>(path, {.header = pml::io::Header::no}).data;
  std::vector<Eigen::Index> out;
  for (Eigen::Index i = 0; i < m.rows(); ++i) out.push_back(static_cast<Eigen::Index>(m(i, 0)));
  return out;
}

struct Score {
  double rmse, ll;
};

// Trains on (x, y) with dropout p and precision tau, standardised with (x, y)'s own moments, and scores
// (xt, yt): RMSE of the MC mean and the mean log-likelihood, both on the raw scale.
Score train_and_score(const MatrixXd& x, const MatrixXd& y, const MatrixXd& xt, const MatrixXd& yt, double p, double tau, const Config& c,
                      pml::Rng& rng) {
  const RowVectorXd mx = x.colwise().mean();
  RowVectorXd sx = ((x.rowwise() - mx).array().square().colwise().mean()).sqrt().matrix();
  for (Eigen::Index j = 0; j < sx.size(); ++j)
    if (sx(j) == 0) sx(j) = 1;
  const double my = y.mean(), sy = std::sqrt((y.array() - my).square().mean());
  const MatrixXd xs = (x.rowwise() - mx).array().rowwise() / sx.array();
  const MatrixXd ys = (y.array() - my) / sy;
  pml::MCDropoutRegressor<double> net(
      {.input = x.cols(), .hidden = {50}, .dropout = p, .dropout_input = true, .length_scale = 1e-2, .tau = tau, .init = c.init, .loss = c.loss},
      rng);
  net.fit(xs, ys, {.epochs = c.epochs, .batch_size = 128, .learning_rate = 1e-3}, rng);
  const MatrixXd xts = (xt.rowwise() - mx).array().rowwise() / sx.array();
  const MatrixXd yts = (yt.array() - my) / sy;
  const pml::Prediction<double> pred = net.predict(xts, c.samples, rng);
  const double rmse = std::sqrt(((pred.mean.array() * sy + my) - yt.array()).square().mean());
  const double ll = c.raw_tau ? double(net.score(xts, yts, c.samples, rng, sy)) : double(net.score(xts, yts, c.samples, rng)) - std::log(sy);
  return {rmse, ll};
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: compare_mcdropout_uci DIR [--splits S] [--epochs E] [--samples T] [--seed N] [--dropout a,b] [--tau a,b] "
                         "[--tau-scale raw|standardised] [--loss NAME] [--init NAME]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  Config c;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--splits") c.splits = std::stoi(value);
    else if (key == "--epochs") c.epochs = std::stoi(value);
    else if (key == "--samples") c.samples = std::stoi(value);
    else if (key == "--seed") c.seed = std::stoul(value);
    else if (key == "--dropout") c.dropout = numbers(value);
    else if (key == "--tau") c.tau = numbers(value);
    else if (key == "--tau-scale") {
      if (value != "raw" && value != "standardised") throw std::invalid_argument("--tau-scale must be raw or standardised, got '" + value + "'");
      c.raw_tau = value == "raw";
    } else if (key == "--loss") c.loss = named<pml::MCDropoutLoss>("--loss", value);
    else if (key == "--init") c.init = named<pml::nn::Init>("--init", value);
    else throw std::invalid_argument("unknown option '" + key + "'");
  }
  const MatrixXd data = pml::io::read_csv<double>(dir / "data.csv", {.header = pml::io::Header::no}).data;
  const MatrixXd x_all = data.leftCols(data.cols() - 1), y_all = data.rightCols(1);
  pml::Rng rng(c.seed);
  for (int k = 0; k < c.splits; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const MatrixXd x = rows(x_all, indices(dir / ("train_" + std::to_string(k) + ".csv")));
    const MatrixXd y = rows(y_all, indices(dir / ("train_" + std::to_string(k) + ".csv")));
    const MatrixXd xt = rows(x_all, indices(dir / ("test_" + std::to_string(k) + ".csv")));
    const MatrixXd yt = rows(y_all, indices(dir / ("test_" + std::to_string(k) + ".csv")));
    const Eigen::Index n_fit = static_cast<Eigen::Index>(0.8 * double(x.rows()));  // Gal's int(0.8 * N)
    const MatrixXd x_fit = x.topRows(n_fit), y_fit = y.topRows(n_fit);
    const MatrixXd x_val = x.bottomRows(x.rows() - n_fit), y_val = y.bottomRows(x.rows() - n_fit);
    double best_ll = -std::numeric_limits<double>::infinity(), best_p = c.dropout[0], best_tau = c.tau[0];
    for (const double p : c.dropout)
      for (const double tau : c.tau) {
        const Score s = train_and_score(x_fit, y_fit, x_val, y_val, p, tau, c, rng);
        std::printf("grid %d %g %g %.6f %.6f\n", k, p, tau, s.ll, s.rmse);
        if (s.ll > best_ll) {
          best_ll = s.ll;
          best_p = p;
          best_tau = tau;
        }
      }
    const Score s = train_and_score(x, y, xt, yt, best_p, best_tau, c, rng);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("split %d %g %g %.6f %.6f %.2f\n", k, best_p, best_tau, s.rmse, s.ll, seconds);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "compare_mcdropout_uci: %s\n", e.what());
  return 1;
}
