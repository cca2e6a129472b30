// Threads (pml/core/parallel.hpp): the thread-count setting, the chunked loops' helpers, and every
// parallel path of the models giving the same bits at 1, 2, 3 and 4 threads. Also built under
// ThreadSanitizer (test_parallel_tsan in the sanitizer build), where a data race fails it.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pml/autodiff.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/random.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/models/cluster/gaussian_mixture.hpp"
#include "pml/models/cluster/kmeans.hpp"
#include "pml/models/cluster/variational_gaussian_mixture.hpp"
#include "pml/models/latent/pca.hpp"
#include "pml/models/latent/probabilistic_pca.hpp"
#include "pml/models/linear/bayesian_linear_regression.hpp"
#include "pml/models/linear/bayesian_logistic_regression.hpp"
#include "pml/models/deep/bayes_by_backprop.hpp"
#include "pml/models/deep/mc_dropout.hpp"

namespace {
using Eigen::Index;

template <class M> bool same_bits(const M& a, const M& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(typename M::Scalar) * std::size_t(a.size())) == 0;
}

// Restores the thread setting when a test ends, whatever happens.
struct ThreadSetting {
  ~ThreadSetting() { pml::set_num_threads(0); }
};

// Runs `run` at 1, 2, 3 and 4 threads; every matrix it returns must have the same bits as at 1 thread.
template <class M> void same_for_any_thread_count(const std::function<std::vector<M>()>& run) {
  ThreadSetting restore;
  std::vector<M> first;
  for (int threads : {1, 2, 3, 4}) {
    pml::set_num_threads(threads);
    const std::vector<M> out = run();
    if (threads == 1) {
      first = out;
      continue;
    }
    INFO(threads << " threads");
    REQUIRE(out.size() == first.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      INFO("result " << i);
      CHECK(same_bits(out[i], first[i]));
    }
  }
}

// Clustered data: n rows in d columns around k centres spread over a few units, far from the origin.
template <class T> pml::Matrix<T> clustered(Index n, Index d, Index k, std::uint64_t seed) {
  pml::Rng rng(seed);
  pml::Matrix<T> centres(k, d), x(n, d);
  pml::random::fill_normal(rng, centres);
  pml::random::fill_normal(rng, x);
  for (Index i = 0; i < n; ++i) x.row(i) += T(4) * centres.row(i % k) + pml::RowVector<T>::Constant(d, T(100));
  return x;
}

template <class T> pml::Matrix<T> as_matrix(const pml::IntVector& v) { return v.cast<T>(); }
template <class T> pml::Matrix<T> scalar(T v) { return pml::Matrix<T>::Constant(1, 1, v); }
}  // namespace

TEST_CASE("set_num_threads and get_num_threads", "[parallel]") {
  ThreadSetting restore;
  CHECK(pml::get_num_threads() >= 1);
  pml::set_num_threads(3);
  CHECK(pml::get_num_threads() == (pml::openmp_enabled() ? 3 : 1));
  pml::set_num_threads(1);
  CHECK(pml::get_num_threads() == 1);
  try {
    pml::set_num_threads(-2);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK_THAT(e.what(), Catch::Contains("pml::set_num_threads") && Catch::Contains("-2"));
  }
  CHECK(pml::get_num_threads() == 1);  // a refused value changes nothing
  pml::set_num_threads(0);
  CHECK(pml::get_num_threads() >= 1);
}

// ctest runs this case again with PML_NUM_THREADS set (tests/CMakeLists.txt): PML_TEST_EXPECT says what
// get_num_threads() must give then, or "throws".
TEST_CASE("PML_NUM_THREADS sets the default thread count", "[parallel][environment]") {
  const char* expect = std::getenv("PML_TEST_EXPECT");
  if (expect == nullptr) {
    SUCCEED("run by ctest with PML_NUM_THREADS set");
    return;
  }
  if (std::string(expect) == "throws") {
    try {
      (void)pml::get_num_threads();
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK_THAT(e.what(), Catch::Contains("PML_NUM_THREADS") && Catch::Contains(std::getenv("PML_NUM_THREADS")));
    }
    return;
  }
  CHECK(pml::get_num_threads() == (pml::openmp_enabled() ? std::atoi(expect) : 1));
  pml::set_num_threads(2);  // set_num_threads() wins over the environment
  CHECK(pml::get_num_threads() == (pml::openmp_enabled() ? 2 : 1));
  pml::set_num_threads(0);
  CHECK(pml::get_num_threads() == (pml::openmp_enabled() ? std::atoi(expect) : 1));
}

