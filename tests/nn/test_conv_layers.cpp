// The convolutional layers (nn/conv.hpp): the layers equal the ops with their own weights, initialise as
// PyTorch, keep BatchNorm's running statistics as PyTorch does (fixtures of make_torch_layers.py), save and
// load bit for bit, refuse wrong shapes naming the layer, and a small CNN learns a two-class image task.
#define PML_COUNTING_ALLOCATOR_DECLARE_ONLY  // test_convolution.cpp defines the counting allocator
#include "counting_allocator.hpp"  // first: the same Eigen settings in every file of test_layers
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <vector>

#include "pml/nn.hpp"
#include "pml/nn/conv.hpp"
#include "torch_layers_fixture.hpp"

using Catch::Matchers::Contains;
using pml::Index;
using pml::ad::ImageShape;
using pml::ad::Tape;
using pml::ad::Var;
using pml::ad::Window2d;

TEST_CASE("Conv2d and ConvTranspose2d are their ops with their own weights, PyTorch's initialisation", "[nn][conv]") {
  pml::Rng rng(1);
  pml::nn::Conv2d<double> conv(3, 5, Window2d::square(3, 2, 1), rng);
  REQUIRE(conv.weight().value.rows() == 5);
  REQUIRE(conv.weight().value.cols() == 27);
  CHECK(conv.weight().value.cwiseAbs().maxCoeff() <= 1 / std::sqrt(27.0));
  CHECK(conv.bias().value.cwiseAbs().maxCoeff() <= 1 / std::sqrt(27.0));
  CHECK(conv.bias().value.cwiseAbs().maxCoeff() > 0);
  CHECK(conv.output_shape(ImageShape{3, 9, 8}) == ImageShape{5, 5, 4});
  Eigen::MatrixXd x(2, 3 * 9 * 8);
  for (Index i = 0; i < x.size(); ++i) x(i) = std::sin(0.3 * double(i));
  Tape<double> tape;
  const auto y = conv.forward(tape, {tape.constant(x), ImageShape{3, 9, 8}});
  CHECK(y.shape == ImageShape{5, 5, 4});
  Tape<double> t2;
  const Var<double> ref = pml::ad::conv2d(t2.constant(x), ImageShape{3, 9, 8}, t2.constant(conv.weight().value), t2.constant(conv.bias().value),
                                          Window2d::square(3, 2, 1));
  CHECK((y.var.value() - ref.value()).cwiseAbs().maxCoeff() == 0);
  // the gradient reaches the layer's parameters
  tape.backward(pml::ad::sum(pml::ad::square(y.var)));
  CHECK(conv.weight().grad.cwiseAbs().maxCoeff() > 0);
  CHECK(conv.bias().grad.cwiseAbs().maxCoeff() > 0);
  CHECK_THROWS_WITH(conv.forward(tape, {tape.constant(x.leftCols(2 * 72)), ImageShape{2, 9, 8}}),
                    Contains("nn::Conv2d::forward") && Contains("2 channels (2x9x8)") && Contains("expects 3"));
  CHECK_THROWS_WITH(pml::nn::Conv2d<double>(0, 5, Window2d::square(3), rng), Contains("nn::Conv2d") && Contains("0 -> 5"));
  CHECK_THROWS_WITH(pml::nn::Conv2d<double>(1, 5, Window2d::square(3, 0), rng), Contains("nn::Conv2d") && Contains("stride"));
  pml::nn::Conv2d<float> no_bias(2, 4, Window2d::square(1), rng, pml::nn::Init::he_normal, false);
  CHECK(no_bias.parameters().size() == 1);

  pml::nn::ConvTranspose2d<double> up(5, 2, Window2d::square(4, 2, 1), rng);
  CHECK(up.weight().value.rows() == 5);
  CHECK(up.weight().value.cols() == 32);
  CHECK(up.weight().value.cwiseAbs().maxCoeff() <= 1 / std::sqrt(32.0));  // PyTorch's fan_in of this weight: C_out·KH·KW
  CHECK(up.output_shape(ImageShape{5, 5, 4}) == ImageShape{2, 10, 8});
  const auto z = up.forward(tape, y);
  CHECK(z.shape == ImageShape{2, 10, 8});
  CHECK(z.var.cols() == 160);
  CHECK_THROWS_WITH(pml::nn::ConvTranspose2d<double>(2, 2, Window2d::square(3, 2), rng, pml::nn::Init::pytorch, true, 2, 0),
                    Contains("nn::ConvTranspose2d") && Contains("output padding"));
}

