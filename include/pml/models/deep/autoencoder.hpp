#pragma once
/// @file
/// A deterministic auto-encoder: MLP encoder to a linear code, MLP decoder back, trained on the squared
/// error (real data) or the binary cross-entropy (data in [0, 1]).

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

/// The reconstruction loss of an AutoEncoder, summed over a row's entries.
enum class ReconstructionLoss : std::uint8_t {
  mse,  ///< sum (xhat - x)^2; the decoder output is xhat
  bce,  ///< sum softplus(l) - x l; the decoder outputs logits l, xhat = sigmoid(l)
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(ReconstructionLoss) { return {"mse", "bce"}; }

/// Options of AutoEncoder: the layer sizes, the activation and the reconstruction loss.
struct AutoEncoderOptions {
  Index input = 0;                 ///< D
  std::vector<Index> hidden{128};  ///< encoder hidden sizes (the decoder mirrors them)
  Index code = 32;                 ///< width of the (linear) code
  ad::Activation activation = ad::Activation::relu;  ///< after every hidden layer of the encoder and the decoder
  ReconstructionLoss loss = ReconstructionLoss::mse;  ///< mse (real data) or bce (data in [0, 1], sigmoid outputs)

  /// How the networks' weights are drawn (nn/init.hpp; automatic: He normal for ReLU hidden layers,
  /// Xavier uniform otherwise). Used when the model is built; a file stores the weights, not this.
  nn::Init init = nn::Init::automatic;
  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("input", o.input, io::as_size);
    v("hidden", o.hidden);
    v("code", o.code, io::as_size);
    v("activation", o.activation);
    v("loss", o.loss);
  }
};

