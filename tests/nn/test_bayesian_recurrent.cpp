// nn::BayesianLSTM (Fortunato et al. 2017): gradients of outputs and KL in every sampling mode and prior;
// the mean pass is posterior_mean(); the weights pass is one draw (sample() from the same Rng state) used
// at every step; flipout gives each sequence the weights pass's distribution but decorrelates the batch;
// the closed-form KL; errors.
#define PML_COUNTING_ALLOCATOR_DECLARE_ONLY  // test_convolution.cpp defines the counting allocator
#include "counting_allocator.hpp"  // first: the same Eigen settings in every file of test_layers
#include <catch2/catch.hpp>

#include "pml/nn/bayesian_recurrent.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;
using pml::Index;
using pml::ad::Tape;
using pml::ad::Var;
using pml::nn::BayesPrior;
using pml::nn::WeightSampling;

namespace {
// every step's hidden state side by side, N x (T·H)
template <class T> pml::Matrix<T> all_hidden(const pml::nn::RecurrentOutput<T>& out) {
  const Index h = out.h.cols(), steps = static_cast<Index>(out.hidden.size());
  pml::Matrix<T> m(out.h.rows(), steps * h);
  for (Index t = 0; t < steps; ++t) m.middleCols(t * h, h) = out.hidden[static_cast<std::size_t>(t)].value();
  return m;
}
}  // namespace

TEST_CASE("BayesianLSTM: gradients of the outputs and the KL in every sampling mode and prior", "[nn][bayesian_lstm][gradcheck]") {
  pml::Rng rng(1);
  pml::nn::BayesianLSTM<double> lstm(3, 2, rng, -1.0);
  Eigen::MatrixXd x(2, 3 * 3);  // 2 sequences of 3 steps
  pml::random::fill_normal(rng, x);
  pml::nn::RecurrentState<double> initial{Eigen::MatrixXd::Constant(2, 2, 0.3), Eigen::MatrixXd::Constant(2, 2, -0.2)};
  Tape<double> tape;
  for (const auto sampling : {WeightSampling::weights, WeightSampling::flipout, WeightSampling::mean})
    for (const auto& prior : {BayesPrior::gaussian(0.5), BayesPrior::scale_mixture(0.5, 1.0, 0.1)}) {
      auto loss = [&] {
        pml::Rng fixed(4);
        tape.reset();
        const auto r = lstm.forward(tape, tape.constant(x), fixed, prior, sampling, initial);
        Var<double> fit = pml::ad::sum(pml::ad::square(r.c));
        for (const auto& h : r.hidden) fit = fit + pml::ad::sum(pml::ad::square(h));
        return r.kl.tape ? fit + r.kl : fit;
      };
      INFO("sampling " << int(sampling) << ", prior " << int(prior.kind));
      for (auto* p : lstm.parameters()) p->grad.setZero();  // the mean pass binds no rho: its gradient stays 0
      CHECK(pml::nn::parameter_gradcheck(lstm.parameters(), tape, loss) < 1e-6);
    }
}

