#pragma once
/// @file
/// Generative adversarial network (Goodfellow et al. 2014): a generator MLP G(z), z ~ N(0, I), and a
/// discriminator MLP D(x) (a logit), trained by alternating k discriminator steps on
///   -[log D(x) + log(1 - D(G(z)))]
/// with one generator step on either the minimax loss log(1 - D(G(z))) or the non-saturating loss
/// -log D(G(z)) (the paper's practical recommendation: strong gradients early in training).
/// Three remedies for mode collapse are options: PacGAN packing (Lin et al. 2018: D judges `packing`
/// samples at once), minibatch standard deviation (Karras et al. 2018: D also sees the batch's spread),
/// and the Wasserstein loss with gradient penalty (Gulrajani et al. 2017: a critic D with
/// E[D(G(z))] - E[D(x)] + λ E[(||∇D(x̂)|| - 1)²]).
#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/core/special.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/mlp.hpp"
#include "pml/nn/optim.hpp"
#include "pml/nn/serialize.hpp"

namespace pml {

/// The generator's loss in GAN training (Goodfellow et al. 2014, sec. 3).
/// `wasserstein_gp` changes the discriminator's loss too: D becomes a critic (an unbounded score).
enum class GANLoss : std::uint8_t {
  minimax,         ///< minimise log(1 - D(G(z))): the game's value function; saturates when D wins
  non_saturating,  ///< minimise -log D(G(z))
  /// WGAN-GP (Gulrajani et al. 2017, algorithm 1): the critic minimises D(G(z)) - D(x) + λ (||∇D(x̂)||₂ - 1)²
  /// at x̂ = εx + (1 - ε)G(z), ε ~ U(0, 1) per sample, and the generator -D(G(z)). The critic's hidden
  /// activations must be relu, leaky_relu or identity (the penalty's gradient is built from them).
  wasserstein_gp,
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 3> enum_names(GANLoss) { return {"minimax", "non_saturating", "wasserstein_gp"}; }

namespace detail {
/// x (N x F) with one more column: the batch's standard deviation over rows per column, averaged over the
/// columns (Karras et al. 2018, sec. 3; about each column's own mean, so a shift leaves it unchanged).
template <Real T> ad::Var<T> append_minibatch_stddev(ad::Tape<T>& tape, const ad::Var<T>& x) {
  const ad::Var<T> centred = x + T(-1) * ad::mean_cols(x);  // the mean of each column removed first
  const ad::Var<T> sd = ad::sqrt(ad::mean_cols(ad::square(centred)) + tape.constant(1, x.cols(), T(1e-8)));
  return ad::concat_cols(x, ad::matmul(tape.constant(x.rows(), 1, T(1)), ad::mean_rows(sd)));
}
}  // namespace detail

/// The discriminator's verdict on a batch and the features it was made from: `logit` (N x 1) and
/// `features` (N x F, D's last hidden layer), the body InfoGAN's recognition head Q(c|x) shares.
template <Real T> struct DiscriminatorOutput {
  ad::Var<T> logit;     ///< D's logit per row (N x 1)
  ad::Var<T> features;  ///< D's last hidden layer per row (N x F)
};

/// Options of GAN: the generator's and the discriminator's architectures and the generator's loss.
struct GANOptions {
  Index noise = 2;   ///< dimension of z
  Index output = 2;  ///< dimension of the data
  std::vector<Index> generator_hidden{128, 128};  ///< hidden widths of G
  std::vector<Index> discriminator_hidden{128, 128};  ///< hidden widths of D
  ad::Activation generator_activation = ad::Activation::relu;  ///< after every hidden layer of G
  ad::Activation discriminator_activation = ad::Activation::leaky_relu;  ///< after every hidden layer of D
  GANLoss generator_loss = GANLoss::non_saturating;  ///< non_saturating (the usual choice), minimax or wasserstein_gp
  /// PacGAN (Lin et al. 2018): D sees `packing` samples at once, as one input row of packing·output
  /// features (all real or all generated), so that a generator missing modes is easy to tell apart.
  /// 1: the plain GAN. Batches given to the losses, fit() and discriminate() must have a multiple of
  /// `packing` rows.
  Index packing = 1;
  /// Minibatch standard deviation (Karras et al. 2018, sec. 3): D's input gains one column, the mean
  /// over features of the standard deviation over the batch (of D's input rows), so that D sees how
  /// spread out a batch is. The statistic is of the batch given: discriminate() on one row sees 0.
  bool minibatch_stddev = false;

