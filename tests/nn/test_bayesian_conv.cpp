// nn::BayesianConv2d and flipout (also in nn::BayesianLinear): the gradient of output and KL for every
// sampling mode, the posterior mean pass equals a Conv2d, and the three noisy modes give each output the
// same marginal mean and variance (conv(x, μ) and conv(x², σ²)), measured over many passes.
#define PML_COUNTING_ALLOCATOR_DECLARE_ONLY  // test_convolution.cpp defines the counting allocator
#include "counting_allocator.hpp"  // first: the same Eigen settings in every file of test_layers
#include <catch2/catch.hpp>

#include "pml/nn/bayesian_conv.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;
using pml::Index;
using pml::ad::ImageShape;
using pml::ad::Tape;
using pml::ad::Var;
using pml::ad::Window2d;
using pml::nn::BayesPrior;
using pml::nn::WeightSampling;

TEST_CASE("BayesianConv2d: gradients of output and KL for every sampling mode and prior", "[nn][bayesian_conv][gradcheck]") {
  pml::Rng rng(1);
  pml::nn::BayesianConv2d<double> conv(2, 3, Window2d{3, 2, 2, 1, 1, 0, 1, 1}, rng, pml::nn::Init::pytorch, -1.0);
  Eigen::MatrixXd x(3, 2 * 5 * 4);
  pml::random::fill_normal(rng, x);
  const ImageShape in{2, 5, 4};
  Tape<double> tape;
  for (const auto sampling : {WeightSampling::weights, WeightSampling::local, WeightSampling::flipout, WeightSampling::mean})
    for (const auto& prior : {BayesPrior::gaussian(0.5), BayesPrior::scale_mixture(0.5, 1.0, 0.1)}) {
      auto loss = [&] {
        pml::Rng fixed(4);
        tape.reset();
        const auto r = conv.forward(tape, {tape.constant(x), in}, fixed, prior, sampling);
        const Var<double> fit = pml::ad::sum(pml::ad::square(r.out.var));
        return r.kl.tape ? fit + r.kl : fit;
      };
      INFO("sampling " << int(sampling) << ", prior " << int(prior.kind));
      for (auto* p : conv.parameters()) p->grad.setZero();  // the mean pass binds no rho: its gradient stays 0
      CHECK(pml::nn::parameter_gradcheck(conv.parameters(), tape, loss) < 1e-6);
    }
  pml::nn::BayesianLinear<double> dense(4, 3, rng, pml::nn::Init::he_normal, -1.0);
  Eigen::MatrixXd xd(5, 4);
  pml::random::fill_normal(rng, xd);
  for (const auto& prior : {BayesPrior::gaussian(0.5), BayesPrior::scale_mixture(0.5, 1.0, 0.1)}) {
    auto loss = [&] {
      pml::Rng fixed(6);
      tape.reset();
      const auto r = dense.forward(tape, tape.constant(xd), fixed, prior, WeightSampling::flipout, pml::ad::Activation::tanh);
      return pml::ad::sum(pml::ad::square(r.out)) + r.kl;
    };
    INFO("BayesianLinear flipout, prior " << int(prior.kind));
    CHECK(pml::nn::parameter_gradcheck(dense.parameters(), tape, loss) < 1e-6);
  }
}

TEST_CASE("BayesianConv2d: the mean pass is a Conv2d; weights, local and flipout share each output's mean and variance", "[nn][bayesian_conv][quality]") {
  pml::Rng rng(2);
  pml::nn::BayesianConv2d<double> conv(2, 2, Window2d::square(3, 1, 1), rng, pml::nn::Init::pytorch, -1.5);
  const ImageShape in{2, 4, 4};
  Eigen::MatrixXd x(2, in.size());
  pml::random::fill_normal(rng, x);
  Tape<double> tape;
  const auto mean = conv.forward(tape, {tape.constant(x), in}, rng, BayesPrior::gaussian(1), WeightSampling::mean);
  CHECK_FALSE(mean.kl.tape);
  CHECK(mean.out.shape == ImageShape{2, 4, 4});
  const Var<double> ref = pml::ad::conv2d(tape.constant(x), in, tape.constant(conv.weight_mu().value), tape.constant(conv.bias_mu().value), Window2d::square(3, 1, 1));
  CHECK((mean.out.var.value() - ref.value()).cwiseAbs().maxCoeff() < 1e-14);
  // the output's marginal moments: mean conv(x, μ) + μ_b, variance conv(x², σ²) + σ_b²
  const Eigen::MatrixXd sigma = pml::softplus(conv.weight_rho().value.array()).matrix(), sigma_b = pml::softplus(conv.bias_rho().value.array()).matrix();
  const Var<double> var = pml::ad::add_channel_bias(pml::ad::conv2d(tape.constant(x.array().square().matrix()), in, tape.constant(sigma.array().square().matrix()),
                                                                     Var<double>{}, Window2d::square(3, 1, 1)),
                                                    tape.constant(sigma_b.array().square().matrix()));
  const Eigen::MatrixXd want_mean = ref.value(), want_var = var.value();
  const int passes = 6000;
  for (const auto sampling : {WeightSampling::weights, WeightSampling::local, WeightSampling::flipout}) {
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(x.rows(), 32), sq = sum;
    pml::Rng draws(7);
    for (int t = 0; t < passes; ++t) {
      Tape<double> scratch;
      const Eigen::MatrixXd y = conv.forward(scratch, {scratch.constant(x), in}, draws, BayesPrior::gaussian(1), sampling).out.var.value();
      sum += y;
      sq += (y - want_mean).cwiseAbs2();
    }
    INFO("sampling " << int(sampling));
    // standard errors: sqrt(var / passes) for the mean, about var sqrt(2 / passes) for the variance
    CHECK(((sum / passes - want_mean).array() / (want_var.array() / passes).sqrt()).abs().maxCoeff() < 5);
    CHECK(((sq / passes - want_var).array() / want_var.array()).abs().maxCoeff() < 5 * std::sqrt(2.0 / passes) * 1.5);
  }
}

TEST_CASE("BayesianConv2d errors name the layer and the shapes", "[nn][bayesian_conv][errors]") {
  pml::Rng rng(3);
  pml::nn::BayesianConv2d<float> conv(2, 3, Window2d::square(3), rng);
  Tape<float> tape;
  CHECK_THROWS_WITH(conv.forward(tape, {tape.constant(Eigen::MatrixXf::Zero(2, 48)), ImageShape{3, 4, 4}}, rng, BayesPrior::gaussian(1), WeightSampling::local),
                    Contains("nn::BayesianConv2d::forward") && Contains("3 channels") && Contains("expects 2"));
  CHECK_THROWS_WITH(pml::nn::BayesianConv2d<float>(2, 3, Window2d::square(3), rng, pml::nn::Init::pytorch, std::nan("")), Contains("rho_init"));
  CHECK_THROWS_WITH(pml::nn::BayesianConv2d<float>(0, 3, Window2d::square(3), rng), Contains("nn::BayesianConv2d"));
}
