// InfoGAN (Chen et al. 2016): the gradients of both players' losses with the information term (mlp and
// dcgan bodies, categorical and continuous codes), the information loss against its formula and the
// mutual-information bound against a hand computation, the generator's input layout, learning a mixture
// of four clusters with a 4-way code (Q's reading of real points matches the clusters), save/load bit for
// bit, errors. Fashion-MNIST is measured by examples/infogan_fashion_mnist.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <numbers>

#include "pml/metrics/clustering.hpp"
#include "pml/models/deep/infogan.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;
using pml::Index;

namespace {
pml::InfoGANOptions tiny_mlp() {
  pml::InfoGANOptions o;
  o.body = pml::InfoGANBody::mlp;
  o.noise = 2;
  o.categorical = {3, 2};
  o.continuous = 2;
  o.recognition_hidden = 5;
  o.output = 3;
  o.generator_hidden = {4};
  o.discriminator_hidden = {6, 5};
  o.generator_activation = o.discriminator_activation = pml::ad::Activation::tanh;  // smooth: finite differences hold
  return o;
}
pml::InfoGANOptions tiny_dcgan() {
  pml::InfoGANOptions o;
  o.body = pml::InfoGANBody::dcgan;
  o.noise = 3;
  o.categorical = {3};
  o.continuous = 1;
  o.recognition_hidden = 4;
  o.height = o.width = 8;
  o.generator_features = o.discriminator_features = 3;
  return o;
}
// n points from four Gaussians (sd 0.15) at (±1.5, ±1.5); labels: the cluster of each
Eigen::MatrixXd four_clusters(pml::Rng& rng, Index n, pml::IntVector& labels) {
  Eigen::MatrixXd x(n, 2);
  labels.resize(n);
  for (Index i = 0; i < n; ++i) {
    const long k = long(pml::random::uniform_index(rng, 4));
    labels(i) = k;
    x(i, 0) = (k % 2 == 0 ? -1.5 : 1.5) + 0.15 * pml::random::normal<double>(rng);
    x(i, 1) = (k / 2 == 0 ? -1.5 : 1.5) + 0.15 * pml::random::normal<double>(rng);
  }
  return x;
}
}  // namespace

TEST_CASE("InfoGAN: the generator's input is [z | one-hot codes | continuous codes]", "[deep][infogan]") {
  pml::Rng rng(1);
  pml::InfoGAN<double> gan(tiny_mlp(), rng);
  CHECK(gan.code_size() == 4);
  CHECK(gan.code_inputs() == 3 + 2 + 2);
  Eigen::MatrixXd z(2, 2), c(2, 4);
  z << 0.1, 0.2, 0.3, 0.4;
  c << 2, 0, 0.5, -0.25, 0, 1, -1, 0.75;
  Eigen::MatrixXd expected(2, 9);
  expected << 0.1, 0.2, 0, 0, 1, 1, 0, 0.5, -0.25, 0.3, 0.4, 1, 0, 0, 0, 1, -1, 0.75;
  CHECK(gan.generator_input(z, c) == expected);
  // codes from the prior: categorical values in range, continuous ones in [-1, 1) (uniform)
  const Eigen::MatrixXd s = gan.sample_codes(rng, 2000);
  CHECK(s.col(0).minCoeff() == 0);
  CHECK(s.col(0).maxCoeff() == 2);
  CHECK(s.col(1).maxCoeff() == 1);
  CHECK((s.col(0).array() == s.col(0).array().floor()).all());
  CHECK(s.rightCols(2).minCoeff() >= -1);
  CHECK(s.rightCols(2).maxCoeff() < 1);
  CHECK(std::abs(s.col(2).mean()) < 0.05);
  auto o = tiny_mlp();
  o.continuous_prior = pml::ContinuousCode::gaussian;
  pml::InfoGAN<double> gauss(o, rng);
  const Eigen::MatrixXd g = gauss.sample_codes(rng, 4000);
  CHECK(std::abs(g.col(3).mean()) < 0.05);
  CHECK(std::sqrt((g.col(3).array() - g.col(3).mean()).square().mean()) == Approx(1).margin(0.05));
}

