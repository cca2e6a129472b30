// io/: gzip (every block type, multi-member, header fields, corruption), IDX (element types, errors,
// Fashion-MNIST when Debian's package is installed), CSV (header detection, missing values, errors with
// line and column, round trip), minibatches (every row once per epoch, reproducible from a seed).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

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

TEST_CASE("Minibatches: every row once per epoch, reproducible from the seed, gather_rows", "[io][batches]") {
  pml::io::Minibatches batches(10, 4);
  CHECK(batches.size() == 3);
  CHECK(batches[2].size() == 2);
  CHECK(pml::io::Minibatches(10, 4, true).size() == 2);
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
  Eigen::MatrixXd img(3, 70000 / 3);  // > 65535 bytes of scanlines: several stored blocks
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
  const std::size_t idat = 33;
  REQUIRE(png.substr(idat + 4, 4) == "IDAT");
  const std::string z = png.substr(idat + 8, be32(idat));
  std::string raw;
  const std::string where = "png";
  pml::io::detail::Inflater inflater(z, 2, where);
  inflater.inflate(raw);
  REQUIRE(raw.size() == std::size_t(3 * (img.cols() + 1)));
  CHECK(static_cast<unsigned char>(raw[1]) == 255);
  CHECK(static_cast<unsigned char>(raw[2]) == 0);
  CHECK(static_cast<unsigned char>(raw[std::size_t(img.cols() + 1) + 5]) == (7 + 4) % 256);
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
