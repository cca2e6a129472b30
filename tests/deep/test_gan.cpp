// GAN: gradients of both players' losses (both generator losses), the loss values against D and G,
// learning a 1-D Gaussian, save/load, errors. The 8-Gaussian ring is measured by examples/gan_ring.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "pml/models/deep/gan.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;

TEST_CASE("GAN loss gradients match finite differences", "[deep][gan][gradcheck]") {
  for (const auto kind : {pml::GANLoss::minimax, pml::GANLoss::non_saturating}) {
    pml::Rng rng(1);
    pml::GAN<double> gan({.noise = 2, .output = 3, .generator_hidden = {4}, .discriminator_hidden = {5}, .generator_activation = pml::ad::Activation::tanh,
                          .discriminator_activation = pml::ad::Activation::tanh, .generator_loss = kind},
                         rng);
    Eigen::MatrixXd x(4, 3), fake(3, 3), z(5, 2);
    pml::random::fill_normal(rng, x);
    pml::random::fill_normal(rng, fake);
    pml::random::fill_normal(rng, z);
    pml::ad::Tape<double> tape;
    auto d_loss = [&] {
      tape.reset();
      return gan.discriminator_loss(tape, tape.constant(x), tape.constant(fake));
    };
    auto g_loss = [&] {
      tape.reset();
      return gan.generator_loss(tape, tape.constant(z));
    };
    CHECK(pml::nn::parameter_gradcheck(gan.discriminator().parameters(), tape, d_loss) < 1e-6);
    CHECK(pml::nn::parameter_gradcheck(gan.parameters(), tape, g_loss) < 1e-6);
    // the values: -[sum log D(x) + sum log(1 - D(fake))], and log(1 - D(G(z))) or -log D(G(z))
    const Eigen::VectorXd dx = gan.discriminate(x), df = gan.discriminate(fake), dg = gan.discriminate(gan.generate(z));
    CHECK(d_loss().value()(0, 0) == Approx(-(dx.array().log().sum() + (1 - df.array()).log().sum())));
    const double expected = kind == pml::GANLoss::minimax ? (1 - dg.array()).log().sum() : -dg.array().log().sum();
    CHECK(g_loss().value()(0, 0) == Approx(expected));
  }
}

TEST_CASE("GAN learns a 1-D Gaussian", "[deep][gan]") {
  pml::Rng rng(2);
  Eigen::MatrixXd x(2000, 1);
  pml::random::fill_normal(rng, x, 3.0, 0.5);
  pml::GAN<double> gan({.noise = 1, .output = 1, .generator_hidden = {16}, .discriminator_hidden = {16}}, rng);
  gan.fit(x, {.steps = 1500, .batch_size = 64, .generator_learning_rate = 2e-3, .discriminator_learning_rate = 2e-3}, rng, 500);
  const auto& history = gan.loss_history();
  REQUIRE(history.generator_loss.size() == 3);
  REQUIRE(history.discriminator_loss.size() == 3);
  const Eigen::MatrixXd s = gan.sample(rng, 5000);
  const double mean = s.mean(), sd = std::sqrt((s.array() - mean).square().mean());
  INFO("generated mean " << mean << ", sd " << sd << " (data 3, 0.5)");
  CHECK(mean == Approx(3.0).margin(0.25));
  CHECK(sd == Approx(0.5).margin(0.25));
  // at equilibrium the discriminator cannot tell: D(x) near 1/2 on the data
  CHECK(gan.discriminate(x).mean() == Approx(0.5).margin(0.15));
  // save/load: the same noise gives bit-identical samples
  const auto file = std::filesystem::temp_directory_path() / "pml_gan_test.pml";
  gan.save(file);
  auto twin = pml::GAN<double>::load(file);
  std::filesystem::remove(file);
  pml::Rng r1(4), r2(4);
  const Eigen::MatrixXd a = gan.sample(r1, 100), b = twin.sample(r2, 100);
  CHECK(std::memcmp(a.data(), b.data(), sizeof(double) * std::size_t(a.size())) == 0);
}

TEST_CASE("GAN rejects bad input", "[deep][gan][errors]") {
  pml::Rng rng(5);
  CHECK_THROWS_WITH(pml::GAN<float>({.noise = 0}, rng), Contains("noise"));
  CHECK_THROWS_WITH(pml::GAN<float>({.generator_hidden = {0}}, rng), Contains("hidden"));
  pml::GAN<float> gan({.generator_hidden = {4}, .discriminator_hidden = {4}}, rng);
  Eigen::MatrixXf x = Eigen::MatrixXf::Zero(10, 2);
  CHECK_THROWS_WITH(gan.fit(Eigen::MatrixXf::Zero(10, 3), {}, rng), Contains("GAN::fit") && Contains("3 columns, expected 2"));
  CHECK_THROWS_WITH(gan.fit(Eigen::MatrixXf(0, 2), {}, rng), Contains("no rows"));
  CHECK_THROWS_WITH(gan.fit(x, {.steps = 0}, rng), Contains("steps"));
  CHECK_THROWS_WITH(gan.fit(x, {.discriminator_steps = 0}, rng), Contains("discriminator_steps"));
  CHECK_THROWS_WITH(gan.fit(x, {.beta1 = 1.0}, rng), Contains("beta1"));
  CHECK_THROWS_WITH(gan.fit(x, {.generator_learning_rate = -1}, rng), Contains("generator_learning_rate"));
  Eigen::MatrixXf nan = x;
  nan(3, 1) = std::nanf("");
  const auto before = gan.parameters()[0]->value;
  CHECK_THROWS_WITH(gan.fit(nan, {}, rng), Contains("x"));
  CHECK(gan.parameters()[0]->value == before);
  CHECK_THROWS_WITH(gan.sample(rng, 0), Contains("n must be positive"));
  CHECK_THROWS_WITH(gan.generate(Eigen::MatrixXf::Zero(2, 3)), Contains("z has 3 columns"));
  CHECK_THROWS_WITH(gan.discriminate(Eigen::MatrixXf::Zero(2, 1)), Contains("x has 1 columns"));
}