TEST_CASE("InfoGAN: gradients of both players' losses, information term included", "[deep][infogan][gradcheck]") {
  for (const auto& options : {tiny_mlp(), tiny_dcgan()}) {
    const bool mlp = options.body == pml::InfoGANBody::mlp;
    INFO((mlp ? "mlp body" : "dcgan body"));
    pml::Rng rng(2);
    pml::InfoGAN<double> gan(options, rng);
    const Index n = 4, width = gan.input_size();
    Eigen::MatrixXd z(n, options.noise), real(n, width), fake(n, width);
    pml::random::fill_normal(rng, z);
    pml::random::fill_uniform(rng, real);
    pml::random::fill_uniform(rng, fake);  // random stand-ins keep D's kinks away (see test_dcgan)
    real = (real.array() * 2 - 1).matrix();
    fake = (fake.array() * 2 - 1).matrix();
    const Eigen::MatrixXd input = gan.generator_input(z, gan.sample_codes(rng, n));
    const Eigen::MatrixXd codes_in = input.rightCols(gan.code_inputs());
    pml::ad::Tape<double> tape;
    auto d_loss = [&] {
      tape.reset();
      const auto d = gan.discriminator_loss(tape, tape.constant(real), tape.constant(fake), tape.constant(codes_in), 1.0, 0.5);
      return d.gan + d.information;
    };
    auto g_loss = [&] {
      tape.reset();
      const auto g = gan.generator_loss(tape, gan.generator_forward(tape, tape.constant(input)), tape.constant(codes_in), 0.7, 0.3);
      return g.gan + g.information;
    };
    // D's step moves D's body and Q (the generator has no part in D's loss)
    pml::nn::ParameterList<double> d_params;
    for (auto* p : gan.parameters())
      if (p->name.rfind("generator.", 0) != 0) d_params.push_back(p);
    REQUIRE(d_params.size() < gan.parameters().size());
    CHECK(pml::nn::parameter_gradcheck(d_params, tape, d_loss) < 1e-6);
    if (mlp) CHECK(pml::nn::parameter_gradcheck(gan.parameters(), tape, g_loss) < 1e-6);
    // the dcgan body's generator: as in test_dcgan, only G's parameters (D's kinks at G's near-constant images)
    if (!mlp) {
      pml::nn::ParameterList<double> g_params;
      for (auto* p : gan.parameters())
        if (p->name.rfind("generator.", 0) == 0) g_params.push_back(p);
      REQUIRE(!g_params.empty());
      CHECK(pml::nn::parameter_gradcheck(g_params, tape, g_loss) < 1e-6);
    }
  }
}

TEST_CASE("InfoGAN: the information loss is the weighted cross-entropy and Gaussian NLL of Q's outputs", "[deep][infogan]") {
  pml::Rng rng(3);
  pml::InfoGAN<double> gan(tiny_mlp(), rng);
  const Index n = 5, outputs = 3 + 2 + 2 + 2;
  Eigen::MatrixXd q(n, outputs), z(n, 2);
  pml::random::fill_normal(rng, q);
  pml::random::fill_normal(rng, z);
  const Eigen::MatrixXd codes = gan.sample_codes(rng, n);
  const Eigen::MatrixXd codes_in = gan.generator_input(z, codes).rightCols(gan.code_inputs());
  pml::ad::Tape<double> tape;
  const double value = gan.information_loss(tape, tape.constant(q), tape.constant(codes_in), 0.8, 0.2).value()(0, 0);
  double expected = 0;
  for (Index i = 0; i < n; ++i) {
    Index col = 0;
    for (Index k = 0; k < 2; ++k) {
      const Index K = k == 0 ? 3 : 2;
      const double lse = std::log(q.row(i).segment(col, K).array().exp().sum());
      expected += 0.8 * (lse - q(i, col + Index(codes(i, k))));
      col += K;
    }
    for (Index j = 0; j < 2; ++j) {
      const double mean = q(i, col + j), s = q(i, col + 2 + j), d = codes(i, 2 + j) - mean;
      expected += 0.2 * 0.5 * (std::log(2 * std::numbers::pi) + s + d * d * std::exp(-s));
    }
  }
  CHECK(value == Approx(expected).epsilon(1e-12));
  CHECK_THROWS_WITH(gan.information_loss(tape, tape.constant(Eigen::MatrixXd(n, 3)), tape.constant(codes_in), 1.0, 1.0),
                    Contains("InfoGAN::information_loss") && Contains("5 x 3"));
}

