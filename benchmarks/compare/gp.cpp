// Companion of benchmarks/compare/gp.py: reads the data the script wrote and times pml's exact Gaussian-process
// regression on it — a fit with hyperparameter optimisation, one log marginal likelihood with its gradient, and
// the predictive mean and standard deviation — printing the best times and the results the script checks.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "timing.hpp"
#include "pml/models/gaussian_process.hpp"

namespace {
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using pml_bench::best_seconds;
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: compare_gp DATA KERNEL RESTARTS REPEATS\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t header[3];
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const Eigen::Index n = header[0], d = header[1], m = header[2];
  RowMajor xr(n, d), qr(m, d);
  Eigen::VectorXd y(n);
  in.read(reinterpret_cast<char*>(xr.data()), static_cast<std::streamsize>(sizeof(double) * n * d));
  in.read(reinterpret_cast<char*>(y.data()), static_cast<std::streamsize>(sizeof(double) * n));
  in.read(reinterpret_cast<char*>(qr.data()), static_cast<std::streamsize>(sizeof(double) * m * d));
  if (!in) {
    std::fprintf(stderr, "compare_gp: %s is truncated\n", argv[1]);
    return 1;
  }
  const Eigen::MatrixXd x = xr, q = qr;
  const auto kernel = pml::Kernel<double>::parse(argv[2]);
  const int restarts = std::stoi(argv[3]), repeats = std::stoi(argv[4]);
  using GPR = pml::GaussianProcessRegressor<double>;
  GPR fitted(kernel, {.n_restarts_optimizer = restarts, .normalize_y = true});
  const double fit_seconds = best_seconds(repeats, [&] {
    pml::Rng rng(0);
    fitted = GPR(kernel, {.n_restarts_optimizer = restarts, .normalize_y = true});
    fitted.fit(x, y, rng);
  });
  GPR held(kernel, {.optimize = false, .normalize_y = true});
  held.fit(x, y);
  Eigen::VectorXd gradient;
  double lml = 0;
  const double lml_seconds = best_seconds(repeats, [&] { lml = held.log_marginal_likelihood(kernel.theta(), &gradient); });
  pml::Prediction<double> pred;
  const double predict_seconds = best_seconds(repeats, [&] { pred = held.predict(q); });
  std::printf("fit_seconds=%.6g evaluations=%d fitted_lml=%.17g lml_seconds=%.6g lml=%.17g grad_norm=%.17g predict_seconds=%.6g "
              "mean_sum=%.17g std_sum=%.17g\n",
              fit_seconds, fitted.evaluations(), fitted.log_marginal_likelihood(), lml_seconds, lml, gradient.norm(), predict_seconds,
              pred.mean.sum(), pred.variance.cwiseSqrt().sum());
  std::fprintf(stderr, "fitted kernel: %s\n", fitted.kernel().to_string().c_str());
}
