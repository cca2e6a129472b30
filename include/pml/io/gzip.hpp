#pragma once
/// @file
/// gzip decompression (RFC 1952 around RFC 1951 DEFLATE), written out so that pml needs no zlib: a
/// canonical-Huffman decoder in the style of Mark Adler's puff, with the CRC-32 and length of every
/// member checked. Used to read the Fashion-MNIST IDX files Debian ships compressed.

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pml::io {
namespace detail {

class Inflater {
 public:
  Inflater(std::string_view in, std::size_t start, const std::string& where) : in_(in), pos_(start), where_(where) {}

  /// Decodes one raw DEFLATE stream, appending to `out`; afterwards position() is the first byte after it.
  void inflate(std::string& out) {
    const std::size_t base = out.size();
    int last;
    do {
      last = bits(1);
      const int type = bits(2);
      if (type == 0) stored(out);
      else if (type == 1) codes(out, base, fixed_lengths(), fixed_distances());
      else if (type == 2) dynamic(out, base);
      else fail("invalid block type 3");
    } while (!last);
    bitbuf_ = 0;  // the rest of the current byte is padding
    bitcnt_ = 0;
  }
  std::size_t position() const noexcept { return pos_; }

 private:
  struct Huffman {
    std::array<short, 16> count{};
    std::array<short, 288> symbol{};
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(where_ + ": corrupt gzip data (" + what + " at byte " + std::to_string(pos_) + ")");
  }
  int bits(int need) {
    std::uint64_t val = bitbuf_;
    while (bitcnt_ < need) {
      if (pos_ >= in_.size()) fail("unexpected end of data");
      val |= std::uint64_t(static_cast<unsigned char>(in_[pos_++])) << bitcnt_;
      bitcnt_ += 8;
    }
    bitbuf_ = static_cast<std::uint32_t>(val >> need);
    bitcnt_ -= need;
    return static_cast<int>(val & ((std::uint64_t(1) << need) - 1));
  }
  void stored(std::string& out) {
    bitbuf_ = 0;
    bitcnt_ = 0;
    if (pos_ + 4 > in_.size()) fail("unexpected end of data");
    const unsigned len = static_cast<unsigned char>(in_[pos_]) | (unsigned(static_cast<unsigned char>(in_[pos_ + 1])) << 8);
    const unsigned nlen = static_cast<unsigned char>(in_[pos_ + 2]) | (unsigned(static_cast<unsigned char>(in_[pos_ + 3])) << 8);
    if (len != (~nlen & 0xffffu)) fail("stored block length check");
    pos_ += 4;
    if (pos_ + len > in_.size()) fail("unexpected end of data");
    out.append(in_.substr(pos_, len));
    pos_ += len;
  }
  // Builds a canonical code from code lengths; returns < 0 if over-subscribed, > 0 if incomplete.
  static int build(Huffman& h, const short* length, int n) {
    h.count.fill(0);
    for (int s = 0; s < n; ++s) ++h.count[static_cast<std::size_t>(length[s])];
    if (h.count[0] == n) return 0;
    int left = 1;
    for (int len = 1; len < 16; ++len) {
      left <<= 1;
      left -= h.count[static_cast<std::size_t>(len)];
      if (left < 0) return left;
    }
    std::array<short, 16> offs{};
    for (int len = 1; len < 15; ++len) offs[static_cast<std::size_t>(len + 1)] = short(offs[static_cast<std::size_t>(len)] + h.count[static_cast<std::size_t>(len)]);
    for (int s = 0; s < n; ++s)
      if (length[s] != 0) h.symbol[static_cast<std::size_t>(offs[static_cast<std::size_t>(length[s])]++)] = short(s);
    return left;
  }
  int decode(const Huffman& h) {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
      code |= bits(1);
      const int count = h.count[static_cast<std::size_t>(len)];
      if (code - count < first) return h.symbol[static_cast<std::size_t>(index + (code - first))];
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    fail("invalid Huffman code");
  }
  void codes(std::string& out, std::size_t base, const Huffman& lencode, const Huffman& distcode) {
    static constexpr short lbase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static constexpr short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static constexpr int dbase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                                      2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static constexpr short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    while (true) {
      int symbol = decode(lencode);
      if (symbol < 256) {
        out += static_cast<char>(symbol);
      } else if (symbol == 256) {
        return;
      } else {
        symbol -= 257;
        if (symbol >= 29) fail("invalid length symbol");
        const int len = lbase[symbol] + bits(lext[symbol]);
        const int dsym = decode(distcode);
        if (dsym >= 30) fail("invalid distance symbol");
        const std::size_t dist = static_cast<std::size_t>(dbase[dsym] + bits(dext[dsym]));
        if (dist > out.size() - base) fail("distance too far back");
        const std::size_t from = out.size() - dist;
        for (int i = 0; i < len; ++i) out += out[from + static_cast<std::size_t>(i)];
      }
    }
  }
  static const Huffman& fixed_lengths() {
    static const Huffman h = [] {
      short lengths[288];
      int s = 0;
      for (; s < 144; ++s) lengths[s] = 8;
      for (; s < 256; ++s) lengths[s] = 9;
      for (; s < 280; ++s) lengths[s] = 7;
      for (; s < 288; ++s) lengths[s] = 8;
      Huffman out;
      build(out, lengths, 288);
      return out;
    }();
    return h;
  }
  static const Huffman& fixed_distances() {
    static const Huffman h = [] {
      short lengths[30];
      for (short& l : lengths) l = 5;
      Huffman out;
      build(out, lengths, 30);
      return out;
    }();
    return h;
  }
  void dynamic(std::string& out, std::size_t base) {
    static constexpr short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    const int nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
    if (nlen > 286 || ndist > 30) fail("bad code counts");
    short lengths[320] = {};
    for (int i = 0; i < ncode; ++i) lengths[order[i]] = short(bits(3));
    Huffman lencode, distcode;
    if (build(lencode, lengths, 19) != 0) fail("incomplete code-length code");
    for (int index = 0; index < nlen + ndist;) {
      int symbol = decode(lencode);
      if (symbol < 16) {
        lengths[index++] = short(symbol);
        continue;
      }
      short len = 0;
      if (symbol == 16) {
        if (index == 0) fail("repeat with no first length");
        len = lengths[index - 1];
        symbol = 3 + bits(2);
      } else if (symbol == 17) {
        symbol = 3 + bits(3);
      } else {
        symbol = 11 + bits(7);
      }
      if (index + symbol > nlen + ndist) fail("too many lengths");
      while (symbol--) lengths[index++] = len;
    }
    if (lengths[256] == 0) fail("no end-of-block code");
    int err = build(lencode, lengths, nlen);
    if (err < 0 || (err > 0 && nlen - lencode.count[0] != 1)) fail("bad literal/length code");
    err = build(distcode, lengths + nlen, ndist);
    if (err < 0 || (err > 0 && ndist - distcode.count[0] != 1)) fail("bad distance code");
    codes(out, base, lencode, distcode);
  }

  std::string_view in_;
  std::size_t pos_;
  std::uint32_t bitbuf_ = 0;
  int bitcnt_ = 0;
  const std::string& where_;
};

inline std::uint32_t crc32(std::string_view bytes, std::size_t from) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = from; i < bytes.size(); ++i) c = table[(c ^ static_cast<unsigned char>(bytes[i])) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}
}  // namespace detail

