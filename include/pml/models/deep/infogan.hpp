#pragma once
/// @file
/// InfoGAN (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information Maximizing
/// Generative Adversarial Nets"; the seed's first document, hidden variables): a GAN whose generator
/// takes structured latent codes c besides the noise z, trained to keep the mutual information
/// I(c; G(z, c)) high through its variational lower bound (the paper's eq. 5)
///   L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c) ≤ I(c; G(z, c)),
/// with Q(c | x) a recognition head on the discriminator's body. The game is (eq. 6)
///   min_{G, Q} max_D V(D, G) − λ L_I(G, Q).
/// Codes: categorical ones (uniform over K values; Q gives K logits, the term is a cross-entropy) and
/// continuous ones (uniform on [−1, 1], the paper's, or standard normal; Q gives a factored Gaussian's
/// mean and log-variance, the term is a Gaussian log-likelihood). The weights λ are per kind of code
/// (the paper: 1 for categorical codes, smaller for continuous ones).
///
/// Two bodies: `mlp` (the GAN's MLPs, data rows of any width) and `dcgan` (the DCGAN's convolutional
/// networks, images in [0, 1]); Q is one hidden layer (recognition_hidden units, LeakyReLU 0.2) on the
/// discriminator's last hidden layer (the MLP's last hidden layer; the DCGAN's flattened second block).
/// The generator's input is [z | one-hot of each categorical code | continuous codes].

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/scratch.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/dcgan.hpp"
#include "pml/models/deep/gan.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/mlp.hpp"
#include "pml/nn/optim.hpp"

namespace pml {

/// The networks an InfoGAN is built on.
enum class InfoGANBody : std::uint8_t {
  mlp,    ///< GAN's MLPs (data rows of `output` features)
  dcgan,  ///< DCGAN's convolutional networks (images of channels x height x width, values in [0, 1])
};
/// The names of the values, in order (model files and the command line).
constexpr std::array<std::string_view, 2> enum_names(InfoGANBody) { return {"mlp", "dcgan"}; }

/// The prior of InfoGAN's continuous codes.
enum class ContinuousCode : std::uint8_t {
  uniform,   ///< U(−1, 1) (the paper's); differential entropy log 2
  gaussian,  ///< N(0, 1); differential entropy ½ log(2πe)
};
/// The names of the values, in order (model files and the command line).
constexpr std::array<std::string_view, 2> enum_names(ContinuousCode) { return {"uniform", "gaussian"}; }

/// Options of InfoGAN: the codes, the body and its sizes (the `mlp` body reads output and the hidden
/// widths, the `dcgan` body the image shape and feature counts; each ignores the other's).
struct InfoGANOptions {
  InfoGANBody body = InfoGANBody::dcgan;  ///< the networks (mlp or dcgan)
  Index noise = 62;  ///< dimension of the incompressible noise z (the paper's MNIST model: 62)
  std::vector<Index> categorical{10};  ///< the number of values K of each categorical code (each at least 2)
  Index continuous = 2;  ///< the number of continuous codes
  ContinuousCode continuous_prior = ContinuousCode::uniform;  ///< U(−1, 1) or N(0, 1)
  Index recognition_hidden = 128;  ///< units of Q's hidden layer
  GANLoss generator_loss = GANLoss::non_saturating;  ///< non_saturating or minimax
  // mlp body
  Index output = 2;  ///< mlp: the data's width
  std::vector<Index> generator_hidden{128, 128};      ///< mlp: hidden widths of G (ReLU)
  std::vector<Index> discriminator_hidden{128, 128};  ///< mlp: hidden widths of D (at least one)
  ad::Activation generator_activation = ad::Activation::relu;  ///< mlp: after every hidden layer of G
  ad::Activation discriminator_activation = ad::Activation::leaky_relu;  ///< mlp: after every hidden layer of D (leaky slope 0.2)
  // dcgan body
  Index channels = 1;  ///< dcgan: C of the images
  Index height = 28;   ///< dcgan: H, pixels (a multiple of 4)
  Index width = 28;    ///< dcgan: W, pixels (a multiple of 4)
  Index generator_features = 64;      ///< dcgan: ngf
  Index discriminator_features = 64;  ///< dcgan: ndf
  /// How the mlp body's and Q's weights are drawn (nn/init.hpp); the dcgan body draws N(0, 0.02²) as the DCGAN.
  nn::Init init = nn::Init::automatic;

  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("body", o.body);
    v("noise", o.noise, io::as_size);
    v("categorical", o.categorical);
    v("continuous", o.continuous, io::as_size);
    v("continuous_prior", o.continuous_prior);
    v("recognition_hidden", o.recognition_hidden, io::as_size);
    v("generator_loss", o.generator_loss);
    // only the body's own sizes: the file's matrices bound every size it stores (io::as_size), and the
    // other body's defaults would not fit them (the reader has read `body` by now)
    if (o.body == InfoGANBody::mlp) {
      v("output", o.output, io::as_size);
      v("generator_hidden", o.generator_hidden);
      v("discriminator_hidden", o.discriminator_hidden);
      v("generator_activation", o.generator_activation);
      v("discriminator_activation", o.discriminator_activation);
    } else {
      v("channels", o.channels, io::as_size);
      v("height", o.height, io::as_size);
      v("width", o.width, io::as_size);
      v("generator_features", o.generator_features, io::as_size);
      v("discriminator_features", o.discriminator_features, io::as_size);
    }
  }
};

