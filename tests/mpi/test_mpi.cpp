// The sharded fits over MPI (pml/mpi.hpp), run by ctest under mpirun with 1, 2, 3 and 4 ranks. Every rank
// builds the same data from a seed, takes its own shard (uneven, and one rank empty from 3 ranks on) and
// compares the sharded fit with the single-process fit of all the rows, computed on every rank.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "pml/models/cluster.hpp"
#include "pml/mpi.hpp"

using Catch::Matchers::Contains;

namespace {

const pml::mpi::Communicator& world() {
  static const pml::mpi::Communicator comm;
  return comm;
}

// Rows [begin, end) of rank r of P: shares in proportion 1, 2, 3, ... (uneven), and rank 1 empty when P >= 3.
std::pair<Eigen::Index, Eigen::Index> shard_of(Eigen::Index n, int rank, int size) {
  std::vector<double> share(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) share[static_cast<std::size_t>(r)] = (size >= 3 && r == 1) ? 0.0 : double(r + 1);
  double total = 0;
  for (double s : share) total += s;
  double before = 0;
  for (int r = 0; r < rank; ++r) before += share[static_cast<std::size_t>(r)];
  const auto at = [&](double f) { return static_cast<Eigen::Index>(std::floor(f / total * double(n))); };
  return {at(before), rank == size - 1 ? n : at(before + share[static_cast<std::size_t>(rank)])};
}

// Three Gaussian blobs far from the origin (the centring matters), N x 3.
template <class T> pml::Matrix<T> blobs(Eigen::Index n, std::uint64_t seed) {
  pml::Rng rng(seed);
  pml::Matrix<T> x(n, 3);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < 3; ++j) x(i, j) = T(1e4 + 5.0 * double(i % 3) * double(j + 1) + pml::random::normal<double>(rng));
  return x;
}

template <class T> double relative(const pml::Matrix<T>& a, const pml::Matrix<T>& b) {
  return double((a - b).cwiseAbs().maxCoeff()) / std::max(1e-300, double(b.cwiseAbs().maxCoeff()));
}

}  // namespace

TEST_CASE("Communicator: sums are the same bits on every rank; maxima; broadcast", "[mpi]") {
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  std::vector<double> d = {0.1 * (r + 1), 1e16 * (r % 2 ? 1 : -1), 3.0};
  comm.sum(d.data(), d.size());
  double expect2 = 0;
  for (int q = 0; q < p; ++q) expect2 += 0.1 * (q + 1);
  CHECK(d[0] == Approx(expect2).epsilon(1e-14));
  CHECK(d[2] == 3.0 * p);
  std::vector<double> mine = d;
  std::string bits(reinterpret_cast<const char*>(d.data()), d.size() * sizeof(double));
  comm.broadcast(bits, 0);
  CHECK(std::memcmp(bits.data(), mine.data(), bits.size()) == 0);  // rank 0's sums are everyone's
  std::vector<float> f = {1.5f, float(r)};
  comm.sum(f.data(), f.size());
  CHECK(f[0] == 1.5f * float(p));
  CHECK(f[1] == float(p * (p - 1) / 2));
  double m = r == p - 1 ? 7.0 : -1.0;
  comm.max(&m, 1);
  CHECK(m == 7.0);
  std::string text = r == p - 1 ? "from the last rank" : "";
  comm.broadcast(text, p - 1);
  CHECK(text == "from the last rank");
  CHECK(pml::detail::all_counts(comm, r + 1).back() == p);
}

