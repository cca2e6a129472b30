#pragma once
/// @file
/// A minimal PNG writer for pictures the examples draw: 8-bit greyscale, zlib "stored" (uncompressed)
/// blocks, so it needs no compression library. Written atomically.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>

#include "pml/core/file.hpp"
#include "pml/core/types.hpp"
#include "pml/io/gzip.hpp"

namespace pml::io {
namespace detail {
inline void put_be32(std::string& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void png_chunk(std::string& out, const char* type, const std::string& data) {
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.append(type, 4);
  out += data;
  put_be32(out, crc32(std::string_view(out).substr(start), 0));
}
}  // namespace detail

/// Writes `image` (rows x cols, values in [0, 1], clamped; NaN drawn black) as an 8-bit greyscale PNG.
/// @throw std::invalid_argument for an empty image; std::runtime_error if the file cannot be written.
template <class Derived> void write_png(const std::filesystem::path& path, const Eigen::MatrixBase<Derived>& image) {
  if (image.rows() == 0 || image.cols() == 0) throw std::invalid_argument("io::write_png: the image is empty");
  const auto w = static_cast<std::uint32_t>(image.cols()), h = static_cast<std::uint32_t>(image.rows());
  std::string raw;  // scanlines, each with filter byte 0
  raw.reserve(std::size_t(h) * (w + 1));
  for (Index i = 0; i < image.rows(); ++i) {
    raw += '\0';
    for (Index j = 0; j < image.cols(); ++j) {
      const double v = static_cast<double>(image(i, j));
      raw += static_cast<char>(v == v ? static_cast<int>(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5) : 0);
    }
  }
  std::string z = {0x78, 0x01};  // zlib header, no compression
  for (std::size_t pos = 0; pos < raw.size() || pos == 0;) {
    const std::size_t len = std::min<std::size_t>(65535, raw.size() - pos);
    const bool last = pos + len == raw.size();
    z += static_cast<char>(last ? 1 : 0);
    z += static_cast<char>(len & 0xff);
    z += static_cast<char>(len >> 8);
    z += static_cast<char>(~len & 0xff);
    z += static_cast<char>((~len >> 8) & 0xff);
    z.append(raw, pos, len);
    pos += len;
    if (last) break;
  }
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (const unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  detail::put_be32(z, (b << 16) | a);
  std::string ihdr;
  detail::put_be32(ihdr, w);
  detail::put_be32(ihdr, h);
  ihdr += std::string{8, 0, 0, 0, 0};  // bit depth 8, greyscale, deflate, adaptive filters, no interlace
  std::string png = "\x89PNG\r\n\x1a\n";
  detail::png_chunk(png, "IHDR", ihdr);
  detail::png_chunk(png, "IDAT", z);
  detail::png_chunk(png, "IEND", "");
  write_file_atomically(path, png, "io::write_png");
}

/// Tiles `images` (one h*w image per row, row-major pixels) into a grid of `columns` images with a
/// 1-pixel white border, ready for write_png.
template <class Derived> Matrix<double> tile_images(const Eigen::MatrixBase<Derived>& images, Index h, Index w, Index columns) {
  if (h <= 0 || w <= 0 || images.cols() != h * w || columns <= 0)
    throw std::invalid_argument("io::tile_images: rows of " + std::to_string(images.cols()) + " values are not " + std::to_string(h) + "x" +
                                std::to_string(w) + " images");
  const Index n = images.rows(), rows = (n + columns - 1) / columns;
  Matrix<double> out = Matrix<double>::Ones(rows * (h + 1) + 1, columns * (w + 1) + 1);
  for (Index k = 0; k < n; ++k)
    for (Index i = 0; i < h; ++i)
      for (Index j = 0; j < w; ++j) out(1 + (k / columns) * (h + 1) + i, 1 + (k % columns) * (w + 1) + j) = double(images(k, i * w + j));
  return out;
}

}  // namespace pml::io
