#pragma once
/// @file
/// Convolutional layers on the tape: Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, BatchNorm (1-d and 2-d),
/// and nn::Images, a batch of images with its shape (the layers take and return it). The ops and the
/// image layout (N x (C·H·W), one image per row in PyTorch's c, h, w order) are in autodiff/ops/convolution.hpp;
/// flattening for a dense layer is `images.var` itself.

#include <cmath>
#include <string>
#include <utility>

#include "pml/autodiff/ops.hpp"
#include "pml/nn/dropout.hpp"
#include "pml/nn/init.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::nn {

/// A batch of images on a tape: the N x (C·H·W) node and its channel count, height and width.
template <Real T> struct Images {
  ad::Var<T> var;        ///< N x shape.size(), one image per row
  ad::ImageShape shape;  ///< C x H x W
};

namespace detail {
/// A rows x cols filter matrix drawn as `init` says for a layer of the given fans (PyTorch's fans of a
/// convolution: fan_in = C_in·KH·KW, fan_out = C_out·KH·KW). @throw std::invalid_argument for Init::automatic.
template <Real T> Matrix<T> initial_filters(Rng& rng, Index rows, Index cols, Index fan_in, Index fan_out, Init init) {
  switch (init) {
    case Init::xavier_uniform: return uniform_symmetric<T>(rng, rows, cols, std::sqrt(T(6) / T(fan_in + fan_out)));
    case Init::he_uniform: return uniform_symmetric<T>(rng, rows, cols, std::sqrt(T(6) / T(fan_in)));
    case Init::pytorch: return uniform_symmetric<T>(rng, rows, cols, T(1) / std::sqrt(T(fan_in)));
    case Init::he_normal:
    case Init::xavier_normal: {
      Matrix<T> w(rows, cols);
      random::fill_normal(rng, w, T(0), std::sqrt(T(2) / T(init == Init::he_normal ? fan_in : fan_in + fan_out)));
      return w;
    }
    case Init::automatic: break;
  }
  pml::detail::throw_shape("nn::initial_filters", "Init::automatic depends on the layer; give a concrete scheme");
}
inline void check_window(const char* layer, Index in_channels, Index out_channels, const ad::Window2d& w) {
  if (in_channels <= 0 || out_channels <= 0)
    pml::detail::throw_shape(layer, "channel counts must be positive, got " + std::to_string(in_channels) + " -> " + std::to_string(out_channels));
  (void)ad::detail::pack_geometry(layer, w.dilation_h * (w.kernel_h - 1) + 1, w.dilation_w * (w.kernel_w - 1) + 1, w);
}
}  // namespace detail