TEST_CASE("chunks depend on the size only; helpers give the same bits for any thread count", "[parallel]") {
  using pml::detail::split_rows;
  const auto c = split_rows(10000, 2048, 64, 256);
  CHECK(c.size == 2048);
  CHECK(c.count() == 5);
  CHECK(c.end(4) == 10000);
  CHECK(split_rows(0, 2048, 64).count() == 0);
  CHECK(split_rows(1000000, 2048, 64, 256).count() <= 64);
  CHECK(split_rows(1000000, 2048, 64, 256).size % 256 == 0);

  pml::Rng rng(3);
  Eigen::VectorXd v(100000);
  pml::random::fill_normal(rng, v);
  same_for_any_thread_count<Eigen::MatrixXd>([&] {
    const double total = pml::detail::parallel_sum(split_rows(v.size(), 1000, 64), 0.0,
                                                   [&](Index, Index b, Index e, double& out) { out = v.segment(b, e - b).sum(); });
    const Eigen::VectorXd mapped = pml::detail::map_rows<Eigen::VectorXd>(v.size(), [&](Index b, Index m) {
      return Eigen::VectorXd(v.segment(b, m).array().exp());
    });
    return std::vector<Eigen::MatrixXd>{scalar(total), mapped};
  });
  CHECK(pml::detail::map_rows<Eigen::VectorXd>(v.size(), [&](Index b, Index m) { return Eigen::VectorXd(v.segment(b, m) * 2.0); }) ==
        v * 2.0);
}

TEST_CASE("parallel_for runs every task once and rethrows the lowest-index failure", "[parallel]") {
  ThreadSetting restore;
  for (int threads : {1, 2, 4}) {
    pml::set_num_threads(threads);
    std::vector<int> hits(1000, 0);
    pml::detail::parallel_for(1000, [&](Index i) { ++hits[static_cast<std::size_t>(i)]; });
    CHECK(std::count(hits.begin(), hits.end(), 1) == 1000);
    try {
      pml::detail::parallel_for(100, [&](Index i) {
        if (i % 10 == 7) throw std::runtime_error("task " + std::to_string(i));
      });
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "task 7");
    }
  }
}

TEMPLATE_TEST_CASE("KMeans: fit, predict, transform and scores are the same for any thread count", "[parallel][kmeans]", float, double) {
  using T = TestType;
  const pml::Matrix<T> x = clustered<T>(40000, 6, 5, 1);
  same_for_any_thread_count<pml::Matrix<T>>([&] {
    pml::KMeans<T> km({.clusters = 5, .restarts = 2, .max_iterations = 20});
    km.fit(x, 4);
    return std::vector<pml::Matrix<T>>{km.centres(), as_matrix<T>(km.labels()), scalar(km.inertia()), as_matrix<T>(km.predict(x)),
                                       km.transform(x), km.score_samples(x)};
  });
}

