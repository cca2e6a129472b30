#pragma once
/// @file
/// BayesianSegNet: per-pixel classification with uncertainty (Kendall, Badrinarayanan & Cipolla 2017,
/// "Bayesian SegNet", a small version): a SegNet encoder–decoder (Badrinarayanan et al. 2017) whose
/// decoder upsamples by max-unpooling with the encoder's pooling indices, with dropout kept on at
/// prediction (MC dropout) in the central layers, as the paper's "central" variant.
///
/// For L = features.size() levels and images of C x H x W (H and W multiples of 2^L), K classes:
///   encoder level l: 3x3 conv (padding 1) to features[l] → BatchNorm → ReLU → 2x2 max pooling (indices kept)
///   dropout on the deepest level's pooled output
///   decoder level l (from L−1 to 0): max-unpooling with level l's indices → 3x3 conv to features[l−1]
///     (features[0] at level 0) → BatchNorm → ReLU; dropout after the first decoder level
///   a 3x3 conv to K channels: the per-pixel logits, N x (K·H·W) (channel k's map in columns [k·H·W, (k+1)·H·W))
/// Trained by Adam on the per-pixel softmax cross-entropy with weight decay; the predictive distribution of a
/// pixel is the mean softmax over T passes, its uncertainty the entropy of that mean (and the mutual
/// information, its epistemic part).

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/scratch.hpp"
#include "pml/core/parallel.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/conv.hpp"
#include "pml/nn/dropout.hpp"
#include "pml/nn/optim.hpp"

namespace pml {

/// Options of BayesianSegNet.
struct BayesianSegNetOptions {
  Index channels = 1;  ///< C of the input images
  Index height = 32;   ///< H, pixels (a multiple of 2^levels)
  Index width = 32;    ///< W, pixels (a multiple of 2^levels)
  Index classes = 2;   ///< K, the pixel classes
  std::vector<Index> features{16, 32};  ///< channels of each encoder level (the decoder mirrors them)
  double dropout = 0.5;  ///< p of the central dropout layers (kept on at prediction)
  double weight_decay = 5e-4;  ///< λ of λ/2 |w|² on the convolution weights (not biases, not batch norms)
  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("channels", o.channels, io::as_size);
    v("height", o.height, io::as_size);
    v("width", o.width, io::as_size);
    v("classes", o.classes, io::as_size);
    v("features", o.features);
    v("dropout", o.dropout);
    v("weight_decay", o.weight_decay);
  }
};

/// Per-pixel predictions of BayesianSegNet from T stochastic passes; each matrix has one image per row.
template <Real T> struct PixelPrediction {
  Matrix<T> proba;               ///< N x (K·H·W): the mean softmax of each pixel (class k's map in columns [k·H·W, (k+1)·H·W))
  IntMatrix labels;              ///< N x (H·W): the most probable class of each pixel
  Matrix<T> entropy;             ///< N x (H·W): the predictive entropy of each pixel, nats
  Matrix<T> mutual_information;  ///< N x (H·W): the entropy minus the mean entropy of the passes (epistemic part), nats
};

