#pragma once
/// @file
/// pml's model files: named matrices with a header naming the model type, its options (a JSON object),
/// the scalar type and the format version, in a checksummed binary format or in JSON.
///
/// Binary (little-endian): the 8 bytes "PMLPARAM", u32 format version, u32 scalar size (4 = float,
/// 8 = double), [version >= 2: u32 length + the model type, u32 length + the model's options as a JSON
/// object], u64 parameter count; per parameter u32 name length, the name, i64 rows, i64 cols and the
/// values in column-major order; finally a u64 FNV-1a checksum of everything before it.
/// JSON: {"format": "pml-parameters", "version": 2, "model": ..., "options": {...}, "scalar": "float32"|"float64",
///        "parameters": [{"name": ..., "rows": ..., "cols": ..., "data": [column-major values]}]},
/// numbers written with std::to_chars (shortest form that reads back to the same bits).
/// Files are written to a temporary beside the target and renamed over it, so a crash never leaves a
/// half-written file. Readers check the whole file (truncation, checksum, version, sizes) before they
/// return anything.

#include <bit>
#include <cmath>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "pml/core/enum_names.hpp"
#include "pml/core/file.hpp"
#include "pml/serialization/json.hpp"
#include "pml/core/types.hpp"
#include <algorithm>
#include <array>
#include <limits>
#include <type_traits>