/// Whether `bytes` starts with the gzip magic number.
inline bool is_gzip(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

/// Decompresses a gzip file's bytes (every member, concatenated). `where` names the source in errors.
/// @throw std::runtime_error for a bad header, corrupt data, or a CRC-32 / length mismatch.
inline std::string gunzip(std::string_view bytes, const std::string& where) {
  std::string out;
  std::size_t pos = 0;
  auto byte = [&](std::size_t i) -> unsigned {
    if (i >= bytes.size()) throw std::runtime_error(where + ": truncated gzip header");
    return static_cast<unsigned char>(bytes[i]);
  };
  do {
    if (!is_gzip(bytes.substr(pos))) throw std::runtime_error(where + ": not gzip data");
    if (byte(pos + 2) != 8) throw std::runtime_error(where + ": unknown gzip compression method " + std::to_string(byte(pos + 2)));
    const unsigned flags = byte(pos + 3);
    pos += 10;
    if (flags & 4) pos += 2 + (byte(pos) | (byte(pos + 1) << 8));  // FEXTRA
    if (flags & 8) while (byte(pos++) != 0) {}                      // FNAME
    if (flags & 16) while (byte(pos++) != 0) {}                     // FCOMMENT
    if (flags & 2) pos += 2;                                        // FHCRC
    const std::size_t start = out.size();
    detail::Inflater inflater(bytes, pos, where);
    inflater.inflate(out);
    pos = inflater.position();
    std::uint32_t crc = 0, size = 0;
    for (int i = 0; i < 4; ++i) crc |= std::uint32_t(byte(pos + std::size_t(i))) << (8 * i);
    for (int i = 0; i < 4; ++i) size |= std::uint32_t(byte(pos + 4 + std::size_t(i))) << (8 * i);
    pos += 8;
    if (detail::crc32(out, start) != crc) throw std::runtime_error(where + ": corrupt gzip data (CRC-32 mismatch)");
    if (static_cast<std::uint32_t>(out.size() - start) != size) throw std::runtime_error(where + ": corrupt gzip data (length mismatch)");
  } while (pos < bytes.size() && is_gzip(bytes.substr(pos)));
  return out;
}

}  // namespace pml::io
