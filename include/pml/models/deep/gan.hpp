#pragma once
/// @file
/// Generative adversarial network (Goodfellow et al. 2014): a generator MLP G(z), z ~ N(0, I), and a
/// discriminator MLP D(x) (a logit), trained by alternating k discriminator steps on
///   -[log D(x) + log(1 - D(G(z)))]
/// with one generator step on either the minimax loss log(1 - D(G(z))) or the non-saturating loss
/// -log D(G(z)) (the paper's practical recommendation: strong gradients early in training).

#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include <filesystem>
#include <string>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/core/special.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/mlp.hpp"
#include "pml/nn/optim.hpp"
#include "pml/nn/serialize.hpp"

namespace pml {

/// The generator's loss in GAN training (Goodfellow et al. 2014, sec. 3).
enum class GANLoss : std::uint8_t {
  minimax,         ///< minimise log(1 - D(G(z))): the game's value function; saturates when D wins
  non_saturating,  ///< minimise -log D(G(z))
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(GANLoss) { return {"minimax", "non_saturating"}; }

/// Options of GAN: the generator's and the discriminator's architectures and the generator's loss.
struct GANOptions {
  Index noise = 2;   ///< dimension of z
  Index output = 2;  ///< dimension of the data
  std::vector<Index> generator_hidden{128, 128};  ///< hidden widths of G
  std::vector<Index> discriminator_hidden{128, 128};  ///< hidden widths of D
  ad::Activation generator_activation = ad::Activation::relu;  ///< after every hidden layer of G
  ad::Activation discriminator_activation = ad::Activation::leaky_relu;  ///< after every hidden layer of D
  GANLoss generator_loss = GANLoss::non_saturating;  ///< non_saturating (the usual choice) or minimax

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
};

/// Mean losses over the fit, every `report_every` generator steps.
template <Real T> struct GANHistory {
  std::vector<T> discriminator_loss;  ///< -[log D(x) + log(1 - D(G(z)))] per pair of points
  std::vector<T> generator_loss;      ///< the chosen generator loss per point
};

/// `GAN<float> gan({.noise = 2, .output = 2}, rng); gan.fit(x, {.steps = 5000}, rng); auto s = gan.sample(1000, rng);`
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class GAN {
 public:
  using Options = GANOptions;  ///< The options type (sizes and hyper-parameters, so not templated on the scalar).
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// @throw std::invalid_argument for non-positive sizes.
  GAN(const GANOptions& options, Rng& rng)
      : options_(checked(options)),
        generator_({.sizes = detail::layer_sizes(options.noise, options.generator_hidden, options.output), .activation = options.generator_activation, .init = options.init}, rng),
        discriminator_({.sizes = detail::layer_sizes(options.output, options.discriminator_hidden, 1), .activation = options.discriminator_activation, .leaky_slope = 0.2, .init = options.init},
                       rng) {
    for (auto* p : generator_.parameters()) p->name = "generator." + p->name;
    for (auto* p : discriminator_.parameters()) p->name = "discriminator." + p->name;
  }

  /// -sum [log D(x) + log(1 - D(fake))] on `tape` for real rows x and generated rows `fake` (both
  /// N x output); gradients reach the discriminator only.
  ad::Var<T> discriminator_loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& fake) {
    check_width("GAN::discriminator_loss", x.cols());
    check_width("GAN::discriminator_loss", fake.cols());
    Rng unused(0);
    const ad::Var<T> real_logit = discriminator_.forward(tape, x, unused, nn::Mode::train);
    const ad::Var<T> fake_logit = discriminator_.forward(tape, fake, unused, nn::Mode::train);
    return ad::bce_with_logits(real_logit, tape.constant(x.rows(), 1, T(1))) + ad::bce_with_logits(fake_logit, tape.constant(fake.rows(), 1, T(0)));
  }
  /// The generator's loss, summed over the rows of z (N x noise), on `tape`; back-propagation fills the
  /// generator's gradients (and the discriminator's, which fit() does not use).
  ad::Var<T> generator_loss(ad::Tape<T>& tape, const ad::Var<T>& z) {
    if (z.cols() != options_.noise)
      pml::detail::throw_shape("GAN::generator_loss", "z has " + std::to_string(z.cols()) + " columns, expected " + std::to_string(options_.noise));
    Rng unused(0);
    const ad::Var<T> logit = discriminator_.forward(tape, generator_.forward(tape, z, unused, nn::Mode::train), unused, nn::Mode::train);
    if (options_.generator_loss == GANLoss::non_saturating) return ad::bce_with_logits(logit, tape.constant(z.rows(), 1, T(1)));  // -log D
    return -ad::bce_with_logits(logit, tape.constant(z.rows(), 1, T(0)));  // log(1 - D) = -softplus(logit)
  }

