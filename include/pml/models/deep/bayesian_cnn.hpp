#pragma once
/// @file
/// BayesianCNN: Bayes by Backprop with convolutional layers (Shridhar et al. 2019; Blundell et al. 2015):
/// a LeNet-style network whose every filter, weight and bias has a factorised Gaussian posterior, trained
/// by minimising the minibatch free energy KL·(weight) − log p(y|x, w), predicting from posterior draws.

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "pml/autodiff/ops.hpp"
#include "pml/autodiff/scratch.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/special.hpp"
#include "pml/models/deep/bayes_by_backprop.hpp"
#include "pml/models/deep/data_parallel.hpp"
#include "pml/models/deep/training.hpp"
#include "pml/nn/bayesian_conv.hpp"
#include "pml/nn/optim.hpp"

namespace pml {

/// Options of BayesianCNN: the image shape, the layers (LeNet-5's by default: 5 x 5 convolutions of 6 and
/// 16 filters, each with ReLU and 2 x 2 max pooling, dense 120 and 84), the prior and the sampling.
struct BayesianCNNOptions {
  Index channels = 1;  ///< C of the input images
  Index height = 28;   ///< H, pixels
  Index width = 28;    ///< W, pixels
  Index classes = 10;  ///< K
  std::vector<Index> filters{6, 16};  ///< output channels of each convolution block (kernel x kernel, stride 1, no padding; ReLU; 2 x 2 max pooling)
  Index kernel = 5;  ///< the convolutions' kernel size
  std::vector<Index> hidden{120, 84};  ///< dense hidden layers (ReLU)
  nn::BayesPrior prior = nn::BayesPrior::gaussian(0.1);  ///< over every weight and bias (default N(0, 0.1²): closed-form KL)
  double rho_init = -5.0;  ///< initial ρ of every weight (σ = softplus(ρ))
  KLWeighting kl_weighting = KLWeighting::uniform;  ///< how the KL is shared over an epoch's minibatches
  nn::WeightSampling sampling = nn::WeightSampling::local;  ///< in training: local reparameterisation (Shridhar et al.), flipout or one draw per pass
  int samples = 1;  ///< posterior samples per minibatch in the training objective
  /// How the posterior means are drawn (nn/init.hpp; default PyTorch's). Used when the model is built.
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
    v("prior", o.prior.kind);
    v("prior_pi", o.prior.pi);
    v("prior_sigma1", o.prior.sigma1);
    v("prior_sigma2", o.prior.sigma2);
    v("rho_init", o.rho_init);
    v("kl_weighting", o.kl_weighting);
    v("sampling", o.sampling);
    v("samples", o.samples);
  }
};