/// Options of InfoGAN::fit: epochs over the shuffled data, each minibatch one step of D and Q and then one
/// of G (the paper's schedule), Adam for both (the paper's MNIST rates: 2e-4 for D, 1e-3 for G).
struct InfoGANFitOptions {
  int epochs = 5;  ///< passes over the data
  Index batch_size = 64;  ///< real rows (and generated ones) per step
  double generator_learning_rate = 1e-3;  ///< Adam's step size for G
  double discriminator_learning_rate = 2e-4;  ///< Adam's step size for D and Q
  double beta1 = 0.5;  ///< Adam's β₁
  double beta2 = 0.999;  ///< Adam's β₂
  double categorical_weight = 1;  ///< λ of the categorical codes' term (the paper: 1)
  double continuous_weight = 0.1;  ///< λ of the continuous codes' term (the paper: smaller than 1)
  std::function<void(const TrainingProgress&)> progress{};  ///< called after every minibatch (empty: no reports)
};

/// A player's loss in InfoGAN's game, in two parts (the player minimises their sum).
template <Real T> struct InfoGANLoss {
  ad::Var<T> gan;          ///< the GAN loss of the player (D's or G's)
  ad::Var<T> information;  ///< the λ-weighted information loss (information_loss())
};

/// Per-epoch means of InfoGAN's losses, per generated row.
template <Real T> struct InfoGANHistory {
  std::vector<T> discriminator_loss;  ///< −[log D(x) + log(1 − D(G(z, c)))]
  std::vector<T> generator_loss;      ///< the generator's GAN loss
  std::vector<T> information_loss;    ///< λ-weighted −E log Q(c | G(z, c)) (−L_I up to H(c)), from G's step
};