namespace pml::io {

/// The two encodings of a model file: checksummed little-endian binary, or JSON (readable, diffable).
enum class FileFormat : std::uint8_t { binary, json };

/// The newest parameter-file version this pml writes and reads (1: parameters only; 2: with the model
/// type and its options in the header).
inline constexpr std::uint32_t parameter_file_version = 2;

/// What a file says about the model it holds: its type (e.g. "GaussianMixture") and its options as a
/// JSON object, so that a loader can rebuild the model and refuse a file of another type.
struct ModelHeader {
  std::string model;  ///< the model type, e.g. "GaussianMixture" (empty: parameters only)
  /// the model's options as a JSON object
  std::string options = "{}";
};

/// A named matrix as read from a file.
template <Real T> struct NamedMatrix {
  std::string name;  ///< the matrix' name in the file
  Matrix<T> value;  ///< its values
};

namespace detail {
inline constexpr char parameter_magic[8] = {'P', 'M', 'L', 'P', 'A', 'R', 'A', 'M'};

inline std::uint64_t fnv1a(std::string_view bytes) noexcept {
  std::uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}
template <class U> void put(std::string& out, U v) {  // unsigned integer, little-endian
  for (std::size_t i = 0; i < sizeof(U); ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
/// v as JSON number text: std::to_chars' shortest form that reads back to the same bits, and "-0.0" for
/// a negative zero (a JSON reader takes "-0" for the integer 0).
template <Real S> void append_number(std::string& out, S v, char (&buf)[64]) {
  if (v == S(0) && std::signbit(v)) {
    out += "-0.0";
    return;
  }
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}
template <Real S> void put_real(std::string& out, S v) {
  if constexpr (sizeof(S) == 4) put(out, std::bit_cast<std::uint32_t>(v));
  else put(out, std::bit_cast<std::uint64_t>(v));
}

/// A bounds-checked little-endian reader over a file's bytes.
class Reader {
 public:
  Reader(std::string_view bytes, std::string where) : b_(bytes), where_(std::move(where)) {}
  template <class U> U get() {
    need(sizeof(U));
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) v |= U(static_cast<unsigned char>(b_[pos_ + i])) << (8 * i);
    pos_ += sizeof(U);
    return v;
  }
  std::string_view bytes(std::size_t n) {
    need(n);
    const auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(std::size_t n) const {
    if (n > b_.size() - pos_)
      throw std::runtime_error(where_ + " is truncated or corrupt (needs " + std::to_string(n) + " more bytes at offset " +
                               std::to_string(pos_) + ", has " + std::to_string(b_.size() - pos_) + ")");
  }
  std::size_t position() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return b_.size() - pos_; }

 private:
  std::string_view b_;
  std::string where_;
  std::size_t pos_ = 0;
};

/// A whole file: the header (empty model type for version-1 files) and the parameters.
template <Real T> struct ModelFile {
  std::string model;
  json::Value options;
  std::vector<NamedMatrix<T>> parameters;
};

inline json::Value parse_options(std::string_view text, const std::string& where) {
  try {
    json::Value v = json::parse(text);
    if (v.kind != json::Value::Kind::object) throw std::runtime_error("json: the options are not an object");
    return v;
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(where + " is corrupt (model options: " + e.what() + ")");
  }
}

template <Real T> ModelFile<T> read_binary(std::string_view bytes, const std::string& where) {
  Reader r(bytes, where);
  r.bytes(8);
  const auto version = r.get<std::uint32_t>();
  if (version == 0 || version > parameter_file_version)
    throw std::runtime_error(where + " has format version " + std::to_string(version) + "; this pml reads versions 1.." +
                             std::to_string(parameter_file_version));
  const auto scalar = r.get<std::uint32_t>();
  if (scalar != 4 && scalar != 8) throw std::runtime_error(where + " has scalar size " + std::to_string(scalar) + " (expected 4 or 8)");
  const std::uint64_t stored = [&] {
    Reader tail(bytes.substr(bytes.size() - 8), where);
    return tail.get<std::uint64_t>();
  }();
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // the fuzzer's mutations must reach the parser below
  if (fnv1a(bytes.substr(0, bytes.size() - 8)) != stored) throw std::runtime_error(where + " is corrupt (checksum mismatch)");
#else
  (void)stored;
#endif
  ModelFile<T> file;
  if (version >= 2) {
    file.model = std::string(r.bytes(r.get<std::uint32_t>()));
    file.options = parse_options(r.bytes(r.get<std::uint32_t>()), where);
  }
  const auto count = r.get<std::uint64_t>();
  if (count > r.remaining() / 20) throw std::runtime_error(where + " is corrupt (parameter count " + std::to_string(count) + ")");
  std::vector<NamedMatrix<T>>& out = file.parameters;
  out.resize(count);
  for (auto& p : out) {
    const auto len = r.get<std::uint32_t>();
    p.name = std::string(r.bytes(len));
    const auto rows = static_cast<std::int64_t>(r.get<std::uint64_t>());
    const auto cols = static_cast<std::int64_t>(r.get<std::uint64_t>());
    // each dimension at most the bytes left (an empty 0 x N matrix cannot claim an absurd N either), and
    // the values must fit in them
    if (rows < 0 || cols < 0 || static_cast<std::uint64_t>(rows) > r.remaining() || static_cast<std::uint64_t>(cols) > r.remaining() ||
        (cols > 0 && static_cast<std::uint64_t>(rows) > r.remaining() / scalar / static_cast<std::uint64_t>(cols)))
      throw std::runtime_error(where + " is corrupt (parameter '" + p.name + "' claims " + std::to_string(rows) + "x" + std::to_string(cols) + ")");
    p.value.resize(rows, cols);
    for (Index i = 0; i < p.value.size(); ++i)
      p.value(i) = scalar == 4 ? static_cast<T>(std::bit_cast<float>(r.get<std::uint32_t>()))
                               : static_cast<T>(std::bit_cast<double>(r.get<std::uint64_t>()));
  }
  if (r.remaining() != 8) throw std::runtime_error(where + " is corrupt (" + std::to_string(r.remaining() - 8) + " unexpected trailing bytes)");
  return file;
}

template <Real T> ModelFile<T> read_json(std::string_view text, const std::string& where) {
  json::Value doc;
  try {
    doc = json::parse(text);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
  auto field = [&](const json::Value& obj, std::string_view key, json::Value::Kind kind) -> const json::Value& {
    const json::Value* v = obj.find(key);
    if (v == nullptr || v->kind != kind) throw std::runtime_error(where + ": missing or mistyped field '" + std::string(key) + "'");
    return *v;
  };
  if (doc.kind != json::Value::Kind::object || field(doc, "format", json::Value::Kind::string).text != "pml-parameters")
    throw std::runtime_error(where + " is not a pml parameter file (no \"format\": \"pml-parameters\")");
  try {
    const auto version = field(doc, "version", json::Value::Kind::number).template as<std::uint32_t>();
    if (version == 0 || version > parameter_file_version)
      throw std::runtime_error(where + " has format version " + std::to_string(version) + "; this pml reads versions 1.." +
                               std::to_string(parameter_file_version));
    const std::string& scalar = field(doc, "scalar", json::Value::Kind::string).text;
    if (scalar != "float32" && scalar != "float64") throw std::runtime_error(where + ": unknown scalar '" + scalar + "'");
    ModelFile<T> file;
    if (version >= 2) {
      file.model = field(doc, "model", json::Value::Kind::string).text;
      file.options = field(doc, "options", json::Value::Kind::object);
    }
    std::vector<NamedMatrix<T>>& out = file.parameters;
    for (const auto& item : field(doc, "parameters", json::Value::Kind::array).items) {
      NamedMatrix<T> p;
      p.name = field(item, "name", json::Value::Kind::string).text;
      const auto rows = field(item, "rows", json::Value::Kind::number).template as<std::int64_t>();
      const auto cols = field(item, "cols", json::Value::Kind::number).template as<std::int64_t>();
      const auto& data = field(item, "data", json::Value::Kind::array).items;
      if (rows < 0 || cols < 0 || static_cast<std::uint64_t>(rows) > text.size() || static_cast<std::uint64_t>(cols) > text.size() ||
          static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols) != data.size())
        throw std::runtime_error(where + ": parameter '" + p.name + "' is " + std::to_string(rows) + "x" + std::to_string(cols) + " but has " +
                                 std::to_string(data.size()) + " values");
      p.value.resize(rows, cols);
      for (Index i = 0; i < p.value.size(); ++i)
        p.value(i) = scalar == "float32" ? static_cast<T>(data[static_cast<std::size_t>(i)].template as<float>())
                                         : static_cast<T>(data[static_cast<std::size_t>(i)].template as<double>());
      out.push_back(std::move(p));
    }
    return file;
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    if (msg.rfind(where, 0) == 0) throw;
    throw std::runtime_error(where + ": " + msg);
  }
}
}  // namespace detail

/// A whole file as read: the header (empty model type for version-1 files) and the matrices.
template <Real T> using ModelFile = detail::ModelFile<T>;


/// A named matrix to write (the matrix must outlive the call).
template <Real T> struct NamedRef {
  std::string_view name;  ///< the matrix' name in the file
  const Matrix<T>& value;  ///< its values (not copied)
};

/// Writes named matrices to `path` (atomically: temporary file, then rename), with the model's type and
/// options in the header. `function` names the caller in error messages.
/// @throw std::runtime_error naming the path if the file cannot be written; std::invalid_argument if the
///        header's options are not a JSON object.
template <Real T>
void write_model_file(const std::filesystem::path& path, const std::vector<NamedRef<T>>& params, FileFormat format, const ModelHeader& header,
                      const char* function) {
  detail::parse_options(header.options, std::string(function) + ": the header");  // refuse to write what could not be read
  std::string out;
  if (format == FileFormat::binary) {
    out.append(detail::parameter_magic, 8);
    detail::put(out, parameter_file_version);
    detail::put(out, static_cast<std::uint32_t>(sizeof(T)));
    detail::put(out, static_cast<std::uint32_t>(header.model.size()));
    out += header.model;
    detail::put(out, static_cast<std::uint32_t>(header.options.size()));
    out += header.options;
    detail::put(out, static_cast<std::uint64_t>(params.size()));
    for (const auto& p : params) {
      detail::put(out, static_cast<std::uint32_t>(p.name.size()));
      out += p.name;
      detail::put(out, static_cast<std::uint64_t>(p.value.rows()));
      detail::put(out, static_cast<std::uint64_t>(p.value.cols()));
      for (Index i = 0; i < p.value.size(); ++i) detail::put_real(out, p.value(i));
    }
    detail::put(out, detail::fnv1a(out));
  } else {
    out = "{\"format\": \"pml-parameters\", \"version\": " + std::to_string(parameter_file_version) + ", \"model\": " + json::quote(header.model) +
          ", \"options\": " + header.options + ", \"scalar\": \"" + (sizeof(T) == 4 ? "float32" : "float64") + "\",\n \"parameters\": [";
    char buf[64];
    for (std::size_t k = 0; k < params.size(); ++k) {
      const auto& p = params[k];
      out += std::string(k ? ",\n  " : "\n  ") + "{\"name\": " + json::quote(p.name) + ", \"rows\": " + std::to_string(p.value.rows()) +
             ", \"cols\": " + std::to_string(p.value.cols()) + ", \"data\": [";
      for (Index i = 0; i < p.value.size(); ++i) {
        if (!std::isfinite(p.value(i)))
          throw std::domain_error(std::string(function) + ": parameter '" + std::string(p.name) + "' has a non-finite value (JSON cannot hold it)");
        if (i) out += ", ";
        detail::append_number(out, p.value(i), buf);
      }
      out += "]}";
    }
    out += "\n]}\n";
  }
  write_file_atomically(path, out, function);
}

/// Reads a whole parameter file (binary or JSON, told apart by the first bytes), checked for
/// truncation, corruption and version, but not against any model. For loaders that rebuild a model from
/// the header. @throw std::runtime_error naming the path and what is wrong.
template <Real T> ModelFile<T> read_model_file(const std::filesystem::path& path, const char* function = "io::read_model_file") {
  const std::string where = std::string(function) + ": '" + path.string() + "'";
  const std::string bytes = read_file(path, function);
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), detail::parameter_magic, 8) == 0) return detail::read_binary<T>(bytes, where);
  const auto first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && bytes[first] == '{') return detail::read_json<T>(bytes, where);
  throw std::runtime_error(where + " is not a pml model or parameter file");
}