TEMPLATE_TEST_CASE("KMeans fitted on shards equals the fit on all rows (k-means++ and k-means|| seeding)", "[mpi][kmeans]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const Eigen::Index n = 601;
  const pml::Matrix<T> x = blobs<T>(n, 11);
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  pml::Rng data_rng(5);
  pml::Vector<T> weights(n);
  for (auto& w : weights) w = T(0.5 + pml::random::uniform<double>(data_rng));
  const pml::Vector<T> my_weights = weights.segment(b, e - b);
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  for (const auto init : {pml::KMeansInit::k_means_plus_plus, pml::KMeansInit::k_means_parallel})
  for (const bool weighted : {false, true}) {
    CAPTURE(weighted, pml::enum_name(init));
    pml::KMeans<T> whole({.clusters = 4, .restarts = 2, .init = init});
    pml::KMeans<T> sharded({.clusters = 4, .restarts = 2, .init = init});
    whole.fit(x, 3, weighted ? pml::Vector<T>(weights) : pml::Vector<T>());
    sharded.fit(comm, mine, 3, weighted ? my_weights : pml::Vector<T>());
    CHECK(relative(sharded.centres(), whole.centres()) < tol);
    CHECK(std::abs(double(sharded.inertia() - whole.inertia())) <= tol * double(whole.inertia()));
    CHECK(sharded.iterations() == whole.iterations());
    CHECK(sharded.labels() == whole.labels().segment(b, e - b));
    if (comm.size() == 1) CHECK(sharded.centres() == whole.centres());  // one rank: the same code, the same bits
  }
}

TEST_CASE("KMeans on shards: an emptied cluster takes the farthest row of all ranks", "[mpi][kmeans]") {
  const auto& comm = world();
  const Eigen::Index n = 90;
  const pml::Matrix<double> x = blobs<double>(n, 4);
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  pml::Matrix<double> init(3, 3);
  init.row(0) = x.row(0);
  init.row(1) = x.row(1);
  init.row(2).setConstant(1e6);  // no row is nearest to it at first
  pml::KMeans<double> whole({.clusters = 3, .centres_init = init});
  pml::KMeans<double> sharded({.clusters = 3, .centres_init = init});
  whole.fit(x);
  sharded.fit(comm, x.middleRows(b, e - b));
  CHECK(relative(sharded.centres(), whole.centres()) < 1e-12);
  CHECK(sharded.inertia() == Approx(whole.inertia()).epsilon(1e-12));
}

TEST_CASE("KMeans on shards: one rank's bad shard is reported on every rank", "[mpi][kmeans][errors]") {
  const auto& comm = world();
  const int last = comm.size() - 1;
  pml::Matrix<double> x = blobs<double>(40, 2);
  pml::KMeans<double> km({.clusters = 2});
  // a NaN on the last rank only: every rank throws its domain_error (none waits forever in a collective)
  pml::Matrix<double> bad = x;
  if (comm.rank() == last) bad(3, 1) = std::nan("");
  CHECK_THROWS_MATCHES(km.fit(comm, bad, 1), std::domain_error, Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
    const std::string what = ex.what();
    return what.find("KMeans::fit") != std::string::npos && what.find("x") != std::string::npos &&
           (comm.size() == 1 || what.find("(on rank " + std::to_string(last) + " of") != std::string::npos);
  }));
  // negative weights on rank 0
  pml::Vector<double> w = pml::Vector<double>::Ones(x.rows());
  if (comm.rank() == 0) w(0) = -1;
  CHECK_THROWS_AS(km.fit(comm, x, 1, w), std::domain_error);
  // the shards' widths differ
  if (comm.size() > 1) {
    const pml::Matrix<double> narrow = comm.rank() == last ? pml::Matrix<double>(x.leftCols(2)) : x;
    CHECK_THROWS_WITH(km.fit(comm, narrow, 1), Contains("different numbers of columns"));
  }
  // fewer rows in all than clusters
  pml::KMeans<double> many({.clusters = 5});
  const pml::Matrix<double> one_row = comm.rank() == 0 ? pml::Matrix<double>(x.topRows(4)) : pml::Matrix<double>(0, 3);
  CHECK_THROWS_WITH(many.fit(comm, one_row, 1), Contains("needs at least clusters = 5 rows, got 4"));
  // and the communicator still works afterwards
  double one = 1;
  comm.sum(&one, 1);
  CHECK(one == comm.size());
}

int main(int argc, char** argv) {
  pml::mpi::Environment mpi(argc, argv);
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  const int failed = session.run();
  // every rank's verdict: mpirun fails if any rank returns non-zero
  return failed == 0 ? 0 : 1;
}
