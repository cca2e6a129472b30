// Model files under attack: the kept corpus (one small file per model type and format, with the outputs
// the model gave when it was written) must load and reproduce those outputs; every truncation, random bit
// flips (with and without a repaired checksum) and every wrong loader must end in a clear exception naming
// the file, never a crash (the ASan + UBSan build runs this too). The libFuzzer target in tests/fuzz/
// replays and extends the same corpus.
//
// Regenerate the seed corpus (only when a format change is intended):
//   build/dev/tests/test_model_files "[.write-corpus]"
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/model_loaders.hpp"
#include "pml/core/file.hpp"
#include "pml/io/csv.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const fs::path corpus_dir = fs::path(PML_TEST_FIXTURES) / "model_files";

struct CorpusFile {
  fs::path path;
  const pml_test::ModelLoader* loader;
};

/// The seed corpus: <Model>.pml (binary) and <Model>.json for every model type.
std::vector<CorpusFile> seed_files() {
  std::vector<CorpusFile> out;
  for (const auto& l : pml_test::model_loaders())
    for (const char* ext : {".pml", ".json"}) out.push_back({corpus_dir / "seed" / (std::string(l.model) + ext), &l});
  return out;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Loads `path` with `loader` and uses the model. Returns "" on success or the exception's message;
/// anything that is not a std::exception escapes (and fails the test).
std::string try_load(const pml_test::ModelLoader& loader, const fs::path& path) {
  try {
    loader.load_and_use(path);
    return "";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    return what.empty() ? "(empty message)" : what;
  }
}

/// The binary format's checksum (FNV-1a over everything before the last 8 bytes), rewritten after a
/// mutation so that the structural checks behind it are exercised too.
void repair_checksum(std::string& bytes) {
  if (bytes.size() < 16 || bytes.compare(0, 8, "PMLPARAM") != 0) return;
  std::uint64_t h = pml::io::detail::fnv1a(std::string_view(bytes).substr(0, bytes.size() - 8));
  for (std::size_t i = 0; i < 8; ++i) bytes[bytes.size() - 8 + i] = static_cast<char>((h >> (8 * i)) & 0xff);
}

// ---- the seed corpus' writer (hidden test case) ----
Eigen::MatrixXd blobs(pml::Rng& rng, Eigen::Index n, Eigen::Index d) {
  Eigen::MatrixXd x(n, d);
  pml::random::fill_normal(rng, x);
  for (Eigen::Index i = 0; i < n; ++i) x.row(i).array() += 3.0 * double(i % 2);
  return x;
}

// the hidden Markov model of the corpus (issue 19), from set_parameters: the same bits on every machine
pml::HiddenMarkovModel<double> corpus_hmm() {
  pml::HiddenMarkovModel<double> hmm({.states = 2, .emission = pml::HMMEmission::gaussian_mixture_full, .mixture_components = 2});
  Eigen::MatrixXd means(4, 2);
  means << 0.2, 0.3, 0.6, 0.7, 0.4, 0.9, 0.8, 0.1;
  std::vector<Eigen::MatrixXd> covs;
  for (int c = 0; c < 4; ++c) covs.push_back((Eigen::Matrix2d() << 0.05 + 0.01 * c, 0.01, 0.01, 0.04).finished());
  hmm.set_parameters(Eigen::Vector2d(0.25, 0.75), (Eigen::Matrix2d() << 0.875, 0.125, 0.25, 0.75).finished(), Eigen::MatrixXd(), means, covs,
                     (Eigen::Matrix2d() << 0.5, 0.5, 0.375, 0.625).finished());
  return hmm;
}

void save_both(const auto& model, const char* name) {
  for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json})
    model.save(corpus_dir / "seed" / (std::string(name) + (format == pml::io::FileFormat::binary ? ".pml" : ".json")), format);
}