  /// How the networks' weights are drawn (nn/init.hpp; automatic: He normal for ReLU hidden layers,
  /// Xavier uniform otherwise). Used when the model is built; a file stores the weights, not this.
  nn::Init init = nn::Init::automatic;
  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("noise", o.noise, io::as_size);
    v("output", o.output, io::as_size);
    v("generator_hidden", o.generator_hidden);
    v("discriminator_hidden", o.discriminator_hidden);
    v("generator_activation", o.generator_activation);
    v("discriminator_activation", o.discriminator_activation);
    v("generator_loss", o.generator_loss);
    v("packing", o.packing, io::added_later);
    v("minibatch_stddev", o.minibatch_stddev, io::added_later);
  }
};

/// Options of GAN::fit: `steps` generator updates, each after `discriminator_steps` (k) discriminator
/// updates, minibatches of real rows drawn with replacement; Adam for both players.
struct GANFitOptions {
  int steps = 5000;  ///< generator updates
  int discriminator_steps = 1;  ///< discriminator updates before each generator update (k)
  Index batch_size = 128;  ///< rows of real data and of noise per update
  double generator_learning_rate = 1e-3;  ///< Adam's step size for G
  double discriminator_learning_rate = 1e-3;  ///< Adam's step size for D
  double beta1 = 0.5;  ///< Adam's beta1 (0.5 is the usual choice for GANs, Radford et al. 2016)
  double beta2 = 0.999;  ///< Adam's beta2 (WGAN-GP's algorithm 1: beta1 0, beta2 0.9, 5 critic steps; its toy experiments beta1 0.5)
  double gradient_penalty = 10;  ///< λ of the wasserstein_gp loss (ignored by the others)
  /// Both step sizes fall linearly over the fit, from their values at the first step to this multiple of
  /// them at the end (PyTorch's LinearLR end_factor; step t of S uses the factor 1 + (end_factor − 1)·t/S).
  /// 1: constant (the default). A decay to a small fraction lets the players settle at the end instead of
  /// circling, which sharpens the generated modes (gan_grid).
  double end_factor = 1;
  /// The multiple of both step sizes that update `step` (0-based, of `steps`) uses: 1 + (end_factor − 1)·step/steps.
  double learning_rate_factor(int step) const noexcept { return 1 + (end_factor - 1) * double(step) / double(steps); }
  /// β of an exponential moving average of the generator's weights (Yazıcı et al. 2019, "The unusual
  /// effectiveness of averaging in GAN training"): θ̄ ← β·θ̄ + (1 − β)·θ after every generator update, from
  /// θ̄ = the weights fit() starts from; fit() ends with G's weights set to θ̄ (the discriminator keeps its
  /// own). Averaging the generator's late iterates, which circle about an equilibrium, sharpens the
  /// generated modes. 0: no averaging (the default); 0.999 is the paper's usual value. In [0, 1).
  double generator_average = 0;
};

/// Mean losses over the fit, every `report_every` generator steps.
template <Real T> struct GANHistory {
  /// -[log D(x) + log(1 - D(G(z)))] per pair of D's inputs (for wasserstein_gp D(G(z)) - D(x) + λ·penalty)
  std::vector<T> discriminator_loss;
  std::vector<T> generator_loss;      ///< the chosen generator loss per D input (a pack of `packing` samples)
};

/// `GAN<float> gan({.noise = 2, .output = 2}, rng); gan.fit(x, {.steps = 5000}, rng); auto s = gan.sample(1000, rng);`
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class GAN {
 public:
  using Options = GANOptions;  ///< The options type (sizes and hyper-parameters, so not templated on the scalar).
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// @throw std::invalid_argument for non-positive sizes or a combination of options refused below;
  ///        std::domain_error for a packing outside 1..1024.
  GAN(const GANOptions& options, Rng& rng)
      : options_(checked(options)),
        generator_({.sizes = detail::layer_sizes(options.noise, options.generator_hidden, options.output), .activation = options.generator_activation, .init = options.init}, rng),
        discriminator_({.sizes = detail::layer_sizes(critic_input(options), options.discriminator_hidden, 1), .activation = options.discriminator_activation, .leaky_slope = 0.2, .init = options.init},
                       rng) {
    for (auto* p : generator_.parameters()) p->name = "generator." + p->name;
    for (auto* p : discriminator_.parameters()) p->name = "discriminator." + p->name;
  }

  /// -sum [log D(x) + log(1 - D(fake))] on `tape` for real rows x and generated rows `fake` (both
  /// N x output, N a multiple of `packing`; the sum runs over D's N / packing inputs); for wasserstein_gp
  /// sum [D(fake) - D(x)] without the penalty (gradient_penalty() adds it). Gradients reach the
  /// discriminator only. @throw std::invalid_argument for a wrong width or row count.
  ad::Var<T> discriminator_loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& fake);
  /// WGAN-GP's penalty sum over D's inputs of (||∇ D(x̂)||₂ - 1)² at the rows `x_hat` (N x output, N a
  /// multiple of `packing`), the gradient taken with respect to D's input row (a pack of `packing`
  /// samples). The gradient is built on the tape from the critic's weights, as a column
  /// ∇ = W₁ (m₁ ⊙ W₂ (... (m_{L-1} ⊙ W_L))) for L layers (the last one linear) with m_l the hidden
  /// activations' derivatives (0/1, slope/1 or 1, constant almost everywhere), so back-propagation
  /// gives the penalty's gradient with respect to the weights (Gulrajani et al. 2017, eq. 3).
  /// @throw std::invalid_argument for a wrong width or row count, with minibatch_stddev (D's input
  ///        gradient would couple the rows of the batch) or a critic activation other than relu,
  ///        leaky_relu or identity.
  ad::Var<T> gradient_penalty(ad::Tape<T>& tape, const ad::Var<T>& x_hat);
  /// The generator's loss, summed over D's inputs (the rows of z, N x noise, in packs of `packing`), on
  /// `tape`; back-propagation fills the generator's gradients (and the discriminator's, which fit() does
  /// not use). @throw std::invalid_argument for a wrong width or row count.
  ad::Var<T> generator_loss(ad::Tape<T>& tape, const ad::Var<T>& z);

