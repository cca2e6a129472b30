// Companion of benchmarks/compare/hmm.py: reads a sequence and an HMM's parameters written by the script and
// times pml's forward-backward (posteriors) and forward pass (log-likelihood) on it; prints the best times and
// the results the script checks against pomegranate.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "timing.hpp"
#include "pml/models/sequence/hidden_markov_model.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: compare_hmm DATA REPEATS\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t header[2];
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const Eigen::Index n = header[0], k = header[1];
  Eigen::VectorXd x(n), pi(k), means(k), variances(k);
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> a(k, k);
  in.read(reinterpret_cast<char*>(x.data()), std::streamsize(sizeof(double) * n));
  in.read(reinterpret_cast<char*>(pi.data()), std::streamsize(sizeof(double) * k));
  in.read(reinterpret_cast<char*>(a.data()), std::streamsize(sizeof(double) * k * k));
  in.read(reinterpret_cast<char*>(means.data()), std::streamsize(sizeof(double) * k));
  in.read(reinterpret_cast<char*>(variances.data()), std::streamsize(sizeof(double) * k));
  if (!in) {
    std::fprintf(stderr, "compare_hmm: %s is truncated\n", argv[1]);
    return 1;
  }
  const int repeats = std::stoi(argv[2]);
  pml::HiddenMarkovModel<double> m({.states = k, .emission = pml::HMMEmission::gaussian_diagonal});
  m.set_parameters(pi, Eigen::MatrixXd(a), Eigen::MatrixXd(), means, {variances});
  const Eigen::MatrixXd xs = x;
  Eigen::MatrixXd gamma;
  double ll = 0;
  const double fb = pml_bench::best_seconds(repeats, [&] { gamma = m.predict_proba(xs); });
  const double fw = pml_bench::best_seconds(repeats, [&] { ll = m.log_likelihood(xs); });
  std::printf("forward_backward_seconds=%.6g forward_seconds=%.6g log_likelihood=%.17g gamma_sum_col0=%.17g gamma_first=%.17g\n", fb, fw, ll,
              gamma.col(0).sum(), gamma(0, 0));
}
