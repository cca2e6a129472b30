#pragma once
/// @file
/// Variational auto-encoder (Kingma & Welling 2013) on pml's autodiff tape: Gaussian encoder
/// q(z|x) = N(mu(x), diag sigma^2(x)), Bernoulli or Gaussian decoder, the SGVB estimators A (sampled
/// log q - log p) and B (analytic KL), L samples per point, the AEVB minibatch algorithm, and the
/// importance-weighted bound (Burda et al. 2016) for evaluation.

#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/core/special.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/mlp.hpp"
#include "pml/nn/optim.hpp"
#include "pml/nn/serialize.hpp"

namespace pml {

/// The decoder's likelihood p(x|z).
enum class VAELikelihood : std::uint8_t {
  bernoulli,  ///< binary (or [0, 1]) data: the decoder outputs logits
  gaussian,   ///< real data: the decoder outputs a mean and a log-variance per dimension
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(VAELikelihood) { return {"bernoulli", "gaussian"}; }
/// How the KL part of the ELBO is estimated (Kingma & Welling 2013, eqs. 6 and 7).
enum class VAEEstimator : std::uint8_t {
  analytic,  ///< estimator B: KL(q(z|x) || N(0, I)) in closed form
  sampled,   ///< estimator A: log q(z|x) - log p(z) at the sampled z
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(VAEEstimator) { return {"analytic", "sampled"}; }

/// Options of VAE: the encoder/decoder sizes, the likelihood of the decoder and the SGVB estimator.
struct VAEOptions {
  Index input = 0;                 ///< D
  std::vector<Index> hidden{400};  ///< encoder hidden sizes (the decoder mirrors them)
  Index latent = 20;               ///< dimension of z
  ad::Activation activation = ad::Activation::relu;  ///< after every hidden layer
  VAELikelihood likelihood = VAELikelihood::bernoulli;  ///< bernoulli (data in [0, 1]) or gaussian (per-pixel mean and variance)
  VAEEstimator estimator = VAEEstimator::analytic;  ///< analytic KL (estimator B) or fully sampled (estimator A)
  int samples = 1;  ///< L, samples of z per data point in the training objective

