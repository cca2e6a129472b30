#pragma once
/// @file
/// DCGAN (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep Convolutional
/// Generative Adversarial Networks"): a GAN on images whose networks follow the paper's guidelines —
/// strided convolutions instead of pooling in the discriminator, transposed convolutions in the
/// generator, batch normalisation in both (not on the generator's output nor the discriminator's input),
/// ReLU in the generator with tanh at its output, LeakyReLU (slope 0.2) in the discriminator, weights
/// drawn from N(0, 0.02²), Adam with learning rate 2e-4 and β₁ = 0.5.
///
/// For images of H x W (both multiples of 4) with C channels, ngf = generator_features, ndf =
/// discriminator_features:
///   G: z (noise) → dense to 2ngf x H/4 x W/4 → BN → ReLU → 4x4 transposed conv stride 2 to ngf x H/2 x W/2
///      → BN → ReLU → 4x4 transposed conv stride 2 to C x H x W → tanh
///   D: image → 4x4 conv stride 2 to ndf x H/2 x W/2 → LeakyReLU → 4x4 conv stride 2 to 2ndf x H/4 x W/4
///      → BN → LeakyReLU → dense to one logit
/// Images are rows of x (N x C·H·W, PyTorch's c, h, w order) with values in [0, 1]; the networks see
/// 2x − 1 (tanh's range) and sample() returns [0, 1].
///
/// With generator_loss = wasserstein_gp (WGAN-GP, Gulrajani et al. 2017) D is a critic: an unbounded score,
/// no batch normalisation (the paper's section 4: the penalty is per input, which a batch statistic would
/// couple; the second convolution gets a bias instead), the loss Σ D(fake) − Σ D(real) + λ Σ (‖∇ₓ̂D(x̂)‖₂ − 1)²
/// at random points x̂ between real and generated images, and k critic steps per generator step.

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/scratch.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/gan.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/conv.hpp"
#include "pml/nn/linear.hpp"
#include "pml/nn/optim.hpp"

namespace pml {

/// Options of DCGAN: the image shape, the noise dimension, the networks' widths, the generator's loss and
/// three remedies for mode collapse (PacGAN packing, minibatch standard deviation, WGAN-GP's critic).
struct DCGANOptions {
  Index noise = 100;   ///< dimension of z
  Index channels = 1;  ///< C of the images
  Index height = 28;   ///< H, pixels (a multiple of 4)
  Index width = 28;    ///< W, pixels (a multiple of 4)
  Index generator_features = 64;      ///< ngf: the generator's last hidden layer has ngf channels, the one before 2ngf
  Index discriminator_features = 64;  ///< ndf: the discriminator's first layer has ndf channels, the second 2ndf
  /// non_saturating (the paper's), minimax, or wasserstein_gp (WGAN-GP: D a critic without batch
  /// normalisation, trained with the gradient penalty; not with minibatch_stddev)
  GANLoss generator_loss = GANLoss::non_saturating;
  /// PacGAN (Lin et al. 2018): D judges `packing` images at once, stacked as channels (its first
  /// convolution takes packing·C channels), all real or all generated. 1: the plain DCGAN. A pack is
  /// rows i, i + N/m, ..., i + (m−1)N/m of a batch of N rows; fit() drops the rows of a minibatch past the
  /// last multiple of `packing`.
  Index packing = 1;
  /// Minibatch standard deviation (Karras et al. 2018, sec. 3): D's dense layer gains one input, the
  /// standard deviation over the batch of each of its features, averaged (the paper's constant feature
  /// map, read by a dense layer). The statistic is of the batch given: discriminate() takes x as one batch.
  bool minibatch_stddev = false;
  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("noise", o.noise, io::as_size);
    v("channels", o.channels, io::as_size);
    v("height", o.height, io::as_size);
    v("width", o.width, io::as_size);
    v("generator_features", o.generator_features, io::as_size);
    v("discriminator_features", o.discriminator_features, io::as_size);
    v("generator_loss", o.generator_loss);
    v("packing", o.packing, io::added_later);
    v("minibatch_stddev", o.minibatch_stddev, io::added_later);
  }
};

/// Options of DCGAN::fit: epochs over the shuffled images, each minibatch one discriminator step and then
/// (after every discriminator_steps-th minibatch) one generator step (with 1, the DCGAN paper's and PyTorch's
/// example's schedule), Adam for both players.
struct DCGANFitOptions {
  int epochs = 5;  ///< passes over the images
  Index batch_size = 128;  ///< real images (and noise rows) per step
  double learning_rate = 2e-4;  ///< Adam's step size for both players (the paper's)
  double beta1 = 0.5;  ///< Adam's β₁ (the paper's)
  double beta2 = 0.999;  ///< Adam's β₂ (WGAN-GP's algorithm 1: β₁ 0, β₂ 0.9, learning rate 1e-4)
  /// Discriminator (critic) steps per generator step: G steps after every k-th minibatch (WGAN-GP's
  /// n_critic, 5 in its algorithm 1; 1 is the DCGAN paper's schedule).
  int discriminator_steps = 1;
  double gradient_penalty = 10;  ///< λ of the wasserstein_gp loss (the paper's 10; ignored by the other losses)
  /// β of an exponential moving average of the generator's weights (as GANFitOptions::generator_average;
  /// Yazıcı et al. 2019): θ̄ ← β·θ̄ + (1 − β)·θ after every generator step, from the weights fit() starts
  /// from; fit() ends with G's weights (γ and β of its batch normalisation included) set to θ̄ and the
  /// running statistics of G's batch normalisation estimated again for them by DCGAN::update_batch_norm —
  /// their mean over DCGAN::batch_norm_batches passes in training mode of a minibatch's noise rows
  /// (batch_size; in fit(ranks, ...) the minibatch on all ranks, min(N, P·batch_size)), drawn from fit()'s
  /// rng after the training (PyTorch's swa_utils.update_bn), since the statistics kept during the fit belong
  /// to other weights. The discriminator keeps its own weights. 0: no averaging (the default). In [0, 1).
  double generator_average = 0;
  std::function<void(const TrainingProgress&)> progress{};  ///< called after every minibatch (empty: no reports)
};

