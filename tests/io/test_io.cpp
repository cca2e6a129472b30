// io/: gzip (every block type, multi-member, header fields, corruption), IDX (element types, errors,
// Fashion-MNIST when Debian's package is installed), CSV (header detection that never drops a row, BOM,
// CR line ends, binary and UTF-16 files, the number rule, errors with line and column, round trip),
// whole-file writes (links, FIFOs, devices, read-only targets, killed saves, errors with reasons), minibatches (every row once per epoch, reproducible from a seed).
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>
#include <unistd.h>

#include "pml/io/batches.hpp"
#include "pml/io/csv.hpp"
#include "pml/io/gzip.hpp"
#include "pml/io/idx.hpp"
#include "pml/io/png.hpp"
#include "pml/io/svg.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
const fs::path fixtures = fs::path(PML_TEST_FIXTURES) / "io";
struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("pml_io_test_" + std::to_string(std::random_device{}()))) { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary) << bytes;
    return path / name;
  }
};
std::string gz(const char* name) { return pml::read_file(fixtures / name, "test"); }
}  // namespace

TEST_CASE("gunzip decodes stored, fixed and dynamic blocks, several members and header fields", "[io][gzip]") {
  const std::string text = gz("text.txt");
  REQUIRE(text.size() > 100000);
  CHECK(pml::io::gunzip(gz("text.dynamic.gz"), "dyn") == text);
  CHECK(pml::io::gunzip(gz("text.stored.gz"), "stored") == text);
  CHECK(pml::io::gunzip(gz("small.fixed.gz"), "fixed") == "abcabcabcabc pml");
  CHECK(pml::io::gunzip(gz("two_members.gz"), "two") == "hello, world\n");
  CHECK(pml::io::gunzip(gz("named.gz"), "named") == "named member\n");
  CHECK(pml::io::is_gzip(gz("named.gz")));
  CHECK_FALSE(pml::io::is_gzip(text));
}

TEST_CASE("gunzip: truncations and bit flips throw clear errors, never crash or return wrong data", "[io][gzip]") {
  const std::string data = gz("text.dynamic.gz"), text = gz("text.txt");
  CHECK_THROWS_WITH(pml::io::gunzip("plain text", "f.gz"), Contains("f.gz: not gzip data"));
  int thrown = 0, wrong = 0;
  for (std::size_t cut = 0; cut < data.size(); cut += 97) {
    try {
      if (pml::io::gunzip(data.substr(0, cut), "cut") != text) ++wrong;
    } catch (const std::runtime_error&) { ++thrown; }
  }
  for (std::size_t bit = 80; bit < data.size() * 8; bit += 331) {
    std::string flipped = data;
    flipped[bit / 8] = char(flipped[bit / 8] ^ (1 << (bit % 8)));
    try {
      if (pml::io::gunzip(flipped, "flip") != text) ++wrong;
    } catch (const std::runtime_error&) { ++thrown; }
  }
  CHECK(wrong == 0);  // a flip that decodes must be caught by the CRC-32
  CHECK(thrown > 400);
  std::string bad_crc = data;
  bad_crc[bad_crc.size() - 6] = char(bad_crc[bad_crc.size() - 6] ^ 1);
  CHECK_THROWS_WITH(pml::io::gunzip(bad_crc, "crc"), Contains("crc: corrupt gzip data (CRC-32 mismatch)"));
}

TEST_CASE("read_idx reads every element type, plain and compressed, and rejects malformed files", "[io][idx]") {
  TempDir dir;
  // 2 items of 2 x 3 unsigned bytes
  std::string ubyte = {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int v = 0; v < 12; ++v) ubyte += char(v * 20);
  const auto a = pml::io::read_idx<double>(dir.write("a.idx", ubyte));
  CHECK(a.shape == std::vector<Eigen::Index>{2, 2, 3});
  REQUIRE(a.data.rows() == 2);
  REQUIRE(a.data.cols() == 6);
  CHECK(a.data(0, 0) == 0);
  CHECK(a.data(0, 5) == 100);
  CHECK(a.data(1, 5) == 220);
  // int32 and float, big-endian
  const std::string ints = {0, 0, 0x0C, 1, 0, 0, 0, 2, char(0xff), char(0xff), char(0xff), char(0xfe), 0, 0, 1, 0};
  const auto b = pml::io::read_idx<float>(dir.write("b.idx", ints));
  CHECK(b.data(0, 0) == -2);
  CHECK(b.data(1, 0) == 256);
  const std::string floats = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3f, char(0xc0), 0, 0};  // 1.5f
  CHECK(pml::io::read_idx<double>(dir.write("c.idx", floats)).data(0, 0) == 1.5);
  CHECK_THROWS_WITH(pml::io::read_idx<double>(dir.write("bad.idx", "PK\x03\x04 zip")), Contains("is not an IDX file (bad magic number)"));
  CHECK_THROWS_WITH(pml::io::read_idx<double>(dir.write("short.idx", ubyte.substr(0, ubyte.size() - 1))),
                    Contains("has 11 data bytes, the header says 12"));
  CHECK_THROWS_WITH(pml::io::read_idx<double>(dir.write("type.idx", std::string{0, 0, 0x07, 1, 0, 0, 0, 1, 0})), Contains("unknown IDX element type"));
  CHECK_THROWS_WITH(pml::io::read_idx<double>(dir.path / "missing.idx"), Contains("io::read_idx: cannot open"));
}

