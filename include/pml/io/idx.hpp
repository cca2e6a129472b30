#pragma once
/// @file
/// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed, and the Fashion-MNIST loader
/// for Debian's dataset-fashion-mnist package. Needs the optional target pml::io (zlib).

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pml/core/collective.hpp"
#include "pml/core/file.hpp"
#include "pml/core/types.hpp"
#include "pml/io/csv.hpp"  // FilePart
#include "pml/io/gzip.hpp"

namespace pml::io {

/// An IDX array: its dimensions (first = number of items) and its values in file order.
template <Real T> struct IdxArray {
  std::vector<Index> shape;  ///< the file's dimensions, first the number of items
  Matrix<T> data;  ///< the items read, one per row (all shape[0] unless a row range was asked for), in file order
  Index first_row = 0;  ///< the file's item index of data's first row
};

namespace detail {

/// An IDX header: element type and width, dimensions, where the data start, values per item.
struct IdxHeader {
  unsigned char type = 0;
  int width = 0;
  std::vector<Index> shape;
  std::size_t start = 0;
  Index per_item = 0;
};

/// Reads the header at the start of `bytes` (at least the magic number and the dimensions) of a file whose
/// data are `size` bytes in all, and checks that the data have the size the header gives.
inline IdxHeader idx_header(std::string_view bytes, std::uint64_t size, const std::string& where) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) throw std::runtime_error(where + " is not an IDX file (bad magic number)");
  IdxHeader h;
  h.type = static_cast<unsigned char>(bytes[2]);
  const int dims = static_cast<unsigned char>(bytes[3]);
  switch (h.type) {
    case 0x08: case 0x09: h.width = 1; break;
    case 0x0B: h.width = 2; break;
    case 0x0C: case 0x0D: h.width = 4; break;
    case 0x0E: h.width = 8; break;
    default: throw std::runtime_error(where + ": unknown IDX element type 0x" + std::to_string(h.type));
  }
  if (dims == 0) throw std::runtime_error(where + ": an IDX file needs at least one dimension");
  if (bytes.size() < 4 + 4 * std::size_t(dims)) throw std::runtime_error(where + " is truncated (header)");
  for (int d = 0; d < dims; ++d) {
    std::uint64_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[4 + 4 * std::size_t(d) + std::size_t(i)]);
    h.shape.push_back(static_cast<Index>(v));
  }
  std::uint64_t count = 1;  // the product of the dimensions, refused once it passes the file's size (no overflow)
  if (std::find(h.shape.begin(), h.shape.end(), Index(0)) != h.shape.end()) count = 0;
  else
    for (const Index v : h.shape) {
      if (count > size / std::uint64_t(v)) throw std::runtime_error(where + " is truncated (the header claims more values than the file holds)");
      count *= std::uint64_t(v);
    }
  h.start = 4 + 4 * std::size_t(dims);
  if (size - h.start != count * std::uint64_t(h.width))
    throw std::runtime_error(where + " has " + std::to_string(size - h.start) + " data bytes, the header says " + std::to_string(count * std::uint64_t(h.width)));
  h.per_item = h.shape[0] == 0 ? 0 : static_cast<Index>(count / std::uint64_t(h.shape[0]));
  return h;
}

/// Converts `data` (`items` whole items, big-endian elements of the header's type) to rows of T.
template <Real T> Matrix<T> idx_rows(std::string_view data, const IdxHeader& h, Index items) {
  Matrix<T> out(items, h.per_item);
  // data are item-major (row-major for our N x D matrix)
  for (Index i = 0; i < items; ++i)
    for (Index j = 0; j < h.per_item; ++j) {
      const std::size_t at = std::size_t(i * h.per_item + j) * std::size_t(h.width);
      std::uint64_t raw = 0;
      for (int k = 0; k < h.width; ++k) raw = (raw << 8) | static_cast<unsigned char>(data[at + std::size_t(k)]);
      T v;
      switch (h.type) {
        case 0x08: v = T(raw); break;
        case 0x09: v = T(static_cast<std::int8_t>(raw)); break;
        case 0x0B: v = T(static_cast<std::int16_t>(raw)); break;
        case 0x0C: v = T(static_cast<std::int32_t>(raw)); break;
        case 0x0D: v = T(std::bit_cast<float>(static_cast<std::uint32_t>(raw))); break;
        default: v = T(std::bit_cast<double>(raw)); break;
      }
      out(i, j) = v;
    }
  return out;
}

}  // namespace detail

