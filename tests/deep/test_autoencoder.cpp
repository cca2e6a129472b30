// AutoEncoder: loss gradients, learning a low-dimensional structure (beats PCA-free baseline), BCE
// reconstructions in [0, 1], save/load, errors.
#include <catch2/catch.hpp>

#include <filesystem>

#include "pml/models/deep/autoencoder.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;

TEST_CASE("AutoEncoder loss gradients match finite differences", "[deep][autoencoder][gradcheck]") {
  for (const auto kind : {pml::ReconstructionLoss::mse, pml::ReconstructionLoss::bce}) {
    pml::Rng rng(1);
    pml::AutoEncoder<double> ae({.input = 5, .hidden = {4}, .code = 2, .activation = pml::ad::Activation::tanh, .loss = kind}, rng);
    Eigen::MatrixXd x(4, 5);
    pml::random::fill_uniform(rng, x);
    pml::ad::Tape<double> tape;
    auto loss = [&] {
      tape.reset();
      return ae.loss(tape, tape.constant(x));
    };
    CHECK(pml::nn::parameter_gradcheck(ae.parameters(), tape, loss) < 1e-6);
  }
}

TEST_CASE("AutoEncoder learns data on a 2-D curved manifold in 6-D", "[deep][autoencoder]") {
  pml::Rng rng(2);
  const Eigen::Index n = 500;
  Eigen::MatrixXd x(n, 6);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double a = 2 * pml::random::uniform<double>(rng) - 1, b = 2 * pml::random::uniform<double>(rng) - 1;
    x.row(i) << a, b, a * b, std::sin(2 * a), std::cos(2 * b), a - b;
  }
  pml::AutoEncoder<double> ae({.input = 6, .hidden = {32}, .code = 2, .activation = pml::ad::Activation::tanh}, rng);
  const double before = ae.reconstruction_error(x).mean();
  ae.fit(x, {.epochs = 200, .batch_size = 50, .learning_rate = 5e-3}, rng);
  const auto& history = ae.loss_history();
  const double after = ae.reconstruction_error(x).mean();
  INFO("mean squared error per row: " << before << " -> " << after);
  CHECK(after < 0.05 * before);
  CHECK(history.back() == Approx(after).epsilon(0.5));
  CHECK(ae.encode(x).cols() == 2);
  // save/load predicts bit-identically
  const auto file = std::filesystem::temp_directory_path() / "pml_ae_test.pml";
  ae.save(file, pml::nn::FileFormat::json);
  auto twin = pml::AutoEncoder<double>::load(file);
  std::filesystem::remove(file);
  CHECK(twin.reconstruct(x) == ae.reconstruct(x));
}

TEST_CASE("AutoEncoder with BCE on binary data, in float", "[deep][autoencoder]") {
  pml::Rng rng(3);
  Eigen::MatrixXf x(200, 8);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < 8; ++j) x(i, j) = float((i % 4) == (j % 4));
  pml::AutoEncoder<float> ae({.input = 8, .hidden = {16}, .code = 2, .loss = pml::ReconstructionLoss::bce}, rng);
  ae.fit(x, {.epochs = 100, .batch_size = 20, .learning_rate = 1e-2}, rng);
  const Eigen::MatrixXf r = ae.reconstruct(x);
  CHECK(r.minCoeff() >= 0);
  CHECK(r.maxCoeff() <= 1);
  CHECK((r.array().round() == x.array()).all());
}

TEST_CASE("AutoEncoder rejects bad input", "[deep][autoencoder][errors]") {
  pml::Rng rng(4);
  CHECK_THROWS_WITH(pml::AutoEncoder<double>({.input = 3, .code = 0}, rng), Contains("code"));
  pml::AutoEncoder<double> ae({.input = 3, .hidden = {4}, .code = 2, .loss = pml::ReconstructionLoss::bce}, rng);
  CHECK_THROWS_WITH(ae.fit(Eigen::MatrixXd::Zero(5, 4), {}, rng), Contains("AutoEncoder::fit") && Contains("4 columns, expected 3"));
  CHECK_THROWS_WITH(ae.fit(Eigen::MatrixXd::Constant(5, 3, 2.0), {}, rng), Contains("[0, 1]"));
  CHECK_THROWS_WITH(ae.fit(Eigen::MatrixXd(0, 3), {}, rng), Contains("no rows"));
  // a float model given doubles beyond float's range: the entry named, the model untouched
  pml::AutoEncoder<float> small({.input = 3, .hidden = {4}, .code = 2}, rng);
  const auto before = small.parameters()[0]->value;
  Eigen::MatrixXd far = Eigen::MatrixXd::Zero(4, 3);
  far(2, 1) = 3e39;
  CHECK_THROWS_WITH(small.fit(far, {}, rng), Contains("AutoEncoder::fit: x must have entries representable in the model's float") &&
                                                Contains("(2, 1)") && Contains("e+39"));
  CHECK(small.parameters()[0]->value == before);
  CHECK_THROWS_WITH(ae.decode(Eigen::MatrixXd::Zero(2, 3)), Contains("z has 3 columns"));
  Eigen::MatrixXd nan = Eigen::MatrixXd::Zero(2, 3);
  nan(1, 2) = std::nan("");
  CHECK_THROWS_WITH(ae.encode(nan), Contains("x"));
}