namespace {
/// gzip of `bytes` (zlib's deflate with a gzip wrapper), for the compressed IDX cases.
std::string gzip_of(const std::string& bytes) {
  z_stream s{};
  REQUIRE(deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&s, uLong(bytes.size())) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = uInt(bytes.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}
template <class A, class B> bool same_values(const A& a, const B& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array() || (a.array().isNaN() && b.array().isNaN())).all();
}
}  // namespace

TEST_CASE("read_idx in parts: a row range or part i of P, plain and compressed, stacks to the whole file", "[io][idx][parts]") {
  TempDir dir;
  std::string ubyte = {0, 0, 0x08, 2, 0, 0, 0, 5, 0, 0, 0, 3};  // 5 items of 3 unsigned bytes
  for (int v = 0; v < 15; ++v) ubyte += char(v * 7 + 1);
  for (const bool compressed : {false, true}) {
    const auto path = dir.write(compressed ? "p.idx.gz" : "p.idx", compressed ? gzip_of(ubyte) : ubyte);
    const auto whole = pml::io::read_idx<double>(path);
    REQUIRE(whole.data.rows() == 5);
    const auto middle = pml::io::read_idx<float>(path, 1, 3);
    CHECK(middle.shape == std::vector<Eigen::Index>{5, 3});
    CHECK(middle.first_row == 1);
    CHECK(same_values(middle.data.cast<double>(), whole.data.middleRows(1, 3)));
    CHECK(pml::io::read_idx<double>(path, 5, 0).data.rows() == 0);
    CHECK_THROWS_AS(pml::io::read_idx<double>(path, 4, 2), std::out_of_range);
    CHECK_THROWS_WITH(pml::io::read_idx<double>(path, -1, 2), Contains("rows [-1, -1 + 2) are not within the file's 5 items"));
    for (int count = 1; count <= 7; ++count) {
      Eigen::MatrixXd stacked(0, 3);
      for (int i = 0; i < count; ++i) {
        const auto part = pml::io::read_idx<double>(path, pml::io::FilePart{i, count});
        CHECK(part.first_row == stacked.rows());
        stacked.conservativeResize(stacked.rows() + part.data.rows(), 3);
        stacked.bottomRows(part.data.rows()) = part.data;
      }
      CHECK(same_values(stacked, whole.data));
    }
    CHECK(same_values(pml::io::read_idx<double>(pml::Collective::single(), path).data, whole.data));
  }
  CHECK_THROWS_WITH(pml::io::read_idx<double>(dir.write("short.idx", ubyte.substr(0, ubyte.size() - 1)), 0, 1),
                    Contains("has 14 data bytes, the header says 15"));
  CHECK_THROWS_AS(pml::io::read_idx<double>(dir.path / "p.idx", pml::io::FilePart{2, 2}), std::invalid_argument);
  // items of no values: N x 0, whole or in parts
  const auto empty_items = dir.write("e.idx", std::string{0, 0, 0x08, 2, 0, 0, 0, 4, 0, 0, 0, 0});
  CHECK(pml::io::read_idx<double>(empty_items).data.rows() == 4);
  CHECK(pml::io::read_idx<double>(empty_items, pml::io::FilePart{1, 2}).data.rows() == 2);
  // dimensions whose product passes 2^64 are refused, not wrapped
  const std::string huge = {0, 0, 0x08, 3, char(0xff), char(0xff), char(0xff), char(0xff), char(0xff), char(0xff), char(0xff), char(0xff),
                            char(0xff), char(0xff), char(0xff), char(0xff), 1};
  CHECK_THROWS_WITH(pml::io::read_idx<double>(dir.write("huge.idx", huge)), Contains("the header claims more values than the file holds"));
  CHECK_THROWS_WITH(pml::io::read_idx<double>(dir.path / "huge.idx", 0, 1), Contains("the header claims more values than the file holds"));
}