/// `BayesianCNN<float> net({}, rng); net.fit(images, labels, {.epochs = 10}, rng);`
/// `auto passes = net.sample_proba(test, 20, rng);` (metrics::predictive_entropy, metrics::mutual_information)
/// Images are rows of x (N x C·H·W, PyTorch's c, h, w order). Thread safety as the other deep models: const
/// queries from many threads at once, each with its own Rng; fit() needs the model to itself.
template <Real T = double> class BayesianCNN {
 public:
  using Options = BayesianCNNOptions;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double).
  /// @throw std::invalid_argument for non-positive sizes or images too small for the layers;
  ///        std::domain_error for a bad prior, rho_init, samples or sampling (WeightSampling::mean cannot train).
  BayesianCNN(const Options& options, Rng& rng) : options_(checked(options)) {
    ad::ImageShape shape{options_.channels, options_.height, options_.width};
    for (std::size_t l = 0; l < options_.filters.size(); ++l) {
      convs_.emplace_back(shape.channels, options_.filters[l], ad::Window2d::square(options_.kernel), rng, options_.init, options_.rho_init,
                          "conv" + std::to_string(l));
      const ad::ImageShape c = convs_.back().output_shape(shape);
      shape = {c.channels, c.height / 2, c.width / 2};
    }
    const std::vector<Index> sizes = detail::layer_sizes(shape.size(), options_.hidden, options_.classes);
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l)
      dense_.emplace_back(sizes[l], sizes[l + 1], rng, options_.init == nn::Init::automatic ? nn::Init::pytorch : options_.init, options_.rho_init,
                          "dense" + std::to_string(l));
  }

  /// The weight of the KL term for minibatch `batch` (0-based) of `batches` per epoch (as BayesByBackprop).
  T kl_weight(Index batch, Index batches) const {
    return T(detail::kl_share("BayesianCNN::kl_weight", options_.kl_weighting, batch, batches));
  }

  /// The minibatch free energy kl_weight·KL − log p(y | x, w) (softmax cross-entropy summed over the
  /// rows), averaged over options().samples posterior draws, on `tape`; y is one-hot N x K.
  /// @throw std::invalid_argument for shapes that do not match the model.
  ad::Var<T> loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng, T kl_weight);

  /// Trains with Adam on shuffled minibatches; the free energy per image of each epoch is in
  /// loss_history(). Returns *this.
  /// @throw std::invalid_argument for x of the wrong width, no rows or labels not one per row;
  ///        std::domain_error for non-finite data, labels outside 0..K−1, bad fit options or a loss that stops being finite.
  template <class DX, class DY> BayesianCNN& fit(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& labels, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "BayesianCNN::fit";
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
  /// and an `rng` in the same state (checked); rank 0's initial parameters are copied to every rank, the
  /// gradients are summed over the ranks once per step, the draws a step shares (weight samples, flipout's
  /// perturbations, biases) come from a generator seeded by the step's key, and each image's own draws (local
  /// reparameterisation's output noise, flipout's signs) are hashed from the step and the image's position
  /// (nn::RowDraws), so P ranks with batch B fit as fit(Collective::single(), all images, {batch P·B}) does, to
  /// the rounding of the sums (not as fit(x, labels, fit, rng)). Each rank adds the KL term in proportion to
  /// its images of the minibatch, so it counts once.
  /// @throw as fit(), on every rank (the message names the failing rank); std::invalid_argument for an rng in
  ///        different states, different networks or no images on any rank; std::runtime_error if the ranks' states drift apart.
  template <class DX, class DY>
  BayesianCNN& fit(const Collective& ranks, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& labels, const FitOptions& fit, Rng& rng) {
    constexpr const char* function = "BayesianCNN::fit";
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
  BayesianCNN& fit_rows(Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng);
  BayesianCNN& fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng);
  /// loss() with the noise of an Rng or of nn::RowDraws (data-parallel fits).
  template <class Noise> ad::Var<T> loss_impl(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Noise& rng, T kl_weight);

 public:
  /// The free energy per image of each epoch of the last fit() (empty before it; not stored in files).
  const std::vector<T>& loss_history() const noexcept { return history_; }

  /// Class probabilities under `samples` posterior draws (one draw of every weight per pass and chunk of
  /// 16 rows; passes on threads, each with its own stream split from `rng` in pass order).
  /// @throw std::invalid_argument for x of the wrong width or no rows; std::domain_error for samples < 1 or non-finite x.
  template <class Derived> std::vector<Matrix<T>> sample_proba(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    check_predict("BayesianCNN::sample_proba", x, samples);
    const Matrix<T> xt = x.template cast<T>();
    return detail::parallel_passes<Matrix<T>>(samples, rng, [&](Rng& stream) { return evaluate(*this, xt, stream, nn::WeightSampling::weights); });
  }
  /// The mean of sample_proba() (N x K).
  template <class Derived> Matrix<T> predict_proba(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    const auto s = sample_proba(x, samples, rng);
    Matrix<T> mean = Matrix<T>::Zero(s[0].rows(), s[0].cols());
    for (const auto& p : s) mean += p;
    return mean / T(samples);
  }
  /// Class probabilities at the posterior mean weights; with `pruned_fraction` > 0 that fraction of all
  /// filter and dense weights with the lowest signal-to-noise ratio |μ|/σ is set to zero first (Blundell et
  /// al.'s table 2; biases kept). The model is not changed. @throw std::domain_error unless 0 <= pruned_fraction <= 1.
  template <class Derived> Matrix<T> predict_mean(const Eigen::MatrixBase<Derived>& x, double pruned_fraction = 0) const {
    check_predict("BayesianCNN::predict_mean", x, 1);
    if (!(pruned_fraction >= 0 && pruned_fraction <= 1))
      detail::throw_domain("BayesianCNN::predict_mean", "pruned_fraction", "lie in [0, 1]", detail::describe(pruned_fraction));
    Rng unused(0);
    if (pruned_fraction == 0) return evaluate(*this, x.template cast<T>(), unused, nn::WeightSampling::mean);
    const T threshold = snr_quantile(pruned_fraction);
    BayesianCNN pruned = *this;
    for (auto& c : pruned.convs_) c.weight_mu().value = (c.signal_to_noise().array() > threshold).select(c.weight_mu().value, T(0));
    for (auto& d : pruned.dense_) d.weight_mu().value = (d.signal_to_noise().array() > threshold).select(d.weight_mu().value, T(0));
    return evaluate(pruned, x.template cast<T>(), unused, nn::WeightSampling::mean);
  }
  /// The most probable class of each row under predict_proba(x, samples, rng).
  template <class Derived> IntVector predict(const Eigen::MatrixBase<Derived>& x, int samples, Rng& rng) const {
    return detail::argmax_rows(predict_proba(x, samples, rng));
  }
  /// Every filter and dense weight's |μ|/σ in one vector (convolutions first; for the pruning histogram).
  Vector<T> signal_to_noise() const;

  Index input_size() const noexcept { return options_.channels * options_.height * options_.width; }  ///< C·H·W
  /// Pointers to every trainable parameter in file order (each convolution's μ, ρ of filters and bias, then each dense layer's).
  nn::ParameterList<T> parameters() { return detail::layer_parameters<nn::ParameterList<T>>(convs_, dense_); }
  /// Read-only parameters(), same order.
  nn::ConstParameterList<T> parameters() const { return detail::layer_parameters<nn::ConstParameterList<T>>(convs_, dense_); }
  /// Writes the parameters and the options to `path` (model type "BayesianCNN"), atomically.
  /// @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, nn::FileFormat format = nn::FileFormat::binary) const { detail::save_model(*this, path, format); }
  /// A model saved by save() (bit-identical outputs). @throw std::runtime_error naming the path for a
  /// missing, truncated, corrupt or wrong-type file.
  static BayesianCNN load(const std::filesystem::path& path) { return detail::load_model<BayesianCNN>(path, "BayesianCNN::load"); }
  static constexpr const char* model_name = "BayesianCNN";  ///< The model type in its files' headers.
  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

 private:
  static Options checked(const Options& o) {
    constexpr const char* function = "BayesianCNN";
    detail::check_image_blocks(function, o.channels, o.height, o.width, o.classes, o.kernel, o.filters, o.hidden);
    o.prior.check(function);
    check_finite(function, "rho_init", o.rho_init);
    if (o.samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(o.samples));
    if (o.sampling != nn::WeightSampling::weights && o.sampling != nn::WeightSampling::local && o.sampling != nn::WeightSampling::flipout)
      detail::throw_domain(function, "sampling", "be weights, local or flipout (training needs the posterior's noise)", std::string(enum_name(o.sampling)));
    return o;
  }
  template <class Derived> void check_predict(const char* function, const Eigen::MatrixBase<Derived>& x, int samples) const {
    detail::check_rows(function, "x", x, input_size());
    if (samples < 1) detail::throw_domain(function, "samples", "be at least 1", std::to_string(samples));
  }
  struct Forward {
    ad::Var<T> out, kl;
  };
  // Noise: an Rng, or nn::RowDraws in a data-parallel fit
  template <class Self, class Noise> static Forward forward(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x, Noise& rng, nn::WeightSampling sampling) {
    const Options& o = self.options_;
    nn::Images<T> h{x, ad::ImageShape{o.channels, o.height, o.width}};
    const nn::MaxPool2d<T> pool(ad::Window2d::square(2, 2));
    ad::Var<T> kl;
    auto add = [&](const ad::Var<T>& k) {
      if (k.tape) kl = kl.tape ? kl + k : k;
    };
    for (auto& conv : self.convs_) {
      const auto r = conv.forward(tape, h, rng, o.prior, sampling);
      add(r.kl);
      h = r.out;
      h.var = ad::relu(h.var);
      h = pool.forward(tape, h);
    }
    ad::Var<T> a = h.var;
    for (std::size_t l = 0; l < self.dense_.size(); ++l) {
      const auto r = self.dense_[l].forward(tape, a, rng, o.prior, sampling, l + 1 < self.dense_.size() ? ad::Activation::relu : ad::Activation::identity);
      add(r.kl);
      a = r.out;
    }
    return {a, kl};
  }
  // probabilities of one pass over x in chunks of 16 rows on this thread's scratch tape (see MCDropoutClassifier)
  static Matrix<T> evaluate(const BayesianCNN& self, const Matrix<T>& x, Rng& rng, nn::WeightSampling sampling) {
    Matrix<T> out(x.rows(), self.options_.classes);
    ad::ScratchTape<T> scratch;
    ad::Tape<T>& tape = *scratch;
    for (Index r0 = 0; r0 < x.rows(); r0 += 16) {
      const Index rows = std::min<Index>(16, x.rows() - r0);
      tape.reset();
      out.middleRows(r0, rows) = softmax_rows(Matrix<T>(forward(self, tape, tape.constant(x.middleRows(r0, rows)), rng, sampling).out.value()));
    }
    return out;
  }
  T snr_quantile(double fraction) const;

  Options options_;
  std::vector<nn::BayesianConv2d<T>> convs_;
  std::vector<nn::BayesianLinear<T>> dense_;
  std::vector<T> history_;
};
template <Real T>
auto BayesianCNN<T>::fit_rows(Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng) -> BayesianCNN& {
    constexpr const char* function = "BayesianCNN::fit";
    auto params = parameters();
    nn::Adam<T> adam(params, {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(function, x, onehot, fit, rng, [&](const Matrix<T>& xb, const Matrix<T>& yb, Index b, Index batches) {
      tape.reset();
      const ad::Var<T> l = loss(tape, tape.constant(xb), tape.constant(yb), rng, kl_weight(b, batches));
      tape.backward((T(1) / T(xb.rows())) * l);
      adam.step();
      return l.value()(0, 0);
    });
    return *this;
  }

template <Real T>
auto BayesianCNN<T>::fit_rows(const Collective& ranks, Eigen::Ref<const Matrix<T>> x, const Matrix<T>& onehot, const FitOptions& fit, Rng& rng)
    -> BayesianCNN& PML_RANKS_TRY {
    constexpr const char* function = "BayesianCNN::fit";
    nn::Adam<T> adam(parameters(), {.learning_rate = fit.learning_rate});
    ad::Tape<T> tape;
    history_ = detail::run_epochs<T>(ranks, function, x, onehot, fit, rng, adam, detail::options_text(*this), [&](const Matrix<T>& xb, const Matrix<T>& yb, const detail::ShardStep& s) {
      tape.reset();
      Rng shared(s.key);  // the step's shared draws, the same on every rank
      const nn::RowDraws draws{shared, s.positions};  // and each image's own, hashed from its position
      const T share = T(xb.rows()) / T(s.minibatch_rows);  // of the KL term: the ranks' shares add up to one
      const ad::Var<T> l = loss_impl(tape, tape.constant(xb), tape.constant(yb), draws, share * kl_weight(s.batch, s.batches));
      tape.backward((T(1) / T(s.minibatch_rows)) * l);
      return l.value()(0, 0);
    });
    return *this;
  } PML_RANKS_CATCH(ranks, "BayesianCNN::fit")


// BayesianCNN's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto BayesianCNN<T>::loss(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Rng& rng, T kl_weight) -> ad::Var<T> {
  return loss_impl(tape, x, y, rng, kl_weight);
}

/// loss() with the noise of an Rng or of nn::RowDraws (data-parallel fits).
template <Real T>
template <class Noise>
auto BayesianCNN<T>::loss_impl(ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Var<T>& y, Noise& rng, T kl_weight) -> ad::Var<T> {
    if (x.cols() != input_size() || y.cols() != options_.classes || x.rows() != y.rows() || x.rows() == 0)
      pml::detail::throw_shape("BayesianCNN::loss", "x is " + std::to_string(x.rows()) + "x" + std::to_string(x.cols()) + " and y is " +
                                                        std::to_string(y.rows()) + "x" + std::to_string(y.cols()) + ", expected N x " +
                                                        std::to_string(input_size()) + " and N x " + std::to_string(options_.classes));
    ad::Var<T> total;
    const T per_sample = T(1) / T(options_.samples);
    for (int s = 0; s < options_.samples; ++s) {
      const auto [out, kl] = forward(*this, tape, x, rng, options_.sampling);
      const ad::Var<T> term = per_sample * (ad::softmax_cross_entropy(out, y) + kl_weight * kl);
      total = total.tape ? total + term : term;
    }
    return total;
  }

template <Real T>
auto BayesianCNN<T>::signal_to_noise() const -> Vector<T> {
    Index n = 0;
    for (const auto& c : convs_) n += c.weight_mu().value.size();
    for (const auto& d : dense_) n += d.weight_mu().value.size();
    Vector<T> all(n);
    Index at = 0;
    for (const auto& c : convs_) {
      const Matrix<T> s = c.signal_to_noise();
      all.segment(at, s.size()) = s.reshaped();
      at += s.size();
    }
    for (const auto& d : dense_) {
      const Matrix<T> s = d.signal_to_noise();
      all.segment(at, s.size()) = s.reshaped();
      at += s.size();
    }
    return all;
  }

template <Real T>
auto BayesianCNN<T>::snr_quantile(double fraction) const -> T {
    Vector<T> s = signal_to_noise();
    const auto k = static_cast<Index>(std::llround(fraction * double(s.size())));
    if (k <= 0) return T(-1);
    if (k >= s.size()) return std::numeric_limits<T>::infinity();
    std::nth_element(s.data(), s.data() + (k - 1), s.data() + s.size());
    return s(k - 1);
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::BayesianCNN)