  /// G(z) on `tape` for noise rows z (N x noise), gradients reaching the generator.
  /// @throw std::invalid_argument unless z has noise columns.
  ad::Var<T> generator_forward(ad::Tape<T>& tape, const ad::Var<T>& z) {
    if (z.cols() != options_.noise)
      pml::detail::throw_shape("GAN::generator_forward", "z has " + std::to_string(z.cols()) + " columns, expected " + std::to_string(options_.noise));
    Rng unused(0);
    return generator_.forward(tape, z, unused, nn::Mode::train);
  }
  /// D on `tape` for data rows x (N x output): its logit and its last hidden layer (N x the last
  /// discriminator_hidden width), gradients reaching the discriminator (the const overload: its weights
  /// as constants). Only without packing and minibatch_stddev, where a row of x is one input of D.
  /// @throw std::invalid_argument for a wrong width, with packing or minibatch_stddev, or without a hidden layer.
  DiscriminatorOutput<T> discriminator_forward(ad::Tape<T>& tape, const ad::Var<T>& x) { return discriminator_forward_impl(*this, tape, x); }
  /// See the non-const overload; the weights enter the tape as constants.
  DiscriminatorOutput<T> discriminator_forward(ad::Tape<T>& tape, const ad::Var<T>& x) const { return discriminator_forward_impl(*this, tape, x); }
  /// The generator's trainable parameters, in file order.
  nn::ParameterList<T> generator_parameters() { return generator_.parameters(); }
  /// The discriminator's trainable parameters, in file order.
  nn::ParameterList<T> discriminator_parameters() { return discriminator_.parameters(); }