  /// How the networks' weights are drawn (nn/init.hpp). Default: PyTorch's U(±1/√fan_in) for weights and
  /// biases, chosen by measurement (issue 15 §2; `benchmarks/compare/vae.py`): on the 784-400-20-400-784
  /// Fashion-MNIST recipe, ten seeds, it reached a test ELBO of −250.51 ± 0.08 nats after 3 epochs against
  /// −251.47 ± 0.13 for Init::automatic (He normal / Xavier uniform) and −251.12 ± 0.15 for Xavier uniform.
  /// Used when the model is built; a file stores the weights, not this.
  nn::Init init = nn::Init::pytorch;
  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("input", o.input, io::as_size);
    v("hidden", o.hidden);
    v("latent", o.latent, io::as_size);
    v("activation", o.activation);
    v("likelihood", o.likelihood);
    v("estimator", o.estimator);
    v("samples", o.samples);
  }
};

/// Options of VAE::fit (the AEVB algorithm with Adam).
using VAEFitOptions = FitOptions;

/// A VAE: `VAE<float> vae({.input = 784, .hidden = {400}, .latent = 20}, rng); vae.fit(x, {.epochs = 3}, rng);`
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class VAE {
 public:
  using Options = VAEOptions;  ///< The options type (sizes and hyper-parameters, so not templated on the scalar).
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// @throw std::invalid_argument for a non-positive input, latent or hidden size; std::domain_error for samples < 1.
  VAE(const VAEOptions& options, Rng& rng)
      : options_(checked(options)),
        encoder_({.sizes = detail::layer_sizes(options.input, options.hidden, 2 * options.latent), .activation = options.activation, .init = options.init}, rng),
        decoder_({.sizes = detail::layer_sizes(options.latent, reversed(options.hidden),
                                 options.likelihood == VAELikelihood::gaussian ? 2 * options.input : options.input),
                  .activation = options.activation,
                  .init = options.init},
                 rng) {
    for (auto* p : encoder_.parameters()) p->name = "encoder." + p->name;
    for (auto* p : decoder_.parameters()) p->name = "decoder." + p->name;
  }

  /// The negative ELBO of a batch, summed over its rows and averaged over L samples, on `tape` (x is N x D).
  /// Back-propagating it fills every parameter's gradient.
  ad::Var<T> negative_elbo(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng) {
    return negative_elbo(tape, x, rng, [&rng](auto eps, int) { random::fill_normal(rng, eps); });
  }

  /// negative_elbo() with the reparameterisation noise of sample l (a rows x latent Eigen::Map) filled by
  /// `noise(eps, l)`: the data-parallel fit draws each row's noise from the row's position (detail::fill_row_normals).
  template <class Noise> ad::Var<T> negative_elbo(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, Noise&& noise) {
    check_width("VAE::negative_elbo", x.cols());
    const Index k = options_.latent;
    const ad::Var<T> h = encoder_.forward(tape, x, rng, nn::Mode::train);
    const ad::Var<T> mu = ad::slice_cols(h, 0, k), s = ad::slice_cols(h, k, k);  // s = log sigma^2
    const ad::Var<T> sigma = ad::exp(T(0.5) * s);
    ad::Var<T> total = options_.estimator == VAEEstimator::analytic ? ad::kl_standard_normal(mu, s) : ad::Var<T>{};
    const T weight = T(1) / T(options_.samples);
    for (int l = 0; l < options_.samples; ++l) {
      ad::Var<T> eps = tape.constant(x.rows(), k);
      noise(eps.value(), l);
      const ad::Var<T> z = ad::reparameterize(mu, sigma, eps);
      ad::Var<T> term = reconstruction_nll(decoder_.forward(tape, z, rng, nn::Mode::train), x);
      if (options_.estimator == VAEEstimator::sampled) {
        // log q(z|x) - log p(z) = sum(-s/2 - eps^2/2 + z^2/2): the 2 pi terms cancel
        const T eps2 = T(0.5) * eps.value().squaredNorm();
        term = term + (T(0.5) * ad::sum(ad::square(z)) - T(0.5) * ad::sum(s));
        term = term + tape.constant(1, 1, -eps2);
      }
      term = weight * term;
      total = total.tape ? total + term : term;
    }
    return total;
  }

  /// Fits by AEVB: shuffled minibatches of `batch_size`, L samples per point, Adam. The minibatch objective
  /// is scaled by N / M (Kingma & Welling's estimator of the full-data bound) divided by N, i.e. the mean
  /// negative ELBO per point. Returns *this; the mean ELBO per point of each epoch (nats) is in elbo_history().
  /// @throw std::invalid_argument for a wrong width or no rows; std::domain_error for non-finite data, bad
  ///        options, or a loss or gradient that stops being finite (data far too large; the message names
  ///        the function and x).
  template <class Derived> VAE& fit(const Eigen::MatrixBase<Derived>& x, const FitOptions& fit, Rng& rng) {
    return fit_rows(detail::as_rows<T>("VAE::fit", "x", x), fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  VAE& fit_rows(Eigen::Ref<const Matrix<T>> x, const FitOptions& fit, Rng& rng);

 public:
  /// Data-parallel fit() over `ranks` (issue 18 §3; docs/scaling.md): `x` is this rank's shard of the rows
  /// (N_r x D, any N_r including 0; rank order is row order) and fit.batch_size the rows per rank, so each Adam
  /// step averages the gradient over ranks.size() · batch_size rows of the whole data set. Every rank must
  /// call it with the same options and an `rng` in the same state (checked); rank 0's initial parameters
  /// are copied to every rank, the gradients are summed over the ranks once per step, and each row's noise ε
  /// is hashed from the step and the row's position, so P ranks with batch B fit as fit(Collective::single(),
  /// all rows, {batch P·B}) does, to the rounding of the sums (not as fit(x, fit, rng), whose noise is drawn
  /// in sequence). Every rank ends with the same model (checked after every epoch).
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument for an rng in
  ///        different states, different networks or no rows on any rank; std::runtime_error if the ranks' states drift apart.
  template <class Derived> VAE& fit(const Collective& ranks, const Eigen::MatrixBase<Derived>& x, const FitOptions& fit, Rng& rng) {
    Matrix<T> converted;  // x of another scalar type, as T (an entry beyond T's range is reported on every rank)
    std::optional<Eigen::Ref<const Matrix<T>>> rows;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      detail::hold_rows<T>(rows, converted, "VAE::fit", "x", x);
    });
    return fit_rows(ranks, *rows, fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  VAE& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const FitOptions& fit, Rng& rng);

 public:

  /// The mean ELBO per point (nats, higher is better) of each epoch of the last fit() (empty before it; not stored in model files).
  const std::vector<T>& elbo_history() const noexcept { return history_; }

  /// The ELBO of each row (one sample of z per row, or the analytic KL plus L samples as in training).
  template <class Derived> Vector<T> elbo(const Eigen::MatrixBase<Derived>& x, Rng& rng) const {
    check_data("VAE::elbo", x);
    const Gaussian q = posterior(x);
    Vector<T> out = options_.estimator == VAEEstimator::analytic ? Vector<T>(-kl_per_row(q)) : Vector<T>::Zero(x.rows());
    for (int l = 0; l < options_.samples; ++l) {
      Matrix<T> eps(x.rows(), options_.latent);
      random::fill_normal(rng, eps);
      const Matrix<T> z = q.mean + (q.log_variance.array() * T(0.5)).exp().matrix().cwiseProduct(eps);
      Vector<T> term = log_likelihood_rows(x, z);
      if (options_.estimator == VAEEstimator::sampled)  // + log p(z) - log q(z|x), the 2 pi terms cancel
        term += (T(0.5) * (eps.array().square() - z.array().square() + q.log_variance.array())).rowwise().sum().matrix();
      out += term / T(options_.samples);
    }
    return out;
  }

  /// Importance-weighted estimate of log p(x) for each row of x (N x D) with k samples (Burda et al. 2016):
  /// a lower bound that is >= the ELBO in expectation and tightens as k grows. Length N, higher is better
  /// (the library's score_samples() convention; score() is its mean).
  /// @throw std::invalid_argument for x of the wrong width; std::domain_error if k < 1.
  template <class Derived> Vector<T> score_samples(const Eigen::MatrixBase<Derived>& x, int k, Rng& rng) const {
    check_data("VAE::score_samples", x);
    if (k < 1) detail::throw_domain("VAE::score_samples", "k", "be at least 1", std::to_string(k));
    const Gaussian q = posterior(x);
    Matrix<T> logw(x.rows(), k);
    const Matrix<T> sigma = (q.log_variance.array() * T(0.5)).exp().matrix();
    for (int j = 0; j < k; ++j) {
      Matrix<T> eps(x.rows(), options_.latent);
      random::fill_normal(rng, eps);
      const Matrix<T> z = q.mean + sigma.cwiseProduct(eps);
      // log p(x|z) + log p(z) - log q(z|x); the 2 pi terms of p(z) and q cancel
      logw.col(j) = log_likelihood_rows(x, z) +
                    (T(0.5) * (eps.array().square() - z.array().square() + q.log_variance.array())).rowwise().sum().matrix();
    }
    return (log_sum_exp_rows(logw).array() - std::log(T(k))).matrix();
  }
  /// The mean over the rows of score_samples(x, k, rng): the estimated mean log-likelihood per row.
  template <class Derived> T score(const Eigen::MatrixBase<Derived>& x, int k, Rng& rng) const { return score_samples(x, k, rng).mean(); }

  /// Mean and log-variance of q(z|x) for each row.
  struct Gaussian {
    Matrix<T> mean;          ///< N x latent means of q(z|x)
    Matrix<T> log_variance;  ///< N x latent log-variances of q(z|x)
  };
  /// q(z|x) for each row of x (the encoder's output).
  template <class Derived> Gaussian encode(const Eigen::MatrixBase<Derived>& x) const {
    check_data("VAE::encode", x);
    return posterior(x);
  }
  /// Decoder output for latent rows z: Bernoulli probabilities, or the Gaussian means.
  template <class Derived> Matrix<T> decode(const Eigen::MatrixBase<Derived>& z) const {
    if (z.cols() != options_.latent)
      pml::detail::throw_shape("VAE::decode", "z has " + std::to_string(z.cols()) + " columns, expected " + std::to_string(options_.latent));
    check_all_finite("VAE::decode", "z", z);
    const Matrix<T> out = decoder_.predict(z);
    if (options_.likelihood == VAELikelihood::bernoulli) return pml::sigmoid(out.array()).matrix();
    return out.leftCols(options_.input);
  }
  /// decode(encode(x).mean).
  template <class Derived> Matrix<T> reconstruct(const Eigen::MatrixBase<Derived>& x) const { return decode(encode(x).mean); }
  /// n draws of the decoder's mean at z ~ N(0, I), as rows (n x D); `rng` first, as in every sample(rng, n).
  /// @throw std::invalid_argument if n <= 0.
  Matrix<T> sample(Rng& rng, Index n) const {
    if (n <= 0) pml::detail::throw_shape("VAE::sample", "n must be positive, got " + std::to_string(n));
    Matrix<T> z(n, options_.latent);
    random::fill_normal(rng, z);
    return decode(z);
  }
  /// KL(q(z|x) || p(z)) of each row: large for inputs unlike the training data (an outlier score).
  template <class Derived> Vector<T> kl_divergence(const Eigen::MatrixBase<Derived>& x) const {
    check_data("VAE::kl_divergence", x);
    return kl_per_row(posterior(x));
  }

  /// Pointers to every trainable parameter, in the order model files store them (for optimisers and serialisation).
  nn::ParameterList<T> parameters() {
    nn::ParameterList<T> list = encoder_.parameters();
    nn::append(list, decoder_.parameters());
    return list;
  }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const {
    nn::ConstParameterList<T> list = encoder_.parameters();
    const auto more = decoder_.parameters();
    list.insert(list.end(), more.begin(), more.end());
    return list;
  }
  /// Writes the parameters and the options to `path` (model type "VAE"; format in serialization/model_file.hpp),
  /// atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const {
    detail::save_model(*this, path, format);
  }
  /// A model saved by save(): built from the options in the file, with its parameters (bit-identical
  /// outputs). @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static VAE load(const std::filesystem::path& path) {
    return detail::load_model<VAE>(path, "VAE::load");
  }
  static constexpr const char* model_name = "VAE";  ///< The model type in its files' headers.
  /// The options the model was built with; after load(), those in the file, with `init` (not stored) at its default.
  const VAEOptions& options() const noexcept { return options_; }