TEST_CASE("read_csv in parts: each part reads its own byte range, and the parts stack to the whole file", "[io][csv][parts]") {
  TempDir dir;
  int variant = 0;
  for (const std::string end : {"\n", "\r\n", "\r"})
    for (const bool bom : {false, true})
      for (const bool header : {false, true}) {
        std::string text = bom ? "\xEF\xBB\xBF" : "";
        text += end;  // a blank line first
        if (header) text += "a, \"b,c\" ,d" + end;
        for (int i = 0; i < 37; ++i) {
          text += std::to_string(i * 1.25) + "," + (i % 5 == 0 ? "NA" : std::to_string(-i * 1000003)) + ", \"" + std::to_string(i % 3) + "\"" + end;
          if (i % 11 == 3) text += "  " + end;  // blank lines inside
        }
        if (variant % 2) text += "1,2,3";  // no line end after the last row
        const auto path = dir.write("parts" + std::to_string(variant++) + ".csv", text);
        const auto whole = pml::io::read_csv<double>(path);
        REQUIRE(whole.data.rows() == 37 + (variant % 2 == 0 ? 1 : 0));
        for (const int count : {1, 2, 3, 4, 5, 7, 9, 64, 1000}) {
          Eigen::MatrixXd stacked(0, 3);
          for (int i = 0; i < count; ++i) {
            const auto part = pml::io::read_csv<double>(path, {}, pml::io::FilePart{i, count});
            CHECK(part.columns == whole.columns);
            REQUIRE(part.data.cols() == 3);
            stacked.conservativeResize(stacked.rows() + part.data.rows(), 3);
            stacked.bottomRows(part.data.rows()) = part.data;
          }
          INFO("variant " << variant - 1 << ", " << count << " parts");
          CHECK(same_values(stacked, whole.data));
        }
        CHECK(same_values(pml::io::read_csv<double>(pml::Collective::single(), path).data, whole.data));
      }
}

TEST_CASE("read_csv in parts: errors name the file's line, a bad part or a FIFO is refused", "[io][csv][parts]") {
  TempDir dir;
  std::string text = "x,y\n";
  for (int i = 2; i <= 60; ++i) text += (i == 47 ? std::string("4,oops") : std::to_string(i) + "," + std::to_string(i * i)) + (i % 2 ? "\r\n" : "\n");
  const auto path = dir.write("bad.csv", text);
  int thrown = 0;
  for (int i = 0; i < 4; ++i) {
    try {
      pml::io::read_csv<double>(path, {}, pml::io::FilePart{i, 4});
    } catch (const std::runtime_error& e) {
      ++thrown;
      CHECK_THAT(e.what(), Contains("bad.csv' line 47, column 2: cannot read 'oops' as a number"));
    }
  }
  CHECK(thrown == 1);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(path, {}, pml::io::FilePart{4, 4}), Contains("io::read_csv: part must have count >= 1 and index in [0, count), got index 4 of count 4"));
  CHECK_THROWS_AS(pml::io::read_csv<double>(path, {}, pml::io::FilePart{0, 0}), std::invalid_argument);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("blank.csv", "\n  \n\n"), {}, pml::io::FilePart{1, 3}), Contains("blank.csv' is empty"));
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("mixed.csv", "a,1\n2,3\n"), {}, pml::io::FilePart{1, 2}), Contains("mixes names and numbers"));
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("nul.csv", std::string("1,2\n3,4\n5,\0\n", 12)), {}, pml::io::FilePart{1, 2}),
                    Contains("a NUL byte at offset 10"));
  const auto fifo = dir.path / "fifo.csv";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(fifo, {}, pml::io::FilePart{0, 2}), Contains("it is not a regular file, so it cannot be read in parts"));
  // a header only: every part is empty, the collective read says so
  const auto only = dir.write("only.csv", "a,b\n");
  CHECK(pml::io::read_csv<double>(only, {}, pml::io::FilePart{1, 2}).data.rows() == 0);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(pml::Collective::single(), only), Contains("has a header but no data rows"));
}

TEST_CASE("Fashion-MNIST: the Debian package's files load, or the error names the package", "[io][idx]") {
  TempDir empty;
  CHECK_THROWS_WITH(pml::io::load_fashion_mnist<float>(empty.path), Contains("install Debian's dataset-fashion-mnist"));
  if (!fs::exists(pml::io::fashion_mnist_directory / "t10k-labels-idx1-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed: only the error path was tested");
    return;
  }
  const auto labels = pml::io::read_idx<float>(pml::io::fashion_mnist_directory / "t10k-labels-idx1-ubyte.gz");
  CHECK(labels.shape == std::vector<Eigen::Index>{10000});
  for (int c = 0; c < 10; ++c) CHECK((labels.data.array() == float(c)).count() == 1000);  // balanced test set
  const auto images = pml::io::read_idx<float>(pml::io::fashion_mnist_directory / "t10k-images-idx3-ubyte.gz");
  CHECK(images.shape == std::vector<Eigen::Index>{10000, 28, 28});
  CHECK(images.data.cols() == 784);
  CHECK(images.data.maxCoeff() == 255);
  CHECK(images.data.minCoeff() == 0);
}