// the Gaussian processes of the corpus (issue 19): fitted with held hyperparameters on fixed data
void save_gaussian_processes() {
  pml::Rng rng(2027);
  const Eigen::MatrixXd x = blobs(rng, 12, 2);
  Eigen::VectorXd y(12);
  pml::IntVector t(12);
  for (Eigen::Index i = 0; i < 12; ++i) {
    y(i) = std::sin(x(i, 0)) + 0.5 * x(i, 1);
    t(i) = i % 2;
  }
  using K = pml::Kernel<double>;
  pml::GaussianProcessRegressor<double> gpr(K::parse("1.5 * rbf([1, 2]) + white(0.1)"), {.optimize = false, .normalize_y = true});
  gpr.fit(x, y);
  save_both(gpr, "GaussianProcessRegressor");
  pml::GaussianProcessClassifier<double> gpc(K::parse("2 * matern(1.5, nu=2.5)"), {.optimize = false});
  gpc.fit(x, t);
  save_both(gpc, "GaussianProcessClassifier");
  pml::SparseGaussianProcessRegressor<double> sgpr(K::parse("1 * rbf(1.2)"), {.inducing_points = 4, .noise_variance = 0.05, .optimize = false});
  sgpr.fit(x, y, x.topRows(4), rng);
  save_both(sgpr, "SparseGaussianProcessRegressor");
}

}  // namespace

