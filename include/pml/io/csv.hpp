#pragma once
/// @file
/// Numeric CSV tables: reading (header detection that never drops a data row, any one-character
/// delimiter, LF, CRLF or CR line ends, a UTF-8 byte-order mark, NaN for missing values, errors with
/// line and column) and atomic writing. The rules are in docs/csv-and-files.md.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pml/core/file.hpp"
#include "pml/core/types.hpp"

namespace pml::io {

/// How read_csv() treats the first non-blank line.
enum class Header : std::uint8_t {
  detect,  ///< a header when every field is a name (not a number, not a missing-value marker); a line
           ///< of numbers is data; a line that mixes numbers and names, or holds a field that looks like
           ///< a number but cannot be read (`1e400`, `2.o`), is an error asking for yes or no
  yes,     ///< always a header (its fields are the column names, whatever they look like)
  no       ///< never a header: the first line is data
};

/// Options of read_csv().
struct CsvOptions {
  char delimiter = ',';            ///< field separator (not a quote, line end, digit, '.', '+', '-', 'e' or 'E')
  Header header = Header::detect;  ///< whether the first line holds the column names
};

/// A numeric table: column names (from the header, or "x0", "x1", ...) and one row per data line.
template <Real T> struct CsvTable {
  std::vector<std::string> columns;  ///< column names
  Matrix<T> data;                    ///< the values, NaN where a field was empty or missing
};

namespace detail {

/// What a field holds.
enum class FieldKind : std::uint8_t { number, missing, name, malformed, overflow };

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Case-insensitive equality with a lower-case word.
inline bool equals_lower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((s[i] >= 'A' && s[i] <= 'Z' ? char(s[i] - 'A' + 'a') : s[i]) != lower[i]) return false;
  return true;
}

/// Splits one line into fields. A field may be quoted ("a,b" and "say ""hi""" as in RFC 4180, on one
/// line); blanks around a field are dropped unless the delimiter is a blank. Returns an empty string or
/// the reason the line cannot be split (an unterminated quote, text after a closing quote).
inline std::string split_fields(std::string_view line, char delimiter, std::vector<std::string>& fields) {
  fields.clear();
  std::size_t pos = 0;
  const std::size_t n = line.size();
  auto skip_blanks = [&] {
    while (pos < n && is_blank(line[pos]) && line[pos] != delimiter) ++pos;
  };
  while (true) {
    skip_blanks();
    std::string field;
    if (pos < n && line[pos] == '"') {
      const std::size_t open = pos++;
      bool closed = false;
      while (pos < n) {
        if (line[pos] == '"') {
          if (pos + 1 < n && line[pos + 1] == '"') {
            field += '"';
            pos += 2;
            continue;
          }
          ++pos;
          closed = true;
          break;
        }
        field += line[pos++];
      }
      if (!closed) return "column " + std::to_string(fields.size() + 1) + ": the quote at character " + std::to_string(open + 1) + " is not closed";
      skip_blanks();
      if (pos < n && line[pos] != delimiter)
        return "column " + std::to_string(fields.size() + 1) + ": text after the closing quote at character " + std::to_string(pos);
    } else {
      const std::size_t end = std::min(line.find(delimiter, pos), n);
      std::string_view raw = line.substr(pos, end - pos);
      if (!is_blank(delimiter)) raw = trim_blanks(raw);
      field.assign(raw);
      pos = end;
    }
    fields.push_back(std::move(field));
    if (pos >= n) return {};
    ++pos;  // the delimiter
  }
}

/// Reads one field by the number rule of read_csv() (see docs/csv-and-files.md): blanks around it
/// ignored; missing markers (empty, `?`, `NA`, `N/A`, `NaN` in any case, with or without a sign) give
/// NaN; `inf`/`infinity` in any case with an optional sign give ±inf; otherwise one optional sign and
/// a decimal number `d`, `d.`, `.d`, `d.d` with an optional exponent, read whole with IEEE rounding to
/// nearest (as std::from_chars): a value below the smallest subnormal reads as ±0, a subnormal as
/// itself, and a value beyond the largest finite T is `overflow`. Anything else that starts like a
/// number (a digit, or '.' and a digit, after signs) is `malformed`; the rest is a `name`.
template <Real T> FieldKind read_field(std::string_view f, T& out) {
  f = trim_blanks(f);
  std::string_view body = f;
  bool negative = false;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (f.empty() || f == "?" || equals_lower(f, "na") || equals_lower(f, "n/a") || equals_lower(body, "nan")) {
    out = std::numeric_limits<T>::quiet_NaN();
    return FieldKind::missing;
  }
  if (equals_lower(body, "inf") || equals_lower(body, "infinity")) {
    out = negative ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    return FieldKind::number;
  }
  const bool starts_like_number = !body.empty() && ((body[0] >= '0' && body[0] <= '9') || (body[0] == '.' && body.size() > 1 && body[1] >= '0' && body[1] <= '9'));
  if (!starts_like_number) {
    std::string_view rest = body;  // "+-2", "--3": signs then a digit still look like a number
    while (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) rest.remove_prefix(1);
    const bool numeric_after_signs = !rest.empty() && ((rest[0] >= '0' && rest[0] <= '9') || rest[0] == '.');
    return numeric_after_signs && rest.size() < body.size() ? FieldKind::malformed : FieldKind::name;
  }
  // only digits, one '.', and one exponent: from_chars alone would also take "nan(...)", hex and so on
  std::size_t i = 0, mantissa_end = 0;
  bool dot = false;
  for (; i < body.size() && ((body[i] >= '0' && body[i] <= '9') || (body[i] == '.' && !dot)); ++i)
    if (body[i] == '.') dot = true;
  mantissa_end = i;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    const std::size_t digits = i;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i;
    if (i == digits) return FieldKind::malformed;
  }
  if (i != body.size()) return FieldKind::malformed;
  T value{};
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value, std::chars_format::general);
  if (end != body.data() + body.size()) return FieldKind::malformed;
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports both overflow and underflow: the position of the leading digit tells which
    long long lead = 0;  // decimal exponent of the first non-zero digit
    bool seen_dot = false, found = false;
    long long position = 0;  // digits before the point, counted until the first non-zero digit
    for (std::size_t k = 0; k < mantissa_end; ++k) {
      if (body[k] == '.') {
        seen_dot = true;
        continue;
      }
      if (!found && body[k] != '0') {
        found = true;
        lead = seen_dot ? -(position + 1) : 0;
        if (!seen_dot) {
          long long before = 0;  // digits from here to the point
          for (std::size_t m = k; m < mantissa_end && body[m] != '.'; ++m) ++before;
          lead = before - 1;
        }
        break;
      }
      if (seen_dot) ++position;
    }
    long long exponent = 0;
    if (mantissa_end < body.size()) {
      std::size_t k = mantissa_end + 1;
      const bool minus = body[k] == '-';
      if (body[k] == '+' || body[k] == '-') ++k;
      for (; k < body.size(); ++k) exponent = std::min<long long>(exponent * 10 + (body[k] - '0'), 1000000000LL);
      if (minus) exponent = -exponent;
    }
    if (lead + exponent > 0) return FieldKind::overflow;
    out = negative ? -T(0) : T(0);
    return FieldKind::number;
  }
  if (ec != std::errc()) return FieldKind::malformed;
  out = negative ? -value : value;
  return FieldKind::number;
}

