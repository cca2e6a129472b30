// The sharded fits over MPI (pml/mpi.hpp), run by ctest under mpirun with 1, 2, 3 and 4 ranks. Every rank
// builds the same data from a seed, takes its own shard (uneven, and one rank empty from 3 ranks on) and
// compares the sharded fit with the single-process fit of all the rows, computed on every rank.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pml/conjugate.hpp"
#include "pml/io/csv.hpp"
#include "pml/io/idx.hpp"
#include "pml/models/cluster.hpp"
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"
#include "pml/mpi.hpp"
#include "mpi/support.hpp"

using Catch::Matchers::Contains;

namespace {

// Three Gaussian blobs far from the origin (the centring matters), N x 3.
template <class T> pml::Matrix<T> blobs(Eigen::Index n, std::uint64_t seed) {
  pml::Rng rng(seed);
  pml::Matrix<T> x(n, 3);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < 3; ++j) x(i, j) = T(1e4 + 5.0 * double(i % 3) * double(j + 1) + pml::random::normal<double>(rng));
  return x;
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

TEMPLATE_TEST_CASE("GaussianMixture fitted on shards equals the fit on all rows (every covariance type, both starts)",
                   "[mpi][gmm]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const Eigen::Index n = 4801;  // more than one 2048-row block and chunk
  const pml::Matrix<T> x = blobs<T>(n, 12);
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  pml::Rng data_rng(6);
  pml::Vector<T> weights(n);
  for (auto& w : weights) w = T(0.5 + pml::random::uniform<double>(data_rng));
  const pml::Vector<T> my_weights = weights.segment(b, e - b);
  const double tol = std::is_same_v<T, float> ? 2e-3 : 1e-10;
  for (const auto covariance : {pml::Covariance::full, pml::Covariance::tied, pml::Covariance::diagonal, pml::Covariance::spherical})
  for (const auto init : {pml::MixtureInit::kmeans, pml::MixtureInit::random})
  for (const bool weighted : {false, true}) {
    CAPTURE(pml::enum_name(covariance), pml::enum_name(init), weighted);
    // run to convergence (float's round-off differs with the sharding; a random start's early iterations amplify it)
    const pml::GaussianMixtureOptions<T> options{.components = 3, .covariance = covariance,
                                                 .tolerance = T(std::is_same_v<T, float> ? 1e-5 : 1e-8),
                                                 .max_iterations = 300, .restarts = 2, .init = init};
    pml::GaussianMixture<T> whole(options), sharded(options);
    whole.fit(x, 3, weighted ? pml::Vector<T>(weights) : pml::Vector<T>());
    sharded.fit(comm, mine, 3, weighted ? my_weights : pml::Vector<T>());
    // the same components, perhaps in another order: a k-means++ or re-seeding draw that falls within the
    // round-off of a boundary picks another row of the same blob (float; and double, weighted and tied at 3
    // ranks on one machine, where the shards' summation order moved a draw: the components came out permuted)
    const auto order = [&](const pml::GaussianMixture<T>& g) {
      std::vector<Eigen::Index> o = {0, 1, 2};
      std::sort(o.begin(), o.end(), [&](auto i, auto j) { return g.means()(i, 0) < g.means()(j, 0); });
      return o;
    };
    const auto os = order(sharded), ow = order(whole);
    // (float, tied, random start: the uniform responsibilities put every mean near the data's mean, a saddle
    // that EM leaves too slowly for the tolerance, so float's round-off picks where it stops: the likelihood
    // below still agrees, the parameters only to about 1e-2)
    const bool saddle = std::is_same_v<T, float> && covariance == pml::Covariance::tied && init == pml::MixtureInit::random;
    for (std::size_t c = 0; c < 3 && !saddle; ++c) {
      CHECK(relative(sharded.means().row(os[c]), whole.means().row(ow[c])) < tol);
      CHECK(std::abs(double(sharded.weights()(os[c]) - whole.weights()(ow[c]))) < tol);
      CHECK(relative(sharded.covariance(os[c]), whole.covariance(ow[c])) < tol);
    }
    CHECK(std::abs(double(sharded.lower_bound() - whole.lower_bound())) <= tol * std::abs(double(whole.lower_bound())));
    if (!std::is_same_v<T, float>) CHECK(sharded.iterations() == whole.iterations());
    if (comm.size() == 1) {  // one rank: the same code, the same bits
      CHECK(sharded.means() == whole.means());
      CHECK(sharded.log_likelihood_history() == whole.log_likelihood_history());
    }
  }
}

TEST_CASE("GaussianMixture on shards: an emptied component is re-seeded at the worst row of all ranks", "[mpi][gmm]") {
  const auto& comm = world();
  const Eigen::Index n = 300;
  pml::Matrix<double> x = blobs<double>(n, 8);
  x.row(n - 1).setConstant(3e4);  // the worst-explained row, on the last rank
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  for (const auto covariance : {pml::Covariance::full, pml::Covariance::diagonal}) {
    CAPTURE(pml::enum_name(covariance));
    pml::Matrix<double> means(3, 3);
    means.row(0) = x.row(0);
    means.row(1) = x.row(1);
    means.row(2).setConstant(-1e7);  // no row is near: its responsibility mass vanishes at once
    const pml::GaussianMixtureOptions<double> options{.components = 3, .covariance = covariance, .max_iterations = 20,
                                                      .weights_init = pml::Vector<double>::Constant(3, 1.0 / 3),
                                                      .means_init = means,
                                                      .covariances_init = std::vector<pml::Matrix<double>>(3, pml::Matrix<double>::Identity(3, 3))};
    pml::GaussianMixture<double> whole(options), sharded(options);
    whole.fit(x);
    sharded.fit(comm, x.middleRows(b, e - b));
    REQUIRE(whole.reseeded() > 0);
    CHECK(sharded.reseeded() == whole.reseeded());
    CHECK(relative(sharded.means(), whole.means()) < 1e-10);
  }
}

TEST_CASE("GaussianMixture on shards: one rank's bad shard is reported on every rank", "[mpi][gmm][errors]") {
  const auto& comm = world();
  const int last = comm.size() - 1;
  const pml::Matrix<double> x = blobs<double>(40, 2);
  pml::GaussianMixture<double> gmm({.components = 2});
  pml::Matrix<double> bad = x;
  if (comm.rank() == last) bad(5, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_MATCHES(gmm.fit(comm, bad, 1), std::domain_error, Catch::Matchers::Predicate<std::domain_error>([&](const auto& ex) {
    const std::string what = ex.what();
    return what.find("GaussianMixture::fit") != std::string::npos &&
           (comm.size() == 1 || what.find("(on rank " + std::to_string(last) + " of") != std::string::npos);
  }));
  pml::Vector<double> w = pml::Vector<double>::Ones(x.rows() + (comm.rank() == 0 ? 1 : 0));
  CHECK_THROWS_AS(gmm.fit(comm, x, 1, w), std::invalid_argument);
  pml::GaussianMixture<double> many({.components = 5});
  const pml::Matrix<double> few = comm.rank() == 0 ? pml::Matrix<double>(x.topRows(4)) : pml::Matrix<double>(0, 7);
  CHECK_THROWS_WITH(many.fit(comm, few, 1), Contains("needs at least components = 5 rows, got 4"));
  double one = 1;
  comm.sum(&one, 1);
  CHECK(one == comm.size());
}

TEMPLATE_TEST_CASE("VariationalGaussianMixture fitted on shards equals the fit on all rows (both weight priors)", "[mpi][vgmm]",
                   float, double) {
  using T = TestType;
  const auto& comm = world();
  const Eigen::Index n = 2501;
  const pml::Matrix<T> x = blobs<T>(n, 13);
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  const double tol = std::is_same_v<T, float> ? 2e-3 : 1e-10;
  for (const auto prior : {pml::WeightPrior::dirichlet_distribution, pml::WeightPrior::dirichlet_process}) {
    CAPTURE(pml::enum_name(prior));
    const pml::VariationalGaussianMixtureOptions<T> options{.components = 5, .weight_prior = prior, .weight_concentration = T(0.01),
                                                            .tolerance = T(std::is_same_v<T, float> ? 1e-5 : 1e-8),
                                                            .max_iterations = 300};
    pml::VariationalGaussianMixture<T> whole(options), sharded(options);
    whole.fit(x, 4);
    sharded.fit(comm, x.middleRows(b, e - b), 4);
    CHECK(relative(sharded.means(), whole.means()) < tol);
    CHECK(relative(sharded.weights(), whole.weights()) < tol);
    for (Eigen::Index c = 0; c < 5; ++c) CHECK(relative(sharded.covariance(c), whole.covariance(c)) < tol);
    CHECK(std::abs(double(sharded.lower_bound() - whole.lower_bound())) <= tol * std::abs(double(whole.lower_bound())));
    if (!std::is_same_v<T, float>) CHECK(sharded.iterations() == whole.iterations());
    if (comm.size() == 1) {
      CHECK(sharded.means() == whole.means());
      CHECK(sharded.elbo_history() == whole.elbo_history());
    }
  }
  // a rank's non-finite row is reported on every rank
  pml::Matrix<T> bad = x.middleRows(b, e - b);
  if (bad.rows() > 0 && comm.rank() == comm.size() - 1) bad(0, 0) = std::numeric_limits<T>::quiet_NaN();
  pml::VariationalGaussianMixture<T> vb({.components = 2});
  CHECK_THROWS_AS(vb.fit(comm, bad, 1), std::domain_error);
}

TEMPLATE_TEST_CASE("BayesianLinearRegression fitted on shards equals the fit on all rows", "[mpi][blr]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const double tol = std::is_same_v<T, float> ? 1e-3 : 1e-10;
  for (const Eigen::Index n : {Eigen::Index(997), Eigen::Index(5)}) {  // tall, and fewer rows than columns
    const auto [b, e] = shard_of(n, comm.rank(), comm.size());
    for (const bool intercept : {true, false}) {
      CAPTURE(n, intercept);
      // columns far from 0 where the fit centres them (fit_intercept); near 0 where it does not (an
      // uncentred Gram matrix of columns at 100 j has a condition number that float cannot hold)
      const double offset = intercept ? 100.0 : 1.0;
      pml::Rng rng(21);
      pml::Matrix<T> phi(n, 6);
      pml::Vector<T> t(n);
      for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < 6; ++j) phi(i, j) = T(offset * double(j) + pml::random::normal<double>(rng));
        t(i) = T(3.0 + 0.5 * double(phi(i, 1)) - 0.25 * double(phi(i, 4)) + 0.3 * pml::random::normal<double>(rng));
      }
      // with fewer rows than columns the least-squares fit is exact, so evidence maximisation drives beta up
      // until the residual is at rounding level (ill-posed: the N x N and M x M paths then stop at different
      // noise); that case is compared with alpha and beta held fixed
      pml::BayesianLinearRegressionOptions<T> options{.alpha = T(1), .beta = T(25), .fit_hyperparameters = n > 6, .fit_intercept = intercept};
      pml::BayesianLinearRegression<T> whole(options), sharded(options);
      whole.fit(phi, t);
      sharded.fit(comm, phi.middleRows(b, e - b), t.segment(b, e - b));
      CHECK(relative(sharded.mean(), whole.mean()) < tol);
      CHECK(relative(sharded.covariance(), whole.covariance()) < tol);
      CHECK(std::abs(double(sharded.alpha() / whole.alpha() - 1)) < tol);
      CHECK(std::abs(double(sharded.beta() / whole.beta() - 1)) < tol);
      CHECK(std::abs(double(sharded.log_marginal_likelihood() - whole.log_marginal_likelihood())) <= tol * std::abs(double(whole.log_marginal_likelihood())));
      if (comm.size() == 1) CHECK(sharded.mean() == whole.mean());
    }
  }
  // a rank's mismatched targets are reported on every rank
  const pml::Matrix<T> phi = pml::Matrix<T>::Ones(8, 2);
  const pml::Vector<T> t = pml::Vector<T>::Ones(comm.rank() == comm.size() - 1 ? 7 : 8);
  pml::BayesianLinearRegression<T> blr;
  CHECK_THROWS_AS(blr.fit(comm, phi, t), std::invalid_argument);
}