TEMPLATE_TEST_CASE("KMeans::plus_plus: rows of the data, the same for any thread count", "[parallel][kmeans]", float, double) {
  using T = TestType;
  const pml::Matrix<T> x = clustered<T>(30000, 4, 6, 16);
  pml::Vector<T> w = pml::Vector<T>::LinSpaced(x.rows(), T(0.5), T(2));
  same_for_any_thread_count<pml::Matrix<T>>([&] {
    pml::Rng rng(17);
    const pml::Matrix<T> unweighted = pml::KMeans<T>::plus_plus(x, 6, rng);
    const pml::Matrix<T> weighted = pml::KMeans<T>::plus_plus(x, 6, rng, w);
    return std::vector<pml::Matrix<T>>{unweighted, weighted};
  });
  pml::Rng rng(18);
  const pml::Matrix<T> c = pml::KMeans<T>::plus_plus(x, 6, rng);
  for (Index j = 0; j < c.rows(); ++j) {  // each centre is a row of x, bit for bit, and the six are distinct
    bool found = false;
    for (Index i = 0; i < x.rows() && !found; ++i) found = same_bits(pml::Matrix<T>(x.row(i)), pml::Matrix<T>(c.row(j)));
    CHECK(found);
    for (Index l = 0; l < j; ++l) CHECK_FALSE(same_bits(pml::Matrix<T>(c.row(l)), pml::Matrix<T>(c.row(j))));
  }
  CHECK_THROWS_WITH(pml::KMeans<T>::plus_plus(x.topRows(3), 4, rng), Catch::Contains("KMeans::plus_plus") && Catch::Contains("k = 4"));
  CHECK_THROWS_WITH(pml::KMeans<T>::plus_plus(x, 0, rng), Catch::Contains("KMeans::plus_plus"));
  CHECK_THROWS_WITH(pml::KMeans<T>::plus_plus(x, 3, rng, w.head(5)), Catch::Contains("weights has length 5"));
  // the inertia of no rows is the empty sum
  pml::KMeans<T> km({.clusters = 6});
  km.fit(x, 1);
  CHECK(km.inertia(x.topRows(0)) == T(0));
}

TEMPLATE_TEST_CASE("GaussianMixture: EM and the queries are the same for any thread count", "[parallel][gmm]", float, double) {
  using T = TestType;
  const pml::Matrix<T> x = clustered<T>(30000, 5, 4, 2);
  for (auto covariance : {pml::Covariance::full, pml::Covariance::tied, pml::Covariance::diagonal, pml::Covariance::spherical}) {
    INFO("covariance " << static_cast<int>(covariance));
    same_for_any_thread_count<pml::Matrix<T>>([&] {
      pml::GaussianMixture<T> gm({.components = 4, .covariance = covariance, .max_iterations = 8});
      gm.fit(x, 5);
      std::vector<pml::Matrix<T>> out{gm.means(), gm.weights(), gm.covariance(1), gm.predict_proba(x), gm.score_samples(x),
                                      as_matrix<T>(gm.predict(x))};
      for (T v : gm.log_likelihood_history()) out.push_back(scalar(v));
      return out;
    });
  }
  // the random start: each row's responsibilities hashed from (seed, row), whatever the threads
  same_for_any_thread_count<pml::Matrix<T>>([&] {
    pml::GaussianMixture<T> gm({.components = 4, .max_iterations = 4, .init = pml::MixtureInit::random});
    gm.fit(x, 5);
    return std::vector<pml::Matrix<T>>{gm.means(), gm.weights(), gm.covariance(2)};
  });
}

// The models below have no float-specific kernel: their chunking (core/parallel.hpp) is the same code for
// either scalar, so they are checked in double only (each float instantiation here cost minutes of CI compile).
TEMPLATE_TEST_CASE("VariationalGaussianMixture: the same for any thread count", "[parallel][vgmm]", double) {
  using T = TestType;
  const pml::Matrix<T> x = clustered<T>(20000, 4, 3, 3);
  same_for_any_thread_count<pml::Matrix<T>>([&] {
    pml::VariationalGaussianMixture<T> vg({.components = 5, .max_iterations = 6});
    vg.fit(x, 6);
    std::vector<pml::Matrix<T>> out{vg.means(), vg.weights(), vg.predict_proba(x), as_matrix<T>(vg.predict(x))};
    for (T v : vg.elbo_history()) out.push_back(scalar(v));
    return out;
  });
}