  /// Trains by alternating updates (Goodfellow et al. 2014, algorithm 1). Returns *this; the mean losses
  /// over each block of `report_every` generator steps are in loss_history().
  /// @throw std::invalid_argument for a wrong width or no rows; std::domain_error for non-finite data,
  ///        bad options, or a loss or gradient that stops being finite (data far too large; the message
  ///        names the function and x).
  template <class Derived> GAN& fit(const Eigen::MatrixBase<Derived>& x, const GANFitOptions& fit, Rng& rng, int report_every = 100) {
    constexpr const char* function = "GAN::fit";
    detail::check_rows(function, "x", x, options_.output);
    if (fit.steps < 1) detail::throw_domain(function, "steps", "be at least 1", std::to_string(fit.steps));
    if (fit.discriminator_steps < 1) detail::throw_domain(function, "discriminator_steps", "be at least 1", std::to_string(fit.discriminator_steps));
    if (fit.batch_size < 1) detail::throw_domain(function, "batch_size", "be at least 1", std::to_string(fit.batch_size));
    if (report_every < 1) detail::throw_domain(function, "report_every", "be at least 1", std::to_string(report_every));
    check_positive(function, "generator_learning_rate", fit.generator_learning_rate);
    check_positive(function, "discriminator_learning_rate", fit.discriminator_learning_rate);
    if (!(fit.beta1 >= 0 && fit.beta1 < 1)) detail::throw_domain(function, "beta1", "lie in [0, 1)", detail::describe(fit.beta1));
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = x.template cast<T>();
    nn::Adam<T> g_opt(generator_.parameters(), {.learning_rate = fit.generator_learning_rate, .beta1 = fit.beta1});
    nn::Adam<T> d_opt(discriminator_.parameters(), {.learning_rate = fit.discriminator_learning_rate, .beta1 = fit.beta1});
    ad::Tape<T> tape;
    const Index m = fit.batch_size;
    Matrix<T> xb(m, options_.output), zb(m, options_.noise), fake;
    GANHistory<T>& history = history_;
    history = {};
    double d_sum = 0, g_sum = 0;
    for (int step = 0; step < fit.steps; ++step) {
      // data far too large for the networks (e.g. near 1e300) make a loss or a gradient non-finite:
      // one clear error naming GAN::fit and x (nn::Adam has refused the step; earlier steps stay)
      try {
        for (int k = 0; k < fit.discriminator_steps; ++k) {
          for (Index i = 0; i < m; ++i) xb.row(i) = rows.row(static_cast<Index>(random::uniform_index(rng, static_cast<std::uint64_t>(rows.rows()))));
          random::fill_normal(rng, zb);
          fake = generator_.predict(zb);  // G is held fixed: its output enters D's loss as data
          tape.reset();
          const ad::Var<T> d = discriminator_loss(tape, tape.constant(xb), tape.constant(fake));
          tape.backward((T(1) / T(m)) * d);
          d_opt.step();
          d_sum += double(d.value()(0, 0)) / double(m * fit.discriminator_steps);
        }
        tape.reset();
        const ad::Var<T> g = generator_loss(tape, noise(tape, m, rng));
        tape.backward((T(1) / T(m)) * g);
        g_opt.step();
        g_sum += double(g.value()(0, 0)) / double(m);
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
    return *this;
  }
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
  /// D(x): the discriminator's probability that each row is real.
  template <class Derived> Vector<T> discriminate(const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows("GAN::discriminate", "x", x, options_.output);
    return pml::sigmoid(discriminator_.predict(x.template cast<T>()).col(0).array()).matrix();
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
    return o;
  }
  void check_width(const char* function, Index cols) const {
    if (cols != options_.output)
      pml::detail::throw_shape(function, "x has " + std::to_string(cols) + " columns, expected " + std::to_string(options_.output));
  }
  ad::Var<T> noise(ad::Tape<T>& tape, Index rows, Rng& rng) const {
    ad::Var<T> z = tape.constant(rows, options_.noise);
    random::fill_normal(rng, z.value());
    return z;
  }

  GANOptions options_;
  nn::MLP<T> generator_, discriminator_;
  GANHistory<T> history_;
};

}  // namespace pml

PML_EXTERN_TEMPLATE(pml::GAN)
