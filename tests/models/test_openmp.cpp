// Built with OpenMP and PML_OPENMP: pml's chunked loops (k-means' Lloyd step) give bit-identical results
// for 1, 2 and 3 threads.
#include <catch2/catch.hpp>

#include <cstring>

#include "pml/core/random.hpp"
#include "pml/models/cluster/kmeans.hpp"

namespace {
template <class M> bool same_bits(const M& a, const M& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(typename M::Scalar) * std::size_t(a.size())) == 0;
}
}  // namespace

TEST_CASE("KMeans gives the same bits for any OpenMP thread count", "[openmp][kmeans]") {
  REQUIRE(pml::openmp_enabled());
  pml::Rng rng(21);
  const Eigen::Index n = 70000, d = 8;  // 5 chunks of 16384 rows
  Eigen::MatrixXd x(n, d);
  pml::random::fill_normal(rng, x);
  for (Eigen::Index i = 0; i < n; ++i) x.row(i).array() += 4.0 * double(i % 5);
  Eigen::MatrixXd centres;
  Eigen::VectorXd inertia;
  pml::IntVector labels;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    pml::KMeans<double> km({.clusters = 5, .restarts = 1});
    km.fit(x, 4);
    if (threads == 1) {
      centres = km.centres();
      labels = km.labels();
      inertia = Eigen::VectorXd::Constant(1, km.inertia());
      continue;
    }
    INFO(threads << " threads");
    CHECK(same_bits(km.centres(), centres));
    CHECK((km.labels().array() == labels.array()).all());
    CHECK(km.inertia() == inertia(0));
  }
}