TEST_CASE("InfoGAN (mlp body): a 4-way code learns four clusters; Q reads them off real points", "[deep][infogan][quality]") {
  pml::Rng rng(4);
  pml::IntVector labels;
  const Eigen::MatrixXd x = four_clusters(rng, 1024, labels);  // 480 steps: the test's time under the sanitizers
  pml::InfoGANOptions o;
  o.body = pml::InfoGANBody::mlp;
  o.noise = 2;
  o.categorical = {4};
  o.continuous = 1;
  o.recognition_hidden = 16;
  o.output = 2;
  o.generator_hidden = {64, 64};  // 32 units (2 048 points): 2 of 8 seeds put the code on another partition (accuracy 0.73, 0.75)
  o.discriminator_hidden = {64, 64};  // 64: 12 of 12 seeds matched the clusters exactly (accuracy 1.000), with 2 048 points and with 1 024
  pml::InfoGAN<double> gan(o, rng);
  pml::Rng draw(5);
  const double before = gan.mutual_information(draw, 2000)(0);
  gan.fit(x, {.epochs = 30, .batch_size = 64}, rng);
  REQUIRE(gan.loss_history().discriminator_loss.size() == 30);
  REQUIRE(gan.loss_history().information_loss.size() == 30);
  const Eigen::VectorXd bound = gan.mutual_information(draw, 2000);
  // Q's categorical reading of the real points against their clusters, best one-to-one matching
  const Eigen::MatrixXd c = gan.predict_codes(x);
  const pml::IntVector read = c.col(0).cast<long>();
  const double accuracy = pml::metrics::clustering_accuracy(read, labels);
  // each code value makes points of one cluster
  const pml::IntVector match = pml::metrics::best_matching(read, labels);
  Eigen::MatrixXd z(400, 2), codes = gan.sample_codes(draw, 400);
  pml::random::fill_normal(draw, z);
  for (Index i = 0; i < 400; ++i) codes(i, 0) = double(i % 4);
  const Eigen::MatrixXd made = gan.generate(z, codes);
  double right = 0;
  for (Index i = 0; i < 400; ++i) {
    const long cluster = (made(i, 0) > 0 ? 1 : 0) + (made(i, 1) > 0 ? 2 : 0);
    right += match(i % 4) == cluster;
  }
  INFO("I(c; G) bound " << before << " before, " << bound(0) << " after (log 4 = " << std::log(4.0) << "); Q's accuracy on the real points " << accuracy
                        << "; generated points in their code's cluster " << right / 400);
  CHECK(bound(0) > 0.8 * std::log(4.0));
  CHECK(bound(0) > before + 0.5);
  CHECK(accuracy > 0.9);
  CHECK(right / 400 > 0.8);
  const Eigen::MatrixXd p = gan.predict_code_proba(x.topRows(10));
  CHECK(p.rows() == 10);
  CHECK(p.cols() == 4);
  CHECK((p.rowwise().sum().array() - 1).abs().maxCoeff() < 1e-12);
  const Eigen::VectorXd d = gan.discriminate(x.topRows(10));
  CHECK((d.array() > 0 && d.array() < 1).all());
}

TEST_CASE("InfoGAN: the mutual-information bound is log K plus the mean log Q of the drawn codes", "[deep][infogan]") {
  pml::Rng rng(6);
  auto o = tiny_mlp();
  o.continuous_prior = pml::ContinuousCode::gaussian;
  pml::InfoGAN<double> gan(o, rng);
  // the same draws by hand: z, then the codes, then G and Q
  pml::Rng a(7), b(7);
  const Eigen::VectorXd bound = gan.mutual_information(a, 300);
  Eigen::MatrixXd z(300, 2);
  pml::random::fill_normal(b, z);
  const Eigen::MatrixXd codes = gan.sample_codes(b, 300);
  const Eigen::MatrixXd made = gan.generate(z, codes);
  const Eigen::MatrixXd p0 = gan.predict_code_proba(made, 0), p1 = gan.predict_code_proba(made, 1);
  double l0 = 0, l1 = 0;
  for (Index i = 0; i < 300; ++i) {
    l0 += std::log(p0(i, Index(codes(i, 0))));
    l1 += std::log(p1(i, Index(codes(i, 1))));
  }
  CHECK(bound(0) == Approx(std::log(3.0) + l0 / 300).epsilon(1e-9));
  CHECK(bound(1) == Approx(std::log(2.0) + l1 / 300).epsilon(1e-9));
  CHECK(bound.size() == 4);
  // the continuous codes: ½ log(2πe) + the mean Gaussian log-density of the code under Q's mean and log-variance
  pml::ad::Tape<double> tape;
  const auto features = gan.mlp_body()->discriminator_forward(tape, tape.constant(made)).features;
  const Eigen::MatrixXd q = gan.recognition_head().forward(tape, features).value();  // 3 + 2 logits, 2 means, 2 log-variances
  for (Index j = 0; j < 2; ++j) {
    double log_q = 0;
    for (Index i = 0; i < 300; ++i) {
      const double mean = q(i, 5 + j), s = q(i, 7 + j), d = codes(i, 2 + j) - mean;
      log_q += -0.5 * (std::log(2 * std::numbers::pi) + s + d * d / std::exp(s));
    }
    CHECK(bound(2 + j) == Approx(0.5 * std::log(2 * std::numbers::pi * std::numbers::e) + log_q / 300).epsilon(1e-9));
  }
}