TEMPLATE_TEST_CASE("PCA and ProbabilisticPCA fitted on shards equal the fits on all rows (closed form, EM, missing values)",
                   "[mpi][pca]", float, double) {
  using T = TestType;
  const auto& comm = world();
  const double tol = std::is_same_v<T, float> ? 2e-3 : 1e-9;
  const Eigen::Index n = 803, d = 5;
  pml::Rng rng(31);
  pml::Matrix<T> x(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double z1 = pml::random::normal<double>(rng), z2 = pml::random::normal<double>(rng);
    for (Eigen::Index j = 0; j < d; ++j)
      x(i, j) = T(1e3 * double(j + 1) + (3.0 + double(j)) * z1 - 2.0 * double(j % 2) * z2 + 0.3 * pml::random::normal<double>(rng));
  }
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  const pml::Matrix<T> mine = x.middleRows(b, e - b);
  // eigenvectors up to sign: compare |entries|
  const auto same_up_to_sign = [&](const pml::Matrix<T>& a, const pml::Matrix<T>& c) { return relative(a.cwiseAbs(), c.cwiseAbs()) < tol; };
  pml::PCA<T> whole({.components = 3}), sharded({.components = 3});
  whole.fit(x);
  sharded.fit(comm, mine);
  CHECK(same_up_to_sign(sharded.components(), whole.components()));
  CHECK(relative(sharded.explained_variance(), whole.explained_variance()) < tol);
  CHECK(relative(sharded.mean(), whole.mean()) < tol);
  if (comm.size() == 1) CHECK(sharded.components() == whole.components());
  for (const auto solver : {pml::PPCASolver::closed_form, pml::PPCASolver::em}) {
    CAPTURE(pml::enum_name(solver));
    pml::ProbabilisticPCA<T> pw({.components = 2, .solver = solver}), ps({.components = 2, .solver = solver});
    pw.fit(x, 5);
    ps.fit(comm, mine, 5);
    CHECK(relative(ps.mean(), pw.mean()) < tol);
    CHECK(relative(pml::Matrix<T>(ps.loadings() * ps.loadings().transpose()),
                   pml::Matrix<T>(pw.loadings() * pw.loadings().transpose())) < tol);  // W W^T: rotation-free
    CHECK(std::abs(double(ps.noise_variance() / pw.noise_variance() - 1)) < tol);
  }
  // missing values (NaN) on every rank's share: EM on the observed entries
  pml::Matrix<T> holes = x;
  for (Eigen::Index i = 0; i < n; i += 7) holes(i, (i / 7) % d) = std::numeric_limits<T>::quiet_NaN();
  pml::ProbabilisticPCA<T> mw({.components = 2, .solver = pml::PPCASolver::em, .max_iterations = 60}),
      ms({.components = 2, .solver = pml::PPCASolver::em, .max_iterations = 60});
  mw.fit(holes, 8);
  ms.fit(comm, holes.middleRows(b, e - b), 8);
  CHECK(ms.iterations() == mw.iterations());
  CHECK(relative(ms.mean(), mw.mean()) < tol);
  CHECK(relative(ms.loadings(), mw.loadings()) < 10 * tol);
  CHECK(std::abs(double(ms.noise_variance() / mw.noise_variance() - 1)) < 10 * tol);
  if (comm.size() == 1) CHECK(ms.loadings() == mw.loadings());
  // an infinite entry on the last rank is reported on every rank
  pml::Matrix<T> bad = holes.middleRows(b, e - b);
  if (bad.rows() > 0 && comm.rank() == comm.size() - 1) bad(0, 1) = std::numeric_limits<T>::infinity();
  CHECK_THROWS_AS(ms.fit(comm, bad, 8), std::domain_error);
}

