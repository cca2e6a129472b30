#pragma once
/// @file
/// Saving and loading a model's parameters, in a versioned binary format or in JSON.
///
/// Binary (little-endian): the 8 bytes "PMLPARAM", u32 format version, u32 scalar size (4 = float,
/// 8 = double), u64 parameter count; per parameter u32 name length, the name, i64 rows, i64 cols and the
/// values in column-major order; finally a u64 FNV-1a checksum of everything before it.
/// JSON: {"format": "pml-parameters", "version": 1, "scalar": "float32"|"float64",
///        "parameters": [{"name": ..., "rows": ..., "cols": ..., "data": [column-major values]}]},
/// numbers written with std::to_chars (shortest form that reads back to the same bits).
/// Files are written to a temporary beside the target and renamed over it, so a crash never leaves a
/// half-written file. Loading checks everything before it changes any parameter.

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "pml/core/file.hpp"
#include "pml/core/json.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::nn {

enum class FileFormat : std::uint8_t { binary, json };

/// The newest parameter-file version this pml writes and reads.
inline constexpr std::uint32_t parameter_file_version = 1;

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

/// One parameter as read from a file, before it is checked against the model.
template <Real T> struct LoadedParameter {
  std::string name;
  Matrix<T> value;
};

template <Real T> std::vector<LoadedParameter<T>> read_binary(std::string_view bytes, const std::string& where) {
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
  if (fnv1a(bytes.substr(0, bytes.size() - 8)) != stored) throw std::runtime_error(where + " is corrupt (checksum mismatch)");
  const auto count = r.get<std::uint64_t>();
  if (count > r.remaining() / 20) throw std::runtime_error(where + " is corrupt (parameter count " + std::to_string(count) + ")");
  std::vector<LoadedParameter<T>> out(count);
  for (auto& p : out) {
    const auto len = r.get<std::uint32_t>();
    p.name = std::string(r.bytes(len));
    const auto rows = static_cast<std::int64_t>(r.get<std::uint64_t>());
    const auto cols = static_cast<std::int64_t>(r.get<std::uint64_t>());
    if (rows < 0 || cols < 0 || (cols > 0 && static_cast<std::uint64_t>(rows) > r.remaining() / scalar / static_cast<std::uint64_t>(cols)))
      throw std::runtime_error(where + " is corrupt (parameter '" + p.name + "' claims " + std::to_string(rows) + "x" + std::to_string(cols) + ")");
    p.value.resize(rows, cols);
    for (Index i = 0; i < p.value.size(); ++i)
      p.value(i) = scalar == 4 ? static_cast<T>(std::bit_cast<float>(r.get<std::uint32_t>()))
                               : static_cast<T>(std::bit_cast<double>(r.get<std::uint64_t>()));
  }
  if (r.remaining() != 8) throw std::runtime_error(where + " is corrupt (" + std::to_string(r.remaining() - 8) + " unexpected trailing bytes)");
  return out;
}

template <Real T> std::vector<LoadedParameter<T>> read_json(std::string_view text, const std::string& where) {
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
    std::vector<LoadedParameter<T>> out;
    for (const auto& item : field(doc, "parameters", json::Value::Kind::array).items) {
      LoadedParameter<T> p;
      p.name = field(item, "name", json::Value::Kind::string).text;
      const auto rows = field(item, "rows", json::Value::Kind::number).template as<std::int64_t>();
      const auto cols = field(item, "cols", json::Value::Kind::number).template as<std::int64_t>();
      const auto& data = field(item, "data", json::Value::Kind::array).items;
      if (rows < 0 || cols < 0 || static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols) != data.size())
        throw std::runtime_error(where + ": parameter '" + p.name + "' is " + std::to_string(rows) + "x" + std::to_string(cols) + " but has " +
                                 std::to_string(data.size()) + " values");
      p.value.resize(rows, cols);
      for (Index i = 0; i < p.value.size(); ++i)
        p.value(i) = scalar == "float32" ? static_cast<T>(data[static_cast<std::size_t>(i)].template as<float>())
                                         : static_cast<T>(data[static_cast<std::size_t>(i)].template as<double>());
      out.push_back(std::move(p));
    }
    return out;
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    if (msg.rfind(where, 0) == 0) throw;
    throw std::runtime_error(where + ": " + msg);
  }
}
}  // namespace detail