TEST_CASE("InfoGAN (dcgan body): fits images, save and load give the same images and codes bit for bit", "[deep][infogan][io]") {
  pml::Rng rng(8);
  pml::InfoGAN<float> gan(tiny_dcgan(), rng);
  Eigen::MatrixXf x(32, 64);
  pml::random::fill_uniform(rng, x);
  gan.fit(x, {.epochs = 2, .batch_size = 8}, rng);
  REQUIRE(gan.loss_history().generator_loss.size() == 2);
  const Eigen::MatrixXf s = gan.sample(rng, 6);
  CHECK(s.minCoeff() >= 0);
  CHECK(s.maxCoeff() <= 1);
  for (const auto format : {pml::nn::FileFormat::binary, pml::nn::FileFormat::json}) {
    const auto path = std::filesystem::temp_directory_path() / "pml_infogan.pml";
    gan.save(path, format);
    const auto loaded = pml::InfoGAN<float>::load(path);
    pml::Rng a(9), b(9);
    CHECK((gan.sample(a, 5) - loaded.sample(b, 5)).cwiseAbs().maxCoeff() == 0.0f);
    CHECK((gan.predict_codes(x.topRows(7)) - loaded.predict_codes(x.topRows(7))).cwiseAbs().maxCoeff() == 0.0f);
    CHECK((gan.discriminate(x.topRows(3)) - loaded.discriminate(x.topRows(3))).cwiseAbs().maxCoeff() == 0.0f);
    CHECK(loaded.options().categorical == std::vector<Index>{3});
    std::filesystem::remove(path);
  }
  // an image depends on its own z and c only (running statistics at prediction)
  Eigen::MatrixXf z(5, 3);
  pml::random::fill_normal(rng, z);
  const Eigen::MatrixXf c = gan.sample_codes(rng, 5);
  CHECK((gan.generate(z, c).row(2) - gan.generate(z.middleRows(2, 1), c.middleRows(2, 1))).cwiseAbs().maxCoeff() == 0.0f);
}

TEST_CASE("InfoGAN (mlp body): save and load in both formats", "[deep][infogan][io]") {
  pml::Rng rng(10);
  pml::InfoGAN<double> gan(tiny_mlp(), rng);
  Eigen::MatrixXd x(20, 3);
  pml::random::fill_normal(rng, x);
  gan.fit(x, {.epochs = 2, .batch_size = 5}, rng);
  for (const auto format : {pml::nn::FileFormat::binary, pml::nn::FileFormat::json}) {
    const auto path = std::filesystem::temp_directory_path() / "pml_infogan_mlp.pml";
    gan.save(path, format);
    const auto loaded = pml::InfoGAN<double>::load(path);
    pml::Rng a(11), b(11);
    CHECK((gan.sample(a, 5) - loaded.sample(b, 5)).cwiseAbs().maxCoeff() == 0.0);
    CHECK((gan.predict_code_proba(x, 1) - loaded.predict_code_proba(x, 1)).cwiseAbs().maxCoeff() == 0.0);
    CHECK(loaded.options().discriminator_activation == pml::ad::Activation::tanh);
    std::filesystem::remove(path);
  }
  // a DCGAN's file is not an InfoGAN's
  const auto path = std::filesystem::temp_directory_path() / "pml_infogan_wrong.pml";
  pml::DCGANOptions d;
  d.noise = 2;
  d.height = d.width = 4;
  d.generator_features = d.discriminator_features = 1;
  pml::DCGAN<double>(d, rng).save(path);
  CHECK_THROWS_WITH(pml::InfoGAN<double>::load(path), Contains("InfoGAN::load") && Contains("DCGAN"));
  std::filesystem::remove(path);
}

