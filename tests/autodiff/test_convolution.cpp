// The image ops (autodiff/ops/convolution.hpp): forward values and gradients against PyTorch 1.13 on the
// fixtures of tests/fixtures/make_torch_layers.py (<= 1e-12 in double, <= 1e-5 in float, relative to the
// largest reference entry), finite-difference gradient checks, shape errors naming the op and the shapes,
// and no heap allocation in a steady-state step.
#include "counting_allocator.hpp"  // first: it sets up Eigen's malloc hook (the one file of this executable)
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "pml/autodiff.hpp"
#include "pml/core/random.hpp"
#include "torch_layers_fixture.hpp"

using Catch::Matchers::Contains;
using pml::Index;
using pml::ad::ImageShape;
using pml::ad::Tape;
using pml::ad::Var;
using pml::ad::Window2d;

using pml_test::Case;
using pml_test::fixtures;
using pml_test::rows_of;

namespace {

/// max |got − want| relative to max(1, max |want|).
template <class T> double discrepancy(const Eigen::Map<pml::Matrix<T>>& got, const pml::Matrix<T>& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  if (want.size() == 0) return 0;
  return static_cast<double>((got - want).cwiseAbs().maxCoeff()) / std::max(1.0, static_cast<double>(want.cwiseAbs().maxCoeff()));
}

template <class T> constexpr double tolerance() { return sizeof(T) == 8 ? 1e-12 : 1e-5; }
template <class T> std::string suffix() { return sizeof(T) == 8 ? "" : "_f32"; }

/// Runs one fixture case: builds the op on a tape from the stored inputs, compares the output and, for
/// L = sum(y ⊙ upstream), the gradient of every input with PyTorch's.
template <class T, class Build> void compare(const Case& c, const std::vector<std::string>& inputs, Index batch, Build build) {
  Tape<T> tape;
  std::map<std::string, Var<T>> v;
  for (const auto& name : inputs) {
    const auto& flat = c.a.at(name);
    pml::Matrix<T> m;
    if (name == "x") m = rows_of<T>(flat, batch);
    else if (name == "weight" && c.kind == "conv2d") m = rows_of<T>(flat, c.i("cout"));
    else if (name == "weight" && c.kind == "conv_transpose2d") m = rows_of<T>(flat, c.i("cin"));
    else m = rows_of<T>(flat, 1);  // biases, BatchNorm's weight, bias and running statistics: 1 x C
    v[name] = tape.variable(m);
  }
  const Var<T> y = build(v);
  const pml::Matrix<T> want = rows_of<T>(c.a.at("y" + suffix<T>()), batch);
  INFO(c.kind << " case with " << c.p.size() << " parameters, first input size " << c.a.at(inputs[0]).size() << ", " << sizeof(T) * 8 << "-bit");
  CHECK(discrepancy<T>(y.value(), want) <= tolerance<T>());
  tape.backward(pml::ad::sum(y * tape.constant(rows_of<T>(c.a.at("upstream"), batch))));
  for (const auto& name : inputs) {
    const std::string key = "grad_" + name + suffix<T>();
    if (!c.has(key)) continue;
    INFO("gradient of " << name);
    const Var<T> leaf = v.at(name);
    CHECK(discrepancy<T>(leaf.adjoint(), rows_of<T>(c.a.at(key), leaf.rows())) <= tolerance<T>());
  }
}

Window2d window(const Case& c, bool dilation = true) {
  return Window2d{c.i("kh"), c.i("kw"), c.i("sh"), c.i("sw"), c.i("ph"), c.i("pw"), dilation ? c.i("dh") : 1, dilation ? c.i("dw") : 1};
}

template <class T> int run_kind(const std::string& kind) {
  int count = 0;
  for (const Case& c : fixtures()) {
    if (c.kind != kind) continue;
    ++count;
    if (kind == "conv2d") {
      const ImageShape in{c.i("cin"), c.i("h"), c.i("w")};
      std::vector<std::string> names{"x", "weight"};
      if (c.i("bias")) names.push_back("bias");
      compare<T>(c, names, c.i("n"), [&](std::map<std::string, Var<T>>& v) {
        return pml::ad::conv2d(v["x"], in, v["weight"], c.i("bias") ? v["bias"] : Var<T>{}, window(c));
      });
    } else if (kind == "conv_transpose2d") {
      const ImageShape in{c.i("cin"), c.i("h"), c.i("w")};
      std::vector<std::string> names{"x", "weight"};
      if (c.i("bias")) names.push_back("bias");
      compare<T>(c, names, c.i("n"), [&](std::map<std::string, Var<T>>& v) {
        return pml::ad::conv_transpose2d(v["x"], in, v["weight"], c.i("bias") ? v["bias"] : Var<T>{}, window(c), c.i("oph"), c.i("opw"));
      });
    } else if (kind == "max_pool2d") {
      const ImageShape in{c.i("c"), c.i("h"), c.i("w")};
      compare<T>(c, {"x"}, c.i("n"), [&](std::map<std::string, Var<T>>& v) { return pml::ad::max_pool2d(v["x"], in, window(c)).value; });
    } else if (kind == "max_unpool2d") {
      const ImageShape in{c.i("c"), c.i("h"), c.i("w")};
      compare<T>(c, {"x"}, c.i("n"), [&](std::map<std::string, Var<T>>& v) {
        const auto pooled = pml::ad::max_pool2d(v["x"], in, window(c));
        return pml::ad::max_unpool2d(pooled.value, pooled.indices, in);
      });
    } else if (kind == "avg_pool2d") {
      const ImageShape in{c.i("c"), c.i("h"), c.i("w")};
      compare<T>(c, {"x"}, c.i("n"), [&](std::map<std::string, Var<T>>& v) {
        return pml::ad::avg_pool2d(v["x"], in, window(c, false), c.i("cip") != 0);
      });
    } else if (kind == "batch_norm_train") {
      compare<T>(c, {"x", "weight", "bias"}, c.i("n"), [&](std::map<std::string, Var<T>>& v) {
        const auto z = pml::ad::batch_standardize(v["x"], c.i("c"), c.p.at("eps"));
        return pml::ad::channel_affine(z.value, v["weight"], v["bias"]);
      });
    } else if (kind == "batch_norm_eval") {
      compare<T>(c, {"x", "weight", "bias", "running_mean", "running_var"}, c.i("n"), [&](std::map<std::string, Var<T>>& v) {
        // eval mode as the layer builds it: scale = γ / √(σ²_run + ε), shift = β − μ_run · scale
        const Var<T> scale = v["weight"] / pml::ad::sqrt(v["running_var"] + v["x"].tape->constant(1, c.i("c"), static_cast<T>(c.p.at("eps"))));
        return pml::ad::channel_affine(v["x"], scale, v["bias"] - v["running_mean"] * scale);
      });
    }
  }
  return count;
}

}  // namespace

