#pragma once
/// @file
/// JSON for pml's model files, on nlohmann-json (Debian `nlohmann-json3-dev`, header-only): its SAX
/// parser reads the text and a small document (json::Value) keeps every number's literal text, so that a
/// float32 written with std::to_chars reads back bit for bit through std::from_chars (nlohmann's own DOM
/// holds numbers as double: a float would be rounded twice, and -0 would lose its sign), and so that the
/// model-file reader can check a matrix' claimed size before it converts a single value.

#include <charconv>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pml::json {

/// A parsed JSON value. Objects keep their members in file order.
struct Value {
  /// The type of a JSON value.
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;  ///< which of the six JSON types this value is
  bool boolean = false;  ///< the value of a boolean
  std::string text;  ///< a string's contents (UTF-8), or a number's literal text
  std::vector<Value> items;        ///< an array's elements; an object's member values
  std::vector<std::string> keys;   ///< an object's member names, in file order (keys[i] names items[i])
  // (two vectors rather than a vector of pair<string, Value>: a pair needs the complete Value, which
  // libstdc++ refuses under Clang inside Value's own definition)

  /// The member `key` of an object, or nullptr (the first one if a key is repeated).
  const Value* find(std::string_view key) const {
    if (kind != Kind::object) return nullptr;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &items[i];
    return nullptr;
  }
  /// A number as T (exact for text written by std::to_chars). @throw std::runtime_error if not a
  /// number, or if it does not fit T (an integer type given a fraction, or a value beyond T's range).
  template <class T> T as() const {
    if (kind != Kind::number) throw std::runtime_error("json: expected a number");
    T out{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size()) throw std::runtime_error("json: number '" + text + "' out of range");
    return out;
  }
};

/// Nesting deeper than this is refused (pml's files nest three levels).
inline constexpr std::size_t max_depth = 64;

namespace detail {
/// nlohmann-json's SAX events into a json::Value, numbers kept as text.
class ValueBuilder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  Value take() { return std::move(root_); }

  bool null() override { return put(Value{}); }
  bool boolean(bool b) override {
    Value v;
    v.kind = Value::Kind::boolean;
    v.boolean = b;
    return put(std::move(v));
  }
  bool number_integer(number_integer_t n) override { return number(std::to_string(n)); }
  bool number_unsigned(number_unsigned_t n) override { return number(std::to_string(n)); }
  bool number_float(number_float_t, const string_t& literal) override { return number(literal); }
  bool string(string_t& s) override {
    Value v;
    v.kind = Value::Kind::string;
    v.text = std::move(s);
    return put(std::move(v));
  }
  bool binary(binary_t&) override { throw std::runtime_error("json: binary values are not JSON text"); }
  bool start_object(std::size_t) override { return open(Value::Kind::object); }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Value::Kind::array); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at line 1, column 14: ..."
    if (const auto bracket = what.find("] "); what.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) what.erase(0, bracket + 2);
    // nlohmann's messages name the line and column; the others get the byte offset (counted from 0)
    if (what.find("column") == std::string::npos) what += " (at byte " + std::to_string(position > 0 ? position - 1 : 0) + ")";
    throw std::runtime_error("json: " + what);
  }

 private:
  bool number(std::string literal) {
    Value v;
    v.kind = Value::Kind::number;
    v.text = std::move(literal);
    return put(std::move(v));
  }
  bool put(Value&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Value& parent = *stack_.back();
    if (parent.kind == Value::Kind::object) parent.keys.push_back(std::move(key_));
    parent.items.push_back(std::move(v));
    return true;
  }
  bool open(Value::Kind kind) {
    if (stack_.size() >= max_depth) throw std::runtime_error("json: nesting deeper than " + std::to_string(max_depth));
    Value v;
    v.kind = kind;
    put(std::move(v));
    // the new container is the last item of its parent (or the root); no ancestor's items change while it is open
    stack_.push_back(stack_.empty() ? &root_ : &stack_.back()->items.back());
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }
  Value root_;
  std::vector<Value*> stack_;
  std::string key_;
};
}  // namespace detail

/// Parses a whole document (strict RFC 8259: one value, nothing after it but white space; strings must
/// be valid UTF-8). @throw std::runtime_error starting "json: " with what is wrong and the byte offset.
inline Value parse(std::string_view text) {
  detail::ValueBuilder builder;
  nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &builder);
  return builder.take();
}

/// `s` as a JSON string literal: quoted, with control characters and quotes escaped (nlohmann-json's
/// serializer; bytes that are not valid UTF-8 become U+FFFD so that the file always parses).
inline std::string quote(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pml::json