/// `BayesianSegNet<float> net({.height = 32, .width = 32, .classes = 3}, rng); net.fit(images, masks, {.epochs = 20}, rng);`
/// `auto p = net.predict(test, 20, rng);  // p.labels, p.entropy per pixel`
/// Images are rows of x (N x C·H·W, c, h, w order), masks rows of class indices (N x H·W, h, w order).
/// Thread safety as the other deep models: const queries from many threads at once, each with its own Rng.
template <Real T = double> class BayesianSegNet {
 public:
  using Options = BayesianSegNetOptions;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double).
  /// @throw std::invalid_argument for non-positive sizes, fewer than 2 classes, no levels, or a height or
  ///        width not a multiple of 2^levels; std::domain_error for a dropout outside [0, 1) or a negative weight decay.
  BayesianSegNet(const Options& options, Rng& rng) : options_(checked(options)) {
    const auto& f = options_.features;
    const auto w3 = ad::Window2d::square(3, 1, 1);
    for (std::size_t l = 0; l < f.size(); ++l) {
      enc_conv_.emplace_back(l == 0 ? options_.channels : f[l - 1], f[l], w3, rng, nn::Init::pytorch, true, "encoder" + std::to_string(l) + ".conv");
      enc_bn_.emplace_back(f[l], 1e-5, 0.1, "encoder" + std::to_string(l) + ".bn");
    }
    for (std::size_t l = 0; l < f.size(); ++l) {  // decoder level l maps f[l] to f[l-1] (f[0] at level 0)
      dec_conv_.emplace_back(f[l], l == 0 ? f[0] : f[l - 1], w3, rng, nn::Init::pytorch, true, "decoder" + std::to_string(l) + ".conv");
      dec_bn_.emplace_back(l == 0 ? f[0] : f[l - 1], 1e-5, 0.1, "decoder" + std::to_string(l) + ".bn");
    }
    classifier_.emplace_back(f[0], options_.classes, w3, rng, nn::Init::pytorch, true, "classifier");
  }

  /// The per-pixel logits (N x K·H·W) of one pass on `tape`, dropout on when `dropout`; a mutable model
  /// binds its parameters and batch-normalises with the batch (training), a const one uses constants and
  /// the running statistics.
  ad::Var<T> logits(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, bool dropout) { return forward(*this, tape, x, rng, dropout); }
  /// The same pass reading the model only.
  ad::Var<T> logits(ad::Tape<T>& tape, const ad::Var<T>& x, Rng& rng, bool dropout) const { return forward(*this, tape, x, rng, dropout); }

  /// Trains by Adam on shuffled minibatches to minimise the per-pixel softmax cross-entropy (summed over a
  /// image's pixels, averaged over the images) plus λ/2 |w|², dropout on. Returns *this; the mean
  /// cross-entropy per image of each epoch is in loss_history(). An image left over from the last full
  /// minibatch joins it (batch normalisation cannot take a batch of one).
  /// @throw std::invalid_argument for x or masks of the wrong shape or x with one row; std::domain_error for non-finite x,
  ///        mask entries that are not class indices, bad fit options, batch_size < 2, or a loss that stops being finite.
  template <class DX, class DY> BayesianSegNet& fit(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& masks, const FitOptions& fit, Rng& rng) {
    decltype(auto) rows = detail::as_rows<T>("BayesianSegNet::fit", "x", x);  // x's errors before the masks' (an argument order is unspecified)
    return fit_rows(rows, detail::as_rows<T>("BayesianSegNet::fit", "masks", masks), fit, rng);
  }
  /// fit() with the images spread over processes (data-parallel training, issue 18 §3; core/collective.hpp,
  /// `pml::mpi::Communicator` on MPI): each rank passes its own images and masks (any number, 0 included;
  /// rank order is row order) and fit.batch_size is the images per rank, so each Adam step uses
  /// ranks.size() · batch_size images of the whole data set. Batch normalisation is synchronised (each
  /// channel normalised by the statistics of the minibatch's images on all ranks: nn::BatchNorm::forward(tape,
  /// x, ranks), PyTorch's SyncBatchNorm), so every rank runs every step, also one holding none of its images;
  /// each image's dropout masks are hashed from the step and the image's position (nn::RowNoise). Every rank
  /// must call it with the same options and an `rng` in the same state (checked); rank 0's initial weights are
  /// copied to every rank and the gradients summed over the ranks once per step, so P ranks with batch B fit as
  /// fit(Collective::single(), all images, {batch P·B}) does, to the rounding of the sums (not as fit(x, masks,
  /// fit, rng)). The running statistics are the same on every rank. Each rank adds the weight decay in
  /// proportion to its images of the minibatch.
  /// @throw as fit(), on every rank (the message names the failing rank), with ranks.size() · batch_size < 2 in
  ///        place of batch_size < 2; std::invalid_argument for an rng in different states, different networks or
  ///        no images on any rank; std::runtime_error if the ranks' states drift apart.
  template <class DX, class DY>
  BayesianSegNet& fit(const Collective& ranks, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& masks, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "BayesianSegNet::fit";
    Matrix<T> x_store, mask_store;
    std::optional<Eigen::Ref<const Matrix<T>>> rows, mask_rows;  // made inside agree(): a copy that fails on one rank stops every rank
    detail::agree(ranks, [&] {
      detail::check_fit_options(function, fit);
      if (static_cast<Index>(ranks.size()) * fit.batch_size < 2)
        detail::throw_domain(function, "batch_size", "give at least 2 images a step on all ranks together (batch normalisation)", std::to_string(fit.batch_size));
      detail::check_same_rows(function, x, masks);
      detail::hold_shard_rows<T>(rows, x_store, function, "x", x, input_size());
      detail::hold_shard_rows<T>(mask_rows, mask_store, function, "masks", masks, pixels());
      if (x.rows() > 0 || ranks.size() == 1) check_training_rows(function, *rows, *mask_rows);
    });
    return fit_rows(ranks, *rows, *mask_rows, fit, rng);
  }
 private:
  // fit() on rows of T: not a template, so a program built with extern templates compiles it once
  BayesianSegNet& fit_rows(Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> masks, const FitOptions& fit, Rng& rng);
  BayesianSegNet& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> masks, const FitOptions& fit, Rng& rng);
  // the images' and the masks' shapes, finite values and class indices
  void check_training_rows(const char* function, Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> masks) const {
    detail::check_rows(function, "x", x, input_size());
    detail::check_rows(function, "masks", masks, pixels());
    detail::check_same_rows(function, x, masks);
    for (Index i = 0; i < masks.rows(); ++i)
      for (Index j = 0; j < masks.cols(); ++j) {
        const double v = double(masks(i, j));
        if (!(v >= 0 && v < double(options_.classes) && v == std::floor(v)))
          detail::throw_domain(function, "masks", "hold class indices 0.." + std::to_string(options_.classes - 1),
                               detail::describe(v) + " at row " + std::to_string(i + 1) + ", pixel " + std::to_string(j + 1));
      }
  }

 public:
  /// The mean cross-entropy per image of each epoch of the last fit() (empty before it; not stored in files).
  const std::vector<T>& loss_history() const noexcept { return history_; }

  /// The per-pixel softmax of `samples` passes with dropout on (each N x K·H·W; pass t draws from its own
  /// stream split from `rng` in pass order, so the result does not depend on the thread count).
  /// @throw std::invalid_argument for x of the wrong width or no rows; std::domain_error for samples < 1 or non-finite x.
  template <class Derived> std::vector<Matrix<T>> sample_proba(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    check_predict("BayesianSegNet::sample_proba", x, samples);
    const Matrix<T> xt = x.template cast<T>();
    return detail::parallel_passes<Matrix<T>>(samples, rng, [&](Rng& stream) { return pass(xt, stream, true); });
  }
  /// Labels, mean probabilities, entropy and mutual information per pixel from `samples` passes.
  /// @throw as sample_proba().
  template <class Derived> PixelPrediction<T> predict(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    const std::vector<Matrix<T>> passes = sample_proba(x, samples, rng);
    const Index n = x.rows(), k = options_.classes, p = pixels();
    PixelPrediction<T> out{Matrix<T>::Zero(n, k * p), IntMatrix(n, p), Matrix<T>::Zero(n, p), Matrix<T>::Zero(n, p)};
    Matrix<T> mean_entropy = Matrix<T>::Zero(n, p);
    for (const auto& q : passes) {
      out.proba += q;
      for (Index c = 0; c < k; ++c) mean_entropy -= q.middleCols(c * p, p).unaryExpr([](T v) { return v > T(0) ? v * std::log(v) : T(0); });
    }
    out.proba /= T(samples);
    mean_entropy /= T(samples);
    for (Index c = 0; c < k; ++c) out.entropy -= out.proba.middleCols(c * p, p).unaryExpr([](T v) { return v > T(0) ? v * std::log(v) : T(0); });
    out.mutual_information = (out.entropy - mean_entropy).cwiseMax(T(0));
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < p; ++j) {
        Index best = 0;
        for (Index c = 1; c < k; ++c)
          if (out.proba(i, c * p + j) > out.proba(i, best * p + j)) best = c;
        out.labels(i, j) = best;
      }
    return out;
  }
  /// The per-pixel softmax of one pass without dropout (standard dropout's weight scaling; N x K·H·W).
  template <class Derived> Matrix<T> predict_proba(const Eigen::MatrixBase<Derived>& x) const {
    check_predict("BayesianSegNet::predict_proba", x, 1);
    Rng unused(0);
    return pass(x.template cast<T>(), unused, false);
  }

  Index input_size() const noexcept { return options_.channels * options_.height * options_.width; }  ///< C·H·W
  Index pixels() const noexcept { return options_.height * options_.width; }  ///< H·W
  /// Every trainable parameter in file order (encoder levels, decoder levels, classifier; each conv then its batch norm).
  nn::ParameterList<T> parameters() { return list<nn::ParameterList<T>>(*this, false); }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const { return list<nn::ConstParameterList<T>>(*this, false); }
  /// What a model file stores: parameters() and then the batch norms' running statistics.
  nn::ParameterList<T> stored_parameters() { return list<nn::ParameterList<T>>(*this, true); }
  /// Read-only stored_parameters(), same order.
  nn::ConstParameterList<T> stored_parameters() const { return list<nn::ConstParameterList<T>>(*this, true); }
  /// Writes the model to `path` (model type "BayesianSegNet"), atomically. @throw std::runtime_error if it cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const { detail::save_model(*this, path, format); }
  /// A model saved by save() (bit-identical outputs). @throw std::runtime_error naming the path for a
  /// missing, truncated, corrupt or wrong-type file.
  static BayesianSegNet load(const std::filesystem::path& path) { return detail::load_model<BayesianSegNet>(path, "BayesianSegNet::load"); }
  static constexpr const char* model_name = "BayesianSegNet";  ///< The model type in its files' headers.
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  static Options checked(const Options& o) {
    constexpr const char* function = "BayesianSegNet";
    if (o.channels <= 0 || o.height <= 0 || o.width <= 0 || o.classes < 2 || o.features.empty())
      pml::detail::throw_shape(function, "channels, height and width must be positive, classes at least 2 and features not empty, got " +
                                             std::to_string(o.channels) + ", " + std::to_string(o.height) + ", " + std::to_string(o.width) + ", " +
                                             std::to_string(o.classes) + " and " + std::to_string(o.features.size()) + " levels");
    detail::check_hidden(function, o.features);
    const Index scale = Index(1) << std::min<std::size_t>(o.features.size(), 30);
    if (o.features.size() > 30 || o.height % scale != 0 || o.width % scale != 0)
      pml::detail::throw_shape(function, "height and width must be multiples of 2^" + std::to_string(o.features.size()) + " (one 2x2 pooling per level), got " +
                                             std::to_string(o.height) + "x" + std::to_string(o.width));
    if (!(o.dropout >= 0 && o.dropout < 1)) detail::throw_domain(function, "dropout", "lie in [0, 1)", detail::describe(o.dropout));
    if (!(o.weight_decay >= 0 && std::isfinite(o.weight_decay)))
      detail::throw_domain(function, "weight_decay", "be non-negative and finite", detail::describe(o.weight_decay));
    return o;
  }
  template <class Derived> void check_predict(const char* function, const Eigen::MatrixBase<Derived>& x, int samples) const {
    detail::check_rows(function, "x", x, input_size());
    if (samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(samples));
  }
  // the logits N x (K·P) as (P·N) x K rows (pixel p of image n in row p·N + n): the same memory, so a reshape
  ad::Var<T> pixel_rows(const ad::Var<T>& logits) const { return ad::reshape(logits, logits.rows() * pixels(), options_.classes); }
  // the one-hot targets of masks (N x P) in pixel_rows()'s order, (P·N) x K
  void one_hot_pixels(const Matrix<T>& masks, Matrix<T>& out) const {
    const Index n = masks.rows(), p = masks.cols();
    out.setZero(n * p, options_.classes);
    for (Index j = 0; j < p; ++j)
      for (Index i = 0; i < n; ++i) out(j * n + i, static_cast<Index>(masks(i, j))) = T(1);
  }
  template <class Self, class Layer> static nn::Images<T> norm(Layer& bn, ad::Tape<T>& tape, const nn::Images<T>& x, const Collective* ranks) {
    if constexpr (std::is_const_v<Self>)
      return bn.forward(tape, x);
    else
      return ranks ? bn.forward(tape, x, *ranks) : bn.forward(tape, x, nn::Mode::train);
  }
  // Noise: an Rng (masks in sequence) or nn::RowNoise (each image's masks from its position, dropout layer l's
  // from noise.layer(l)); `ranks`: batch normalisation synchronised over them (training on ranks)
  template <class Self, class Noise>
  static ad::Var<T> forward(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, Noise& rng, bool dropout, const Collective* ranks = nullptr) {
    const Options& o = self.options_;
    const std::size_t levels = o.features.size();
    const nn::MaxPool2d<T> pool(ad::Window2d::square(2, 2));
    const nn::Dropout<T> drop(T(o.dropout));
    nn::Images<T> h{x, ad::ImageShape{o.channels, o.height, o.width}};
    std::vector<ad::Var<T>> indices(levels);
    std::vector<ad::ImageShape> before(levels);
    for (std::size_t l = 0; l < levels; ++l) {
      h = norm<Self>(self.enc_bn_[l], tape, self.enc_conv_[l].forward(tape, h), ranks);
      h.var = ad::relu(h.var);
      before[l] = h.shape;
      auto [pooled, idx] = pool.forward_with_indices(h);
      h = pooled;
      indices[l] = idx;
    }
    h.var = drop.forward(tape, h.var, nn::layer_noise(rng, 0), dropout);
    for (std::size_t k = levels; k-- > 0;) {
      h = {ad::max_unpool2d(h.var, indices[k], before[k]), before[k]};
      h = norm<Self>(self.dec_bn_[k], tape, self.dec_conv_[k].forward(tape, h), ranks);
      h.var = ad::relu(h.var);
      if (k + 1 == levels) h.var = drop.forward(tape, h.var, nn::layer_noise(rng, 1), dropout);
    }
    return self.classifier_[0].forward(tape, h).var;
  }
  // the per-pixel softmax of one pass over x in chunks of 16 images on this thread's scratch tape
  Matrix<T> pass(const Matrix<T>& x, Rng& rng, bool dropout) const;
  std::vector<nn::Conv2d<T>*> conv_layers() {
    std::vector<nn::Conv2d<T>*> out;
    for (auto& c : enc_conv_) out.push_back(&c);
    for (auto& c : dec_conv_) out.push_back(&c);
    out.push_back(&classifier_[0]);
    return out;
  }
  template <class List, class Self> static List list(Self& self, bool buffers) {
    List out;
    auto add = [&](auto& layer) {
      for (auto* q : layer.parameters()) out.push_back(q);
    };
    for (std::size_t l = 0; l < self.enc_conv_.size(); ++l) {
      add(self.enc_conv_[l]);
      add(self.enc_bn_[l]);
    }
    for (std::size_t l = 0; l < self.dec_conv_.size(); ++l) {
      add(self.dec_conv_[l]);
      add(self.dec_bn_[l]);
    }
    add(self.classifier_[0]);
    if (buffers) {
      for (auto& bn : self.enc_bn_)
        for (auto* q : bn.buffers()) out.push_back(q);
      for (auto& bn : self.dec_bn_)
        for (auto* q : bn.buffers()) out.push_back(q);
    }
    return out;
  }

  Options options_;
  std::vector<nn::Conv2d<T>> enc_conv_, dec_conv_, classifier_;
  std::vector<nn::BatchNorm<T>> enc_bn_, dec_bn_;
  std::vector<T> history_;
};
template <Real T>
auto BayesianSegNet<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> masks, const FitOptions& fit, Rng& rng) -> BayesianSegNet& {
    constexpr const char* function = "BayesianSegNet::fit";
    detail::check_rows(function, "x", x, input_size());
    detail::check_rows(function, "masks", masks, pixels());
    detail::check_same_rows(function, x, masks);
    detail::check_fit_options(function, fit);
    if (fit.batch_size < 2) detail::throw_domain(function, "batch_size", "be at least 2 (batch normalisation)", std::to_string(fit.batch_size));
    if (x.rows() < 2) pml::detail::throw_shape(function, "x has 1 row; batch normalisation needs at least 2 images");
    check_training_rows(function, x, masks);
    auto params = parameters();
    nn::Adam<T> adam(params, {.learning_rate = fit.learning_rate});
    const T decay = T(options_.weight_decay);
    ad::Tape<T> tape;
    Matrix<T> targets;
    history_ = detail::run_epochs<T>(function, x, masks, fit, rng, [&](const Matrix<T>& xb, const Matrix<T>& mb, Index, Index) {
      const Index n = xb.rows();  // at least 2: a last image left over joins the batch before it
      one_hot_pixels(mb, targets);
      tape.reset();
      const ad::Var<T> out = logits(tape, tape.constant(xb), rng, true);
      const ad::Var<T> loss = (T(1) / T(n)) * ad::softmax_cross_entropy(pixel_rows(out), tape.constant(targets));
      tape.backward(loss);
      if (decay > T(0))
        for (auto* conv : conv_layers()) conv->weight().grad += decay * conv->weight().value;
      adam.step();
      return loss.value()(0, 0) * T(n);
    }, 2);
    return *this;
  }


