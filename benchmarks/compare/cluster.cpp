// Companion of benchmarks/compare/cluster.py: reads data and starting parameters written by the script,
// runs pml's GaussianMixture (full / diagonal) or KMeans for a fixed number of iterations, and prints
// the best time of `repeats` runs with the final objective (for the script to check against
// scikit-learn) and the GEMM rate at the same thread count measured in the same process. The scalar is
// double, or float with a fifth argument.
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

// Runs `mode` in scalar T; prints the best time, the objective and the iterations.
template <class T> int run(const std::string& mode, const Eigen::MatrixXd& xd, const Eigen::MatrixXd& md, int iterations, int repeats) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const Matrix x = xd.cast<T>(), means = md.cast<T>();
  const Eigen::Index k = means.rows(), d = means.cols();
  double objective = 0;
  int done = 0;
  double seconds = 0;
  if (mode == "vgmm_full") {
    pml::VariationalGaussianMixtureOptions<T> o;
    o.components = k;
    o.tolerance = 0;
    o.max_iterations = iterations;
    seconds = best_seconds(repeats, [&] {
      pml::VariationalGaussianMixture<T> vgmm(o);
      vgmm.fit(x);
      objective = double(vgmm.lower_bound());
      done = vgmm.iterations();
    });
  } else if (mode == "kmeans") {
    pml::KMeansOptions<T> o;
    o.clusters = k;
    o.max_iterations = iterations;
    o.tolerance = 0;
    o.centres_init = means;
    seconds = best_seconds(repeats, [&] {
      pml::KMeans<T> km(o);
      km.fit(x);
      objective = double(km.inertia());
      done = km.iterations();
    });
  } else if (mode == "gmm_full" || mode == "gmm_diag") {
    pml::GaussianMixtureOptions<T> o;
    o.components = k;
    o.covariance = mode == "gmm_full" ? pml::Covariance::full : pml::Covariance::diagonal;
    o.tolerance = 0;
    o.max_iterations = iterations;
    o.weights_init = pml::Vector<T>::Constant(k, T(1) / static_cast<T>(k));
    o.means_init = means;
    o.covariances_init.assign(static_cast<std::size_t>(k), Matrix::Identity(d, d));
    seconds = best_seconds(repeats, [&] {
      pml::GaussianMixture<T> gm(o);
      gm.fit(x);
      objective = double(gm.lower_bound());
      done = gm.iterations();
    });
  } else {
    std::fprintf(stderr, "compare_cluster: unknown mode %s\n", mode.c_str());
    return 2;
  }
  // The GEMM rate in T at pml's thread count, same process: a 1024^3 product, its columns split into 16
  // pieces on pml's threads (Eigen's own GEMM threading is off in an OpenMP build of pml).
  const Matrix a = Matrix::Random(1024, 1024), b = Matrix::Random(1024, 1024);
  Matrix c(1024, 1024);
  const double gemm = best_seconds(3, [&] {
    pml::detail::parallel_for(16, [&](Eigen::Index p) { c.middleCols(p * 64, 64).noalias() = a * b.middleCols(p * 64, 64); });
  });
  std::printf("seconds=%.9f objective=%.12g iterations=%d gemm_gflops=%.3f threads=%d\n", seconds, objective, done,
              2.0 * 1024 * 1024 * 1024 / gemm / 1e9, pml::get_num_threads());
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::fprintf(stderr, "usage: compare_cluster DATA gmm_full|gmm_diag|vgmm_full|kmeans ITERATIONS REPEATS [float|double]\n");
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
  const std::string mode = argv[2], scalar = argc == 6 ? argv[5] : "double";
  const int iterations = std::stoi(argv[3]), repeats = std::stoi(argv[4]);
  if (scalar == "float") return run<float>(mode, x, means, iterations, repeats);
  return run<double>(mode, x, means, iterations, repeats);
}
