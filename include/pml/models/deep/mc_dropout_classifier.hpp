#pragma once
/// @file
/// MC dropout image classification (Gal & Ghahramani 2016, §5.2 and figure 4): a LeNet-style
/// convolutional network whose dropout stays on at prediction, so that T stochastic passes sample the
/// approximate posterior predictive. Predictive entropy and the mutual information (BALD) of the passes
/// (metrics/uncertainty.hpp) measure the uncertainty; the softmax inputs of each pass are returned too
/// (the figure's left panel).

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <filesystem>
#include <string>
#include <optional>
#include <type_traits>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/scratch.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/special.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/conv.hpp"
#include "pml/nn/dropout.hpp"
#include "pml/nn/linear.hpp"
#include "pml/nn/optim.hpp"

namespace pml {

/// Options of MCDropoutClassifier: the image shape, the convolutional and dense layers, the dropout and
/// the weight decay. Defaults: Caffe's LeNet as in Gal & Ghahramani's figure 4 (two 5 x 5 convolutions of
/// 20 and 50 filters, each followed by ReLU and 2 x 2 max pooling, a dense layer of 500 ReLU units, dropout
/// 0.5 before the last dense layer) for 28 x 28 greyscale images and 10 classes.
struct MCDropoutClassifierOptions {
  Index channels = 1;  ///< C of the input images
  Index height = 28;   ///< H of the input images, pixels
  Index width = 28;    ///< W of the input images, pixels
  Index classes = 10;  ///< K
  std::vector<Index> filters{20, 50};  ///< output channels of each convolution (each: kernel x kernel, stride 1, no padding; ReLU; 2 x 2 max pooling)
  Index kernel = 5;  ///< the convolutions' kernel size
  std::vector<Index> hidden{500};  ///< dense hidden layers (ReLU) after the flattened convolutional features
  double dropout = 0.5;  ///< p of the dropout at the input of every dense layer but the first (kept on at prediction)
  double conv_dropout = 0;  ///< p of the dropout after every convolutional block (0: none; Gal's "LeNet-all" uses 0.5)
  double weight_decay = 5e-4;  ///< λ of the L2 term λ/2 |w|² on the weights (not the biases); its gradient λw is added in fit()
  /// How the weights are drawn (nn/init.hpp; default PyTorch's, as torch.nn.Conv2d and Linear). Used when
  /// the model is built; a file stores the weights, not this.
  nn::Init init = nn::Init::pytorch;
  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("channels", o.channels, io::as_size);
    v("height", o.height, io::as_size);
    v("width", o.width, io::as_size);
    v("classes", o.classes, io::as_size);
    v("filters", o.filters);
    v("kernel", o.kernel, io::as_size);
    v("hidden", o.hidden);
    v("dropout", o.dropout);
    v("conv_dropout", o.conv_dropout);
    v("weight_decay", o.weight_decay);
  }
};