/// "cannot read 'FIELD' as a number" with a hint for the usual causes.
template <Real T> std::string unreadable(std::string_view field, FieldKind kind) {
  std::string shown(field.substr(0, 60));
  if (field.size() > 60) shown += "...";
  std::string out = "cannot read '" + shown + "' as a number";
  if (kind == FieldKind::overflow) {
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, std::numeric_limits<T>::max());
    out += ": its magnitude is beyond the largest " + std::string(sizeof(T) == 4 ? "float" : "double") + " (" + std::string(buf, res.ptr) + ")";
  } else if (kind == FieldKind::malformed && field.find(',') != std::string_view::npos) {
    out += " (the decimal point is '.')";
  }
  return out;
}

}  // namespace detail

/// Whether read_csv() accepts `c` as the delimiter: any character but a quote, CR, LF, NUL, a digit,
/// '.', '+', '-', 'e' and 'E' (which would make fields ambiguous).
inline bool is_valid_delimiter(char c) {
  return !(c == '"' || c == '\n' || c == '\r' || c == '\0' || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E');
}

/// Reads a numeric CSV file.
///
/// Lines end in LF, CRLF or CR; a UTF-8 byte-order mark is skipped; blank lines are skipped; fields may
/// be quoted. Numbers follow detail::read_field(): IEEE rounding to nearest, the whole field read, one
/// optional sign, blanks around the field ignored; underflow reads as 0 or a subnormal, overflow is an
/// error; missing fields (empty, `?`, `NA`, `N/A`, `NaN`) become NaN and `inf`/`infinity` ±inf.
/// The first line is a header according to `options.header` (Header::detect never takes a line with a
/// number or a number-like field as the header).
/// @tparam T the scalar (float or double; ranges and rounding are T's)
/// @param path    the file
/// @param options delimiter and header choice
/// @return the column names and an N x D matrix
/// @throw std::invalid_argument if the delimiter is one of `"`, CR, LF, NUL, a digit, '.', '+', '-',
///        'e' or 'E'.
/// @throw std::runtime_error naming the file (and the line and column) if it cannot be read, is binary
///        or UTF-16 (a NUL byte or a UTF-16/32 byte-order mark), has no data rows, has a field that is
///        not a number or a missing marker, a number beyond T's range, a row with the wrong number of
///        fields, an unterminated quote, or (Header::detect) a first line that is not clearly a header
///        or data.
template <Real T> CsvTable<T> read_csv(const std::filesystem::path& path, const CsvOptions& options = {}) {
  const char d = options.delimiter;
  if (!is_valid_delimiter(d))
    throw std::invalid_argument("io::read_csv: delimiter must not be a quote, a line end, NUL or part of a number, got " +
                                (d >= ' ' && d <= '~' ? "'" + std::string(1, d) + "'" : "character " + std::to_string(int(static_cast<unsigned char>(d)))));
  const std::string where = "io::read_csv: '" + path.string() + "'";
  const std::string bytes = read_file(path, "io::read_csv");
  std::string_view text = bytes;
  auto starts = [&](const char* magic, std::size_t n) { return text.size() >= n && std::memcmp(text.data(), magic, n) == 0; };
  if (starts("\xFF\xFE", 2) || starts("\xFE\xFF", 2))
    throw std::runtime_error(where + " is a binary or UTF-16 file (it starts with a UTF-16 byte-order mark), not CSV text: save it as UTF-8");
  if (const void* nul = std::memchr(text.data(), '\0', text.size()))
    throw std::runtime_error(where + " is a binary or UTF-16 file (a NUL byte at offset " +
                             std::to_string(static_cast<const char*>(nul) - text.data()) + "), not CSV text: save it as UTF-8");
  if (starts("\xEF\xBB\xBF", 3)) text.remove_prefix(3);  // UTF-8 byte-order mark (Excel's "CSV UTF-8")

  // lines: LF, CRLF or CR; numbered as an editor numbers them
  std::vector<std::string_view> lines;
  std::vector<std::size_t> line_numbers;
  std::size_t start = 0, number = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    ++number;
    if (line.find_first_not_of(d == ' ' ? "\t" : d == '\t' ? " " : " \t") != std::string_view::npos) {  // a blank delimiter makes a line of fields
      lines.push_back(line);
      line_numbers.push_back(number);
    }
    start = end + (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);
  }
  if (lines.empty()) throw std::runtime_error(where + " is empty");

  auto at = [&](std::size_t i) { return where + " line " + std::to_string(line_numbers[i]); };
  std::vector<std::string> fields;
  auto split = [&](std::size_t i) {
    const std::string problem = detail::split_fields(lines[i], d, fields);
    if (!problem.empty()) throw std::runtime_error(at(i) + ", " + problem);
  };

  CsvTable<T> out;
  split(0);
  const std::size_t width = fields.size();
  bool header = options.header == Header::yes;
  if (options.header == Header::detect) {
    std::size_t names = 0, first_number = 0, first_name = 0;
    for (std::size_t j = 0; j < width; ++j) {
      T probe;
      const auto kind = detail::read_field(fields[j], probe);
      if (kind == detail::FieldKind::malformed || kind == detail::FieldKind::overflow)
        throw std::runtime_error(at(0) + ", column " + std::to_string(j + 1) + ": " + detail::unreadable<T>(fields[j], kind) +
                                 " (if line " + std::to_string(line_numbers[0]) + " is a header, choose header yes: CsvOptions::header, pml --header)");
      if (kind == detail::FieldKind::name && names++ == 0) first_name = j + 1;
      if (kind == detail::FieldKind::number && first_number == 0) first_number = j + 1;
    }
    if (names > 0 && first_number > 0)
      throw std::runtime_error(at(0) + " mixes names and numbers (column " + std::to_string(first_name) + " '" + fields[first_name - 1] +
                               "', column " + std::to_string(first_number) + " '" + fields[first_number - 1] +
                               "'): cannot tell whether it is a header; choose header yes or no (CsvOptions::header, pml --header)");
    header = names > 0;
  }
  for (std::size_t j = 0; j < width; ++j)
    out.columns.push_back(header && !detail::trim_blanks(fields[j]).empty() ? std::string(detail::trim_blanks(fields[j]))
                                                                             : std::string("x").append(std::to_string(j)));
  const std::size_t skip = header ? 1 : 0;
  if (lines.size() == skip) throw std::runtime_error(where + " has a header but no data rows");
  out.data.resize(static_cast<Index>(lines.size() - skip), static_cast<Index>(width));
  for (std::size_t i = skip; i < lines.size(); ++i) {
    if (i > 0) split(i);
    if (fields.size() != width)
      throw std::runtime_error(at(i) + " has " + std::to_string(fields.size()) + " fields, expected " + std::to_string(width));
    for (std::size_t j = 0; j < width; ++j) {
      T v{};
      const auto kind = detail::read_field(fields[j], v);
      if (kind != detail::FieldKind::number && kind != detail::FieldKind::missing)
        throw std::runtime_error(at(i) + ", column " + std::to_string(j + 1) + ": " + detail::unreadable<T>(fields[j], kind));
      out.data(static_cast<Index>(i - skip), static_cast<Index>(j)) = v;
    }
  }
  return out;
}