/// `InfoGAN<float> gan({.categorical = {10}, .continuous = 2}, rng); gan.fit(images, {.epochs = 5}, rng);`
/// then `gan.generate(z, codes)` with chosen codes, `gan.predict_codes(images)` for Q's reading of real ones.
/// Codes are rows of ncat + ncont numbers: first the value (0..K−1, as a number) of each categorical code,
/// then the continuous codes. Data and images are in the body's scale: any for mlp, [0, 1] for dcgan.
/// Thread safety as the other deep models: the const members from many threads at once, each with its own
/// Rng; fit() needs the model to itself.
template <Real T = double> class InfoGAN {
 public:
  using Options = InfoGANOptions;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double).
  /// @throw std::invalid_argument for non-positive sizes, a categorical code with fewer than 2 values, no
  ///        codes at all, an mlp body without a discriminator hidden layer, or a DCGAN shape it refuses.
  InfoGAN(const Options& options, Rng& rng) : options_(checked(options)) {
    const Index in = options_.noise + code_inputs();
    if (options_.body == InfoGANBody::mlp) {
      mlp_.emplace(GANOptions{.noise = in, .output = options_.output, .generator_hidden = options_.generator_hidden,
                              .discriminator_hidden = options_.discriminator_hidden, .generator_activation = options_.generator_activation,
                              .discriminator_activation = options_.discriminator_activation, .generator_loss = options_.generator_loss, .init = options_.init},
                   rng);
    } else {
      DCGANOptions d;
      d.noise = in;
      d.channels = options_.channels;
      d.height = options_.height;
      d.width = options_.width;
      d.generator_features = options_.generator_features;
      d.discriminator_features = options_.discriminator_features;
      d.generator_loss = options_.generator_loss;
      conv_.emplace(d, rng);
    }
    q_.emplace(nn::MLPOptions{.sizes = {feature_size(), options_.recognition_hidden, q_outputs()}, .activation = ad::Activation::leaky_relu,
                              .leaky_slope = 0.2, .init = options_.init},
               rng);
    for (auto* p : q_->parameters()) p->name = "recognition." + p->name;
  }

  /// Columns of a code row: one per categorical code, then one per continuous code.
  Index code_size() const noexcept { return Index(options_.categorical.size()) + options_.continuous; }
  /// Columns of the generator's code input: the categorical codes one-hot, then the continuous ones.
  Index code_inputs() const noexcept {
    Index k = options_.continuous;
    for (const Index c : options_.categorical) k += c;
    return k;
  }
  /// Width of a data row (mlp: output; dcgan: C·H·W).
  Index input_size() const noexcept { return options_.body == InfoGANBody::mlp ? options_.output : options_.channels * options_.height * options_.width; }

  /// n code rows drawn from the prior P(c) (n x code_size()): each categorical code uniform over its
  /// values, each continuous one from continuous_prior. @throw std::invalid_argument if n <= 0.
  Matrix<T> sample_codes(Rng& rng, Index n) const;
  /// The generator's input [z | one-hot categorical codes | continuous codes] for noise rows z (N x noise)
  /// and code rows (N x code_size()). @throw std::invalid_argument for wrong shapes; std::domain_error for
  /// a categorical value that is not one of 0..K−1 or a non-finite number.
  template <class DZ, class DC> Matrix<T> generator_input(const Eigen::MatrixBase<DZ>& z, const Eigen::MatrixBase<DC>& codes) const {
    constexpr const char* function = "InfoGAN::generator_input";
    detail::check_rows(function, "z", z, options_.noise);
    detail::check_rows(function, "codes", codes, code_size());
    if (z.rows() != codes.rows())
      pml::detail::throw_shape(function, "z has " + std::to_string(z.rows()) + " rows but codes has " + std::to_string(codes.rows()));
    Matrix<T> in = Matrix<T>::Zero(z.rows(), options_.noise + code_inputs());
    in.leftCols(options_.noise) = z.template cast<T>();
    Index col = options_.noise;
    const Index ncat = Index(options_.categorical.size());
    for (Index k = 0; k < ncat; ++k) {
      const Index K = options_.categorical[std::size_t(k)];
      for (Index i = 0; i < z.rows(); ++i) {
        const double v = double(codes(i, k));
        if (!(v >= 0 && v < double(K) && v == std::floor(v)))
          detail::throw_domain(function, "codes", "hold a value in 0.." + std::to_string(K - 1) + " in column " + std::to_string(k),
                               detail::describe(v) + " at row " + std::to_string(i));
        in(i, col + Index(v)) = T(1);
      }
      col += K;
    }
    in.rightCols(options_.continuous) = codes.rightCols(options_.continuous).template cast<T>();
    return in;
  }

  /// −λ_cat Σ log Q(c_k | x) − λ_cont Σ log q(c_j | x) on `tape`, summed over the rows: the recognition
  /// head's loss (with both λ = 1, −L_I up to the constant H(c), Chen et al. 2016 eq. 5) for its raw outputs `q` (N x the
  /// logits of each categorical code, then the continuous codes' means, then their log-variances) and the
  /// generator inputs' code part `codes_in` (N x code_inputs(): one-hot, then continuous values).
  ad::Var<T> information_loss(ad::Tape<T>& tape, const ad::Var<T>& q, const ad::Var<T>& codes_in, T categorical_weight, T continuous_weight) const;

  /// D's and Q's loss on `tape` (Chen et al. 2016, eq. 6): −Σ[log D(x) + log(1 − D(fake))] on real rows x
  /// and generated rows `fake` (both N x input_size() in the network's scale: as given for mlp, [−1, 1]
  /// for dcgan), and the information loss of Q's reading of `fake` against the codes they were made
  /// from (`codes_in`, N x code_inputs(), as in generator_input()). Gradients reach D and Q (and what
  /// the inputs depend on). @throw std::invalid_argument for wrong shapes.
  InfoGANLoss<T> discriminator_loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& fake, const ad::Var<T>& codes_in, T categorical_weight,
                                    T continuous_weight) {
    const DiscriminatorOutput<T> real = with_body([&](auto& body) { return body.discriminator_forward(tape, x); });
    const DiscriminatorOutput<T> made = with_body([&](auto& body) { return body.discriminator_forward(tape, fake); });
    Rng unused(0);
    return {ad::bce_with_logits(real.logit, tape.constant(x.rows(), 1, T(1))) + ad::bce_with_logits(made.logit, tape.constant(fake.rows(), 1, T(0))),
            information_loss(tape, q_->forward(tape, made.features, unused, nn::Mode::train), codes_in, categorical_weight, continuous_weight)};
  }
  /// G's loss on `tape` for generated rows `fake` = G(input) made on this tape (generator_forward()) from
  /// generator inputs whose code part is `codes_in`: the GAN loss (−Σ log D(fake), or Σ log(1 − D(fake))
  /// for minimax) and the information loss. @throw std::invalid_argument for wrong shapes.
  InfoGANLoss<T> generator_loss(ad::Tape<T>& tape, const ad::Var<T>& fake, const ad::Var<T>& codes_in, T categorical_weight, T continuous_weight);
  /// G(input) on `tape` in training mode, in the network's scale, for generator inputs (N x noise +
  /// code_inputs(), generator_input()). @throw std::invalid_argument for a wrong width.
  ad::Var<T> generator_forward(ad::Tape<T>& tape, const ad::Var<T>& input) {
    return with_body([&](auto& body) { return body.generator_forward(tape, input); });
  }

  /// Trains on x (N x input_size(); values in [0, 1] for the dcgan body) for fit.epochs epochs of shuffled
  /// minibatches. Per minibatch of m rows: m code rows from the prior and m noise rows make m generated
  /// rows; D and Q take one Adam step on D's loss on the real and generated rows plus λ times the
  /// information loss on the generated ones, then G one on its GAN loss plus λ times the information loss
  /// (Chen et al. 2016, eq. 6; the recognition head is trained with D, as in the paper's code).
  /// Returns *this; per-epoch losses in loss_history().
  /// @throw std::invalid_argument for x of the wrong width or fewer than 2 rows; std::domain_error for
  ///        non-finite x, x outside [0, 1] (dcgan), bad fit options, or a loss that stops being finite.
  template <class Derived> InfoGAN& fit(const Eigen::MatrixBase<Derived>& x, const InfoGANFitOptions& fit, Rng& rng) {
    return fit_rows(detail::as_rows<T>("InfoGAN::fit", "x", x), fit, rng);
  }
  /// fit() with the rows spread over processes (data-parallel training, issue 18 §3; core/collective.hpp,
  /// `pml::mpi::Communicator` on MPI): each rank passes its own rows (any number, 0 included; rank order is row
  /// order) and fit.batch_size is the rows per rank, so each minibatch holds ranks.size() · batch_size rows of
  /// the whole data set (drawn as the other data-parallel fits draw them). Each rank generates one row per
  /// minibatch row it holds, its noise and codes hashed from the step's key and the row's position; the DCGAN
  /// body's batch normalisation is synchronised over the ranks (DCGAN::synchronise_batch_norm), so every rank
  /// runs every step; each player's gradients (D with Q, then G) are summed over the ranks once per update.
  /// Rank 0's initial weights are copied to every rank; `rng` must be in the same state on every rank
  /// (checked). So P ranks with batch B fit as fit(Collective::single(), all rows, {batch P·B}) does, to the
  /// rounding of the sums (not as fit(x, fit, rng)). The parameters, both optimisers and the running
  /// statistics are checked to agree after every epoch.
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument for options or
  ///        an rng that differ between ranks, different networks or fewer than 2 rows on all ranks;
  ///        std::runtime_error if the ranks' states drift apart.
  template <class Derived> InfoGAN& fit(const Collective& ranks, const Eigen::MatrixBase<Derived>& x, const InfoGANFitOptions& fit, Rng& rng) {
    constexpr const char* function = "InfoGAN::fit";
    Matrix<T> converted;
    std::optional<Eigen::Ref<const Matrix<T>>> rows;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      check_fit(function, fit);
      if (x.rows() > 0 || ranks.size() == 1) check_data(function, x);
      detail::hold_shard_rows<T>(rows, converted, function, "x", x, input_size());
    });
    return fit_rows(ranks, *rows, fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  InfoGAN& fit_rows(Eigen::Ref<const Matrix<T>> x, const InfoGANFitOptions& fit, Rng& rng);
  InfoGAN& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const InfoGANFitOptions& fit, Rng& rng);
  // fit()'s options
  void check_fit(const char* function, const InfoGANFitOptions& fit) const {
    if (fit.epochs < 1) detail::throw_domain(function, "epochs", "be at least 1", std::to_string(fit.epochs));
    if (fit.batch_size < 2) detail::throw_domain(function, "batch_size", "be at least 2", std::to_string(fit.batch_size));
    check_positive(function, "generator_learning_rate", fit.generator_learning_rate);
    check_positive(function, "discriminator_learning_rate", fit.discriminator_learning_rate);
    if (!(fit.beta1 >= 0 && fit.beta1 < 1)) detail::throw_domain(function, "beta1", "lie in [0, 1)", detail::describe(fit.beta1));
    if (!(fit.beta2 >= 0 && fit.beta2 < 1)) detail::throw_domain(function, "beta2", "lie in [0, 1)", detail::describe(fit.beta2));
    for (const auto& [name, w] : {std::pair{"categorical_weight", fit.categorical_weight}, std::pair{"continuous_weight", fit.continuous_weight}})
      if (!(w >= 0 && std::isfinite(w))) detail::throw_domain(function, name, "be finite and non-negative", detail::describe(w));
  }
  // the rows' width, finite values and, for the dcgan body, [0, 1]
  template <class Derived> void check_data(const char* function, const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows(function, "x", x, input_size());
    if (options_.body == InfoGANBody::dcgan && (x.minCoeff() < 0 || x.maxCoeff() > 1))
      detail::throw_domain(function, "x", "lie in [0, 1]", "values from " + detail::describe(double(x.minCoeff())) + " to " + detail::describe(double(x.maxCoeff())));
  }
  // code rows for rows at `positions` (one per row), each value hashed from `key` and the position: the prior of sample_codes()
  Matrix<T> hashed_codes(std::uint64_t key, std::span<const Index> positions) const {
    const Index n = static_cast<Index>(positions.size()), ncat = Index(options_.categorical.size());
    Matrix<T> c(n, code_size());
    for (Index k = 0; k < ncat; ++k) {
      const auto values = static_cast<double>(options_.categorical[std::size_t(k)]);
      const std::uint64_t code_key = pml::detail::mix64(key + 2 + std::uint64_t(k));
      for (Index i = 0; i < n; ++i)
        c(i, k) = T(std::min(values - 1, std::floor(values * pml::detail::hashed_uniform<double>(code_key, std::uint64_t(positions[std::size_t(i)])))));
    }
    if (options_.continuous > 0) {
      auto continuous = c.rightCols(options_.continuous);
      const std::uint64_t code_key = pml::detail::mix64(key + 1);
      if (options_.continuous_prior == ContinuousCode::uniform) {
        for (Index k = 0; k < options_.continuous; ++k)
          for (Index i = 0; i < n; ++i)
            continuous(i, k) = T(2 * pml::detail::hashed_uniform<double>(code_key, std::uint64_t(positions[std::size_t(i)]) * std::uint64_t(options_.continuous) + std::uint64_t(k)) - 1);
      } else {
        pml::detail::fill_row_normals(code_key, positions, continuous);
      }
    }
    return c;
  }

 public:
  /// Per-epoch mean losses of the last fit() (empty before it; not stored in model files).
  const InfoGANHistory<T>& loss_history() const noexcept { return history_; }

  /// n generated rows from z ~ N(0, I) and codes from the prior (n x input_size(); [0, 1] for dcgan).
  /// @throw std::invalid_argument if n <= 0.
  Matrix<T> sample(Rng& rng, Index n) const {
    if (n <= 0) pml::detail::throw_shape("InfoGAN::sample", "n must be positive, got " + std::to_string(n));
    Matrix<T> z(n, options_.noise);
    random::fill_normal(rng, z);
    return generate(z, sample_codes(rng, n));
  }
  /// G(z, c) for given noise rows (N x noise) and code rows (N x code_size(), see the class), with the
  /// running statistics (dcgan). @throw as generator_input().
  template <class DZ, class DC> Matrix<T> generate(const Eigen::MatrixBase<DZ>& z, const Eigen::MatrixBase<DC>& codes) const {
    const Matrix<T> in = generator_input(z, codes);
    if (mlp_) return mlp_->generate(in);
    return conv_->generate(in);
  }
  /// D(x): the discriminator's probability that each row is real. @throw std::invalid_argument for a wrong
  /// width or no rows; std::domain_error for non-finite values.
  template <class Derived> Vector<T> discriminate(const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows("InfoGAN::discriminate", "x", x, input_size());
    const Matrix<T> logit = chunked(x, 1, [&](ad::Tape<T>& tape, const ad::Var<T>& rows) { return with_body([&](const auto& b) { return b.discriminator_forward(tape, rows); }).logit; });
    return pml::sigmoid(logit.col(0).array()).matrix();
  }
  /// Q's reading of the codes of rows x (N x input_size()): N x code_size(), the most probable value of
  /// each categorical code, then the mean of each continuous code. @throw as discriminate().
  template <class Derived> Matrix<T> predict_codes(const Eigen::MatrixBase<Derived>& x) const {
    const Matrix<T> q = recognition(x, "InfoGAN::predict_codes");
    Matrix<T> c(q.rows(), code_size());
    Index col = 0, k = 0;
    for (const Index K : options_.categorical) {
      const IntVector best = detail::argmax_rows(q.middleCols(col, K));
      c.col(k++) = best.template cast<T>();
      col += K;
    }
    c.rightCols(options_.continuous) = q.middleCols(col, options_.continuous);
    return c;
  }
  /// Q(c_k | x): the probabilities of categorical code `code`'s values for each row of x (N x K).
  /// @throw std::out_of_range for a code outside 0..categorical.size()−1; else as discriminate().
  template <class Derived> Matrix<T> predict_code_proba(const Eigen::MatrixBase<Derived>& x, Index code = 0) const {
    if (code < 0 || code >= Index(options_.categorical.size()))
      throw std::out_of_range("InfoGAN::predict_code_proba: code " + std::to_string(code) + " is not one of the " +
                              std::to_string(options_.categorical.size()) + " categorical codes");
    const Matrix<T> q = recognition(x, "InfoGAN::predict_code_proba");
    Index col = 0;
    for (Index k = 0; k < code; ++k) col += options_.categorical[std::size_t(k)];
    const Index K = options_.categorical[std::size_t(code)];
    Matrix<T> p(q.rows(), K);
    for (Index i = 0; i < q.rows(); ++i) {
      const auto row = q.row(i).segment(col, K);
      const T top = row.maxCoeff();
      p.row(i) = (row.array() - top).exp().matrix();
      p.row(i) /= p.row(i).sum();
    }
    return p;
  }
  /// The variational lower bound L_I on I(c_k; G(z, c)) of each code (nats; Chen et al. 2016, eq. 5):
  /// H(c_k) + E log Q(c_k | G(z, c)) estimated on n generated rows; H is log K for a categorical code,
  /// log 2 (uniform) or ½ log(2πe) (Gaussian) for a continuous one, so a categorical code's bound reaches
  /// log K when Q reads it perfectly. Returns code_size() values. @throw std::invalid_argument if n <= 0.
  Vector<T> mutual_information(Rng& rng, Index n) const;

  /// Every trainable parameter: the body's generator, its discriminator, then Q.
  nn::ParameterList<T> parameters() {
    nn::ParameterList<T> list = with_body([](auto& b) { return b.parameters(); });
    nn::append(list, q_->parameters());
    return list;
  }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const {
    nn::ConstParameterList<T> list = with_body([](const auto& b) { return b.parameters(); });
    const auto more = q_->parameters();
    list.insert(list.end(), more.begin(), more.end());
    return list;
  }
  /// What a model file stores: the body's (with the dcgan body's running statistics), then Q's parameters.
  nn::ParameterList<T> stored_parameters() {
    nn::ParameterList<T> list = with_body([](auto& b) { return detail::file_parameters(b); });
    nn::append(list, q_->parameters());
    return list;
  }
  /// Read-only stored_parameters(), same order.
  nn::ConstParameterList<T> stored_parameters() const {
    nn::ConstParameterList<T> list = with_body([](const auto& b) { return detail::file_parameters(b); });
    const auto more = q_->parameters();
    list.insert(list.end(), more.begin(), more.end());
    return list;
  }
  /// The GAN under an mlp body (nullptr for dcgan).
  const GAN<T>* mlp_body() const noexcept { return mlp_ ? &*mlp_ : nullptr; }
  /// The DCGAN under a dcgan body (nullptr for mlp).
  const DCGAN<T>* dcgan_body() const noexcept { return conv_ ? &*conv_ : nullptr; }
  /// The recognition head Q (input: the discriminator's features; output: see information_loss()).
  const nn::MLP<T>& recognition_head() const noexcept { return *q_; }
  /// Writes the parameters and the options to `path` (model type "InfoGAN"), atomically.
  /// @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const { detail::save_model(*this, path, format); }
  /// A model saved by save() (bit-identical outputs). @throw std::runtime_error naming the path for a
  /// missing, truncated, corrupt or wrong-type file.
  static InfoGAN load(const std::filesystem::path& path) { return detail::load_model<InfoGAN>(path, "InfoGAN::load"); }
  static constexpr const char* model_name = "InfoGAN";  ///< The model type in its files' headers.
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  static Options checked(const Options& o) {
    constexpr const char* function = "InfoGAN";
    if (o.noise <= 0 || o.recognition_hidden <= 0 || o.continuous < 0)
      pml::detail::throw_shape(function, "noise and recognition_hidden must be positive and continuous non-negative, got " + std::to_string(o.noise) + ", " +
                                             std::to_string(o.recognition_hidden) + " and " + std::to_string(o.continuous));
    for (const Index K : o.categorical)
      if (K < 2 || K > 1 << 20) pml::detail::throw_shape(function, "each categorical code needs 2..2^20 values, got " + std::to_string(K));
    if (o.categorical.empty() && o.continuous == 0) pml::detail::throw_shape(function, "no codes: give categorical or continuous codes (else use GAN or DCGAN)");
    if (o.generator_loss == GANLoss::wasserstein_gp) pml::detail::throw_shape(function, "generator_loss must be minimax or non_saturating, got wasserstein_gp");
    if (o.body == InfoGANBody::mlp && o.discriminator_hidden.empty())
      pml::detail::throw_shape(function, "the mlp body needs at least one discriminator_hidden layer (Q reads D's last hidden layer)");
    return o;
  }
  Index q_outputs() const noexcept { return code_inputs() + options_.continuous; }  // logits, means, log-variances
  Index feature_size() const noexcept {
    if (options_.body == InfoGANBody::mlp) return options_.discriminator_hidden.back();
    return 2 * options_.discriminator_features * (options_.height / 4) * (options_.width / 4);
  }
  template <class Derived> Matrix<T> to_network(const Eigen::MatrixBase<Derived>& x) const {
    if (options_.body == InfoGANBody::mlp) return x.template cast<T>();
    return (x.template cast<T>().array() * T(2) - T(1)).matrix();
  }
  template <class F> decltype(auto) with_body(F&& f) {
    if (mlp_) return f(*mlp_);
    return f(*conv_);
  }
  template <class F> decltype(auto) with_body(F&& f) const {
    if (mlp_) return f(std::as_const(*mlp_));
    return f(std::as_const(*conv_));
  }
  // f(tape, rows on the tape in the network's scale) over chunks of 64 rows on this thread's scratch tape
  template <class Derived, class F> Matrix<T> chunked(const Eigen::MatrixBase<Derived>& x, Index out_cols, F f) const {
    const Matrix<T> xt = to_network(x);
    Matrix<T> out(xt.rows(), out_cols);
    ad::ScratchTape<T> scratch;
    ad::Tape<T>& tape = *scratch;
    for (Index r0 = 0; r0 < xt.rows(); r0 += 64) {
      const Index rows = std::min<Index>(64, xt.rows() - r0);
      tape.reset();
      out.middleRows(r0, rows) = f(tape, tape.constant(Matrix<T>(xt.middleRows(r0, rows)))).value();
    }
    return out;
  }
  template <class Derived> Matrix<T> recognition(const Eigen::MatrixBase<Derived>& x, const char* function) const {
    detail::check_rows(function, "x", x, input_size());
    if (options_.body == InfoGANBody::dcgan && (x.minCoeff() < 0 || x.maxCoeff() > 1))
      detail::throw_domain(function, "x", "lie in [0, 1]", "values from " + detail::describe(double(x.minCoeff())) + " to " + detail::describe(double(x.maxCoeff())));
    return chunked(x, q_outputs(), [&](ad::Tape<T>& tape, const ad::Var<T>& rows) {
      const ad::Var<T> features = with_body([&](const auto& b) { return b.discriminator_forward(tape, rows); }).features;
      return q_->forward(tape, features);
    });
  }

  Options options_;
  std::optional<GAN<T>> mlp_;
  std::optional<DCGAN<T>> conv_;
  std::optional<nn::MLP<T>> q_;
  InfoGANHistory<T> history_;
};

