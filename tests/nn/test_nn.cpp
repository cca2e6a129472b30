// nn/: Linear, Dropout (and the MC switch), MLP, optimisers against torch.optim, gradient clipping,
// parameter files (round trip, errors, atomic writes), and a whole MLP + Adam step that allocates nothing.
#include "counting_allocator.hpp"  // first: it sets up Eigen's malloc hook (the one file of this executable)
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "fixtures/torch_reference.hpp"
#include "pml/nn.hpp"
#include "pml/nn/gradcheck.hpp"


using Catch::Matchers::Contains;
using pml::ad::Tape;
using pml::ad::Var;
namespace fs = std::filesystem;

namespace {
template <class T> pml::Matrix<T> uniform_matrix(pml::Rng& rng, pml::Index r, pml::Index c) {
  pml::Matrix<T> m(r, c);
  pml::random::fill_uniform(rng, m);
  return (m.array() * T(2) - T(1)).matrix();
}

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("pml_nn_test_" + std::to_string(std::random_device{}()))) { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

TEST_CASE("nn::Linear binds its parameters; backward fills their gradients", "[nn]") {
  pml::Rng rng(4);
  pml::nn::Linear<double> layer(3, 2, rng);
  CHECK(layer.weight().value.cwiseAbs().maxCoeff() <= std::sqrt(6.0 / 5.0));  // Xavier bound
  CHECK(layer.bias().value.isZero());
  CHECK(layer.weight().name == "linear.weight");
  Tape<double> tape;
  const Eigen::MatrixXd x = uniform_matrix<double>(rng, 5, 3);
  const Var<double> out = layer.forward(tape, tape.constant(x));
  tape.backward(pml::ad::sum(out));
  // d sum(x W + 1 b) / dW = x^T 1, / db = N
  CHECK((layer.weight().grad - x.colwise().sum().transpose().replicate(1, 2)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((layer.bias().grad.array() == 5.0).all());
  CHECK_THROWS_WITH(layer.forward(tape, tape.variable(Eigen::MatrixXd::Ones(2, 4))), Contains("nn::Linear::forward: x has 4 columns, expected 3"));
  CHECK_THROWS_WITH(pml::nn::Linear<double>(0, 2, rng), Contains("sizes must be positive"));
  // He initialisation: variance 2 / fan_in
  pml::nn::Linear<double> wide(400, 300, rng, pml::nn::Init::he_normal);
  const double var = wide.weight().value.squaredNorm() / double(wide.weight().value.size());
  CHECK(var == Approx(2.0 / 400).epsilon(0.02));
}

// Issue 15 §1: every initialisation a layer offers, checked by its range and its variance on a large layer
// (400 x 300 = 120 000 draws: the sample variance is within 2% of the true one with overwhelming probability).
TEST_CASE("nn::Init: each scheme draws from its distribution; biases zero except PyTorch's", "[nn][init]") {
  using pml::nn::Init;
  const double in = 400, out = 300;
  struct Case {
    Init init;
    double variance;  // of the weights
    double bound;     // largest |w| for the uniform schemes (0: a normal)
  };
  const double xu = std::sqrt(6.0 / (in + out)), hu = std::sqrt(6.0 / in), pt = 1.0 / std::sqrt(in);
  for (const Case c : {Case{Init::xavier_uniform, xu * xu / 3, xu}, Case{Init::xavier_normal, 2.0 / (in + out), 0},
                       Case{Init::he_uniform, hu * hu / 3, hu}, Case{Init::he_normal, 2.0 / in, 0}, Case{Init::pytorch, pt * pt / 3, pt},
                       Case{Init::automatic, xu * xu / 3, xu}}) {
    INFO(pml::enum_name(c.init));
    pml::Rng rng(21);
    const pml::nn::Linear<double> layer(400, 300, rng, c.init);
    const Eigen::MatrixXd& w = layer.weight().value;
    const double mean = w.mean(), var = (w.array() - mean).square().mean();
    CHECK(std::abs(mean) < 4 * std::sqrt(c.variance / double(w.size())));
    CHECK(var == Approx(c.variance).epsilon(0.02));
    if (c.bound > 0) CHECK(w.cwiseAbs().maxCoeff() <= c.bound);
    else CHECK(w.cwiseAbs().maxCoeff() > 3.5 * std::sqrt(c.variance));  // a normal's tail, not a uniform's edge
    const Eigen::MatrixXd& b = layer.bias().value;
    if (c.init == Init::pytorch) {
      CHECK(b.cwiseAbs().maxCoeff() <= pt);
      CHECK(b.cwiseAbs().maxCoeff() > 0.9 * pt);
    } else {
      CHECK(b.isZero(0));
    }
    // float draws the same scheme
    pml::Rng rng_f(21);
    const pml::nn::Linear<float> layer_f(400, 300, rng_f, c.init);
    const Eigen::MatrixXf& wf = layer_f.weight().value;
    CHECK(double((wf.array() - wf.mean()).square().mean()) == Approx(c.variance).epsilon(0.02));
  }
  pml::Rng rng(3);
  CHECK_THROWS_WITH(pml::nn::initial_weights<double>(rng, 3, 2, Init::automatic), Contains("nn::initial_weights") && Contains("automatic"));
  CHECK(pml::enum_from_name<Init>("pytorch") == Init::pytorch);

  // MLP: automatic is He for ReLU hidden layers and Xavier for the output layer; a given scheme applies to every layer
  pml::Rng a(5), b(5);
  const pml::nn::MLP<double> automatic({.sizes = {400, 300, 300}, .activation = pml::ad::Activation::relu}, a);
  const pml::nn::MLP<double> torch_like({.sizes = {400, 300, 300}, .activation = pml::ad::Activation::relu, .init = Init::pytorch}, b);
  auto variance = [](const Eigen::MatrixXd& w) { return (w.array() - w.mean()).square().mean(); };
  CHECK(variance(automatic.layers()[0].weight().value) == Approx(2.0 / 400).epsilon(0.02));
  CHECK(variance(automatic.layers()[1].weight().value) == Approx(2.0 / 600).epsilon(0.02));
  CHECK(variance(torch_like.layers()[0].weight().value) == Approx(1.0 / 1200).epsilon(0.02));
  CHECK(variance(torch_like.layers()[1].weight().value) == Approx(1.0 / 900).epsilon(0.02));
  CHECK(!torch_like.layers()[1].bias().value.isZero(0));
}

TEST_CASE("a layer used twice on one tape gets the sum of both uses' gradients", "[nn]") {
  pml::Rng rng(8);
  pml::nn::Linear<double> layer(3, 3, rng);
  const Eigen::MatrixXd x = uniform_matrix<double>(rng, 4, 3);
  Tape<double> tape;
  const Var<double> once = layer.forward(tape, tape.constant(x), pml::ad::Activation::tanh);
  tape.backward(pml::ad::sum(layer.forward(tape, once, pml::ad::Activation::tanh)));  // tanh(tanh(x W + b) W + b)
  const Eigen::MatrixXd analytic = layer.weight().grad;
  auto f = [&] {
    const Eigen::MatrixXd h = ((x * layer.weight().value).rowwise() + layer.bias().value.row(0)).array().tanh().matrix();
    return ((h * layer.weight().value).rowwise() + layer.bias().value.row(0)).array().tanh().sum();
  };
  double worst = 0;
  for (Eigen::Index i = 0; i < analytic.size(); ++i) {
    const double v = layer.weight().value(i);
    layer.weight().value(i) = v + 1e-6;
    const double up = f();
    layer.weight().value(i) = v - 1e-6;
    const double down = f();
    layer.weight().value(i) = v;
    worst = std::max(worst, std::abs((up - down) / 2e-6 - analytic(i)));
  }
  CHECK(worst < 1e-8);
}

TEST_CASE("MLP parameter gradients match finite differences", "[nn][gradcheck]") {
  pml::Rng rng(11);
  for (const auto act : {pml::ad::Activation::tanh, pml::ad::Activation::sigmoid, pml::ad::Activation::softplus}) {
    pml::nn::MLP<double> net({.sizes = {3, 5, 4, 2}, .activation = act, .output_activation = pml::ad::Activation::tanh}, rng);
    const Eigen::MatrixXd x = uniform_matrix<double>(rng, 7, 3), y = uniform_matrix<double>(rng, 7, 2);
    Tape<double> tape;
    auto loss = [&] {
      tape.reset();
      const auto l = pml::ad::sum(pml::ad::square(net.forward(tape, tape.constant(x)) - tape.constant(y)));
      return l;
    };
    const double worst = pml::nn::parameter_gradcheck(net.parameters(), tape, loss);
    CHECK(worst < 1e-7);
  }
}

TEST_CASE("MLP shapes, names, initialisation and errors", "[nn]") {
  pml::Rng rng(1);
  pml::nn::MLP<float> net({.sizes = {784, 400, 20}, .activation = pml::ad::Activation::relu}, rng);
  CHECK(net.in() == 784);
  CHECK(net.out() == 20);
  const auto params = net.parameters();
  REQUIRE(params.size() == 4);
  CHECK(params[0]->name == "layer0.weight");
  CHECK(params[3]->name == "layer1.bias");
  CHECK(pml::nn::parameter_count(params) == 784 * 400 + 400 + 400 * 20 + 20);
  // ReLU hidden layer is He-initialised, the linear output layer Xavier
  CHECK(params[0]->value.squaredNorm() / float(params[0]->size()) == Approx(2.0 / 784).epsilon(0.03));
  CHECK(params[2]->value.cwiseAbs().maxCoeff() <= std::sqrt(6.0f / 420.0f));
  CHECK(net.predict(Eigen::MatrixXf::Zero(3, 784)).rows() == 3);
  CHECK_THROWS_WITH(net.predict(Eigen::MatrixXf::Zero(3, 10)), Contains("nn::MLP::predict: x has 10 columns, expected 784"));
  CHECK_THROWS_WITH(net.predict(Eigen::MatrixXf::Zero(0, 784)), Contains("x has no rows"));
  Eigen::MatrixXf bad = Eigen::MatrixXf::Zero(2, 784);
  bad(1, 3) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(net.predict(bad), Contains("nn::MLP::predict: x must have finite entries (entry (1, 3) is not)"));
  CHECK_THROWS_WITH(pml::nn::MLP<float>({.sizes = {3}}, rng), Contains("sizes needs at least {in, out}"));
  CHECK_THROWS_WITH(pml::nn::MLP<float>({.sizes = {3, 2}, .dropout = 1.0}, rng), Contains("nn::Dropout: p must be in [0, 1), got 1"));
}

TEST_CASE("Dropout: drop rate, expectation, and the MC switch", "[nn][dropout]") {
  pml::Rng rng(2);
  Tape<double> tape;
  const pml::nn::Dropout<double> drop(0.3);
  const Var<double> x = tape.variable(Eigen::MatrixXd::Ones(200, 100));  // a variable, to see the gradient
  const Var<double> y = drop.forward(tape, x, rng, true);
  const double zero_fraction = (y.value().array() == 0).cast<double>().mean();
  CHECK(zero_fraction == Approx(0.3).margin(0.01));                       // 20000 draws: sd 0.0032
  CHECK(y.value().mean() == Approx(1.0).margin(0.02));                    // inverted dropout keeps the mean
  CHECK(((y.value().array() == 0) || ((y.value().array() - 1 / 0.7).abs() < 1e-12)).all());
  CHECK(drop.forward(tape, x, rng, false).id == x.id);                    // inactive: the input itself
  // the mask carries the gradient: d sum(y) / dx = mask
  tape.backward(pml::ad::sum(y));
  CHECK((x.adjoint() - y.value()).cwiseAbs().maxCoeff() == 0);

  pml::nn::MLP<double> net({.sizes = {1, 50, 1}, .activation = pml::ad::Activation::relu, .dropout = 0.5}, rng);
  const Eigen::MatrixXd in = Eigen::MatrixXd::Constant(4, 1, 0.7);
  const Eigen::MatrixXd a = net.predict(in, rng), b = net.predict(in, rng);
  CHECK((a - b).isZero());                 // prediction mode: deterministic
  net.set_mc_dropout(true);
  const Eigen::MatrixXd c = net.predict(in, rng), d = net.predict(in, rng);
  CHECK_FALSE((c - d).isZero());           // MC dropout: a new mask each pass
  CHECK(c(0, 0) != c(1, 0));               // and per row
  CHECK_THROWS_WITH(net.predict(in), Contains("MC dropout is on: pass an Rng"));
  // same seed, same masks
  pml::Rng r1(9), r2(9);
  CHECK((net.predict(in, r1) - net.predict(in, r2)).isZero());
}

namespace {
// Runs `opt` for 6 steps on the fixture's problem: g = sin(p (t + 1)) + 0.1 p.
template <class Opt, class Options> Eigen::MatrixXd run_optimizer(const Options& options) {
  pml::nn::Parameter<double> p("p", (Eigen::MatrixXd(3, 2) << 0.5, -1.0, 2.0, 0.25, -0.75, 1.5).finished());
  Opt opt({&p}, options);
  for (int t = 0; t < 6; ++t) {
    p.grad = ((p.value * double(t + 1)).array().sin() + 0.1 * p.value.array()).matrix();
    opt.step();
  }
  return p.value;
}
double max_diff(const Eigen::MatrixXd& a, const double* ref) { return (a - Eigen::Map<const Eigen::MatrixXd>(ref, 3, 2)).cwiseAbs().maxCoeff(); }
}  // namespace

TEST_CASE("optimisers follow torch.optim step for step", "[nn][optim]") {
  namespace ref = pml_test::torch_ref;
  using namespace pml::nn;
  CHECK(max_diff(run_optimizer<SGD<double>>(SGDOptions{.learning_rate = 0.1}), ref::sgd) < 1e-14);
  CHECK(max_diff(run_optimizer<SGD<double>>(SGDOptions{.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.01}), ref::sgd_momentum_wd) < 1e-14);
  CHECK(max_diff(run_optimizer<SGD<double>>(SGDOptions{.learning_rate = 0.05, .momentum = 0.8, .nesterov = true}), ref::sgd_nesterov) < 1e-14);
  CHECK(max_diff(run_optimizer<Adagrad<double>>(AdagradOptions{.learning_rate = 0.1, .weight_decay = 0.01, .initial_accumulator = 0.1}),
                 ref::adagrad) < 1e-14);
  CHECK(max_diff(run_optimizer<Adam<double>>(AdamOptions{.learning_rate = 0.01}), ref::adam) < 1e-13);
  CHECK(max_diff(run_optimizer<Adam<double>>(AdamOptions{.learning_rate = 0.02, .weight_decay = 0.05}), ref::adam_wd) < 1e-13);
  CHECK(max_diff(run_optimizer<AdamW<double>>(AdamOptions{.learning_rate = 0.02, .weight_decay = 0.1}), ref::adamw) < 1e-13);
}

TEST_CASE("optimisers: bad options and non-finite gradients are refused without touching the model", "[nn][optim]") {
  pml::nn::Parameter<double> p("w", Eigen::MatrixXd::Ones(2, 2));
  CHECK_THROWS_WITH(pml::nn::SGD<double>({&p}, {.learning_rate = -1}), Contains("nn::SGD: learning_rate must be positive"));
  CHECK_THROWS_WITH(pml::nn::SGD<double>({&p}, {.momentum = 1.0}), Contains("momentum must be in [0, 1), got 1"));
  CHECK_THROWS_WITH(pml::nn::SGD<double>({&p}, {.nesterov = true}), Contains("nesterov needs momentum"));
  CHECK_THROWS_WITH(pml::nn::Adam<double>({&p}, {.beta1 = 1.0}), Contains("beta1 and beta2 must be below 1"));
  CHECK_THROWS_WITH(pml::nn::Adagrad<double>({&p}, {.epsilon = 0}), Contains("nn::Adagrad: epsilon must be positive"));
  CHECK_THROWS_WITH(pml::nn::Adam<double>({}), Contains("nn::Adam: the parameter list is empty"));
  CHECK_THROWS_WITH(pml::nn::AdamW<double>({nullptr}), Contains("nn::AdamW: parameter 0 is null"));
  pml::nn::Adam<double> adam({&p});
  p.grad(1, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(adam.step(), Contains("nn::Adam: the gradient of 'w' is not finite; no parameter was changed"));
  CHECK((p.value.array() == 1).all());
  CHECK(adam.steps() == 0);
  CHECK_THROWS_WITH(adam.set_learning_rate(0), Contains("learning_rate must be positive"));
}

TEST_CASE("optimisers minimise: Adam, SGD with momentum and Adagrad drive a quadratic to its minimum", "[nn][optim]") {
  const Eigen::MatrixXf target = (Eigen::MatrixXf(2, 2) << 1, -2, 3, 0.5).finished();
  auto solve = [&](auto make) {
    pml::nn::Parameter<float> p("p", Eigen::MatrixXf::Zero(2, 2));
    auto opt = make(pml::nn::ParameterList<float>{&p});
    for (int i = 0; i < 3000; ++i) {
      p.grad = 2 * (p.value - target);
      opt.step();
    }
    return (p.value - target).cwiseAbs().maxCoeff();
  };
  CHECK(solve([](auto ps) { return pml::nn::Adam<float>(ps, {.learning_rate = 0.05}); }) < 1e-3);
  CHECK(solve([](auto ps) { return pml::nn::SGD<float>(ps, {.learning_rate = 0.05, .momentum = 0.9}); }) < 1e-4);
  CHECK(solve([](auto ps) { return pml::nn::Adagrad<float>(ps, {.learning_rate = 0.5}); }) < 1e-3);
}

TEST_CASE("gradient clipping matches torch.nn.utils.clip_grad_norm_", "[nn][optim]") {
  pml::nn::Parameter<double> p("p", Eigen::MatrixXd::Zero(3, 2));
  p.grad << 3, -4, 1, 2, 0.5, -0.5;
  const double norm = pml::nn::clip_grad_norm<double>({&p}, 2.0);
  CHECK(norm == Approx(pml_test::torch_ref::clip_norm).epsilon(1e-15));
  CHECK(max_diff(p.grad, pml_test::torch_ref::clipped) < 1e-15);
  CHECK(pml::nn::clip_grad_norm<double>({&p}, 10.0) == Approx(2.0).epsilon(1e-6));  // below the limit: unchanged
  CHECK(max_diff(p.grad, pml_test::torch_ref::clipped) < 1e-15);
  pml::nn::clip_grad_value<double>({&p}, 0.5);
  CHECK(p.grad.cwiseAbs().maxCoeff() == 0.5);
  CHECK(p.grad(0, 1) == Approx(pml_test::torch_ref::clipped[3] < -0.5 ? -0.5 : pml_test::torch_ref::clipped[3]));
  p.grad(0, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(pml::nn::clip_grad_norm<double>({&p}, 1.0), Contains("gradient norm is not finite"));
  CHECK_THROWS_WITH(pml::nn::clip_grad_value<double>({&p}, -1.0), Contains("limit must be positive"));
}

TEST_CASE("parameter files: binary and JSON round trips are bit-identical", "[nn][serialize]") {
  TempDir dir;
  pml::Rng rng(5);
  pml::nn::MLP<float> net({.sizes = {6, 8, 3}, .activation = pml::ad::Activation::tanh}, rng);
  pml::nn::MLP<float> other({.sizes = {6, 8, 3}, .activation = pml::ad::Activation::tanh}, rng);
  const Eigen::MatrixXf x = uniform_matrix<float>(rng, 5, 6);
  const Eigen::MatrixXf expected = net.predict(x);
  for (const auto format : {pml::nn::FileFormat::binary, pml::nn::FileFormat::json}) {
    const fs::path file = dir.path / (format == pml::nn::FileFormat::json ? "net.json" : "net.pml");
    pml::nn::save_parameters(file, net.parameters(), format);
    CHECK_FALSE((other.predict(x) - expected).isZero());
    pml::nn::load_parameters(file, other.parameters());
    const Eigen::MatrixXf got = other.predict(x);
    CHECK(std::memcmp(got.data(), expected.data(), sizeof(float) * std::size_t(got.size())) == 0);
    other = pml::nn::MLP<float>({.sizes = {6, 8, 3}, .activation = pml::ad::Activation::tanh}, rng);
  }
  // only the two files are left: the temporaries were renamed
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 2);
  // a float file loads into a double model (converted exactly)
  pml::nn::MLP<double> wide({.sizes = {6, 8, 3}, .activation = pml::ad::Activation::tanh}, rng);
  pml::nn::load_parameters(dir.path / "net.pml", wide.parameters());
  CHECK((wide.parameters()[0]->value - net.parameters()[0]->value.cast<double>()).isZero());
}

TEST_CASE("parameter files carry the model type and options; version-1 files still load", "[nn][serialize]") {
  TempDir dir;
  pml::Rng rng(7);
  pml::nn::MLP<double> net({.sizes = {3, 4, 2}}, rng);
  const fs::path bin = dir.path / "typed.pml", js = dir.path / "typed.json";
  const pml::nn::ModelHeader header{"Widget", "{\"size\": 3, \"name\": \"a\\\"b\"}"};
  pml::nn::save_parameters(bin, net.parameters(), pml::nn::FileFormat::binary, header);
  pml::nn::save_parameters(js, net.parameters(), pml::nn::FileFormat::json, header);
  for (const auto& path : {bin, js}) {
    const auto file = pml::nn::read_parameter_file<double>(path);
    CHECK(file.model == "Widget");
    CHECK(file.options.find("size")->as<int>() == 3);
    CHECK(file.options.find("name")->text == "a\"b");
    CHECK(file.parameters.size() == 4);
    CHECK_NOTHROW(pml::nn::load_parameters(path, net.parameters(), "Widget"));
    CHECK_THROWS_WITH(pml::nn::load_parameters(path, net.parameters(), "Gadget"), Contains("holds a Widget, not a Gadget"));
  }
  CHECK_THROWS_WITH(pml::nn::save_parameters(bin, net.parameters(), pml::nn::FileFormat::binary, {"Widget", "[1]"}), Contains("not an object"));
  // a version-1 file (no model header): rewrite the version, drop the two header strings, re-checksum
  pml::nn::save_parameters(bin, net.parameters());
  std::string bytes = pml::read_file(bin, "test");
  bytes[8] = 1;
  bytes.erase(16, 4 + 0 + 4 + 2);  // empty model name, options "{}"
  bytes.resize(bytes.size() - 8);
  const std::uint64_t sum = pml::nn::detail::fnv1a(bytes);
  for (int i = 0; i < 8; ++i) bytes += char((sum >> (8 * i)) & 0xff);
  std::ofstream(dir.path / "v1.pml", std::ios::binary) << bytes;
  pml::nn::MLP<double> twin({.sizes = {3, 4, 2}}, rng);
  pml::nn::load_parameters(dir.path / "v1.pml", twin.parameters(), "Widget");  // no type in the file: not checked
  CHECK(twin.parameters()[2]->value == net.parameters()[2]->value);
  CHECK(pml::nn::read_parameter_file<double>(dir.path / "v1.pml").model.empty());
}

TEST_CASE("parameter files: wrong shape, names, version, truncation and corruption give clear errors", "[nn][serialize]") {
  TempDir dir;
  pml::Rng rng(6);
  pml::nn::MLP<double> net({.sizes = {4, 5, 2}}, rng);
  const fs::path bin = dir.path / "net.pml", js = dir.path / "net.json";
  pml::nn::save_parameters(bin, net.parameters());
  pml::nn::save_parameters(js, net.parameters(), pml::nn::FileFormat::json);
  const Eigen::MatrixXd before = net.parameters()[0]->value;

  pml::nn::MLP<double> narrower({.sizes = {4, 6, 2}}, rng);
  CHECK_THROWS_WITH(pml::nn::load_parameters(bin, narrower.parameters()), Contains("parameter 'layer0.weight' is 4x5 in the file, 4x6 in the model"));
  CHECK_THROWS_WITH(pml::nn::load_parameters(js, narrower.parameters()), Contains("parameter 'layer0.weight' is 4x5 in the file, 4x6 in the model"));
  pml::nn::MLP<double> deeper({.sizes = {4, 5, 5, 2}}, rng);
  CHECK_THROWS_WITH(pml::nn::load_parameters(bin, deeper.parameters()), Contains("holds 4 parameters, the model has 6"));
  auto renamed = net.parameters();
  pml::nn::Parameter<double> impostor("encoder.weight", before);
  renamed[0] = &impostor;
  CHECK_THROWS_WITH(pml::nn::load_parameters(bin, renamed), Contains("parameter 0 is 'layer0.weight', the model expects 'encoder.weight'"));
  CHECK_THROWS_WITH(pml::nn::load_parameters(dir.path / "missing.pml", net.parameters()), Contains("nn::load_parameters: cannot open"));

  const std::string bytes = pml::read_file(bin, "test");
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir.path / name, std::ios::binary) << content;
    return dir.path / name;
  };
  std::string newer = bytes;
  newer[8] = 3;  // version field
  CHECK_THROWS_WITH(pml::nn::load_parameters(write("newer.pml", newer), net.parameters()), Contains("has format version 3; this pml reads versions 1..2"));
  CHECK_THROWS_WITH(pml::nn::load_parameters(write("text.pml", "hello"), net.parameters()), Contains("is not a pml model or parameter file"));
  CHECK_THROWS_WITH(pml::nn::load_parameters(write("empty.pml", ""), net.parameters()), Contains("is not a pml model or parameter file"));
  std::string js_text = pml::read_file(js, "test");
  js_text.replace(js_text.find("\"version\": 2"), 12, "\"version\": 7");
  CHECK_THROWS_WITH(pml::nn::load_parameters(write("v7.json", js_text), net.parameters()), Contains("has format version 7"));
  CHECK_THROWS_WITH(pml::nn::load_parameters(write("cut.json", pml::read_file(js, "t").substr(0, 200)), net.parameters()), Contains("json:"));

  // every truncation and every single-bit flip of the binary file throws (or, for a flip that keeps the
  // file valid, which the checksum rules out, loads); nothing crashes and the model never half-changes
  int thrown = 0, loaded = 0;
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
    try {
      pml::nn::load_parameters(write("t.pml", bytes.substr(0, cut)), net.parameters());
      ++loaded;
    } catch (const std::runtime_error&) { ++thrown; }
  }
  for (std::size_t bit = 0; bit < bytes.size() * 8; bit += 13) {
    std::string flipped = bytes;
    flipped[bit / 8] = char(flipped[bit / 8] ^ (1 << (bit % 8)));
    try {
      pml::nn::load_parameters(write("f.pml", flipped), net.parameters());
      ++loaded;
    } catch (const std::runtime_error&) { ++thrown; }
  }
  CHECK(loaded == 0);
  CHECK(thrown > 100);
  CHECK((net.parameters()[0]->value - before).isZero());

  // writing into a missing directory fails cleanly and leaves nothing behind
  CHECK_THROWS_WITH(pml::nn::save_parameters(dir.path / "no" / "such.pml", net.parameters()), Contains("nn::save_parameters: cannot write"));
  // a save over an existing file replaces it whole
  pml::nn::MLP<double> fresh({.sizes = {4, 5, 2}}, rng);
  pml::nn::save_parameters(bin, fresh.parameters());
  pml::nn::load_parameters(bin, net.parameters());
  CHECK((net.parameters()[0]->value - fresh.parameters()[0]->value).isZero());
}

TEST_CASE("a steady-state MLP + Adam training step allocates nothing", "[nn][alloc]") {
  pml::Rng rng(3);
  pml::nn::MLP<float> net({.sizes = {20, 24, 6, 24, 20}, .activation = pml::ad::Activation::relu, .dropout = 0.1}, rng);
  pml::nn::Adam<float> adam(net.parameters());
  const Eigen::MatrixXf x = uniform_matrix<float>(rng, 16, 20);
  Tape<float> tape;
  float first = 0, loss = 0;
  auto step = [&] {
    tape.reset();
    const Var<float> vx = tape.constant(x);
    const Var<float> l = pml::ad::mean(pml::ad::square(net.forward(tape, vx, rng) - vx));
    tape.backward(l);
    pml::nn::clip_grad_norm(net.parameters(), 100.0f);
    adam.step();
    loss = l.value()(0, 0);
  };
  step();  // the first step sizes the arenas
  first = loss;
  auto params = net.parameters();  // (the list itself is built outside the measured steps)
  const long before = pml_test::allocations.load();
  Eigen::internal::set_is_malloc_allowed(false);
  for (int i = 0; i < 5; ++i) {
    tape.reset();
    const Var<float> vx = tape.constant(x);
    const Var<float> l = pml::ad::mean(pml::ad::square(net.forward(tape, vx, rng) - vx));
    tape.backward(l);
    pml::nn::clip_grad_norm(params, 100.0f);
    adam.step();
    loss = l.value()(0, 0);
  }
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(pml_test::allocations.load() - before == 0);
  CHECK(loss < first);
}

TEST_CASE("a steady-state step of the full-size MLP 784-400-20-400-784 allocates nothing", "[nn][alloc]") {
  pml::Rng rng(9);
  pml::nn::MLP<float> net({.sizes = {784, 400, 20, 400, 784}, .activation = pml::ad::Activation::relu}, rng);
  pml::nn::Adam<float> adam(net.parameters());
  const Eigen::MatrixXf x = uniform_matrix<float>(rng, 128, 784);
  Tape<float> tape;
  auto step = [&] {
    tape.reset();
    const Var<float> vx = tape.constant(x);
    const Var<float> l = pml::ad::mean(pml::ad::square(net.forward(tape, vx, rng) - vx));
    tape.backward(l);
    adam.step();
    return l.value()(0, 0);
  };
  const float first = step();
  const long before = pml_test::allocations.load();
  Eigen::internal::set_is_malloc_allowed(false);
  float last = 0;
  for (int i = 0; i < 3; ++i) last = step();
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(pml_test::allocations.load() - before == 0);
  CHECK(last < first);
}
