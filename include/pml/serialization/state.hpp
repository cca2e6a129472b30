#pragma once
/// @file
/// A model's stored state, declared once for both directions (save() and load()).
///
/// A model that keeps its state in a model file declares
///   - `static constexpr const char* model_name`, the type written in the file's header;
///   - in its Options struct, `template <class O, class V> static void fields(O& o, V&& v)`, which calls
///     `v("key", o.member)` (or `v("key", o.member, io::as_size)` for a component count or layer width)
///     for every stored option — numbers, flags, enums (by their name tables), strings, lists of sizes go
///     to the header's JSON object; vectors and matrices (a prior mean) are stored as matrices;
///   - a private `template <class Self, class Archive> static void state(Self& self, Archive& a)` that
///     lists the fitted state through the archive (`a.matrix`, `a.vector`, `a.scalars`, `a.factors`,
///     `a.blocks`, `a.history`, `a.option`, `a.require`), with `friend struct io::StateAccess;`.
/// `io::save_model(model, ...)` calls both with a StateWriter (Self = const Model), `io::load_model<Model>`
/// with a StateReader (Self = Model): the reader checks each matrix' shape and values against what the
/// declaration says and throws std::runtime_error naming the file, so the list of what is stored, its
/// names and its shapes are written once.

#include <deque>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Cholesky>

#include "pml/core/enum_names.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/types.hpp"
#include "pml/serialization/model_file.hpp"