TEST_CASE("conv2d matches PyTorch over a grid of shapes, strides, paddings and dilations", "[autodiff][conv]") {
  CHECK(run_kind<double>("conv2d") >= 8);
  CHECK(run_kind<float>("conv2d") >= 8);
}

TEST_CASE("conv_transpose2d matches PyTorch (strides, paddings, dilation, output padding)", "[autodiff][conv]") {
  CHECK(run_kind<double>("conv_transpose2d") >= 4);
  CHECK(run_kind<float>("conv_transpose2d") >= 4);
}

TEST_CASE("max_pool2d, its indices and max_unpool2d match PyTorch", "[autodiff][pool]") {
  CHECK(run_kind<double>("max_pool2d") == 3);
  CHECK(run_kind<float>("max_pool2d") == 3);
  CHECK(run_kind<double>("max_unpool2d") == 3);
  CHECK(run_kind<float>("max_unpool2d") == 3);
  for (const Case& c : fixtures()) {
    if (c.kind != "max_pool2d_indices") continue;
    Tape<double> tape;
    const ImageShape in{c.i("c"), c.i("h"), c.i("w")};
    const auto pooled = pml::ad::max_pool2d(tape.constant(rows_of<double>(c.a.at("x"), c.i("n"))), in, window(c));
    // PyTorch's index is within the channel's plane (h·W + w); pml's is the image's column (c·H·W + h·W + w)
    const Eigen::MatrixXd torch_idx = rows_of<double>(c.a.at("indices"), c.i("n"));
    const Index plane = pooled.shape.height * pooled.shape.width;
    for (Index j = 0; j < torch_idx.cols(); ++j)
      for (Index k = 0; k < torch_idx.rows(); ++k)
        CHECK(pooled.indices.value()(k, j) == torch_idx(k, j) + static_cast<double>((j / plane) * in.height * in.width));
  }
}

