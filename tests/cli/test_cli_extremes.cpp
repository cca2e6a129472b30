// The pml command-line tool at the edge of the representable (issue 13), end to end through the built
// binary: data near 1e200 are refused with one clear line or fitted into a model that works, never a
// crash; a point far from every component scores the same whatever the number of rows in the file.
#include <catch2/catch.hpp>

#include "process_directory.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "pml/io/csv.hpp"
#include "pml/core/random.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
struct Run {
  int code;  // exit code; -1 when killed by a signal (a crash)
  std::string out, err;
};
const fs::path& dir() {
  static const pml::test::ProcessDirectory d("pml_cli_extremes_test");
  return d.path;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
Run run_pml(const std::string& args) {
  const std::string cmd = "cd '" + dir().string() + "' && '" PML_CLI "' " + args + " > out.txt 2> err.txt";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir() / "out.txt"), slurp(dir() / "err.txt")};
}
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
// Either one clear line on standard error and exit code 1, or success; never a signal.
void refused_or_fitted(const Run& run, const char* command) {
  INFO(command << ": exit " << run.code << ", stderr: " << run.err);
  REQUIRE(run.code != -1);
  REQUIRE((run.code == 0 || run.code == 1));
  if (run.code == 1) {
    CHECK(lines(run.err).size() == 1);
    CHECK_THAT(run.err, Contains("rescale"));
  }
}
}  // namespace

TEST_CASE("pml fit on one column 1e200, 2e200, 3e200: a clear refusal, never a crash or an unusable model", "[cli][extremes]") {
  write_text(dir() / "huge.csv", "x\n1e200\n2e200\n3e200\n");
  const Run gmm = run_pml("gmm fit huge.csv --components 1 -o gmm.pml");  // before: signal 11
  refused_or_fitted(gmm, "gmm fit");
  for (const char* type : {"diagonal", "spherical", "tied"})
    refused_or_fitted(run_pml(std::string("gmm fit huge.csv --components 2 --covariance ") + type + " -o gmm2.pml"), type);
  const Run vgmm = run_pml("vgmm fit huge.csv --components 2 -o vgmm.pml");
  refused_or_fitted(vgmm, "vgmm fit");
  const Run kmeans = run_pml("kmeans fit huge.csv --clusters 2 -o km.pml");
  refused_or_fitted(kmeans, "kmeans fit");
  if (kmeans.code == 0) CHECK(run_pml("kmeans predict km.pml huge.csv").code == 0);
  const Run pca = run_pml("pca fit huge.csv --components 1 -o pca.pml");  // before: exit 0, a model transform refused
  refused_or_fitted(pca, "pca fit");
  if (pca.code == 0) CHECK(run_pml("pca transform pca.pml huge.csv").code == 0);
  // this build refuses them all, with the reason
  CHECK(gmm.code == 1);
  CHECK_THAT(gmm.err, Contains("pml gmm fit") && Contains("largest |x - column mean|"));
  CHECK(kmeans.code == 1);
  CHECK(vgmm.code == 1);
  CHECK(pca.code == 1);
}

TEST_CASE("pml gmm score / predict --proba of a point far from every component: the same with 1 and 5 rows", "[cli][extremes]") {
  pml::Rng rng(3);
  Eigen::MatrixXd x(120, 2);
  pml::random::fill_normal(rng, x);
  for (Eigen::Index i = 0; i < x.rows(); ++i) x.row(i).array() += 5.0 * double(i % 2);
  pml::io::write_csv(dir() / "blobs.csv", x, {"a", "b"});
  for (const char* type : {"full", "diagonal", "spherical", "tied"}) {
    INFO("covariance " << type);
    REQUIRE(run_pml(std::string("gmm fit blobs.csv --components 2 --seed 1 --covariance ") + type + " -o far.pml").code == 0);
    write_text(dir() / "far1.csv", "a,b\n1e200,1e200\n");
    write_text(dir() / "far5.csv", "a,b\n1e200,1e200\n1e200,1e200\n1e200,1e200\n1e200,1e200\n1e200,1e200\n");
    const Run s1 = run_pml("gmm score far.pml far1.csv"), s5 = run_pml("gmm score far.pml far5.csv");
    INFO(s1.err << s5.err);
    REQUIRE(s1.code == 0);
    REQUIRE(s5.code == 0);
    const auto l1 = lines(s1.out), l5 = lines(s5.out);
    REQUIRE(l1.size() == 2);  // header and one row
    REQUIRE(l5.size() == 6);
    for (int i = 1; i <= 5; ++i) CHECK(l5[std::size_t(i)] == l1[1]);  // before: -708.396 with 5 rows, -inf with 1
    CHECK_THAT(lower(l1[1]), Contains("inf"));
    const Run p1 = run_pml("gmm predict far.pml far1.csv --proba"), p5 = run_pml("gmm predict far.pml far5.csv --proba");
    REQUIRE(p1.code == 0);
    REQUIRE(p5.code == 0);
    const auto q1 = lines(p1.out), q5 = lines(p5.out);
    REQUIRE(q1.size() == 2);
    REQUIRE(q5.size() == 6);
    for (int i = 1; i <= 5; ++i) CHECK(q5[std::size_t(i)] == q1[1]);
    CHECK(lower(q1[1]).find("nan") == std::string::npos);  // before: NaN,NaN or 0,0
    write_text(dir() / "proba.csv", p1.out);
    const auto proba = pml::io::read_csv<double>(dir() / "proba.csv");
    CHECK(proba.data.allFinite());
    CHECK(proba.data.sum() == Approx(1.0));
  }
}
