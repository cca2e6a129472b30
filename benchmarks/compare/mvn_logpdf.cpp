// Companion of benchmarks/compare/mvn_logpdf.py: reads the data it wrote, times pml's batched
// MultivariateNormal::log_prob (factorisation included) and one N x D x D GEMM, and writes pml's
// log-densities back for the script to compare against scipy.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "timing.hpp"
#include "pml/distributions/multivariate_normal.hpp"

namespace {
using pml_bench::best_seconds;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: compare_mvn_logpdf DATA OUT REPEATS\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t header[2];
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) {
    std::fprintf(stderr, "compare_mvn_logpdf: cannot read %s\n", argv[1]);
    return 1;
  }
  const Eigen::Index n = header[0], d = header[1];
  Eigen::VectorXd mean(d);
  RowMajor cov(d, d), x_rows(n, d);
  in.read(reinterpret_cast<char*>(mean.data()), static_cast<std::streamsize>(sizeof(double) * d));
  in.read(reinterpret_cast<char*>(cov.data()), static_cast<std::streamsize>(sizeof(double) * d * d));
  in.read(reinterpret_cast<char*>(x_rows.data()), static_cast<std::streamsize>(sizeof(double) * n * d));
  if (!in) {
    std::fprintf(stderr, "compare_mvn_logpdf: %s is truncated\n", argv[1]);
    return 1;
  }
  const Eigen::MatrixXd x = x_rows;  // pml's data layout: column-major N x D
  const Eigen::MatrixXd covariance = cov;
  const int repeats = std::stoi(argv[3]);

  Eigen::VectorXd lp;
  const double pml_s = best_seconds(repeats, [&] {
    const pml::MultivariateNormal<double> mvn(mean, covariance);
    lp = mvn.log_prob(x);
  });
  const Eigen::MatrixXd l = pml::MultivariateNormal<double>(mean, covariance).cholesky_l();
  Eigen::MatrixXd product(n, d);
  const double gemm_s = best_seconds(repeats, [&] { product.noalias() = x * l; });

  std::ofstream out(argv[2], std::ios::binary);
  out.write(reinterpret_cast<const char*>(lp.data()), static_cast<std::streamsize>(sizeof(double) * n));
  std::printf("pml_seconds=%.9f gemm_seconds=%.9f\n", pml_s, gemm_s);
  return out ? 0 : 1;
}