TEST_CASE("avg_pool2d and global average pooling match PyTorch", "[autodiff][pool]") {
  CHECK(run_kind<double>("avg_pool2d") == 4);
  CHECK(run_kind<float>("avg_pool2d") == 4);
  // global average pooling is the mean of each channel
  pml::Rng rng(5);
  Eigen::MatrixXd x(3, 2 * 4 * 5);
  for (Index i = 0; i < x.size(); ++i) x(i) = pml::random::uniform<double>(rng);
  Tape<double> tape;
  const Var<double> g = pml::ad::global_avg_pool2d(tape.constant(x), ImageShape{2, 4, 5});
  REQUIRE(g.size_is(3, 2));
  for (Index c = 0; c < 2; ++c) CHECK((g.value().col(c) - x.middleCols(c * 20, 20).rowwise().mean()).cwiseAbs().maxCoeff() < 1e-15);
}

TEST_CASE("batch normalisation's ops match PyTorch in training and evaluation mode, far from the origin", "[autodiff][batchnorm]") {
  CHECK(run_kind<double>("batch_norm_train") == 3);
  CHECK(run_kind<float>("batch_norm_train") == 3);
  CHECK(run_kind<double>("batch_norm_eval") == 3);
  CHECK(run_kind<float>("batch_norm_eval") == 3);
  // the statistics node: mean, biased variance, 1/sqrt(var + eps); PyTorch's running update from them
  for (const Case& c : fixtures()) {
    if (c.kind != "batch_norm_running") continue;
    Tape<double> tape;
    const auto z = pml::ad::batch_standardize(tape.constant(rows_of<double>(c.a.at("x"), c.i("n"))), c.i("c"), 1e-5);
    const double m = static_cast<double>(c.i("n") * std::max<Index>(1, c.i("s") * c.i("s")));
    for (Index k = 0; k < c.i("c"); ++k) {
      const double mean = z.stats.value()(0, k), var = z.stats.value()(1, k);
      CHECK(0.9 * c.a.at("running_mean")[k] + 0.1 * mean == Approx(c.a.at("new_mean")[k]).epsilon(1e-13));
      CHECK(0.9 * c.a.at("running_var")[k] + 0.1 * var * m / (m - 1) == Approx(c.a.at("new_var")[k]).epsilon(1e-13));
      CHECK(z.stats.value()(2, k) == Approx(1 / std::sqrt(var + 1e-5)).epsilon(1e-15));
    }
  }
}