/// `MCDropoutClassifier<float> net({}, rng); net.fit(images, labels, {.epochs = 5}, rng);`
/// `auto passes = net.sample_proba(test, 100, rng); auto bald = metrics::mutual_information(passes);`
/// Images are rows of x (N x C·H·W, PyTorch's c, h, w order: autodiff/ops/convolution.hpp), labels 0..K−1.
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at
/// once, each with its own Rng; fit() needs the model to itself (docs/architecture.md).
template <Real T = double> class MCDropoutClassifier {
 public:
  using Options = MCDropoutClassifierOptions;  ///< The options type (sizes and hyper-parameters: not templated).
  using Scalar = T;  ///< The scalar type (float or double).
  /// @throw std::invalid_argument for non-positive sizes or images too small for the layers;
  ///        std::domain_error for a dropout outside [0, 1) or a negative weight decay.
  MCDropoutClassifier(const Options& options, Rng& rng) : options_(checked(options)) {
    ad::ImageShape shape{options_.channels, options_.height, options_.width};
    for (std::size_t l = 0; l < options_.filters.size(); ++l) {
      convs_.emplace_back(shape.channels, options_.filters[l], ad::Window2d::square(options_.kernel), rng, options_.init, true, "conv" + std::to_string(l));
      shape = pool_shape(convs_.back().output_shape(shape));
    }
    features_ = shape.size();
    const std::vector<Index> sizes = detail::layer_sizes(features_, options_.hidden, options_.classes);
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) dense_.emplace_back(sizes[l], sizes[l + 1], rng, options_.init, "dense" + std::to_string(l));
  }

  /// The softmax inputs (N x K) of one pass on `tape`: dropout on when `dropout` (masks from `rng`).
  /// Binds the parameters (a training pass); the const overload uses them as constants.
  ad::Var<T> logits(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, bool dropout) { return forward(*this, tape, x, rng, dropout); }
  /// The same pass with the parameters as constants (reads the model only).
  ad::Var<T> logits(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, bool dropout) const { return forward(*this, tape, x, rng, dropout); }

  /// Trains by Adam on shuffled minibatches to minimise the mean softmax cross-entropy plus λ/2 |w|²
  /// (dropout on). Returns *this; the mean cross-entropy of each epoch is in loss_history().
  /// @throw std::invalid_argument for x of the wrong width, no rows, or labels not one per row;
  ///        std::domain_error for non-finite data, labels outside 0..K−1, bad fit options, or a loss that
  ///        stops being finite.
  template <class DX, class DY> MCDropoutClassifier& fit(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& labels, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "MCDropoutClassifier::fit";
    detail::check_rows(function, "x", x, input_size());
    detail::check_same_rows(function, x, labels);
    detail::check_fit_options(function, fit);
    const Matrix<T> onehot = detail::one_hot_labels<T>(function, labels, options_.classes);
    return fit_rows(detail::as_rows<T>(function, "x", x), onehot, fit, rng);
  }
  /// fit() with the images spread over processes (data-parallel training, issue 18 §3; core/collective.hpp,
  /// `pml::mpi::Communicator` on MPI): each rank passes its own images and labels (any number, 0 included;
  /// rank order is row order) and fit.batch_size is the images per rank, so each Adam step averages over
  /// ranks.size() · batch_size images of the whole data set. Every rank must call it with the same options
  /// and an `rng` in the same state (checked); rank 0's initial weights are copied to every rank, the
  /// gradients are summed over the ranks once per step, and each image's dropout masks are hashed from the
  /// step and the image's position (nn::RowNoise), so P ranks with batch B fit as fit(Collective::single(),
  /// all images, {batch P·B}) does, to the rounding of the sums (not as fit(x, labels, fit, rng)). Each rank
  /// adds the weight decay in proportion to its images of the minibatch.
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument for an rng in
  ///        different states, different networks or no images on any rank; std::runtime_error if the ranks' states drift apart.
  template <class DX, class DY>
  MCDropoutClassifier& fit(const Collective& ranks, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& labels, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "MCDropoutClassifier::fit";
    Matrix<T> converted, onehot(0, options_.classes);
    std::optional<Eigen::Ref<const Matrix<T>>> rows;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      detail::check_fit_options(function, fit);
      detail::check_same_rows(function, x, labels);
      if (x.rows() > 0 || ranks.size() == 1) {
        detail::check_rows(function, "x", x, input_size());
        onehot = detail::one_hot_labels<T>(function, labels, options_.classes);
      }
      detail::hold_rows<T>(rows, converted, function, "x", x);
    });
    return fit_rows(ranks, *rows, onehot, fit, rng);
  }
 private:
  // fit()'s training loop on rows of T: not a template, so a program built with extern templates compiles it once
  MCDropoutClassifier& fit_rows(Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng);
  MCDropoutClassifier& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng);

 public:
  /// The mean cross-entropy per image of each epoch of the last fit() (empty before it; not stored in files).
  const std::vector<T>& loss_history() const noexcept { return history_; }

  /// The softmax inputs of `samples` passes with dropout on: one N x K matrix per pass (pass t draws from
  /// its own stream split from `rng` in pass order, so the result does not depend on the thread count).
  /// @throw std::invalid_argument for x of the wrong width or no rows; std::domain_error for samples < 1
  ///        or non-finite x.
  template <class Derived> std::vector<Matrix<T>> sample_logits(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    check_predict("MCDropoutClassifier::sample_logits", x, samples);
    const Matrix<T> xt = x.template cast<T>();
    return detail::parallel_passes<Matrix<T>>(samples, rng, [&](Rng& stream) { return evaluate(xt, stream, true); });
  }
  /// The class probabilities of `samples` passes with dropout on (softmax of sample_logits()): the input of
  /// metrics::predictive_entropy, metrics::mutual_information (BALD) and metrics::mean_probabilities.
  template <class Derived> std::vector<Matrix<T>> sample_proba(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    std::vector<Matrix<T>> out = sample_logits(x, samples, rng);
    for (auto& m : out) m = softmax_rows(m);
    return out;
  }
  /// The MC dropout predictive probabilities: the mean of sample_proba() (N x K).
  template <class Derived> Matrix<T> predict_proba(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    const auto s = sample_proba(x, samples, rng);
    Matrix<T> mean = Matrix<T>::Zero(s[0].rows(), s[0].cols());
    for (const auto& p : s) mean += p;
    return mean / T(samples);
  }
  /// Standard dropout's prediction: one pass with dropout off (the weights scaled as trained: inverted dropout).
  template <class Derived> Matrix<T> predict_proba(const Eigen::MatrixBase<Derived>& x) const {
    check_predict("MCDropoutClassifier::predict_proba", x, 1);
    Rng unused(0);
    return softmax_rows(evaluate(x.template cast<T>(), unused, false));
  }
  /// The most probable class of each row under predict_proba(x, samples, rng).
  template <class Derived> IntVector predict(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    return detail::argmax_rows(predict_proba(x, samples, rng));
  }
  /// The most probable class of each row under the deterministic pass.
  template <class Derived> IntVector predict(const Eigen::MatrixBase<Derived>& x) const { return detail::argmax_rows(predict_proba(x)); }

  /// The input of the last dense layer in the deterministic pass (dropout off): N x hidden_size(), the last
  /// hidden layer's ReLU outputs (the flattened convolutional features without a hidden layer). The
  /// features a Fréchet distance between real and generated images compares (metrics::frechet_distance).
  /// @throw std::invalid_argument for x of the wrong width or no rows; std::domain_error for non-finite x.
  template <class Derived> Matrix<T> hidden_features(const Eigen::MatrixBase<Derived>& x) const {
    check_predict("MCDropoutClassifier::hidden_features", x, 1);
    Rng unused(0);
    return evaluate(x.template cast<T>(), unused, false, true);
  }
  /// Width of hidden_features(): the last hidden layer's, or feature_size() without one.
  Index hidden_size() const noexcept { return options_.hidden.empty() ? features_ : options_.hidden.back(); }

  Index input_size() const noexcept { return options_.channels * options_.height * options_.width; }  ///< C·H·W
  Index feature_size() const noexcept { return features_; }  ///< width of the flattened convolutional features
  /// Pointers to every trainable parameter in file order (each convolution's weight and bias, then each dense layer's).
  nn::ParameterList<T> parameters() { return detail::layer_parameters<nn::ParameterList<T>>(convs_, dense_); }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const { return detail::layer_parameters<nn::ConstParameterList<T>>(convs_, dense_); }
  /// Writes the parameters and the options to `path` (model type "MCDropoutClassifier"), atomically.
  /// @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const { detail::save_model(*this, path, format); }
  /// A model saved by save() (bit-identical outputs). @throw std::runtime_error naming the path for a
  /// missing, truncated, corrupt or wrong-type file.
  static MCDropoutClassifier load(const std::filesystem::path& path) {
    return detail::load_model<MCDropoutClassifier>(path, "MCDropoutClassifier::load");
  }
  static constexpr const char* model_name = "MCDropoutClassifier";  ///< The model type in its files' headers.
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with (after load(), `init` at its default).

 private:
  static ad::ImageShape pool_shape(const ad::ImageShape& s) { return {s.channels, s.height / 2, s.width / 2}; }
  static Options checked(const Options& o) {
    constexpr const char* function = "MCDropoutClassifier";
    detail::check_image_blocks(function, o.channels, o.height, o.width, o.classes, o.kernel, o.filters, o.hidden);
    if (!(o.dropout >= 0 && o.dropout < 1)) detail::throw_domain(function, "dropout", "lie in [0, 1)", detail::describe(o.dropout));
    if (!(o.conv_dropout >= 0 && o.conv_dropout < 1)) detail::throw_domain(function, "conv_dropout", "lie in [0, 1)", detail::describe(o.conv_dropout));
    if (!(o.weight_decay >= 0 && std::isfinite(o.weight_decay)))
      detail::throw_domain(function, "weight_decay", "be finite and >= 0", detail::describe(o.weight_decay));
    return o;
  }
  template <class Derived> void check_predict(const char* function, const Eigen::MatrixBase<Derived>& x, int samples) const {
    detail::check_rows(function, "x", x, input_size());
    if (samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(samples));
  }
  // the logits, or with `penultimate` the last dense layer's input
  // Noise: an Rng (masks drawn in sequence) or an nn::RowNoise (each image's masks from its position; dropout
  // layer l: the l-th convolutional block's, then the dense layers')
  template <class Self, class Noise>
  static ad::Var<T> forward(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, Noise& noise, bool dropout, bool penultimate = false) {
    const Options& o = self.options_;
    nn::Images<T> h{x, ad::ImageShape{o.channels, o.height, o.width}};
    const nn::MaxPool2d<T> pool(ad::Window2d::square(2, 2));
    std::size_t layer = 0;
    for (auto& conv : self.convs_) {
      h = conv.forward(tape, h);
      h.var = ad::relu(h.var);
      h = pool.forward(tape, h);
      if (dropout && o.conv_dropout > 0) h.var = nn::Dropout<T>(static_cast<T>(o.conv_dropout)).forward(tape, h.var, nn::layer_noise(noise, layer), true);
      ++layer;
    }
    ad::Var<T> a = h.var;
    for (std::size_t l = 0; l < self.dense_.size(); ++l, ++layer) {
      if (penultimate && l + 1 == self.dense_.size()) break;
      if (l > 0 && dropout && o.dropout > 0) a = nn::Dropout<T>(static_cast<T>(o.dropout)).forward(tape, a, nn::layer_noise(noise, layer), true);
      a = self.dense_[l].forward(tape, a, l + 1 < self.dense_.size() ? ad::Activation::relu : ad::Activation::identity);
    }
    return a;
  }
  // one pass over x in chunks of 16 rows on this thread's scratch tape: the im2col matrices of a whole test
  // set would not fit, and a chunk's arenas stay under ScratchTape's kept size (so passes do not fault
  // fresh pages in); the chunks draw their masks from `rng` in order
  Matrix<T> evaluate(const Matrix<T>& x, Rng& rng, bool dropout, bool penultimate = false) const;

  Options options_;
  std::vector<nn::Conv2d<T>> convs_;
  std::vector<nn::Linear<T>> dense_;
  Index features_ = 0;
  std::vector<T> history_;
};
template <Real T>
auto MCDropoutClassifier<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng) -> MCDropoutClassifier& {
    constexpr const char* function = "MCDropoutClassifier::fit";
    auto params = parameters();
    nn::Adam<T> adam(params, {.learning_rate = fit.learning_rate});
    const T decay = static_cast<T>(options_.weight_decay);
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(function, x, onehot, fit, rng, [&](const Matrix<T>& xb, const Matrix<T>& yb, Index, Index) {
      tape.reset();
      const ad::Var<T> out = logits(tape, tape.constant(xb), rng, true);
      const ad::Var<T> loss = (T(1) / T(xb.rows())) * ad::softmax_cross_entropy(out, tape.constant(yb));
      tape.backward(loss);
      if (decay > T(0))
        for (std::size_t i = 0; i < params.size(); i += 2) params[i]->grad += decay * params[i]->value;  // weights only
      adam.step();
      return loss.value()(0, 0) * T(xb.rows());
    });
    return *this;
  }