TEST_CASE("read_csv: header detection, delimiters, missing values, and errors with line and column", "[io][csv]") {
  TempDir dir;
  const auto t = pml::io::read_csv<double>(dir.write("a.csv", "x,y,\"z\"\n1,2.5,-3e2\r\n\n4,NA,\n"));
  CHECK(t.columns == std::vector<std::string>{"x", "y", "z"});
  REQUIRE(t.data.rows() == 2);
  CHECK(t.data(0, 2) == -300);
  CHECK(std::isnan(t.data(1, 1)));
  CHECK(std::isnan(t.data(1, 2)));
  const auto u = pml::io::read_csv<float>(dir.write("b.tsv", "1\t2\n3\t4\n"), {.delimiter = '\t'});
  CHECK(u.columns == std::vector<std::string>{"x0", "x1"});
  CHECK(u.data(1, 0) == 3);
  CHECK(pml::io::read_csv<double>(dir.write("h.csv", "1,2\n3,4\n"), {.header = pml::io::Header::yes}).data.rows() == 1);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("c.csv", "a,b\n1,2\n3,x7\n")), Contains("line 3, column 2: cannot read 'x7' as a number"));
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("d.csv", "a,b\n1,2\n3\n")), Contains("line 3 has 1 fields, expected 2"));
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("e.csv", "\n\n")), Contains("is empty"));
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("f.csv", "a,b\n")), Contains("has a header but no data rows"));
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.path / "none.csv"), Contains("io::read_csv: cannot open"));
}

TEST_CASE("write_csv round-trips exactly, with NaN, atomically", "[io][csv]") {
  TempDir dir;
  Eigen::MatrixXd m(3, 2);
  m << 0.1, -2e-300, 1.0 / 3, std::numeric_limits<double>::quiet_NaN(), 12345678.9, 0;
  pml::io::write_csv(dir.path / "m.csv", m, {"a", "b"});
  const auto back = pml::io::read_csv<double>(dir.path / "m.csv");
  CHECK(back.columns == std::vector<std::string>{"a", "b"});
  CHECK(back.data(1, 0) == m(1, 0));
  CHECK(back.data(0, 1) == m(0, 1));
  CHECK(std::isnan(back.data(1, 1)));
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);
  CHECK_THROWS_WITH(pml::io::write_csv(dir.path / "x.csv", m, {"only one"}), Contains("1 column names for 2 columns"));
  CHECK_THROWS_WITH(pml::io::write_csv(dir.path / "no" / "x.csv", m), Contains("io::write_csv: cannot write"));
}

TEST_CASE("read_csv: files as people have them (UTF-8 BOM, CR line ends) and binary or UTF-16 files", "[io][csv]") {
  // Excel's "CSV UTF-8": the byte-order mark must not turn the first data row into a header
  const auto bom = pml::io::read_csv<double>(fixtures / "bom_headerless.csv");
  CHECK(bom.data.rows() == 8);
  CHECK(bom.columns == std::vector<std::string>{"x0", "x1"});
  CHECK(bom.data(0, 0) == 1.5);
  CHECK(bom.data(7, 1) == 8.0);
  const auto named = pml::io::read_csv<double>(fixtures / "bom_header.csv");
  CHECK(named.columns == std::vector<std::string>{"a", "b"});  // not "\xEF\xBB\xBF" "a"
  CHECK(named.data.rows() == 8);
  // classic Mac OS line ends (CR only), and line numbers counted by CR, LF and CRLF alike
  const auto mac = pml::io::read_csv<double>(fixtures / "mac_cr.csv");
  CHECK(mac.columns == std::vector<std::string>{"x", "y"});
  REQUIRE(mac.data.rows() == 8);
  CHECK(mac.data(7, 0) == 9.0);
  TempDir dir;
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("mixed.csv", "a,b\r1,2\r\n3,4\n5,x\r")), Contains("line 4, column 2: cannot read 'x'"));
  // a NUL byte or UTF-16 (with or without a byte-order mark): one clear message, not text cut at the NUL
  for (const char* name : {"utf16le_bom.csv", "utf16be_bom.csv", "utf16le_nobom.csv"}) {
    INFO(name);
    CHECK_THROWS_WITH(pml::io::read_csv<double>(fixtures / name), Contains("is a binary or UTF-16 file") && Contains(name));
  }
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("nul.csv", std::string("1,2\n3,\0,4\n", 10))),
                    Contains("nul.csv' is a binary or UTF-16 file (a NUL byte at offset 6)"));
  CHECK_THROWS_WITH(pml::io::read_csv<double>(fixtures / "text.dynamic.gz"), Contains("binary or UTF-16 file"));
}

