// nn::LSTM and nn::GRU (and the cell ops under them) against PyTorch's torch.nn.LSTM / GRU kernels on the
// fixtures of tests/fixtures/make_torch_layers.py (<= 1e-12 double, <= 1e-5 float), gradient checks of the
// cells, truncated BPTT (state carried between chunks equals one long pass), shape errors, no allocation
// in a steady step.
#define PML_COUNTING_ALLOCATOR_DECLARE_ONLY  // test_convolution.cpp defines the counting allocator
#include "counting_allocator.hpp"  // first: the same Eigen settings in every file of test_layers
#include <catch2/catch.hpp>
#include <limits>

#include "pml/nn/recurrent.hpp"
#include "pml/autodiff/gradcheck.hpp"
#include "pml/nn/gradcheck.hpp"
#include "torch_layers_fixture.hpp"

using Catch::Matchers::Contains;
using pml::Index;
using pml::ad::Tape;
using pml::ad::Var;

namespace {
template <class T> double discrepancy(const pml::Matrix<T>& got, const pml::Matrix<T>& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  return static_cast<double>((got - want).cwiseAbs().maxCoeff()) / std::max(1.0, static_cast<double>(want.cwiseAbs().maxCoeff()));
}
/// An r x c matrix of U(-1, 1) draws.
template <class T> pml::Matrix<T> uniform_matrix(pml::Rng& rng, Index r, Index c) {
  pml::Matrix<T> out(r, c);
  for (Index i = 0; i < out.size(); ++i) out(i) = T(2) * pml::random::uniform<T>(rng) - T(1);
  return out;
}
template <class T> constexpr double tolerance() { return sizeof(T) == 8 ? 1e-12 : 1e-5; }

template <class T, class Layer> void compare(const pml_test::Case& c, bool lstm) {
  using pml_test::rows_of;
  const std::string sfx = sizeof(T) == 8 ? "" : "_f32";
  const Index n = c.i("n"), f = c.i("f"), h = c.i("h");
  pml::Rng rng(1);
  Layer layer(f, h, rng);
  layer.weight_ih().value = rows_of<T>(c.a.at("weight_ih"), (lstm ? 4 : 3) * h);
  layer.weight_hh().value = rows_of<T>(c.a.at("weight_hh"), (lstm ? 4 : 3) * h);
  const pml::Matrix<T> bih = rows_of<T>(c.a.at("bias_ih"), 1), bhh = rows_of<T>(c.a.at("bias_hh"), 1);
  if constexpr (requires { layer.bias_ih(); }) {
    layer.bias_ih().value = bih;
    layer.bias_hh().value = bhh;
  } else {
    layer.bias().value = bih + bhh;
  }
  pml::nn::RecurrentState<T> initial;
  if (c.i("given")) {
    initial.h = rows_of<T>(c.a.at("h0"), n);
    if (lstm) initial.c = rows_of<T>(c.a.at("c0"), n);
  }
  Tape<T> tape;
  const Var<T> x = tape.variable(rows_of<T>(c.a.at("x"), n));
  const auto out = layer.forward(tape, x, initial);
  REQUIRE(static_cast<Index>(out.hidden.size()) == c.i("t"));
  const pml::Matrix<T> want = rows_of<T>(c.a.at("y" + sfx), n), up = rows_of<T>(c.a.at("upstream"), n);
  INFO((lstm ? "LSTM" : "GRU") << " n=" << n << " t=" << c.i("t") << " f=" << f << " h=" << h << ", " << sizeof(T) * 8 << "-bit");
  Var<T> loss = tape.constant(1, 1, T(0));
  for (Index t = 0; t < c.i("t"); ++t) {
    CHECK(discrepancy<T>(out.hidden[static_cast<std::size_t>(t)].value(), want.middleCols(t * h, h)) <= tolerance<T>());
    loss = loss + pml::ad::sum(out.hidden[static_cast<std::size_t>(t)] * tape.constant(up.middleCols(t * h, h)));
  }
  tape.backward(loss);
  CHECK(discrepancy<T>(x.adjoint(), rows_of<T>(c.a.at("grad_x" + sfx), n)) <= tolerance<T>());
  CHECK(discrepancy<T>(layer.weight_ih().grad, rows_of<T>(c.a.at("grad_weight_ih" + sfx), layer.weight_ih().value.rows())) <= tolerance<T>());
  CHECK(discrepancy<T>(layer.weight_hh().grad, rows_of<T>(c.a.at("grad_weight_hh" + sfx), layer.weight_hh().value.rows())) <= tolerance<T>());
  if constexpr (requires { layer.bias_ih(); }) {
    CHECK(discrepancy<T>(layer.bias_ih().grad, rows_of<T>(c.a.at("grad_bias_ih" + sfx), 1)) <= tolerance<T>());
    CHECK(discrepancy<T>(layer.bias_hh().grad, rows_of<T>(c.a.at("grad_bias_hh" + sfx), 1)) <= tolerance<T>());
  } else {  // one bias b = b_ih + b_hh: its gradient is each of PyTorch's
    CHECK(discrepancy<T>(layer.bias().grad, rows_of<T>(c.a.at("grad_bias_ih" + sfx), 1)) <= tolerance<T>());
    CHECK(discrepancy<T>(layer.bias().grad, rows_of<T>(c.a.at("grad_bias_hh" + sfx), 1)) <= tolerance<T>());
  }
}
}  // namespace

