// libFuzzer target: any bytes, loaded as every model type, must load or throw a std::exception (never
// crash, hang or trip ASan / UBSan). Built with -DPML_FUZZ=ON and Clang (Debian's clang ships libFuzzer):
//
//   CXX=clang++ cmake -S . -B build/fuzz -DPML_FUZZ=ON -DPML_BUILD_EXAMPLES=OFF -DPML_BUILD_BENCHMARKS=OFF
//   cmake --build build/fuzz --target fuzz_model_file
//   mkdir -p /tmp/fuzz-corpus
//   build/fuzz/tests/fuzz_model_file -max_total_time=600 /tmp/fuzz-corpus tests/fixtures/model_files/seed
//   build/fuzz/tests/fuzz_model_file -merge=1 tests/fixtures/model_files/fuzz /tmp/fuzz-corpus   # keep what is new
//
// test_model_files replays tests/fixtures/model_files/fuzz in every ctest run.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "io/model_loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path = [] {
    const std::filesystem::path shm("/dev/shm");
    return (std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path()) /
           ("pml_fuzz_" + std::to_string(::getpid()) + ".pml");
  }();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  for (const auto& loader : pml_test::model_loaders()) {
    try {
      loader.load_and_use(path);
    } catch (const std::exception&) {
      // refusing a file is the expected outcome; only crashes and sanitizer reports are findings
    }
  }
  return 0;
}