 private:
  static VAEOptions checked(const VAEOptions& o) {
    if (o.input <= 0) pml::detail::throw_shape("VAE", "input must be positive, got " + std::to_string(o.input));
    if (o.latent <= 0) pml::detail::throw_shape("VAE", "latent must be positive, got " + std::to_string(o.latent));
    detail::check_hidden("VAE", o.hidden);
    if (o.samples < 1) detail::throw_domain("VAE", "samples", "be at least 1", std::to_string(o.samples));
    return o;
  }
  static std::vector<Index> reversed(std::vector<Index> v) { return {v.rbegin(), v.rend()}; }
  void check_width(const char* function, Index cols) const {
    if (cols != options_.input)
      pml::detail::throw_shape(function, "x has " + std::to_string(cols) + " columns, expected " + std::to_string(options_.input));
  }
  template <class Derived> void check_data(const char* function, const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows(function, "x", x, options_.input);
  }
  ad::Var<T> reconstruction_nll(const ad::Var<T>& out, const ad::Var<T>& x) const {
    if (options_.likelihood == VAELikelihood::bernoulli) return ad::bce_with_logits(out, x);
    const Index d = options_.input;
    return ad::gaussian_nll(ad::slice_cols(out, 0, d), ad::slice_cols(out, d, d), x);
  }
  template <class Derived> Gaussian posterior(const Eigen::MatrixBase<Derived>& x) const {
    const Matrix<T> h = encoder_.predict(x);
    return {h.leftCols(options_.latent), h.rightCols(options_.latent)};
  }
  static Vector<T> kl_per_row(const Gaussian& q) {
    return (T(0.5) * (q.mean.array().square() + q.log_variance.array().exp() - T(1) - q.log_variance.array())).rowwise().sum().matrix();
  }
  // log p(x | z) of each row
  template <class Derived> Vector<T> log_likelihood_rows(const Eigen::MatrixBase<Derived>& x, const Matrix<T>& z) const {
    const Matrix<T> out = decoder_.predict(z);
    if (options_.likelihood == VAELikelihood::bernoulli)
      return -(pml::softplus(out.array()) - x.array() * out.array()).rowwise().sum().matrix();
    const Index d = options_.input;
    const auto mean = out.leftCols(d).array(), s = out.rightCols(d).array();
    return -(T(0.5) * (constants<T>::log_two_pi + s + (x.array() - mean).square() * (-s).exp())).rowwise().sum().matrix();
  }

