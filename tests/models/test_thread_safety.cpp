// Issue 14, section 1: every query method of every model is const and may be called from many threads
// at once on one fitted model. Each case fits a small model, then 4 threads query the *same const*
// model at the same time (each thread with its own Rng, seeded like the reference run) and every
// thread's answer must equal the single-threaded answer exactly. Built with -fsanitize=thread where
// the compiler has it (tests/CMakeLists.txt), so a data race fails the test even when the numbers
// happen to come out right.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <type_traits>
#include <thread>
#include <vector>

#include "pml/autodiff/scratch.hpp"
#include "pml/models/cluster.hpp"
#include "pml/models/deep.hpp"
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"
#include "pml/models/sequence/hidden_markov_model.hpp"
#if __has_include(<LBFGSB.h>)  // the Gaussian processes' optimiser (Debian liblbfgspp-dev)
#include "pml/models/gaussian_process.hpp"
#define PML_TEST_HAVE_GP 1
#endif

namespace {
using pml::Index;
using pml::Matrix;
using pml::Rng;

constexpr int threads = 4;
constexpr int rounds = 3;

Matrix<double> blobs(Index n, Index d, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<double> x(n, d);
  pml::random::fill_normal(rng, x);
  for (Index i = 0; i < n; ++i) x.row(i).array() += 4.0 * double(i % 3);
  return x;
}

// Runs `query(rng)` once on this thread for the reference, then `threads` threads x `rounds` times at
// once (all released together), each from Rng(seed); every result must equal the reference.
template <class F> void check_concurrent(const char* what, F query) {
  INFO(what);
  using Result = std::decay_t<decltype(query(Rng(7)))>;
  const Result reference = query(Rng(7));
  std::vector<Result> results(threads * rounds);
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      for (int r = 0; r < rounds; ++r) results[std::size_t(t * rounds + r)] = query(Rng(7));
    });
  for (auto& th : pool) th.join();
  for (const auto& r : results) CHECK(r == reference);
}

// A query's outputs flattened into one vector, so check_concurrent can compare them with ==.
template <class... M> std::vector<double> flat(const M&... parts) {
  std::vector<double> out;
  const auto add = [&](const auto& m) {
    const Matrix<double> d = m.template cast<double>();
    out.insert(out.end(), d.data(), d.data() + d.size());
  };
  (add(parts), ...);
  return out;
}
}  // namespace

