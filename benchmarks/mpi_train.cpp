// Issue 18 §3: data-parallel VAE training on P MPI ranks against the same training on one (run it under mpirun
// with -np 1 and -np 2 and compare the lines it prints). Each rank reads its share of Fashion-MNIST's 60 000
// training images (io::read_idx on the ranks) and trains the 784-400-20 VAE in float with a global minibatch
// of G rows (G / P per rank), so every P trains the same network on the same minibatches with the same
// noise: the ELBO printed is the same to rounding. It prints the time of reading the images, the wall time
// of each epoch and the bytes each rank hands to the collectives per step.
//
//   env PML_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 build/dev/benchmarks/mpi_train [epochs] [G] [rows]
//
// Defaults: 2 epochs, G = 128, all 60 000 rows (fewer: the first `rows` of the file).
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "pml/io/idx.hpp"
#include "pml/models/deep/vae.hpp"
#include "pml/mpi.hpp"

#include "counting_collective.hpp"


int main(int argc, char** argv) {
  pml::mpi::Environment mpi(argc, argv);
  const pml::mpi::Communicator comm;
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 2;
  const Eigen::Index global_batch = argc > 2 ? std::atol(argv[2]) : 128;
  const Eigen::Index rows = argc > 3 ? std::atol(argv[3]) : 60000;
  if (global_batch % comm.size() != 0) {
    if (comm.rank() == 0) std::fprintf(stderr, "mpi_train: the global minibatch %ld is not a multiple of %d ranks\n", long(global_batch), comm.size());
    return 2;
  }
  const auto t_read = std::chrono::steady_clock::now();
  pml::io::IdxArray<float> images = pml::io::read_idx<float>(comm, pml::io::fashion_mnist_directory / "train-images-idx3-ubyte.gz");
  // the first `rows` of the file: this rank's part of them
  const Eigen::Index first = images.first_row, end = std::min(first + images.data.rows(), rows);
  const pml::Matrix<float> x = images.data.topRows(std::max<Eigen::Index>(0, end - first)) / 255.0f;
  comm.barrier();
  const double read = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_read).count();
  pml::Rng init(1);
  pml::VAE<float> vae({.input = 784, .hidden = {400}, .latent = 20}, init);
  pml::Rng rng(2);
  Counting counted(comm);
  std::vector<double> seconds;
  auto t = std::chrono::steady_clock::now();
  const pml::FitOptions fit{.epochs = epochs, .batch_size = global_batch / comm.size(), .learning_rate = 1e-3,
                            .progress = [&](const pml::TrainingProgress& p) {
                              if (p.batch + 1 == p.batches) {
                                const auto now = std::chrono::steady_clock::now();
                                seconds.push_back(std::chrono::duration<double>(now - t).count());
                                t = now;
                              }
                            }};
  comm.barrier();
  t = std::chrono::steady_clock::now();
  vae.fit(counted, x, fit, rng);
  const double steps = double(epochs) * std::ceil(double(pml::detail::all_sum(comm, double(x.rows()))) / double(global_batch));
  if (comm.rank() == 0) {
    std::printf("VAE 784-400-20 float, ranks=%d threads/rank=%d, global minibatch %ld (%ld per rank), %ld rows: read %.2f s; epoch times",
                comm.size(), pml::get_num_threads(), long(global_batch), long(global_batch / comm.size()), long(rows), read);
    for (const double s : seconds) std::printf(" %.2f", s);
    std::printf(" s; ELBO per epoch");
    for (const float e : vae.elbo_history()) std::printf(" %.4f", double(e));
    std::printf("; bytes sent by rank 0 per step %.0f (%ld collectives in all); rank 0 in the gradient sums %.2f s in all\n", counted.bytes / steps,
                counted.calls, counted.float_seconds);
  }
}