  VAEOptions options_;
  nn::MLP<T> encoder_, decoder_;
  std::vector<T> history_;
};


// VAE's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto VAE<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const FitOptions& fit, Rng& rng) -> VAE& {
    check_data("VAE::fit", x);
    detail::check_fit_options("VAE::fit", fit);
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    const std::vector<T> loss = detail::run_epochs<T>("VAE::fit", x, Matrix<T>(x.rows(), 0), fit, rng, [&](const Matrix<T>& xb, const Matrix<T>&, Index, Index) {
      tape.reset();
      const ad::Var<T> batch = negative_elbo(tape, tape.constant(xb), rng);
      tape.backward((T(1) / T(xb.rows())) * batch);
      adam.step();
      return batch.value()(0, 0);
    });
    history_.clear();
    for (const T l : loss) history_.push_back(-l);
    return *this;
  }

template <Real T>
auto VAE<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const FitOptions& fit, Rng& rng) -> VAE& PML_RANKS_TRY {
    detail::agree(ranks, [&] {
      if (x.rows() > 0 || ranks.size() == 1) check_data("VAE::fit", x);
      detail::check_fit_options("VAE::fit", fit);
    });
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    Rng unused(0);  // the layers draw nothing (no dropout); the noise is per row
    const std::vector<T> loss = detail::run_epochs<T>(ranks, "VAE::fit", x, Matrix<T>(x.rows(), 0), fit, rng, adam, detail::options_text(*this),
                                                      [&](const Matrix<T>& xb, const Matrix<T>&, const detail::ShardStep& s) {
      tape.reset();
      const ad::Var<T> batch = negative_elbo(tape, tape.constant(xb), unused, [&s](auto eps, int l) {
        detail::fill_row_normals(detail::mix64(s.key + std::uint64_t(l)), s.positions, eps);
      });
      tape.backward((T(1) / T(s.minibatch_rows)) * batch);
      return batch.value()(0, 0);
    });
    history_.clear();
    for (const T l : loss) history_.push_back(-l);
    return *this;
  } PML_RANKS_CATCH(ranks, "VAE::fit")


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::VAE)
