// Issue 18: a sharded KMeans fit on P MPI ranks against the same fit on one (run it under mpirun with
// -np 1 and -np 2 and compare the lines it prints). Every rank generates only its own rows (row i is a
// function of the seed and i, so the data are the same for any P); the fit runs a fixed number of Lloyd
// iterations (tolerance 0) from k-means|| seeds. It prints the wall time of the seeding + Lloyd fit, the
// time per Lloyd iteration and the bytes each rank contributed to the collectives (counted by a wrapper
// around the communicator), per Lloyd iteration and in all.
//
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PML_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
//     mpirun -np 2 build/dev/benchmarks/mpi_scaling [N] [D] [K] [iterations] [EM iterations]
//
// Then a GaussianMixture with full covariances on the same rows: [EM iterations] (default 3; 0 skips it)
// iterations from the k-means centres (identity covariances, equal weights: no initialisation pass), tolerance
// 0, timed per iteration, with the bytes per iteration.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "pml/models/cluster.hpp"
#include "pml/mpi.hpp"

#include "counting_collective.hpp"


int main(int argc, char** argv) {
  pml::mpi::Environment mpi(argc, argv);
  const pml::mpi::Communicator comm;
  const Eigen::Index n = argc > 1 ? std::atol(argv[1]) : 2000000, d = argc > 2 ? std::atol(argv[2]) : 32;
  const Eigen::Index k = argc > 3 ? std::atol(argv[3]) : 16;
  const int iterations = argc > 4 ? std::atoi(argv[4]) : 20;
  const Eigen::Index begin = n * comm.rank() / comm.size(), end = n * (comm.rank() + 1) / comm.size();
  // K Gaussian blobs: row i belongs to blob i mod K; its coordinates hashed from (i, j)
  Eigen::MatrixXd x(end - begin, d);
  for (Eigen::Index i = begin; i < end; ++i)
    for (Eigen::Index j = 0; j < d; ++j) {
      const double u1 = pml::detail::hashed_uniform<double>(2 * std::uint64_t(j) + 1, std::uint64_t(i));
      const double u2 = pml::detail::hashed_uniform<double>(2 * std::uint64_t(j) + 2, std::uint64_t(i));
      const double normal = std::sqrt(-2 * std::log1p(-u1)) * std::cos(6.283185307179586 * u2);
      x(i - begin, j) = normal + 4.0 * double((i % k) == (j % k));
    }
  Counting counted(comm);
  pml::KMeans<double> km({.clusters = k, .restarts = 1, .max_iterations = iterations, .tolerance = 0, .init = pml::KMeansInit::k_means_parallel});
  comm.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  km.fit(counted, x, 1);
  comm.barrier();
  const double fit = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double seeding_bytes = counted.bytes;
  // Lloyd iterations alone, from the fitted centres
  Counting lloyd(comm);
  pml::KMeans<double> fixed({.clusters = k, .max_iterations = iterations, .tolerance = 0, .centres_init = km.centres()});
  comm.barrier();
  const auto t1 = std::chrono::steady_clock::now();
  fixed.fit(lloyd, x, 1);
  comm.barrier();
  const double per_iteration = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() / fixed.iterations();
  if (comm.rank() == 0)
    std::printf("KMeans N=%ld D=%ld K=%ld ranks=%d threads/rank=%d: fit (k-means|| + %d Lloyd) %.3f s; Lloyd %.4f s/iteration; "
                "inertia %.10g; bytes sent by rank 0: fit %.0f, per Lloyd iteration %.0f (K*D*8 = %ld)\n",
                long(n), long(d), long(k), comm.size(), pml::get_num_threads(), km.iterations(), fit, per_iteration, double(km.inertia()),
                seeding_bytes, lloyd.bytes / fixed.iterations(), long(k * d * 8));
  const int em_iterations = argc > 5 ? std::atoi(argv[5]) : 3;
  if (em_iterations <= 0) return 0;
  Counting em(comm);
  pml::GaussianMixture<double> gmm({.components = k, .covariance = pml::Covariance::full, .tolerance = 0, .max_iterations = em_iterations,
                                    .weights_init = Eigen::VectorXd::Constant(k, 1.0 / double(k)), .means_init = km.centres(),
                                    .covariances_init = std::vector<Eigen::MatrixXd>(std::size_t(k), Eigen::MatrixXd::Identity(d, d))});
  comm.barrier();
  const auto t2 = std::chrono::steady_clock::now();
  gmm.fit(em, x, 1);
  comm.barrier();
  const double em_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
  if (comm.rank() == 0)
    std::printf("GaussianMixture full N=%ld D=%ld K=%ld ranks=%d threads/rank=%d: %d EM iterations %.3f s, %.4f s/iteration; "
                "mean log-likelihood %.10g; bytes sent by rank 0: %.0f in all, %.0f per iteration "
                "(K + K*D + K*D*(D+1)/2 doubles + 1 = %ld bytes)\n",
                long(n), long(d), long(k), comm.size(), pml::get_num_threads(), gmm.iterations(), em_time, em_time / gmm.iterations(),
                double(gmm.lower_bound()), em.bytes, em.bytes / gmm.iterations(), long(8 * (k + k * d + k * d * (d + 1) / 2 + 1)));
}
