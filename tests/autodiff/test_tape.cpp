// The autodiff tape: every op's gradient against finite differences (float and double), shape errors,
// and no heap allocation in a steady-state step (global operator new counter + Eigen's malloc hook).
#include "counting_allocator.hpp"  // first: it sets up Eigen's malloc hook (the one file of this executable)
#include <catch2/catch.hpp>
#include <array>


#include "pml/autodiff.hpp"
#include "pml/core/random.hpp"
#include "pml/distributions/kl.hpp"
#include "pml/distributions/scale_mixture_normal.hpp"


using Catch::Matchers::Contains;
using pml::ad::Tape;
using pml::ad::Var;

namespace {
template <class T> pml::Matrix<T> random_matrix(pml::Rng& rng, pml::Index r, pml::Index c, T low = -1, T high = 1) {
  pml::Matrix<T> m(r, c);
  for (pml::Index i = 0; i < m.size(); ++i) m(i) = low + (high - low) * pml::random::uniform<T>(rng);
  return m;
}

template <class T> void check_all_ops() {
  pml::Rng rng(7);
  using M = pml::Matrix<T>;
  const M a = random_matrix<T>(rng, 4, 3), b = random_matrix<T>(rng, 3, 5), c = random_matrix<T>(rng, 4, 3);
  const M row = random_matrix<T>(rng, 1, 3), pos = random_matrix<T>(rng, 4, 3, T(0.5), T(2));
  using V = Var<T>;
  auto check = [](const char* name, auto f, const std::vector<M>& in) {
    const auto r = pml::ad::gradcheck<T>(f, in);
    INFO(name << ": max relative error " << r.max_rel_error);
    CHECK(r.passed);
  };
  check("matmul", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::matmul(v[0], v[1]))); }, {a, b});
  check("add", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(v[0] + v[1])); }, {a, c});
  check("add_row", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(v[0] + v[1])); }, {a, row});
  check("sub", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(v[0] - v[1])); }, {a, c});
  check("mul", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(v[0] * v[1]); }, {a, c});
  check("neg/scale", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(T(3) * pml::ad::square(-v[0])); }, {a});
  check("exp", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::exp(v[0])); }, {a});
  check("log", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::log(v[0])); }, {pos});
  check("sqrt", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::sqrt(v[0])); }, {pos});
  check("tanh", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::tanh(v[0])); }, {a});
  check("sigmoid", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::sigmoid(v[0])); }, {a});
  check("softplus", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::softplus(v[0])); }, {a});
  check("relu", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::relu(v[0]))); }, {pos - M::Constant(4, 3, T(1.2))});
  check("mean", [](Tape<T>&, std::vector<V>& v) { return pml::ad::mean(pml::ad::square(v[0])); }, {a});
  const M bt = random_matrix<T>(rng, 5, 3), at = random_matrix<T>(rng, 4, 5), col = random_matrix<T>(rng, 4, 1);
  check("matmul_tn", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::matmul_tn(v[0], v[1]))); }, {a, c});
  check("matmul_nt", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::matmul_nt(v[0], v[1]))); }, {a, bt});
  check("add_col", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::add_col(v[0], v[1]))); }, {a, col});
  check("div", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(v[0] / v[1]); }, {a, pos});
  check("mul_row", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::mul_row(v[0], v[1]))); }, {a, row});
  check("log1p", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::log1p(v[0])); }, {pos});
  check("leaky_relu", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::leaky_relu(v[0], T(0.1)))); }, {pos - M::Constant(4, 3, T(1.2))});
  check("sum_rows", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::sum_rows(v[0]))); }, {a});
  check("sum_cols", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::sum_cols(v[0]))); }, {a});
  check("log_sum_exp_rows", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::log_sum_exp_rows(v[0]))); }, {a});
  check("softmax", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::softmax(v[0]) * v[1]); }, {a, c});
  check("log_softmax", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::log_softmax(v[0]) * v[1]); }, {a, c});
  check("slice_cols", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::slice_cols(v[0], 1, 2))); }, {a});
  check("concat_cols", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::concat_cols(v[0], v[1]))); }, {a, col});
  const M mask = (random_matrix<T>(rng, 4, 3, T(0), T(1)).array() > T(0.5)).template cast<T>();
  check("mask_mul", [&mask](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::mask_mul(v[0], mask))); }, {a});
  const M targets01 = random_matrix<T>(rng, 4, 3, T(0), T(1));
  check("bce_with_logits", [](Tape<T>&, std::vector<V>& v) { return pml::ad::bce_with_logits(v[0], v[1]); }, {T(3) * a, targets01});
  check("gaussian_nll", [](Tape<T>&, std::vector<V>& v) { return pml::ad::gaussian_nll(v[0], v[1], v[2]); }, {a, c, pos});
  check("softmax_cross_entropy", [](Tape<T>&, std::vector<V>& v) { return pml::ad::softmax_cross_entropy(v[0], v[1]); }, {a, targets01});
  check("kl_standard_normal", [](Tape<T>&, std::vector<V>& v) { return pml::ad::kl_standard_normal(v[0], v[1]); }, {a, c});
  const M eps = random_matrix<T>(rng, 4, 3);
  check("reparameterize", [&eps](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::reparameterize(v[0], v[1], eps))); }, {a, pos});
  check("reparameterize_variance", [&eps](Tape<T>& t, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::reparameterize_variance(v[0], v[1], t.constant(eps)))); },
        {a, pos});
  check("scale_mixture_log_prob", [](Tape<T>&, std::vector<V>& v) { return pml::ad::scale_mixture_log_prob(v[0], T(0.25), T(1), T(0.3)); }, {a});
  check("mean_rows", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::mean_rows(v[0]))); }, {a});
  check("mean_cols", [](Tape<T>&, std::vector<V>& v) { return pml::ad::sum(pml::ad::square(pml::ad::mean_cols(v[0]))); }, {a});
  const M shifted = pos - M::Constant(4, 3, T(1.2));  // away from relu's kink at the finite-difference step
  for (const auto act : {pml::ad::Activation::identity, pml::ad::Activation::relu, pml::ad::Activation::leaky_relu,
                         pml::ad::Activation::tanh, pml::ad::Activation::sigmoid, pml::ad::Activation::softplus}) {
    INFO("activation " << int(act));
    check("bias_activation", [act](Tape<T>&, std::vector<V>& v) {
      return pml::ad::sum(pml::ad::square(pml::ad::bias_activation(v[0], v[1], act, T(0.1))));
    }, {T(2) * shifted, row});
  }
  check("normal_log_prob (shared mean and stddev)", [](Tape<T>&, std::vector<V>& v) {
    return pml::ad::normal_log_prob(v[0], v[1], v[2]);
  }, {a, M::Constant(1, 1, T(0.3)), M::Constant(1, 1, T(1.4))});
  check("normal_log_prob (elementwise)", [](Tape<T>&, std::vector<V>& v) { return pml::ad::normal_log_prob(v[0], v[1], v[2]); }, {a, c, pos});
  check("normal_log_prob (shared stddev)", [](Tape<T>&, std::vector<V>& v) { return pml::ad::normal_log_prob(v[0], v[1], v[2]); },
        {a, c, M::Constant(1, 1, T(0.8))});
  check("mask_mul (mask on the tape)", [&mask](Tape<T>& t, std::vector<V>& v) {
    const V m = t.variable(mask);
    return pml::ad::sum(pml::ad::square(pml::ad::mask_mul(v[0], m)));
  }, {a});
  // a small network: tanh(X W1 + b1) W2, squared error
  const M x = random_matrix<T>(rng, 6, 3), w1 = random_matrix<T>(rng, 3, 4), b1 = random_matrix<T>(rng, 1, 4),
          w2 = random_matrix<T>(rng, 4, 2), y = random_matrix<T>(rng, 6, 2);
  check("mlp", [](Tape<T>&, std::vector<V>& v) {
    const V h = pml::ad::tanh(pml::ad::matmul(v[0], v[1]) + v[2]);
    return pml::ad::mean(pml::ad::square(pml::ad::matmul(h, v[3]) - v[4]));
  }, {x, w1, b1, w2, y});
}
}  // namespace