/// Reads an IDX file (gzip-compressed or not: told by its first bytes). Every element type of the format
/// (unsigned/signed byte, 16/32-bit integer, float, double; big-endian) is converted to T.
/// @throw std::runtime_error naming the path for a missing, truncated or malformed file.
template <Real T> IdxArray<T> read_idx(const std::filesystem::path& path) {
  const std::string where = "io::read_idx: '" + path.string() + "'";
  std::string bytes = read_file(path, "io::read_idx");
  if (is_gzip(bytes)) bytes = gunzip(bytes, where);
  const detail::IdxHeader h = detail::idx_header(bytes, bytes.size(), where);
  return {h.shape, detail::idx_rows<T>(std::string_view(bytes).substr(h.start), h, h.shape[0]), 0};
}

/// Reads items [first, first + count) of an IDX file: of an uncompressed file only the header and those
/// items' bytes are read; a gzip-compressed file is decompressed whole (gzip cannot be entered in the
/// middle) and only those items converted. `shape` is the file's; data has `count` rows; first_row = first.
/// @throw std::out_of_range if first < 0, count < 0 or first + count exceeds the file's items;
///        std::runtime_error as read_idx(path).
template <Real T> IdxArray<T> read_idx(const std::filesystem::path& path, Index first, Index count) {
  const std::string where = "io::read_idx: '" + path.string() + "'";
  auto in_range = [&](const detail::IdxHeader& h) {
    if (first < 0 || count < 0 || first > h.shape[0] || count > h.shape[0] - first)
      throw std::out_of_range(where + ": rows [" + std::to_string(first) + ", " + std::to_string(first) + " + " + std::to_string(count) +
                              ") are not within the file's " + std::to_string(h.shape[0]) + " items");
  };
  const FileReader file(path, "io::read_idx");
  std::string bytes = file.read(0, 4);
  if (is_gzip(bytes)) {
    bytes = gunzip(file.read(0, file.size()), where);
    const detail::IdxHeader h = detail::idx_header(bytes, bytes.size(), where);
    in_range(h);
    const std::size_t item = std::size_t(h.per_item) * std::size_t(h.width);
    return {h.shape, detail::idx_rows<T>(std::string_view(bytes).substr(h.start + std::size_t(first) * item, std::size_t(count) * item), h, count), first};
  }
  if (bytes.size() == 4) bytes = file.read(0, 4 + 4 * std::uint64_t(static_cast<unsigned char>(bytes[3])));
  const detail::IdxHeader h = detail::idx_header(bytes, file.size(), where);
  in_range(h);
  const std::uint64_t item = std::uint64_t(h.per_item) * std::uint64_t(h.width);
  const std::string data = file.read(h.start + std::uint64_t(first) * item, std::uint64_t(count) * item);
  if (data.size() != std::uint64_t(count) * item) throw std::runtime_error(where + " is truncated (it shrank while being read)");
  return {h.shape, detail::idx_rows<T>(data, h, count), first};
}