namespace pml::io {

/// "Any size" for a dimension a StateReader does not check.
inline constexpr Index any = -1;

/// Marks an Index option as a size (a component count, a layer width): a StateReader refuses values
/// above the file's largest matrix dimension (io::OptionsReader::size).
struct AsSize {};
inline constexpr AsSize as_size{};  ///< see AsSize
/// Marks an option added after files of the model were first written: a StateReader leaves the
/// option at its value in the default-constructed Options when an older file does not have it, so such
/// files keep loading (and behave as they did).
struct AddedLater {};
inline constexpr AddedLater added_later{};  ///< see AddedLater

/// What a StateReader checks of a stored matrix' values beyond being finite (the writer ignores it).
enum class Values { finite, positive };

/// Opens a model's private `state()` to save_model and load_model (declare `friend struct io::StateAccess;`).
struct StateAccess {
  /// Runs Model::state(self, a) (Self is `const Model` when writing, `Model` when reading).
  template <class Self, class Archive> static void state(Self& self, Archive& a) { std::remove_const_t<Self>::state(self, a); }
};

namespace detail {
template <class U> inline constexpr bool is_eigen = std::is_base_of_v<Eigen::EigenBase<U>, U>;
template <class U> inline constexpr bool is_size_list = std::is_same_v<U, std::vector<Index>>;
}  // namespace detail

/// The writing side of a state declaration: collects the header's options and the matrices of a model.
template <Real T> class StateWriter {
 public:
  static constexpr bool reading = false;  ///< a state() may branch on this (e.g. to set derived members)

  /// Every option of `o` (Options::fields).
  template <class Options> void options(const Options& o) {
    Options::fields(o, [&](std::string_view key, const auto& value, auto... tag) { option(key, value, tag...); });
  }
  /// One stored option: into the header, or as a matrix for an Eigen vector or matrix.
  template <class U, class... Tag> void option(std::string_view key, const U& value, Tag...) {
    if constexpr (detail::is_eigen<U>) {
      owned(key, Matrix<T>(value.template cast<T>()));
    } else if constexpr (std::is_floating_point_v<U>) {
      header_.add(key, double(value));
    } else if constexpr (std::is_same_v<U, std::string>) {
      header_.add(key, value.c_str());
    } else {
      header_.add(key, value);
    }
  }
  /// A matrix of the state (rows, cols and values are checked by the reader only).
  void matrix(std::string_view name, const Matrix<T>& m, Index = any, Index = any, Values = Values::finite) { refs_.push_back({name, m}); }
  /// A vector, stored as a one-column matrix.
  void vector(std::string_view name, const Vector<T>& v, Index = any, Values = Values::finite) { owned(name, Matrix<T>(v)); }
  /// Scalars stored together as one column, in the order given.
  template <class... S> void scalars(std::string_view name, const S&... s) {
    Matrix<T> m(Index(sizeof...(S)), 1);
    Index i = 0;
    ((m(i++, 0) = T(s)), ...);
    owned(name, std::move(m));
  }
  /// Cholesky factorisations, stored as their lower factors stacked (count·d x d).
  void factors(std::string_view name, const std::vector<Eigen::LLT<Matrix<T>>>& chol, Index, Index d) {
    Matrix<T> out(static_cast<Index>(chol.size()) * d, d);
    for (std::size_t c = 0; c < chol.size(); ++c) out.middleRows(static_cast<Index>(c) * d, d) = chol[c].matrixL();
    owned(name, std::move(out));
  }
  /// Square blocks, stacked (count·d x d).
  void blocks(std::string_view name, const std::vector<Matrix<T>>& b, Index, Index d) {
    Matrix<T> out(static_cast<Index>(b.size()) * d, d);
    for (std::size_t c = 0; c < b.size(); ++c) out.middleRows(static_cast<Index>(c) * d, d) = b[c];
    owned(name, std::move(out));
  }
  /// A sequence (a training history), stored as one column.
  void history(std::string_view name, const std::vector<T>& h) {
    owned(name, Matrix<T>(Eigen::Map<const Vector<T>>(h.data(), static_cast<Index>(h.size()))));
  }
  /// A condition the reader checks once the state above it is read (ignored when writing).
  void require(bool, const char*) const noexcept {}

  /// The header's options, a JSON object, for io::write_model_file.
  std::string header() const { return header_.str(); }
  /// The matrices, for io::write_model_file (valid while this writer and the model live).
  const std::vector<NamedRef<T>>& matrices() const noexcept { return refs_; }

 private:
  void owned(std::string_view name, Matrix<T> m) {
    store_.push_back(std::move(m));
    refs_.push_back({name, store_.back()});
  }
  OptionsWriter header_;
  std::deque<Matrix<T>> store_;  // a deque: references to its elements stay valid as it grows
  std::vector<NamedRef<T>> refs_;
};

/// The reading side of a state declaration: fills a model from a loaded file, checking every shape and
/// value the declaration states. Every error is a std::runtime_error naming `function` and the file.
template <Real T> class StateReader {
 public:
  static constexpr bool reading = true;  ///< a state() may branch on this (e.g. to set derived members)

  /// A reader of `file`, loaded from `path` by `function` (both named in every error); all three must
  /// outlive the reader.
  StateReader(const ModelFile<T>& file, const std::filesystem::path& path, const char* function)
      : file_(file), path_(path), function_(function), header_(file, path, function) {}

  /// Every option of `o` (Options::fields).
  template <class Options> void options(Options& o) {
    Options::fields(o, [&](std::string_view key, auto& value, auto... tag) { option(key, value, tag...); });
  }
  /// One stored option, read from the header (or as a matrix for an Eigen vector or matrix).
  template <class U, class... Tag> void option(std::string_view key, U& value, Tag...) {
    if constexpr ((std::is_same_v<Tag, AddedLater> || ...)) {
      if (!header_.has(key)) return;  // an older file: the option keeps its default
    }
    if constexpr (detail::is_eigen<U>) {
      const Matrix<T>& m = io::matrix(file_, key, any, U::ColsAtCompileTime == 1 ? 1 : any, path_, function_);
      value = m.template cast<typename U::Scalar>();
    } else if constexpr (std::is_floating_point_v<U>) {
      value = header_.number<U>(key);
    } else if constexpr (std::is_same_v<U, bool>) {
      value = header_.flag(key);
    } else if constexpr (std::is_same_v<U, std::string>) {
      value = header_.text(key);
    } else if constexpr (detail::is_size_list<U>) {
      value = header_.sizes(key);
    } else if constexpr (NamedEnum<U>) {
      value = header_.choice<U>(key);
    } else if constexpr ((std::is_same_v<Tag, AsSize> || ...)) {
      value = static_cast<U>(header_.size(key));
    } else {
      value = header_.number<U>(key);
    }
  }
  /// The matrix `name`, rows x cols (io::any: not checked), finite, positive if asked.
  void matrix(std::string_view name, Matrix<T>& m, Index rows = any, Index cols = any, Values values = Values::finite) {
    m = checked(name, rows, cols, values);
  }
  /// The one-column matrix `name` as a vector of `size` entries (io::any: not checked).
  void vector(std::string_view name, Vector<T>& v, Index size = any, Values values = Values::finite) {
    v = checked(name, size, 1, values).col(0);
  }
  /// Scalars stored together as one column, in the order given.
  template <class... S> void scalars(std::string_view name, S&... s) {
    const Matrix<T>& m = checked(name, Index(sizeof...(S)), 1, Values::finite);
    Index i = 0;
    ((s = static_cast<S>(m(i++, 0))), ...);
  }
  /// `count` Cholesky factorisations from their stacked lower factors (count·d x d), each checked to be
  /// lower triangular with a positive diagonal.
  void factors(std::string_view name, std::vector<Eigen::LLT<Matrix<T>>>& chol, Index count, Index d) {
    const Matrix<T>& f = checked(name, count * d, d, Values::finite);
    chol.clear();
    for (Index c = 0; c < count; ++c) {
      const Matrix<T> l = f.middleRows(c * d, d);
      if (!l.template triangularView<Eigen::StrictlyUpper>().toDenseMatrix().isZero(0) || !(l.diagonal().array() > T(0)).all())
        fail("'" + std::string(name) + "' holds a factor that is not lower triangular with a positive diagonal");
      chol.push_back(llt_from_factor(l));
    }
  }
  /// `count` square d x d blocks from their stacked form (count·d x d).
  void blocks(std::string_view name, std::vector<Matrix<T>>& b, Index count, Index d) {
    const Matrix<T>& f = checked(name, count * d, d, Values::finite);
    b.clear();
    for (Index c = 0; c < count; ++c) b.push_back(f.middleRows(c * d, d));
  }
  /// A sequence stored as one column.
  void history(std::string_view name, std::vector<T>& h) {
    const Matrix<T>& m = checked(name, any, 1, Values::finite);
    h.assign(m.data(), m.data() + m.size());
  }
  /// @throw std::runtime_error naming the file and `what` unless `ok`.
  void require(bool ok, const char* what) const {
    if (!ok) fail(what);
  }

 private:
  const Matrix<T>& checked(std::string_view name, Index rows, Index cols, Values values) const {
    const Matrix<T>& m = io::matrix(file_, name, rows, cols, path_, function_);  // shape and finiteness
    if (values == Values::positive && !(m.array() > T(0)).all()) fail("'" + std::string(name) + "' has a value that is not positive");
    return m;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(std::string(function_) + ": '" + path_.string() + "': " + what);
  }
  const ModelFile<T>& file_;
  const std::filesystem::path& path_;
  const char* function_;
  OptionsReader header_;
};

/// Writes `model` to `path` from its declarations (Options::fields, then state()). `function` names
/// the caller in errors. @throw std::runtime_error if the file cannot be written.
template <template <class> class Model, Real T>
void save_model(const Model<T>& model, const std::filesystem::path& path, FileFormat format, const char* function) {
  StateWriter<T> w;
  w.options(model.options());
  StateAccess::state(model, w);
  write_model_file<T>(path, w.matrices(), format, {Model<T>::model_name, w.header()}, function);
}

/// A model read back from its declarations: the file is checked (type, options, every matrix' shape
/// and values), the model rebuilt from its options and its state filled in.
/// @throw std::runtime_error naming `function` and the path for anything wrong with the file.
template <class Model> Model load_model(const std::filesystem::path& path, const char* function) {
  using Options = std::remove_cvref_t<decltype(std::declval<const Model&>().options())>;
  using T = typename Model::Scalar;
  const ModelFile<T> file = read_model_file<T>(path, function);
  require_model(file, Model::model_name, path, function);
  StateReader<T> r(file, path, function);
  Options o;
  r.options(o);
  Model model = construct_model<Model>(o, path, function);
  StateAccess::state(model, r);
  return model;
}

}  // namespace pml::io