TEST_CASE("pooling layers and the flattened output feed a dense layer", "[nn][conv]") {
  Tape<float> tape;
  Eigen::MatrixXf x = Eigen::MatrixXf::Random(4, 2 * 6 * 6);
  const pml::nn::Images<float> in{tape.constant(x), ImageShape{2, 6, 6}};
  const auto p = pml::nn::MaxPool2d<float>(Window2d::square(2, 2)).forward(tape, in);
  CHECK(p.shape == ImageShape{2, 3, 3});
  const auto a = pml::nn::AvgPool2d<float>(Window2d::square(3, 3)).forward(tape, in);
  CHECK(a.shape == ImageShape{2, 2, 2});
  CHECK(a.var.value()(1, 0) == Approx(x.row(1).head(6 * 3).reshaped(6, 3).topRows(3).mean()).margin(1e-6));
  pml::Rng rng(2);
  pml::nn::Linear<float> dense(p.shape.size(), 3, rng);
  CHECK(dense.forward(tape, p.var).cols() == 3);
  CHECK_THROWS_WITH(pml::nn::AvgPool2d<float>(Window2d::square(2, 1, 0, 2)), Contains("nn::AvgPool2d") && Contains("dilation"));
}


TEST_CASE("BatchNorm keeps running statistics as PyTorch and uses them in prediction", "[nn][batchnorm]") {
  for (const Index s : {Index(0), Index(5)}) {  // BatchNorm1d over 6 x 5, BatchNorm2d over 4 x 3 x 5 x 5
    const auto& f = pml_test::find_case("batch_norm_running", {{"s", double(s)}}).a;
    REQUIRE(f.count("new_var"));
    const Index c = static_cast<Index>(f.at("running_mean").size()), n = static_cast<Index>(f.at("x").size()) / (c * std::max<Index>(1, s * s));
    pml::nn::BatchNorm<double> bn(c);
    auto buffers = bn.buffers();
    buffers[0]->value = Eigen::Map<const Eigen::RowVectorXd>(f.at("running_mean").data(), c);
    buffers[1]->value = Eigen::Map<const Eigen::RowVectorXd>(f.at("running_var").data(), c);
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::MatrixXd x = Eigen::Map<const RowMajor>(f.at("x").data(), n, static_cast<Index>(f.at("x").size()) / n);
    Tape<double> tape;
    const Var<double> y = bn.forward(tape, tape.constant(x), pml::nn::Mode::train);
    for (Index k = 0; k < c; ++k) {
      CHECK(bn.running_mean()(k) == Approx(f.at("new_mean")[static_cast<std::size_t>(k)]).epsilon(1e-13));
      CHECK(bn.running_var()(k) == Approx(f.at("new_var")[static_cast<std::size_t>(k)]).epsilon(1e-13));
    }
    // training mode: each channel of the output has mean 0 and variance 1/(1 + eps/var)
    const Index block = x.cols() / c;
    for (Index k = 0; k < c; ++k) CHECK(std::abs(y.value().middleCols(k * block, block).mean()) < 1e-12);
    // prediction: the running statistics; the const pass equals the non-const one
    const Eigen::MatrixXd pred = bn.forward(tape, tape.constant(x), pml::nn::Mode::predict).value();
    const pml::nn::BatchNorm<double>& cbn = bn;
    CHECK((cbn.forward(tape, tape.constant(x)).value() - pred).cwiseAbs().maxCoeff() == 0);
    for (Index k = 0; k < c; ++k) {
      const double scale = 1 / std::sqrt(bn.running_var()(k) + 1e-5);
      CHECK((pred.middleCols(k * block, block).array() - (x.middleCols(k * block, block).array() - bn.running_mean()(k)) * scale).abs().maxCoeff() < 1e-12);
    }
  }
  pml::nn::BatchNorm<float> bn(3);
  Tape<float> tape;
  CHECK_THROWS_WITH(bn.forward(tape, tape.constant(Eigen::MatrixXf::Zero(4, 7))), Contains("nn::BatchNorm::forward") && Contains("7 columns"));
  CHECK_THROWS_WITH(bn.forward(tape, tape.constant(Eigen::MatrixXf::Zero(1, 3)), pml::nn::Mode::train), Contains("more than one value"));
  CHECK_THROWS_WITH(pml::nn::BatchNorm<float>(3, -1.0), Contains("eps"));
  // images: the channels must be the layer's, not merely divide the columns
  CHECK_THROWS_WITH(bn.forward(tape, pml::nn::Images<float>{tape.constant(Eigen::MatrixXf::Zero(4, 6 * 4)), ImageShape{6, 2, 2}}),
                    Contains("nn::BatchNorm::forward") && Contains("6 channels"));
  CHECK_THROWS_WITH(pml::nn::BatchNorm<float>(3, 1e-5, 1.5), Contains("momentum"));
}

