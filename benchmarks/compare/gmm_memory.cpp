// Companion of benchmarks/compare/gmm_memory.py: reads the data (N x D doubles, row-major on disk) into one
// column-major matrix without a second copy (blocks of rows transposed on the way in), then fits a
// GaussianMixture (full covariances) for a fixed number of EM iterations, either from the starting parameters
// in the file (`given`) or from its default k-means initialisation (`kmeans`), so that the process's peak
// resident set is the data plus what the fit adds (and the program's baseline).
//   gmm_memory DATA given|kmeans ITERATIONS
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "pml/models/cluster.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: gmm_memory DATA given|kmeans ITERATIONS\n");
    return 2;
  }
  const std::string mode = argv[2];
  if (mode != "given" && mode != "kmeans") {
    std::fprintf(stderr, "gmm_memory: unknown mode %s (given or kmeans)\n", mode.c_str());
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t header[3] = {0, 0, 0};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const Eigen::Index n = header[0], d = header[1], k = header[2];
  if (!in || n <= 0 || d <= 0 || k <= 0) {  // (gmm_memory.py runs it on a missing file for the program's baseline)
    std::fprintf(stderr, "gmm_memory: cannot read a header from %s\n", argv[1]);
    return 1;
  }
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::MatrixXd x(n, d);
  RowMajor block;
  for (Eigen::Index b = 0; b < n; b += 4096) {
    const Eigen::Index m = std::min<Eigen::Index>(4096, n - b);
    block.resize(m, d);
    in.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(sizeof(double) * m * d));
    x.middleRows(b, m) = block;
  }
  RowMajor means(k, d);
  in.read(reinterpret_cast<char*>(means.data()), static_cast<std::streamsize>(sizeof(double) * k * d));
  if (!in) {
    std::fprintf(stderr, "gmm_memory: %s is truncated\n", argv[1]);
    return 1;
  }
  pml::GaussianMixtureOptions<double> o;
  o.components = k;
  o.covariance = pml::Covariance::full;
  o.tolerance = 0;
  o.max_iterations = std::stoi(argv[3]);
  if (mode == "given") {
    o.weights_init = Eigen::VectorXd::Constant(k, 1.0 / static_cast<double>(k));
    o.means_init = means;
    o.covariances_init.assign(static_cast<std::size_t>(k), Eigen::MatrixXd::Identity(d, d));
  }
  pml::GaussianMixture<double> gm(o);
  gm.fit(x, 0);
  std::printf("lower_bound=%.12g iterations=%d threads=%d\n", double(gm.lower_bound()), gm.iterations(), pml::get_num_threads());
  return 0;
}