TEST_CASE("InfoGAN errors name the function, the argument and the value", "[deep][infogan][errors]") {
  pml::Rng rng(12);
  auto o = tiny_mlp();
  o.categorical = {3, 1};
  CHECK_THROWS_WITH(pml::InfoGAN<double>(o, rng), Contains("InfoGAN") && Contains("categorical") && Contains("got 1"));
  o = tiny_mlp();
  o.categorical.clear();
  o.continuous = 0;
  CHECK_THROWS_WITH(pml::InfoGAN<double>(o, rng), Contains("InfoGAN") && Contains("no codes"));
  o = tiny_mlp();
  o.discriminator_hidden.clear();
  CHECK_THROWS_WITH(pml::InfoGAN<double>(o, rng), Contains("discriminator_hidden"));
  o = tiny_mlp();
  o.generator_loss = pml::GANLoss::wasserstein_gp;
  CHECK_THROWS_WITH(pml::InfoGAN<double>(o, rng), Contains("generator_loss") && Contains("wasserstein_gp"));
  o = tiny_dcgan();
  o.height = 6;
  CHECK_THROWS_WITH(pml::InfoGAN<double>(o, rng), Contains("DCGAN") && Contains("multiples of 4"));

  pml::InfoGAN<double> gan(tiny_mlp(), rng);
  Eigen::MatrixXd z = Eigen::MatrixXd::Zero(2, 2), c = Eigen::MatrixXd::Zero(2, 4);
  c(1, 0) = 3;  // the first code has values 0..2
  CHECK_THROWS_WITH(gan.generate(z, c), Contains("InfoGAN::generator_input") && Contains("codes") && Contains("0..2") && Contains("row 1"));
  c(1, 0) = 0.5;
  CHECK_THROWS_WITH(gan.generate(z, c), Contains("0..2") && Contains("0.5"));
  CHECK_THROWS_WITH(gan.generate(z, Eigen::MatrixXd::Zero(2, 3)), Contains("codes has 3 columns, expected 4"));
  CHECK_THROWS_WITH(gan.generate(Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(2, 4)), Contains("z has 3 rows but codes has 2"));
  CHECK_THROWS_WITH(gan.fit(Eigen::MatrixXd::Zero(10, 2), {}, rng), Contains("InfoGAN::fit") && Contains("2 columns, expected 3"));
  CHECK_THROWS_WITH(gan.fit(Eigen::MatrixXd::Zero(10, 3), {.batch_size = 1}, rng), Contains("batch_size"));
  CHECK_THROWS_WITH(gan.fit(Eigen::MatrixXd::Zero(10, 3), {.continuous_weight = -1}, rng), Contains("continuous_weight") && Contains("-1"));
  CHECK_THROWS_WITH(gan.fit(Eigen::MatrixXd::Zero(10, 3), {.beta2 = 1}, rng), Contains("beta2"));
  CHECK_THROWS_WITH(gan.predict_code_proba(Eigen::MatrixXd::Zero(2, 3), 2), Contains("InfoGAN::predict_code_proba") && Contains("code 2"));
  CHECK_THROWS_WITH(gan.sample(rng, 0), Contains("InfoGAN::sample"));
  CHECK_THROWS_WITH(gan.mutual_information(rng, -1), Contains("InfoGAN::mutual_information"));
  Eigen::MatrixXd bad = Eigen::MatrixXd::Zero(4, 3);
  bad(2, 1) = std::nan("");
  CHECK_THROWS_WITH(gan.predict_codes(bad), Contains("InfoGAN::predict_codes") && Contains("x"));
  pml::InfoGAN<double> images(tiny_dcgan(), rng);
  CHECK_THROWS_WITH(images.fit(Eigen::MatrixXd::Constant(10, 64, 2.0), {}, rng), Contains("InfoGAN::fit") && Contains("[0, 1]"));
  CHECK_THROWS_WITH(images.predict_codes(Eigen::MatrixXd::Constant(2, 64, -0.5)), Contains("InfoGAN::predict_codes") && Contains("[0, 1]"));
}