TEST_CASE("LSTM and GRU match PyTorch's kernels, forward and backward, from zero and given states", "[nn][recurrent]") {
  int cases = 0;
  for (const auto& c : pml_test::fixtures()) {
    if (c.kind == "lstm") {
      compare<double, pml::nn::LSTM<double>>(c, true);
      compare<float, pml::nn::LSTM<float>>(c, true);
      ++cases;
    } else if (c.kind == "gru") {
      compare<double, pml::nn::GRU<double>>(c, false);
      compare<float, pml::nn::GRU<float>>(c, false);
      ++cases;
    }
  }
  CHECK(cases == 6);
}

TEST_CASE("the recurrent cells pass gradcheck in double and float", "[nn][recurrent][gradcheck]") {
  auto run = []<class T>(T) {
    pml::Rng rng(4);
    auto m = [&](Index r, Index c) { return uniform_matrix<T>(rng, r, c); };
    using V = Var<T>;
    const pml::Matrix<T> up = m(3, 8);
    auto lstm = pml::ad::gradcheck<T>([&](Tape<T>& t, std::vector<V>& v) { return pml::ad::sum(pml::ad::lstm_cell(v[0], v[1]) * t.constant(up)); },
                                      {m(3, 16), m(3, 4)});
    INFO("lstm_cell " << lstm.max_rel_error);
    CHECK(lstm.passed);
    const pml::Matrix<T> up2 = m(3, 4);
    auto gru = pml::ad::gradcheck<T>([&](Tape<T>& t, std::vector<V>& v) { return pml::ad::sum(pml::ad::gru_cell(v[0], v[1], v[2]) * t.constant(up2)); },
                                     {m(3, 12), m(3, 12), m(3, 4)});
    INFO("gru_cell " << gru.max_rel_error);
    CHECK(gru.passed);
  };
  run(double{});
  run(float{});
}

