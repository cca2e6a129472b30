#pragma once
/// @file
/// Numeric CSV tables: reading (header detection that never drops a data row, any one-character
/// delimiter, LF, CRLF or CR line ends, a UTF-8 byte-order mark, NaN for missing values, errors with
/// line and column) and atomic writing. The rules are in docs/csv-and-files.md.

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pml/core/collective.hpp"
#include "pml/core/file.hpp"
#include "pml/core/types.hpp"

#include <sys/stat.h>

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

/// Which share of a file a reader takes: part `index` of `count` (0 <= index < count). A CSV file is cut into
/// `count` byte ranges of equal length and a part holds the lines that start in its range, so the parts tile
/// the file's lines and each is read alone; an IDX file's items are split as rows [N·index/count,
/// N·(index+1)/count). pml::io::read_csv(ranks, ...) and read_idx(ranks, ...) give each rank part rank of size.
struct FilePart {
  int index = 0;  ///< which part, in [0, count)
  int count = 1;  ///< how many parts
};

namespace detail {

inline void check_delimiter(char d) {
  if (!is_valid_delimiter(d))
    throw std::invalid_argument("io::read_csv: delimiter must not be a quote, a line end, NUL or part of a number, got " +
                                (d >= ' ' && d <= '~' ? "'" + std::string(1, d) + "'" : "character " + std::to_string(int(static_cast<unsigned char>(d)))));
}

inline void check_part(const char* function, FilePart part) {
  if (part.count < 1 || part.index < 0 || part.index >= part.count)
    throw std::invalid_argument(std::string(function) + ": part must have count >= 1 and index in [0, count), got index " + std::to_string(part.index) +
                                " of count " + std::to_string(part.count));
}

/// floor(n·i/count) without overflow (i <= count).
inline std::uint64_t part_bound(std::uint64_t n, int i, int count) {
  const auto c = static_cast<std::uint64_t>(count), k = static_cast<std::uint64_t>(i);
  return n / c * k + n % c * k / c;
}

/// What tells one version of a file from another: device, inode, size and modification time (s, ns), as
/// doubles for Collective::max (all below 2^53). A file replaced (mv) has a new inode; one rewritten in place,
/// a new size or time.
inline std::array<double, 5> file_version(const std::filesystem::path& path, const char* function) {
  struct ::stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error(std::string(function) + ": cannot open '" + path.string() + "': " + std::generic_category().message(errno));
  return {double(st.st_dev), double(st.st_ino), double(st.st_size), double(st.st_mtim.tv_sec), double(st.st_mtim.tv_nsec)};
}

/// Throws if the file is no longer the version `before`.
inline void check_unchanged(const std::filesystem::path& path, const char* function, const std::array<double, 5>& before) {
  if (file_version(path, function) != before)
    throw std::runtime_error(std::string(function) + ": '" + path.string() +
                             "' changed while it was being read (written or replaced by another process): read a file nobody is writing");
}

/// Throws on every rank unless every rank read the same version of the file.
inline void check_same_file(const Collective& ranks, const std::filesystem::path& path, const char* function, const std::array<double, 5>& version) {
  if (ranks.size() == 1) return;
  std::array<double, 10> m{};
  for (std::size_t i = 0; i < 5; ++i) m[i] = version[i], m[5 + i] = -version[i];
  ranks.max(m.data(), m.size());
  for (std::size_t i = 0; i < 5; ++i)
    if (m[i] != -m[5 + i])
      throw OnEveryRank<std::runtime_error>(std::string(function) + ": '" + path.string() +
                               "' is not the same file on every rank (it changed while the ranks read it, or the ranks see different files at that path)");
}

/// Whether a line holds a field (a blank delimiter makes a line of blanks a line of fields).
inline bool csv_line_has_fields(std::string_view line, char d) {
  return line.find_first_not_of(d == ' ' ? "\t" : d == '\t' ? " " : " \t") != std::string_view::npos;
}

/// The non-blank lines of `text` (LF, CRLF or CR line ends), each with its line number counted from 1 at
/// the start of `text` as an editor numbers them. Stops after the first one when `first_only`; returns the
/// position just past the last line split.
inline std::size_t csv_lines(std::string_view text, char d, std::vector<std::string_view>& lines, std::vector<std::size_t>& numbers,
                             bool first_only = false) {
  std::size_t start = 0, number = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    ++number;
    start = end + (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);
    if (csv_line_has_fields(line, d)) {
      lines.push_back(line);
      numbers.push_back(number);
      if (first_only) break;
    }
  }
  return std::min(start, text.size());
}