// fit()'s body on rows of T, defined out of the class so that an extern template instantiation leaves it to
// one file (cmake/outline_members.py)
template <Real T>
auto InfoGAN<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const InfoGANFitOptions& fit, Rng& rng) -> InfoGAN& {
    constexpr const char* function = "InfoGAN::fit";
    detail::check_rows(function, "x", x, input_size());
    if (x.rows() < 2) pml::detail::throw_shape(function, "x has 1 row; fit needs at least 2");
    check_data(function, x);
    check_fit(function, fit);
    const Matrix<T> scaled = to_network(x.template cast<T>());
    nn::ParameterList<T> d_params = with_body([](auto& b) { return b.discriminator_parameters(); });
    nn::append(d_params, q_->parameters());
    nn::Adam<T> g_opt(with_body([](auto& b) { return b.generator_parameters(); }),
                      {.learning_rate = fit.generator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    nn::Adam<T> d_opt(d_params, {.learning_rate = fit.discriminator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    const T lc = T(fit.categorical_weight), lx = T(fit.continuous_weight);
    ad::Tape<T> g_tape, d_tape;
    Matrix<T> z, codes, input;
    history_ = {};
    double g_sum = 0, i_sum = 0;
    Index g_rows = 0;
    FitOptions epochs{.epochs = fit.epochs, .batch_size = fit.batch_size, .learning_rate = fit.generator_learning_rate, .progress = fit.progress};
    const std::vector<T> d_history =
        detail::run_epochs<T>(function, scaled, Matrix<T>(scaled.rows(), 0), epochs, rng, [&](const Matrix<T>& xb, const Matrix<T>&, Index b, Index batches) {
          const Index m = xb.rows();
          auto end_of_epoch = [&] {
            if (b + 1 != batches) return;
            const double rows = double(std::max<Index>(g_rows, 1));
            history_.generator_loss.push_back(T(g_sum / rows));
            history_.information_loss.push_back(T(i_sum / rows));
            g_sum = i_sum = 0;
            g_rows = 0;
          };
          if (m < 2) {  // a last minibatch of one row: the dcgan body's batch normalisation cannot take it
            end_of_epoch();
            return T(0);
          }
          z.resize(m, options_.noise);
          random::fill_normal(rng, z);
          codes = sample_codes(rng, m);
          input = generator_input(z, codes);
          const Matrix<T> code_in = input.rightCols(code_inputs());
          g_tape.reset();
          const ad::Var<T> fake = generator_forward(g_tape, g_tape.constant(input));
          // D and Q: real rows as real, generated ones (G fixed) as fake, and Q's reading of their codes
          d_tape.reset();
          const InfoGANLoss<T> d = discriminator_loss(d_tape, d_tape.constant(xb), d_tape.constant(fake.value()), d_tape.constant(code_in), lc, lx);
          d_tape.backward((T(1) / T(m)) * (d.gan + d.information));
          d_opt.step();
          // G: fool the updated D and keep the codes readable by the updated Q
          const InfoGANLoss<T> g = generator_loss(g_tape, fake, g_tape.constant(code_in), lc, lx);
          g_tape.backward((T(1) / T(m)) * (g.gan + g.information));
          g_opt.step();
          g_sum += double(g.gan.value()(0, 0));
          i_sum += double(g.information.value()(0, 0));
          g_rows += m;
          end_of_epoch();
          return T(d.gan.value()(0, 0));
        });
    history_.discriminator_loss = d_history;
    return *this;
  }


template <Real T>
auto InfoGAN<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const InfoGANFitOptions& fit, Rng& rng) -> InfoGAN& PML_RANKS_TRY {
    constexpr const char* function = "InfoGAN::fit";
    const detail::ShardPlace place = detail::shard_place(ranks, x.rows());
    const Index n = place.total, offset = place.offset;
    if (n < 2) pml::detail::throw_shape(function, "x has " + std::to_string(n) + " rows on all ranks together; fit needs at least 2");
    {  // the same training on every rank
      const long sizes[2] = {long(fit.epochs), long(fit.batch_size)};
      const double rates[6] = {fit.generator_learning_rate, fit.discriminator_learning_rate, fit.beta1, fit.beta2, fit.categorical_weight, fit.continuous_weight};
      const std::string model = detail::options_text(*this);
      const std::uint64_t options = detail::fnv1a(rates, sizeof rates, detail::fnv1a(sizes, sizeof sizes, detail::fnv1a(model.data(), model.size())));
      detail::check_same_training(ranks, function, options, rng, "epochs, batch_size, learning rates, betas, code weights");
    }
    nn::ParameterList<T> d_params = with_body([](auto& b) { return b.discriminator_parameters(); });
    nn::append(d_params, q_->parameters());
    const nn::ParameterList<T> g_params = with_body([](auto& b) { return b.generator_parameters(); });
    detail::broadcast_parameters(ranks, g_params, function);
    detail::broadcast_parameters(ranks, d_params, function);
    nn::Adam<T> g_opt(g_params, {.learning_rate = fit.generator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    nn::Adam<T> d_opt(d_params, {.learning_rate = fit.discriminator_learning_rate, .beta1 = fit.beta1, .beta2 = fit.beta2});
    const T lc = T(fit.categorical_weight), lx = T(fit.continuous_weight);
    const Index global = std::min<Index>(n, static_cast<Index>(ranks.size()) * fit.batch_size);  // rows per minibatch on all ranks
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> scaled;
    std::vector<T> message;
    detail::agree(ranks, [&] {  // the allocations: one rank short of memory stops every rank
      scaled = to_network(x);
      message.reserve(std::max(detail::parameter_count(g_params), detail::parameter_count(d_params)) + 2);
    });
    // the DCGAN body's batch norms synchronise over the ranks during the fit (the MLP body has none)
    struct Sync {
      std::optional<DCGAN<T>>& body;
      ~Sync() {
        if (body) body->synchronise_batch_norm(nullptr);
      }
    } sync{conv_};
    if (conv_) conv_->synchronise_batch_norm(&ranks);
    ad::Tape<T> g_tape, d_tape;
    Matrix<T> xb, z, input;
    history_ = {};
    std::exception_ptr reported;  // thrown by fit.progress on this rank: raised on every rank at the next message
    double d_sum = 0, g_sum = 0, i_sum = 0;
    Index d_rows = 0, g_rows = 0;
    detail::shard_epochs(ranks, function, n, offset, x.rows(), global, fit.epochs, rng, fit.progress, reported, [&](const detail::ShardMinibatch& s) {
      if (s.rows < 2) return d_rows > 0 ? d_sum / double(d_rows) : 0.0;  // a last minibatch of one row on all ranks: the dcgan body's batch normalisation cannot take it
      // every rank runs the step (the DCGAN body's batch norms' collectives), with its own rows of the minibatch (perhaps none)
      io::gather_rows(scaled, s.local, xb);
      const Index m = xb.rows();
      z.resize(m, options_.noise);
      pml::detail::fill_row_normals(s.key, s.positions, z);
      if (m > 0) input = generator_input(z, hashed_codes(s.key, s.positions));
      else input.resize(0, options_.noise + code_inputs());
      const Matrix<T> code_in = input.rightCols(code_inputs());
      g_tape.reset();
      const ad::Var<T> fake = generator_forward(g_tape, g_tape.constant(input));
      // D and Q: real rows as real, generated ones (G fixed) as fake, and Q's reading of their codes
      d_tape.reset();
      const InfoGANLoss<T> d = discriminator_loss(d_tape, d_tape.constant(xb), d_tape.constant(fake.value()), d_tape.constant(code_in), lc, lx);
      d_tape.backward((T(1) / T(s.rows)) * (d.gan + d.information));
      d_sum += detail::sum_step_and_update(ranks, function, x, d_opt, d_params, message, reported, d.gan.value()(0, 0), s.epoch, s.batch);
      d_rows += s.rows;
      // G: fool the updated D and keep the codes readable by the updated Q
      const InfoGANLoss<T> g = generator_loss(g_tape, fake, g_tape.constant(code_in), lc, lx);
      g_tape.backward((T(1) / T(s.rows)) * (g.gan + g.information));
      g_sum += detail::sum_step_and_update(ranks, function, x, g_opt, g_params, message, reported, g.gan.value()(0, 0), s.epoch, s.batch);
      i_sum += pml::detail::all_sum(ranks, double(g.information.value()(0, 0)));
      g_rows += s.rows;
      return d_sum / double(d_rows);
    }, [&](int epoch) {
      history_.discriminator_loss.push_back(T(d_sum / double(n)));
      const double rows = double(std::max<Index>(g_rows, 1));
      history_.generator_loss.push_back(T(g_sum / rows));
      history_.information_loss.push_back(T(i_sum / rows));
      d_sum = g_sum = i_sum = 0, d_rows = g_rows = 0;
      detail::check_same_state(ranks, function, {&g_opt, &d_opt}, stored_parameters(), epoch);
    });
    return *this;
  } PML_RANKS_CATCH(ranks, "InfoGAN::fit")

// InfoGAN's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto InfoGAN<T>::sample_codes(Rng& rng, Index n) const -> Matrix<T> {
    if (n <= 0) pml::detail::throw_shape("InfoGAN::sample_codes", "n must be positive, got " + std::to_string(n));
    Matrix<T> c(n, code_size());
    const Index ncat = Index(options_.categorical.size());
    for (Index i = 0; i < n; ++i) {
      for (Index k = 0; k < ncat; ++k) c(i, k) = T(random::uniform_index(rng, static_cast<std::uint64_t>(options_.categorical[std::size_t(k)])));
      for (Index k = 0; k < options_.continuous; ++k)
        c(i, ncat + k) = options_.continuous_prior == ContinuousCode::uniform ? T(2 * random::uniform<double>(rng) - 1) : T(random::normal<double>(rng));
    }
    return c;
  }

template <Real T>
auto InfoGAN<T>::information_loss(ad::Tape<T>& tape, const ad::Var<T>& q, const ad::Var<T>& codes_in, T categorical_weight, T continuous_weight) const -> ad::Var<T> {
    if (q.cols() != q_outputs() || codes_in.cols() != code_inputs() || q.rows() != codes_in.rows())
      pml::detail::throw_shape("InfoGAN::information_loss", "q is " + std::to_string(q.rows()) + " x " + std::to_string(q.cols()) + " and codes_in " +
                                                                std::to_string(codes_in.rows()) + " x " + std::to_string(codes_in.cols()) + ", expected N x " +
                                                                std::to_string(q_outputs()) + " and N x " + std::to_string(code_inputs()));
    ad::Var<T> loss = tape.constant(1, 1, T(0));
    Index col = 0;
    for (const Index K : options_.categorical) {
      loss = loss + categorical_weight * ad::softmax_cross_entropy(ad::slice_cols(q, col, K), ad::slice_cols(codes_in, col, K));
      col += K;
    }
    if (options_.continuous > 0) {
      const Index m = options_.continuous;
      loss = loss + continuous_weight * ad::gaussian_nll(ad::slice_cols(q, col, m), ad::slice_cols(q, col + m, m), ad::slice_cols(codes_in, col, m));
    }
    return loss;
  }

template <Real T>
auto InfoGAN<T>::generator_loss(ad::Tape<T>& tape, const ad::Var<T>& fake, const ad::Var<T>& codes_in, T categorical_weight, T continuous_weight) -> InfoGANLoss<T> {
    const DiscriminatorOutput<T> seen = with_body([&](auto& body) { return body.discriminator_forward(tape, fake); });
    const Index m = fake.rows();
    Rng unused(0);
    return {options_.generator_loss == GANLoss::non_saturating ? ad::bce_with_logits(seen.logit, tape.constant(m, 1, T(1)))   // −log D
                                                               : -ad::bce_with_logits(seen.logit, tape.constant(m, 1, T(0))),  // log(1 − D)
            information_loss(tape, q_->forward(tape, seen.features, unused, nn::Mode::train), codes_in, categorical_weight, continuous_weight)};
  }

template <Real T>
auto InfoGAN<T>::mutual_information(Rng& rng, Index n) const -> Vector<T> {
    if (n <= 0) pml::detail::throw_shape("InfoGAN::mutual_information", "n must be positive, got " + std::to_string(n));
    Matrix<T> z(n, options_.noise);
    random::fill_normal(rng, z);
    const Matrix<T> codes = sample_codes(rng, n);
    const Matrix<T> images = generate(z, codes);
    const Matrix<T> q = recognition(images, "InfoGAN::mutual_information");
    Vector<T> bound(code_size());
    Index col = 0, k = 0;
    for (const Index K : options_.categorical) {
      double log_q = 0;
      for (Index i = 0; i < n; ++i) {
        const auto row = q.row(i).segment(col, K);
        const double top = double(row.maxCoeff());
        const double lse = top + std::log((row.array().template cast<double>() - top).exp().sum());
        log_q += double(row(Index(codes(i, k)))) - lse;
      }
      bound(k++) = T(std::log(double(K)) + log_q / double(n));
      col += K;
    }
    const Index m = options_.continuous;
    const double entropy = options_.continuous_prior == ContinuousCode::uniform ? std::log(2.0) : 0.5 * std::log(2 * std::numbers::pi * std::numbers::e);
    for (Index j = 0; j < m; ++j) {
      double log_q = 0;
      for (Index i = 0; i < n; ++i) {
        const double mean = double(q(i, col + j)), s = double(q(i, col + m + j)), d = double(codes(i, k)) - mean;
        log_q += -0.5 * (std::log(2 * std::numbers::pi) + s + d * d * std::exp(-s));
      }
      bound(k++) = T(entropy + log_q / double(n));
    }
    return bound;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::InfoGAN)
