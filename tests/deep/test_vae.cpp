// VAE: gradients of the training objective against finite differences (both estimators, both decoders),
// ELBO <= importance-weighted bound, estimator A agrees with B in expectation, training raises the ELBO,
// save/load predicts bit-identically, bad input throws.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "pml/models/deep/vae.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;

namespace {
// Binary data: 4 prototypes of 12 bits, each bit flipped with probability 0.05.
Eigen::MatrixXd binary_data(pml::Rng& rng, Eigen::Index n) {
  Eigen::MatrixXd protos(4, 12);
  for (int p = 0; p < 4; ++p)
    for (int j = 0; j < 12; ++j) protos(p, j) = ((j / 3) == p || (j % 4) == p) ? 1.0 : 0.0;
  Eigen::MatrixXd x(n, 12);
  for (Eigen::Index i = 0; i < n; ++i)
    for (int j = 0; j < 12; ++j) {
      const double bit = protos(i % 4, j);
      x(i, j) = pml::random::uniform<double>(rng) < 0.05 ? 1 - bit : bit;
    }
  return x;
}
}  // namespace

TEST_CASE("VAE objective gradients match finite differences", "[deep][vae][gradcheck]") {
  for (const auto likelihood : {pml::VAELikelihood::bernoulli, pml::VAELikelihood::gaussian})
    for (const auto estimator : {pml::VAEEstimator::analytic, pml::VAEEstimator::sampled}) {
      pml::Rng rng(1);
      pml::VAE<double> vae({.input = 5, .hidden = {4}, .latent = 2, .activation = pml::ad::Activation::tanh,
                            .likelihood = likelihood, .estimator = estimator, .samples = 2},
                           rng);
      Eigen::MatrixXd x(3, 5);
      pml::random::fill_uniform(rng, x);
      pml::ad::Tape<double> tape;
      auto loss = [&] {
        pml::Rng fixed(99);  // the same noise for every evaluation
        tape.reset();
        return vae.negative_elbo(tape, tape.constant(x), fixed);
      };
      const double worst = pml::nn::parameter_gradcheck(vae.parameters(), tape, loss);
      INFO("likelihood " << int(likelihood) << ", estimator " << int(estimator));
      CHECK(worst < 1e-6);
    }
}

TEST_CASE("VAE training raises the ELBO; ELBO <= importance-weighted bound <= 0", "[deep][vae]") {
  pml::Rng rng(2);
  const Eigen::MatrixXd x = binary_data(rng, 400);
  pml::VAE<double> vae({.input = 12, .hidden = {16}, .latent = 2}, rng);
  const double before = vae.elbo(x, rng).mean();
  vae.fit(x, {.epochs = 30, .batch_size = 32, .learning_rate = 1e-2}, rng);
  const auto& history = vae.elbo_history();
  REQUIRE(history.size() == 30);
  const double after = vae.elbo(x, rng).mean();
  CHECK(after > before + 2.0);
  CHECK(history.back() > history.front());
  const double iw1 = vae.score(x, 1, rng), iw200 = vae.score(x, 200, rng);
  CHECK(iw1 == Approx(after).margin(0.15));  // k = 1 is the ELBO (estimator A) in expectation
  CHECK(after <= iw200);
  CHECK(iw200 <= 0);
  // estimator A (sampled KL) agrees with estimator B in expectation
  pml::VAEOptions a = vae.options();
  a.estimator = pml::VAEEstimator::sampled;
  pml::Rng r2(5);
  pml::VAE<double> twin(a, r2);
  std::filesystem::path file = std::filesystem::temp_directory_path() / "pml_vae_test.pml";
  vae.save(file);
  pml::nn::load_parameters(file, twin.parameters(), "VAE");  // the same weights, the other estimator
  auto loaded = pml::VAE<double>::load(file);
  CHECK(loaded.options().estimator == pml::VAEEstimator::analytic);
  CHECK(loaded.options().hidden == std::vector<Eigen::Index>{16});
  Eigen::MatrixXd many = x.replicate(20, 1);
  CHECK(twin.elbo(many, rng).mean() == Approx(vae.elbo(many, rng).mean()).margin(0.05));
  // a reloaded model predicts bit-identically
  const Eigen::MatrixXd r1 = vae.reconstruct(x), rr = loaded.reconstruct(x);
  CHECK(std::memcmp(r1.data(), rr.data(), sizeof(double) * std::size_t(r1.size())) == 0);
  std::filesystem::remove(file);
  // reconstructions are probabilities; samples have the data's width; KL scores are non-negative
  CHECK(r1.minCoeff() >= 0);
  CHECK(r1.maxCoeff() <= 1);
  CHECK(vae.sample(rng, 7).cols() == 12);
  CHECK(vae.kl_divergence(x).minCoeff() >= 0);
  CHECK(vae.encode(x).mean.cols() == 2);
}