TEST_CASE("write the seed corpus of model files", "[.write-corpus]") {
  fs::create_directories(corpus_dir / "seed");
  pml::Rng rng(2026);
  const Eigen::MatrixXd x3 = blobs(rng, 60, 3);
  pml::KMeans<double> km({.clusters = 2});
  km.fit(x3, rng);
  save_both(km, "KMeans");
  pml::GaussianMixture<double> gm({.components = 2, .covariance = pml::Covariance::full});
  gm.fit(x3, rng);
  save_both(gm, "GaussianMixture");
  pml::VariationalGaussianMixtureOptions<double> vo;
  vo.components = 3;
  vo.weight_prior = pml::WeightPrior::dirichlet_process;
  pml::VariationalGaussianMixture<double> vg(vo);
  vg.fit(x3, rng);
  save_both(vg, "VariationalGaussianMixture");
  pml::PCA<double> pca({.components = 2});
  pca.fit(x3);
  save_both(pca, "PCA");
  pml::ProbabilisticPCA<double> ppca({.components = 1});
  ppca.fit(x3, rng);
  save_both(ppca, "ProbabilisticPCA");
  const Eigen::MatrixXd phi = pml::design_matrix(pml::PolynomialBasis{2}, x3.col(0));
  pml::BayesianLinearRegressionOptions<double> bo;
  bo.basis = "poly:2";
  pml::BayesianLinearRegression<double> blr(bo);
  blr.fit(phi, x3.col(1));
  save_both(blr, "BayesianLinearRegression");
  pml::BayesianLogisticRegression<double> logistic({.alpha = 1.0, .basis = "poly:2"});
  logistic.fit(phi, (x3.col(2).array() > 1.5).cast<long>());
  save_both(logistic, "BayesianLogisticRegression");
  const Eigen::MatrixXd unit = pml_test::probe(40, 4);
  const pml::FitOptions few{.epochs = 3, .batch_size = 8, .learning_rate = 1e-2};
  pml::AutoEncoder<double> ae({.input = 4, .hidden = {3}, .code = 2}, rng);
  ae.fit(unit, few, rng);
  save_both(ae, "AutoEncoder");
  pml::VAE<double> vae({.input = 4, .hidden = {3}, .latent = 2}, rng);
  vae.fit(unit, few, rng);
  save_both(vae, "VAE");
  pml::BayesByBackprop<double> bbb({.input = 3, .hidden = {4}, .output = 1}, rng);
  bbb.fit(x3, x3.col(0).cwiseAbs(), few, rng);
  save_both(bbb, "BayesByBackprop");
  pml::MCDropoutRegressor<double> mcd({.input = 3, .hidden = {4}, .output = 1, .dropout = 0.1}, rng);
  mcd.fit(x3, x3.col(1), few, rng);
  save_both(mcd, "MCDropoutRegressor");
  pml::GAN<double> gan({.noise = 2, .output = 2, .generator_hidden = {3}, .discriminator_hidden = {3}}, rng);
  gan.fit(x3.leftCols(2), {.steps = 20, .batch_size = 8}, rng, 10);
  save_both(gan, "GAN");
  pml::BetaBernoulliModel<double> coin(pml::Beta<double>(2, 2));
  coin.update(pml::IntVector{{1, 0, 1, 1}});
  save_both(coin, "BetaBernoulliModel");
  pml::BetaBinomialModel<double> bb(10);
  bb.update(pml::IntVector{{3, 6}});
  save_both(bb, "BetaBinomialModel");
  const pml::Dirichlet<double> dir(Eigen::Vector3d(1, 1, 2));
  pml::DirichletCategoricalModel<double> dc(dir);
  dc.update(pml::IntVector{{0, 2, 1, 2}});
  save_both(dc, "DirichletCategoricalModel");
  pml::DirichletMultinomialModel<double> dm(dir);
  dm.update(pml::IntMatrix(pml::IntMatrix::Constant(2, 3, 2)));
  save_both(dm, "DirichletMultinomialModel");
  pml::GammaPoissonModel<double> gp(pml::Gamma<double>(1, 1));
  gp.update(pml::IntVector{{4, 2}});
  save_both(gp, "GammaPoissonModel");
  pml::NormalGammaModel<double> ng(pml::NormalGamma<double>(0, 1, 2, 2));
  ng.update(x3.col(0));
  save_both(ng, "NormalGammaModel");
  pml::NormalKnownVarianceModel<double> nk(pml::Normal<double>(0, 2), 1.5);
  nk.update(x3.col(1));
  save_both(nk, "NormalKnownVarianceModel");
  pml::GammaKnownMeanModel<double> gk(pml::Gamma<double>(2, 1), 1.0);
  gk.update(x3.col(2));
  save_both(gk, "GammaKnownMeanModel");
  pml::NormalWishartModel<double> nw(pml::NormalWishart<double>(Eigen::Vector2d::Zero(), 1.0, 3.0, Eigen::Matrix2d::Identity()));
  nw.update(x3.leftCols(2));
  save_both(nw, "NormalWishartModel");
  // the image classifiers (added with issue 16; on 1 x 6 x 6 images, one convolution block)
  pml::Rng image_rng(2027);
  Eigen::MatrixXd images(24, 36);
  pml::random::fill_uniform(image_rng, images);
  pml::IntVector classes(24);
  for (Eigen::Index i = 0; i < 24; ++i) classes(i) = i % 3;
  pml::MCDropoutClassifier<double> cnn({.height = 6, .width = 6, .classes = 3, .filters = {2}, .kernel = 3, .hidden = {4}}, image_rng);
  cnn.fit(images, classes, few, image_rng);
  save_both(cnn, "MCDropoutClassifier");
  pml::BayesianCNNOptions bo_cnn;
  bo_cnn.height = bo_cnn.width = 6;
  bo_cnn.classes = 3;
  bo_cnn.filters = {2};
  bo_cnn.kernel = 3;
  bo_cnn.hidden = {4};
  pml::BayesianCNN<double> bcnn(bo_cnn, image_rng);
  bcnn.fit(images, classes, few, image_rng);
  save_both(bcnn, "BayesianCNN");
  // the forecaster (issue 16; Bayes by Backprop on a short series)
  pml::LSTMForecasterOptions fo;
  fo.window = 4;
  fo.hidden = 3;
  pml::LSTMForecaster<double> forecaster(fo, image_rng);
  forecaster.fit(pml_test::probe(30, 1), few, image_rng);
  save_both(forecaster, "LSTMForecaster");
  pml::DCGANOptions dco;
  dco.noise = 3;
  dco.height = dco.width = 8;
  dco.generator_features = dco.discriminator_features = 2;
  pml::DCGAN<double> dcgan(dco, image_rng);
  Eigen::MatrixXd small_images(16, 64);
  pml::random::fill_uniform(image_rng, small_images);
  dcgan.fit(small_images, {.epochs = 2, .batch_size = 8}, image_rng);
  save_both(dcgan, "DCGAN");
  pml::BayesianSegNet<double> segnet({.height = 4, .width = 4, .classes = 2, .features = {2}}, image_rng);
  Eigen::MatrixXd seg_images(8, 16);
  pml::random::fill_uniform(image_rng, seg_images);
  const Eigen::MatrixXd seg_masks = (seg_images.array() > 0.5).cast<double>();
  segnet.fit(seg_images, seg_masks, {.epochs = 2, .batch_size = 4}, image_rng);
  save_both(segnet, "BayesianSegNet");
  // InfoGAN (issue 20) on the DCGAN body (running statistics in the file too)
  pml::InfoGANOptions io;
  io.noise = 2;
  io.categorical = {3};
  io.continuous = 1;
  io.recognition_hidden = 3;
  io.height = io.width = 8;
  io.generator_features = io.discriminator_features = 2;
  pml::InfoGAN<double> infogan(io, image_rng);
  infogan.fit(small_images, {.epochs = 2, .batch_size = 8}, image_rng);
  save_both(infogan, "InfoGAN");
  save_both(corpus_hmm(), "HiddenMarkovModel");
  save_gaussian_processes();
  // the outputs each file's model gives on the probe input, for the format-stability check
  for (const auto& f : seed_files())
    if (f.path.extension() == ".pml") pml::io::write_csv(fs::path(f.path).replace_extension(".expected.csv"), f.loader->load_and_use(f.path));
}