TEST_CASE("BayesianLSTM: the mean pass is posterior_mean(); the weights pass is one sample() used at every step", "[nn][bayesian_lstm]") {
  pml::Rng rng(2);
  pml::nn::BayesianLSTM<double> lstm(2, 4, rng, -2.0);
  Eigen::MatrixXd x(3, 2 * 6);
  pml::random::fill_normal(rng, x);
  Tape<double> tape;
  pml::Rng draws(9);
  const auto mean = lstm.forward(tape, tape.constant(x), draws, BayesPrior::gaussian(1), WeightSampling::mean);
  CHECK_FALSE(mean.kl.tape);
  const pml::nn::LSTM<double> at_mean = lstm.posterior_mean();
  const auto ref = at_mean.forward(tape, tape.constant(x));
  CHECK((all_hidden(mean) - all_hidden(ref)).cwiseAbs().maxCoeff() == 0.0);

  pml::Rng a(11), b(11);
  const auto sampled = lstm.forward(tape, tape.constant(x), a, BayesPrior::scale_mixture(0.5, 1.0, 0.1), WeightSampling::weights);
  const pml::nn::LSTM<double> one = lstm.sample(b);
  const auto want = one.forward(tape, tape.constant(x));
  // the six steps of all three sequences come from that one draw
  CHECK((all_hidden(sampled) - all_hidden(want)).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((sampled.c.value() - want.c.value()).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((all_hidden(sampled) - all_hidden(mean)).cwiseAbs().maxCoeff() > 1e-3);  // and it is not the mean
  // identical sequences get identical outputs (the batch shares the draw) ...
  Eigen::MatrixXd same(2, x.cols());
  same.row(0) = x.row(0);
  same.row(1) = x.row(0);
  const auto twin = lstm.forward(tape, tape.constant(same), a, BayesPrior::gaussian(1), WeightSampling::weights);
  CHECK((twin.h.value().row(0) - twin.h.value().row(1)).cwiseAbs().maxCoeff() == 0.0);
  // ... while flipout decorrelates them
  const auto flip = lstm.forward(tape, tape.constant(same), a, BayesPrior::gaussian(1), WeightSampling::flipout);
  CHECK((flip.h.value().row(0) - flip.h.value().row(1)).cwiseAbs().maxCoeff() > 1e-3);
}

TEST_CASE("BayesianLSTM: flipout gives each sequence the distribution of the weights pass", "[nn][bayesian_lstm]") {
  // per sequence, μ + ΔW ⊙ (s_out s_inᵀ) has ΔW's distribution: the final hidden state's mean and variance
  // over many passes agree between the two modes (and with the state's spread, differ from the mean pass)
  pml::Rng rng(3);
  pml::nn::BayesianLSTM<double> lstm(2, 3, rng, -1.5);
  Eigen::MatrixXd x(2, 2 * 4);
  pml::random::fill_normal(rng, x);
  const int passes = 4000;
  Eigen::MatrixXd mean[2], var[2];
  const WeightSampling modes[2] = {WeightSampling::weights, WeightSampling::flipout};
  for (int m = 0; m < 2; ++m) {
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(2, 3), sq = sum;
    pml::Rng draws(20 + m);
    Tape<double> tape;
    for (int t = 0; t < passes; ++t) {
      tape.reset();
      const Eigen::MatrixXd h = lstm.forward(tape, tape.constant(x), draws, BayesPrior::gaussian(1), modes[m]).h.value();
      sum += h;
      sq += h.cwiseAbs2();
    }
    mean[m] = sum / passes;
    var[m] = sq / passes - mean[m].cwiseAbs2();
  }
  REQUIRE(var[0].minCoeff() > 1e-4);
  // the difference of two independent means: standard error sqrt(2 var / passes)
  CHECK(((mean[0] - mean[1]).array() / (2 * var[0].array() / passes).sqrt()).abs().maxCoeff() < 5);
  CHECK(((var[0] - var[1]).array() / var[0].array()).abs().maxCoeff() < 0.15);
}

TEST_CASE("BayesianLSTM: the Gaussian prior's KL is the closed form over W_ih, W_hh and the bias", "[nn][bayesian_lstm]") {
  pml::Rng rng(4);
  pml::nn::BayesianLSTM<double> lstm(3, 2, rng, -0.5);
  lstm.weight_hh_rho().value(1, 1) = 1.5;
  const double s = 0.7;
  double want = 0;
  for (const auto* p : {&lstm.weight_ih_mu(), &lstm.weight_hh_mu(), &lstm.bias_mu()}) {
    const auto* rho = p == &lstm.weight_ih_mu() ? &lstm.weight_ih_rho() : p == &lstm.weight_hh_mu() ? &lstm.weight_hh_rho() : &lstm.bias_rho();
    const Eigen::ArrayXXd sigma = pml::softplus(rho->value.array()), mu = p->value.array();
    want += (std::log(s) - sigma.log() + (sigma.square() + mu.square()) / (2 * s * s) - 0.5).sum();
  }
  Tape<double> tape;
  for (const auto sampling : {WeightSampling::weights, WeightSampling::flipout}) {
    const auto r = lstm.forward(tape, tape.constant(Eigen::MatrixXd::Ones(2, 6)), rng, BayesPrior::gaussian(s), sampling);
    CHECK(r.kl.value()(0, 0) == Approx(want).epsilon(1e-13));
  }
}

TEST_CASE("BayesianLSTM in float agrees with double", "[nn][bayesian_lstm]") {
  pml::Rng rd(5), rf(5);
  pml::nn::BayesianLSTM<double> ld(2, 3, rd, -3.0);
  pml::nn::BayesianLSTM<float> lf(2, 3, rf, -3.0);
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(4, 2 * 5);
  Tape<double> td;
  Tape<float> tf;
  pml::Rng nd(6), nf(6);
  for (const auto sampling : {WeightSampling::weights, WeightSampling::flipout, WeightSampling::mean}) {
    const auto d = ld.forward(td, td.constant(x), nd, BayesPrior::gaussian(1), sampling);
    const auto f = lf.forward(tf, tf.constant(x.cast<float>()), nf, BayesPrior::gaussian(1), sampling);
    CHECK((all_hidden(d) - all_hidden(f).cast<double>()).cwiseAbs().maxCoeff() < 1e-5);
  }
}

TEST_CASE("BayesianLSTM errors name the layer, the argument and the value", "[nn][bayesian_lstm][errors]") {
  pml::Rng rng(6);
  pml::nn::BayesianLSTM<float> lstm(3, 2, rng);
  Tape<float> tape;
  const auto x = tape.constant(Eigen::MatrixXf::Zero(2, 6));
  CHECK_THROWS_WITH(lstm.forward(tape, x, rng, BayesPrior::gaussian(1), WeightSampling::local),
                    Contains("nn::BayesianLSTM::forward") && Contains("local") && Contains("shared across time"));
  CHECK_THROWS_WITH(lstm.forward(tape, tape.constant(Eigen::MatrixXf::Zero(2, 7)), rng, BayesPrior::gaussian(1), WeightSampling::weights),
                    Contains("nn::BayesianLSTM::forward") && Contains("7 columns") && Contains("input size 3"));
  pml::nn::RecurrentState<float> bad{Eigen::MatrixXf::Zero(3, 2), {}};
  CHECK_THROWS_WITH(lstm.forward(tape, x, rng, BayesPrior::gaussian(1), WeightSampling::mean, bad),
                    Contains("nn::BayesianLSTM::forward") && Contains("hidden state is 3x2") && Contains("expected 2x2"));
  CHECK_THROWS_WITH(pml::nn::BayesianLSTM<float>(0, 2, rng), Contains("nn::BayesianLSTM") && Contains("positive"));
  CHECK_THROWS_WITH(pml::nn::BayesianLSTM<float>(3, 2, rng, std::nan("")), Contains("rho_init"));
}