TEMPLATE_TEST_CASE("BayesianLogisticRegression fitted on shards equals the fit on all rows (distributed Newton)", "[mpi][blogr]", float,
                   double) {
  using T = TestType;
  const auto& comm = world();
  const double tol = std::is_same_v<T, float> ? 1e-3 : 1e-10;
  const Eigen::Index n = 1203;
  pml::Rng rng(41);
  pml::Matrix<T> phi(n, 4);
  pml::IntVector t(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    phi(i, 0) = 1;
    for (Eigen::Index j = 1; j < 4; ++j) phi(i, j) = T(pml::random::normal<double>(rng));
    const double a = 0.5 + 1.5 * double(phi(i, 1)) - double(phi(i, 3));
    t(i) = pml::random::uniform<double>(rng) < 1 / (1 + std::exp(-a)) ? 1 : 0;
  }
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  pml::BayesianLogisticRegression<T> whole, sharded;
  whole.fit(phi, t);
  sharded.fit(comm, phi.middleRows(b, e - b), pml::IntVector(t.segment(b, e - b)));
  CHECK(relative(sharded.mean(), whole.mean()) < tol);
  CHECK(relative(sharded.covariance(), whole.covariance()) < tol);
  CHECK(std::abs(double(sharded.log_marginal_likelihood() - whole.log_marginal_likelihood())) <=
        tol * std::abs(double(whole.log_marginal_likelihood())));
  CHECK(sharded.iterations() == whole.iterations());
  if (comm.size() == 1) CHECK(sharded.mean() == whole.mean());
  // a label other than 0 or 1 on the last rank is reported on every rank
  pml::IntVector bad = t.segment(b, e - b);
  if (bad.size() > 0 && comm.rank() == comm.size() - 1) bad(0) = 2;
  CHECK_THROWS_AS(sharded.fit(comm, phi.middleRows(b, e - b), bad), std::domain_error);
}

