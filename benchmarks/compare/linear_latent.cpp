// Companion of benchmarks/compare/linear_latent.py: reads the data the script wrote and times pml's
// BayesianRidge-equivalent fit or PCA / ProbabilisticPCA closed form; prints the best time with the
// results the script checks against scikit-learn, and the machine's GEMM rate in the same process.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "timing.hpp"
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"

namespace {
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using pml_bench::best_seconds;
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: compare_linear_latent DATA blr|pca|ppca REPEATS\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t header[3];
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const Eigen::Index n = header[0], d = header[1], m = header[2];
  RowMajor xr(n, d);
  in.read(reinterpret_cast<char*>(xr.data()), static_cast<std::streamsize>(sizeof(double) * n * d));
  Eigen::VectorXd y(n);
  in.read(reinterpret_cast<char*>(y.data()), static_cast<std::streamsize>(sizeof(double) * n));
  if (!in) {
    std::fprintf(stderr, "compare_linear_latent: %s is truncated\n", argv[1]);
    return 1;
  }
  const Eigen::MatrixXd x = xr;
  const std::string mode = argv[2];
  const int repeats = std::stoi(argv[3]);
  double seconds = 0, a = 0, b = 0;
  if (mode == "blr") {
    seconds = best_seconds(repeats, [&] {
      pml::BayesianLinearRegression<double> blr(pml::BayesianLinearRegression<double>::bayesian_ridge_options());
      blr.fit(x, y);
      a = blr.beta();  // scikit-learn's alpha_
      b = blr.mean().norm();
    });
  } else if (mode == "pca") {
    seconds = best_seconds(repeats, [&] {
      pml::PCA<double> pca({.components = m});
      pca.fit(x);
      a = pca.explained_variance().sum();
      b = pca.noise_variance();
    });
  } else {
    seconds = best_seconds(repeats, [&] {
      pml::ProbabilisticPCA<double> ppca({.components = m, .unbiased = true});
      ppca.fit(x);
      a = ppca.noise_variance();
      b = 0;
    });
  }
  const Eigen::MatrixXd p = Eigen::MatrixXd::Random(1024, 1024), q = Eigen::MatrixXd::Random(1024, 1024);
  Eigen::MatrixXd r(1024, 1024);
  const double gemm = best_seconds(3, [&] { r.noalias() = p * q; });
  std::printf("seconds=%.9f a=%.15g b=%.15g gemm_gflops=%.3f\n", seconds, a, b, 2.0 * 1024 * 1024 * 1024 / gemm / 1e9);
  return 0;
}