/// 2-d convolution (torch.nn.Conv2d, groups = 1): y = conv(x, W) + b with W C_out x (C_in·KH·KW) (each
/// filter a row, PyTorch's weight reshaped) and b 1 x C_out. Weights and bias are drawn as `init` says
/// (default: PyTorch's, U(±1/√(C_in·KH·KW)) for both).
/// Thread safety: as nn::Linear (the const forward() only reads the layer).
template <Real T> class Conv2d {
 public:
  /// A layer from `in_channels` to `out_channels` with window `window` (kernel, stride, padding, dilation).
  /// @throw std::invalid_argument for non-positive channel counts or a bad window.
  Conv2d(Index in_channels, Index out_channels, const ad::Window2d& window, Rng& rng, Init init = Init::pytorch, bool bias = true,
         const std::string& name = "conv")
      : window_(window), has_bias_(bias) {
    detail::check_window("nn::Conv2d", in_channels, out_channels, window);
    const Index taps = window.kernel_h * window.kernel_w;
    weight_ = Parameter<T>(name + ".weight", detail::initial_filters<T>(rng, out_channels, in_channels * taps, in_channels * taps, out_channels * taps,
                                                                        init == Init::automatic ? Init::pytorch : init));
    bias_ = Parameter<T>(name + ".bias", bias && init == Init::pytorch ? uniform_symmetric<T>(rng, 1, out_channels, T(1) / std::sqrt(T(in_channels * taps)))
                                                                      : Matrix<T>::Zero(bias ? 1 : 0, bias ? out_channels : 0));
  }
  /// conv(x) + b on the tape, binding W and b (Tape::backward() fills their gradients).
  /// @throw std::invalid_argument if x's channels are not in_channels() or the window does not fit.
  Images<T> forward(ad::Tape<T>& tape, const Images<T>& x) { return forward_impl(*this, tape, x); }
  /// The same pass with W and b as constants (no gradients; safe from many threads, each on its own tape).
  Images<T> forward(ad::Tape<T>& tape, const Images<T>& x) const { return forward_impl(*this, tape, x); }
  /// The output shape for inputs of shape `in` (C_out x OH x OW).
  ad::ImageShape output_shape(const ad::ImageShape& in) const { return ad::window_output_shape(in, window_, out_channels()); }
  Index in_channels() const noexcept { return weight_.value.cols() / (window_.kernel_h * window_.kernel_w); }  ///< C_in
  Index out_channels() const noexcept { return weight_.value.rows(); }  ///< C_out
  const ad::Window2d& window() const noexcept { return window_; }  ///< kernel, stride, padding, dilation
  Parameter<T>& weight() noexcept { return weight_; }  ///< W, C_out x (C_in·KH·KW)
  Parameter<T>& bias() noexcept { return bias_; }  ///< b, 1 x C_out (0 x 0 without a bias)
  const Parameter<T>& weight() const noexcept { return weight_; }  ///< W, C_out x (C_in·KH·KW)
  const Parameter<T>& bias() const noexcept { return bias_; }  ///< b, 1 x C_out (0 x 0 without a bias)
  /// The trainable parameters, in file order (the bias only when the layer has one).
  ParameterList<T> parameters() { return has_bias_ ? ParameterList<T>{&weight_, &bias_} : ParameterList<T>{&weight_}; }
  /// Read-only parameters(), same order.
  ConstParameterList<T> parameters() const { return has_bias_ ? ConstParameterList<T>{&weight_, &bias_} : ConstParameterList<T>{&weight_}; }

 private:
  template <class Self> static Images<T> forward_impl(Self& self, ad::Tape<T>& tape, const Images<T>& x) {
    if (x.shape.channels != self.in_channels())
      pml::detail::throw_shape("nn::Conv2d::forward", "x has " + std::to_string(x.shape.channels) + " channels (" + ad::to_string(x.shape) +
                                                          "), the layer expects " + std::to_string(self.in_channels()));
    const ad::Var<T> w = self.weight_.bind(tape);
    const ad::Var<T> b = self.has_bias_ ? self.bias_.bind(tape) : ad::Var<T>{};
    return {ad::conv2d(x.var, x.shape, w, b, self.window_), self.output_shape(x.shape)};
  }
  ad::Window2d window_;
  bool has_bias_;
  Parameter<T> weight_, bias_;
};