TEST_CASE("every op passes gradcheck in double and float", "[autodiff][gradcheck]") {
  check_all_ops<double>();
  check_all_ops<float>();
}

TEST_CASE("adjoints accumulate over repeated uses; gradcheck can fail", "[autodiff][gradcheck]") {
  // x used twice: d/dx sum(x * x) = 2x only if both uses accumulate into the same adjoint
  Tape<double> tape;
  const Var<double> x = tape.variable(Eigen::MatrixXd::Constant(2, 2, 3.0));
  tape.backward(pml::ad::sum(x * x));
  CHECK((x.adjoint().array() == 6.0).all());
  // at relu's kink finite differences see slope 1/2 while the tape uses 0: gradcheck must report it
  const auto bad = pml::ad::gradcheck<double>(
      [](Tape<double>&, std::vector<Var<double>>& v) { return pml::ad::sum(pml::ad::relu(v[0])); },
      {Eigen::MatrixXd::Zero(1, 1)});
  CHECK_FALSE(bad.passed);
  CHECK(bad.max_abs_error == Approx(0.5));
}

TEST_CASE("products above the small-size threshold (the tape's own GEMM path) match Eigen", "[autodiff]") {
  pml::Rng rng(14);
  const Eigen::MatrixXd a = random_matrix<double>(rng, 20, 30), b = random_matrix<double>(rng, 30, 25), w = random_matrix<double>(rng, 20, 25);
  const Eigen::MatrixXd at = a.transpose(), bt = b.transpose();
  Tape<double> tape;
  // loss = sum(W ⊙ op(A) op(B)): dC = W, so the adjoints have closed forms
  auto check = [&](const Var<double>& va, const Var<double>& vb, const Var<double>& c, const Eigen::MatrixXd& da, const Eigen::MatrixXd& db) {
    CHECK((c.value() - a * b).cwiseAbs().maxCoeff() < 1e-12);
    tape.backward(pml::ad::sum(c * tape.constant(w)));
    CHECK((va.adjoint() - da).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((vb.adjoint() - db).cwiseAbs().maxCoeff() < 1e-12);
  };
  {
    const Var<double> va = tape.variable(a), vb = tape.variable(b);
    check(va, vb, pml::ad::matmul(va, vb), w * b.transpose(), a.transpose() * w);
  }
  {
    tape.reset();
    const Var<double> va = tape.variable(at), vb = tape.variable(b);
    check(va, vb, pml::ad::matmul_tn(va, vb), b * w.transpose(), at * w);
  }
  {
    tape.reset();
    const Var<double> va = tape.variable(a), vb = tape.variable(bt);
    check(va, vb, pml::ad::matmul_nt(va, vb), w * bt, w.transpose() * a);
  }
}

TEST_CASE("Tape::gemm_packed with a right operand packed once matches Eigen, on strided blocks, in float and double", "[autodiff]") {
  auto run = []<class T>(T) {
    using M = pml::Matrix<T>;
    using S = typename Tape<T>::StridedMap;
    pml::Rng rng(15);
    Tape<T> tape;
    const double tol = sizeof(T) == 8 ? 1e-12 : 1e-4;
    // shapes: tiny, one block, and several pieces of C's columns and several blocks of the inner dimension
    for (const auto [m, k, n] : {std::array<pml::Index, 3>{3, 2, 5}, {64, 161, 512}, {70, 700, 300}}) {
      INFO(m << " x " << k << " x " << n);
      // A and C as blocks (leading dimension larger than their rows) of bigger matrices, B as given or transposed
      M a_big = random_matrix<T>(rng, m + 7, k + 2), c_big = random_matrix<T>(rng, m + 5, n + 1);
      const M b = random_matrix<T>(rng, k, n), bt = b.transpose();
      const M a = a_big.block(3, 1, m, k), c0 = c_big.block(2, 0, m, n);
      const M want = c0 + T(0.5) * a * b;
      tape.template pack_rhs<false>(0, S(const_cast<T*>(b.data()), k, n, Eigen::OuterStride<>(k)), m);
      tape.template pack_rhs<true>(1, S(const_cast<T*>(bt.data()), n, k, Eigen::OuterStride<>(n)), m);
      for (const int slot : {0, 1}) {
        M c = c_big;
        tape.gemm_packed(slot, S(c.data() + 2, m, n, Eigen::OuterStride<>(c.rows())), S(a_big.data() + 3 + a_big.rows(), m, k, Eigen::OuterStride<>(a_big.rows())),
                         T(0.5));
        CHECK((c.block(2, 0, m, n) - want).cwiseAbs().maxCoeff() < tol * std::max<T>(1, want.cwiseAbs().maxCoeff()));
        CHECK(c.row(0) == c_big.row(0));  // nothing outside the block written
        CHECK(c.col(n) == c_big.col(n));
      }
      M c = c0;
      CHECK_THROWS_WITH(tape.gemm_packed(0, S(c.data(), m, n - 1, Eigen::OuterStride<>(m)), S(a_big.data(), m, k, Eigen::OuterStride<>(a_big.rows()))),
                        Contains("Tape::gemm_packed") && Contains("packed for"));
    }
  };
  run(double{});
  run(float{});
}

TEST_CASE("Tape::task_gemm matches Eigen in every transposition, on strided blocks, with its own scratch per task", "[autodiff]") {
  auto run = []<class T>(T) {
    using M = pml::Matrix<T>;
    using S = typename Tape<T>::StridedMap;
    pml::Rng rng(16);
    Tape<T> tape;
    tape.prepare_tasks(3, 40);
    for (pml::Index q = 0; q < 3; ++q) std::fill_n(tape.task_scratch(q), 40, T(q));  // each task's scratch is its own
    for (pml::Index q = 0; q < 3; ++q) CHECK(tape.task_scratch(q)[39] == T(q));
    const double tol = sizeof(T) == 8 ? 1e-12 : 1e-4;
    for (const auto& shape : {std::array<pml::Index, 3>{3, 2, 5}, {64, 161, 40}, {300, 17, 25}}) {
      const pml::Index m = shape[0], k = shape[1], n = shape[2];  // not a structured binding: Clang 14's lambdas cannot capture one
      INFO(m << " x " << k << " x " << n);
      const M a = random_matrix<T>(rng, m, k), b = random_matrix<T>(rng, k, n), at = a.transpose(), bt = b.transpose();
      M c_big = random_matrix<T>(rng, m + 4, n + 1);
      const M want = c_big.block(1, 0, m, n) + T(0.5) * a * b;
      auto check = [&](auto gemm) {
        M c = c_big;
        gemm(S(c.data() + 1, m, n, Eigen::OuterStride<>(c.rows())));
        CHECK((c.block(1, 0, m, n) - want).cwiseAbs().maxCoeff() < tol * std::max<T>(1, want.cwiseAbs().maxCoeff()));
        CHECK(c.row(0) == c_big.row(0));  // nothing outside the block written
        CHECK(c.col(n) == c_big.col(n));
      };
      auto map = [](const M& x) { return S(const_cast<T*>(x.data()), x.rows(), x.cols(), Eigen::OuterStride<>(x.rows())); };
      check([&](S c) { tape.template task_gemm<false, false>(0, c, map(a), map(b), T(0.5)); });
      check([&](S c) { tape.template task_gemm<true, false>(1, c, map(at), map(b), T(0.5)); });
      check([&](S c) { tape.template task_gemm<false, true>(2, c, map(a), map(bt), T(0.5)); });
      check([&](S c) { tape.template task_gemm<true, true>(0, c, map(at), map(bt), T(0.5)); });
    }
  };
  run(double{});
  run(float{});
}

TEST_CASE("constants get no gradient, and nodes made only of constants are skipped", "[autodiff]") {
  pml::Rng rng(12);
  const Eigen::MatrixXd xv = random_matrix<double>(rng, 5, 3), wv = random_matrix<double>(rng, 3, 2);
  Tape<double> tape;
  const Var<double> x = tape.constant(xv), w = tape.variable(wv);
  const Var<double> xx = pml::ad::exp(x);  // constant-only: no gradient needed
  CHECK_FALSE(tape.needs_grad(x.id));
  CHECK_FALSE(tape.needs_grad(xx.id));
  const Var<double> out = pml::ad::sum(pml::ad::square(pml::ad::matmul(xx, w)));
  CHECK(tape.needs_grad(out.id));
  tape.backward(out);
  const Eigen::MatrixXd ex = xv.array().exp().matrix();
  CHECK((w.adjoint() - 2 * ex.transpose() * (ex * wv)).cwiseAbs().maxCoeff() < 1e-12);
  // the same gradient as with x as a variable
  Tape<double> t2;
  const Var<double> x2 = t2.variable(xv), w2 = t2.variable(wv);
  t2.backward(pml::ad::sum(pml::ad::square(pml::ad::matmul(pml::ad::exp(x2), w2))));
  CHECK((w2.adjoint() - w.adjoint()).cwiseAbs().maxCoeff() == 0);
  CHECK_FALSE(x2.adjoint().isZero());
  // backward twice gives the same adjoints (they are zeroed, not accumulated across calls)
  const Eigen::MatrixXd first = w.adjoint();
  tape.backward(out);
  CHECK((w.adjoint() - first).cwiseAbs().maxCoeff() == 0);
  // a filled constant
  const Var<double> c = tape.constant(2, 3, 1.5);
  CHECK_FALSE(tape.needs_grad(c.id));
  CHECK(c.value().isApproxToConstant(1.5));
}

TEST_CASE("mark and rewind keep the data on the tape and rebuild the graph above it", "[autodiff]") {
  pml::Rng rng(13);
  const Eigen::MatrixXd yv = random_matrix<double>(rng, 50, 1);
  Tape<double> tape;
  const Var<double> y = tape.constant(yv);
  const std::size_t mark = tape.mark();
  for (double m : {0.1, -0.4, 0.7}) {
    tape.rewind(mark);
    CHECK(tape.size() == mark);
    const Var<double> mu = tape.variable(Eigen::MatrixXd::Constant(1, 1, m)), sd = tape.variable(Eigen::MatrixXd::Constant(1, 1, 0.9));
    tape.backward(pml::ad::normal_log_prob(y, mu, sd));
    CHECK(mu.adjoint()(0, 0) == Approx((yv.array() - m).sum() / 0.81).epsilon(1e-12));
    CHECK((y.value() - yv).cwiseAbs().maxCoeff() == 0);  // the data survived the rewind
  }
  tape.rewind(tape.size() + 5);  // beyond the end: nothing happens
  CHECK(tape.size() == mark + 3);
  tape.reset();
  CHECK(tape.size() == 0);
}

TEST_CASE("fused nodes agree with the distributions layer", "[autodiff][fused]") {
  pml::Rng rng(5);
  const Eigen::MatrixXd w = random_matrix<double>(rng, 3, 4), m = random_matrix<double>(rng, 3, 4), s = random_matrix<double>(rng, 3, 4);
  Tape<double> tape;
  const Var<double> vw = tape.variable(w), vm = tape.variable(m), vs = tape.variable(s);
  const pml::ScaleMixtureNormal<double> prior(0.25, 1.0, 0.3);
  CHECK(pml::ad::scale_mixture_log_prob(vw, 0.25, 1.0, 0.3).value()(0, 0) ==
        Approx(prior.log_prob(Eigen::Map<const Eigen::VectorXd>(w.data(), w.size())).sum()).epsilon(1e-13));
  double nll = 0, kl = 0;
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    nll -= pml::Normal<double>(m(i), std::exp(0.5 * s(i))).log_prob(w(i));
    kl += pml::kl_divergence(pml::Normal<double>(m(i), std::exp(0.5 * s(i))), pml::Normal<double>(0, 1));
  }
  CHECK(pml::ad::gaussian_nll(vm, vs, vw).value()(0, 0) == Approx(nll).epsilon(1e-13));
  CHECK(pml::ad::kl_standard_normal(vm, vs).value()(0, 0) == Approx(kl).epsilon(1e-12));
  const Eigen::MatrixXd probs = pml::ad::softmax(vw).value();
  CHECK((probs.rowwise().sum().array() - 1).abs().maxCoeff() < 1e-15);
  CHECK((pml::ad::log_softmax(vw).value().array().exp() - probs.array()).abs().maxCoeff() < 1e-15);
  // binary cross-entropy stays finite for huge logits
  const Var<double> big = tape.variable(Eigen::MatrixXd::Constant(1, 2, 800.0));
  const Var<double> ones = tape.variable(Eigen::MatrixXd::Ones(1, 2));
  CHECK(pml::ad::bce_with_logits(big, ones).value()(0, 0) == Approx(0.0).margin(1e-300));
  CHECK(pml::ad::bce_with_logits(-big, ones).value()(0, 0) == Approx(1600.0));
  // normal_log_prob is Normal::log_prob summed, with shared and with elementwise parameters
  const Var<double> mu = tape.variable(Eigen::MatrixXd::Constant(1, 1, 0.2)), sd = tape.variable(Eigen::MatrixXd::Constant(1, 1, 1.7));
  double lp = 0, lp2 = 0;
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    lp += pml::Normal<double>(0.2, 1.7).log_prob(w(i));
    lp2 += pml::Normal<double>(m(i), std::exp(s(i))).log_prob(w(i));
  }
  CHECK(pml::ad::normal_log_prob(vw, mu, sd).value()(0, 0) == Approx(lp).epsilon(1e-13));
  CHECK(pml::ad::normal_log_prob(vw, vm, pml::ad::exp(vs)).value()(0, 0) == Approx(lp2).epsilon(1e-13));
  // bias_activation equals the unfused add + activation
  const Var<double> bias = tape.variable(Eigen::MatrixXd(m.row(0)));
  CHECK((pml::ad::bias_activation(vw, bias, pml::ad::Activation::tanh).value() - pml::ad::tanh(vw + bias).value()).cwiseAbs().maxCoeff() == 0);
  CHECK((pml::ad::bias_activation(vw, bias, pml::ad::Activation::softplus).value() - pml::ad::softplus(vw + bias).value()).cwiseAbs().maxCoeff() == 0);
}