/// Writes the parameters' values to `path` (atomically: temporary file, then rename).
/// @throw std::runtime_error naming the path if the file cannot be written.
template <Real T> void save_parameters(const std::filesystem::path& path, const ParameterList<T>& params, FileFormat format = FileFormat::binary) {
  std::string out;
  if (format == FileFormat::binary) {
    out.append(detail::parameter_magic, 8);
    detail::put(out, parameter_file_version);
    detail::put(out, static_cast<std::uint32_t>(sizeof(T)));
    detail::put(out, static_cast<std::uint64_t>(params.size()));
    for (const auto* p : params) {
      detail::put(out, static_cast<std::uint32_t>(p->name.size()));
      out += p->name;
      detail::put(out, static_cast<std::uint64_t>(p->value.rows()));
      detail::put(out, static_cast<std::uint64_t>(p->value.cols()));
      for (Index i = 0; i < p->value.size(); ++i) detail::put_real(out, p->value(i));
    }
    detail::put(out, detail::fnv1a(out));
  } else {
    out = "{\"format\": \"pml-parameters\", \"version\": " + std::to_string(parameter_file_version) + ", \"scalar\": \"" +
          (sizeof(T) == 4 ? "float32" : "float64") + "\",\n \"parameters\": [";
    char buf[64];
    for (std::size_t k = 0; k < params.size(); ++k) {
      const auto* p = params[k];
      out += std::string(k ? ",\n  " : "\n  ") + "{\"name\": " + json::quote(p->name) + ", \"rows\": " + std::to_string(p->value.rows()) +
             ", \"cols\": " + std::to_string(p->value.cols()) + ", \"data\": [";
      for (Index i = 0; i < p->value.size(); ++i) {
        if (!std::isfinite(p->value(i)))
          throw std::domain_error("nn::save_parameters: parameter '" + p->name + "' has a non-finite value (JSON cannot hold it)");
        const auto res = std::to_chars(buf, buf + sizeof buf, p->value(i));
        if (i) out += ", ";
        out.append(buf, res.ptr);
      }
      out += "]}";
    }
    out += "\n]}\n";
  }
  write_file_atomically(path, out, "nn::save_parameters");
}

/// Reads `path` (binary or JSON, told apart by the first bytes) into `params`. Names, count and shapes must
/// match the model; a file saved from the other scalar type is converted. Nothing changes unless the whole
/// file is valid. @throw std::runtime_error naming the path and what is wrong.
template <Real T> void load_parameters(const std::filesystem::path& path, const ParameterList<T>& params) {
  const std::string where = "nn::load_parameters: '" + path.string() + "'";
  const std::string bytes = read_file(path, "nn::load_parameters");
  std::vector<detail::LoadedParameter<T>> loaded;
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), detail::parameter_magic, 8) == 0)
    loaded = detail::read_binary<T>(bytes, where);
  else if (bytes.find_first_not_of(" \t\r\n") != std::string::npos && bytes[bytes.find_first_not_of(" \t\r\n")] == '{')
    loaded = detail::read_json<T>(bytes, where);
  else
    throw std::runtime_error(where + " is not a pml parameter file");
  if (loaded.size() != params.size())
    throw std::runtime_error(where + " holds " + std::to_string(loaded.size()) + " parameters, the model has " + std::to_string(params.size()));
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto& p = *params[k];
    const auto& l = loaded[k];
    if (l.name != p.name) throw std::runtime_error(where + ": parameter " + std::to_string(k) + " is '" + l.name + "', the model expects '" + p.name + "'");
    if (l.value.rows() != p.value.rows() || l.value.cols() != p.value.cols())
      throw std::runtime_error(where + ": parameter '" + p.name + "' is " + std::to_string(l.value.rows()) + "x" + std::to_string(l.value.cols()) +
                               " in the file, " + std::to_string(p.value.rows()) + "x" + std::to_string(p.value.cols()) + " in the model");
    if (!l.value.allFinite()) throw std::runtime_error(where + ": parameter '" + p.name + "' has non-finite values");
  }
  for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = std::move(loaded[k].value);
}

}  // namespace pml::nn