/// Refuses binary and UTF-16 text (`offset`: where `text` starts in the file, for the message).
inline void check_text(std::string_view text, const std::string& where, std::uint64_t offset) {
  auto starts = [&](const char* magic, std::size_t n) { return offset == 0 && text.size() >= n && std::memcmp(text.data(), magic, n) == 0; };
  if (starts("\xFF\xFE", 2) || starts("\xFE\xFF", 2))
    throw std::runtime_error(where + " is a binary or UTF-16 file (it starts with a UTF-16 byte-order mark), not CSV text: save it as UTF-8");
  if (const void* nul = std::memchr(text.data(), '\0', text.size()))
    throw std::runtime_error(where + " is a binary or UTF-16 file (a NUL byte at offset " +
                             std::to_string(offset + std::uint64_t(static_cast<const char*>(nul) - text.data())) + "), not CSV text: save it as UTF-8");
}

/// Decides whether the first non-blank line (split into `fields`) is the header, and names the columns.
template <Real T>
bool csv_header(const std::vector<std::string>& fields, const CsvOptions& options, const std::string& at0, std::size_t line_number,
                std::vector<std::string>& columns) {
  const std::size_t width = fields.size();
  bool header = options.header == Header::yes;
  if (options.header == Header::detect) {
    std::size_t names = 0, first_number = 0, first_name = 0;
    for (std::size_t j = 0; j < width; ++j) {
      T probe;
      const auto kind = read_field(fields[j], probe);
      if (kind == FieldKind::malformed || kind == FieldKind::overflow)
        throw std::runtime_error(at0 + ", column " + std::to_string(j + 1) + ": " + unreadable<T>(fields[j], kind) + " (if line " +
                                 std::to_string(line_number) + " is a header, choose header yes: CsvOptions::header, pml --header)");
      if (kind == FieldKind::name && names++ == 0) first_name = j + 1;
      if (kind == FieldKind::number && first_number == 0) first_number = j + 1;
    }
    if (names > 0 && first_number > 0)
      throw std::runtime_error(at0 + " mixes names and numbers (column " + std::to_string(first_name) + " '" + fields[first_name - 1] + "', column " +
                               std::to_string(first_number) + " '" + fields[first_number - 1] +
                               "'): cannot tell whether it is a header; choose header yes or no (CsvOptions::header, pml --header)");
    header = names > 0;
  }
  columns.clear();
  for (std::size_t j = 0; j < width; ++j)
    columns.push_back(header && !trim_blanks(fields[j]).empty() ? std::string(trim_blanks(fields[j])) : std::string("x").append(std::to_string(j)));
  return header;
}

/// Reads lines[skip..] as rows of `width` numbers. `at(i)` names line i in an error.
template <Real T, class At>
void csv_rows(const std::vector<std::string_view>& lines, std::size_t skip, std::size_t width, char d, At&& at, Matrix<T>& out) {
  std::vector<std::string> fields;
  out.resize(static_cast<Index>(lines.size() - skip), static_cast<Index>(width));
  for (std::size_t i = skip; i < lines.size(); ++i) {
    const std::string problem = split_fields(lines[i], d, fields);
    if (!problem.empty()) throw std::runtime_error(at(i) + ", " + problem);
    if (fields.size() != width) throw std::runtime_error(at(i) + " has " + std::to_string(fields.size()) + " fields, expected " + std::to_string(width));
    for (std::size_t j = 0; j < width; ++j) {
      T v{};
      const auto kind = read_field(fields[j], v);
      if (kind != FieldKind::number && kind != FieldKind::missing)
        throw std::runtime_error(at(i) + ", column " + std::to_string(j + 1) + ": " + unreadable<T>(fields[j], kind));
      out(static_cast<Index>(i - skip), static_cast<Index>(j)) = v;
    }
  }
}