/// 2-d transposed convolution (torch.nn.ConvTranspose2d, groups = 1): W is C_in x (C_out·KH·KW)
/// (PyTorch's C_in x C_out x KH x KW weight), b 1 x C_out; OH = (H − 1)·s − 2p + d(KH − 1) + output_padding + 1.
/// Default initialisation PyTorch's: U(±1/√(C_out·KH·KW)) (PyTorch's fan_in of this weight).
template <Real T> class ConvTranspose2d {
 public:
  /// @throw std::invalid_argument for non-positive channel counts, a bad window or an output padding not
  /// smaller than the stride (PyTorch also takes one below the dilation alone).
  ConvTranspose2d(Index in_channels, Index out_channels, const ad::Window2d& window, Rng& rng, Init init = Init::pytorch, bool bias = true,
                  Index output_padding_h = 0, Index output_padding_w = 0, const std::string& name = "conv_transpose")
      : window_(window), has_bias_(bias), output_padding_h_(output_padding_h), output_padding_w_(output_padding_w) {
    detail::check_window("nn::ConvTranspose2d", in_channels, out_channels, window);
    if (output_padding_h < 0 || output_padding_w < 0 || output_padding_h >= window.stride_h || output_padding_w >= window.stride_w)
      pml::detail::throw_shape("nn::ConvTranspose2d", "output padding must be in [0, stride), got " + std::to_string(output_padding_h) + "x" +
                                                          std::to_string(output_padding_w) + " for stride " + std::to_string(window.stride_h) + "x" +
                                                          std::to_string(window.stride_w));
    const Index taps = window.kernel_h * window.kernel_w;
    weight_ = Parameter<T>(name + ".weight", detail::initial_filters<T>(rng, in_channels, out_channels * taps, out_channels * taps, in_channels * taps,
                                                                        init == Init::automatic ? Init::pytorch : init));
    bias_ = Parameter<T>(name + ".bias", bias && init == Init::pytorch ? uniform_symmetric<T>(rng, 1, out_channels, T(1) / std::sqrt(T(out_channels * taps)))
                                                                      : Matrix<T>::Zero(bias ? 1 : 0, bias ? out_channels : 0));
  }
  /// The transposed convolution of x on the tape, binding W and b.
  /// @throw std::invalid_argument if x's channels are not in_channels().
  Images<T> forward(ad::Tape<T>& tape, const Images<T>& x) { return forward_impl(*this, tape, x); }
  /// The same pass with W and b as constants.
  Images<T> forward(ad::Tape<T>& tape, const Images<T>& x) const { return forward_impl(*this, tape, x); }
  /// The output shape for inputs of shape `in`.
  ad::ImageShape output_shape(const ad::ImageShape& in) const {
    const ad::Window2d& w = window_;
    return {out_channels(), (in.height - 1) * w.stride_h - 2 * w.padding_h + w.dilation_h * (w.kernel_h - 1) + output_padding_h_ + 1,
            (in.width - 1) * w.stride_w - 2 * w.padding_w + w.dilation_w * (w.kernel_w - 1) + output_padding_w_ + 1};
  }
  Index in_channels() const noexcept { return weight_.value.rows(); }  ///< C_in
  Index out_channels() const noexcept { return weight_.value.cols() / (window_.kernel_h * window_.kernel_w); }  ///< C_out
  const ad::Window2d& window() const noexcept { return window_; }  ///< kernel, stride, padding, dilation
  Parameter<T>& weight() noexcept { return weight_; }  ///< W, C_in x (C_out·KH·KW)
  Parameter<T>& bias() noexcept { return bias_; }  ///< b, 1 x C_out (0 x 0 without a bias)
  const Parameter<T>& weight() const noexcept { return weight_; }  ///< W, C_in x (C_out·KH·KW)
  const Parameter<T>& bias() const noexcept { return bias_; }  ///< b, 1 x C_out (0 x 0 without a bias)
  /// The trainable parameters, in file order.
  ParameterList<T> parameters() { return has_bias_ ? ParameterList<T>{&weight_, &bias_} : ParameterList<T>{&weight_}; }
  /// Read-only parameters(), same order.
  ConstParameterList<T> parameters() const { return has_bias_ ? ConstParameterList<T>{&weight_, &bias_} : ConstParameterList<T>{&weight_}; }

 private:
  template <class Self> static Images<T> forward_impl(Self& self, ad::Tape<T>& tape, const Images<T>& x) {
    if (x.shape.channels != self.in_channels())
      pml::detail::throw_shape("nn::ConvTranspose2d::forward", "x has " + std::to_string(x.shape.channels) + " channels (" +
                                                                   ad::to_string(x.shape) + "), the layer expects " + std::to_string(self.in_channels()));
    const ad::Var<T> w = self.weight_.bind(tape);
    const ad::Var<T> b = self.has_bias_ ? self.bias_.bind(tape) : ad::Var<T>{};
    return {ad::conv_transpose2d(x.var, x.shape, w, b, self.window_, self.output_padding_h_, self.output_padding_w_), self.output_shape(x.shape)};
  }
  ad::Window2d window_;
  bool has_bias_;
  Index output_padding_h_, output_padding_w_;
  Parameter<T> weight_, bias_;
};

/// Max pooling (torch.nn.MaxPool2d, ceil_mode off; give the stride: Window2d's default is 1 where PyTorch's
/// is the kernel size, e.g. `Window2d::square(2, 2)`): no parameters. forward() returns the pooled images;
/// forward_with_indices() also the pooling indices (for max-unpooling, SegNet's decoder).
template <Real T> class MaxPool2d {
 public:
  /// @throw std::invalid_argument for a bad window (checked again against each input).
  explicit MaxPool2d(const ad::Window2d& window) : window_(window) { detail::check_window("nn::MaxPool2d", 1, 1, window); }
  /// The pooled images. @throw std::invalid_argument if the window does not fit x.
  Images<T> forward(ad::Tape<T>&, const Images<T>& x) const { return forward_with_indices(x).first; }
  /// The pooled images and the indices node (N x (C·OH·OW), the input column of each maximum).
  std::pair<Images<T>, ad::Var<T>> forward_with_indices(const Images<T>& x) const {
    const auto p = ad::max_pool2d(x.var, x.shape, window_);
    return {Images<T>{p.value, p.shape}, p.indices};
  }
  const ad::Window2d& window() const noexcept { return window_; }  ///< kernel, stride, padding, dilation

 private:
  ad::Window2d window_;
};