TEST_CASE("ad::lstm_sequence is the chain of lstm_cell steps and passes gradcheck, with and without the hidden mask", "[nn][recurrent][gradcheck]") {
  auto run = []<class T>(T) {
    pml::Rng rng(8);
    auto m = [&](Index r, Index c) { return uniform_matrix<T>(rng, r, c); };
    using V = Var<T>;
    const Index n = 3, f = 2, h = 4, steps = 5;
    const pml::Matrix<T> x = m(n, steps * f), weight = m(4 * h, f + h + 1), h0 = m(n, h), c0 = m(n, h), up = m(steps * n, 2 * h);
    pml::Matrix<T> mask = m(n, h);
    mask = (mask.array() > T(0)).template cast<T>() * T(2);  // inverted dropout's 0 or 1/(1 - p), p = 1/2
    for (const bool masked : {false, true}) {
      INFO("masked " << masked);
      // the reference: lstm_cell step by step
      Tape<T> tape;
      V hs = tape.constant(h0), cs = tape.constant(c0);
      const V xv = tape.constant(x), w = tape.constant(weight), mk = tape.constant(mask);
      const V wih = tape.constant(weight.leftCols(f)), whh = tape.constant(weight.middleCols(f, h)), b = tape.constant(weight.col(f + h).transpose());
      V state = pml::ad::concat_cols(hs, cs);
      if (masked) state = pml::ad::concat_cols(state, mk);
      const V seq = pml::ad::lstm_sequence(xv, w, state, steps);
      REQUIRE(seq.rows() == steps * n);
      REQUIRE(seq.cols() == 7 * h + f + 1);
      for (Index t = 0; t < steps; ++t) {
        const V hin = masked ? pml::ad::mask_mul(hs, mk) : hs;
        const V hc = pml::ad::lstm_cell(pml::ad::matmul_nt(pml::ad::slice_cols(xv, t * f, f), wih) + pml::ad::matmul_nt(hin, whh) + b, cs);
        hs = pml::ad::slice_cols(hc, 0, h);
        cs = pml::ad::slice_cols(hc, h, h);
        CHECK(discrepancy<T>(pml::ad::block(seq, t * n, 0, n, h).value(), hs.value()) < 100 * std::numeric_limits<T>::epsilon());
        CHECK(discrepancy<T>(pml::ad::block(seq, t * n, h, n, h).value(), cs.value()) < 100 * std::numeric_limits<T>::epsilon());
      }
      // gradients to x, [W_ih | W_hh | b] and [h_0 c_0] through the outputs h_t and c_t of every step
      auto check = pml::ad::gradcheck<T>(
          [&](Tape<T>& t, std::vector<V>& v) {
            V st = v[2];
            if (masked) st = pml::ad::concat_cols(st, t.constant(mask));
            const V out = pml::ad::lstm_sequence(v[0], v[1], st, steps);
            return pml::ad::sum(pml::ad::block(out, 0, 0, steps * n, 2 * h) * t.constant(up));
          },
          {x, weight, (pml::Matrix<T>(n, 2 * h) << h0, c0).finished()});
      INFO("lstm_sequence " << check.max_rel_error);
      CHECK(check.passed);
      // one input needing a gradient at a time (nn::LSTM's pass: only the weights), the others constants
      const pml::Matrix<T> s0 = (pml::Matrix<T>(n, 2 * h) << h0, c0).finished();
      for (int which = 0; which < 3; ++which) {
        INFO("only input " << which);
        auto one = pml::ad::gradcheck<T>(
            [&](Tape<T>& t, std::vector<V>& v) {
              const V xin = which == 0 ? v[0] : t.constant(x), win = which == 1 ? v[0] : t.constant(weight);
              V st = which == 2 ? v[0] : t.constant(s0);
              if (masked) st = pml::ad::concat_cols(st, t.constant(mask));
              const V out = pml::ad::lstm_sequence(xin, win, st, steps);
              return pml::ad::sum(pml::ad::block(out, 0, 0, steps * n, 2 * h) * t.constant(up));
            },
            {which == 0 ? x : which == 1 ? weight : s0});
        INFO("max relative error " << one.max_rel_error);
        CHECK(one.passed);
      }
    }
    // the ops the layer builds it with: a block and a transpose
    const pml::Matrix<T> up2 = m(2, 3), up3 = m(6, 2);
    auto blk = pml::ad::gradcheck<T>([&](Tape<T>& t, std::vector<V>& v) { return pml::ad::sum(pml::ad::block(v[0], 1, 2, 2, 3) * t.constant(up2)); },
                                     {m(4, 6)});
    CHECK(blk.passed);
    auto tr = pml::ad::gradcheck<T>([&](Tape<T>& t, std::vector<V>& v) { return pml::ad::sum(pml::ad::transpose(v[0]) * t.constant(up3)); }, {m(2, 6)});
    CHECK(tr.passed);
    Tape<T> tape;
    const pml::Matrix<T> a = m(2, 6);
    CHECK(pml::ad::transpose(tape.constant(a)).value() == a.transpose());
    CHECK(pml::ad::block(tape.constant(a), 1, 3, 1, 2).value() == a.block(1, 3, 1, 2));
  };
  run(double{});
  run(float{});
}