/// A number as JSON text (shortest form that reads back to the same double).
inline std::string json_number(double v) {
  char buf[64];
  std::string out;
  detail::append_number(out, v, buf);
  return out;
}

/// The model type check of a static `Model::load`: @throw std::runtime_error naming the path unless the
/// file holds a `model`.
template <Real T> void require_model(const ModelFile<T>& file, std::string_view model, const std::filesystem::path& path, const char* function) {
  if (file.model != model)
    throw std::runtime_error(std::string(function) + ": '" + path.string() + "' holds " +
                             (file.model.empty() ? std::string("parameters without a model type") : "a " + file.model) + ", not a " + std::string(model));
}
/// Model(options) for a static `Model::load`: options a file holds that the model refuses become a
/// std::runtime_error naming the path.
template <class Model, class Options> Model construct_model(const Options& options, const std::filesystem::path& path, const char* function) {
  try {
    return Model(options);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(function) + ": '" + path.string() + "' has bad options: " + e.what());
  }
}
/// Option `key` of a loaded file as U. @throw std::runtime_error naming the path when missing or mistyped.
template <class U> U option(const json::Value& options, std::string_view key, const std::filesystem::path& path, const char* function) {
  const json::Value* v = options.find(key);
  try {
    if (v == nullptr) throw std::runtime_error("missing");
    if constexpr (std::is_same_v<U, std::string>) {
      if (v->kind != json::Value::Kind::string) throw std::runtime_error("not a string");
      return v->text;
    } else {
      return v->template as<U>();
    }
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(function) + ": '" + path.string() + "' has a bad option '" + std::string(key) + "' (" + e.what() + ")");
  }
}
/// Builds a model's options as a JSON object for its file header.
class OptionsWriter {
 public:
  OptionsWriter& add(std::string_view key, double v) { return raw(key, json_number(v)); }  ///< Adds a number (written to round-trip exactly).
  OptionsWriter& add(std::string_view key, Index v) { return raw(key, std::to_string(v)); }  ///< Adds an integer.
  OptionsWriter& add(std::string_view key, int v) { return raw(key, std::to_string(v)); }  ///< Adds an integer.
  OptionsWriter& add(std::string_view key, bool v) { return raw(key, v ? "true" : "false"); }  ///< Adds true or false.
  OptionsWriter& add(std::string_view key, const char* v) { return raw(key, json::quote(v)); }  ///< Adds a string (quoted and escaped).
  /// Adds an enumerator by its name (core/enum_names.hpp), the spelling the command line uses too.
  template <NamedEnum E> OptionsWriter& add(std::string_view key, E v) { return add(key, std::string(enum_name(v)).c_str()); }
  /// Adds a list of sizes, e.g. hidden layer widths.
  OptionsWriter& add(std::string_view key, const std::vector<Index>& v) {
    std::string list = "[";
    for (std::size_t i = 0; i < v.size(); ++i) list += (i ? ", " : "") + std::to_string(v[i]);
    return raw(key, list + "]");
  }
  /// The JSON object text.
  std::string str() const { return text_ + "}"; }

