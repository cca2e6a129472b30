#pragma once
/// @file
/// nn::BayesianLinear: a fully connected layer with a factorised Gaussian posterior over its weights
/// (Bayes by Backprop, Blundell et al. 2015): w = mu + softplus(rho) * eps, eps ~ N(0, I), and the
/// prior a Gaussian or a two-component scale mixture of Gaussians.

#include <cmath>
#include <span>
#include <string>
#include <type_traits>

#include "pml/core/collective.hpp"
#include "pml/core/enum_names.hpp"
#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/scratch.hpp"
#include "pml/core/random.hpp"
#include "pml/nn/init.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::nn {

/// Prior over every weight and bias of a BayesianLinear layer.
struct BayesPrior {
  /// The two prior families.
  enum class Kind : std::uint8_t {
    gaussian,       ///< N(0, sigma1^2)
    scale_mixture,  ///< pi N(0, sigma1^2) + (1 - pi) N(0, sigma2^2) (Blundell et al. 2015, eq. 7)
  };
  /// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
  friend constexpr std::array<std::string_view, 2> enum_names(Kind) { return {"gaussian", "scale_mixture"}; }
  Kind kind = Kind::scale_mixture;  ///< gaussian or scale_mixture
  double pi = 0.5;  ///< weight of the wide component (1 for the Gaussian)
  double sigma1 = 1.0;               ///< the wide component (or the Gaussian's sd)
  double sigma2 = 0.0024787521766663585;  ///< e^-6, the narrow component

  static BayesPrior gaussian(double sigma) { return {Kind::gaussian, 1.0, sigma, sigma}; }  ///< The Gaussian prior N(0, σ²).
  /// The scale mixture π N(0, σ₁²) + (1 − π) N(0, σ₂²).
  static BayesPrior scale_mixture(double pi, double sigma1, double sigma2) { return {Kind::scale_mixture, pi, sigma1, sigma2}; }
  /// @throw std::domain_error naming `function` for pi outside [0, 1] or non-positive sigmas.
  void check(const char* function) const {
    check_probability(function, "prior.pi", pi);
    check_positive(function, "prior.sigma1", sigma1);
    check_positive(function, "prior.sigma2", sigma2);
  }
};