// Writes only the model types added since the corpus was written (the others' files stay as they are).
TEST_CASE("write the newer model types' seed files", "[.write-corpus-new]") {
  fs::create_directories(corpus_dir / "seed");
  save_gaussian_processes();
  for (const auto& f : seed_files())
    if (f.path.extension() == ".pml" && std::string(f.loader->model).find("GaussianProcess") != std::string::npos)
      pml::io::write_csv(fs::path(f.path).replace_extension(".expected.csv"), f.loader->load_and_use(f.path));
}

TEST_CASE("The kept corpus loads and reproduces the outputs it was written with", "[files][corpus]") {
  for (const auto& f : seed_files()) {
    INFO(f.path.string());
    REQUIRE(fs::exists(f.path));
    const Eigen::MatrixXd out = f.loader->load_and_use(f.path);
    const auto expected = pml::io::read_csv<double>(fs::path(corpus_dir / "seed" / f.loader->model).concat(".expected.csv"));
    REQUIRE(out.rows() == expected.data.rows());
    REQUIRE(out.cols() == expected.data.cols());
    // exact on the machine that wrote them; other builds (no FMA, Debug) may differ in the last bits
    CHECK(((out - expected.data).array().abs() <= 1e-9 * (1.0 + expected.data.array().abs())).all());
    CHECK(out.allFinite());
  }
}

/// Whether two JSON values hold the same data: numbers compared by value, object members in any order.
bool same_json(const pml::json::Value& a, const pml::json::Value& b) {
  using Kind = pml::json::Value::Kind;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::null: return true;
    case Kind::boolean: return a.boolean == b.boolean;
    case Kind::number: return a.as<double>() == b.as<double>();
    case Kind::string: return a.text == b.text;
    case Kind::array:
      if (a.items.size() != b.items.size()) return false;
      for (std::size_t i = 0; i < a.items.size(); ++i)
        if (!same_json(a.items[i], b.items[i])) return false;
      return true;
    case Kind::object:
      if (a.keys.size() != b.keys.size()) return false;
      for (std::size_t i = 0; i < a.keys.size(); ++i) {
        const pml::json::Value* other = b.find(a.keys[i]);
        if (other == nullptr || !same_json(a.items[i], *other)) return false;
      }
      return true;
  }
  return false;
}