 private:
  OptionsWriter& raw(std::string_view key, const std::string& value) {
    text_ += (text_.size() > 1 ? ", " : "") + json::quote(key) + ": " + value;
    return *this;
  }
  std::string text_ = "{";
};

/// The largest row or column count of any matrix in a loaded file: no layer size or component count
/// of the model it holds can exceed it.
template <Real T> Index largest_dimension(const ModelFile<T>& file) noexcept {
  Index out = 0;
  for (const auto& m : file.parameters) out = std::max({out, m.value.rows(), m.value.cols()});
  return out;
}

/// Reads options back from a loaded file's header, naming the file in every error.
class OptionsReader {
 public:
  /// Options of a file whose sizes are not checked against its matrices.
  OptionsReader(const json::Value& options, const std::filesystem::path& path, const char* function)
      : o_(options), path_(path), function_(function), size_limit_(std::numeric_limits<Index>::max()) {}
  /// Options of `file`: size() and sizes() refuse values above largest_dimension(file), so a corrupted
  /// size cannot make a loader allocate a model far larger than the file.
  template <Real T>
  OptionsReader(const ModelFile<T>& file, const std::filesystem::path& path, const char* function)
      : o_(file.options), path_(path), function_(function), size_limit_(largest_dimension(file)) {}
  /// A number option as U.
  template <class U> U number(std::string_view key) const { return option<U>(o_, key, path_, function_); }
  /// Whether the file has option `key` at all (for options added after a model's first files).
  bool has(std::string_view key) const { return o_.find(key) != nullptr; }
  /// A size option (a layer width, a number of components): in [0, the file's largest matrix dimension].
  Index size(std::string_view key) const {
    const Index v = number<Index>(key);
    if (v < 0 || v > size_limit_)
      fail(key, std::to_string(v) + " is not a size the file's matrices (at most " + std::to_string(size_limit_) + " rows or columns) can hold");
    return v;
  }
  std::string text(std::string_view key) const { return option<std::string>(o_, key, path_, function_); }  ///< A string option.
  /// A true/false option.
  bool flag(std::string_view key) const {
    const json::Value* v = o_.find(key);
    if (v == nullptr || v->kind != json::Value::Kind::boolean) fail(key, "not true or false");
    return v->boolean;
  }
  /// A list of sizes (hidden layer widths), each checked like size().
  std::vector<Index> sizes(std::string_view key) const {
    const json::Value* v = o_.find(key);
    if (v == nullptr || v->kind != json::Value::Kind::array) fail(key, "not a list");
    std::vector<Index> out;
    for (const auto& item : v->items) {
      try {
        out.push_back(item.template as<Index>());
      } catch (const std::runtime_error& e) { fail(key, e.what()); }
      if (out.back() < 0 || out.back() > size_limit_)
        fail(key, std::to_string(out.back()) + " is not a size the file's matrices (at most " + std::to_string(size_limit_) + " rows or columns) can hold");
    }
    return out;
  }
  /// An enumerator stored by its name in the enum's name table (core/enum_names.hpp).
  template <NamedEnum E> E choice(std::string_view key) const {
    const std::string t = text(key);
    if (const auto e = enum_from_name<E>(t)) return *e;
    fail(key, "unknown value '" + t + "', expected " + enum_choices<E>());
  }

