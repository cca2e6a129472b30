#pragma once
/// @file
/// A small JSON reader for pml's own files (parameter files, model headers). Numbers keep their text,
/// so that a float written with std::to_chars reads back bit for bit through std::from_chars.

#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pml::json {

/// A parsed JSON value. Objects keep their members in file order.
struct Value {
  /// The type of a JSON value.
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;  ///< which of the six JSON types this value is
  bool boolean = false;  ///< the value of a boolean
  std::string text;  ///< a string's contents, or a number's literal text
  std::vector<Value> items;        ///< an array's elements; an object's member values
  std::vector<std::string> keys;   ///< an object's member names, in file order (keys[i] names items[i])
  // (two vectors rather than a vector of pair<string, Value>: a pair needs the complete Value, which
  // libstdc++ refuses under Clang inside Value's own definition)

  /// The member `key` of an object, or nullptr.
  const Value* find(std::string_view key) const {
    if (kind != Kind::object) return nullptr;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &items[i];
    return nullptr;
  }
  /// A number as T (exact for text written by std::to_chars). @throw std::runtime_error if not a number.
  template <class T> T as() const {
    if (kind != Kind::number) throw std::runtime_error("json: expected a number");
    T out{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size()) throw std::runtime_error("json: number '" + text + "' out of range");
    return out;
  }
};

namespace detail {
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}
  Value document() {
    Value v = value(0);
    skip();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("json: " + what + " at byte " + std::to_string(i_));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  Value value(int depth) {
    if (depth > 64) fail("nesting deeper than 64");
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    Value v;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.kind = Value::Kind::object;
      if (eat('}')) return v;
      do {
        skip();
        std::string key = string();
        expect(':');
        v.keys.push_back(std::move(key));
        v.items.push_back(value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = Value::Kind::array;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Value::Kind::string;
      v.text = string();
    } else if (literal("true")) {
      v.kind = Value::Kind::boolean;
      v.boolean = true;
    } else if (literal("false")) {
      v.kind = Value::Kind::boolean;
    } else if (literal("null")) {
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const std::size_t start = i_;
      while (i_ < s_.size() && (std::string_view("+-.eE").find(s_[i_]) != std::string_view::npos || (s_[i_] >= '0' && s_[i_] <= '9'))) ++i_;
      v.kind = Value::Kind::number;
      v.text = std::string(s_.substr(start, i_ - start));
      double probe;
      const auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), probe);
      if (end != v.text.data() + v.text.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) fail("malformed number");
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  std::string string() {
    if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string");
    ++i_;
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated string");
      const char e = s_[i_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        default: fail("unsupported escape");  // \u is not needed by pml's files
      }
    }
  }
  std::string_view s_;
  std::size_t i_ = 0;
};
}  // namespace detail

/// Parses a whole document. @throw std::runtime_error with the byte offset of the first error.
inline Value parse(std::string_view text) { return detail::Parser(text).document(); }

/// `s` as a JSON string literal (quotes and escapes).
inline std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

}  // namespace pml::json