TEST_CASE("Conjugate models updated on shards equal the update with all the data", "[mpi][conjugate]") {
  const auto& comm = world();
  const Eigen::Index n = 301;
  const auto [b, e] = shard_of(n, comm.rank(), comm.size());
  pml::Rng rng(51);
  pml::IntVector bits(n), counts(n), labels(n);
  pml::IntMatrix table(n, 3);
  pml::Vector<double> x(n);
  pml::Matrix<double> rows(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    bits(i) = pml::random::uniform<double>(rng) < 0.3 ? 1 : 0;
    counts(i) = long(10 * pml::random::uniform<double>(rng));
    labels(i) = long(3 * pml::random::uniform<double>(rng));
    for (Eigen::Index k = 0; k < 3; ++k) table(i, k) = long(5 * pml::random::uniform<double>(rng));
    x(i) = 1e6 + pml::random::normal<double>(rng);  // far from 0: the centred sums matter
    rows(i, 0) = -1e6 + pml::random::normal<double>(rng);
    rows(i, 1) = 2e6 + 0.5 * double(rows(i, 0) + 1e6) + pml::random::normal<double>(rng);
  }
  const auto mine = [&](const auto& v) { return v.segment(b, e - b).eval(); };
  const auto close = [](double a, double c) { return std::abs(a - c) <= 1e-10 * std::max(1.0, std::abs(c)); };
  {
    pml::BetaBernoulliModel<double> whole, sharded;
    whole.update(bits);
    sharded.update(comm, mine(bits));
    CHECK(sharded.posterior().a() == whole.posterior().a());
    CHECK(sharded.posterior().b() == whole.posterior().b());
  }
  {
    pml::BetaBinomialModel<double> whole(9), sharded(9);
    whole.update(counts);
    sharded.update(comm, mine(counts));
    CHECK(sharded.posterior().a() == whole.posterior().a());
    CHECK(sharded.posterior().b() == whole.posterior().b());
  }
  {
    pml::DirichletCategoricalModel<double> whole(3, 0.5), sharded(3, 0.5);
    whole.update(labels);
    sharded.update(comm, mine(labels));
    CHECK(sharded.posterior().alpha() == whole.posterior().alpha());
    pml::DirichletMultinomialModel<double> mw(pml::Dirichlet<double>(pml::Vector<double>::Ones(3))), ms = mw;
    mw.update(table);
    ms.update(comm, pml::IntMatrix(table.middleRows(b, e - b)));
    CHECK(ms.posterior().alpha() == mw.posterior().alpha());
  }
  {
    pml::GammaPoissonModel<double> whole(pml::Gamma<double>(2, 1)), sharded = whole;
    whole.update(counts);
    sharded.update(comm, mine(counts));
    CHECK(sharded.posterior().shape() == whole.posterior().shape());
    CHECK(sharded.posterior().rate() == whole.posterior().rate());
  }
  {
    pml::NormalKnownVarianceModel<double> whole(pml::Normal<double>(0, 10), 1.0), sharded = whole;
    whole.update(x);
    sharded.update(comm, mine(x));
    CHECK(close(sharded.posterior().mean(), whole.posterior().mean()));
    CHECK(close(sharded.posterior().stddev(), whole.posterior().stddev()));
    pml::GammaKnownMeanModel<double> gw(pml::Gamma<double>(1, 1), 1e6), gs = gw;
    gw.update(x);
    gs.update(comm, mine(x));
    CHECK(close(gs.posterior().shape(), gw.posterior().shape()));
    CHECK(close(gs.posterior().rate(), gw.posterior().rate()));
  }
  {
    pml::NormalGammaModel<double> whole(pml::NormalGamma<double>(0, 1, 1, 1)), sharded = whole;
    whole.update(x);
    sharded.update(comm, mine(x));
    CHECK(close(sharded.posterior().mu0(), whole.posterior().mu0()));
    CHECK(close(sharded.posterior().b(), whole.posterior().b()));
    CHECK(sharded.posterior().a() == whole.posterior().a());
    CHECK(sharded.posterior().kappa() == whole.posterior().kappa());
  }
  {
    // (a prior mean near the data: with it at 0, a 1e12 mean-shift term makes W_N's condition number ~1e10)
    pml::NormalWishartModel<double> whole(pml::NormalWishart<double>(pml::Vector<double>(Eigen::Vector2d(-1e6, 2e6)), 1, 3, pml::Matrix<double>::Identity(2, 2))),
        sharded = whole;
    whole.update(rows);
    sharded.update(comm, e > b ? pml::Matrix<double>(rows.middleRows(b, e - b)) : pml::Matrix<double>(0, 0));
    CHECK(relative(sharded.posterior().mu0(), whole.posterior().mu0()) < 1e-10);
    CHECK(relative(sharded.posterior().scale(), whole.posterior().scale()) < 1e-9);
    CHECK(sharded.posterior().nu() == whole.posterior().nu());
  }
  // a bad value on the last rank is reported on every rank
  pml::IntVector bad = mine(bits);
  if (bad.size() > 0 && comm.rank() == comm.size() - 1) bad(0) = 2;
  pml::BetaBernoulliModel<double> model;
  CHECK_THROWS_AS(model.update(comm, bad), std::domain_error);
}