// double only: a model's query code is the same for float (its per-thread scratch and caches are the same
// templates), and every float instantiation under ThreadSanitizer cost minutes of CI compile
TEMPLATE_TEST_CASE("classical models answer queries from 4 threads at once", "[thread_safety]", double) {
  using T = TestType;
  const Matrix<T> x = blobs(120, 3, 1).cast<T>();
  const Matrix<T> q = blobs(30, 3, 2).cast<T>();
  Rng rng(3);
  pml::GaussianMixture<T> gm_fit({.components = 3});
  gm_fit.fit(x, rng);
  const auto& gm = gm_fit;
  check_concurrent("GaussianMixture", [&](Rng r) {
    const auto drawn = gm.sample(r, 20);
    return flat(gm.predict_proba(q), gm.score_samples(q), gm.predict(q).template cast<T>(), drawn.first);
  });
  pml::VariationalGaussianMixture<T> vgm_fit({.components = 4});
  vgm_fit.fit(x, rng);
  const auto& vgm = vgm_fit;
  check_concurrent("VariationalGaussianMixture", [&](Rng) { return flat(vgm.predict_proba(q), vgm.predict(q).template cast<T>()); });
  pml::KMeans<T> km_fit({.clusters = 3});
  km_fit.fit(x, rng);
  const auto& km = km_fit;
  check_concurrent("KMeans", [&](Rng) {
    return flat(km.transform(q), km.predict(q).template cast<T>(), Matrix<T>::Constant(1, 1, km.score(q)));
  });
  pml::PCA<T> pca_fit({.components = 2, .whiten = true});
  pca_fit.fit(x);
  const auto& pca = pca_fit;
  check_concurrent("PCA", [&](Rng) { return flat(pca.transform(q), pca.inverse_transform(pca.transform(q)), pca.score_samples(q)); });
  pml::ProbabilisticPCA<T> ppca_fit({.components = 2});
  ppca_fit.fit(x, rng);
  const auto& ppca = ppca_fit;
  check_concurrent("ProbabilisticPCA", [&](Rng r) { return flat(ppca.transform(q), ppca.score_samples(q), ppca.sample(r, 10)); });
  pml::BayesianLinearRegression<T> blr_fit;
  blr_fit.fit(x, x.col(0) * T(2) + x.col(1));
  const auto& blr = blr_fit;
  check_concurrent("BayesianLinearRegression", [&](Rng) {
    const auto p = blr.predict(q);
    return flat(p.mean, p.variance);
  });
  pml::IntVector labels(x.rows());
  for (Index i = 0; i < x.rows(); ++i) labels(i) = x(i, 0) > T(4) ? 1 : 0;
  pml::BayesianLogisticRegression<T> logit_fit;
  logit_fit.fit(x, labels);
  const auto& logit = logit_fit;
  check_concurrent("BayesianLogisticRegression", [&](Rng) { return flat(logit.predict_proba(q), logit.predict(q).template cast<T>()); });
  // the hidden Markov model with Gaussian-mixture emissions (every emission path: components, log-sum-exp)
  pml::HiddenMarkovModel<T> hmm_fit({.states = 2, .emission = pml::HMMEmission::gaussian_mixture_full, .mixture_components = 2, .max_iterations = 10});
  hmm_fit.fit(x, {60, 60}, rng);
  const auto& hmm = hmm_fit;
  check_concurrent("HiddenMarkovModel", [&](Rng r) {
    const auto drawn = hmm.sample(r, 20);
    return flat(hmm.predict_proba(q), hmm.predict(q).template cast<T>(), hmm.log_likelihoods(q, {10, 20}), drawn.first);
  });
#ifdef PML_TEST_HAVE_GP
  // Gaussian processes: the exact regressor, the Laplace classifier and the sparse regressor (kernels held)
  const Matrix<T> xs = x.topRows(40);
  pml::GaussianProcessRegressor<T> gpr_fit(pml::Kernel<T>::rbf(T(2)), {.alpha = T(1e-2), .optimize = false});
  gpr_fit.fit(xs, xs.col(0));
  const auto& gpr = gpr_fit;
  check_concurrent("GaussianProcessRegressor", [&](Rng r) {
    const auto p = gpr.predict(q);
    return flat(p.mean, p.variance, gpr.predict_covariance(q.topRows(5)), gpr.sample_y(r, q.topRows(5), 2));
  });
  pml::GaussianProcessClassifier<T> gpc_fit(pml::Kernel<T>::rbf(T(2)), {.optimize = false});
  gpc_fit.fit(xs, (xs.col(0).array() > T(4)).template cast<long>().matrix());
  const auto& gpc = gpc_fit;
  check_concurrent("GaussianProcessClassifier", [&](Rng) { return flat(gpc.predict_proba(q)); });
  pml::SparseGaussianProcessRegressor<T> sgp_fit(pml::Kernel<T>::rbf(T(2)), {.inducing_points = 8, .optimize = false});
  sgp_fit.fit(x, x.col(1), rng);
  const auto& sgp = sgp_fit;
  check_concurrent("SparseGaussianProcessRegressor", [&](Rng) {
    const auto p = sgp.predict(q);
    return flat(p.mean, p.variance);
  });
#endif
}