template <Real T>
auto MCDropoutClassifier<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng)
    -> MCDropoutClassifier& PML_RANKS_TRY {
    constexpr const char* function = "MCDropoutClassifier::fit";
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    const nn::ParameterList<T>& params = adam.parameters();
    const T decay = static_cast<T>(options_.weight_decay);
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(ranks, function, x, onehot, fit, rng, adam, detail::options_text(*this), [&](const Matrix<T>& xb, const Matrix<T>& yb, const detail::ShardStep& s) {
      tape.reset();
      const nn::RowNoise noise{s.key, s.positions};
      const ad::Var<T> out = forward(*this, tape, tape.constant(xb), noise, true);
      const ad::Var<T> loss = ad::softmax_cross_entropy(out, tape.constant(yb));  // summed over this rank's images
      tape.backward((T(1) / T(s.minibatch_rows)) * loss);
      const T share = T(xb.rows()) / T(s.minibatch_rows);  // of the weight decay: the ranks' shares add up to one
      if (decay > T(0))
        for (std::size_t i = 0; i < params.size(); i += 2) params[i]->grad += (share * decay) * params[i]->value;  // weights only
      return loss.value()(0, 0);
    });
    return *this;
  } PML_RANKS_CATCH(ranks, "MCDropoutClassifier::fit")


// MCDropoutClassifier's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto MCDropoutClassifier<T>::evaluate(const Matrix<T>& x, Rng& rng, bool dropout, bool penultimate) const -> Matrix<T> {
    Matrix<T> out(x.rows(), penultimate ? hidden_size() : options_.classes);
    ad::ScratchTape<T> scratch;
    ad::Tape<T>& tape = *scratch;
    for (Index r0 = 0; r0 < x.rows(); r0 += 16) {
      const Index rows = std::min<Index>(16, x.rows() - r0);
      tape.reset();
      out.middleRows(r0, rows) = forward(*this, tape, tape.constant(x.middleRows(r0, rows)), rng, dropout, penultimate).value();
    }
    return out;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::MCDropoutClassifier)
