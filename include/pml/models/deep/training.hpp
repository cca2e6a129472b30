#pragma once
/// @file
/// What the deep models share: the options of a minibatch training run, input checks with the model's
/// name in the message, and the epoch loop (shuffled minibatches gathered from a row-major copy).

#include <array>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/core/rng.hpp"
#include "pml/io/batches.hpp"
#include "pml/nn/serialize.hpp"
#include "pml/serialization/state.hpp"

namespace pml {

/// Where a fit() is, passed to FitOptions::progress after every minibatch.
struct TrainingProgress {
  int epoch = 0;         ///< 0-based
  int epochs = 0;  ///< number of epochs in the fit
  Index batch = 0;       ///< 0-based, within the epoch
  Index batches = 0;     ///< per epoch
  double mean_loss = 0;  ///< mean loss per row so far in this epoch
};

/// Options of a deep model's fit(): epochs of shuffled minibatches, Adam's learning rate, and an optional
/// progress callback (e.g. a progress bar; the pml tool draws one).
struct FitOptions {
  int epochs = 10;  ///< passes over the data
  Index batch_size = 128;  ///< rows per minibatch (the last one may be smaller)
  double learning_rate = 1e-3;  ///< Adam's step size
  std::function<void(const TrainingProgress&)> progress{};  ///< called after every minibatch (empty: no reports)
};

namespace detail {
/// x must have `width` columns, at least one row and only finite values.
template <class Derived> void check_rows(const char* function, const char* argument, const Eigen::MatrixBase<Derived>& x, Index width) {
  if (x.cols() != width)
    throw_shape(function, std::string(argument) + " has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(width));
  if (x.rows() == 0) throw_shape(function, std::string(argument) + " has no rows");
  check_all_finite(function, argument, x);
}
/// x as rows of T for a model's non-template fit (compiled once with extern templates, pml/core/instantiation.hpp):
/// x itself when its scalar is T (an Eigen::Ref<const Matrix<T>> binds to it without a copy), else a copy cast to T.
/// @throw std::domain_error naming `function` for a finite entry that overflows T (a double beyond float's range
///        for a float model). (A data-parallel fit converts inside agree() instead, and its rank-wide finiteness
///        check reports such an entry.)
template <class T, class Derived> decltype(auto) as_rows(const char* function, const char* argument, const Eigen::MatrixBase<Derived>& x) {
  if constexpr (std::is_same_v<typename Derived::Scalar, T>) {
    return (x.derived());
  } else {
    Matrix<T> out = x.template cast<T>();
    for (Index j = 0; j < out.cols(); ++j)
      for (Index i = 0; i < out.rows(); ++i)
        if (!std::isfinite(static_cast<double>(out(i, j))) && std::isfinite(static_cast<double>(x(i, j))))
          throw_domain(function, argument,
                       std::string("have entries representable in the model's ") + (sizeof(T) == sizeof(float) ? "float" : "scalar type") + " (entry (" +
                           std::to_string(i) + ", " + std::to_string(j) + ") is not)",
                       describe(static_cast<double>(x(i, j))));
    return out;
  }
}
/// as_rows() for a data-parallel fit, which calls it inside agree() (a copy that fails on one rank stops every
/// rank): `rows` then refers to x itself (scalar T) or to `store`, x converted to T.
/// @throw as as_rows().
template <class T, class Derived>
void hold_rows(std::optional<Eigen::Ref<const Matrix<T>>>& rows, Matrix<T>& store, const char* function, const char* argument,
               const Eigen::MatrixBase<Derived>& x) {
  if constexpr (std::is_same_v<typename Derived::Scalar, T>) {
    rows.emplace(x.derived());
  } else {
    store = as_rows<T>(function, argument, x);
    rows.emplace(store);
  }
}
/// hold_rows() for a shard that every rank's step uses (synchronised batch norms): an empty shard is held as
/// 0 x `width` whatever its own width (a rank with no rows may pass an empty matrix of any shape).
template <class T, class Derived>
void hold_shard_rows(std::optional<Eigen::Ref<const Matrix<T>>>& rows, Matrix<T>& store, const char* function, const char* argument,
                     const Eigen::MatrixBase<Derived>& x, Index width) {
  if (x.rows() > 0) return hold_rows<T>(rows, store, function, argument, x);
  store.resize(0, width);
  rows.emplace(store);
}
/// y must have as many rows as x.
template <class DX, class DY> void check_same_rows(const char* function, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y) {
  if (x.rows() != y.rows())
    throw_shape(function, "x has " + std::to_string(x.rows()) + " rows but y has " + std::to_string(y.rows()));
}
/// {in, hidden..., out}: the layer sizes of an MLP.
inline std::vector<Index> layer_sizes(Index in, const std::vector<Index>& hidden, Index out) {
  std::vector<Index> s{in};
  s.insert(s.end(), hidden.begin(), hidden.end());
  s.push_back(out);
  return s;
}
/// Every hidden size must be positive.
inline void check_hidden(const char* function, const std::vector<Index>& hidden) {
  for (const Index h : hidden)
    if (h <= 0) throw_shape(function, "hidden sizes must be positive, got " + std::to_string(h));
}
/// Integer labels (one column) as an N x classes one-hot matrix.
/// @throw std::invalid_argument for more than one column; std::domain_error for a label outside 0..classes−1.
template <Real T, class DY> Matrix<T> one_hot_labels(const char* function, const Eigen::MatrixBase<DY>& y, Index classes) {
  static_assert(std::is_integral_v<typename DY::Scalar>, "labels must be integers (e.g. pml::IntVector)");
  if (y.cols() != 1) throw_shape(function, "labels must be one column, got " + std::to_string(y.cols()));
  Matrix<T> out = Matrix<T>::Zero(y.rows(), classes);
  for (Index i = 0; i < y.rows(); ++i) {
    if (y(i, 0) < 0 || y(i, 0) >= classes)
      throw_domain(function, "labels", "lie in 0.." + std::to_string(classes - 1), std::to_string(y(i, 0)) + " at index " + std::to_string(i));
    out(i, static_cast<Index>(y(i, 0))) = T(1);
  }
  return out;
}
/// Every layer's parameters() from vectors of layers, in order: `List` is nn::ParameterList<T> for
/// mutable layers, nn::ConstParameterList<T> for const ones (what the models' parameters() return).
template <class List, class... Layers> List layer_parameters(Layers&... layers) {
  List list;
  auto add = [&list](auto& vector) {
    for (auto& layer : vector) {
      const auto more = layer.parameters();
      list.insert(list.end(), more.begin(), more.end());
    }
  };
  (add(layers), ...);
  return list;
}
/// The column of each row's largest entry (ties: the lower index).
template <class Derived> IntVector argmax_rows(const Eigen::MatrixBase<Derived>& p) {
  IntVector out(p.rows());
  for (Index i = 0; i < p.rows(); ++i) {
    Index k = 0;
    p.row(i).maxCoeff(&k);
    out(i) = static_cast<long>(k);
  }
  return out;
}
/// The image classifiers' checks: positive sizes, at least two classes, and room for every block of a
/// kernel x kernel convolution (stride 1, no padding) and 2 x 2 max pooling. @throw std::invalid_argument.
inline void check_image_blocks(const char* function, Index channels, Index height, Index width, Index classes, Index kernel,
                               const std::vector<Index>& filters, const std::vector<Index>& hidden) {
  if (channels <= 0 || height <= 0 || width <= 0 || classes < 2 || kernel <= 0)
    throw_shape(function, "channels, height, width and kernel must be positive and classes at least 2, got " + std::to_string(channels) + ", " +
                              std::to_string(height) + ", " + std::to_string(width) + ", " + std::to_string(kernel) + " and " + std::to_string(classes));
  check_hidden(function, filters);
  check_hidden(function, hidden);
  Index h = height, w = width;
  for (std::size_t l = 0; l < filters.size(); ++l) {
    h = (h - kernel + 1) / 2;
    w = (w - kernel + 1) / 2;
    if (h < 1 || w < 1)
      throw_shape(function, "images of " + std::to_string(height) + "x" + std::to_string(width) + " are too small for " + std::to_string(filters.size()) +
                                " blocks of a " + std::to_string(kernel) + "x" + std::to_string(kernel) + " convolution and 2x2 pooling");
  }
}
inline void check_fit_options(const char* function, const FitOptions& fit) {
  if (fit.epochs < 1) throw_domain(function, "epochs", "be at least 1", std::to_string(fit.epochs));
  if (fit.batch_size < 1) throw_domain(function, "batch_size", "be at least 1", std::to_string(fit.batch_size));
  check_positive(function, "learning_rate", fit.learning_rate);
}

/// A training run whose loss or gradient stopped being finite (data far too large for the network, e.g.
/// values near 1e300): one std::domain_error naming the model's fit function and its data argument x.
template <class Derived>
[[noreturn]] void throw_diverged(const char* function, const Eigen::MatrixBase<Derived>& x, const std::string& what) {
  throw_domain(function, "x", "give a finite training loss and gradient (rescale or standardise the data)",
               what + "; largest |x| is " + describe(double(x.cwiseAbs().maxCoeff())));
}

/// Runs fit.epochs epochs over the rows of x and y (y may have no columns): each epoch draws a new order
/// from `rng`, and for each minibatch calls step(xb, yb, batch_index, batches_per_epoch), which returns
/// the batch's summed loss. Returns the mean loss per row of each epoch. A non-finite loss, or a step
/// refused because of a non-finite gradient, throws std::domain_error naming `function` and x (the
/// model keeps the parameters of its last finite step).
template <Real T, class DX, class DY, class Step>
std::vector<T> run_epochs(const char* function, const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const FitOptions& fit, Rng& rng, Step step,
                          Index min_batch = 1) {
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMajor xr = x.template cast<T>(), yr = y.template cast<T>();  // one sample contiguous
  io::Minibatches batches(x.rows(), fit.batch_size, false, min_batch);  // a remainder below min_batch joins the last batch
  Matrix<T> xb, yb;
  std::vector<T> history;
  for (int epoch = 0; epoch < fit.epochs; ++epoch) {
    batches.shuffle(rng);
    double sum = 0;
    Index rows = 0;
    for (Index b = 0; b < batches.size(); ++b) {
      io::gather_rows(xr, batches[b], xb);
      io::gather_rows(yr, batches[b], yb);
      double loss = 0;
      try {
        loss = double(step(xb, yb, b, batches.size()));
      } catch (const std::domain_error& e) {  // nn::Adam refuses a non-finite gradient
        throw_diverged(function, x, std::string(e.what()) + " at epoch " + std::to_string(epoch + 1) + ", minibatch " + std::to_string(b + 1));
      }
      if (!std::isfinite(loss))
        throw_diverged(function, x, "a minibatch loss of " + describe(loss) + " at epoch " + std::to_string(epoch + 1) + ", minibatch " + std::to_string(b + 1));
      sum += loss;
      rows += xb.rows();
      if (fit.progress) fit.progress({epoch, fit.epochs, b, batches.size(), sum / double(rows)});
    }
    history.push_back(T(sum / double(x.rows())));
  }
  return history;
}

/// What a deep model's file stores: `stored_parameters()` where the model has fitted state beyond its
/// trainable parameters (a standardisation), else parameters().
template <class Model> auto file_parameters(Model& model) {
  if constexpr (requires { model.stored_parameters(); })
    return model.stored_parameters();
  else
    return model.parameters();
}
/// A deep model's options as its file header stores them (Options::fields): what the ranks of a
/// data-parallel fit compare.
template <class Model> std::string options_text(const Model& model) {
  io::StateWriter<typename Model::Scalar> options;
  options.options(model.options());
  return options.header();
}
/// The `save()` of a deep model: its parameters (file_parameters(), the one list of its state) and its
/// options (Options::fields, serialization/state.hpp) under its model_name, written atomically.
template <class Model> void save_model(const Model& model, const std::filesystem::path& path, nn::FileFormat format) {
  nn::save_parameters(path, file_parameters(model), format, {Model::model_name, options_text(model)});
}

/// The static `Model::load` of a deep model: reads the file, checks its type, rebuilds the model from the
/// options in its header (Options::fields) and moves the parameters in.
template <class Model> Model load_model(const std::filesystem::path& path, const char* function) {
  using T = typename Model::Scalar;
  io::ModelFile<T> file = io::read_model_file<T>(path, function);
  io::require_model(file, Model::model_name, path, function);
  typename Model::Options options;
  io::StateReader<T>(file, path, function).options(options);
  Rng unused(0);
  Model model = [&] {
    try {
      return Model(options, unused);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(function) + ": '" + path.string() + "' has bad options: " + e.what());
    }
  }();
  nn::assign_parameters(file, file_parameters(model), std::string(function) + ": '" + path.string() + "'");
  return model;
}

/// An exponential moving average of a model's parameters (GANFitOptions::generator_average,
/// DCGANFitOptions::generator_average; Yazıcı et al. 2019): θ̄ ← β·θ̄ + (1 − β)·θ after every update, from
/// θ̄ = the values when it is made; finish() writes θ̄ into the parameters. β = 0: nothing kept or done.
template <Real T> struct ParameterAverage {
  T beta;
  std::vector<Matrix<T>> values;  // θ̄ per parameter (empty when beta is 0)
  ParameterAverage(double b, const nn::ParameterList<T>& params) : beta(T(b)) {
    if (b > 0)
      for (const auto* p : params) values.push_back(p->value);
  }
  void update(const nn::ParameterList<T>& params) {
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = beta * values[i] + (T(1) - beta) * params[i]->value;
  }
  void finish(const nn::ParameterList<T>& params) const {
    for (std::size_t i = 0; i < values.size(); ++i) params[i]->value = values[i];
  }
  bool active() const noexcept { return !values.empty(); }
};

}  // namespace detail
}  // namespace pml