TEST_CASE("read_csv: header detection never drops a row; the header choice is explicit when asked", "[io][csv]") {
  TempDir dir;
  // a first row that looks numeric but cannot be read is an error at its line and column, never a header
  for (const auto& [row, field] : std::vector<std::pair<std::string, std::string>>{
           {"1e400,2", "'1e400'"}, {"2.o,2", "'2.o'"}, {"+-2.0,2", "'+-2.0'"}, {"1,2e", "'2e'"}, {"1,0x1p3", "'0x1p3'"}}) {
    INFO(row);
    const auto path = dir.write("first.csv", row + "\n3,4\n5,6\n");
    CHECK_THROWS_WITH(pml::io::read_csv<double>(path), Contains("line 1, column") && Contains("cannot read " + field) && Contains("header yes"));
    CHECK_THROWS_WITH(pml::io::read_csv<double>(path, {.header = pml::io::Header::no}), Contains("line 1, column"));
  }
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("col.csv", "1,2o\n3,4\n")), Contains("line 1, column 2: cannot read '2o'"));
  // 1e-400 underflows to 0: a data row, all 3 rows kept
  const auto tiny = pml::io::read_csv<double>(dir.write("tiny.csv", "1e-400,2\n3,4\n5,6\n"));
  REQUIRE(tiny.data.rows() == 3);
  CHECK(tiny.data(0, 0) == 0.0);
  // names and numbers mixed on line 1: not guessed
  const auto mixed = dir.write("mixed.csv", "id,2019\n1,2\n");
  CHECK_THROWS_WITH(pml::io::read_csv<double>(mixed), Contains("line 1 mixes names and numbers (column 1 'id', column 2 '2019')"));
  const auto yes = pml::io::read_csv<double>(mixed, {.header = pml::io::Header::yes});
  CHECK(yes.columns == std::vector<std::string>{"id", "2019"});
  CHECK(yes.data.rows() == 1);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(mixed, {.header = pml::io::Header::no}), Contains("line 1, column 1: cannot read 'id' as a number"));
  // a header of numbers is taken when asked; Header::no keeps the first row; names only: a header; empty names become xJ
  const auto numbers = dir.write("numbers.csv", "10,20\n1,2\n");
  CHECK(pml::io::read_csv<double>(numbers).data.rows() == 2);
  CHECK(pml::io::read_csv<double>(numbers, {.header = pml::io::Header::yes}).columns == std::vector<std::string>{"10", "20"});
  CHECK(pml::io::read_csv<double>(dir.write("gap.csv", "a,,\"c d\"\n1,2,3\n")).columns == std::vector<std::string>{"a", "x1", "c d"});
  // quoted fields: the delimiter inside quotes, doubled quotes; unterminated quotes name the place
  const auto quoted = pml::io::read_csv<double>(dir.write("q.csv", "\"a,b\",\"say \"\"hi\"\"\"\n\"1.5\", 2 \n"));
  CHECK(quoted.columns == std::vector<std::string>{"a,b", "say \"hi\""});
  CHECK(quoted.data(0, 0) == 1.5);
  CHECK(quoted.data(0, 1) == 2.0);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(dir.write("open.csv", "a,b\n1,\"2\n")), Contains("line 2, column 2: the quote at character 3 is not closed"));
  // a blank delimiter: a line of tabs is a row of missing values, not a blank line
  const auto tabs = pml::io::read_csv<double>(dir.write("t.tsv", "1\t2\n\t\n"), {.delimiter = '\t'});
  REQUIRE(tabs.data.rows() == 2);
  CHECK(std::isnan(tabs.data(1, 0)));
  CHECK_THROWS_AS(pml::io::read_csv<double>(numbers, {.delimiter = '.'}), std::invalid_argument);
  CHECK_THROWS_WITH(pml::io::read_csv<double>(numbers, {.delimiter = '"'}), Contains("delimiter must not be"));
}

TEST_CASE("read_csv: the number rule (IEEE rounding, whole field, one sign, missing and infinite values)", "[io][csv]") {
  TempDir dir;
  auto one = [&](const std::string& field) { return pml::io::read_csv<double>(dir.write("n.csv", "v,w\n" + field + ",1\n")).data(0, 0); };
  auto fails = [&](const std::string& field) {
    try {
      (void)one(field);
      return std::string();
    } catch (const std::runtime_error& e) { return std::string(e.what()); }
  };
  // rounding to nearest as strtod: underflow gives 0 (with its sign) or a subnormal, never an error
  CHECK(one("1e-400") == 0.0);
  CHECK(std::signbit(one("-1e-400")));
  CHECK(one("1e-310") == std::strtod("1e-310", nullptr));
  CHECK(one("3e-324") == std::numeric_limits<double>::denorm_min());
  CHECK(one("2e-324") == 0.0);  // below half the smallest subnormal
  CHECK(one("0.0000000000000000000001e-390") == 0.0);
  CHECK(one("1.7976931348623157e308") == std::numeric_limits<double>::max());
  CHECK(one("0.1") == 0.1);
  CHECK(one("+2.5") == 2.5);
  CHECK(one("-.5") == -0.5);
  CHECK(one("7.") == 7.0);
  CHECK(one("  -3E2\t") == -300.0);
  CHECK(one("\" 4 \"") == 4.0);
  CHECK(one("inf") == std::numeric_limits<double>::infinity());
  CHECK(one("-Infinity") == -std::numeric_limits<double>::infinity());
  for (const char* missing : {"", "?", "NA", "na", "N/A", "NaN", "nan", "NAN", "-nan", "\"\""}) {
    INFO(missing);
    CHECK(std::isnan(one(missing)));
  }
  // overflow is an error with line and column
  CHECK_THAT(fails("1e400"), Contains("line 2, column 1: cannot read '1e400' as a number: its magnitude is beyond the largest double"));
  CHECK_THAT(fails("-123456789e301"), Contains("beyond the largest double"));
  // the whole field, one sign
  for (const char* bad : {"+-2.0", "-+2", "--2", "2.o", "1e", "1e+", "1.2.3", "0x10", "1 2", "nan(1)", "infi", "2d", "e5", "null"}) {
    INFO(bad);
    CHECK_THAT(fails(bad), Contains("line 2, column 1: cannot read"));
  }
  CHECK_THAT(fails("\"1,5\""), Contains("(the decimal point is '.')"));
  // float: its own range
  const auto f = pml::io::read_csv<float>(dir.write("f.csv", "1e-50,1e-40\n"));
  CHECK(f.data(0, 0) == 0.0f);
  CHECK(f.data(0, 1) > 0.0f);
  CHECK_THROWS_WITH(pml::io::read_csv<float>(dir.write("g.csv", "v\n1e39\n")), Contains("beyond the largest float"));
}