/// Average pooling (torch.nn.AvgPool2d, ceil_mode off, no dilation): no parameters.
template <Real T> class AvgPool2d {
 public:
  /// @throw std::invalid_argument for a bad window or a dilation other than 1.
  explicit AvgPool2d(const ad::Window2d& window, bool count_include_pad = true) : window_(window), count_include_pad_(count_include_pad) {
    detail::check_window("nn::AvgPool2d", 1, 1, window);
    if (window.dilation_h != 1 || window.dilation_w != 1) pml::detail::throw_shape("nn::AvgPool2d", "dilation is not supported");
  }
  /// The pooled images. @throw std::invalid_argument if the window does not fit x.
  Images<T> forward(ad::Tape<T>&, const Images<T>& x) const {
    return {ad::avg_pool2d(x.var, x.shape, window_, count_include_pad_), ad::window_output_shape(x.shape, window_, x.shape.channels)};
  }
  const ad::Window2d& window() const noexcept { return window_; }  ///< kernel and stride

 private:
  ad::Window2d window_;
  bool count_include_pad_;
};

/// Batch normalisation (Ioffe & Szegedy 2015; torch.nn.BatchNorm1d over N x C and BatchNorm2d over
/// N x (C·H·W): one mean and variance per channel, over the batch and the pixels). In Mode::train it
/// standardises with the batch's statistics and updates the running ones (running = (1 − momentum)·running
/// + momentum·batch, the variance unbiased, as PyTorch); in Mode::predict it uses the running statistics.
/// γ (`weight`, starts at 1) and β (`bias`, starts at 0) are trainable; the running mean and variance are
/// buffers(): saved in model files, never touched by optimisers.
template <Real T> class BatchNorm {
 public:
  /// @throw std::invalid_argument for channels <= 0; std::domain_error for eps < 0 or momentum outside [0, 1].
  explicit BatchNorm(Index channels, double eps = 1e-5, double momentum = 0.1, const std::string& name = "batch_norm")
      : eps_(eps), momentum_(momentum) {
    if (channels <= 0) pml::detail::throw_shape("nn::BatchNorm", "channels must be positive, got " + std::to_string(channels));
    if (!(eps >= 0)) pml::detail::throw_domain("nn::BatchNorm", "eps", "be >= 0", std::to_string(eps));
    if (!(momentum >= 0 && momentum <= 1)) pml::detail::throw_domain("nn::BatchNorm", "momentum", "be in [0, 1]", std::to_string(momentum));
    weight_ = Parameter<T>(name + ".weight", Matrix<T>::Ones(1, channels));
    bias_ = Parameter<T>(name + ".bias", Matrix<T>::Zero(1, channels));
    running_mean_ = Parameter<T>(name + ".running_mean", Matrix<T>::Zero(1, channels));
    running_var_ = Parameter<T>(name + ".running_var", Matrix<T>::Ones(1, channels));
  }
  /// Normalises x (N x (C·S), S pixels per channel; S = 1 for BatchNorm1d). Mode::train also updates the
  /// running statistics. @throw std::invalid_argument if C does not divide x's columns, or in Mode::train
  /// if a channel has fewer than 2 values.
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, Mode mode = Mode::train) {
    check("nn::BatchNorm::forward", x);
    if (mode == Mode::predict) return evaluate(*this, tape, x);
    return train(tape, ad::batch_standardize(x, channels(), eps_));
  }
  /// Mode::train synchronised over `ranks` (PyTorch's SyncBatchNorm; data-parallel training): the batch's
  /// rows are spread over the ranks (any number on each, 0 included) and each channel is normalised by the
  /// statistics of all of them (ad::batch_standardize(x, C, eps, ranks)); the running statistics follow
  /// those (the same on every rank). Every rank must call it at the same point of the same graph.
  /// @throw std::invalid_argument (on every rank) if C does not divide x's columns or a channel has fewer than 2 values on all ranks.
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x, const Collective& ranks) {
    check("nn::BatchNorm::forward", x);
    return train(tape, ad::batch_standardize(x, channels(), eps_, ranks));
  }
  /// The same for images. @throw std::invalid_argument unless x has channels() channels.
  Images<T> forward(ad::Tape<T>& tape, const Images<T>& x, const Collective& ranks) {
    check_images(x);
    return {forward(tape, x.var, ranks), x.shape};
  }
  /// Mode::predict with the parameters as constants (reads the layer only; safe from many threads).
  ad::Var<T> forward(ad::Tape<T>& tape, const ad::Var<T>& x) const {
    check("nn::BatchNorm::forward", x);
    return evaluate(*this, tape, x);
  }
  /// The same for images: the output keeps x's shape. @throw std::invalid_argument unless x has channels() channels.
  Images<T> forward(ad::Tape<T>& tape, const Images<T>& x, Mode mode = Mode::train) {
    check_images(x);
    return {forward(tape, x.var, mode), x.shape};
  }
  /// Mode::predict for images.
  Images<T> forward(ad::Tape<T>& tape, const Images<T>& x) const {
    check_images(x);
    return {forward(tape, x.var), x.shape};
  }
  Index channels() const noexcept { return weight_.value.cols(); }  ///< C
  double eps() const noexcept { return eps_; }  ///< ε added to the variance
  double momentum() const noexcept { return momentum_; }  ///< weight of the batch in the running statistics
  /// Sets the weight of the batch in the running statistics (momentum 1/k on the k-th of a series of batches
  /// after reset_running_stats() makes the running statistics those batches' mean, as PyTorch's momentum=None).
  /// @throw std::domain_error for a momentum outside [0, 1].
  void set_momentum(double momentum) {
    if (!(momentum >= 0 && momentum <= 1)) pml::detail::throw_domain("nn::BatchNorm::set_momentum", "momentum", "be in [0, 1]", pml::detail::describe(momentum));
    momentum_ = momentum;
  }
  /// The running mean back to 0 and the running variance to 1 (torch.nn.BatchNorm2d.reset_running_stats).
  void reset_running_stats() {
    running_mean_.value.setZero();
    running_var_.value.setOnes();
  }
  Parameter<T>& weight() noexcept { return weight_; }  ///< γ, 1 x C
  Parameter<T>& bias() noexcept { return bias_; }  ///< β, 1 x C
  const Parameter<T>& weight() const noexcept { return weight_; }  ///< γ, 1 x C
  const Parameter<T>& bias() const noexcept { return bias_; }  ///< β, 1 x C
  const Matrix<T>& running_mean() const noexcept { return running_mean_.value; }  ///< 1 x C
  const Matrix<T>& running_var() const noexcept { return running_var_.value; }  ///< 1 x C (unbiased)
  /// γ and β (what an optimiser updates).
  ParameterList<T> parameters() { return {&weight_, &bias_}; }
  ConstParameterList<T> parameters() const { return {&weight_, &bias_}; }  ///< read-only parameters()
  /// The running mean and variance, for model files (not for optimisers).
  ParameterList<T> buffers() { return {&running_mean_, &running_var_}; }
  ConstParameterList<T> buffers() const { return {&running_mean_, &running_var_}; }  ///< read-only buffers()

 private:
  // the training pass after the standardisation: the running statistics updated, then γ x̂ + β
  ad::Var<T> train(ad::Tape<T>& tape, const ad::Standardized<T>& z) {
    const auto stats = z.stats.value();
    const T m = static_cast<T>(z.count), mo = static_cast<T>(momentum_);
    for (Index c = 0; c < channels(); ++c) {
      running_mean_.value(c) = (T(1) - mo) * running_mean_.value(c) + mo * stats(0, c);
      running_var_.value(c) = (T(1) - mo) * running_var_.value(c) + mo * stats(1, c) * m / (m - T(1));
    }
    return ad::channel_affine(z.value, weight_.bind(tape), bias_.bind(tape));
  }
  void check_images(const Images<T>& x) const {
    if (x.shape.channels != channels())
      pml::detail::throw_shape("nn::BatchNorm::forward", "x has " + std::to_string(x.shape.channels) + " channels (" + ad::to_string(x.shape) +
                                                             "), the layer " + std::to_string(channels()));
  }
  void check(const char* function, const ad::Var<T>& x) const {
    if (x.cols() % channels() != 0)
      pml::detail::throw_shape(function, "x has " + std::to_string(x.cols()) + " columns, not a multiple of the layer's " + std::to_string(channels()) +
                                             " channels");
  }
  // y = x · γ/√(σ²_run + ε) + (β − μ_run · γ/√(σ²_run + ε)), gradients flowing to γ and β when they are bound
  template <class Self> static ad::Var<T> evaluate(Self& self, ad::Tape<T>& tape, const ad::Var<T>& x) {
    ad::Var<T> inv = tape.constant(1, self.channels());  // filled in place: no allocation in a step
    inv.value() = (self.running_var_.value.array() + static_cast<T>(self.eps_)).rsqrt().matrix();
    const ad::Var<T> scale = self.weight_.bind(tape) * inv;
    const ad::Var<T> shift = self.bias_.bind(tape) - tape.constant(self.running_mean_.value) * scale;
    return ad::channel_affine(x, scale, shift);
  }
  double eps_, momentum_;
  Parameter<T> weight_, bias_, running_mean_, running_var_;
};

/// torch.nn.BatchNorm1d's name for nn::BatchNorm (x is N x C).
template <Real T> using BatchNorm1d = BatchNorm<T>;
/// torch.nn.BatchNorm2d's name for nn::BatchNorm (x is N x (C·H·W)).
template <Real T> using BatchNorm2d = BatchNorm<T>;

}  // namespace pml::nn