int main(int argc, char** argv) { return mpi_test::run_tests(argc, argv); }

TEST_CASE("read_csv and read_idx on ranks: each rank reads its share, the shares stack to the file, errors reach every rank",
          "[mpi][io]") {
  const auto& comm = world();
  const int p = comm.size(), r = comm.rank();
  // one directory for all ranks (they share a file system here), named by rank 0
  std::string dir = r == 0 ? (std::filesystem::temp_directory_path() / ("pml_mpi_io_" + std::to_string(::getpid()))).string() : std::string();
  comm.broadcast(dir, 0);
  const std::filesystem::path csv = std::filesystem::path(dir) / "d.csv", bad = std::filesystem::path(dir) / "bad.csv",
                              only = std::filesystem::path(dir) / "only.csv", idx = std::filesystem::path(dir) / "d.idx";
  const auto x = blobs<double>(101, 5);
  if (r == 0) {
    std::filesystem::create_directories(dir);
    pml::io::write_csv(csv, x, {"a", "b", "c"});
    std::ofstream(bad) << pml::io::format_csv(x) << "1,2,oops\n";
    std::ofstream(only) << "a,b\n";
    std::string bytes = {0, 0, 0x08, 2, 0, 0, 0, 101, 0, 0, 0, 2};
    for (int i = 0; i < 202; ++i) bytes += char(i % 251);
    std::ofstream(idx, std::ios::binary) << bytes;
  }
  comm.barrier();
  const auto mine = pml::io::read_csv<double>(comm, csv);
  CHECK(mine.columns == std::vector<std::string>{"a", "b", "c"});
  const auto counts = pml::detail::all_counts(comm, mine.data.rows());
  Eigen::Index offset = 0, total = 0;
  for (int q = 0; q < p; ++q) {
    if (q < r) offset += counts[std::size_t(q)];
    total += counts[std::size_t(q)];
  }
  CHECK(total == 101);
  CHECK(mine.data == x.middleRows(offset, mine.data.rows()));  // shortest round-trip text: the same bits
  // an unreadable field in the last line (the last rank's share): every rank throws, naming the rank
  try {
    pml::io::read_csv<double>(comm, bad);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Contains("bad.csv' line 102, column 3: cannot read 'oops' as a number"));
    if (p > 1) CHECK_THAT(e.what(), Contains("(on rank " + std::to_string(p - 1) + " of " + std::to_string(p) + ")"));
  }
  CHECK_THROWS_WITH(pml::io::read_csv<double>(comm, only), Contains("has a header but no data rows"));
  const auto items = pml::io::read_idx<double>(comm, idx);
  CHECK(items.shape == std::vector<Eigen::Index>{101, 2});
  CHECK(pml::detail::all_sum(comm, double(items.data.rows())) == 101);
  for (Eigen::Index i = 0; i < items.data.rows(); ++i) CHECK(items.data(i, 1) == double((2 * (items.first_row + i) + 1) % 251));
  // ranks that saw different versions of the file (one replaced it meanwhile) all stop
  auto version = pml::io::detail::file_version(csv, "test");
  CHECK_NOTHROW(pml::io::detail::check_same_file(comm, csv, "test", version));
  if (r == p - 1) version[1] += 1;  // another inode on the last rank
  if (p > 1) CHECK_THROWS_WITH(pml::io::detail::check_same_file(comm, csv, "test", version), Contains("is not the same file on every rank"));
  comm.barrier();
  if (r == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("load_fashion_mnist on ranks: each rank its share of each set, labels with their images; a missing file stops every rank", "[mpi][io]") {
  const auto& comm = world();
  const int r = comm.rank();
  std::string dir = r == 0 ? (std::filesystem::temp_directory_path() / ("pml_mpi_fmnist_" + std::to_string(::getpid()))).string() : std::string();
  comm.broadcast(dir, 0);
  // four small IDX files under Fashion-MNIST's names (uncompressed: read_idx reads both): 23 and 7 items of 2 x 2 pixels
  auto images = [](int n, int salt) {
    std::string bytes = {0, 0, 0x08, 3, 0, 0, 0, char(n), 0, 0, 0, 2, 0, 0, 0, 2};
    for (int i = 0; i < 4 * n; ++i) bytes += char((7 * i + salt) % 256);
    return bytes;
  };
  auto labels = [](int n) {
    std::string bytes = {0, 0, 0x08, 1, 0, 0, 0, char(n)};
    for (int i = 0; i < n; ++i) bytes += char(i % 10);
    return bytes;
  };
  const std::filesystem::path d(dir);
  if (r == 0) {
    std::filesystem::create_directories(d / "partial");
    std::ofstream(d / "train-images-idx3-ubyte.gz", std::ios::binary) << images(23, 1);
    std::ofstream(d / "train-labels-idx1-ubyte.gz", std::ios::binary) << labels(23);
    std::ofstream(d / "t10k-images-idx3-ubyte.gz", std::ios::binary) << images(7, 2);
    std::ofstream(d / "t10k-labels-idx1-ubyte.gz", std::ios::binary) << labels(7);
    std::ofstream(d / "partial" / "train-images-idx3-ubyte.gz", std::ios::binary) << images(23, 1);
  }
  comm.barrier();
  const auto whole = pml::io::load_fashion_mnist<float>(d);
  const auto mine = pml::io::load_fashion_mnist<float>(comm, d);
  for (const bool train : {true, false}) {
    const pml::Matrix<float>& x = train ? mine.train_images : mine.test_images;
    const pml::IntVector& y = train ? mine.train_labels : mine.test_labels;
    REQUIRE(x.rows() == y.size());
    const auto counts = pml::detail::all_counts(comm, x.rows());
    Eigen::Index offset = 0, total = 0;
    for (int q = 0; q < comm.size(); ++q) {
      if (q < r) offset += counts[std::size_t(q)];
      total += counts[std::size_t(q)];
    }
    CHECK(total == (train ? 23 : 7));
    CHECK(x == (train ? whole.train_images : whole.test_images).middleRows(offset, x.rows()));
    CHECK(y == (train ? whole.train_labels : whole.test_labels).segment(offset, y.size()));
  }
  CHECK(mine.train_images.maxCoeff() <= 1.0f);  // scaled to [0, 1] as on one process
  CHECK_THROWS_WITH(pml::io::load_fashion_mnist<float>(comm, d / "partial"), Contains("train-labels-idx1-ubyte.gz' not found"));
  comm.barrier();
  if (r == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("agree: a length_error (a model too large for one rank's memory) reaches every rank as a length_error", "[mpi][errors]") {
  const auto& comm = world();
  const int p = comm.size(), last = p - 1;
  CHECK_THROWS_AS(pml::detail::agree(comm, [&] {
                    if (comm.rank() == last) throw std::length_error("too large here");
                  }),
                  std::length_error);
  CHECK_THROWS_AS(pml::detail::agree(comm, [&] {
                    if (comm.rank() == last) throw std::logic_error("a logic error");
                  }),
                  std::logic_error);
  CHECK_NOTHROW(pml::detail::agree(comm, [] {}));
  // marked as thrown on every rank (on P > 1: one process's exceptions are its own, unchanged)
  try {
    pml::detail::agree(comm, [&] {
      if (comm.rank() == last) throw std::bad_alloc();
    });
    FAIL("agree did not throw");
  } catch (const std::runtime_error& e) {
    CHECK((dynamic_cast<const pml::ThrownOnEveryRank*>(&e) != nullptr) == (p > 1));
  } catch (const std::bad_alloc&) {
    CHECK(p == 1);
  }
}

namespace {
// The world's communicator, except that rank `failing` throws std::bad_alloc from its `at`-th sum, before
// the message: an exception between two collectives that the other ranks do not share.
class FailingRank final : public pml::Collective {
 public:
  FailingRank(const pml::mpi::Communicator& comm, int failing, int at) : comm_(comm), failing_(failing), at_(at) {}
  int rank() const noexcept override { return comm_.rank(); }
  int size() const noexcept override { return comm_.size(); }
  void sum(double* data, std::size_t n) const override {
    fail();
    comm_.sum(data, n);
  }
  void sum(float* data, std::size_t n) const override {
    fail();
    comm_.sum(data, n);
  }
  void max(double* data, std::size_t n) const override { comm_.max(data, n); }
  void broadcast(std::string& bytes, int root) const override { comm_.broadcast(bytes, root); }
  void abort(const char* function, const char* what) const noexcept override { comm_.abort(function, what); }
  int calls() const noexcept { return calls_; }  ///< sums so far on the failing rank

 private:
  void fail() const {
    if (comm_.rank() == failing_ && ++calls_ == at_) throw std::bad_alloc();
  }
  const pml::mpi::Communicator& comm_;
  int failing_, at_;
  mutable int calls_ = 0;
};
}  // namespace

TEST_CASE("GaussianMixture on shards: an exception on one rank alone ends every rank (MPI_Abort) instead of leaving them waiting",
          "[.abort]") {
  // run by ctest as test_mpi.abort (2 ranks, a short timeout, the message expected on standard error);
  // hidden from the other runs, since it ends the job
  const auto& comm = world();
  REQUIRE(comm.size() >= 2);
  const FailingRank ranks(comm, 1, 40);  // rank 1 at its 40th sum of 45: after the k-means start, in an EM iteration
  const pml::Matrix<double> x = blobs<double>(60, 3);
  const auto [begin, end] = shard_of(x.rows(), comm.rank(), comm.size());
  pml::GaussianMixture<double> gmm({.components = 3});
  gmm.fit(ranks, x.middleRows(begin, end - begin), 1);
  FAIL("not reached: the fit should have ended every rank (" << ranks.calls() << " sums on rank 1)");
}