/// Reads part `part.index` of `part.count` of an IDX file's items: rows [N·index/count, N·(index+1)/count).
/// @throw std::invalid_argument for a bad part; otherwise as read_idx(path, first, count).
template <Real T> IdxArray<T> read_idx(const std::filesystem::path& path, FilePart part) {
  detail::check_part("io::read_idx", part);
  if (part.count == 1) return read_idx<T>(path);
  const std::string where = "io::read_idx: '" + path.string() + "'";
  auto rows_of = [&](Index items) {
    const auto n = static_cast<std::uint64_t>(items);
    const auto first = static_cast<Index>(detail::part_bound(n, part.index, part.count));
    return std::pair<Index, Index>{first, static_cast<Index>(detail::part_bound(n, part.index + 1, part.count)) - first};
  };
  const FileReader file(path, "io::read_idx");
  std::string head = file.read(0, 8);
  if (is_gzip(head)) {  // decompressed once, only this part's items converted
    const std::string bytes = gunzip(file.read(0, file.size()), where);
    const detail::IdxHeader h = detail::idx_header(bytes, bytes.size(), where);
    const auto [first, count] = rows_of(h.shape[0]);
    const std::size_t item = std::size_t(h.per_item) * std::size_t(h.width);
    return {h.shape, detail::idx_rows<T>(std::string_view(bytes).substr(h.start + std::size_t(first) * item, std::size_t(count) * item), h, count), first};
  }
  if (head.size() >= 4) head = file.read(0, 4 + 4 * std::uint64_t(static_cast<unsigned char>(head[3])));
  const auto [first, count] = rows_of(detail::idx_header(head, file.size(), where).shape[0]);
  return read_idx<T>(path, first, count);
}

/// This rank's share of an IDX file's items (part ranks.rank() of ranks.size()); every rank must call it and
/// an error on any rank is thrown on every rank (agree()). On one process it is read_idx(path).
template <Real T> IdxArray<T> read_idx(const Collective& ranks, const std::filesystem::path& path) PML_RANKS_TRY {
  IdxArray<T> out;
  if (ranks.size() == 1) return read_idx<T>(path);  // also a FIFO or /dev/stdin
  std::array<double, 5> version{};
  pml::detail::agree(ranks, [&] {
    version = detail::file_version(path, "io::read_idx");
    out = read_idx<T>(path, FilePart{ranks.rank(), ranks.size()});
    detail::check_unchanged(path, "io::read_idx", version);
  });
  detail::check_same_file(ranks, path, "io::read_idx", version);
  return out;
} PML_RANKS_CATCH(ranks, "io::read_idx")

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

/// This rank's share of Fashion-MNIST (data-parallel training, issue 18 §4): part ranks.rank() of
/// ranks.size() of each set, read with read_idx(ranks, ...) so that each rank converts only its own items,
/// the labels those of its images. Every rank must call it; an error on any rank (a missing file, counts
/// that differ) is thrown on every rank. On one process it is load_fashion_mnist(directory).
/// @throw std::runtime_error as load_fashion_mnist(), on every rank.
template <Real T> FashionMnist<T> load_fashion_mnist(const Collective& ranks, const std::filesystem::path& directory = fashion_mnist_directory) {
  if (ranks.size() == 1) return load_fashion_mnist<T>(directory);
  const char* names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
  pml::detail::agree(ranks, [&] {
    for (const char* name : names)
      if (!std::filesystem::exists(directory / name))
        throw std::runtime_error("io::load_fashion_mnist: '" + (directory / name).string() +
                                 "' not found; install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
                                 "or pass the directory holding the four IDX files");
  });
  auto labels = [](const IdxArray<T>& a) { return IntVector(a.data.col(0).template cast<long>()); };
  FashionMnist<T> out;
  const IdxArray<T> train = read_idx<T>(ranks, directory / names[0]), train_labels = read_idx<T>(ranks, directory / names[1]);
  const IdxArray<T> test = read_idx<T>(ranks, directory / names[2]), test_labels = read_idx<T>(ranks, directory / names[3]);
  pml::detail::agree(ranks, [&] {
    if (train.shape[0] != train_labels.shape[0] || test.shape[0] != test_labels.shape[0])
      throw std::runtime_error("io::load_fashion_mnist: image and label counts differ in '" + directory.string() + "'");
    out.train_images = train.data / T(255);
    out.train_labels = labels(train_labels);
    out.test_images = test.data / T(255);
    out.test_labels = labels(test_labels);
  });
  return out;
}

}  // namespace pml::io
