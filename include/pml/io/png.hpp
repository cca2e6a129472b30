#pragma once
/// @file
/// PNG pictures of the examples (8-bit greyscale) through libpng; needs the optional target `pml::io`.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>

#include "pml/core/file.hpp"
#include "pml/core/types.hpp"
#if !defined(PML_HAVE_PNG)
#error "pml/io/png.hpp needs libpng: link the CMake target pml::io (apt-get install libpng-dev)"
#endif
#include <png.h>

namespace pml::io {
/// Writes `image` (rows x cols, values in [0, 1], clamped; NaN drawn black) as an 8-bit greyscale PNG,
/// encoded by libpng's simplified API (Debian `libpng-dev`; part of the optional target `pml::io`).
/// Written atomically: the file is whole or absent.
/// @throw std::invalid_argument for an empty image or one wider or taller than 2^31 − 1 pixels;
///        std::runtime_error if libpng fails or the file cannot be written.
template <class Derived> void write_png(const std::filesystem::path& path, const Eigen::MatrixBase<Derived>& image) {
  if (image.rows() == 0 || image.cols() == 0) throw std::invalid_argument("io::write_png: the image is empty");
  if (image.rows() > 0x7fffffff || image.cols() > 0x7fffffff)
    throw std::invalid_argument("io::write_png: the image is " + std::to_string(image.rows()) + " x " + std::to_string(image.cols()) +
                                " pixels, more than PNG allows");
  std::string pixels;  // row-major 8-bit grey
  pixels.reserve(static_cast<std::size_t>(image.rows() * image.cols()));
  for (Index i = 0; i < image.rows(); ++i)
    for (Index j = 0; j < image.cols(); ++j) {
      const double v = static_cast<double>(image(i, j));
      pixels += static_cast<char>(v == v ? static_cast<int>(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5) : 0);
    }
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.cols());
  png.height = static_cast<png_uint_32>(image.rows());
  png.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  const auto stride = static_cast<png_int_32>(image.cols());
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, pixels.data(), stride, nullptr))
    throw std::runtime_error("io::write_png: libpng failed for " + path.string() + ": " + png.message);
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, pixels.data(), stride, nullptr))
    throw std::runtime_error("io::write_png: libpng failed for " + path.string() + ": " + png.message);
  bytes.resize(size);
  write_file_atomically(path, bytes, "io::write_png");
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