/// `AutoEncoder<float> ae({.input = 784, .hidden = {256}, .code = 32, .loss = ReconstructionLoss::bce}, rng);`
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class AutoEncoder {
 public:
  using Options = AutoEncoderOptions;  ///< The options type (sizes and hyper-parameters, so not templated on the scalar).
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// @throw std::invalid_argument for non-positive sizes.
  AutoEncoder(const AutoEncoderOptions& options, Rng& rng)
      : options_(checked(options)),
        encoder_({.sizes = detail::layer_sizes(options.input, options.hidden, options.code), .activation = options.activation, .init = options.init}, rng),
        decoder_({.sizes = detail::layer_sizes(options.code, {options.hidden.rbegin(), options.hidden.rend()}, options.input), .activation = options.activation, .init = options.init}, rng) {
    for (auto* p : encoder_.parameters()) p->name = "encoder." + p->name;
    for (auto* p : decoder_.parameters()) p->name = "decoder." + p->name;
  }

  /// The summed reconstruction loss of a batch on `tape`.
  ad::Var<T> loss(ad::Tape<T>& tape, const ad::Var<T>& x);

  /// Trains with Adam on shuffled minibatches; returns *this (the mean loss per row of each epoch is in
  /// loss_history()).
  /// @throw std::invalid_argument for a wrong width or no rows; std::domain_error for non-finite data,
  ///        data outside [0, 1] with the BCE loss, bad options, or a loss or gradient that stops being
  ///        finite (data far too large, e.g. near 1e300; the message names the function and x).
  template <class Derived> AutoEncoder& fit(const Eigen::MatrixBase<Derived>& x, const FitOptions& fit, Rng& rng) {
    return fit_rows(detail::as_rows<T>("AutoEncoder::fit", "x", x), fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  AutoEncoder& fit_rows(Eigen::Ref<const Matrix<T>> x, const FitOptions& fit, Rng& rng);

 public:
  /// The mean loss per row of each epoch of the last fit() (empty before it; not stored in model files).
  const std::vector<T>& loss_history() const noexcept { return history_; }

  /// The code of each row (N x code).
  template <class Derived> Matrix<T> encode(const Eigen::MatrixBase<Derived>& x) const {
    check_data("AutoEncoder::encode", x);
    return encoder_.predict(x.template cast<T>());
  }
  /// The reconstruction for codes z (sigmoid of the logits for the BCE loss).
  template <class Derived> Matrix<T> decode(const Eigen::MatrixBase<Derived>& z) const {
    detail::check_rows("AutoEncoder::decode", "z", z, options_.code);
    const Matrix<T> out = decoder_.predict(z.template cast<T>());
    if (options_.loss == ReconstructionLoss::bce) return pml::sigmoid(out.array()).matrix();
    return out;
  }
  template <class Derived> Matrix<T> reconstruct(const Eigen::MatrixBase<Derived>& x) const { return decode(encode(x)); }  ///< decode(encode(x)).
  /// The summed squared error of each row's reconstruction (an anomaly score).
  template <class Derived> Vector<T> reconstruction_error(const Eigen::MatrixBase<Derived>& x) const {
    return (reconstruct(x) - x.template cast<T>()).rowwise().squaredNorm();
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
  /// Writes the parameters and the options to `path` (model type "AutoEncoder"; format in serialization/model_file.hpp),
  /// atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const {
    detail::save_model(*this, path, format);
  }
  /// A model saved by save(): built from the options in the file, with its parameters (bit-identical
  /// outputs). @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static AutoEncoder load(const std::filesystem::path& path) {
    return detail::load_model<AutoEncoder>(path, "AutoEncoder::load");
  }
  static constexpr const char* model_name = "AutoEncoder";  ///< The model type in its files' headers.
  const AutoEncoderOptions& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  static AutoEncoderOptions checked(const AutoEncoderOptions& o) {
    if (o.input <= 0 || o.code <= 0)
      pml::detail::throw_shape("AutoEncoder", "input and code must be positive, got " + std::to_string(o.input) + " and " + std::to_string(o.code));
    detail::check_hidden("AutoEncoder", o.hidden);
    return o;
  }
  template <class Derived> void check_data(const char* function, const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows(function, "x", x, options_.input);
  }

  AutoEncoderOptions options_;
  nn::MLP<T> encoder_, decoder_;
  std::vector<T> history_;
};

// AutoEncoder's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto AutoEncoder<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const FitOptions& fit, Rng& rng) -> AutoEncoder& {
    check_data("AutoEncoder::fit", x);
    detail::check_fit_options("AutoEncoder::fit", fit);
    if (options_.loss == ReconstructionLoss::bce && (x.minCoeff() < 0 || x.maxCoeff() > 1))
      detail::throw_domain("AutoEncoder::fit", "x", "lie in [0, 1] for the BCE loss",
                           "values in [" + detail::describe(double(x.minCoeff())) + ", " + detail::describe(double(x.maxCoeff())) + "]");
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>("AutoEncoder::fit", x, Matrix<T>(x.rows(), 0), fit, rng, [&](const Matrix<T>& xb, const Matrix<T>&, Index, Index) {
      tape.reset();
      const ad::Var<T> l = loss(tape, tape.constant(xb));
      tape.backward((T(1) / T(xb.rows())) * l);
      adam.step();
      return l.value()(0, 0);
    });
    return *this;
  }
template <Real T>
auto AutoEncoder<T>::loss(ad::Tape<T>& tape, const ad::Var<T>& x) -> ad::Var<T> {
    if (x.cols() != options_.input || x.rows() == 0)
      pml::detail::throw_shape("AutoEncoder::loss", "x is " + std::to_string(x.rows()) + "x" + std::to_string(x.cols()) + ", expected N x " +
                                                        std::to_string(options_.input));
    Rng unused(0);
    const ad::Var<T> out = decoder_.forward(tape, encoder_.forward(tape, x, unused, nn::Mode::train), unused, nn::Mode::train);
    if (options_.loss == ReconstructionLoss::bce) return ad::bce_with_logits(out, x);
    return ad::sum(ad::square(out - x));
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::AutoEncoder)