TEMPLATE_TEST_CASE("deep models answer queries from 4 threads at once", "[thread_safety]", double) {
  using T = TestType;
  const Matrix<T> x = blobs(64, 4, 4).cast<T>();
  const Matrix<T> q = blobs(16, 4, 5).cast<T>();
  const Matrix<T> y = x.col(0) - x.col(2);
  const pml::FitOptions fit{.epochs = 2, .batch_size = 16, .learning_rate = 1e-2};
  Rng rng(6);

  pml::AutoEncoder<T> ae_fit({.input = 4, .hidden = {8}, .code = 2}, rng);
  ae_fit.fit(x, fit, rng);
  const auto& ae = ae_fit;
  check_concurrent("AutoEncoder", [&](Rng) { return flat(ae.encode(q), ae.reconstruct(q), ae.reconstruction_error(q)); });

  pml::VAE<T> vae_fit({.input = 4, .hidden = {8}, .latent = 2, .likelihood = pml::VAELikelihood::gaussian}, rng);
  vae_fit.fit(x, fit, rng);
  const auto& vae = vae_fit;
  check_concurrent("VAE", [&](Rng r) {
    const auto z = vae.encode(q);
    const auto elbo = vae.elbo(q, r);
    const auto ll = vae.score_samples(q, 3, r);
    return flat(z.mean, z.log_variance, vae.decode(z.mean), vae.sample(r, 5), elbo, ll, vae.kl_divergence(q));
  });

  pml::MCDropoutRegressor<T> mc_fit({.input = 4, .hidden = {8}, .dropout = 0.2}, rng);
  mc_fit.fit(x, y, fit, rng);
  const auto& mc = mc_fit;
  check_concurrent("MCDropoutRegressor", [&](Rng r) {
    const auto p = mc.predict(q, 5, r);
    const auto d = mc.predict(q);
    return flat(p.mean, p.variance, p.epistemic, d.mean, mc.score_samples(q, q.col(0), 3, r));
  });

  pml::BayesByBackprop<T> bbb_fit({.input = 4, .hidden = {8}, .output = 1}, rng);
  bbb_fit.fit(x, y, fit, rng);
  const auto& bbb = bbb_fit;
  check_concurrent("BayesByBackprop", [&](Rng r) {
    const auto p = bbb.predict(q, 4, r);
    return flat(p.mean, p.variance, bbb.predict_mean(q), bbb.predict_mean(q, 0.5));
  });

  // the image classifiers on 1 x 6 x 6 images (one convolution block)
  Matrix<T> images(32, 36);
  pml::random::fill_uniform(rng, images);
  pml::IntVector labels(32);
  for (Index i = 0; i < 32; ++i) labels(i) = i % 2;
  const Matrix<T> queries = images.topRows(8);
  pml::MCDropoutClassifier<T> cnn_fit({.height = 6, .width = 6, .classes = 2, .filters = {2}, .kernel = 3, .hidden = {4}}, rng);
  cnn_fit.fit(images, labels, fit, rng);
  const auto& cnn = cnn_fit;
  check_concurrent("MCDropoutClassifier", [&](Rng r) {
    const auto passes = cnn.sample_logits(queries, 3, r);
    return flat(passes[0], passes[2], cnn.predict_proba(queries), cnn.predict_proba(queries, 2, r));
  });
  pml::BayesianCNNOptions bo;
  bo.height = bo.width = 6;
  bo.classes = 2;
  bo.filters = {2};
  bo.kernel = 3;
  bo.hidden = {4};
  pml::BayesianCNN<T> bcnn_fit(bo, rng);
  bcnn_fit.fit(images, labels, fit, rng);
  const auto& bcnn = bcnn_fit;
  check_concurrent("BayesianCNN", [&](Rng r) {
    const auto passes = bcnn.sample_proba(queries, 3, r);
    return flat(passes[0], passes[2], bcnn.predict_mean(queries), bcnn.predict_mean(queries, 0.5));
  });

  // the forecasters on a short series, both methods
  for (const auto method : {pml::ForecastMethod::bayes_by_backprop, pml::ForecastMethod::mc_dropout}) {
    pml::LSTMForecasterOptions fo;
    fo.window = 6;
    fo.hidden = 4;
    fo.method = method;
    pml::LSTMForecaster<T> fc_fit(fo, rng);
    const pml::Vector<T> series = x.col(0);
    fc_fit.fit(series, fit, rng);
    const auto& fc = fc_fit;
    check_concurrent(method == pml::ForecastMethod::mc_dropout ? "LSTMForecaster (MC dropout)" : "LSTMForecaster", [&](Rng r) {
      const auto b = fc.forecast(series, 4, 5, r);
      return flat(b.mean, b.lower, b.upper);
    });
  }

  pml::BayesianSegNet<T> seg_fit({.height = 4, .width = 4, .classes = 2, .features = {2}}, rng);
  Matrix<T> seg_images(8, 16), seg_masks(8, 16);
  pml::random::fill_uniform(rng, seg_images);
  seg_masks = (seg_images.array() > T(0.5)).template cast<T>();
  seg_fit.fit(seg_images, seg_masks, {.epochs = 1, .batch_size = 4}, rng);
  const auto& seg = seg_fit;
  check_concurrent("BayesianSegNet", [&](Rng r) {
    const auto p = seg.predict(seg_images.topRows(3), 3, r);
    return flat(p.proba, p.entropy, seg.predict_proba(seg_images.topRows(2)));
  });

  pml::DCGANOptions dco;
  dco.noise = 3;
  dco.height = dco.width = 8;
  dco.generator_features = dco.discriminator_features = 2;
  pml::DCGAN<T> dcgan_fit(dco, rng);
  Matrix<T> small_images(16, 64);
  pml::random::fill_uniform(rng, small_images);
  dcgan_fit.fit(small_images, {.epochs = 1, .batch_size = 8}, rng);
  const auto& dcgan = dcgan_fit;
  check_concurrent("DCGAN", [&](Rng r) { return flat(dcgan.sample(r, 5), dcgan.discriminate(small_images.topRows(4))); });
  pml::InfoGANOptions ino;
  ino.noise = 2;
  ino.categorical = {3};
  ino.continuous = 1;
  ino.recognition_hidden = 3;
  ino.height = ino.width = 8;
  ino.generator_features = ino.discriminator_features = 2;
  pml::InfoGAN<T> infogan_fit(ino, rng);
  infogan_fit.fit(small_images, {.epochs = 1, .batch_size = 8}, rng);
  const auto& infogan = infogan_fit;
  check_concurrent("InfoGAN", [&](Rng r) {
    return flat(infogan.sample(r, 5), infogan.predict_codes(small_images.topRows(4)), infogan.mutual_information(r, 7));
  });

  pml::GAN<T> gan_fit({.noise = 2, .output = 4, .generator_hidden = {8}, .discriminator_hidden = {8}}, rng);
  gan_fit.fit(x, {.steps = 4, .batch_size = 16}, rng, 2);
  const auto& gan = gan_fit;
  check_concurrent("GAN", [&](Rng r) { return flat(gan.sample(r, 6), gan.discriminate(q)); });
}