/// How BayesianLinear::forward draws the layer's output.
enum class WeightSampling : std::uint8_t {
  weights,  ///< one weight matrix per forward pass, shared by the batch (Blundell et al. 2015)
  local,    ///< local reparameterisation (Kingma et al. 2015): independent pre-activations per row,
            ///< x mu + sqrt(x^2 sigma^2) eps, lower-variance gradients for the same cost in GEMMs
  mean,     ///< no noise: the posterior mean weights (for prediction and pruning)
  /// flipout (Wen et al. 2018): one perturbation ΔW = σ ⊙ ε per pass, decorrelated across rows by random
  /// signs, x μ + ((x ⊙ S_in) ΔW) ⊙ S_out with S_in, S_out of ±1 per row and unit (per row and channel for
  /// convolutions): the weights' own distribution in each row at twice the GEMMs of `weights`
  flipout,
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 4> enum_names(WeightSampling) { return {"weights", "local", "mean", "flipout"}; }

/// A Bayesian layer's noise in a data-parallel fit (models/deep/data_parallel.hpp), in place of an Rng: the
/// draws a pass shares over its rows (the bias, a weight sample, flipout's ΔW, a sampled KL) come from
/// `shared` (seeded alike on every rank); the draws of each row (local reparameterisation's output noise,
/// flipout's signs) are hashed from a key drawn from `shared` and the row's position in the whole data set
/// (`positions`, one per row of x), so a row's noise is the same whichever rank holds it.
struct RowDraws {
  Rng& shared;                       ///< the pass's shared draws, in the same state on every rank
  std::span<const Index> positions;  ///< each row's position in the whole data set
};

namespace detail {
/// The generator of a pass's shared draws: `rng` itself, or RowDraws::shared.
inline Rng& shared_draws(Rng& rng) noexcept { return rng; }
inline Rng& shared_draws(const RowDraws& draws) noexcept { return draws.shared; }  ///< RowDraws::shared
inline void check_row_draws(const RowDraws& draws, Index rows, const char* function) {
  if (static_cast<Index>(draws.positions.size()) != rows)
    pml::detail::throw_shape(function, std::to_string(draws.positions.size()) + " row positions for " + std::to_string(rows) + " rows");
}
/// A rows x cols constant of standard normal draws from `rng`.
template <Real T> ad::Var<T> normal_noise(ad::Tape<T>& tape, Rng& rng, Index rows, Index cols) {
  ad::Var<T> eps = tape.constant(rows, cols);
  random::fill_normal(rng, eps.value());
  return eps;
}
/// A rows x cols constant of random signs ±1 from `rng` (flipout's sign matrices).
template <Real T> ad::Var<T> random_signs(ad::Tape<T>& tape, Rng& rng, Index rows, Index cols) {
  ad::Var<T> s = tape.constant(rows, cols);
  auto v = s.value();
  random::fill_uniform(rng, v);
  v = v.unaryExpr([](T u) { return u < T(0.5) ? T(-1) : T(1); });
  return s;
}
/// Per-row normals: from `rng` in sequence (normal_noise), or row i's from a key drawn from draws.shared and
/// draws.positions[i] (pml::detail::fill_row_normals). @throw std::invalid_argument naming `function` for a position count that is not `rows`.
template <Real T> ad::Var<T> row_normal_noise(const char*, ad::Tape<T>& tape, Rng& rng, Index rows, Index cols) { return normal_noise<T>(tape, rng, rows, cols); }
template <Real T> ad::Var<T> row_normal_noise(const char* function, ad::Tape<T>& tape, const RowDraws& draws, Index rows, Index cols) {
  check_row_draws(draws, rows, function);
  ad::Var<T> eps = tape.constant(rows, cols);
  pml::detail::fill_row_normals(draws.shared(), draws.positions, eps.value());
  return eps;
}
/// Per-row signs ±1: from `rng` in sequence (random_signs), or row i's hashed as row_normal_noise's.
template <Real T> ad::Var<T> row_signs(const char*, ad::Tape<T>& tape, Rng& rng, Index rows, Index cols) { return random_signs<T>(tape, rng, rows, cols); }
template <Real T> ad::Var<T> row_signs(const char* function, ad::Tape<T>& tape, const RowDraws& draws, Index rows, Index cols) {
  check_row_draws(draws, rows, function);
  const std::uint64_t key = draws.shared();
  ad::Var<T> s = tape.constant(rows, cols);
  auto v = s.value();
  const auto width = static_cast<std::uint64_t>(cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i)
      v(i, j) = pml::detail::hashed_uniform<double>(key, static_cast<std::uint64_t>(draws.positions[static_cast<std::size_t>(i)]) * width + static_cast<std::uint64_t>(j)) < 0.5
                    ? T(-1) : T(1);
  return s;
}
/// KL(q || p) of one parameter block with posterior N(mu, sigma^2): closed form for the Gaussian prior,
///   sum log(s / sigma) + (sigma^2 + mu^2) / (2 s^2) - 1/2,
/// else log q(w) - log p(w) at the sample w (drawn here when the caller has none, as with local
/// reparameterisation, whose pre-activations do not determine a weight sample).
template <Real T>
ad::Var<T> bayes_kl(ad::Tape<T>& tape, Rng& rng, const BayesPrior& prior, const ad::Var<T>& mu, const ad::Var<T>& sigma,
                    const std::type_identity_t<ad::Var<T>>* sample) {
  if (prior.kind == BayesPrior::Kind::gaussian) {
    const T s = T(prior.sigma1);
    const T n = T(mu.rows() * mu.cols());
    const ad::Var<T> quad = (T(0.5) / (s * s)) * ad::sum(ad::square(sigma) + ad::square(mu));
    return quad - ad::sum(ad::log(sigma)) + tape.constant(1, 1, n * (std::log(s) - T(0.5)));
  }
  const ad::Var<T> w = sample ? *sample : ad::reparameterize(mu, sigma, normal_noise(tape, rng, mu.rows(), mu.cols()));
  return ad::normal_log_prob(w, mu, sigma) - ad::scale_mixture_log_prob(w, T(prior.pi), T(prior.sigma1), T(prior.sigma2));
}
}  // namespace detail

/// A layer's output on the tape and its KL term (1 x 1): KL(q(w) || p(w)) in closed form for a
/// Gaussian prior, a one-sample estimate log q(w) - log p(w) for the scale mixture. Zero-size (no node)
/// KL in WeightSampling::mean.
template <Real T> struct BayesianOutput {
  ad::Var<T> out;  ///< the layer's output (N x out)
  ad::Var<T> kl;   ///< KL(q || p) of the layer's weights and biases (1 x 1; no node in WeightSampling::mean)
};

/// y = act(x W + b) with W, b ~ q. Posterior means start He- (ReLU) or Xavier-initialised, rho at
/// `rho_init` (sigma = softplus(rho_init), 0.0067 for the default -5).
template <Real T> class BayesianLinear {
 public:
  /// A layer from `in` to `out` units; the posterior means start as `init` says (nn/init.hpp;
  /// Init::automatic: He normal), the bias means at zero (Init::pytorch: U(±1/√in)).
  /// @throw std::invalid_argument for non-positive sizes; std::domain_error for a non-finite rho_init.
  BayesianLinear(Index in, Index out, Rng& rng, Init init = Init::he_normal, double rho_init = -5.0, const std::string& name = "bayesian_linear") {
    if (in <= 0 || out <= 0)
      pml::detail::throw_shape("nn::BayesianLinear", "sizes must be positive, got " + std::to_string(in) + " x " + std::to_string(out));
    check_finite("nn::BayesianLinear", "rho_init", rho_init);
    init = resolve_init(init, true, true);
    weight_mu_ = Parameter<T>(name + ".weight_mu", initial_weights<T>(rng, in, out, init));
    weight_rho_ = Parameter<T>(name + ".weight_rho", Matrix<T>::Constant(in, out, T(rho_init)));
    bias_mu_ = Parameter<T>(name + ".bias_mu", initial_bias<T>(rng, in, out, init));
    bias_rho_ = Parameter<T>(name + ".bias_rho", Matrix<T>::Constant(1, out, T(rho_init)));
  }

  /// The layer on the tape, with noise from `rng` (unused for WeightSampling::mean).
  /// @throw std::invalid_argument if x does not have in() columns.
  BayesianOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling,
                            ad::Activation act = ad::Activation::identity) {
    return forward_impl(*this, tape, x, rng, prior, sampling, act);
  }
  /// The same pass with μ and ρ as constants of the tape (no gradients): reads the layer only, so many
  /// threads may run it at once, each with its own tape and Rng.
  BayesianOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, const BayesPrior& prior, WeightSampling sampling,
                            ad::Activation act = ad::Activation::identity) const {
    return forward_impl(*this, tape, x, rng, prior, sampling, act);
  }
  /// The pass of a data-parallel fit: each row's noise hashed from its position (RowDraws).
  /// @throw std::invalid_argument as above, or for a position count that is not x's rows.
  BayesianOutput<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const RowDraws& draws, const BayesPrior& prior, WeightSampling sampling,
                            ad::Activation act = ad::Activation::identity) {
    return forward_impl(*this, tape, x, draws, prior, sampling, act);
  }

  /// |mu| / sigma of every weight (not the biases), the pruning score of Blundell et al. (2015, sec. 5.1).
  Matrix<T> signal_to_noise() const { return weight_mu_.value.cwiseAbs().cwiseQuotient(pml::softplus(weight_rho_.value.array()).matrix()); }
  /// sigma = softplus(rho) of the weights.
  Matrix<T> weight_sigma() const { return pml::softplus(weight_rho_.value.array()).matrix(); }

  Index in() const noexcept { return weight_mu_.value.rows(); }  ///< input width
  Index out() const noexcept { return weight_mu_.value.cols(); }  ///< output width
  Parameter<T>& weight_mu() noexcept { return weight_mu_; }  ///< μ of the weights (in x out)
  Parameter<T>& weight_rho() noexcept { return weight_rho_; }  ///< ρ of the weights: σ = softplus(ρ)
  const Parameter<T>& weight_mu() const noexcept { return weight_mu_; }  ///< μ of the weights (in x out)
  const Parameter<T>& weight_rho() const noexcept { return weight_rho_; }  ///< ρ of the weights: σ = softplus(ρ)
  /// Pointers to every trainable parameter, in the order files store them.
  ParameterList<T> parameters() { return {&weight_mu_, &weight_rho_, &bias_mu_, &bias_rho_}; }
  /// Read-only parameters(), same order.
  ConstParameterList<T> parameters() const { return {&weight_mu_, &weight_rho_, &bias_mu_, &bias_rho_}; }

 private:
  // Noise: an Rng (every draw in sequence) or RowDraws (per-row draws hashed from the rows' positions)
  template <class Self, class Noise>
  static BayesianOutput<T> forward_impl(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, Noise& noise, const BayesPrior& prior,
                                        WeightSampling sampling, ad::Activation act) {
    Rng& rng = detail::shared_draws(noise);
    constexpr const char* kForward = "nn::BayesianLinear::forward";
    const Index in = self.in(), out = self.out();
    if (x.cols() != in)
      pml::detail::throw_shape("nn::BayesianLinear::forward", "x has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(in));
    const ad::Var<T> wmu = self.weight_mu_.bind(tape), bmu = self.bias_mu_.bind(tape);
    if (sampling == WeightSampling::mean) return {ad::bias_activation(ad::matmul(x, wmu), bmu, act), ad::Var<T>{}};
    const ad::Var<T> wsigma = ad::softplus(self.weight_rho_.bind(tape)), bsigma = ad::softplus(self.bias_rho_.bind(tape));
    const ad::Var<T> b = ad::reparameterize(bmu, bsigma, detail::normal_noise(tape, rng, 1, out));
    ad::Var<T> kl = detail::bayes_kl(tape, rng, prior, bmu, bsigma, &b);
    ad::Var<T> pre;
    if (sampling == WeightSampling::weights) {
      const ad::Var<T> w = ad::reparameterize(wmu, wsigma, detail::normal_noise(tape, rng, in, out));
      kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, &w);
      pre = ad::matmul(x, w);
    } else if (sampling == WeightSampling::flipout) {
      const ad::Var<T> delta = wsigma * detail::normal_noise(tape, rng, in, out);
      if (prior.kind == BayesPrior::Kind::gaussian) {
        kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, nullptr);
      } else {
        const ad::Var<T> w = wmu + delta;  // the pass's shared weight sample, for the sampled KL
        kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, &w);
      }
      const ad::Var<T> s_in = detail::row_signs<T>(kForward, tape, noise, x.rows(), in), s_out = detail::row_signs<T>(kForward, tape, noise, x.rows(), out);
      pre = ad::matmul(x, wmu) + ad::mask_mul(ad::matmul(ad::mask_mul(x, s_in), delta), s_out);
    } else {  // local: the pre-activations' own Gaussian, N(x mu, x^2 sigma^2), sampled per row
      kl = kl + detail::bayes_kl(tape, rng, prior, wmu, wsigma, nullptr);
      const ad::Var<T> var = ad::matmul(ad::square(x), ad::square(wsigma));
      // reparameterize_variance's floor keeps sqrt's derivative finite for an all-zero row of x
      pre = ad::reparameterize_variance(ad::matmul(x, wmu), var, detail::row_normal_noise<T>(kForward, tape, noise, x.rows(), out));
    }
    return {ad::bias_activation(pre, b, act), kl};
  }
  Parameter<T> weight_mu_, weight_rho_, bias_mu_, bias_rho_;
};

}  // namespace pml::nn