/// `DCGAN<float> gan({}, rng); gan.fit(images, {.epochs = 5}, rng); auto grid = gan.sample(rng, 64);`
/// Thread safety as the other deep models: const queries (sample, generate, discriminate, save) from many
/// threads at once, each with its own Rng; fit() needs the model to itself. Queries use the batch
/// normalisation's running statistics (PyTorch's eval mode), so an image depends on its own z only.
template <Real T = double> class DCGAN {
 public:
  using Options = DCGANOptions;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double).
  /// @throw std::invalid_argument for non-positive sizes, a height or width that is not a multiple of 4, or
  ///        wasserstein_gp with minibatch_stddev;
  ///        std::domain_error for a packing outside 1..64.
  DCGAN(const Options& options, Rng& rng)
      : options_(checked(options)),
        g_dense_(options_.noise, 2 * options_.generator_features * quarter_pixels(), rng, nn::Init::pytorch, "generator.dense"),
        g_bn0_(2 * options_.generator_features, 1e-5, 0.1, "generator.bn0"),
        g_up1_(2 * options_.generator_features, options_.generator_features, window(), rng, nn::Init::pytorch, false, 0, 0, "generator.up1"),
        g_bn1_(options_.generator_features, 1e-5, 0.1, "generator.bn1"),
        g_up2_(options_.generator_features, options_.channels, window(), rng, nn::Init::pytorch, true, 0, 0, "generator.up2"),
        d_conv1_(options_.channels * options_.packing, options_.discriminator_features, window(), rng, nn::Init::pytorch, true, "discriminator.conv1"),
        d_conv2_(options_.discriminator_features, 2 * options_.discriminator_features, window(), rng, nn::Init::pytorch, critic(), "discriminator.conv2"),
        d_bn2_(2 * options_.discriminator_features, 1e-5, 0.1, "discriminator.bn2"),
        d_dense_(2 * options_.discriminator_features * quarter_pixels() + (options_.minibatch_stddev ? 1 : 0), 1, rng, nn::Init::pytorch,
                 "discriminator.dense") {
    // Radford et al.: every weight from N(0, 0.02²), batch-norm scales from N(1, 0.02²), biases zero
    for (nn::Parameter<T>* w : {&g_dense_.weight(), &g_up1_.weight(), &g_up2_.weight(), &d_conv1_.weight(), &d_conv2_.weight(), &d_dense_.weight()}) {
      random::fill_normal(rng, w->value);
      w->value *= T(0.02);
    }
    for (nn::Parameter<T>* b : {&g_dense_.bias(), &g_up2_.bias(), &d_conv1_.bias(), &d_dense_.bias()}) b->value.setZero();
    if (critic()) d_conv2_.bias().value.setZero();
    for (nn::BatchNorm<T>* bn : {&g_bn0_, &g_bn1_, &d_bn2_}) {
      random::fill_normal(rng, bn->weight().value);
      bn->weight().value = ((bn->weight().value * T(0.02)).array() + T(1)).matrix();
    }
  }

  /// The discriminator's loss −Σ[log D(x) + log(1 − D(fake))] on `tape` for real images x and generated
  /// images `fake` (both N x C·H·W in tanh's range [−1, 1], N a multiple of packing; the sum runs over D's
  /// N / packing inputs); batch normalisation in training mode, each batch on its own. For wasserstein_gp
  /// Σ D(fake) − Σ D(x) without the penalty (gradient_penalty() adds it).
  /// @throw std::invalid_argument for the wrong widths or row counts.
  ad::Var<T> discriminator_loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& fake) {
    check_batch("DCGAN::discriminator_loss", x.rows(), x.cols());
    check_batch("DCGAN::discriminator_loss", fake.rows(), fake.cols());
    return discriminator_loss_impl(tape, x, fake);
  }
 private:
  // discriminator_loss() without its checks (a rank's share of a batch in a data-parallel fit may have no rows)
  ad::Var<T> discriminator_loss_impl(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& fake) {
    const ad::Var<T> real_logit = discriminator_logit(*this, tape, x), fake_logit = discriminator_logit(*this, tape, fake);
    if (critic()) return ad::sum(fake_logit) - ad::sum(real_logit);
    return ad::bce_with_logits(real_logit, tape.constant(real_logit.rows(), 1, T(1))) + ad::bce_with_logits(fake_logit, tape.constant(fake_logit.rows(), 1, T(0)));
  }
 public:
  /// The generator's loss for generated images `fake` (on the tape that made them from G; N a multiple of
  /// packing), summed over D's inputs. @throw std::invalid_argument for the wrong width or row count.
  ad::Var<T> generator_loss(ad::Tape<T>& tape, const ad::Var<T>& fake) {
    check_batch("DCGAN::generator_loss", fake.rows(), fake.cols());
    return generator_loss_impl(tape, fake);
  }
 private:
  ad::Var<T> generator_loss_impl(ad::Tape<T>& tape, const ad::Var<T>& fake) {
    const ad::Var<T> logit = discriminator_logit(*this, tape, fake);
    if (critic()) return -ad::sum(logit);  // WGAN: −Σ D(fake)
    if (options_.generator_loss == GANLoss::non_saturating) return ad::bce_with_logits(logit, tape.constant(logit.rows(), 1, T(1)));  // −log D
    return -ad::bce_with_logits(logit, tape.constant(logit.rows(), 1, T(0)));  // log(1 − D) = −softplus(logit)
  }
 public:
  /// WGAN-GP's penalty Σ (‖∇ D(x̂)‖₂ − 1)² over D's inputs at the images `x_hat` (N x C·H·W in [−1, 1], N
  /// a multiple of packing; the gradient is with respect to D's input, a pack of `packing` images). It is
  /// built on the tape from the critic's weights: ∇ = C₁ᵀ(m₁ ⊙ C₂ᵀ(m₂ ⊙ w)), Cᵀ the adjoint of a
  /// convolution (the transposed convolution with the same weights), w the dense layer's weights and
  /// m₁, m₂ the LeakyReLU slopes at x̂ (constant almost everywhere), so back-propagation gives the
  /// penalty's gradient with respect to the weights without a second-order pass (Gulrajani et al.
  /// 2017, eq. 3). @throw std::invalid_argument for the wrong width or row count, or unless
  /// generator_loss is wasserstein_gp (the other discriminators have batch normalisation, whose input
  /// gradient couples the rows).
  ad::Var<T> gradient_penalty(ad::Tape<T>& tape, const ad::Var<T>& x_hat);
  /// G(z) on `tape` in training mode (batch statistics; the running statistics updated), values in [−1, 1].
  /// @throw std::invalid_argument unless z has noise columns.
  ad::Var<T> generator_forward(ad::Tape<T>& tape, const ad::Var<T>& z) {
    if (z.cols() != options_.noise) pml::detail::throw_shape("DCGAN::generator_forward", "z has " + std::to_string(z.cols()) + " columns, expected " + std::to_string(options_.noise));
    return generator_output(*this, tape, z);
  }

  /// D on `tape` for images x (N x C·H·W in tanh's range [−1, 1]): its logit and the features the logit
  /// is made from (N x 2ndf·H/4·W/4, after the second block's LeakyReLU), the body InfoGAN's recognition
  /// head shares. Batch normalisation in training mode; the const overload uses the running statistics
  /// and the weights as constants. Only without packing and minibatch_stddev (a row must be one input of D).
  /// @throw std::invalid_argument for the wrong width, or with packing or minibatch_stddev.
  DiscriminatorOutput<T> discriminator_forward(ad::Tape<T>& tape, const ad::Var<T>& x) {
    check_plain("DCGAN::discriminator_forward", x.cols());
    return discriminator_output(*this, tape, x);
  }
  /// See the non-const overload (running statistics, weights as constants).
  DiscriminatorOutput<T> discriminator_forward(ad::Tape<T>& tape, const ad::Var<T>& x) const {
    check_plain("DCGAN::discriminator_forward", x.cols());
    return discriminator_output(*this, tape, x);
  }

  /// Trains on images x (N x C·H·W, values in [0, 1]) for fit.epochs epochs of shuffled minibatches: per
  /// minibatch G makes as many images from fresh noise, D takes one Adam step on real and generated
  /// images (wasserstein_gp: with the gradient penalty at one random point between each real and generated
  /// input of D), then — after every discriminator_steps-th minibatch — G one on D's verdict on the same
  /// generated images. The mean losses per D input (an image, or a pack of packing images) of each
  /// epoch are in loss_history(). Returns *this.
  /// @throw std::invalid_argument for x of the wrong width or fewer than 2 rows (2·packing with packing);
  ///        std::domain_error for values outside [0, 1] or non-finite, bad fit options, or a loss that stops
  ///        being finite.
  template <class Derived> DCGAN& fit(const Eigen::MatrixBase<Derived>& x, const DCGANFitOptions& fit, Rng& rng) {
    return fit_rows(detail::as_rows<T>("DCGAN::fit", "x", x), fit, rng);
  }
  /// Batch normalisation in training mode synchronised over `ranks` (nn::BatchNorm::forward(tape, x, ranks)) in
  /// the training passes that follow (generator_forward(), discriminator_forward(), the losses), or each rank's
  /// own batch again with nullptr: for the data-parallel fit of a model built on this one (InfoGAN's DCGAN
  /// body); fit(ranks, ...) sets it itself. `ranks` must outlive its use.
  void synchronise_batch_norm(const Collective* ranks) noexcept { sync_ = ranks != nullptr && ranks->size() > 1 ? ranks : nullptr; }
  /// fit() with the images spread over processes (data-parallel training, issue 18 §3; core/collective.hpp,
  /// `pml::mpi::Communicator` on MPI): each rank passes its own images (any number, 0 included; rank order is
  /// row order) and fit.batch_size is the images per rank, so each minibatch holds ranks.size() · batch_size
  /// images of the whole data set (drawn as run_epochs does). Each rank generates one image per minibatch
  /// image it holds, from noise hashed from the step's key and the image's position (WGAN-GP's ε likewise);
  /// both players' batch normalisation is synchronised over the ranks (nn::BatchNorm::forward(tape, x,
  /// ranks)), so every rank runs every step, also one holding none of its images; each player's gradients
  /// are summed over the ranks once per update. Rank 0's initial weights are copied to every rank; `rng` must
  /// be in the same state on every rank (checked). So P ranks with batch B fit as fit(Collective::single(),
  /// all images, {batch P·B}) does, to the rounding of the sums (not as fit(x, fit, rng), whose noise is drawn
  /// in sequence). The parameters, both optimisers and the running statistics are checked to agree after
  /// every epoch. Not with packing or minibatch_stddev (both couple the images of a batch).
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument with packing
  ///        or minibatch_stddev, for options or an rng that differ between ranks, different networks or fewer
  ///        than 2 images on all ranks; std::runtime_error if the ranks' states drift apart.
  template <class Derived> DCGAN& fit(const Collective& ranks, const Eigen::MatrixBase<Derived>& x, const DCGANFitOptions& fit, Rng& rng) {
    constexpr const char* function = "DCGAN::fit";
    Matrix<T> converted;
    std::optional<Eigen::Ref<const Matrix<T>>> rows;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      if (options_.packing != 1 || options_.minibatch_stddev)
        throw std::invalid_argument(std::string(function) + ": a data-parallel fit needs packing 1 and no minibatch_stddev (both couple the images of a batch), got packing " +
                                    std::to_string(options_.packing) + (options_.minibatch_stddev ? " and minibatch_stddev" : ""));
      check_fit(function, fit);
      if (x.rows() > 0 || ranks.size() == 1) {
        detail::check_rows(function, "x", x, input_size());
        if (x.minCoeff() < 0 || x.maxCoeff() > 1)
          detail::throw_domain(function, "x", "lie in [0, 1]", "values from " + detail::describe(double(x.minCoeff())) + " to " + detail::describe(double(x.maxCoeff())));
      }
      detail::hold_shard_rows<T>(rows, converted, function, "x", x, input_size());
    });
    return fit_rows(ranks, *rows, fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  DCGAN& fit_rows(Eigen::Ref<const Matrix<T>> x, const DCGANFitOptions& fit, Rng& rng);
  DCGAN& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const DCGANFitOptions& fit, Rng& rng);
  // fit()'s options, apart from the data
  void check_fit(const char* function, const DCGANFitOptions& fit) const {
    if (fit.epochs < 1) detail::throw_domain(function, "epochs", "be at least 1", std::to_string(fit.epochs));
    if (fit.batch_size < 2 * options_.packing)
      detail::throw_domain(function, "batch_size", "be at least 2 x packing = " + std::to_string(2 * options_.packing) + (critic() ? " (the generator's batch normalisation)" : " (batch normalisation over D's inputs)"),
                           std::to_string(fit.batch_size));
    check_positive(function, "learning_rate", fit.learning_rate);
    if (!(fit.beta1 >= 0 && fit.beta1 < 1)) detail::throw_domain(function, "beta1", "lie in [0, 1)", detail::describe(fit.beta1));
    if (!(fit.beta2 >= 0 && fit.beta2 < 1)) detail::throw_domain(function, "beta2", "lie in [0, 1)", detail::describe(fit.beta2));
    if (fit.discriminator_steps < 1) detail::throw_domain(function, "discriminator_steps", "be at least 1", std::to_string(fit.discriminator_steps));
    if (!(fit.gradient_penalty >= 0 && std::isfinite(fit.gradient_penalty)))
      detail::throw_domain(function, "gradient_penalty", "be finite and non-negative", detail::describe(fit.gradient_penalty));
    if (!(fit.generator_average >= 0 && fit.generator_average < 1))
      detail::throw_domain(function, "generator_average", "lie in [0, 1)", detail::describe(fit.generator_average));
  }
  // DCGANFitOptions::generator_average: θ̄ into G, then the running statistics of G's batch norms for it
  void finish_average(const detail::ParameterAverage<T>& average, Index rows, Rng& rng) {
    if (!average.active()) return;
    average.finish(generator_parameters());
    update_batch_norm(rng, rows, batch_norm_batches);  // on each rank of a data-parallel fit on its own: the same passes (rng alike)
  }

 public:
  /// The mean discriminator and generator losses per D input (an image, or a pack) of each epoch of the last fit() (empty before it).
  /// For wasserstein_gp the critic's loss includes λ times the penalty (so it is not minus the Wasserstein estimate);
  /// the generator's is NaN for an epoch in which the generator took no step.
  const GANHistory<T>& loss_history() const noexcept { return history_; }

  /// n generated images (n x C·H·W, values in [0, 1]) from z ~ N(0, I); `rng` first, as in every sample(rng, n).
  /// @throw std::invalid_argument if n <= 0.
  Matrix<T> sample(Rng& rng, Index n) const {
    if (n <= 0) pml::detail::throw_shape("DCGAN::sample", "n must be positive, got " + std::to_string(n));
    Matrix<T> z(n, options_.noise);
    random::fill_normal(rng, z);
    return generate(z);
  }
  /// n images from truncated noise (the truncation trick, Brock et al. 2019): each z_i a standard normal
  /// draw truncated to [−truncation, truncation] (random::truncated_normal), trading the images' diversity
  /// for their quality; +∞ draws as sample(rng, n) does. n x C·H·W, values in [0, 1].
  /// @throw std::invalid_argument for n <= 0; std::domain_error unless truncation > 0.
  Matrix<T> sample(Rng& rng, Index n, double truncation) const {
    if (n <= 0) pml::detail::throw_shape("DCGAN::sample", "n must be positive, got " + std::to_string(n));
    if (!(truncation > 0)) detail::throw_domain("DCGAN::sample", "truncation", "be positive", detail::describe(truncation));
    Matrix<T> z(n, options_.noise);
    if (std::isinf(truncation)) random::fill_normal(rng, z);
    else random::fill_truncated_normal(rng, z, truncation);
    return generate(z);
  }
  /// The images G(z) makes from given noise rows (values in [0, 1]), with the running statistics.
  /// @throw std::invalid_argument for z of the wrong width or no rows; std::domain_error for non-finite z.
  template <class Derived> Matrix<T> generate(const Eigen::MatrixBase<Derived>& z) const {
    detail::check_rows("DCGAN::generate", "z", z, options_.noise);
    const Matrix<T> zt = z.template cast<T>();
    return chunked(zt, input_size(), [&](ad::Tape<T>& tape, const Matrix<T>& rows) {
      return Matrix<T>(((generator_output(*this, tape, tape.constant(rows)).value().array() + T(1)) / T(2)).matrix());
    });
  }
  /// D(x): the discriminator's probability that each image (values in [0, 1]) is real (wasserstein_gp: the
  /// critic's score, higher is more real), with the running statistics; with packing m that each pack (rows i, i + N/m, ...; N a multiple of m) is (N/m values).
  /// With minibatch_stddev x is one batch (the statistic is of its spread: keep it to a minibatch's size);
  /// else it goes through in chunks (of whole packs).
  /// @throw std::invalid_argument for x of the wrong width, no rows or a row count that is not a multiple
  ///        of packing; std::domain_error for non-finite x.
  template <class Derived> Vector<T> discriminate(const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows("DCGAN::discriminate", "x", x, input_size());
    check_batch("DCGAN::discriminate", x.rows(), x.cols());
    const Matrix<T> xt = (x.template cast<T>().array() * T(2) - T(1)).matrix();
    auto logit = [&](ad::Tape<T>& tape, const Matrix<T>& rows) { return Matrix<T>(discriminator_logit(*this, tape, tape.constant(rows)).value()); };
    Matrix<T> logits;
    if (options_.minibatch_stddev) {  // the statistic is of the whole batch
      ad::ScratchTape<T> scratch;
      logits = logit(*scratch, xt);
    } else if (options_.packing > 1) {  // packs of rows i, i + n, ...: put each pack's rows together, then chunks of 64 packs
      const Index m = options_.packing, n = xt.rows() / m;
      Matrix<T> grouped(xt.rows(), xt.cols());
      for (Index r = 0; r < n; ++r)
        for (Index k = 0; k < m; ++k) grouped.row(r * m + k) = xt.row(r + k * n);
      logits.resize(n, 1);
      ad::ScratchTape<T> scratch;
      Matrix<T> chunk;
      for (Index r0 = 0; r0 < n; r0 += 64) {
        const Index packs = std::min<Index>(64, n - r0);
        chunk.resize(packs * m, xt.cols());  // pack() wants rows i, i + packs, ...: regroup the chunk's packs
        for (Index r = 0; r < packs; ++r)
          for (Index k = 0; k < m; ++k) chunk.row(r + k * packs) = grouped.row((r0 + r) * m + k);
        scratch->reset();
        logits.middleRows(r0, packs) = logit(*scratch, chunk);
      }
    } else {
      logits = chunked(xt, 1, logit);
    }
    if (critic()) return logits.col(0);
    return pml::sigmoid(logits.col(0).array()).matrix();
  }
  /// True for generator_loss wasserstein_gp: D is a critic (a score, no batch normalisation).
  bool critic() const noexcept { return options_.generator_loss == GANLoss::wasserstein_gp; }

  Index input_size() const noexcept { return options_.channels * options_.height * options_.width; }  ///< C·H·W
  /// The generator's trainable parameters (dense, batch norms, transposed convolutions), in file order.
  nn::ParameterList<T> generator_parameters() { return list<nn::ParameterList<T>>(*this, true, false); }
  /// The discriminator's trainable parameters, in file order.
  nn::ParameterList<T> discriminator_parameters() { return list<nn::ParameterList<T>>(*this, false, true); }
  /// Every trainable parameter, the generator's first.
  nn::ParameterList<T> parameters() { return list<nn::ParameterList<T>>(*this, true, true); }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const { return list<nn::ConstParameterList<T>>(*this, true, true); }
  /// What a model file stores: parameters() and then the batch norms' running statistics.
  nn::ParameterList<T> stored_parameters() { return with_buffers<nn::ParameterList<T>>(*this); }
  /// Read-only stored_parameters(), same order.
  nn::ConstParameterList<T> stored_parameters() const { return with_buffers<nn::ConstParameterList<T>>(*this); }
  /// Writes the parameters, the running statistics and the options to `path` (model type "DCGAN"),
  /// atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const { detail::save_model(*this, path, format); }
  /// A model saved by save() (bit-identical outputs). @throw std::runtime_error naming the path for a
  /// missing, truncated, corrupt or wrong-type file.
  static DCGAN load(const std::filesystem::path& path) { return detail::load_model<DCGAN>(path, "DCGAN::load"); }
  static constexpr const char* model_name = "DCGAN";  ///< The model type in its files' headers.
  /// The noise minibatches over which fit() estimates the running statistics of G's batch normalisation
  /// again after averaging its weights (DCGANFitOptions::generator_average).
  static constexpr int batch_norm_batches = 100;
  /// Estimates the running statistics of the generator's batch normalisation again for its current weights
  /// (PyTorch's torch.optim.swa_utils.update_bn): their mean over `batches` passes in training mode of
  /// `batch_size` noise rows drawn from rng (batches · batch_size · noise normal draws; the discriminator's
  /// statistics are left alone; each process on its own, also while synchronise_batch_norm() is set). fit()
  /// calls it after averaging G's weights (DCGANFitOptions::generator_average); also for weights set by hand.
  /// Returns *this. On an exception (bad arguments, or memory) the statistics are left as they were.
  /// @throw std::domain_error for batch_size < 2 or batches < 1.
  DCGAN& update_batch_norm(Rng& rng, Index batch_size = 64, int batches = batch_norm_batches);
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  static Options checked(const Options& o) {
    constexpr const char* function = "DCGAN";
    if (o.noise <= 0 || o.channels <= 0 || o.generator_features <= 0 || o.discriminator_features <= 0)
      pml::detail::throw_shape(function, "noise, channels and the feature counts must be positive, got " + std::to_string(o.noise) + ", " +
                                             std::to_string(o.channels) + ", " + std::to_string(o.generator_features) + " and " +
                                             std::to_string(o.discriminator_features));
    if (o.generator_loss == GANLoss::wasserstein_gp && o.minibatch_stddev)
      throw std::invalid_argument("DCGAN: generator_loss wasserstein_gp cannot be combined with minibatch_stddev (the gradient penalty is per input of D)");
    if (o.packing < 1 || o.packing > 64) detail::throw_domain(function, "packing", "lie in 1..64", std::to_string(o.packing));
    if (o.height < 4 || o.width < 4 || o.height % 4 != 0 || o.width % 4 != 0)
      pml::detail::throw_shape(function, "height and width must be positive multiples of 4 (two stride-2 layers), got " + std::to_string(o.height) + "x" +
                                             std::to_string(o.width));
    return o;
  }
  Index quarter_pixels() const noexcept { return (options_.height / 4) * (options_.width / 4); }
  // LeakyReLU's derivative (slope 0.2) at each pre-activation, as in ad::leaky_relu's backward pass
  static Matrix<T> leaky_slopes(const Matrix<T>& a) { return a.unaryExpr([](T v) { return v > T(0) ? T(1) : T(0.2); }); }
  static ad::Window2d window() { return ad::Window2d::square(4, 2, 1); }
  void check_width(const char* function, Index cols) const {
    if (cols != input_size()) pml::detail::throw_shape(function, "the images have " + std::to_string(cols) + " columns, expected " + std::to_string(input_size()));
  }
  void check_batch(const char* function, Index rows, Index cols) const {
    check_width(function, cols);
    if (rows == 0 || rows % options_.packing != 0)
      pml::detail::throw_shape(function, "the images have " + std::to_string(rows) + " rows, expected a positive multiple of packing (" +
                                             std::to_string(options_.packing) + ")");
  }
  void check_plain(const char* function, Index cols) const {
    check_width(function, cols);
    if (options_.packing != 1 || options_.minibatch_stddev)
      throw std::invalid_argument(std::string(function) + ": needs packing 1 and no minibatch_stddev (a row must be one input of D), got packing " +
                                  std::to_string(options_.packing) + (options_.minibatch_stddev ? " and minibatch_stddev" : ""));
  }
  // D's input rows: with packing m, row i stacks the channels of rows i, i + n, ..., i + (m−1)n (n = N/m)
  // side by side, which in the c, h, w order is one image of m·C channels (selection products: a batch is small)
  static ad::Var<T> pack(ad::Tape<T>& tape, const ad::Var<T>& x, Index m) {
    if (m == 1) return x;
    const Index n = x.rows() / m;
    ad::Var<T> packed;
    for (Index k = 0; k < m; ++k) {
      ad::Var<T> select = tape.constant(n, x.rows(), T(0));
      for (Index r = 0; r < n; ++r) select.value()(r, k * n + r) = T(1);
      const ad::Var<T> block = ad::matmul(select, x);
      packed = k == 0 ? block : ad::concat_cols(packed, block);
    }
    return packed;
  }
  // batch norm in training mode for a mutable model (fit), with the running statistics for a const one
  // (`sync`: synchronised over those ranks, in a data-parallel fit)
  template <class Self> static nn::Images<T> norm(Self& bn, ad::Tape<T>& tape, const nn::Images<T>& x, const Collective* sync) {
    if constexpr (std::is_const_v<Self>)
      return bn.forward(tape, x);
    else
      return sync ? bn.forward(tape, x, *sync) : bn.forward(tape, x, nn::Mode::train);
  }
  template <class Self> static ad::Var<T> generator_output(Self& self, ad::Tape<T>& tape, const ad::Var<T>& z) {
    const Options& o = self.options_;
    const ad::ImageShape first{2 * o.generator_features, o.height / 4, o.width / 4};
    nn::Images<T> h{self.g_dense_.forward(tape, z), first};
    h = norm(self.g_bn0_, tape, h, self.sync_);
    h.var = ad::relu(h.var);
    h = norm(self.g_bn1_, tape, self.g_up1_.forward(tape, h), self.sync_);
    h.var = ad::relu(h.var);
    return ad::tanh(self.g_up2_.forward(tape, h).var);
  }
  template <class Self> static DiscriminatorOutput<T> discriminator_output(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x) {
    const Options& o = self.options_;
    nn::Images<T> h = self.d_conv1_.forward(tape, {pack(tape, x, o.packing), ad::ImageShape{o.packing * o.channels, o.height, o.width}});
    h.var = ad::leaky_relu(h.var, T(0.2));
    h = self.d_conv2_.forward(tape, h);
    if (!self.critic()) h = norm(self.d_bn2_, tape, h, self.sync_);  // a WGAN-GP critic has no batch normalisation
    h.var = ad::leaky_relu(h.var, T(0.2));
    const ad::Var<T> features = o.minibatch_stddev ? detail::append_minibatch_stddev(tape, h.var) : h.var;
    return {self.d_dense_.forward(tape, features), h.var};
  }
  template <class Self> static ad::Var<T> discriminator_logit(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x) {
    return discriminator_output(self, tape, x).logit;
  }
  // f(tape, rows) over chunks of 64 rows on this thread's scratch tape
  template <class F> static Matrix<T> chunked(const Matrix<T>& x, Index out_cols, F f) {
    Matrix<T> out(x.rows(), out_cols);
    ad::ScratchTape<T> scratch;
    ad::Tape<T>& tape = *scratch;
    for (Index r0 = 0; r0 < x.rows(); r0 += 64) {
      const Index rows = std::min<Index>(64, x.rows() - r0);
      tape.reset();
      out.middleRows(r0, rows) = f(tape, Matrix<T>(x.middleRows(r0, rows)));
    }
    return out;
  }
  template <class List, class Self> static List list(Self& self, bool generator, bool discriminator) {
    List out;
    auto add = [&](auto& layer) {
      for (auto* p : layer.parameters()) out.push_back(p);
    };
    if (generator) {
      add(self.g_dense_);
      add(self.g_bn0_);
      add(self.g_up1_);
      add(self.g_bn1_);
      add(self.g_up2_);
    }
    if (discriminator) {
      add(self.d_conv1_);
      add(self.d_conv2_);
      if (!self.critic()) add(self.d_bn2_);
      add(self.d_dense_);
    }
    return out;
  }
  template <class List, class Self> static List with_buffers(Self& self) {
    List out = list<List>(self, true, true);
    for (auto* bn : {&self.g_bn0_, &self.g_bn1_, &self.d_bn2_})
      if (bn != &self.d_bn2_ || !self.critic())
        for (auto* p : bn->buffers()) out.push_back(p);
    return out;
  }

  Options options_;
  nn::Linear<T> g_dense_;
  const Collective* sync_ = nullptr;  // during a data-parallel fit: the ranks the batch norms synchronise over
  nn::BatchNorm<T> g_bn0_;
  nn::ConvTranspose2d<T> g_up1_;
  nn::BatchNorm<T> g_bn1_;
  nn::ConvTranspose2d<T> g_up2_;
  nn::Conv2d<T> d_conv1_, d_conv2_;
  nn::BatchNorm<T> d_bn2_;
  nn::Linear<T> d_dense_;
  GANHistory<T> history_;
};

