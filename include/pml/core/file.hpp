#pragma once
/// @file
/// Whole-file I/O: atomic writes (temporary file in the same directory, then rename) and whole-file reads,
/// with errors that name the function and the path.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pml {

/// Writes `contents` to `path` so that readers see either the old file or the whole new one: the bytes
/// go to a temporary file beside `path`, which is then renamed over it. On failure the temporary is
/// removed, `path` is untouched and std::runtime_error names `function` and the path.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view contents, std::string_view function) {
  namespace fs = std::filesystem;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error(std::string(function) + ": cannot write '" + path.string() + "': directory '" + dir.string() + "' does not exist");
  std::random_device rd;
  std::string name = ".";  // (built by appends: GCC 12 warns -Wrestrict on "." + string)
  name.append(path.filename().string()).append(".tmp").append(std::to_string(rd()));
  const fs::path tmp = dir / name;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(std::string(function) + ": cannot create '" + tmp.string() + "'");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      throw std::runtime_error(std::string(function) + ": writing '" + tmp.string() + "' failed (disk full?)");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error(std::string(function) + ": cannot rename the temporary file to '" + path.string() + "': " + ec.message());
  }
}

/// The whole file as bytes. @throw std::runtime_error naming `function` and the path if it cannot be read.
inline std::string read_file(const std::filesystem::path& path, std::string_view function) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string(function) + ": cannot open '" + path.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error(std::string(function) + ": reading '" + path.string() + "' failed");
  return std::move(ss).str();
}

}  // namespace pml