TEST_CASE("write_file_atomically: links, special files, read-only targets, killed saves, reasons in errors", "[io][csv][file]") {
  TempDir dir;
  Eigen::MatrixXd m(2, 2);
  m << 1, 2, 3, 4;
  const std::string expected = pml::io::format_csv(m);
  // a symbolic link (and a chain of them) is written through; the links stay links
  std::ofstream(dir.path / "target.csv") << "old\n";
  fs::create_symlink("target.csv", dir.path / "link.csv");
  fs::create_symlink(dir.path / "link.csv", dir.path / "link2.csv");
  pml::io::write_csv(dir.path / "link2.csv", m);
  CHECK(fs::is_symlink(dir.path / "link.csv"));
  CHECK(fs::is_symlink(dir.path / "link2.csv"));
  CHECK(pml::read_file(dir.path / "target.csv", "test") == expected);
  fs::create_symlink("made.csv", dir.path / "dangling.csv");  // a link to a missing file creates the file
  pml::io::write_csv(dir.path / "dangling.csv", m);
  CHECK(fs::is_symlink(dir.path / "dangling.csv"));
  CHECK(pml::read_file(dir.path / "made.csv", "test") == expected);
  fs::create_symlink("loop2.csv", dir.path / "loop1.csv");
  fs::create_symlink("loop1.csv", dir.path / "loop2.csv");
  CHECK_THROWS_WITH(pml::io::write_csv(dir.path / "loop1.csv", m), Contains("cannot write '") && Contains("loop1.csv': Too many levels of symbolic links"));

  // a FIFO is written directly, never replaced (the test holds both ends, so nothing blocks)
  const fs::path fifo = dir.path / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int reader = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
  REQUIRE(reader >= 0);
  pml::io::write_csv(fifo, m);
  CHECK(fs::is_fifo(fifo));
  char buf[256];
  const auto got = ::read(reader, buf, sizeof buf);
  ::close(reader);
  CHECK(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(got, 0))) == expected);
  // a character device: written directly, stays a device; a write error gives strerror and the user's path
  CHECK_THROWS_WITH(pml::io::write_csv("/dev/full", m), Contains("io::write_csv: cannot write '/dev/full': No space left on device"));
  CHECK(fs::is_character_file("/dev/full"));
  // a directory is refused
  CHECK_THROWS_WITH(pml::io::write_csv(dir.path, m), Contains("it is a directory"));

  // read-only targets are refused (also for root), writable ones keep their mode
  const fs::path ro = dir.write("ro.csv", "keep me\n");
  fs::permissions(ro, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  CHECK_THROWS_WITH(pml::io::write_csv(ro, m), Contains("cannot write '" + ro.string() + "': Permission denied (the file is read-only"));
  CHECK(pml::read_file(ro, "test") == "keep me\n");
  CHECK(fs::status(ro).permissions() == (fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read));
  const fs::path secret = dir.write("secret.csv", "x\n");
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
  pml::io::write_csv(secret, m);
  CHECK(fs::status(secret).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(pml::read_file(secret, "test") == expected);

  // a save killed half-way leaves .NAME.pml-PID-TAG.tmp: the next save of NAME removes those of dead
  // processes and keeps those of live ones (and anything not named exactly so)
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);  // now a PID no process has
  const fs::path out = dir.path / "out.csv";
  const fs::path stale = pml::detail::temporary_path(out, child, 0x1234abcd);
  const fs::path live = pml::detail::temporary_path(out, 1, 0x0000beef);
  CHECK(stale.filename().string() == ".out.csv.pml-" + std::to_string(child) + "-1234abcd.tmp");
  std::ofstream(stale) << "partial";
  std::ofstream(live) << "another process is writing";
  std::ofstream(dir.path / ".out.csv.pml-x-1234abcd.tmp") << "not ours";
  std::ofstream(dir.path / (".other.csv.pml-" + std::to_string(child) + "-1234abcd.tmp")) << "another file's";
  std::ofstream(dir.path / ".out.csv.tmp3141592653") << "pml 0.1's, killed two hours ago";
  fs::last_write_time(dir.path / ".out.csv.tmp3141592653", fs::file_time_type::clock::now() - std::chrono::hours(2));
  std::ofstream(dir.path / ".out.csv.tmp2718281828") << "pml 0.1's, maybe still writing";
  std::ofstream(dir.path / ".out.csv.tmp-notes") << "someone else's";
  pml::io::write_csv(out, m);
  CHECK_FALSE(fs::exists(dir.path / ".out.csv.tmp3141592653"));
  CHECK(fs::exists(dir.path / ".out.csv.tmp2718281828"));
  CHECK(fs::exists(dir.path / ".out.csv.tmp-notes"));
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(live));
  CHECK(fs::exists(dir.path / ".out.csv.pml-x-1234abcd.tmp"));
  CHECK(fs::exists(dir.path / (".other.csv.pml-" + std::to_string(child) + "-1234abcd.tmp")));
  CHECK(pml::read_file(out, "test") == expected);

  // a failing write (file size limit: EFBIG) leaves the old file whole and no temporary, and says why
  const fs::path big = dir.write("big.csv", "old contents\n");
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t writer = ::fork();
  if (writer == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{16, 16};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    try {
      pml::io::write_csv(big, Eigen::MatrixXd::Constant(100, 10, 1.25));
    } catch (const std::exception& e) { message = e.what(); }
    (void)!::write(pipe_fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string message;
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  ::waitpid(writer, nullptr, 0);
  CHECK_THAT(message, Contains("io::write_csv: cannot write '" + big.string() + "': File too large"));
  CHECK(pml::read_file(big, "test") == "old contents\n");
  for (const auto& entry : fs::directory_iterator(dir.path)) CHECK(entry.path().filename().string().rfind(".big.csv", 0) != 0);

  // standard streams by name: written to the open descriptor, nothing created or replaced
  CHECK(pml::detail::descriptor_alias("/dev/stdout") == 1);
  CHECK(pml::detail::descriptor_alias("/proc/self/fd/7") == 7);
  CHECK(pml::detail::descriptor_alias("/dev/fd/x") == -1);
  CHECK(pml::detail::descriptor_alias("/tmp/stdout") == -1);
  // reading: the reason and the path
  CHECK_THROWS_WITH(pml::read_file(dir.path / "none", "f"), Contains("f: cannot open '") && Contains("none': No such file or directory"));
  CHECK_THROWS_WITH(pml::read_file(dir.path, "f"), Contains("it is a directory"));
}

TEST_CASE("Minibatches: every row once per epoch, reproducible from the seed, gather_rows", "[io][batches]") {
  pml::io::Minibatches batches(10, 4);
  CHECK(batches.size() == 3);
  CHECK(batches[2].size() == 2);
  CHECK(pml::io::Minibatches(10, 4, true).size() == 2);
  // min_last: a remainder of fewer rows joins the batch before it (batch normalisation never sees one row)
  const pml::io::Minibatches merged(9, 4, false, 2);
  REQUIRE(merged.size() == 2);
  CHECK(merged[0].size() == 4);
  CHECK(merged[1].size() == 5);
  CHECK(pml::io::Minibatches(10, 4, false, 2).size() == 3);  // a remainder of 2 stays a batch
  CHECK(pml::io::Minibatches(9, 4).size() == 3);
  CHECK(pml::io::Minibatches(1, 4, false, 2).size() == 1);  // nothing to join: the one row is the batch
  pml::Rng r1(3), r2(3);
  batches.shuffle(r1);
  pml::io::Minibatches again(10, 4);
  again.shuffle(r2);
  CHECK(batches.order() == again.order());
  std::multiset<Eigen::Index> seen;
  for (Eigen::Index b = 0; b < batches.size(); ++b)
    for (const Eigen::Index i : batches[b]) seen.insert(i);
  CHECK(seen == std::multiset<Eigen::Index>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // shuffles are uniform: position of row 0 over many shuffles
  pml::io::Minibatches big(5, 5);
  pml::Rng rng(4);
  std::vector<int> first(5, 0);
  for (int t = 0; t < 5000; ++t) {
    big.shuffle(rng);
    ++first[static_cast<std::size_t>(big.order()[0])];
  }
  for (const int f : first) CHECK(f == Approx(1000).margin(150));  // 5 sd of a binomial(5000, 0.2)
  Eigen::MatrixXd x(10, 2), out;
  for (int i = 0; i < 10; ++i) x.row(i) << i, 10 * i;
  pml::io::gather_rows(x, batches[0], out);
  REQUIRE(out.rows() == 4);
  for (int i = 0; i < 4; ++i) CHECK(out(i, 1) == 10 * double(batches[0][std::size_t(i)]));
  CHECK_THROWS_WITH(pml::io::Minibatches(0, 4), Contains("n must be positive, got 0"));
  CHECK_THROWS_WITH(pml::io::Minibatches(5, 0), Contains("batch_size must be positive, got 0"));
  CHECK_THROWS_WITH(batches[3], Contains("batch 3 of 3"));
}

TEST_CASE("write_png writes a valid greyscale PNG whose pixels decode back", "[io][png]") {
  TempDir dir;
  Eigen::MatrixXd img(3, 70000 / 3);
  for (Eigen::Index i = 0; i < img.rows(); ++i)
    for (Eigen::Index j = 0; j < img.cols(); ++j) img(i, j) = double((i * 7 + j) % 256) / 255.0;
  img(0, 0) = 2.0;                                       // clamped to white
  img(0, 1) = std::numeric_limits<double>::quiet_NaN();  // drawn black
  pml::io::write_png(dir.path / "a.png", img);
  const std::string png = pml::read_file(dir.path / "a.png", "test");
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK(png.substr(12, 4) == "IHDR");
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(png[at + std::size_t(i)]);
    return v;
  };
  CHECK(be32(16) == std::uint32_t(img.cols()));
  CHECK(be32(20) == 3);
  CHECK(be32(29) == pml::io::detail::crc32(std::string_view(png).substr(12, 17), 0));  // IHDR's CRC
  // decoded back by libpng (an independent reader of what we wrote)
  png_image back{};
  back.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_memory(&back, png.data(), png.size()));
  back.format = PNG_FORMAT_GRAY;
  REQUIRE(back.width == std::uint32_t(img.cols()));
  REQUIRE(back.height == 3);
  std::string pixels(PNG_IMAGE_SIZE(back), '\0');
  REQUIRE(png_image_finish_read(&back, nullptr, pixels.data(), 0, nullptr));
  CHECK(static_cast<unsigned char>(pixels[0]) == 255);  // 2.0 clamped to white
  CHECK(static_cast<unsigned char>(pixels[1]) == 0);    // NaN drawn black
  CHECK(static_cast<unsigned char>(pixels[std::size_t(img.cols()) + 4]) == (7 + 4) % 256);
  int differing = 0;
  for (Eigen::Index r = 0; r < img.rows(); ++r)
    for (Eigen::Index c = 2; c < img.cols(); ++c)
      differing += static_cast<unsigned char>(pixels[std::size_t(r * img.cols() + c)]) != (r * 7 + c) % 256;
  CHECK(differing == 0);
  CHECK(png.size() < 70000 / 4);  // compressed now (the old writer stored ~70 kB of scanlines as they were)
  CHECK(png.substr(png.size() - 8, 4) == "IEND");
  CHECK_THROWS_WITH(pml::io::write_png(dir.path / "e.png", Eigen::MatrixXd(0, 3)), Contains("io::write_png: the image is empty"));
  const Eigen::MatrixXd tiles = pml::io::tile_images(Eigen::MatrixXd::Zero(3, 4), 2, 2, 2);
  CHECK(tiles.rows() == 7);
  CHECK(tiles.cols() == 7);
  CHECK(tiles(1, 1) == 0);
  CHECK(tiles(0, 0) == 1);
  CHECK_THROWS_WITH(pml::io::tile_images(Eigen::MatrixXd::Zero(3, 5), 2, 2, 2), Contains("are not 2x2 images"));
}