TEMPLATE_TEST_CASE("PCA, ProbabilisticPCA and the Gaussian's log_prob: the same for any thread count", "[parallel][latent]", double) {
  using T = TestType;
  const pml::Matrix<T> x = clustered<T>(30000, 12, 3, 4);
  same_for_any_thread_count<pml::Matrix<T>>([&] {
    pml::PCA<T> pca({.components = 3});
    pca.fit(x);
    pml::ProbabilisticPCA<T> ppca({.components = 3});
    ppca.fit(x, 1);
    const auto mvn = pml::MultivariateNormal<T>::fit(x);
    return std::vector<pml::Matrix<T>>{pca.components(), pca.explained_variance(), pca.transform(x), pca.score_samples(x),
                                       ppca.score_samples(x),  mvn.covariance(),          mvn.log_prob(x)};
  });
}

TEMPLATE_TEST_CASE("Bayesian linear and logistic regression: fits and predictions the same for any thread count", "[parallel][linear]", double) {
  using T = TestType;
  // more rows than one 2048-row block per chunk, so that the sums run in several chunks
  const pml::Matrix<T> x = clustered<T>(40000, 6, 3, 11).rowwise() - pml::RowVector<T>::Constant(6, T(100));
  pml::Rng rng(12);
  pml::Vector<T> noise(x.rows());
  pml::random::fill_normal(rng, noise);
  const pml::Vector<T> y = x * pml::Vector<T>::LinSpaced(6, T(-1), T(1)) + noise;
  pml::IntVector labels(x.rows());
  for (Index i = 0; i < x.rows(); ++i) labels(i) = y(i) + T(0.5) * noise(i) > T(0) ? 1 : 0;
  same_for_any_thread_count<pml::Matrix<T>>([&] {
    pml::BayesianLinearRegression<T> blr({.fit_intercept = true});
    blr.fit(x, y);
    const auto pred = blr.predict(x);
    pml::BayesianLogisticRegression<T> logistic;
    logistic.fit(x, labels);
    return std::vector<pml::Matrix<T>>{blr.mean(), scalar(blr.alpha()), scalar(blr.beta()), pred.mean, pred.variance,
                                       logistic.mean(), logistic.covariance(), scalar(logistic.log_marginal_likelihood()),
                                       logistic.predict_proba(x)};
  });
}

TEMPLATE_TEST_CASE("MC dropout and Bayes by Backprop: the prediction passes are the same for any thread count", "[parallel][deep]", double) {
  using T = TestType;
  const pml::Matrix<T> x = clustered<T>(300, 3, 3, 13).rowwise() - pml::RowVector<T>::Constant(3, T(100));
  const pml::Matrix<T> y = x.rowwise().sum() / T(4);
  pml::Rng rng(14);
  pml::MCDropoutRegressor<T> mc({.input = 3, .hidden = {16}, .dropout = 0.2}, rng);
  mc.fit(x, y, {.epochs = 2, .batch_size = 32}, rng);
  pml::BayesByBackprop<T> bbb({.input = 3, .hidden = {16}, .output = 1}, rng);
  bbb.fit(x, y, {.epochs = 2, .batch_size = 32}, rng);
  same_for_any_thread_count<pml::Matrix<T>>([&] {
    pml::Rng eval(15);
    const auto a = mc.predict(x, 40, eval);
    const auto b = bbb.predict(x, 40, eval);
    const auto outputs = bbb.sample_outputs(x, 7, eval);
    return std::vector<pml::Matrix<T>>{a.mean, a.variance, mc.score_samples(x, y, 40, eval), b.mean, b.variance, outputs.front(),
                                       outputs.back()};
  });
}