TEST_CASE("the tape rejects bad shapes and mixed tapes", "[autodiff]") {
  Tape<double> tape, other;
  const Var<double> a = tape.variable(Eigen::MatrixXd::Ones(2, 3));
  const Var<double> b = tape.variable(Eigen::MatrixXd::Ones(2, 2));
  CHECK_THROWS_WITH(pml::ad::matmul(a, a), Contains("ad::matmul: inner dimensions differ: 3 and 2"));
  CHECK_THROWS_WITH(a + b, Contains("shapes differ: 2x3 and 2x2"));
  CHECK_THROWS_WITH(tape.backward(a), Contains("the output must be 1 x 1, got 2x3"));
  CHECK_THROWS_WITH(pml::ad::slice_cols(a, 2, 2), Contains("columns [2, 4) outside 0..3"));
  CHECK_THROWS_WITH(pml::ad::add_col(a, a), Contains("b must be 2x1"));
  CHECK_THROWS_WITH(pml::ad::scale_mixture_log_prob(a, 1.5, 1.0, 0.1), Contains("pi must be a probability"));
  const Var<double> c = other.variable(Eigen::MatrixXd::Ones(2, 3));
  CHECK_THROWS_WITH(a - c, Contains("same tape"));
  CHECK_THROWS_WITH(pml::ad::bias_activation(a, a, pml::ad::Activation::relu), Contains("bias must be 1x3, got 2x3"));
  const Var<double> neg = tape.variable(Eigen::MatrixXd::Constant(1, 1, -1.0));
  CHECK_THROWS_WITH(pml::ad::normal_log_prob(a, neg, neg), Contains("ad::normal_log_prob: stddev must be positive"));
  CHECK_THROWS_WITH(pml::ad::normal_log_prob(a, b, b), Contains("mean and stddev must be 1x1 or 2x3"));
  CHECK_THROWS_WITH(pml::ad::mean_rows(tape.variable(Eigen::MatrixXd(2, 0))), Contains("ad::mean_rows: a has no columns"));
}