/// `data` as CSV text (shortest round-trip numbers, NaN for missing, inf/-inf), with a header line when
/// `columns` is not empty (e.g. for standard output).
/// @throw std::invalid_argument if `columns` is non-empty and its size differs from data.cols().
template <class Derived>
std::string format_csv(const Eigen::MatrixBase<Derived>& data, const std::vector<std::string>& columns = {}, char delimiter = ',') {
  if (!columns.empty() && static_cast<Index>(columns.size()) != data.cols())
    throw std::invalid_argument("io::write_csv: " + std::to_string(columns.size()) + " column names for " + std::to_string(data.cols()) + " columns");
  std::string out;
  for (std::size_t j = 0; j < columns.size(); ++j) out += (j ? std::string(1, delimiter) : std::string()) + columns[j];
  if (!columns.empty()) out += '\n';
  char buf[64];
  for (Index i = 0; i < data.rows(); ++i) {
    for (Index j = 0; j < data.cols(); ++j) {
      if (j) out += delimiter;
      const auto v = data(i, j);
      if (std::isnan(v)) {
        out += "NaN";
        continue;
      }
      const auto res = std::to_chars(buf, buf + sizeof buf, v);
      out.append(buf, res.ptr);
    }
    out += '\n';
  }
  return out;
}

/// Writes `data` as CSV (format_csv) with write_file_atomically(): a temporary file renamed over the
/// target; links written through, FIFOs, devices and /dev/stdout written directly, read-only files
/// refused.
/// @throw std::invalid_argument if `columns` is non-empty and its size differs from data.cols();
///        std::runtime_error "io::write_csv: cannot write 'PATH': REASON" if the file cannot be written.
template <class Derived>
void write_csv(const std::filesystem::path& path, const Eigen::MatrixBase<Derived>& data, const std::vector<std::string>& columns = {},
               char delimiter = ',') {
  const std::string out = format_csv(data, columns, delimiter);
  write_file_atomically(path, out, "io::write_csv");
}

}  // namespace pml::io