// Issue 14 §3: save() and load() run one declaration of each model's state, so a model loaded from a file
// writes back exactly what it read: the same options (none dropped, none added) and the same matrices.
TEST_CASE("A loaded model saves the same options and matrices it was loaded from", "[files][corpus]") {
  const fs::path tmp = fs::temp_directory_path() / "pml_resaved.json";
  for (const auto& f : seed_files()) {
    for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
      INFO(f.path.filename().string() << " saved as " << (format == pml::io::FileFormat::json ? "JSON" : "binary"));
      f.loader->load_and_save(f.path, tmp, format);
      const auto before = pml::io::read_model_file<double>(f.path), after = pml::io::read_model_file<double>(tmp);
      CHECK(after.model == before.model);
      // options added to a model after its seed file was written (io::added_later): an older file loads
      // with their defaults and saves them; every other option must come back as it was, none added
      const std::vector<std::pair<std::string, std::string>> added_later{{"GAN", "packing"}, {"GAN", "minibatch_stddev"}, {"DCGAN", "packing"},
                                                                         {"DCGAN", "minibatch_stddev"}, {"KMeans", "init"}, {"KMeans", "init_steps"}};
      pml::json::Value resaved = after.options;
      for (const auto& [model, key] : added_later) {
        if (model != before.model || before.options.find(key) != nullptr) continue;
        const auto it = std::find(resaved.keys.begin(), resaved.keys.end(), key);
        REQUIRE(it != resaved.keys.end());
        const auto i = std::size_t(it - resaved.keys.begin());
        const auto& value = resaved.items[i];
        if (key == "packing")  // the defaults
          CHECK((value.kind == pml::json::Value::Kind::number && value.as<double>() == 1));
        else if (key == "init_steps")
          CHECK((value.kind == pml::json::Value::Kind::number && value.as<double>() == 2));
        else if (key == "init")
          CHECK((value.kind == pml::json::Value::Kind::string && value.text == "k-means++"));
        else
          CHECK((value.kind == pml::json::Value::Kind::boolean && !value.boolean));
        resaved.keys.erase(resaved.keys.begin() + std::ptrdiff_t(i));
        resaved.items.erase(resaved.items.begin() + std::ptrdiff_t(i));
      }
      CHECK(same_json(resaved, before.options));
      REQUIRE(after.parameters.size() == before.parameters.size());
      for (const auto& m : before.parameters) {
        INFO("matrix " << m.name);
        const auto same = std::find_if(after.parameters.begin(), after.parameters.end(), [&](const auto& a) { return a.name == m.name; });
        REQUIRE(same != after.parameters.end());
        CHECK(same->value.rows() == m.value.rows());
        CHECK(same->value.cols() == m.value.cols());
        CHECK(same->value == m.value);
      }
    }
  }
  fs::remove(tmp);
}

TEST_CASE("Every loader refuses every other model's file by name", "[files][corpus]") {
  for (const auto& f : seed_files())
    for (const auto& other : pml_test::model_loaders()) {
      if (other.model == f.loader->model) continue;
      INFO(f.path.filename().string() << " loaded as " << other.model);
      const std::string error = try_load(other, f.path);
      CHECK_THAT(error, Contains(std::string("holds a ") + f.loader->model + ", not a " + other.model));
      CHECK_THAT(error, Contains(f.path.filename().string()));
    }
}

