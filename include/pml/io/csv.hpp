#pragma once
/// @file
/// Numeric CSV tables: reading (header detection, any one-character delimiter, NaN for missing values,
/// errors with line and column) and atomic writing.

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "pml/core/file.hpp"
#include "pml/core/types.hpp"

namespace pml::io {

/// How read_csv() treats the first line.
enum class Header : std::uint8_t { detect, yes, no };

/// Options of read_csv().
struct CsvOptions {
  char delimiter = ',';  ///< field separator
  Header header = Header::detect;  ///< detect: a first line with any non-numeric, non-missing field is a header
};

/// A numeric table: column names (from the header, or "x0", "x1", ...) and one row per data line.
template <Real T> struct CsvTable {
  std::vector<std::string> columns;  ///< column names
  Matrix<T> data;  ///< the values, NaN where a field was empty or missing
};

namespace detail {
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}
inline std::vector<std::string_view> split(std::string_view line, char delimiter) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = line.find(delimiter, start);
    out.push_back(trim(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start)));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}
inline bool is_missing(std::string_view f) { return f.empty() || f == "NA" || f == "NaN" || f == "nan" || f == "N/A" || f == "?"; }
template <Real T> bool parse_number(std::string_view f, T& out) {
  if (!f.empty() && f.front() == '+') f.remove_prefix(1);
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
  return ec == std::errc() && end == f.data() + f.size();
}
}  // namespace detail

/// Reads a numeric CSV file. Blank lines are skipped; missing fields (empty, NA, NaN, N/A, ?) become NaN.
/// @throw std::runtime_error naming the file, line and column of the first problem (an unparsable field,
///        a row with the wrong number of fields), or if the file has no data rows.
template <Real T> CsvTable<T> read_csv(const std::filesystem::path& path, const CsvOptions& options = {}) {
  const std::string where = "io::read_csv: '" + path.string() + "'";
  const std::string text = read_file(path, "io::read_csv");
  std::vector<std::string_view> lines;
  std::vector<std::size_t> line_numbers;
  std::size_t start = 0, number = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line = std::string_view(text).substr(start, end == std::string::npos ? std::string::npos : end - start);
    ++number;
    if (!detail::trim(line).empty()) {
      lines.push_back(line);
      line_numbers.push_back(number);
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (lines.empty()) throw std::runtime_error(where + " is empty");
  CsvTable<T> out;
  const auto first = detail::split(lines[0], options.delimiter);
  bool header = options.header == Header::yes;
  if (options.header == Header::detect) {
    T probe;
    for (const auto f : first)
      if (!detail::is_missing(f) && !detail::parse_number(f, probe)) header = true;
  }
  const std::size_t width = first.size();
  for (std::size_t j = 0; j < width; ++j) out.columns.push_back(header ? std::string(first[j]) : std::string("x").append(std::to_string(j)));
  const std::size_t skip = header ? 1 : 0;
  if (lines.size() == skip) throw std::runtime_error(where + " has a header but no data rows");
  out.data.resize(static_cast<Index>(lines.size() - skip), static_cast<Index>(width));
  for (std::size_t i = skip; i < lines.size(); ++i) {
    const auto fields = detail::split(lines[i], options.delimiter);
    if (fields.size() != width)
      throw std::runtime_error(where + " line " + std::to_string(line_numbers[i]) + " has " + std::to_string(fields.size()) +
                               " fields, expected " + std::to_string(width));
    for (std::size_t j = 0; j < width; ++j) {
      T v;
      if (detail::is_missing(fields[j])) v = std::numeric_limits<T>::quiet_NaN();
      else if (!detail::parse_number(fields[j], v))
        throw std::runtime_error(where + " line " + std::to_string(line_numbers[i]) + ", column " + std::to_string(j + 1) +
                                 ": cannot read '" + std::string(fields[j]) + "' as a number");
      out.data(static_cast<Index>(i - skip), static_cast<Index>(j)) = v;
    }
  }
  return out;
}

/// `data` as CSV text (shortest round-trip numbers, NaN for missing), with a header line when `columns`
/// is not empty (e.g. for standard output).
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

/// Writes `data` as CSV (format_csv) atomically (temporary file, then rename).
/// @throw std::invalid_argument if `columns` is non-empty and its size differs from data.cols();
///        std::runtime_error if the file cannot be written.
template <class Derived>
void write_csv(const std::filesystem::path& path, const Eigen::MatrixBase<Derived>& data, const std::vector<std::string>& columns = {},
               char delimiter = ',') {
  const std::string out = format_csv(data, columns, delimiter);
  write_file_atomically(path, out, "io::write_csv");
}

}  // namespace pml::io