TEST_CASE("SvgPlot draws lines, bands, points, axes and writes whole files", "[io][svg]") {
  pml::io::SvgPlot plot(-1, 1, 0, 10, 200, 100);
  Eigen::VectorXd x(3), y(3);
  x << -1, 0, 1;
  y << 0, 5, 10;
  plot.title("a < b").legend("mean", "#123456").line(x, y, "red").band(x, y * 0.5, y, "blue").points(x, y, "black");
  const std::string svg = plot.str();
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK_THAT(svg, Contains("<polyline") && Contains("<polygon") && Contains("<circle") && Contains("a &lt; b") && Contains("#123456"));
  // data corners map to the plot area's corners: (-1, 0) -> (50, 68), (1, 10) -> (185, 28)
  CHECK_THAT(svg, Contains("50,68 ") && Contains("185,28 "));
  const auto file = std::filesystem::temp_directory_path() / "pml_svg_test.svg";
  plot.save(file);
  CHECK(pml::read_file(file, "test") == svg);
  std::filesystem::remove(file);
  CHECK_THROWS_WITH(pml::io::SvgPlot(1, 1, 0, 1), Contains("xmin"));
  CHECK_THROWS_WITH(pml::io::SvgPlot(0, 1, 0, std::nan("")), Contains("range"));
  CHECK_THROWS_WITH(plot.line(x, Eigen::VectorXd(2), "red"), Contains("io::SvgPlot::line") && Contains("y has 2"));
  CHECK_THROWS(plot.save("/nonexistent-dir/x.svg"));
}