  /// Trains by alternating updates (Goodfellow et al. 2014, algorithm 1). Returns *this; the mean losses
  /// over each block of `report_every` generator steps are in loss_history().
  /// @throw std::invalid_argument for a wrong width or no rows; std::domain_error for non-finite data,
  ///        bad options, or a loss or gradient that stops being finite (data far too large; the message
  ///        names the function and x).
  template <class Derived> GAN& fit(const Eigen::MatrixBase<Derived>& x, const GANFitOptions& fit, Rng& rng, int report_every = 100) {
    return fit_rows(detail::as_rows<T>("GAN::fit", "x", x), fit, rng, report_every);
  }
  /// fit() with the rows spread over processes (data-parallel training, issue 18 §3; core/collective.hpp,
  /// `pml::mpi::Communicator` on MPI): each rank passes its own rows (any number, 0 included; rank order is row
  /// order) and fit.batch_size is the rows per rank, so each update uses ranks.size() · batch_size slots. Every
  /// rank draws the same slots' real rows (with replacement, from the rows of every rank) from `rng` — in the
  /// same state on every rank (checked) — and computes the discriminator's loss for the slots whose row it
  /// holds; each slot's noise z (and WGAN-GP's ε) is hashed from the update's key and the slot; the
  /// generator's slots are shared out evenly. Rank 0's initial weights are copied to every rank and each
  /// update's gradients are summed over the ranks (one message), so P ranks of B train as
  /// fit(Collective::single(), all rows, {batch P·B}) does, to the rounding of the sums (not as fit(x, fit,
  /// rng), whose noise is drawn in sequence). The parameters and both optimisers' states are checked to
  /// agree at every report. Not with packing or minibatch_stddev (both couple the rows of a batch).
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument with packing
  ///        or minibatch_stddev, for options or an rng that differ between ranks, different networks or no
  ///        rows on any rank; std::runtime_error if the ranks' states drift apart.
  template <class Derived> GAN& fit(const Collective& ranks, const Eigen::MatrixBase<Derived>& x, const GANFitOptions& fit, Rng& rng, int report_every = 100) {
    constexpr const char* function = "GAN::fit";
    Matrix<T> converted;
    std::optional<Eigen::Ref<const Matrix<T>>> rows;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      if (options_.packing != 1 || options_.minibatch_stddev)
        throw std::invalid_argument(std::string(function) + ": a data-parallel fit needs packing 1 and no minibatch_stddev (both couple the rows of a batch), got packing " +
                                    std::to_string(options_.packing) + (options_.minibatch_stddev ? " and minibatch_stddev" : ""));
      check_fit(function, fit, report_every);
      if (x.rows() > 0 || ranks.size() == 1) detail::check_rows(function, "x", x, options_.output);
      detail::hold_rows<T>(rows, converted, function, "x", x);
    });
    return fit_rows(ranks, *rows, fit, rng, report_every);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  GAN& fit_rows(Eigen::Ref<const Matrix<T>> x, const GANFitOptions& fit, Rng& rng, int report_every);
  GAN& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const GANFitOptions& fit, Rng& rng, int report_every);

 public:
  /// The mean discriminator and generator losses over each block of `report_every` steps of the last
  /// fit() (empty before it; not stored in model files).
  const GANHistory<T>& loss_history() const noexcept { return history_; }

  /// n generated rows G(z), z ~ N(0, I) (n x output); `rng` first, as in every sample(rng, n).
  /// @throw std::invalid_argument if n <= 0.
  Matrix<T> sample(Rng& rng, Index n) const {
    if (n <= 0) pml::detail::throw_shape("GAN::sample", "n must be positive, got " + std::to_string(n));
    Matrix<T> z(n, options_.noise);
    random::fill_normal(rng, z);
    return generator_.predict(z);
  }
  /// G(z) for given noise rows.
  template <class Derived> Matrix<T> generate(const Eigen::MatrixBase<Derived>& z) const {
    detail::check_rows("GAN::generate", "z", z, options_.noise);
    return generator_.predict(z.template cast<T>());
  }
  /// D(x): the discriminator's probability that each row is real (N x output -> N), or with packing
  /// that each pack of rows i, i + N/m, ..., i + (m-1)·N/m is (N / m values; N a multiple of m); for
  /// wasserstein_gp the critic's score (higher: more real) instead of a probability. With minibatch_stddev
  /// the batch's spread is that of x. @throw std::invalid_argument for a wrong width or row count.
  template <class Derived> Vector<T> discriminate(const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows("GAN::discriminate", "x", x, options_.output);
    check_batch("GAN::discriminate", "x", x.rows(), x.cols());
    ad::ScratchTape<T> scratch;
    ad::Tape<T>& tape = *scratch;
    const Vector<T> score = critic(tape, tape.constant(x.template cast<T>())).value().col(0);
    if (options_.generator_loss == GANLoss::wasserstein_gp) return score;
    return pml::sigmoid(score.array()).matrix();
  }

  /// Pointers to every trainable parameter, in the order model files store them (for optimisers and serialisation).
  nn::ParameterList<T> parameters() {
    nn::ParameterList<T> list = generator_.parameters();
    nn::append(list, discriminator_.parameters());
    return list;
  }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const {
    nn::ConstParameterList<T> list = generator_.parameters();
    const auto more = discriminator_.parameters();
    list.insert(list.end(), more.begin(), more.end());
    return list;
  }
  nn::MLP<T>& generator() noexcept { return generator_; }  ///< The generator network G(z).
  nn::MLP<T>& discriminator() noexcept { return discriminator_; }  ///< The discriminator network D(x), which outputs a logit.
  const nn::MLP<T>& generator() const noexcept { return generator_; }  ///< The generator network G(z), read-only.
  const nn::MLP<T>& discriminator() const noexcept { return discriminator_; }  ///< The discriminator network D(x), read-only.
  /// Writes the parameters and the options to `path` (model type "GAN"; format in serialization/model_file.hpp),
  /// atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const {
    detail::save_model(*this, path, format);
  }
  /// A model saved by save(): built from the options in the file, with its parameters (bit-identical
  /// outputs). @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static GAN load(const std::filesystem::path& path) {
    return detail::load_model<GAN>(path, "GAN::load");
  }
  static constexpr const char* model_name = "GAN";  ///< The model type in its files' headers.
  const GANOptions& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  static GANOptions checked(const GANOptions& o) {
    if (o.noise <= 0 || o.output <= 0)
      pml::detail::throw_shape("GAN", "noise and output must be positive, got " + std::to_string(o.noise) + " and " + std::to_string(o.output));
    detail::check_hidden("GAN", o.generator_hidden);
    detail::check_hidden("GAN", o.discriminator_hidden);
    if (o.packing < 1 || o.packing > 1024) detail::throw_domain("GAN", "packing", "lie in 1..1024", std::to_string(o.packing));
    if (o.generator_loss == GANLoss::wasserstein_gp && o.minibatch_stddev)
      throw std::invalid_argument("GAN: generator_loss wasserstein_gp cannot be combined with minibatch_stddev (the gradient penalty is per input row)");
    const ad::Activation act = o.discriminator_activation;
    if (o.generator_loss == GANLoss::wasserstein_gp && act != ad::Activation::relu && act != ad::Activation::leaky_relu && act != ad::Activation::identity)
      throw std::invalid_argument("GAN: generator_loss wasserstein_gp needs discriminator_activation relu, leaky_relu or identity, got " +
                                  std::string(enum_name(act)));
    return o;
  }
  static Index critic_input(const GANOptions& o) { return checked(o).packing * o.output + (o.minibatch_stddev ? 1 : 0); }
  void gradient_penalty_available(const char* function) const {
    if (options_.minibatch_stddev) throw std::invalid_argument(std::string(function) + ": the gradient penalty is not available with minibatch_stddev");
    const ad::Activation act = options_.discriminator_activation;
    if (act != ad::Activation::relu && act != ad::Activation::leaky_relu && act != ad::Activation::identity)
      throw std::invalid_argument(std::string(function) + ": wasserstein_gp needs discriminator_activation relu, leaky_relu or identity, got " +
                                  std::string(enum_name(act)));
  }
  void check_batch(const char* function, const char* name, Index rows, Index cols) const {
    if (cols != options_.output)
      pml::detail::throw_shape(function, std::string(name) + " has " + std::to_string(cols) + " columns, expected " + std::to_string(options_.output));
    if (rows == 0 || rows % options_.packing != 0)
      pml::detail::throw_shape(function, std::string(name) + " has " + std::to_string(rows) + " rows, expected a positive multiple of packing (" +
                                             std::to_string(options_.packing) + ")");
  }
  /// D's input rows for the rows of x: packs of `packing` rows side by side (row i of the result holds
  /// rows i, i + n, ..., i + (m-1)n of x, n = rows / m, feature by feature: a column-major reshape).
  ad::Var<T> pack(ad::Tape<T>& tape, const ad::Var<T>& x) const {
    (void)tape;
    const Index m = options_.packing;
    return m == 1 ? x : ad::reshape(x, x.rows() / m, x.cols() * m);
  }
  /// D on the tape for data rows x: packed, with the stddev column when asked (n / packing x 1).
  template <class Self> static ad::Var<T> critic_impl(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x) {
    ad::Var<T> input = self.pack(tape, x);
    if (self.options_.minibatch_stddev) input = detail::append_minibatch_stddev(tape, input);
    Rng unused(0);
    return self.discriminator_.forward(tape, input, unused, nn::Mode::train);
  }
  template <class Self> static DiscriminatorOutput<T> discriminator_forward_impl(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x) {
    constexpr const char* function = "GAN::discriminator_forward";
    if (x.cols() != self.options_.output)
      pml::detail::throw_shape(function, "x has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(self.options_.output));
    if (self.options_.packing != 1 || self.options_.minibatch_stddev)
      throw std::invalid_argument(std::string(function) + ": needs packing 1 and no minibatch_stddev (a row of x must be one input of D), got packing " +
                                  std::to_string(self.options_.packing) + (self.options_.minibatch_stddev ? " and minibatch_stddev" : ""));
    auto& layers = self.discriminator_.layers();
    if (layers.size() < 2) throw std::invalid_argument(std::string(function) + ": the discriminator has no hidden layer");
    const T slope = T(self.discriminator_.options().leaky_slope);
    ad::Var<T> h = x;
    for (std::size_t l = 0; l + 1 < layers.size(); ++l) h = layers[l].forward(tape, h, self.options_.discriminator_activation, slope);
    return {layers.back().forward(tape, h, ad::Activation::identity, slope), h};
  }
  // fit()'s options (batch_size a multiple of packing)
  void check_fit(const char* function, const GANFitOptions& fit, int report_every) const {
    if (fit.steps < 1) detail::throw_domain(function, "steps", "be at least 1", std::to_string(fit.steps));
    if (fit.discriminator_steps < 1) detail::throw_domain(function, "discriminator_steps", "be at least 1", std::to_string(fit.discriminator_steps));
    if (fit.batch_size < 1 || fit.batch_size % options_.packing != 0)
      detail::throw_domain(function, "batch_size", "be a positive multiple of packing (" + std::to_string(options_.packing) + ")",
                           std::to_string(fit.batch_size));
    if (report_every < 1) detail::throw_domain(function, "report_every", "be at least 1", std::to_string(report_every));
    check_positive(function, "generator_learning_rate", fit.generator_learning_rate);
    check_positive(function, "discriminator_learning_rate", fit.discriminator_learning_rate);
    if (!(fit.beta1 >= 0 && fit.beta1 < 1)) detail::throw_domain(function, "beta1", "lie in [0, 1)", detail::describe(fit.beta1));
    if (!(fit.beta2 >= 0 && fit.beta2 < 1)) detail::throw_domain(function, "beta2", "lie in [0, 1)", detail::describe(fit.beta2));
    if (!(fit.gradient_penalty >= 0 && std::isfinite(fit.gradient_penalty)))
      detail::throw_domain(function, "gradient_penalty", "be finite and non-negative", detail::describe(fit.gradient_penalty));
    if (!(fit.end_factor >= 0 && fit.end_factor <= 1)) detail::throw_domain(function, "end_factor", "lie in [0, 1]", detail::describe(fit.end_factor));
    if (!(fit.generator_average >= 0 && fit.generator_average < 1))
      detail::throw_domain(function, "generator_average", "lie in [0, 1)", detail::describe(fit.generator_average));
  }
  // the step sizes of step `step` of fit.steps (GANFitOptions::end_factor)
  static void schedule(const GANFitOptions& fit, int step, nn::Adam<T>& g_opt, nn::Adam<T>& d_opt) {
    if (fit.end_factor == 1) return;
    const double factor = fit.learning_rate_factor(step);  // > 0: step < steps
    g_opt.set_learning_rate(fit.generator_learning_rate * factor);
    d_opt.set_learning_rate(fit.discriminator_learning_rate * factor);
  }
  ad::Var<T> critic(ad::Tape<T>& tape, const ad::Var<T>& x) { return critic_impl(*this, tape, x); }
  ad::Var<T> critic(ad::Tape<T>& tape, const ad::Var<T>& x) const { return critic_impl(*this, tape, x); }
  ad::Var<T> noise(ad::Tape<T>& tape, Index rows, Rng& rng) const {
    ad::Var<T> z = tape.constant(rows, options_.noise);
    random::fill_normal(rng, z.value());
    return z;
  }

  GANOptions options_;
  nn::MLP<T> generator_, discriminator_;
  GANHistory<T> history_;
};

