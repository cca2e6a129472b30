// A downstream program that links pml::io: writes a gzip-compressed IDX file with zlib, reads it back
// with pml::io::read_idx, and writes a PNG.
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>
#include <zlib.h>

#include <pml/io.hpp>

int main() {
  const auto dir = std::filesystem::temp_directory_path() / ("pml_consumer_io_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // 2 items of 1 x 3 unsigned bytes
  const std::string idx = {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
  const std::string gz = (dir / "a.idx.gz").string();
  gzFile f = gzopen(gz.c_str(), "wb");
  if (!f || gzwrite(f, idx.data(), unsigned(idx.size())) != int(idx.size()) || gzclose(f) != Z_OK) return 2;
  const auto a = pml::io::read_idx<double>(gz);
  pml::io::write_png(dir / "a.png", a.data / 6.0);
  const bool ok = a.data.rows() == 2 && a.data.cols() == 3 && a.data(1, 2) == 6 && std::filesystem::file_size(dir / "a.png") > 8;
  std::filesystem::remove_all(dir);
  std::printf("read %ld x %ld from a .gz IDX file, wrote a PNG: %s\n", long(a.data.rows()), long(a.data.cols()), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
