// Companion of benchmarks/compare/cluster.py: reads data and starting parameters written by the script,
// runs pml's GaussianMixture (full / diagonal) or KMeans for a fixed number of iterations, and prints
// the best time of `repeats` runs with the final objective (for the script to check against
// scikit-learn) and the machine's Eigen GEMM rate measured in the same process.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "timing.hpp"
#include "pml/models/cluster.hpp"

namespace {
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using pml_bench::best_seconds;
Eigen::MatrixXd read(std::ifstream& in, Eigen::Index r, Eigen::Index c) {
  RowMajor m(r, c);
  in.read(reinterpret_cast<char*>(m.data()), static_cast<std::streamsize>(sizeof(double) * r * c));
  return m;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: compare_cluster DATA gmm_full|gmm_diag|vgmm_full|kmeans ITERATIONS REPEATS\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t header[3];
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const Eigen::Index n = header[0], d = header[1], k = header[2];
  const Eigen::MatrixXd x = read(in, n, d);
  const Eigen::MatrixXd means = read(in, k, d);
  if (!in) {
    std::fprintf(stderr, "compare_cluster: %s is truncated\n", argv[1]);
    return 1;
  }
  const std::string mode = argv[2];
  const int iterations = std::stoi(argv[3]), repeats = std::stoi(argv[4]);
  double objective = 0;
  int done = 0;
  double seconds = 0;
  if (mode == "vgmm_full") {
    pml::VariationalGaussianMixtureOptions<double> o;
    o.components = k;
    o.tolerance = 0;
    o.max_iterations = iterations;
    seconds = best_seconds(repeats, [&] {
      pml::VariationalGaussianMixture<double> vgmm(o);
      vgmm.fit(x);
      objective = vgmm.lower_bound();
      done = vgmm.iterations();
    });
  } else if (mode == "kmeans") {
    pml::KMeansOptions<double> o;
    o.clusters = k;
    o.max_iterations = iterations;
    o.tolerance = 0;
    o.centres_init = means;
    seconds = best_seconds(repeats, [&] {
      pml::KMeans<double> km(o);
      km.fit(x);
      objective = km.inertia();
      done = km.iterations();
    });
  } else {
    pml::GaussianMixtureOptions<double> o;
    o.components = k;
    o.covariance = mode == "gmm_full" ? pml::Covariance::full : pml::Covariance::diagonal;
    o.tolerance = 0;
    o.max_iterations = iterations;
    o.weights_init = Eigen::VectorXd::Constant(k, 1.0 / static_cast<double>(k));
    o.means_init = means;
    o.covariances_init.assign(static_cast<std::size_t>(k), Eigen::MatrixXd::Identity(d, d));
    seconds = best_seconds(repeats, [&] {
      pml::GaussianMixture<double> gm(o);
      gm.fit(x);
      objective = gm.lower_bound();
      done = gm.iterations();
    });
  }
  // The machine's GEMM rate, same process: 1024^3 double product.
  const Eigen::MatrixXd a = Eigen::MatrixXd::Random(1024, 1024), b = Eigen::MatrixXd::Random(1024, 1024);
  Eigen::MatrixXd c(1024, 1024);
  const double gemm = best_seconds(3, [&] { c.noalias() = a * b; });
  std::printf("seconds=%.9f objective=%.12g iterations=%d gemm_gflops=%.3f\n", seconds, objective, done,
              2.0 * 1024 * 1024 * 1024 / gemm / 1e9);
  return 0;
}