TEST_CASE("BatchNorm: reset_running_stats and momentum 1/k give the mean of a series of batches' statistics", "[nn][batchnorm]") {
  // BatchNorm2d over 2 channels of 2 x 2 pixels, batches of 5 images far from the origin
  pml::Rng rng(8);
  pml::nn::BatchNorm<double> bn(2);
  Tape<double> tape;
  std::vector<Eigen::MatrixXd> batches;
  for (int k = 0; k < 3; ++k) {
    Eigen::MatrixXd x(5, 8);
    pml::random::fill_normal(rng, x, 1e4, 3.0);
    batches.push_back(x);
    bn.forward(tape, tape.constant(x), pml::nn::Mode::train);  // running statistics away from the initial ones
  }
  bn.reset_running_stats();
  CHECK(bn.running_mean() == Eigen::RowVector2d::Zero());
  CHECK(bn.running_var() == Eigen::RowVector2d::Ones());
  for (int k = 0; k < 3; ++k) {
    bn.set_momentum(1.0 / (k + 1));
    bn.forward(tape, tape.constant(batches[static_cast<std::size_t>(k)]), pml::nn::Mode::train);
  }
  CHECK(bn.momentum() == 1.0 / 3);
  for (Index c = 0; c < 2; ++c) {
    double mean = 0, var = 0;
    for (const auto& x : batches) {
      const Eigen::ArrayXd v = x.middleCols(c * 4, 4).reshaped().array();
      mean += v.mean() / 3;
      var += (v - v.mean()).square().sum() / double(v.size() - 1) / 3;  // unbiased, as PyTorch keeps it
    }
    CHECK(bn.running_mean()(c) == Approx(mean).epsilon(1e-14));
    CHECK(bn.running_var()(c) == Approx(var).epsilon(1e-12));
  }
  CHECK_THROWS_WITH(bn.set_momentum(1.5), Contains("nn::BatchNorm::set_momentum") && Contains("momentum") && Contains("1.5"));
  CHECK_THROWS_WITH(bn.set_momentum(std::nan("")), Contains("nn::BatchNorm::set_momentum") && Contains("nan"));
}

TEST_CASE("a small CNN learns bars from stripes; its parameters and running statistics save and load bit for bit", "[nn][conv]") {
  // class 0: a horizontal bar, class 1: a vertical bar, at random places in 8 x 8 images with noise
  pml::Rng rng(3);
  const Index n = 64;
  Eigen::MatrixXf x = Eigen::MatrixXf::Zero(n, 64), t = Eigen::MatrixXf::Zero(n, 2);
  for (Index i = 0; i < n; ++i) {
    const bool vertical = i % 2 == 1;
    const Index at = static_cast<Index>(pml::random::uniform<double>(rng) * 8);
    for (Index k = 0; k < 8; ++k) x(i, vertical ? k * 8 + at : at * 8 + k) = 1;
    for (Index k = 0; k < 64; ++k) x(i, k) += 0.2f * (pml::random::uniform<float>(rng) - 0.5f);
    t(i, vertical ? 1 : 0) = 1;
  }
  pml::nn::Conv2d<float> conv(1, 4, Window2d::square(3, 1, 1), rng);
  pml::nn::BatchNorm2d<float> bn(4);
  pml::nn::MaxPool2d<float> pool(Window2d::square(2, 2));
  pml::nn::Linear<float> dense(4 * 4 * 4, 2, rng);
  pml::nn::ParameterList<float> params = conv.parameters();
  pml::nn::append(params, bn.parameters());
  pml::nn::append(params, dense.parameters());
  pml::nn::Adam<float> adam(params, {.learning_rate = 0.02});
  Tape<float> tape;
  auto logits = [&](pml::nn::Mode mode) {
    tape.reset();
    auto h = conv.forward(tape, {tape.constant(x), ImageShape{1, 8, 8}});
    h = bn.forward(tape, h, mode);
    h.var = pml::ad::relu(h.var);
    h = pool.forward(tape, h);
    return dense.forward(tape, h.var);
  };
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    const Var<float> out = logits(pml::nn::Mode::train);  // resets the tape: before the targets go on it
    const Var<float> loss = pml::ad::softmax_cross_entropy(out, tape.constant(t));
    tape.backward(loss);
    adam.step();
    (step == 0 ? first : last) = loss.value()(0, 0) / float(n);
  }
  INFO("cross-entropy per image " << first << " -> " << last);
  CHECK(last < 0.1f * first);
  const Eigen::MatrixXf out = logits(pml::nn::Mode::predict).value();
  Index right = 0;
  for (Index i = 0; i < n; ++i) right += (out(i, 1) > out(i, 0)) == (t(i, 1) > 0.5f);
  CHECK(right == n);
  // save and load: parameters and running statistics
  pml::nn::ParameterList<float> stored = params;
  pml::nn::append(stored, bn.buffers());
  const auto path = std::filesystem::temp_directory_path() / "pml_test_cnn.pml";
  pml::nn::save_parameters(path, stored);
  pml::Rng other(99);
  pml::nn::Conv2d<float> conv2(1, 4, Window2d::square(3, 1, 1), other);
  pml::nn::BatchNorm2d<float> bn2(4);
  pml::nn::Linear<float> dense2(4 * 4 * 4, 2, other);
  pml::nn::ParameterList<float> loaded = conv2.parameters();
  pml::nn::append(loaded, bn2.parameters());
  pml::nn::append(loaded, dense2.parameters());
  pml::nn::append(loaded, bn2.buffers());
  pml::nn::load_parameters(path, loaded);
  std::filesystem::remove(path);
  for (std::size_t k = 0; k < stored.size(); ++k) CHECK((stored[k]->value.array() == loaded[k]->value.array()).all());
  CHECK((bn2.running_var().array() == bn.running_var().array()).all());
}
