#pragma once
/// @file
/// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed, and the Fashion-MNIST loader
/// for Debian's dataset-fashion-mnist package. Needs the optional target pml::io (zlib).

#include <bit>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pml/core/file.hpp"
#include "pml/core/types.hpp"
#include "pml/io/gzip.hpp"

namespace pml::io {

/// An IDX array: its dimensions (first = number of items) and its values in file order.
template <Real T> struct IdxArray {
  std::vector<Index> shape;  ///< dimensions, first the number of items
  Matrix<T> data;  ///< shape[0] rows, product of the other dimensions columns (row = one item)
};

/// Reads an IDX file (gzip-compressed or not: told by its first bytes). Every element type of the format
/// (unsigned/signed byte, 16/32-bit integer, float, double; big-endian) is converted to T.
/// @throw std::runtime_error naming the path for a missing, truncated or malformed file.
template <Real T> IdxArray<T> read_idx(const std::filesystem::path& path) {
  const std::string where = "io::read_idx: '" + path.string() + "'";
  std::string bytes = read_file(path, "io::read_idx");
  if (is_gzip(bytes)) bytes = gunzip(bytes, where);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) throw std::runtime_error(where + " is not an IDX file (bad magic number)");
  const auto type = static_cast<unsigned char>(bytes[2]);
  const int dims = static_cast<unsigned char>(bytes[3]);
  int width = 0;
  switch (type) {
    case 0x08: case 0x09: width = 1; break;
    case 0x0B: width = 2; break;
    case 0x0C: case 0x0D: width = 4; break;
    case 0x0E: width = 8; break;
    default: throw std::runtime_error(where + ": unknown IDX element type 0x" + std::to_string(type));
  }
  if (dims == 0) throw std::runtime_error(where + ": an IDX file needs at least one dimension");
  if (bytes.size() < 4 + 4 * std::size_t(dims)) throw std::runtime_error(where + " is truncated (header)");
  auto be = [&](std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + std::size_t(i)]);
    return v;
  };
  IdxArray<T> out;
  std::uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    out.shape.push_back(static_cast<Index>(be(4 + 4 * std::size_t(d), 4)));
    count *= static_cast<std::uint64_t>(out.shape.back());
    if (count > bytes.size()) throw std::runtime_error(where + " is truncated (the header claims more values than the file holds)");
  }
  const std::size_t start = 4 + 4 * std::size_t(dims);
  if (bytes.size() - start != count * std::uint64_t(width))
    throw std::runtime_error(where + " has " + std::to_string(bytes.size() - start) + " data bytes, the header says " +
                             std::to_string(count * std::uint64_t(width)));
  const Index items = out.shape[0];
  const Index per_item = items == 0 ? 0 : static_cast<Index>(count / std::uint64_t(items));
  out.data.resize(items, per_item);
  // data are item-major (row-major for our N x D matrix)
  for (Index i = 0; i < items; ++i)
    for (Index j = 0; j < per_item; ++j) {
      const std::size_t at = start + std::size_t(i * per_item + j) * std::size_t(width);
      const std::uint64_t raw = be(at, width);
      T v;
      switch (type) {
        case 0x08: v = T(raw); break;
        case 0x09: v = T(static_cast<std::int8_t>(raw)); break;
        case 0x0B: v = T(static_cast<std::int16_t>(raw)); break;
        case 0x0C: v = T(static_cast<std::int32_t>(raw)); break;
        case 0x0D: v = T(std::bit_cast<float>(static_cast<std::uint32_t>(raw))); break;
        default: v = T(std::bit_cast<double>(raw)); break;
      }
      out.data(i, j) = v;
    }
  return out;
}

/// Fashion-MNIST (Xiao et al. 2017): 28 x 28 grey images as rows of 784 values in [0, 1], labels 0..9.
template <Real T> struct FashionMnist {
  Matrix<T> train_images;  ///< 60 000 x 784
  Matrix<T> test_images;   ///< 10 000 x 784
  IntVector train_labels;  ///< 60 000 labels in 0..9
  IntVector test_labels;   ///< 10 000 labels in 0..9
};

/// The default location of Debian's dataset-fashion-mnist package.
inline const std::filesystem::path fashion_mnist_directory = "/usr/share/datasets/fashion-mnist";

/// Loads Fashion-MNIST from `directory` (the four *-idx?-ubyte.gz files). Pixel values are scaled to [0, 1].
/// @throw std::runtime_error naming the missing file and the Debian package that provides it.
template <Real T> FashionMnist<T> load_fashion_mnist(const std::filesystem::path& directory = fashion_mnist_directory) {
  auto file = [&](const char* name) {
    const auto path = directory / name;
    if (!std::filesystem::exists(path))
      throw std::runtime_error("io::load_fashion_mnist: '" + path.string() +
                               "' not found; install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
                               "or pass the directory holding the four IDX files");
    return path;
  };
  auto labels = [](const IdxArray<T>& a) { return IntVector(a.data.col(0).template cast<long>()); };
  FashionMnist<T> out;
  out.train_images = read_idx<T>(file("train-images-idx3-ubyte.gz")).data / T(255);
  out.train_labels = labels(read_idx<T>(file("train-labels-idx1-ubyte.gz")));
  out.test_images = read_idx<T>(file("t10k-images-idx3-ubyte.gz")).data / T(255);
  out.test_labels = labels(read_idx<T>(file("t10k-labels-idx1-ubyte.gz")));
  if (out.train_images.rows() != out.train_labels.size() || out.test_images.rows() != out.test_labels.size())
    throw std::runtime_error("io::load_fashion_mnist: image and label counts differ in '" + directory.string() + "'");
  return out;
}

}  // namespace pml::io