/// The first line start at or after byte `b` of the file (its size if none).
inline std::uint64_t csv_line_start(const FileReader& file, std::uint64_t b) {
  const std::uint64_t size = file.size();
  if (b == 0 || b >= size) return std::min(b, size);
  const std::string around = file.read(b - 1, 2);
  if (around[0] == '\n') return b;
  if (around[0] == '\r') return around.size() > 1 && around[1] == '\n' ? b + 1 : b;
  for (std::uint64_t at = b; at < size;) {
    const std::string chunk = file.read(at, 1 << 16);
    if (chunk.empty()) break;
    const std::size_t k = chunk.find_first_of("\r\n");
    if (k != std::string::npos) {
      const std::uint64_t pos = at + k;
      if (chunk[k] == '\n') return pos + 1;
      const std::string next = file.read(pos + 1, 1);
      return next == "\n" ? pos + 2 : pos + 1;
    }
    at += chunk.size();
  }
  return size;
}

/// The number of line ends (LF, CRLF or CR) in the file's bytes [0, end), `end` a line start.
inline std::size_t csv_lines_before(const FileReader& file, std::uint64_t end) {
  std::size_t count = 0;
  for (std::uint64_t at = 0; at < end;) {
    const std::string chunk = file.read(at, std::min<std::uint64_t>(end - at, 1 << 20));
    if (chunk.empty()) break;
    for (std::size_t k = 0; k < chunk.size(); ++k)
      if (chunk[k] == '\n') ++count;
      else if (chunk[k] == '\r') {
        const bool lf_next = k + 1 < chunk.size() ? chunk[k + 1] == '\n' : file.read(at + k + 1, 1) == "\n";
        if (!lf_next) ++count;
      }
    at += chunk.size();
  }
  return count;
}

}  // namespace detail

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
  detail::check_delimiter(d);
  const std::string where = "io::read_csv: '" + path.string() + "'";
  const std::string bytes = read_file(path, "io::read_csv");
  std::string_view text = bytes;
  detail::check_text(text, where, 0);
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);  // UTF-8 byte-order mark (Excel's "CSV UTF-8")

  std::vector<std::string_view> lines;
  std::vector<std::size_t> line_numbers;
  detail::csv_lines(text, d, lines, line_numbers);
  if (lines.empty()) throw std::runtime_error(where + " is empty");
  auto at = [&](std::size_t i) { return where + " line " + std::to_string(line_numbers[i]); };

  CsvTable<T> out;
  std::vector<std::string> fields;
  if (const std::string problem = detail::split_fields(lines[0], d, fields); !problem.empty()) throw std::runtime_error(at(0) + ", " + problem);
  const bool header = detail::csv_header<T>(fields, options, at(0), line_numbers[0], out.columns);
  const std::size_t skip = header ? 1 : 0;
  if (lines.size() == skip) throw std::runtime_error(where + " has a header but no data rows");
  detail::csv_rows<T>(lines, skip, fields.size(), d, at, out.data);
  return out;
}