namespace {
template <class T> pml::Matrix<T> random_matrix(pml::Rng& rng, Index r, Index c) {
  pml::Matrix<T> m(r, c);
  for (Index i = 0; i < m.size(); ++i) m(i) = T(2) * pml::random::uniform<T>(rng) - T(1);
  return m;
}
template <class T> void gradcheck_image_ops() {
  pml::Rng rng(11);
  using M = pml::Matrix<T>;
  using V = Var<T>;
  auto check = [](const char* name, auto f, const std::vector<M>& in) {
    const auto r = pml::ad::gradcheck<T>(f, in);
    INFO(name << ": max relative error " << r.max_rel_error);
    CHECK(r.passed);
  };
  const ImageShape in{2, 5, 4};
  const Window2d w{3, 2, 2, 1, 1, 1, 1, 1};
  const M x = random_matrix<T>(rng, 3, in.size());
  // distinct values at least 0.05 apart, so that no finite-difference step changes which entry is a window's maximum
  M spaced(3, in.size());
  for (Index i = 0; i < spaced.size(); ++i) spaced(i) = T(-1.5) + T(0.05) * static_cast<T>((i * 37) % spaced.size());
  check("conv2d", [&](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::conv2d(v[0], in, v[1], v[2], w))); },
        {x, random_matrix<T>(rng, 3, 2 * 3 * 2), random_matrix<T>(rng, 1, 3)});
  const Window2d wd{2, 2, 1, 2, 1, 0, 2, 1};
  check("conv2d (dilated)", [&](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::conv2d(v[0], in, v[1], V{}, wd))); },
        {x, random_matrix<T>(rng, 2, 2 * 2 * 2)});
  const Window2d wt = Window2d::square(3, 2, 1);
  check("conv_transpose2d", [&](Tape<T>&, std::vector<V>& v) {
    return pml::ad::sum(pml::ad::square(pml::ad::conv_transpose2d(v[0], in, v[1], v[2], wt, 1, 0)));
  }, {x, random_matrix<T>(rng, 2, 3 * 9), random_matrix<T>(rng, 1, 3)});
  check("max_pool2d", [&](Tape<T>&, std::vector<V>& v) {
    return pml::ad::sum(pml::ad::square(pml::ad::max_pool2d(v[0], in, Window2d::square(2, 2)).value));
  }, {spaced});
  check("max_unpool2d", [&](Tape<T>&, std::vector<V>& v) {
    // non-overlapping windows: with overlap a pixel two windows chose gets its gradient twice (as in
    // PyTorch, whose values the fixtures compare), which is not the derivative of the composition
    const auto p = pml::ad::max_pool2d(v[0], in, Window2d::square(2, 2));
    return pml::ad::sum(pml::ad::square(pml::ad::max_unpool2d(p.value, p.indices, in)));
  }, {spaced});
  check("avg_pool2d", [&](Tape<T>&, std::vector<V>& v) {
    return pml::ad::sum(pml::ad::square(pml::ad::avg_pool2d(v[0], in, Window2d::square(3, 2, 1), false)));
  }, {x});
  check("global_avg_pool2d", [&](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::global_avg_pool2d(v[0], in))); }, {x});
  const M up = random_matrix<T>(rng, 3, in.size());
  check("batch_standardize + channel_affine", [&](Tape<T>& t, std::vector<V>& v) {
    const auto z = pml::ad::batch_standardize(v[0], 2);
    return pml::ad::sum(pml::ad::channel_affine(z.value, v[1], v[2]) * t.constant(up));
  }, {x, random_matrix<T>(rng, 1, 2), random_matrix<T>(rng, 1, 2)});
  check("reshape + add_channel_bias", [&](Tape<T>&, std::vector<V>& v) {
    return pml::ad::sum(pml::ad::square(pml::ad::add_channel_bias(pml::ad::reshape(v[0], 6, 20), v[1])));
  }, {x, random_matrix<T>(rng, 1, 4)});
}
}  // namespace

TEST_CASE("conv2d and conv_transpose2d give an image the same bits alone or in a batch", "[autodiff][conv]") {
  auto run = []<class T>(T) {
    pml::Rng rng(21);
    struct Shape {
      Index c, h, m;
      Window2d w;
      bool transposed;
    };
    // a batch of 37: several blocks of rows and a last block that is not a whole number of the kernel's panels
    for (const Shape& s : {Shape{6, 14, 16, Window2d::square(5), false}, Shape{8, 2, 4, Window2d::square(3, 1, 1), false},
                           Shape{3, 9, 5, Window2d{3, 2, 2, 1, 1, 0, 1, 2}, false}, Shape{8, 4, 4, Window2d::square(4, 2, 1), true},
                           Shape{4, 7, 1, Window2d::square(4, 2, 1), true}}) {
      const Index taps = s.w.kernel_h * s.w.kernel_w;
      const pml::Matrix<T> x = random_matrix<T>(rng, 37, s.c * s.h * s.h);
      const pml::Matrix<T> w = s.transposed ? random_matrix<T>(rng, s.c, s.m * taps) : random_matrix<T>(rng, s.m, s.c * taps);
      const pml::Matrix<T> b = random_matrix<T>(rng, 1, s.m);
      auto conv = [&](const pml::Matrix<T>& rows) {
        Tape<T> tape;
        const ImageShape in{s.c, s.h, s.h};
        const Var<T> y = s.transposed ? pml::ad::conv_transpose2d(tape.constant(rows), in, tape.constant(w), tape.constant(b), s.w)
                                      : pml::ad::conv2d(tape.constant(rows), in, tape.constant(w), tape.constant(b), s.w);
        return pml::Matrix<T>(y.value());
      };
      const pml::Matrix<T> all = conv(x);
      for (const Index r : {0, 2, 17, 36}) {
        INFO("c " << s.c << ", h " << s.h << ", m " << s.m << (s.transposed ? ", transposed" : "") << ", row " << r);
        CHECK((all.row(r) - conv(x.middleRows(r, 1))).cwiseAbs().maxCoeff() == T(0));
      }
    }
  };
  run(double{});
  run(float{});
}