TEMPLATE_TEST_CASE("the tape's GEMM, split into pieces, is the same for any thread count and matches Eigen", "[parallel][autodiff]", float,
                   double) {
  using T = TestType;
  pml::Rng rng(7);
  // (m, k, n): split by columns (n >= m), by rows (m > n), and a product below the splitting size
  for (auto [m, k, n] : {std::array<Index, 3>{96, 150, 700}, std::array<Index, 3>{650, 120, 70}, std::array<Index, 3>{30, 20, 40}}) {
    pml::Matrix<T> a(m, k), b(k, n), w(m, n);
    pml::random::fill_normal(rng, a);
    pml::random::fill_normal(rng, b);
    pml::random::fill_normal(rng, w);
    const pml::Matrix<T> at = a.transpose(), bt = b.transpose();
    same_for_any_thread_count<pml::Matrix<T>>([&] {
      std::vector<pml::Matrix<T>> out;
      pml::ad::Tape<T> tape;
      for (int form = 0; form < 3; ++form) {
        tape.reset();
        const auto va = tape.variable(form == 1 ? at : a), vb = tape.variable(form == 2 ? bt : b);
        const auto c = form == 0 ? pml::ad::matmul(va, vb) : form == 1 ? pml::ad::matmul_tn(va, vb) : pml::ad::matmul_nt(va, vb);
        tape.backward(pml::ad::sum(c * tape.constant(w)));
        const T tol = std::is_same_v<T, float> ? T(1e-3) : T(1e-10);
        CHECK((c.value() - a * b).cwiseAbs().maxCoeff() < tol);
        out.push_back(c.value());
        out.push_back(va.adjoint());
        out.push_back(vb.adjoint());
      }
      return out;
    });
  }
}

// The convolutions work on cache-sized blocks of the im2col matrix in tasks fixed by the shape: the same bits
// at any thread count, and the same numbers as the composition they replace (im2col, one product, reshape,
// bias; for the transposed convolution a product and col2im), values and every input's gradient. The shapes
// make several blocks and tasks (6 400 and 5 120 rows), runs shorter than a pixel's batch (one image), a
// strided, padded and dilated window, and no bias.
TEMPLATE_TEST_CASE("conv2d and conv_transpose2d in blocks: the same for any thread count, equal to im2col and one product", "[parallel][autodiff]",
                   float, double) {
  using T = TestType;
  using pml::ad::ImageShape;
  using pml::ad::Var;
  using pml::ad::Window2d;
  struct Shape {
    Index n, c, h, w, m;
    Window2d window;
    bool bias, transposed;
  };
  const Shape shapes[] = {{64, 6, 14, 14, 16, Window2d::square(5), true, false},
                          {33, 3, 9, 11, 4, Window2d{3, 2, 1, 2, 1, 0, 2, 1}, true, false},
                          {1, 2, 8, 8, 3, Window2d::square(3, 1, 1), false, false},
                          {80, 8, 8, 8, 5, Window2d::square(4, 2, 1), true, true},
                          {1, 3, 5, 6, 2, Window2d::square(3, 2, 0), false, true}};
  pml::Rng rng(11);
  for (const Shape& s : shapes) {
    const Window2d& win = s.window;
    const Index taps = win.kernel_h * win.kernel_w;
    const ImageShape in{s.c, s.h, s.w};
    const ImageShape out = s.transposed ? ImageShape{s.m, (s.h - 1) * win.stride_h - 2 * win.padding_h + win.dilation_h * (win.kernel_h - 1) + 1,
                                                     (s.w - 1) * win.stride_w - 2 * win.padding_w + win.dilation_w * (win.kernel_w - 1) + 1}
                                        : ImageShape{s.m, win.output_height(s.h), win.output_width(s.w)};
    pml::Matrix<T> x(s.n, in.size()), w = s.transposed ? pml::Matrix<T>(s.c, s.m * taps) : pml::Matrix<T>(s.m, s.c * taps), b(1, s.m),
        up(s.n, out.size());
    for (pml::Matrix<T>* a : {&x, &w, &b, &up}) pml::random::fill_normal(rng, *a);
    // form 0: the op; form 1: the composition
    auto run = [&](int form) {
      pml::ad::Tape<T> tape;
      const Var<T> vx = tape.variable(x), vw = tape.variable(w), vb = tape.variable(b);
      Var<T> y;
      if (form == 0) {
        const Var<T> bias = s.bias ? vb : Var<T>{};
        y = s.transposed ? pml::ad::conv_transpose2d(vx, in, vw, bias, win) : pml::ad::conv2d(vx, in, vw, bias, win);
      } else {
        y = s.transposed ? pml::ad::col2im(pml::ad::matmul(pml::ad::reshape(vx, s.n * s.h * s.w, s.c), vw), out, win)
                         : pml::ad::reshape(pml::ad::matmul_nt(pml::ad::im2col(vx, in, win), vw), s.n, out.size());
        if (s.bias) y = pml::ad::add_channel_bias(y, vb);
      }
      tape.backward(pml::ad::sum(y * tape.constant(up)));
      std::vector<pml::Matrix<T>> r{y.value(), vx.adjoint(), vw.adjoint()};
      if (s.bias) r.push_back(vb.adjoint());
      return r;
    };
    INFO("n " << s.n << ", " << s.c << "x" << s.h << "x" << s.w << " -> " << s.m << (s.transposed ? ", transposed" : ""));
    const std::vector<pml::Matrix<T>> want = run(1);
    same_for_any_thread_count<pml::Matrix<T>>([&] {
      const std::vector<pml::Matrix<T>> got = run(0);
      const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
      for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("output " << i << " (value, dx, dW, db)");
        const double scale = std::max(1.0, double(want[i].cwiseAbs().maxCoeff()));
        CHECK(double((got[i] - want[i]).cwiseAbs().maxCoeff()) / scale < tol);
      }
      return got;
    });
  }
}