TEST_CASE("VAE data-parallel fit on one process: trains, same seed same bits, a minibatch above N, a progress callback's exception",
          "[deep][vae][ranks]") {
  pml::Rng data(4);
  const Eigen::MatrixXd x = binary_data(data, 200);
  const auto& one = pml::Collective::single();
  pml::Rng init(5), init2(5);
  pml::VAE<double> vae({.input = 12, .hidden = {16}, .latent = 2}, init), again({.input = 12, .hidden = {16}, .latent = 2}, init2);
  pml::Rng rng(6), rng2(6), scoring(7);
  const double before = vae.elbo(x, scoring).mean();
  vae.fit(one, x, {.epochs = 20, .batch_size = 32, .learning_rate = 1e-2}, rng);
  again.fit(one, x, {.epochs = 20, .batch_size = 32, .learning_rate = 1e-2}, rng2);
  REQUIRE(vae.elbo_history().size() == 20);
  CHECK(vae.elbo(x, scoring).mean() > before + 2.0);
  CHECK(vae.elbo_history() == again.elbo_history());
  CHECK(vae.decode(Eigen::MatrixXd::Zero(1, 2)) == again.decode(Eigen::MatrixXd::Zero(1, 2)));
  CHECK_NOTHROW(vae.fit(one, x, {.epochs = 1, .batch_size = 1000}, rng));
  pml::FitOptions cancel{.epochs = 2, .batch_size = 16};
  cancel.progress = [](const pml::TrainingProgress& at) {
    if (at.batch == 2) throw std::runtime_error("cancelled");
  };
  CHECK_THROWS_WITH(vae.fit(one, x, cancel, rng), Contains("cancelled"));
  CHECK_THROWS_WITH(vae.fit(one, Eigen::MatrixXd(0, 12), {.epochs = 1}, rng), Contains("no rows"));
}

TEST_CASE("VAE rejects bad input and options", "[deep][vae]") {
  pml::Rng rng(3);
  pml::VAE<float> vae({.input = 6, .hidden = {5}, .latent = 2}, rng);
  CHECK_THROWS_WITH(vae.encode(Eigen::MatrixXf::Zero(2, 5)), Contains("VAE::encode: x has 5 columns, expected 6"));
  CHECK_THROWS_WITH(vae.elbo(Eigen::MatrixXf::Zero(0, 6), rng), Contains("VAE::elbo: x has no rows"));
  Eigen::MatrixXf bad = Eigen::MatrixXf::Zero(2, 6);
  bad(0, 0) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(vae.fit(bad, {}, rng), Contains("VAE::fit: x must have finite entries"));
  CHECK_THROWS_WITH(vae.decode(Eigen::MatrixXf::Zero(1, 3)), Contains("VAE::decode: z has 3 columns, expected 2"));
  CHECK_THROWS_WITH(vae.score_samples(Eigen::MatrixXf::Zero(1, 6), 0, rng), Contains("k must be at least 1"));
  CHECK_THROWS_WITH(pml::VAE<float>({.input = 0}, rng), Contains("VAE: input must be positive, got 0"));
  CHECK_THROWS_WITH(pml::VAE<float>({.input = 3, .samples = 0}, rng), Contains("samples must be at least 1"));
}