TEST_CASE("every image op passes gradcheck in double and float", "[autodiff][gradcheck]") {
  gradcheck_image_ops<double>();
  gradcheck_image_ops<float>();
}

TEST_CASE("image ops throw naming the op and the shapes", "[autodiff][errors]") {
  Tape<double> tape;
  const Var<double> x = tape.constant(Eigen::MatrixXd::Zero(2, 3 * 4 * 4));
  const Var<double> w = tape.constant(Eigen::MatrixXd::Zero(5, 3 * 9)), b = tape.constant(Eigen::MatrixXd::Zero(1, 5));
  CHECK_THROWS_WITH(pml::ad::conv2d(x, ImageShape{2, 4, 4}, w, b, Window2d::square(3)), Contains("ad::conv2d") && Contains("48 columns") && Contains("2x4x4"));
  CHECK_THROWS_WITH(pml::ad::conv2d(x, ImageShape{3, 4, 4}, w, b, Window2d::square(2)), Contains("ad::conv2d") && Contains("weight is 5x27") && Contains("C_out x 12"));
  CHECK_THROWS_WITH(pml::ad::conv2d(x, ImageShape{3, 4, 4}, w, b, Window2d::square(3, 0)), Contains("stride"));
  CHECK_THROWS_WITH(pml::ad::conv2d(x, ImageShape{3, 4, 4}, w, b, Window2d::square(3, 1, -1)), Contains("padding"));
  CHECK_THROWS_WITH(pml::ad::conv2d(x, ImageShape{3, 4, 4}, w, b, Window2d::square(3, 1, 0, 3)), Contains("does not fit an image of 4x4"));
  const Var<double> wide_bias = tape.constant(Eigen::MatrixXd::Zero(1, 4));
  CHECK_THROWS_WITH(pml::ad::conv2d(x, ImageShape{3, 4, 4}, w, wide_bias, Window2d::square(3)), Contains("ad::conv2d") && Contains("bias is 1x4, expected 1x5"));
  CHECK_THROWS_WITH(pml::ad::conv_transpose2d(x, ImageShape{3, 4, 4}, tape.constant(Eigen::MatrixXd::Zero(2, 18)), b, Window2d::square(3)),
                    Contains("ad::conv_transpose2d") && Contains("weight is 2x18"));
  CHECK_THROWS_WITH(pml::ad::conv_transpose2d(x, ImageShape{3, 4, 4}, tape.constant(Eigen::MatrixXd::Zero(3, 18)), Var<double>{}, Window2d::square(3, 2), 2, 0),
                    Contains("output padding"));
  CHECK_THROWS_WITH(pml::ad::max_pool2d(x, ImageShape{3, 4, 4}, Window2d::square(2, 2, 2)), Contains("ad::max_pool2d") && Contains("half the kernel"));
  CHECK_THROWS_WITH(pml::ad::avg_pool2d(x, ImageShape{3, 4, 4}, Window2d::square(2, 2, 0, 2)), Contains("ad::avg_pool2d") && Contains("dilation"));
  CHECK_THROWS_WITH(pml::ad::batch_standardize(x, 5), Contains("ad::batch_standardize") && Contains("5 channels"));
  CHECK_THROWS_WITH(pml::ad::batch_standardize(tape.constant(Eigen::MatrixXd::Zero(1, 3)), 3), Contains("more than one value"));
  CHECK_THROWS_WITH(pml::ad::reshape(x, 5, 5), Contains("ad::reshape") && Contains("2x48"));
  const auto pooled = pml::ad::max_pool2d(x, ImageShape{3, 4, 4}, Window2d::square(2, 2));
  CHECK_THROWS_WITH(pml::ad::max_unpool2d(pooled.value, pooled.indices, ImageShape{1, 4, 4}), Contains("ad::max_unpool2d") && Contains("1x4x4"));
  CHECK_THROWS_WITH(pml::ad::col2im(x, ImageShape{3, 4, 4}, Window2d::square(3)), Contains("ad::col2im"));
  // a dilated window that falls between the pixels: refused (it would have no maximum)
  const Var<double> tiny = tape.constant(Eigen::MatrixXd::Ones(2, 4));
  CHECK_THROWS_WITH(pml::ad::max_pool2d(tiny, ImageShape{1, 2, 2}, Window2d{2, 2, 1, 1, 1, 1, 3, 3}), Contains("ad::max_pool2d") && Contains("holds no pixel"));
  // unpooling indices must be integer columns of the output and carry no gradient
  const Var<double> as_variable = tape.variable(pooled.indices.value());
  CHECK_THROWS_WITH(pml::ad::max_unpool2d(pooled.value, as_variable, ImageShape{3, 4, 4}), Contains("ad::max_unpool2d") && Contains("constant"));
  Eigen::MatrixXd fractional = pooled.indices.value();
  fractional(1, 2) += 0.5;
  CHECK_THROWS_WITH(pml::ad::max_unpool2d(pooled.value, tape.constant(fractional), ImageShape{3, 4, 4}), Contains("at entry 5"));
  CHECK_THROWS_WITH(pml::ad::conv_transpose2d(x, ImageShape{3, 4, 4}, tape.constant(Eigen::MatrixXd::Zero(3, 18)), Var<double>{}, Window2d::square(3, 1, 0, 2), 1, 0),
                    Contains("output padding must be in [0, stride)"));
  CHECK_THROWS_WITH(pml::ad::conv2d(x, ImageShape{3, 4, 4}, w, b, Window2d::square(0)), Contains("kernel size"));
  // an empty batch is a valid (empty) batch
  const Var<double> none = pml::ad::conv2d(tape.constant(Eigen::MatrixXd::Zero(0, 48)), ImageShape{3, 4, 4}, w, b, Window2d::square(3));
  CHECK(none.size_is(0, 5 * 2 * 2));
}