TEST_CASE("Truncated model files: every cut throws an error naming the file", "[files][fuzz]") {
  const fs::path tmp = fs::temp_directory_path() / "pml_truncated.pml";
  for (const auto& f : seed_files()) {
    const std::string bytes = pml::read_file(f.path, "test");
    const std::size_t stride = std::max<std::size_t>(1, bytes.size() / 400);
    int failures = 0, cuts = 0;
    for (std::size_t cut = 0; cut < bytes.size(); cut += stride) {
      // a JSON file that loses only trailing white space is still whole
      if (bytes.find_first_not_of(" \n", cut) == std::string::npos) continue;
      write_bytes(tmp, bytes.substr(0, cut));
      ++cuts;
      const std::string error = try_load(*f.loader, tmp);
      if (!error.empty() && error.find("pml_truncated.pml") != std::string::npos) ++failures;
      else FAIL_CHECK(f.path.filename().string() << " cut at " << cut << " of " << bytes.size() << ": " << (error.empty() ? "loaded" : error));
    }
    CHECK(failures == cuts);
  }
  fs::remove(tmp);
}

TEST_CASE("Corrupted model files: random bit flips and byte changes never crash", "[files][fuzz]") {
  const fs::path tmp = fs::temp_directory_path() / "pml_corrupt.pml";
  pml::Rng rng(99);
  for (const auto& f : seed_files()) {
    const std::string bytes = pml::read_file(f.path, "test");
    const bool binary = f.path.extension() == ".pml";
    int loaded = 0, refused = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::string m = bytes;
      const int flips = 1 + static_cast<int>(pml::random::uniform_index(rng, 4));
      for (int k = 0; k < flips; ++k) {
        const auto at = pml::random::uniform_index(rng, m.size());
        if (pml::random::uniform_index(rng, 2) == 0) m[at] = static_cast<char>(m[at] ^ (1 << pml::random::uniform_index(rng, 8)));
        else m[at] = static_cast<char>(pml::random::uniform_index(rng, 256));
      }
      // half the binary trials repair the checksum, so that the mutation reaches the parser
      const bool repaired = binary && trial % 2 == 1;
      if (repaired) repair_checksum(m);
      write_bytes(tmp, m);
      const std::string error = try_load(*f.loader, tmp);
      if (error.empty()) {
        ++loaded;  // a change the format cannot notice (a JSON space, a value digit, an options text)
        CHECK((!binary || repaired || m == bytes));
      } else {
        ++refused;
        if (error.find("pml_corrupt.pml") == std::string::npos) {
          // a load that passed every check may still be refused later by the model itself (e.g. a
          // corrupted activation name); those errors name the function instead of the file
          INFO(f.path.filename().string() << " trial " << trial << ": " << error);
          CHECK_THAT(error, Contains("::"));
        }
      }
    }
    INFO(f.path.filename().string() << ": " << loaded << " loaded, " << refused << " refused");
    CHECK(refused > 0);
  }
  fs::remove(tmp);
}

TEST_CASE("The libFuzzer corpus replays through every loader without a crash", "[files][fuzz]") {
  const fs::path dir = corpus_dir / "fuzz";
  if (!fs::exists(dir)) return;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    ++files;
    for (const auto& l : pml_test::model_loaders()) try_load(l, entry.path());
  }
  CHECK(files > 0);
}