TEST_CASE("truncated BPTT: chunks carrying the state give the one long pass's outputs, gradients stop at the chunk", "[nn][recurrent]") {
  pml::Rng rng(5);
  pml::nn::LSTM<double> lstm(3, 5, rng);
  Eigen::MatrixXd x(4, 3 * 10);
  for (Index i = 0; i < x.size(); ++i) x(i) = std::sin(0.37 * double(i));
  Tape<double> tape;
  const auto whole = lstm.forward(tape, tape.constant(x));
  // two chunks of 6 and 4 steps
  Tape<double> t1, t2;
  const auto first = lstm.forward(t1, t1.constant(x.leftCols(18)));
  const auto second = lstm.forward(t2, t2.variable(x.rightCols(12)), first.state());
  CHECK((second.h.value() - whole.h.value()).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((second.c.value() - whole.c.value()).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((second.hidden[1].value() - whole.hidden[7].value()).cwiseAbs().maxCoeff() < 1e-14);
  // the second chunk's gradient reaches its own inputs and the weights, not the first chunk (a constant state)
  t2.backward(pml::ad::sum(second.h));
  CHECK(lstm.weight_hh().grad.cwiseAbs().maxCoeff() > 0);
  pml::nn::GRU<double> gru(3, 5, rng);
  const auto g_whole = gru.forward(tape, tape.constant(x));
  Tape<double> t3, t4;
  const auto g1 = gru.forward(t3, t3.constant(x.leftCols(9)));
  const auto g2 = gru.forward(t4, t4.constant(x.rightCols(21)), g1.state());
  CHECK((g2.h.value() - g_whole.h.value()).cwiseAbs().maxCoeff() < 1e-14);
  CHECK_FALSE(g1.state().c.size());
}

TEST_CASE("variational dropout: one input and one hidden mask per sequence, the same at every step", "[nn][recurrent][dropout]") {
  pml::Rng rng(8);
  pml::nn::LSTM<double> lstm(2, 3, rng);
  const Index n = 4, steps = 5;
  Eigen::MatrixXd x(n, 2 * steps);
  pml::random::fill_normal(rng, x);
  Tape<double> tape;
  pml::Rng draws(9);
  CHECK_FALSE(pml::nn::variational_masks<double>(tape, draws, n, 2, 3, 0.0).input.tape);  // p = 0: none
  const auto masks = pml::nn::variational_masks<double>(tape, draws, n, 2, 3, 0.4);
  const Eigen::MatrixXd mi = masks.input.value(), mh = masks.hidden.value();
  // each entry 0 or 1/(1-p)
  CHECK(((mi.array() == 0) || ((mi.array() - 1 / 0.6).abs() < 1e-15)).all());
  CHECK(((mh.array() == 0) || ((mh.array() - 1 / 0.6).abs() < 1e-15)).all());
  const auto out = lstm.forward(tape, tape.constant(x), {}, masks);
  // the LSTM equations by hand with the masks applied at every step
  const Eigen::MatrixXd wih = lstm.weight_ih().value, whh = lstm.weight_hh().value, b = lstm.bias().value;
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(n, 3), c = h;
  auto sigmoid = [](const Eigen::MatrixXd& a) { return Eigen::MatrixXd((1 + (-a.array()).exp()).inverse()); };
  for (Index t = 0; t < steps; ++t) {
    const Eigen::MatrixXd xt = x.middleCols(2 * t, 2).cwiseProduct(mi);
    const Eigen::MatrixXd g = xt * wih.transpose() + h.cwiseProduct(mh) * whh.transpose() + b.replicate(n, 1);
    const Eigen::MatrixXd i = sigmoid(g.middleCols(0, 3)), f = sigmoid(g.middleCols(3, 3)), o = sigmoid(g.middleCols(9, 3));
    const Eigen::MatrixXd gg = g.middleCols(6, 3).array().tanh().matrix();
    c = f.cwiseProduct(c) + i.cwiseProduct(gg);
    h = o.cwiseProduct(Eigen::MatrixXd(c.array().tanh()));
    CHECK((out.hidden[static_cast<std::size_t>(t)].value() - h).cwiseAbs().maxCoeff() < 1e-14);
  }
  // gradients through the masked recurrence, LSTM and GRU
  pml::nn::GRU<double> gru(2, 3, rng);
  for (int which = 0; which < 2; ++which) {
    auto loss = [&] {
      tape.reset();
      pml::Rng fixed(10);
      const auto m = pml::nn::variational_masks<double>(tape, fixed, n, 2, 3, 0.3);
      const auto r = which == 0 ? lstm.forward(tape, tape.constant(x), {}, m) : gru.forward(tape, tape.constant(x), {}, m);
      return pml::ad::sum(pml::ad::square(r.h));
    };
    INFO((which == 0 ? "LSTM" : "GRU"));
    CHECK(pml::nn::parameter_gradcheck(which == 0 ? lstm.parameters() : gru.parameters(), tape, loss) < 1e-6);
  }
  CHECK_THROWS_WITH(pml::nn::variational_masks<double>(tape, draws, n, 2, 3, 1.0), Contains("nn::variational_masks") && Contains("p"));
  tape.reset();
  const auto wrong = pml::nn::variational_masks<double>(tape, draws, n + 1, 2, 3, 0.5);
  CHECK_THROWS_WITH(lstm.forward(tape, tape.constant(x), {}, wrong), Contains("nn::LSTM::forward") && Contains("input mask is 5x2, expected 4x2"));
  CHECK_THROWS_WITH(gru.forward(tape, tape.constant(x), {}, wrong), Contains("nn::GRU::forward") && Contains("mask is 5x"));
}

TEST_CASE("recurrent layers throw naming the layer and the shapes", "[nn][recurrent][errors]") {
  pml::Rng rng(6);
  pml::nn::LSTM<float> lstm(3, 4, rng);
  pml::nn::GRU<float> gru(3, 4, rng);
  Tape<float> tape;
  const Var<float> x = tape.constant(Eigen::MatrixXf::Zero(2, 7));
  CHECK_THROWS_WITH(lstm.forward(tape, x), Contains("nn::LSTM::forward") && Contains("7 columns") && Contains("input size 3"));
  CHECK_THROWS_WITH(gru.forward(tape, x), Contains("nn::GRU::forward") && Contains("7 columns"));
  const Var<float> ok = tape.constant(Eigen::MatrixXf::Zero(2, 6));
  CHECK_THROWS_WITH(lstm.forward(tape, ok, {Eigen::MatrixXf::Zero(3, 4), {}}), Contains("initial hidden state is 3x4, expected 2x4"));
  CHECK_THROWS_WITH(lstm.forward(tape, ok, {{}, Eigen::MatrixXf::Zero(2, 5)}), Contains("initial cell state is 2x5"));
  CHECK_THROWS_WITH(pml::nn::LSTM<float>(0, 4, rng), Contains("nn::LSTM") && Contains("positive"));
  CHECK_THROWS_WITH(pml::ad::lstm_cell(ok, ok), Contains("ad::lstm_cell") && Contains("N x 4H"));
  CHECK_THROWS_WITH(pml::ad::gru_cell(ok, ok, ok), Contains("ad::gru_cell"));
  const Var<float> xs = tape.constant(Eigen::MatrixXf::Zero(2, 6)), weight = tape.constant(Eigen::MatrixXf::Zero(16, 7));
  const Var<float> state = tape.constant(Eigen::MatrixXf::Zero(2, 8));
  CHECK_NOTHROW(pml::ad::lstm_sequence(xs, weight, state, 3));
  CHECK_THROWS_WITH(pml::ad::lstm_sequence(xs, weight, state, 2), Contains("ad::lstm_sequence") && Contains("x is 2x6") && Contains("for 2 steps"));
  CHECK_THROWS_WITH(pml::ad::lstm_sequence(xs, weight, tape.constant(Eigen::MatrixXf::Zero(2, 5)), 3), Contains("state 2x5"));
  CHECK_THROWS_WITH(pml::ad::lstm_sequence(xs, state, state, 3), Contains("weight 2x8"));
  CHECK_THROWS_WITH(pml::ad::lstm_sequence(xs, weight, state, 0), Contains("for 0 steps"));
  Tape<float> other;
  pml::Rng draws(1);
  CHECK_THROWS_WITH(lstm.forward(tape, ok, {}, pml::nn::variational_masks(other, draws, 2, 3, 4, 0.5)),
                    Contains("nn::LSTM::forward") && Contains("another tape"));
  CHECK_THROWS_WITH(pml::ad::block(ok, 1, 0, 2, 6), Contains("ad::block") && Contains("2x6 block at (1, 0)") && Contains("2x6 node"));
}

TEST_CASE("a steady-state LSTM step on a reused tape and output allocates nothing", "[nn][recurrent][alloc]") {
  pml::Rng rng(7);
  pml::nn::LSTM<float> lstm(4, 8, rng);
  pml::nn::GRU<float> gru(8, 6, rng);
  Eigen::MatrixXf x(16, 4 * 12);
  pml::random::fill_uniform(rng, x);
  Tape<float> tape;
  pml::nn::RecurrentOutput<float> out, out2;
  const pml::nn::RecurrentState<float> zero;
  float loss = 0;
  auto step = [&] {
    tape.reset();
    pml::Rng draws(3);
    lstm.forward(tape, tape.constant(x), out, zero, pml::nn::variational_masks(tape, draws, x.rows(), 4, 8, 0.25));
    // the GRU reads the LSTM's last hidden state as a one-step sequence
    gru.forward(tape, out.h, out2, zero);
    const Var<float> l = pml::ad::mean(pml::ad::square(out2.h));
    tape.backward(l);
    loss = l.value()(0, 0);
  };
  step();
  const long before = pml_test::allocations.load();
  Eigen::internal::set_is_malloc_allowed(false);
  step();
  step();
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(pml_test::allocations.load() - before == 0);
  CHECK(std::isfinite(loss));
}