TEST_CASE("a steady-state convolutional step on a reused tape allocates nothing", "[autodiff][alloc]") {
  pml::Rng rng(3);
  const ImageShape in{1, 12, 12};
  const Eigen::MatrixXf x = random_matrix<float>(rng, 16, in.size()), w1 = random_matrix<float>(rng, 4, 9), b1 = random_matrix<float>(rng, 1, 4),
                        wt = random_matrix<float>(rng, 4, 2 * 16), gamma = random_matrix<float>(rng, 1, 2), beta = random_matrix<float>(rng, 1, 2);
  Tape<float> tape;
  float loss = 0;
  auto step = [&] {
    tape.reset();
    const Var<float> vx = tape.constant(x), vw1 = tape.variable(w1), vb1 = tape.variable(b1), vwt = tape.variable(wt),
                     vg = tape.variable(gamma), vb = tape.variable(beta);
    const Var<float> h = pml::ad::relu(pml::ad::conv2d(vx, in, vw1, vb1, Window2d::square(3, 1, 1)));
    const auto p = pml::ad::max_pool2d(h, ImageShape{4, 12, 12}, Window2d::square(2, 2));
    const Var<float> a = pml::ad::avg_pool2d(p.value, p.shape, Window2d::square(3, 1, 1));
    const Var<float> u = pml::ad::conv_transpose2d(a, p.shape, vwt, Var<float>{}, Window2d::square(4, 2, 1));
    const auto z = pml::ad::batch_standardize(u, 2);
    const Var<float> l = pml::ad::mean(pml::ad::square(pml::ad::channel_affine(z.value, vg, vb)));
    tape.backward(l);
    loss = l.value()(0, 0);
  };
  step();  // the first step sizes the arenas
  const long before = pml_test::allocations.load();
  Eigen::internal::set_is_malloc_allowed(false);
  step();
  step();
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(pml_test::allocations.load() - before == 0);
  CHECK(std::isfinite(loss));
}