TEST_CASE("a const model can be saved (no const_cast) while other threads query it", "[thread_safety]") {
  const Matrix<double> x = blobs(64, 4, 8);
  Rng rng(9);
  pml::VAE<double> vae_fit({.input = 4, .hidden = {8}, .latent = 2, .likelihood = pml::VAELikelihood::gaussian}, rng);
  vae_fit.fit(x, {.epochs = 1, .batch_size = 16}, rng);
  const pml::VAE<double>& vae = vae_fit;
  const auto path = std::filesystem::temp_directory_path() / "pml_thread_safety_vae.pml";
  std::thread saver([&] { vae.save(path); });
  check_concurrent("VAE encode during save", [&](Rng) { return flat(vae.encode(x).mean); });
  saver.join();
  const auto loaded = pml::VAE<double>::load(path);
  CHECK(loaded.encode(x).mean == vae.encode(x).mean);
  std::filesystem::remove(path);
}

TEST_CASE("ad::ScratchTape: one tape per thread, reused, re-entrant, large arenas released", "[thread_safety][autodiff]") {
  using pml::ad::ScratchTape;
  using pml::ad::Tape;
  const Tape<float>* first = nullptr;
  {
    ScratchTape<float> a;
    first = &*a;
    (*a).constant(Matrix<float>::Ones(4, 4));
    CHECK((*a).size() == 1);
    ScratchTape<float> nested;  // a query inside a query: a tape of its own, empty
    CHECK(&*nested != first);
    CHECK((*nested).size() == 0);
  }
  {
    ScratchTape<float> again;  // the same thread's tape, reset
    CHECK(&*again == first);
    CHECK((*again).size() == 0);
  }
  {
    ScratchTape<double> other_type;  // one per scalar type
    CHECK(static_cast<const void*>(&*other_type) != static_cast<const void*>(first));
  }
  const Tape<float>* elsewhere = nullptr;
  std::thread([&] {
    ScratchTape<float> t;
    elsewhere = &*t;
  }).join();
  CHECK(elsewhere != first);
  {
    ScratchTape<float> big;
    (*big).constant(Matrix<float>::Zero(Index(ScratchTape<float>::max_kept_scalars / 1024 + 1), 1024));
    CHECK((*big).capacity() > ScratchTape<float>::max_kept_scalars);
  }
  ScratchTape<float> after;
  CHECK((*after).capacity() <= ScratchTape<float>::max_kept_scalars);
}