template <Real T>
auto BayesianSegNet<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, Eigen::Ref<const Matrix<T>> masks, const FitOptions& fit, Rng& rng)
    -> BayesianSegNet& PML_RANKS_TRY {
    constexpr const char* function = "BayesianSegNet::fit";
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    const T decay = T(options_.weight_decay);
    ad::Tape<T> tape;
    Matrix<T> targets;
    const Collective* synchronised = ranks.size() > 1 ? &ranks : nullptr;  // one rank: the plain batch normalisation
    history_ = detail::run_epochs<T>(ranks, function, x, masks, fit, rng, adam, detail::options_text(*this), [&](const Matrix<T>& xb, const Matrix<T>& mb, const detail::ShardStep& s) {
      one_hot_pixels(mb, targets);
      tape.reset();
      const nn::RowNoise noise{s.key, s.positions};
      const ad::Var<T> out = forward(*this, tape, tape.constant(xb), noise, true, synchronised);
      const ad::Var<T> loss = ad::softmax_cross_entropy(pixel_rows(out), tape.constant(targets));  // summed over this rank's images
      tape.backward((T(1) / T(s.minibatch_rows)) * loss);
      const T share = T(xb.rows()) / T(s.minibatch_rows);  // of the weight decay: the ranks' shares add up to one
      if (decay > T(0))
        for (auto* conv : conv_layers()) conv->weight().grad += (share * decay) * conv->weight().value;
      return loss.value()(0, 0);
    }, detail::StepRanks::all, 2);  // an image left over joins the last minibatch: batch normalisation cannot take one
    // the running statistics follow the synchronised batches: the same on every rank (checked with the parameters)
    if (ranks.size() > 1) {
      std::uint64_t h = detail::fnv1a(nullptr, 0);
      for (const auto* q : stored_parameters()) h = detail::fnv1a(q->value.data(), static_cast<std::size_t>(q->value.size()) * sizeof(T), h);
      if (!detail::same_on_every_rank(ranks, h))
        throw OnEveryRank<std::runtime_error>(std::string(function) + ": the ranks' running statistics differ after training (every rank must run the same build)");
    }
    return *this;
  } PML_RANKS_CATCH(ranks, "BayesianSegNet::fit")

// BayesianSegNet's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto BayesianSegNet<T>::pass(const Matrix<T>& x, Rng& rng, bool dropout) const -> Matrix<T> {
    const Index p = pixels(), k = options_.classes;
    Matrix<T> out(x.rows(), k * p);
    ad::ScratchTape<T> scratch;
    ad::Tape<T>& tape = *scratch;
    for (Index r0 = 0; r0 < x.rows(); r0 += 16) {
      const Index rows = std::min<Index>(16, x.rows() - r0);
      tape.reset();
      const Matrix<T> z = logits(tape, tape.constant(x.middleRows(r0, rows)), rng, dropout).value();
      // softmax over the classes of each pixel, stable
      for (Index j = 0; j < p; ++j)
        for (Index i = 0; i < rows; ++i) {
          T top = z(i, j);
          for (Index c = 1; c < k; ++c) top = std::max(top, z(i, c * p + j));
          T sum = 0;
          for (Index c = 0; c < k; ++c) sum += std::exp(z(i, c * p + j) - top);
          for (Index c = 0; c < k; ++c) out(r0 + i, c * p + j) = std::exp(z(i, c * p + j) - top) / sum;
        }
    }
    return out;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::BayesianSegNet)