// fit()'s body on rows of T, defined out of the class so that an extern template instantiation leaves it to
// one file (cmake/outline_members.py)
template <Real T>
auto DCGAN<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const DCGANFitOptions& fit, Rng& rng) -> DCGAN& {
    constexpr const char* function = "DCGAN::fit";
    synchronise_batch_norm(nullptr);  // one process: each batch on its own
    detail::check_rows(function, "x", x, input_size());
    if (x.rows() < 2) pml::detail::throw_shape(function, "x has 1 row; batch normalisation needs at least 2 images");
    if (x.minCoeff() < 0 || x.maxCoeff() > 1)
      detail::throw_domain(function, "x", "lie in [0, 1]", "values from " + detail::describe(double(x.minCoeff())) + " to " + detail::describe(double(x.maxCoeff())));
    check_fit(function, fit);
    if (x.rows() < 2 * options_.packing)
      pml::detail::throw_shape(function, "x has " + std::to_string(x.rows()) + " rows; with packing " + std::to_string(options_.packing) + " fit needs at least " +
                                             std::to_string(2 * options_.packing));
    const Matrix<T> scaled = (x.template cast<T>().array() * T(2) - T(1)).matrix();
    nn::Adam<T> g_opt(generator_parameters(), {.learning_rate = fit.learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    nn::Adam<T> d_opt(discriminator_parameters(), {.learning_rate = fit.learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    const nn::ParameterList<T> g_params = generator_parameters();
    detail::ParameterAverage<T> average(fit.generator_average, g_params);
    ad::Tape<T> g_tape, d_tape;
    Matrix<T> z, x_hat;
    history_ = {};
    // run_epochs hands out the shuffled minibatches; its per-row loss is D's, G's is kept here
    double g_sum = 0;
    Index g_rows = 0;
    long long minibatch = 0;  // over the whole fit: G steps after every discriminator_steps-th
    FitOptions epochs{.epochs = fit.epochs, .batch_size = fit.batch_size, .learning_rate = fit.learning_rate, .progress = fit.progress};
    const std::vector<T> d_history =
        detail::run_epochs<T>(function, scaled, Matrix<T>(scaled.rows(), 0), epochs, rng, [&](const Matrix<T>& xb, const Matrix<T>&, Index b, Index batches) {
          const Index m = xb.rows() - xb.rows() % options_.packing;  // whole packs (all rows without packing)
          auto end_of_epoch = [&] {
            if (b + 1 != batches) return;
            // NaN for an epoch without a generator step (fewer minibatches than discriminator_steps): no loss to report
            history_.generator_loss.push_back(g_rows > 0 ? T(g_sum / double(g_rows)) : std::numeric_limits<T>::quiet_NaN());
            g_sum = 0;
            g_rows = 0;
          };
          if (m < 2 * options_.packing) {  // a last minibatch of fewer than two of D's inputs: batch normalisation cannot take it, so it is skipped
            end_of_epoch();
            return T(0);
          }
          z.resize(m, options_.noise);
          random::fill_normal(rng, z);
          g_tape.reset();
          const ad::Var<T> fake = generator_output(*this, g_tape, g_tape.constant(z));
          d_tape.reset();
          ad::Var<T> d = discriminator_loss(d_tape, d_tape.constant(m == xb.rows() ? xb : Matrix<T>(xb.topRows(m))), d_tape.constant(fake.value()));
          if (critic()) {  // x̂ on the line between each real D input and a generated one: one ε per pack
            const Index packs = m / options_.packing;
            x_hat.resize(m, xb.cols());
            for (Index i = 0; i < packs; ++i) {
              const T e = T(random::uniform<double>(rng));
              for (Index k = i; k < m; k += packs) x_hat.row(k) = e * xb.row(k) + (T(1) - e) * fake.value().row(k);
            }
            d = d + T(fit.gradient_penalty) * gradient_penalty(d_tape, d_tape.constant(x_hat));
          }
          const T inputs = T(m / options_.packing);  // D's inputs: the losses are per input, as the GAN's
          d_tape.backward((T(1) / inputs) * d);
          d_opt.step();
          if (++minibatch % fit.discriminator_steps == 0) {
            const ad::Var<T> g = generator_loss(g_tape, fake);  // D with its new weights, as in PyTorch's example
            g_tape.backward((T(1) / inputs) * g);
            g_opt.step();
            average.update(g_params);
            g_sum += double(g.value()(0, 0)) * double(options_.packing);  // per D input after the division by images below
            g_rows += m;
          }
          end_of_epoch();
          return T(d.value()(0, 0) * T(options_.packing));
        });
    history_.discriminator_loss = d_history;
    finish_average(average, fit.batch_size, rng);
    return *this;
  }


template <Real T>
auto DCGAN<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const DCGANFitOptions& fit, Rng& rng) -> DCGAN& PML_RANKS_TRY {
    constexpr const char* function = "DCGAN::fit";
    const detail::ShardPlace place = detail::shard_place(ranks, x.rows());
    const Index n = place.total, offset = place.offset;
    if (n < 2) pml::detail::throw_shape(function, "x has " + std::to_string(n) + " rows on all ranks together; batch normalisation needs at least 2 images");
    {  // the same training on every rank
      const long sizes[3] = {long(fit.epochs), long(fit.batch_size), long(fit.discriminator_steps)};
      const double rates[5] = {fit.learning_rate, fit.beta1, fit.beta2, fit.gradient_penalty, fit.generator_average};
      const std::string model = detail::options_text(*this);
      const std::uint64_t options = detail::fnv1a(rates, sizeof rates, detail::fnv1a(sizes, sizeof sizes, detail::fnv1a(model.data(), model.size())));
      detail::check_same_training(ranks, function, options, rng, "epochs, batch_size, discriminator_steps, learning_rate, betas, gradient_penalty, generator_average");
    }
    const nn::ParameterList<T> g_params = generator_parameters(), d_params = discriminator_parameters();
    detail::broadcast_parameters(ranks, g_params, function);
    detail::broadcast_parameters(ranks, d_params, function);
    nn::Adam<T> g_opt(g_params, {.learning_rate = fit.learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    nn::Adam<T> d_opt(d_params, {.learning_rate = fit.learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    detail::ParameterAverage<T> average(fit.generator_average, g_params);  // after the broadcast: the same on every rank
    const Index global = std::min<Index>(n, static_cast<Index>(ranks.size()) * fit.batch_size);  // images per minibatch on all ranks
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> scaled;
    std::vector<T> message;
    detail::agree(ranks, [&] {  // the allocations: one rank short of memory stops every rank
      scaled = (x.array() * T(2) - T(1)).matrix();
      message.reserve(std::max(detail::parameter_count(g_params), detail::parameter_count(d_params)) + 2);
    });
    // the batch norms synchronise over the ranks during the fit (on one rank: the plain ones)
    struct Sync {
      DCGAN& model;
      ~Sync() { model.synchronise_batch_norm(nullptr); }
    } sync{*this};
    synchronise_batch_norm(&ranks);
    ad::Tape<T> g_tape, d_tape;
    Matrix<T> xb, z, x_hat;
    history_ = {};
    std::exception_ptr reported;  // thrown by fit.progress on this rank: raised on every rank at the next message
    const auto update = [&](nn::Adam<T>& optimizer, const nn::ParameterList<T>& params, T loss, const detail::ShardMinibatch& s) {
      return detail::sum_step_and_update(ranks, function, x, optimizer, params, message, reported, loss, s.epoch, s.batch);
    };
    long long minibatch = 0;  // over the whole fit: G steps after every discriminator_steps-th
    double d_sum = 0, g_sum = 0;
    Index d_rows = 0, g_rows = 0;
    detail::shard_epochs(ranks, function, n, offset, x.rows(), global, fit.epochs, rng, fit.progress, reported, [&](const detail::ShardMinibatch& s) {
      if (s.rows < 2) return d_rows > 0 ? d_sum / double(d_rows) : 0.0;  // a last minibatch of one image on all ranks: batch normalisation cannot take it
      // every rank runs the step (its batch norms' collectives), with its own images of the minibatch (perhaps none)
      io::gather_rows(scaled, s.local, xb);
      z.resize(static_cast<Index>(s.local.size()), options_.noise);
      pml::detail::fill_row_normals(s.key, s.positions, z);
      g_tape.reset();
      const ad::Var<T> fake = generator_output(*this, g_tape, g_tape.constant(z));
      d_tape.reset();
      ad::Var<T> d = discriminator_loss_impl(d_tape, d_tape.constant(xb), d_tape.constant(fake.value()));
      if (critic() && xb.rows() > 0) {  // x̂ on the line between each real image and its generated one, ε hashed from the position (the critic has no batch norm: no collective)
        x_hat.resize(xb.rows(), xb.cols());
        const std::uint64_t line = pml::detail::mix64(s.key + 1);
        for (Index i = 0; i < xb.rows(); ++i) {
          const T e = T(pml::detail::hashed_uniform<double>(line, static_cast<std::uint64_t>(s.positions[static_cast<std::size_t>(i)])));
          x_hat.row(i) = e * xb.row(i) + (T(1) - e) * fake.value().row(i);
        }
        d = d + T(fit.gradient_penalty) * gradient_penalty(d_tape, d_tape.constant(x_hat));
      }
      d_tape.backward((T(1) / T(s.rows)) * d);
      d_sum += update(d_opt, d_params, d.value()(0, 0), s);
      d_rows += s.rows;
      if (++minibatch % fit.discriminator_steps == 0) {
        const ad::Var<T> g = generator_loss_impl(g_tape, fake);  // D with its new weights, as in fit(x, ...)
        g_tape.backward((T(1) / T(s.rows)) * g);
        g_sum += update(g_opt, g_params, g.value()(0, 0), s);
        average.update(g_params);
        g_rows += s.rows;
      }
      return d_sum / double(d_rows);
    }, [&](int epoch) {
      history_.discriminator_loss.push_back(T(d_sum / double(n)));
      // NaN for an epoch without a generator step (fewer minibatches than discriminator_steps): no loss to report
      history_.generator_loss.push_back(g_rows > 0 ? T(g_sum / double(g_rows)) : std::numeric_limits<T>::quiet_NaN());
      d_sum = g_sum = 0, d_rows = g_rows = 0;
      detail::check_same_state(ranks, function, {&g_opt, &d_opt}, stored_parameters(), epoch);
    });
    finish_average(average, global, rng);  // the noise rows of a minibatch on all ranks (n >= 2)
    return *this;
  } PML_RANKS_CATCH(ranks, "DCGAN::fit")

template <Real T>
auto DCGAN<T>::update_batch_norm(Rng& rng, Index batch_size, int batches) -> DCGAN& {
    constexpr const char* function = "DCGAN::update_batch_norm";
    if (batch_size < 2) detail::throw_domain(function, "batch_size", "be at least 2 (batch statistics)", std::to_string(batch_size));
    if (batches < 1) detail::throw_domain(function, "batches", "be at least 1", std::to_string(batches));
    ad::Tape<T> tape;
    Matrix<T> z(batch_size, options_.noise);
    // the batch norms' momenta, statistics and synchronisation as they were: restored on the way out (the
    // statistics only when a pass threw); everything allocated before the guard exists
    nn::ParameterList<T> buffers = g_bn0_.buffers();
    for (auto* p : g_bn1_.buffers()) buffers.push_back(p);
    std::vector<Matrix<T>> statistics;
    for (const auto* p : buffers) statistics.push_back(p->value);
    struct Restore {
      DCGAN& model;
      const nn::ParameterList<T>& buffers;
      std::vector<Matrix<T>>& statistics;
      double momentum0, momentum1;
      const Collective* sync;
      bool done = false;
      ~Restore() {
        model.g_bn0_.set_momentum(momentum0);
        model.g_bn1_.set_momentum(momentum1);
        if (!done)
          for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i]->value.swap(statistics[i]);  // no allocation
        model.sync_ = sync;
      }
    } restore{*this, buffers, statistics, g_bn0_.momentum(), g_bn1_.momentum(), sync_};
    sync_ = nullptr;  // each process on its own
    for (nn::BatchNorm<T>* bn : {&g_bn0_, &g_bn1_}) bn->reset_running_stats();
    for (int k = 0; k < batches; ++k) {
      for (nn::BatchNorm<T>* bn : {&g_bn0_, &g_bn1_}) bn->set_momentum(1.0 / double(k + 1));  // the mean of the k + 1 batches' statistics
      random::fill_normal(rng, z);
      tape.reset();
      generator_output(*this, tape, tape.constant(z));
    }
    restore.done = true;
    return *this;
  }

// DCGAN's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto DCGAN<T>::gradient_penalty(ad::Tape<T>& tape, const ad::Var<T>& x_hat) -> ad::Var<T> {
    constexpr const char* function = "DCGAN::gradient_penalty";
    check_batch(function, x_hat.rows(), x_hat.cols());
    if (!critic())
      throw std::invalid_argument(std::string(function) + ": needs generator_loss wasserstein_gp (a critic without batch normalisation), got " +
                                  std::string(enum_names(GANLoss{})[static_cast<std::size_t>(options_.generator_loss)]));
    const Options& o = options_;
    const ad::ImageShape in{o.packing * o.channels, o.height, o.width};
    const ad::ImageShape first{o.discriminator_features, o.height / 2, o.width / 2};
    const ad::ImageShape second{2 * o.discriminator_features, o.height / 4, o.width / 4};
    // the LeakyReLU slopes at x̂, off the tape (the weights as constants)
    Matrix<T> m1, m2;
    {
      ad::ScratchTape<T> scratch;
      ad::Tape<T>& s = *scratch;
      const DCGAN& self = *this;
      const ad::Var<T> packed = pack(s, s.constant(x_hat.value()), o.packing);
      const nn::Images<T> a1 = self.d_conv1_.forward(s, {packed, in});
      m1 = leaky_slopes(a1.var.value());
      const nn::Images<T> a2 = self.d_conv2_.forward(s, {ad::mask_mul(a1.var, m1), first});
      m2 = leaky_slopes(a2.var.value());
    }
    const Index n = m1.rows();
    ad::Var<T> g = ad::matmul_nt(tape.constant(n, 1, T(1)), d_dense_.weight().bind(tape));  // ∂D/∂h₂, n x 2ndf·H/4·W/4
    g = ad::conv_transpose2d(ad::mask_mul(g, m2), second, d_conv2_.weight().bind(tape), ad::Var<T>{}, window());  // ∂D/∂h₁
    g = ad::conv_transpose2d(ad::mask_mul(g, m1), first, d_conv1_.weight().bind(tape), ad::Var<T>{}, window());   // ∂D/∂(D's input)
    const ad::Var<T> norm = ad::sqrt(ad::sum_rows(ad::square(g)) + tape.constant(n, 1, std::numeric_limits<T>::min()));
    return ad::sum(ad::square(norm - tape.constant(n, 1, T(1))));
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::DCGAN)