/// Reads part `part.index` of `part.count` of a numeric CSV file (FilePart): the rows whose lines start in
/// the part's byte range, read by themselves (a rank's share of a file too large for one process). The
/// header, if any, is the file's first non-blank line, read by every part; the part that holds it skips it.
/// The parts' rows, stacked in part order, are the rows read_csv(path, options) gives; a part may hold no
/// rows (0 x D). With `count` 1 it is read_csv(path, options). Same rules and errors as read_csv (line
/// numbers are the file's), except that a part without data rows is not an error; the file must be a
/// regular file (not a FIFO) when `count` > 1.
/// @throw std::invalid_argument for a bad delimiter or part; std::runtime_error as read_csv.
template <Real T> CsvTable<T> read_csv(const std::filesystem::path& path, const CsvOptions& options, FilePart part) {
  const char d = options.delimiter;
  detail::check_delimiter(d);
  detail::check_part("io::read_csv", part);
  if (part.count == 1) return read_csv<T>(path, options);
  const std::string where = "io::read_csv: '" + path.string() + "'";
  const FileReader file(path, "io::read_csv");
  const std::uint64_t size = file.size();

  // the first non-blank line (the header or the first row), read by every part
  std::string head;
  std::vector<std::string_view> first;
  std::vector<std::size_t> first_number;
  std::size_t bom = 0, first_end = 0;
  for (std::uint64_t want = 1 << 16;; want *= 2) {
    head = file.read(0, want);
    std::string_view text = head;
    bom = text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    text.remove_prefix(bom);
    first.clear();
    first_number.clear();
    first_end = bom + detail::csv_lines(text, d, first, first_number, true);
    // the line is whole once a line end follows it (or the file ends)
    const bool whole = !first.empty() && (head.size() == size || first_end < head.size() ||
                                          (first_end == head.size() && (head.back() == '\n' || (head.back() == '\r' && file.read(head.size(), 1) != "\n"))));
    if (whole || head.size() == size) {
      detail::check_text(std::string_view(head).substr(0, first_end), where, 0);
      break;
    }
  }
  if (first.empty()) throw std::runtime_error(where + " is empty");
  const std::uint64_t header_start = static_cast<std::uint64_t>(first[0].data() - head.data());
  CsvTable<T> out;
  std::vector<std::string> fields;
  if (const std::string problem = detail::split_fields(first[0], d, fields); !problem.empty())
    throw std::runtime_error(where + " line " + std::to_string(first_number[0]) + ", " + problem);
  const bool header = detail::csv_header<T>(fields, options, where + " line " + std::to_string(first_number[0]), first_number[0], out.columns);
  const std::size_t width = fields.size();

  // this part's lines: those starting in [size·index/count, size·(index+1)/count)
  auto bound = [&](int i) { return detail::part_bound(size, i, part.count); };
  const std::uint64_t begin = detail::csv_line_start(file, bound(part.index)), end = detail::csv_line_start(file, bound(part.index + 1));
  const std::string bytes = file.read(begin, end - begin);
  std::string_view text = bytes;
  detail::check_text(text, where, begin);
  if (begin == 0) text.remove_prefix(std::min<std::size_t>(bom, text.size()));
  std::vector<std::string_view> lines;
  std::vector<std::size_t> numbers;
  detail::csv_lines(text, d, lines, numbers);
  std::size_t before = 0;  // line ends before `begin`, counted only for an error message
  bool counted = false;
  auto at = [&](std::size_t i) {
    if (!counted) before = detail::csv_lines_before(file, begin), counted = true;
    return where + " line " + std::to_string(before + numbers[i]);
  };
  const std::size_t skip = header && begin <= header_start && header_start < end ? 1 : 0;
  detail::csv_rows<T>(lines, skip, width, d, at, out.data);
  return out;
}

/// Reads this rank's share of a CSV file: part ranks.rank() of ranks.size() (FilePart), for a sharded fit
/// (`model.fit(ranks, table.data, seed)`). Every rank must call it; an error on any rank is thrown on every
/// rank (core/collective.hpp agree(): the message of the lowest failing rank, naming it). On one process it
/// is read_csv(path, options).
/// @throw as read_csv, on every rank; std::runtime_error "... has a header but no data rows" when no rank has rows.
template <Real T> CsvTable<T> read_csv(const Collective& ranks, const std::filesystem::path& path, const CsvOptions& options = {}) PML_RANKS_TRY {
  CsvTable<T> out;
  if (ranks.size() == 1) return read_csv<T>(path, options);  // also a FIFO or /dev/stdin
  std::array<double, 5> version{};
  pml::detail::agree(ranks, [&] {
    version = detail::file_version(path, "io::read_csv");
    out = read_csv<T>(path, options, FilePart{ranks.rank(), ranks.size()});
    detail::check_unchanged(path, "io::read_csv", version);
  });
  detail::check_same_file(ranks, path, "io::read_csv", version);
  if (ranks.size() > 1 && pml::detail::all_sum(ranks, double(out.data.rows())) == 0)
    throw OnEveryRank<std::runtime_error>("io::read_csv: '" + path.string() + "' has a header but no data rows");
  return out;
} PML_RANKS_CATCH(ranks, "io::read_csv")

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
