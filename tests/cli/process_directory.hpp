#pragma once
// A temporary directory of this process's own, removed at exit: the CLI tests run the tool inside it, and two
// runs at once (e.g. of two build trees) must not share files.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace pml::test {
struct ProcessDirectory {
  std::filesystem::path path;
  explicit ProcessDirectory(const std::string& name) : path(std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~ProcessDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  ProcessDirectory(const ProcessDirectory&) = delete;
  ProcessDirectory& operator=(const ProcessDirectory&) = delete;
};
}  // namespace pml::test
