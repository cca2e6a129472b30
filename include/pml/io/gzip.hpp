#pragma once
/// @file
/// gzip decompression through zlib (RFC 1952 / 1951: every member, CRC-32 and length checked by zlib).
/// Part of the optional CMake target `pml::io`, which links zlib (Debian `zlib1g-dev`); the core
/// library does not need it. Used to read the Fashion-MNIST IDX files Debian ships compressed.

#if !defined(PML_HAVE_ZLIB)
#error "pml/io/gzip.hpp (and idx.hpp, png.hpp) need zlib: link the CMake target pml::io (apt-get install zlib1g-dev)"
#endif

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pml::io {
namespace detail {
/// CRC-32 (ISO 3309, as in gzip and PNG) of bytes[from, end), by zlib.
inline std::uint32_t crc32(std::string_view bytes, std::size_t from) {
  uLong c = ::crc32(0L, Z_NULL, 0);
  for (std::size_t i = from; i < bytes.size();) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(bytes.size() - i, UINT_MAX / 2));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(bytes.data() + i), n);
    i += n;
  }
  return static_cast<std::uint32_t>(c);
}
}  // namespace detail

/// Whether `bytes` starts with the gzip magic number.
inline bool is_gzip(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

/// Decompresses a gzip file's bytes (every member, concatenated; bytes after the last member that do not
/// start another one are ignored, as gzip does). `where` names the source in errors.
/// @throw std::runtime_error "<where>: not gzip data", "<where>: truncated gzip data", or
///        "<where>: corrupt gzip data (...)" naming what zlib found (CRC-32 or length mismatch, a bad
///        header or block); std::length_error if the data would not fit in memory.
inline std::string gunzip(std::string_view bytes, const std::string& where) {
  if (!is_gzip(bytes)) throw std::runtime_error(where + ": not gzip data");
  std::string out;
  std::size_t pos = 0;
  do {
    z_stream s{};
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error(where + ": zlib could not start (out of memory)");
    struct End {
      z_stream* s;
      ~End() { inflateEnd(s); }
    } end{&s};
    int ret = Z_OK;
    while (ret != Z_STREAM_END) {
      if (s.avail_in == 0) {
        const std::size_t left = bytes.size() - pos;
        if (left == 0) throw std::runtime_error(where + ": truncated gzip data");
        s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + pos));
        s.avail_in = static_cast<uInt>(std::min<std::size_t>(left, UINT_MAX / 2));
        pos += s.avail_in;
      }
      const std::size_t had = out.size();
      const std::size_t grow = std::max<std::size_t>(std::size_t(1) << 16, std::min<std::size_t>(had, UINT_MAX / 2));
      if (grow > out.max_size() - had) throw std::length_error(where + ": the decompressed data do not fit in memory");
      out.resize(had + grow);
      s.next_out = reinterpret_cast<Bytef*>(out.data() + had);
      s.avail_out = static_cast<uInt>(grow);
      ret = inflate(&s, Z_NO_FLUSH);
      out.resize(had + grow - s.avail_out);
      if (ret == Z_DATA_ERROR) {
        const std::string msg = s.msg ? s.msg : "invalid data";
        const std::string what = msg == "incorrect data check" ? "CRC-32 mismatch" : msg == "incorrect length check" ? "length mismatch" : msg;
        throw std::runtime_error(where + ": corrupt gzip data (" + what + ")");
      }
      if (ret == Z_MEM_ERROR) throw std::runtime_error(where + ": zlib ran out of memory");
      if (ret == Z_NEED_DICT || ret == Z_STREAM_ERROR) throw std::runtime_error(where + ": corrupt gzip data (zlib status " + std::to_string(ret) + ")");
      // Z_OK and Z_BUF_ERROR: more input or more room; the loop supplies both (or reports truncation)
    }
    pos -= s.avail_in;  // the bytes zlib did not use belong to the next member
  } while (pos < bytes.size() && is_gzip(bytes.substr(pos)));
  return out;
}

}  // namespace pml::io