 private:
  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw std::runtime_error(std::string(function_) + ": '" + path_.string() + "' has a bad option '" + std::string(key) + "' (" + what + ")");
  }
  const json::Value& o_;
  const std::filesystem::path& path_;
  const char* function_;
  Index size_limit_;
};

/// The matrix `name` of a loaded file, which must be rows x cols (-1: any) and finite.
/// @throw std::runtime_error naming the path otherwise.
template <Real T>
const Matrix<T>& matrix(const ModelFile<T>& file, std::string_view name, Index rows, Index cols, const std::filesystem::path& path, const char* function) {
  for (const auto& m : file.parameters)
    if (m.name == name) {
      if ((rows >= 0 && m.value.rows() != rows) || (cols >= 0 && m.value.cols() != cols))
        throw std::runtime_error(std::string(function) + ": '" + path.string() + "': '" + std::string(name) + "' is " + std::to_string(m.value.rows()) +
                                 "x" + std::to_string(m.value.cols()) + ", expected " + (rows >= 0 ? std::to_string(rows) : "any") + "x" +
                                 (cols >= 0 ? std::to_string(cols) : "any"));
      if (!m.value.allFinite())
        throw std::runtime_error(std::string(function) + ": '" + path.string() + "': '" + std::string(name) + "' has non-finite values");
      return m.value;
    }
  throw std::runtime_error(std::string(function) + ": '" + path.string() + "' has no '" + std::string(name) + "'");
}

}  // namespace pml::io