// ---- bounded memory (issue 17 §3) ---------------------------------------------------------------------
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PML_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PML_TEST_SANITIZED 1
#endif
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PML_TEST_SANITIZED  // (the measurement is skipped under a sanitizer)
namespace {
// How many bytes the process's peak resident set grows by during a fit of x (the data are the baseline).
// Meaningful only in a process that has not peaked higher before: these cases are hidden ("[.memory]") and
// ctest runs each in a process of its own (tests/CMakeLists.txt).
long fit_peak_growth(pml::Covariance covariance, Index n, Index d, Index k) {
  const Eigen::MatrixXd x = clustered<double>(n, d, k, 9);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  pml::GaussianMixture<double> gm({.components = k, .covariance = covariance, .max_iterations = 3});
  gm.fit(x, 1);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  return (after.ru_maxrss - before.ru_maxrss) * 1024L;
}
}  // namespace
#endif

// The case: N = 1 000 000, D = 32 (244 MiB), K = 16, the default k-means initialisation; the bound is
// the data plus 10%. An N x K matrix would add 50% of the data, a centred copy 100%, each N-vector 3%.
namespace {
void check_fit_memory(pml::Covariance covariance) {
#ifdef PML_TEST_SANITIZED
  (void)covariance;
  WARN("resident memory is not meaningful under a sanitizer: not checked");
#else
  const double data = 1e6 * 32 * sizeof(double);
  const long grown = fit_peak_growth(covariance, 1000000, 32, 16);
  INFO("the fit grew the resident set by " << grown / 1048576.0 << " MiB, " << 100.0 * double(grown) / data << "% of the data");
  CHECK(double(grown) < 0.1 * data);
#endif
}
}  // namespace
TEST_CASE("a full-covariance GaussianMixture fit adds little memory next to the data", "[.memory][gmm]") {
  check_fit_memory(pml::Covariance::full);
}
TEST_CASE("a diagonal GaussianMixture fit adds little memory next to the data", "[.memory][gmm]") {
  check_fit_memory(pml::Covariance::diagonal);
}

TEST_CASE("a process forked after pml started threads runs on one thread and does not hang", "[parallel]") {
  ThreadSetting restore;
  pml::set_num_threads(2);
  const pml::Matrix<double> x = clustered<double>(20000, 4, 3, 10);
  pml::KMeans<double>({.clusters = 3}).fit(x, 1);  // the parent starts its threads
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(20);  // a hang ends the child with SIGALRM
    pml::KMeans<double> km({.clusters = 3});
    km.fit(x, 1);
    _exit(pml::get_num_threads() == 1 || !pml::openmp_enabled() ? 0 : 3);
  }
  REQUIRE(pid > 0);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