TEST_CASE("the allocation counter sees the tape's (aligned) arena growth", "[autodiff][alloc]") {
  const long before = pml_test::allocations.load();
  Tape<float> tape;
  tape.constant(64, 64);  // first use of the arenas: two aligned allocations
  CHECK(pml_test::allocations.load() - before >= 2);
}

TEST_CASE("a steady-state step on a reused tape allocates nothing", "[autodiff][alloc]") {
  pml::Rng rng(3);
  const Eigen::MatrixXd x = random_matrix<double>(rng, 32, 16), w1 = random_matrix<double>(rng, 16, 24),
                        b1 = random_matrix<double>(rng, 1, 24), w2 = random_matrix<double>(rng, 24, 4),
                        y = random_matrix<double>(rng, 32, 4);
  Tape<double> tape;
  double loss = 0;
  auto step = [&] {
    tape.reset();
    const Var<double> vx = tape.variable(x), vw1 = tape.variable(w1), vb1 = tape.variable(b1), vw2 = tape.variable(w2),
                      vy = tape.variable(y);
    const Var<double> h = pml::ad::tanh(pml::ad::matmul(vx, vw1) + vb1);
    const Var<double> l = pml::ad::mean(pml::ad::square(pml::ad::matmul(h, vw2) - vy));
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