// ---- the JSON layer (nlohmann-json's parser feeding pml::json::Value) ----
TEST_CASE("JSON: numbers keep their text, so float32 and double values read back bit for bit", "[files][json]") {
  const pml::json::Value v = pml::json::parse(R"({"a": [1.5e3, 2, -3, -0.0, 18446744073709551616, 0.1, 1e-320], "b": "x\u00e9\n"})");
  REQUIRE(v.kind == pml::json::Value::Kind::object);
  const auto& a = v.find("a")->items;
  REQUIRE(a.size() == 7);
  CHECK(a[0].text == "1.5e3");
  CHECK(a[3].text == "-0.0");
  CHECK(a[4].text == "18446744073709551616");  // beyond int64 and uint64: kept as written
  CHECK(std::signbit(a[3].as<double>()));
  CHECK(a[5].as<float>() == 0.1f);
  CHECK(a[6].as<double>() == 1e-320);  // subnormal
  CHECK_THROWS_WITH(a[4].as<std::int64_t>(), Contains("out of range"));
  CHECK(v.find("b")->text == "x\xc3\xa9\n");

  // every float and double pattern that JSON can hold survives a JSON model file, -0 included
  const fs::path file = fs::temp_directory_path() / "pml_json_bits.json";
  for (int scalar = 0; scalar < 2; ++scalar) {
    Eigen::MatrixXd d(1, 8);
    d << -0.0, 0.0, std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(), -std::numeric_limits<double>::min(), 0.1, 1.0 / 3.0, 1e22;
    if (scalar == 0) {
      Eigen::MatrixXf f(1, 8);
      f << -0.0f, 0.0f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(), -std::numeric_limits<float>::min(), 0.1f, 1.0f / 3.0f, 1e22f;
      pml::io::write_model_file<float>(file, {{"f", f}}, pml::io::FileFormat::json, {"M", "{}"}, "test");
      const Eigen::MatrixXf back = pml::io::read_model_file<float>(file).parameters.at(0).value;
      for (Eigen::Index i = 0; i < f.size(); ++i) CHECK(std::bit_cast<std::uint32_t>(back(i)) == std::bit_cast<std::uint32_t>(f(i)));
    } else {
      pml::io::write_model_file<double>(file, {{"d", d}}, pml::io::FileFormat::json, {"M", "{}"}, "test");
      const Eigen::MatrixXd back = pml::io::read_model_file<double>(file).parameters.at(0).value;
      for (Eigen::Index i = 0; i < d.size(); ++i) CHECK(std::bit_cast<std::uint64_t>(back(i)) == std::bit_cast<std::uint64_t>(d(i)));
    }
  }
  fs::remove(file);
}

TEST_CASE("JSON: strings are escaped on writing and read back; bad documents are clear errors", "[files][json]") {
  const std::string name = std::string("a\"b\\c\n\t\x01 \xc3\xa9 end");
  const pml::json::Value s = pml::json::parse(pml::json::quote(name));
  CHECK(s.kind == pml::json::Value::Kind::string);
  CHECK(s.text == name);
  CHECK(pml::json::parse(pml::json::quote("bad \xff byte")).text == "bad \xef\xbf\xbd byte");  // invalid UTF-8: U+FFFD, still a file

  const fs::path file = fs::temp_directory_path() / "pml_json_names.json";
  pml::io::write_model_file<double>(file, {{name, Eigen::MatrixXd::Ones(1, 1)}}, pml::io::FileFormat::json, {name, "{\"k\": \"\\u0041\"}"}, "test");
  const auto back = pml::io::read_model_file<double>(file);
  CHECK(back.model == name);
  CHECK(back.parameters.at(0).name == name);
  CHECK(back.options.find("k")->text == "A");
  fs::remove(file);

  auto error = [](const std::string& text) {
    try {
      pml::json::parse(text);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("(parsed)");
  };
  CHECK_THAT(error(R"({"a": [1, 2)"), Contains("json:") && Contains("unexpected end of input"));
  CHECK_THAT(error("[1, 2] x"), Contains("json:") && Contains("column 8"));
  CHECK_THAT(error("[1e400]"), Contains("json:") && Contains("1e400"));
  CHECK_THAT(error(std::string(65, '[') + std::string(65, ']')), Contains("json: nesting deeper than 64"));
  CHECK(error(std::string(64, '[') + std::string(64, ']')) == "(parsed)");
  CHECK_THAT(error("\"\xff\""), Contains("json:"));
  CHECK_THAT(error("\"a\x01\""), Contains("json:") && Contains("control character"));
  CHECK_THAT(error(""), Contains("json:"));
  CHECK_THAT(error("{\"a\": NaN}"), Contains("json:"));
}