// fit()'s body on rows of T, defined out of the class so that an extern template instantiation leaves it to
// one file (cmake/outline_members.py)
template <Real T>
auto GAN<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const GANFitOptions& fit, Rng& rng, int report_every) -> GAN& {
    constexpr const char* function = "GAN::fit";
    detail::check_rows(function, "x", x, options_.output);
    check_fit(function, fit, report_every);
    const bool wasserstein = options_.generator_loss == GANLoss::wasserstein_gp;  // the constructor checked the critic
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = x.template cast<T>();
    nn::Adam<T> g_opt(generator_.parameters(), {.learning_rate = fit.generator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    nn::Adam<T> d_opt(discriminator_.parameters(), {.learning_rate = fit.discriminator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    const nn::ParameterList<T> g_params = generator_.parameters();
    detail::ParameterAverage<T> average(fit.generator_average, g_params);
    ad::Tape<T> tape;
    const Index m = fit.batch_size;
    const T inputs = T(m / options_.packing);  // D's inputs per batch: the losses are per input
    Matrix<T> xb(m, options_.output), zb(m, options_.noise), fake, x_hat(m, options_.output);
    GANHistory<T>& history = history_;
    history = {};
    double d_sum = 0, g_sum = 0;
    for (int step = 0; step < fit.steps; ++step) {
      schedule(fit, step, g_opt, d_opt);
      // data far too large for the networks (e.g. near 1e300) make a loss or a gradient non-finite:
      // one clear error naming GAN::fit and x (nn::Adam has refused the step; earlier steps stay)
      try {
        for (int k = 0; k < fit.discriminator_steps; ++k) {
          for (Index i = 0; i < m; ++i) xb.row(i) = rows.row(static_cast<Index>(random::uniform_index(rng, static_cast<std::uint64_t>(rows.rows()))));
          random::fill_normal(rng, zb);
          fake = generator_.predict(zb);  // G is held fixed: its output enters D's loss as data
          tape.reset();
          ad::Var<T> d = discriminator_loss(tape, tape.constant(xb), tape.constant(fake));
          if (wasserstein) {  // x̂ on the line between each real D input and a generated one: one ε per pack
            const Index packs = m / options_.packing;
            for (Index i = 0; i < packs; ++i) {
              const T e = T(random::uniform<double>(rng));
              for (Index k = i; k < m; k += packs) x_hat.row(k) = e * xb.row(k) + (T(1) - e) * fake.row(k);
            }
            d = d + T(fit.gradient_penalty) * gradient_penalty(tape, tape.constant(x_hat));
          }
          tape.backward((T(1) / inputs) * d);
          d_opt.step();
          d_sum += double(d.value()(0, 0)) / (double(inputs) * fit.discriminator_steps);
        }
        tape.reset();
        const ad::Var<T> g = generator_loss(tape, noise(tape, m, rng));
        tape.backward((T(1) / inputs) * g);
        g_opt.step();
        average.update(g_params);
        g_sum += double(g.value()(0, 0)) / double(inputs);
      } catch (const std::domain_error& e) {
        detail::throw_diverged(function, x, std::string(e.what()) + " at step " + std::to_string(step + 1));
      }
      if (!std::isfinite(d_sum) || !std::isfinite(g_sum)) detail::throw_diverged(function, x, "a non-finite loss at step " + std::to_string(step + 1));
      if ((step + 1) % report_every == 0 || step + 1 == fit.steps) {
        const int count = (step + 1) % report_every == 0 ? report_every : (step + 1) % report_every;
        history.discriminator_loss.push_back(T(d_sum / count));
        history.generator_loss.push_back(T(g_sum / count));
        d_sum = g_sum = 0;
      }
    }
    average.finish(g_params);
    return *this;
  }


template <Real T>
auto GAN<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const GANFitOptions& fit, Rng& rng, int report_every) -> GAN& PML_RANKS_TRY {
    constexpr const char* function = "GAN::fit";
    const detail::ShardPlace place = detail::shard_place(ranks, x.rows());
    const Index n = place.total, offset = place.offset;
    if (n == 0) pml::detail::throw_shape(function, "x has no rows on any rank");
    {  // the same training on every rank
      const long sizes[4] = {long(fit.steps), long(fit.discriminator_steps), long(fit.batch_size), long(report_every)};
      const double rates[7] = {fit.generator_learning_rate, fit.discriminator_learning_rate, fit.beta1, fit.beta2, fit.gradient_penalty, fit.end_factor,
                               fit.generator_average};
      const std::string model = detail::options_text(*this);
      const std::uint64_t options = detail::fnv1a(rates, sizeof rates, detail::fnv1a(sizes, sizeof sizes, detail::fnv1a(model.data(), model.size())));
      detail::check_same_training(ranks, function, options, rng, "steps, discriminator_steps, batch_size, report_every, learning rates, betas, gradient_penalty, end_factor, generator_average");
    }
    const bool wasserstein = options_.generator_loss == GANLoss::wasserstein_gp;
    const nn::ParameterList<T> g_params = generator_.parameters(), d_params = discriminator_.parameters();
    detail::broadcast_parameters(ranks, g_params, function);
    detail::broadcast_parameters(ranks, d_params, function);
    nn::Adam<T> g_opt(g_params, {.learning_rate = fit.generator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    nn::Adam<T> d_opt(d_params, {.learning_rate = fit.discriminator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    detail::ParameterAverage<T> average(fit.generator_average, g_params);  // after the broadcast: the same on every rank
    const Index m = static_cast<Index>(ranks.size()) * fit.batch_size;  // slots per update on all ranks together
    const T inputs = T(m);  // the losses are per slot
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows;
    std::vector<T> message;
    std::vector<Index> slots, local;
    std::size_t widest = 0;  // the longer message: the generator's or the discriminator's gradients
    for (const auto* list : {&g_params, &d_params}) {
      std::size_t width = 0;
      for (const auto* p : *list) width += static_cast<std::size_t>(p->value.size());
      widest = std::max(widest, width);
    }
    detail::agree(ranks, [&] {  // the allocations: one rank short of memory stops every rank
      rows = x;
      message.reserve(widest + 2);
      slots.reserve(static_cast<std::size_t>(m)), local.reserve(static_cast<std::size_t>(m));
    });
    ad::Tape<T> tape;
    Matrix<T> xb, zb, fake, x_hat;
    history_ = {};
    double d_sum = 0, g_sum = 0;
    const auto diverged = [&](const std::string& what, int step) {
      detail::throw_domain(function, "x", "give a finite training loss and gradient (rescale or standardise the data)",
                           what + " at step " + std::to_string(step + 1) + "; largest |x| is " + detail::describe(detail::largest_magnitude(ranks, x)));
    };
    const auto update = [&](nn::Adam<T>& optimizer, const nn::ParameterList<T>& params, bool contributed, const std::exception_ptr& error, T loss, int step) {
      const double total = double(detail::sum_step(ranks, params, message, contributed, error, loss));
      if (!std::isfinite(total)) diverged("a loss of " + detail::describe(total), step);
      try {
        optimizer.step();
      } catch (const std::domain_error& e) {  // a non-finite gradient (the same on every rank)
        diverged(e.what(), step);
      }
      return total / double(inputs);
    };
    const Index mine_begin = m * ranks.rank() / ranks.size(), mine_end = m * (ranks.rank() + 1) / ranks.size();  // the generator's slots here
    for (int step = 0; step < fit.steps; ++step) {
      schedule(fit, step, g_opt, d_opt);
      for (int k = 0; k < fit.discriminator_steps; ++k) {
        // the slots' real rows, drawn from all n rows alike on every rank; this rank takes the slots it holds
        const std::uint64_t key = rng();
        slots.clear(), local.clear();
        for (Index j = 0; j < m; ++j) {
          const auto g = static_cast<Index>(random::uniform_index(rng, static_cast<std::uint64_t>(n)));
          if (g >= offset && g < offset + x.rows()) slots.push_back(j), local.push_back(g - offset);
        }
        std::exception_ptr error;
        T loss = 0;
        if (!slots.empty()) try {
            io::gather_rows(rows, std::span<const Index>(local), xb);
            zb.resize(static_cast<Index>(slots.size()), options_.noise);
            pml::detail::fill_row_normals(key, std::span<const Index>(slots), zb);
            fake = generator_.predict(zb);  // G is held fixed: its output enters D's loss as data
            tape.reset();
            ad::Var<T> d = discriminator_loss(tape, tape.constant(xb), tape.constant(fake));
            if (wasserstein) {  // x̂ on the line between each slot's real row and its generated one
              x_hat.resize(xb.rows(), xb.cols());
              const std::uint64_t line = pml::detail::mix64(key + 1);
              for (Index i = 0; i < xb.rows(); ++i) {
                const T e = T(pml::detail::hashed_uniform<double>(line, static_cast<std::uint64_t>(slots[static_cast<std::size_t>(i)])));
                x_hat.row(i) = e * xb.row(i) + (T(1) - e) * fake.row(i);
              }
              d = d + T(fit.gradient_penalty) * gradient_penalty(tape, tape.constant(x_hat));
            }
            tape.backward((T(1) / inputs) * d);
            loss = d.value()(0, 0);
          } catch (...) {
            error = std::current_exception();
          }
        d_sum += update(d_opt, d_params, !slots.empty(), error, loss, step) / fit.discriminator_steps;
      }
      {  // the generator's update: this rank's even share of the m slots
        const std::uint64_t key = rng();
        slots.clear();
        for (Index j = mine_begin; j < mine_end; ++j) slots.push_back(j);
        std::exception_ptr error;
        T loss = 0;
        if (!slots.empty()) try {
            zb.resize(static_cast<Index>(slots.size()), options_.noise);
            pml::detail::fill_row_normals(key, std::span<const Index>(slots), zb);
            tape.reset();
            const ad::Var<T> g = generator_loss(tape, tape.constant(zb));
            tape.backward((T(1) / inputs) * g);
            loss = g.value()(0, 0);
          } catch (...) {
            error = std::current_exception();
          }
        g_sum += update(g_opt, g_params, !slots.empty(), error, loss, step);
        average.update(g_params);
      }
      if ((step + 1) % report_every == 0 || step + 1 == fit.steps) {
        const int count = (step + 1) % report_every == 0 ? report_every : (step + 1) % report_every;
        history_.discriminator_loss.push_back(T(d_sum / count));
        history_.generator_loss.push_back(T(g_sum / count));
        d_sum = g_sum = 0;
        if (ranks.size() > 1 && !detail::same_on_every_rank(ranks, detail::state_hash<T>(g_opt) ^ detail::mix64(detail::state_hash<T>(d_opt))))
          throw OnEveryRank<std::runtime_error>(std::string(function) + ": the ranks' parameters or optimiser states differ after step " + std::to_string(step + 1) +
                                                " (every rank must run the same build on processors that round alike)");
      }
    }
    average.finish(g_params);
    return *this;
  } PML_RANKS_CATCH(ranks, "GAN::fit")

// GAN's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto GAN<T>::discriminator_loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& fake) -> ad::Var<T> {
    check_batch("GAN::discriminator_loss", "x", x.rows(), x.cols());
    check_batch("GAN::discriminator_loss", "fake", fake.rows(), fake.cols());
    const ad::Var<T> real_score = critic(tape, x), fake_score = critic(tape, fake);
    if (options_.generator_loss == GANLoss::wasserstein_gp) return ad::sum(fake_score) - ad::sum(real_score);
    return ad::bce_with_logits(real_score, tape.constant(real_score.rows(), 1, T(1))) +
           ad::bce_with_logits(fake_score, tape.constant(fake_score.rows(), 1, T(0)));
  }

template <Real T>
auto GAN<T>::gradient_penalty(ad::Tape<T>& tape, const ad::Var<T>& x_hat) -> ad::Var<T> {
    constexpr const char* function = "GAN::gradient_penalty";
    check_batch(function, "x_hat", x_hat.rows(), x_hat.cols());
    gradient_penalty_available(function);
    const ad::Activation act = options_.discriminator_activation;
    const ad::Var<T> input = pack(tape, x_hat);
    const Index n = input.rows();
    auto& layers = discriminator_.layers();
    const T slope = T(discriminator_.options().leaky_slope);
    // the derivative of each hidden activation at x̂, off the tape (constant almost everywhere)
    std::vector<Matrix<T>> masks;
    Matrix<T> h = input.value();
    for (std::size_t l = 0; l + 1 < layers.size(); ++l) {
      const Matrix<T> a = (h * layers[l].weight().value).rowwise() + layers[l].bias().value.row(0);
      Matrix<T> m(a.rows(), a.cols());
      for (Index j = 0; j < a.cols(); ++j)
        for (Index i = 0; i < a.rows(); ++i) {
          const bool positive = a(i, j) > 0;
          m(i, j) = act == ad::Activation::identity || positive ? T(1) : act == ad::Activation::leaky_relu ? slope : T(0);
        }
      h = act == ad::Activation::identity ? a : Matrix<T>(a.cwiseProduct(m));
      masks.push_back(std::move(m));
    }
    ad::Var<T> g = ad::matmul_nt(tape.constant(n, 1, T(1)), layers.back().weight().bind(tape));  // ∂D/∂h_{L-1}, n x H
    for (std::size_t l = layers.size() - 1; l-- > 0;) g = ad::matmul_nt(ad::mask_mul(g, masks[l]), layers[l].weight().bind(tape));
    const ad::Var<T> norm = ad::sqrt(ad::sum_rows(ad::square(g)) + tape.constant(n, 1, std::numeric_limits<T>::min()));
    return ad::sum(ad::square(norm - tape.constant(n, 1, T(1))));
  }

template <Real T>
auto GAN<T>::generator_loss(ad::Tape<T>& tape, const ad::Var<T>& z) -> ad::Var<T> {
    if (z.cols() != options_.noise)
      pml::detail::throw_shape("GAN::generator_loss", "z has " + std::to_string(z.cols()) + " columns, expected " + std::to_string(options_.noise));
    check_batch("GAN::generator_loss", "z", z.rows(), options_.output);
    Rng unused(0);
    const ad::Var<T> score = critic(tape, generator_.forward(tape, z, unused, nn::Mode::train));
    switch (options_.generator_loss) {
      case GANLoss::non_saturating: return ad::bce_with_logits(score, tape.constant(score.rows(), 1, T(1)));  // -log D
      case GANLoss::minimax: return -ad::bce_with_logits(score, tape.constant(score.rows(), 1, T(0)));  // log(1 - D) = -softplus(logit)
      case GANLoss::wasserstein_gp: break;
    }
    return -ad::sum(score);
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::GAN)
