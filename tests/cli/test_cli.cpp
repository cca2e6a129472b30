// The pml command-line tool end to end: fit -> save -> load -> predict equals the in-process model with
// the same seed; help on every command, listing exactly the options its parser takes; every failure is
// one line on stderr with a non-zero exit code; hostile CSV files (BOM, CR, binary, overflow, typos,
// --header, --delimiter) and every write checked (standard output, links, FIFOs, devices, the input,
// read-only files, killed saves).
#include <catch2/catch.hpp>

#include "process_directory.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "pml/io/csv.hpp"
#include "pml/models/cluster.hpp"
#include "pml/metrics/uncertainty.hpp"
#include "pml/models/deep/bayesian_cnn.hpp"
#include "pml/models/deep/bayesian_segnet.hpp"
#include "pml/models/deep/dcgan.hpp"
#include "pml/models/deep/infogan.hpp"
#include "pml/models/deep/mc_dropout.hpp"
#include "pml/models/deep/mc_dropout_classifier.hpp"
#include "pml/models/deep/lstm_forecaster.hpp"
#include "pml/models/deep/vae.hpp"
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
struct Run {
  int code;
  std::string out, err;
};
const fs::path& dir() {
  static const pml::test::ProcessDirectory d("pml_cli_test");
  return d.path;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
// Runs `pml ARGS` in the test directory, capturing stdout and stderr.
Run run_pml(const std::string& args) {
  const std::string cmd = "cd '" + dir().string() + "' && '" PML_CLI "' " + args + " > out.txt 2> err.txt";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir() / "out.txt"), slurp(dir() / "err.txt")};
}
Eigen::MatrixXd blobs() {
  pml::Rng rng(3);
  Eigen::MatrixXd x(240, 2);
  pml::random::fill_normal(rng, x);
  for (Eigen::Index i = 0; i < x.rows(); ++i) x.row(i).array() += 5.0 * double(i % 3);
  return x;
}
}  // namespace

TEST_CASE("pml gmm: fit, save, load and predict equal the in-process model", "[cli]") {
  const Eigen::MatrixXd x = blobs();
  pml::io::write_csv(dir() / "data.csv", x, {"a", "b"});
  const Run fit = run_pml("gmm fit data.csv --components 3 --covariance diagonal --seed 7 -o model.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("3-component diagonal"));
  pml::GaussianMixture<double> same({.components = 3, .covariance = pml::Covariance::diagonal});
  same.fit(x, 7);
  const auto loaded = pml::GaussianMixture<double>::load(dir() / "model.pml");
  CHECK(loaded.predict_proba(x) == same.predict_proba(x));

  const Run predict = run_pml("gmm predict model.pml data.csv -o labels.csv");
  REQUIRE(predict.code == 0);
  const auto labels = pml::io::read_csv<double>(dir() / "labels.csv");
  CHECK(labels.columns == std::vector<std::string>{"label"});
  CHECK(labels.data.col(0).cast<long>() == same.predict(x));
  const Run proba = run_pml("gmm predict model.pml data.csv --proba");
  REQUIRE(proba.code == 0);
  CHECK(proba.out.rfind("p0,p1,p2\n", 0) == 0);
  const Run score = run_pml("gmm score model.pml data.csv");
  REQUIRE(score.code == 0);
  std::ofstream(dir() / "score.csv") << score.out;
  CHECK(pml::io::read_csv<double>(dir() / "score.csv").data.col(0) == same.score_samples(x));
  const Run sample = run_pml("gmm sample model.pml -n 50 --seed 2");
  REQUIRE(sample.code == 0);
  std::ofstream(dir() / "sample.csv") << sample.out;
  const auto drawn = pml::io::read_csv<double>(dir() / "sample.csv");
  CHECK(drawn.data.rows() == 50);
  CHECK(drawn.columns == std::vector<std::string>{"x0", "x1", "label"});
  pml::Rng rng(2);
  CHECK(drawn.data.leftCols(2) == same.sample(rng, 50).first);
}

TEST_CASE("pml kmeans: fit and predict", "[cli]") {
  const Eigen::MatrixXd x = blobs();
  pml::io::write_csv(dir() / "data.csv", x);
  REQUIRE(run_pml("kmeans fit data.csv --clusters 3 --restarts 2 --seed 4 -o km.pml").code == 0);
  pml::KMeans<double> same({.clusters = 3, .restarts = 2});
  same.fit(x, 4);
  const Run predict = run_pml("kmeans predict km.pml data.csv");
  REQUIRE(predict.code == 0);
  std::ofstream(dir() / "km_labels.csv") << predict.out;
  CHECK(pml::io::read_csv<double>(dir() / "km_labels.csv").data.col(0).cast<long>() == same.predict(x));
  // k-means|| seeding: the same centres as in the process, and stored in the file
  REQUIRE(run_pml("kmeans fit data.csv --clusters 3 --init 'k-means||' --init-steps 3 --seed 4 -o kmp.pml").code == 0);
  pml::KMeans<double> parallel({.clusters = 3, .init = pml::KMeansInit::k_means_parallel, .init_steps = 3});
  parallel.fit(x, 4);
  const auto loaded = pml::KMeans<double>::load(dir() / "kmp.pml");
  CHECK(loaded.centres() == parallel.centres());
  CHECK(loaded.options().init == pml::KMeansInit::k_means_parallel);
  const Run bad = run_pml("kmeans fit data.csv --init k-means -o bad.pml");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Contains("--init") && Contains("k-means++") && Contains("k-means||"));
  CHECK(!std::filesystem::exists(dir() / "bad.pml"));
}

TEST_CASE("pml pca and ppca: fit, transform, score, sample equal the in-process models", "[cli]") {
  pml::Rng rng(8);
  Eigen::MatrixXd x(150, 4);
  pml::random::fill_normal(rng, x);
  x.col(2) += 3 * x.col(0);
  pml::io::write_csv(dir() / "wide4.csv", x);
  REQUIRE(run_pml("pca fit wide4.csv --components 2 --whiten -o pca.pml").code == 0);
  pml::PCA<double> pca({.components = 2, .whiten = true});
  pca.fit(x);
  REQUIRE(run_pml("pca transform pca.pml wide4.csv -o z.csv").code == 0);
  const auto z = pml::io::read_csv<double>(dir() / "z.csv");
  CHECK(z.columns == std::vector<std::string>{"z0", "z1"});
  CHECK(z.data == pca.transform(x));
  REQUIRE(run_pml("pca inverse pca.pml z.csv -o back.csv").code == 0);
  CHECK(pml::io::read_csv<double>(dir() / "back.csv").data == pca.inverse_transform(z.data));

  REQUIRE(run_pml("ppca fit wide4.csv --components 2 --solver em --seed 5 -o ppca.pml").code == 0);
  pml::ProbabilisticPCA<double> ppca({.components = 2, .solver = pml::PPCASolver::em});
  ppca.fit(x, 5);
  const Run score = run_pml("ppca score ppca.pml wide4.csv");
  REQUIRE(score.code == 0);
  std::ofstream(dir() / "ppca_score.csv") << score.out;
  CHECK(pml::io::read_csv<double>(dir() / "ppca_score.csv").data.col(0) == ppca.score_samples(x));
  const Run sample = run_pml("ppca sample ppca.pml -n 20 --seed 9");
  REQUIRE(sample.code == 0);
  std::ofstream(dir() / "ppca_sample.csv") << sample.out;
  pml::Rng r(9);
  CHECK(pml::io::read_csv<double>(dir() / "ppca_sample.csv").data == ppca.sample(r, 20));
  CHECK(run_pml("ppca fit wide4.csv --solver magic -o p.pml").code == 2);
  CHECK_THAT(run_pml("pca transform ppca.pml wide4.csv").err, Contains("holds a ProbabilisticPCA, not a PCA"));
}

TEST_CASE("pml mcdropout and vae: train with progress lines, predict, sample, encode", "[cli]") {
  pml::Rng rng(10);
  Eigen::MatrixXd xy(120, 3);
  pml::random::fill_uniform(rng, xy);
  xy.col(2) = (3 * xy.col(0)).array().sin() + xy.col(1).array();
  pml::io::write_csv(dir() / "xy.csv", xy, {"a", "b", "y"});
  const Run fit = run_pml("mcdropout fit xy.csv --hidden 16 --dropout 0.1 --tau 50 --init xavier_normal --loss mean_squared_error --epochs 40 --batch-size 20 --seed 3 -o net.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("mcdropout epoch 40/40: loss"));  // not a terminal: plain lines
  CHECK(std::count(fit.err.begin(), fit.err.end(), '\n') <= 22);
  // the same training in-process gives the same model
  pml::Rng same_rng(3);
  pml::MCDropoutRegressor<double> same({.input = 2, .hidden = {16}, .output = 1, .dropout = 0.1, .tau = 50, .init = pml::nn::Init::xavier_normal, .loss = pml::MCDropoutLoss::mean_squared_error}, same_rng);
  same.fit(xy.leftCols(2), xy.rightCols(1), {.epochs = 40, .batch_size = 20}, same_rng);
  pml::io::write_csv(dir() / "x2.csv", xy.leftCols(2));
  const Run predict = run_pml("mcdropout predict net.pml x2.csv --samples 30 --seed 4");
  REQUIRE(predict.code == 0);
  std::ofstream(dir() / "mc_pred.csv") << predict.out;
  const auto table = pml::io::read_csv<double>(dir() / "mc_pred.csv");
  CHECK(table.columns == std::vector<std::string>{"mean0", "sd0", "aleatoric_sd0", "epistemic_sd0"});
  pml::Rng r(4);
  const auto p = same.predict(xy.leftCols(2), 30, r);
  CHECK(table.data.col(0) == p.mean.col(0));
  CHECK(table.data.col(1) == p.variance.col(0).cwiseSqrt());

  Eigen::MatrixXd images(60, 6);
  for (Eigen::Index i = 0; i < images.rows(); ++i)
    for (Eigen::Index j = 0; j < 6; ++j) images(i, j) = double((i + j) % 2);
  pml::io::write_csv(dir() / "bits.csv", images);
  REQUIRE(run_pml("vae train --data bits.csv --latent 2 --hidden 8 --init pytorch --epochs 3 --batch-size 20 --seed 1 -o vae.pml").code == 0);
  const Run sample = run_pml("vae sample vae.pml -n 4 --seed 2");
  REQUIRE(sample.code == 0);
  std::ofstream(dir() / "vae_sample.csv") << sample.out;
  const auto s = pml::io::read_csv<double>(dir() / "vae_sample.csv");
  CHECK(s.data.rows() == 4);
  CHECK(s.data.cols() == 6);
  auto vae = pml::VAE<float>::load(dir() / "vae.pml");
  pml::Rng r2(2);
  CHECK(s.data.cast<float>() == vae.sample(r2, 4));
  {  // --init reaches the model: the same training in-process gives the same parameters
    pml::Rng same_vae_rng(1);
    pml::VAE<float> same_vae({.input = 6, .hidden = {8}, .latent = 2, .init = pml::nn::Init::pytorch}, same_vae_rng);
    same_vae.fit(images.cast<float>(), {.epochs = 3, .batch_size = 20}, same_vae_rng);
    const auto a = std::as_const(vae).parameters(), b = std::as_const(same_vae).parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i]->value == b[i]->value);
  }
  CHECK(run_pml("vae train --data bits.csv --init glorot -o v.pml").code == 2);
  const Run encode = run_pml("vae encode vae.pml bits.csv");
  REQUIRE(encode.code == 0);
  CHECK(encode.out.rfind("mean0,mean1,log_var0,log_var1,kl\n", 0) == 0);
  CHECK(run_pml("vae train --data xy.csv -o v.pml").code == 1);
  CHECK(run_pml("mcdropout fit xy.csv --targets 3 -o n.pml").code == 1);
  CHECK(run_pml("mcdropout fit xy.csv --hidden 16,x -o n.pml").code == 2);
}

TEST_CASE("pml cnn: fit on CSV images, predict probabilities, entropy and BALD equal to the in-process model", "[cli]") {
  // 8 x 8 images of a horizontal (label 0) or vertical (label 1) bar, the label in the last column
  pml::Rng rng(5);
  Eigen::MatrixXd table = Eigen::MatrixXd::Zero(80, 65);
  for (Eigen::Index i = 0; i < table.rows(); ++i) {
    const bool vertical = i % 2 == 1;
    const Eigen::Index at = 1 + (i / 2) % 6;
    for (Eigen::Index k = 0; k < 8; ++k) table(i, vertical ? k * 8 + at : at * 8 + k) = 1;
    table(i, 64) = vertical ? 1 : 0;
  }
  pml::io::write_csv(dir() / "bars.csv", table);
  const Run fit = run_pml("cnn fit --data bars.csv --height 8 --width 8 --classes 2 --filters 4 --kernel 3 --hidden 16 --dropout 0.25 "
                          "--weight-decay 0 --epochs 4 --batch-size 16 --seed 2 -o cnn.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("trained an MC dropout CNN on 80 images"));
  const Run predict = run_pml("cnn predict cnn.pml bars.csv --samples 7 --seed 3");
  REQUIRE(predict.code == 0);
  std::ofstream(dir() / "cnn_pred.csv") << predict.out;
  const auto out = pml::io::read_csv<double>(dir() / "cnn_pred.csv");
  CHECK(out.columns == std::vector<std::string>{"p0", "p1", "entropy", "bald", "label"});
  const auto model = pml::MCDropoutClassifier<float>::load(dir() / "cnn.pml");
  CHECK(model.options().filters == std::vector<Eigen::Index>{4});
  pml::Rng r(3);
  const auto passes = model.sample_proba(table.leftCols(64).cast<float>(), 7, r);
  CHECK((out.data.leftCols(2) - pml::metrics::mean_probabilities(passes).cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK((out.data.col(3) - pml::metrics::mutual_information(passes).cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  // the same training in-process gives the same parameters
  pml::Rng same_rng(2);
  pml::MCDropoutClassifier<float> same({.height = 8, .width = 8, .classes = 2, .filters = {4}, .kernel = 3, .hidden = {16}, .dropout = 0.25, .weight_decay = 0},
                                       same_rng);
  pml::IntVector labels = table.col(64).cast<long>();
  same.fit(table.leftCols(64).cast<float>(), labels, {.epochs = 4, .batch_size = 16}, same_rng);
  const auto a = model.parameters(), b = std::as_const(same).parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i]->value == b[i]->value);
  // errors: wrong width, a label that is not a class index, images too small for the layers
  CHECK_THAT(run_pml("cnn fit --data bars.csv --height 7 --width 8 --filters 4 --kernel 3 -o c.pml").err, Contains("65 columns; expected 56 pixel columns"));
  table(3, 64) = 1.5;
  pml::io::write_csv(dir() / "bars_bad.csv", table);
  CHECK_THAT(run_pml("cnn fit --data bars_bad.csv --height 8 --width 8 --classes 2 --filters 4 --kernel 3 -o c.pml").err, Contains("row 4") && Contains("not a class index"));
  const Run small = run_pml("cnn fit --data bars.csv --height 8 --width 8 -o c.pml");
  CHECK(small.code != 0);
  CHECK_THAT(small.err, Contains("too small"));
  CHECK_THAT(run_pml("cnn predict cnn.pml xy.csv").err, Contains("the model takes images of 64 pixels"));
}

TEST_CASE("pml segnet: fit on CSV images and masks, per-pixel predictions equal to the in-process model", "[cli]") {
  // 8 x 8 images with a bright bar (class 1) on a dim background (class 0)
  Eigen::MatrixXd images = Eigen::MatrixXd::Constant(24, 64, 0.2), masks = Eigen::MatrixXd::Zero(24, 64);
  for (Eigen::Index i = 0; i < images.rows(); ++i) {
    const bool vertical = i % 2 == 1;
    const Eigen::Index at = 1 + (i / 2) % 6;
    for (Eigen::Index k = 0; k < 8; ++k) {
      const Eigen::Index j = vertical ? k * 8 + at : at * 8 + k;
      images(i, j) = 0.9;
      masks(i, j) = 1;
    }
  }
  pml::io::write_csv(dir() / "seg_images.csv", images);
  pml::io::write_csv(dir() / "seg_masks.csv", masks);
  const Run fit = run_pml("segnet fit seg_images.csv seg_masks.csv --height 8 --width 8 --features 4,6 --epochs 3 --batch-size 8 --seed 3 -o seg.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("trained a Bayesian SegNet on 24 images of 1x8x8, 2 classes"));
  const auto model = pml::BayesianSegNet<float>::load(dir() / "seg.pml");
  CHECK(model.options().classes == 2);  // from the masks
  CHECK(model.options().features == std::vector<Eigen::Index>{4, 6});
  // the same training in-process gives the same parameters
  pml::Rng same_rng(3);
  pml::BayesianSegNet<float> same({.height = 8, .width = 8, .classes = 2, .features = {4, 6}}, same_rng);
  same.fit(images.cast<float>(), masks.cast<float>(), {.epochs = 3, .batch_size = 8, .learning_rate = 2e-3}, same_rng);
  const auto a = model.parameters(), b = std::as_const(same).parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i]->value == b[i]->value);
  // predict: labels, entropy and mutual information per pixel (and --proba), as the model's predict()
  const Run predict = run_pml("segnet predict seg.pml seg_images.csv --samples 4 --seed 5 --proba --masks seg_masks.csv --png seg.png -o seg_pred.csv");
  INFO(predict.err);
  REQUIRE(predict.code == 0);
  CHECK_THAT(predict.err, Contains("pixel accuracy") && Contains("24 images, 64 pixels each, 4 passes"));
  const auto out = pml::io::read_csv<double>(dir() / "seg_pred.csv");
  REQUIRE(out.data.cols() == 5 * 64);
  CHECK(out.columns[0] == "label0");
  CHECK(out.columns[64] == "entropy0");
  CHECK(out.columns[128] == "mi0");
  CHECK(out.columns[192] == "p0_0");
  CHECK(out.columns[319] == "p1_63");
  pml::Rng r(5);
  const auto p = model.predict(images, 4, r);
  CHECK(out.data.leftCols(64) == p.labels.cast<double>());
  CHECK((out.data.middleCols(64, 64) - p.entropy.cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK((out.data.middleCols(128, 64) - p.mutual_information.cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK((out.data.rightCols(128) - p.proba.cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK(fs::file_size(dir() / "seg.png") > 0);
  CHECK(run_pml("segnet predict seg.pml seg_images.csv --samples 2").out.rfind("label0,", 0) == 0);
  // errors name the file, the row and the value
  CHECK_THAT(run_pml("segnet fit seg_images.csv seg_masks.csv --height 8 --width 4 -o s.pml").err, Contains("seg_images.csv") && Contains("64 columns"));
  Eigen::MatrixXd bad = masks;
  bad(2, 5) = 0.5;
  pml::io::write_csv(dir() / "seg_bad.csv", bad);
  CHECK_THAT(run_pml("segnet fit seg_images.csv seg_bad.csv --height 8 --width 8 -o s.pml").err,
             Contains("seg_bad.csv") && Contains("row 3, pixel 6") && Contains("0.5 is not a class index"));
  bad(2, 5) = 4;
  pml::io::write_csv(dir() / "seg_bad.csv", bad);
  CHECK_THAT(run_pml("segnet fit seg_images.csv seg_bad.csv --height 8 --width 8 --classes 3 -o s.pml").err,
             Contains("row 3, pixel 6: 4 is beyond the classes 0..2"));
  // the same masks against a model of 2 classes, in predict
  CHECK_THAT(run_pml("segnet predict seg.pml seg_images.csv --masks seg_bad.csv").err, Contains("seg_bad.csv") && Contains("4 is beyond the classes 0..1"));
  // --png never overwrites an input, whatever the spelling, nor -o; a missing directory stops before -o is written
  CHECK_THAT(run_pml("segnet predict seg.pml seg_images.csv --png ./seg_images.csv").err, Contains("refusing to overwrite an input"));
  CHECK_THAT(run_pml("segnet predict seg.pml seg_images.csv --png fresh.csv -o ./fresh.csv").err, Contains("--png and -o name the same file"));
  const Run nodir = run_pml("segnet predict seg.pml seg_images.csv --png missing_dir/p.png -o seg_nodir.csv");
  CHECK(nodir.code == 1);
  CHECK_THAT(nodir.err, Contains("missing_dir") && Contains("does not exist"));
  CHECK(!fs::exists(dir() / "seg_nodir.csv"));
  Eigen::MatrixXd huge = images;
  huge(1, 2) = 1e39;
  pml::io::write_csv(dir() / "seg_huge.csv", huge);
  CHECK_THAT(run_pml("segnet predict seg.pml seg_huge.csv").err, Contains("seg_huge.csv") && Contains("data row 2, column 3") && Contains("float"));
  pml::io::write_csv(dir() / "seg_short.csv", Eigen::MatrixXd(masks.topRows(5)));
  CHECK_THAT(run_pml("segnet fit seg_images.csv seg_short.csv --height 8 --width 8 -o s.pml").err, Contains("24 images but") && Contains("5 masks"));
  const Run deep = run_pml("segnet fit seg_images.csv seg_masks.csv --height 8 --width 8 --features 4,4,4,4 -o s.pml");
  CHECK(deep.code == 2);
  CHECK_THAT(deep.err, Contains("--height and --width must be multiples of 2^4"));
  const Run one = run_pml("segnet fit seg_images.csv seg_masks.csv --height 8 --width 8 --limit 1 -o s.pml");
  CHECK(one.code == 1);
  CHECK_THAT(one.err, Contains("1 row"));
  CHECK(run_pml("segnet fit seg_images.csv seg_masks.csv --height 8 --width 8 --batch-size 1 -o s.pml").code == 2);
  CHECK_THAT(run_pml("segnet predict seg.pml seg_masks.csv --masks seg_short.csv").err, Contains("24 images but") && Contains("5 masks"));
  pml::io::write_csv(dir() / "seg_three.csv", Eigen::MatrixXd::Ones(2, 3));
  CHECK_THAT(run_pml("segnet predict seg.pml seg_three.csv").err, Contains("seg_three.csv") && Contains("1x8x8 images"));
  CHECK(!fs::exists(dir() / "s.pml"));
}

TEST_CASE("pml gan: fit with each remedy, outputs equal to the in-process model", "[cli]") {
  pml::Rng data_rng(3);
  Eigen::MatrixXd points(64, 2);
  pml::random::fill_normal(data_rng, points);
  pml::io::write_csv(dir() / "gan_points.csv", points, {"a", "b"});
  struct Case {
    const char* options;
    pml::GANOptions model;
    pml::GANFitOptions fit;
  };
  const std::vector<Case> cases{
      {"--packing 2", {.generator_hidden = {8}, .discriminator_hidden = {8}, .packing = 2}, {.steps = 30, .batch_size = 16}},
      {"--minibatch-stddev --end-factor 0.1", {.generator_hidden = {8}, .discriminator_hidden = {8}, .minibatch_stddev = true},
       {.steps = 30, .batch_size = 16, .end_factor = 0.1}},
      {"--generator-average 0.9", {.generator_hidden = {8}, .discriminator_hidden = {8}}, {.steps = 30, .batch_size = 16, .generator_average = 0.9}},
      {"--loss wasserstein_gp --discriminator-steps 2 --beta2 0.9 --gradient-penalty 0.5",
       {.generator_hidden = {8}, .discriminator_hidden = {8}, .generator_loss = pml::GANLoss::wasserstein_gp},
       {.steps = 30, .discriminator_steps = 2, .batch_size = 16, .beta2 = 0.9, .gradient_penalty = 0.5}},
  };
  for (const auto& c : cases) {
    INFO(c.options);
    const Run fit = run_pml(std::string("gan fit gan_points.csv --generator-hidden 8 --discriminator-hidden 8 --steps 30 --batch-size 16 --seed 5 ") +
                            c.options + " -o gan.pml");
    REQUIRE(fit.code == 0);
    // the same fit in process: the same parameters to the bit
    pml::Rng rng(5);
    pml::GAN<float> expected(c.model, rng);
    pml::GANFitOptions f = c.fit;
    f.generator_learning_rate = f.discriminator_learning_rate = 1e-3;
    expected.fit(points.cast<float>(), f, rng, 3);
    const auto loaded = pml::GAN<float>::load(dir() / "gan.pml");
    REQUIRE(loaded.parameters().size() == expected.parameters().size());
    for (std::size_t i = 0; i < loaded.parameters().size(); ++i) CHECK(loaded.parameters()[i]->value == expected.parameters()[i]->value);
    const Run sample = run_pml("gan sample gan.pml -n 5 --seed 9 -o gan_samples.csv");
    REQUIRE(sample.code == 0);
    pml::Rng sample_rng(9);
    const Eigen::MatrixXd drawn = pml::io::read_csv<double>(dir() / "gan_samples.csv").data;
    CHECK((drawn - expected.sample(sample_rng, 5).cast<double>()).cwiseAbs().maxCoeff() == 0);
    const Run d = run_pml("gan discriminate gan.pml gan_points.csv -o gan_d.csv");
    REQUIRE(d.code == 0);
    const Eigen::MatrixXd verdict = pml::io::read_csv<double>(dir() / "gan_d.csv").data;
    CHECK(verdict.rows() == 64 / c.model.packing);
    CHECK((verdict.col(0) - expected.discriminate(points.cast<float>()).cast<double>()).cwiseAbs().maxCoeff() == 0);
  }
  // errors: one line, exit 2 for the command line, 1 for the data; nothing saved on failure
  std::filesystem::remove(dir() / "bad_gan.pml");
  Run r = run_pml("gan fit gan_points.csv --packing 3 --batch-size 16 -o bad_gan.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--batch-size must be a multiple of --packing (3), got 16"));
  r = run_pml("gan fit gan_points.csv --loss wasserstein_gp --minibatch-stddev -o bad_gan.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--minibatch-stddev cannot be used with --loss wasserstein_gp"));
  r = run_pml("gan fit gan_points.csv --end-factor 1.5 -o bad_gan.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--end-factor must be in [0, 1], got 1.5"));
  r = run_pml("gan fit gan_points.csv --generator-average 1 -o bad_gan.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--generator-average must be in [0, 1), got 1"));
  r = run_pml("gan fit gan_points.csv --loss hinge -o bad_gan.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--loss"));
  CHECK(!std::filesystem::exists(dir() / "bad_gan.pml"));
  pml::io::write_csv(dir() / "gan_odd.csv", points.topRows(7), {"a", "b"});
  r = run_pml("gan fit gan_points.csv --packing 2 --steps 2 --batch-size 4 -o gan2.pml");
  REQUIRE(r.code == 0);
  r = run_pml("gan discriminate gan2.pml gan_odd.csv");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("7 rows") && Contains("packing (2)"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("pml infogan: fit both bodies, sample with given codes, read codes; equal to the in-process models", "[cli]") {
  // the mlp body on table rows
  pml::Rng data_rng(13);
  Eigen::MatrixXd points(48, 2);
  pml::random::fill_normal(data_rng, points);
  pml::io::write_csv(dir() / "info_points.csv", points, {"a", "b"});
  Run fit = run_pml("infogan fit --body mlp --data info_points.csv --noise 2 --categorical 3 --continuous 1 --recognition-hidden 4 "
                    "--generator-hidden 8 --discriminator-hidden 8 --epochs 2 --batch-size 16 --continuous-weight 0.5 --seed 5 -o info.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("trained an InfoGAN on 48 rows"));
  pml::InfoGANOptions o;
  o.body = pml::InfoGANBody::mlp;
  o.noise = 2;
  o.categorical = {3};
  o.continuous = 1;
  o.recognition_hidden = 4;
  o.output = 2;
  o.generator_hidden = o.discriminator_hidden = {8};
  pml::Rng rng(5);
  pml::InfoGAN<float> expected(o, rng);
  expected.fit(points.cast<float>(), {.epochs = 2, .batch_size = 16, .continuous_weight = 0.5}, rng);
  auto loaded = pml::InfoGAN<float>::load(dir() / "info.pml");
  REQUIRE(loaded.parameters().size() == expected.parameters().size());
  for (std::size_t i = 0; i < loaded.parameters().size(); ++i) CHECK(loaded.parameters()[i]->value == std::as_const(expected).parameters()[i]->value);
  // sample with one code for every row: the same draws of z in process
  Run sample = run_pml("infogan sample info.pml -n 4 --code 2,0.25 --seed 9 -o info_samples.csv");
  REQUIRE(sample.code == 0);
  pml::Rng sample_rng(9);
  Eigen::MatrixXf z(4, 2);
  pml::random::fill_normal(sample_rng, z);
  Eigen::MatrixXf codes = expected.sample_codes(sample_rng, 4);
  codes.col(0).setConstant(2);
  codes.col(1).setConstant(0.25f);
  CHECK((pml::io::read_csv<double>(dir() / "info_samples.csv").data - expected.generate(z, codes).cast<double>()).cwiseAbs().maxCoeff() == 0);
  Run read = run_pml("infogan codes info.pml info_points.csv -o info_codes.csv");
  REQUIRE(read.code == 0);
  const auto table = pml::io::read_csv<double>(dir() / "info_codes.csv");
  CHECK(table.columns == std::vector<std::string>{"c0", "c1", "d"});
  CHECK((table.data.leftCols(2) - expected.predict_codes(points.cast<float>()).cast<double>()).cwiseAbs().maxCoeff() == 0);
  CHECK((table.data.col(2) - expected.discriminate(points.cast<float>()).cast<double>()).cwiseAbs().maxCoeff() == 0);

  // the dcgan body on 8 x 8 images with a label column (ignored)
  Eigen::MatrixXd images = Eigen::MatrixXd::Zero(24, 65);
  for (Eigen::Index i = 0; i < images.rows(); ++i) {
    for (Eigen::Index k = 0; k < 8; ++k) images(i, (i % 6 + 1) * 8 + k) = 1;
    images(i, 64) = double(i % 2);
  }
  pml::io::write_csv(dir() / "info_bars.csv", images);
  fit = run_pml("infogan fit --data info_bars.csv --height 8 --width 8 --noise 3 --categorical 2,3 --continuous 0 --recognition-hidden 4 "
                "--generator-features 2 --discriminator-features 2 --epochs 1 --batch-size 8 --seed 6 -o info_dc.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  pml::InfoGANOptions d;
  d.noise = 3;
  d.categorical = {2, 3};
  d.continuous = 0;
  d.recognition_hidden = 4;
  d.height = d.width = 8;
  d.generator_features = d.discriminator_features = 2;
  pml::Rng d_rng(6);
  pml::InfoGAN<float> expected_dc(d, d_rng);
  expected_dc.fit(images.leftCols(64).cast<float>(), {.epochs = 1, .batch_size = 8}, d_rng);
  loaded = pml::InfoGAN<float>::load(dir() / "info_dc.pml");
  for (std::size_t i = 0; i < loaded.parameters().size(); ++i) CHECK(loaded.parameters()[i]->value == std::as_const(expected_dc).parameters()[i]->value);
  sample = run_pml("infogan sample info_dc.pml -n 6 --seed 3 --png info.png --columns 3 -o info_dc_samples.csv");
  REQUIRE(sample.code == 0);
  CHECK(std::filesystem::exists(dir() / "info.png"));
  pml::Rng s_rng(3);
  Eigen::MatrixXf zd(6, 3);
  pml::random::fill_normal(s_rng, zd);
  const Eigen::MatrixXf cd = expected_dc.sample_codes(s_rng, 6);
  CHECK((pml::io::read_csv<double>(dir() / "info_dc_samples.csv").data - expected_dc.generate(zd, cd).cast<double>()).cwiseAbs().maxCoeff() == 0);

  // errors: one line; exit 2 for the command line, 1 for the data; nothing saved on failure
  std::filesystem::remove(dir() / "bad_info.pml");
  Run r = run_pml("infogan fit --body mlp -o bad_info.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--body mlp reads a CSV file"));
  r = run_pml("infogan fit --data info_bars.csv --height 6 --width 8 -o bad_info.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--height must be a multiple of 4"));
  r = run_pml("infogan fit --data info_bars.csv --height 8 --width 8 --no-categorical --continuous 0 -o bad_info.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--no-categorical needs --continuous"));
  r = run_pml("infogan fit --data info_bars.csv --height 8 --width 8 --categorical 1 -o bad_info.pml");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("categorical") && Contains("got 1"));
  r = run_pml("infogan fit --data info_points.csv --height 8 --width 8 -o bad_info.pml");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("2 columns; expected 64 pixel columns"));
  CHECK(!std::filesystem::exists(dir() / "bad_info.pml"));
  r = run_pml("infogan sample info.pml -n 2 --code 3,0");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--code: categorical code 0 takes 0..2, got 3"));
  r = run_pml("infogan sample info.pml -n 2 --code 1");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--code needs 2 comma-separated values"));
  r = run_pml("infogan sample info.pml -n 2 --code 1,x");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--code needs a number, got 'x'"));
  r = run_pml("infogan sample info_dc.pml -n 2 --png info_dc.pml");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--png names the model file"));
  CHECK(pml::InfoGAN<float>::load(dir() / "info_dc.pml").options().noise == 3);  // not overwritten
  r = run_pml("infogan sample info.pml -n 2 --png p.png");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--png draws one-channel images"));
  r = run_pml("infogan codes info_dc.pml info_points.csv");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("the model takes rows of 64 values"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("pml bcnn and pml dcgan: fit on CSV images, outputs equal to the in-process models", "[cli]") {
  // 8 x 8 images of a horizontal (label 0) or vertical (label 1) bar, the label in the last column
  Eigen::MatrixXd table = Eigen::MatrixXd::Zero(40, 65);
  for (Eigen::Index i = 0; i < table.rows(); ++i) {
    const bool vertical = i % 2 == 1;
    const Eigen::Index at = 1 + (i / 2) % 6;
    for (Eigen::Index k = 0; k < 8; ++k) table(i, vertical ? k * 8 + at : at * 8 + k) = 1;
    table(i, 64) = vertical ? 1 : 0;
  }
  pml::io::write_csv(dir() / "bars40.csv", table);
  const Eigen::MatrixXf x = table.leftCols(64).cast<float>();

  // the Bayesian CNN: the saved model is the one trained in-process, predict equals sample_proba
  const Run fit = run_pml("bcnn fit --data bars40.csv --height 8 --width 8 --classes 2 --filters 3 --kernel 3 --hidden 8 --sampling flipout "
                          "--epochs 2 --batch-size 10 --seed 4 -o bcnn.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("trained a Bayesian CNN on 40 images"));
  const auto bcnn = pml::BayesianCNN<float>::load(dir() / "bcnn.pml");
  CHECK(bcnn.options().sampling == pml::nn::WeightSampling::flipout);
  pml::Rng same_rng(4);
  pml::BayesianCNN<float> same({.height = 8, .width = 8, .classes = 2, .filters = {3}, .kernel = 3, .hidden = {8}, .sampling = pml::nn::WeightSampling::flipout},
                               same_rng);
  same.fit(x, pml::IntVector(table.col(64).cast<long>()), {.epochs = 2, .batch_size = 10}, same_rng);
  const auto a = bcnn.parameters(), b = std::as_const(same).parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i]->value == b[i]->value);
  const Run predict = run_pml("bcnn predict bcnn.pml bars40.csv --samples 5 --seed 6 -o bcnn_pred.csv");
  REQUIRE(predict.code == 0);
  const auto out = pml::io::read_csv<double>(dir() / "bcnn_pred.csv");
  CHECK(out.columns == std::vector<std::string>{"p0", "p1", "entropy", "bald", "label"});
  pml::Rng r(6);
  const auto passes = bcnn.sample_proba(x, 5, r);
  CHECK((out.data.leftCols(2) - pml::metrics::mean_probabilities(passes).cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK((out.data.col(2) - pml::metrics::predictive_entropy(passes).cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK_THAT(run_pml("bcnn fit --data bars40.csv --height 7 --width 8 --filters 3 --kernel 3 -o c.pml").err, Contains("65 columns; expected 56 pixel columns"));
  CHECK_THAT(run_pml("bcnn fit --data bars40.csv --height 8 --width 8 --sampling sometimes -o c.pml").err, Contains("--sampling") && Contains("sometimes"));
  pml::io::write_csv(dir() / "three.csv", Eigen::MatrixXd::Constant(4, 3, 0.5));
  CHECK_THAT(run_pml("bcnn predict bcnn.pml three.csv").err, Contains("the model takes images of 64 pixels"));
  CHECK_THAT(run_pml("bcnn predict cnn_missing.pml bars40.csv").err, Contains("cnn_missing.pml"));

  // the DCGAN: fit, sample (CSV and PNG), discriminate, each equal to the in-process model
  const Run gan_fit = run_pml("dcgan fit --data bars40.csv --height 8 --width 8 --noise 4 --generator-features 3 --discriminator-features 3 "
                              "--epochs 2 --batch-size 8 --seed 7 -o dcgan.pml");
  INFO(gan_fit.err);
  REQUIRE(gan_fit.code == 0);
  CHECK_THAT(gan_fit.err, Contains("trained a DCGAN on 40 images"));
  const auto gan = pml::DCGAN<float>::load(dir() / "dcgan.pml");
  pml::Rng gan_rng(7);
  pml::DCGAN<float> gan_same({.noise = 4, .height = 8, .width = 8, .generator_features = 3, .discriminator_features = 3}, gan_rng);
  gan_same.fit(x, {.epochs = 2, .batch_size = 8}, gan_rng);
  const auto ga = gan.stored_parameters(), gb = std::as_const(gan_same).stored_parameters();  // with the running statistics
  REQUIRE(ga.size() == gb.size());
  for (std::size_t i = 0; i < ga.size(); ++i) CHECK(ga[i]->value == gb[i]->value);
  const Run sample = run_pml("dcgan sample dcgan.pml -n 6 --seed 8 --png grid.png --columns 3 -o samples.csv");
  INFO(sample.err);
  REQUIRE(sample.code == 0);
  const auto images = pml::io::read_csv<double>(dir() / "samples.csv");
  REQUIRE(images.data.rows() == 6);
  REQUIRE(images.data.cols() == 64);
  pml::Rng s(8);
  CHECK((images.data - gan.sample(s, 6).cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK(std::filesystem::file_size(dir() / "grid.png") > 0);
  const Run truncated = run_pml("dcgan sample dcgan.pml -n 6 --seed 8 --truncation 0.5 -o truncated.csv");
  INFO(truncated.err);
  REQUIRE(truncated.code == 0);
  pml::Rng ts(8);
  CHECK((pml::io::read_csv<double>(dir() / "truncated.csv").data - gan.sample(ts, 6, 0.5).cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  CHECK_THAT(run_pml("dcgan sample dcgan.pml -n 6 --truncation 0 -o t0.csv").err, Contains("--truncation") && Contains("0"));
  const Run d = run_pml("dcgan discriminate dcgan.pml bars40.csv -o d.csv");
  REQUIRE(d.code == 0);
  const auto dv = pml::io::read_csv<double>(dir() / "d.csv");
  CHECK(dv.columns == std::vector<std::string>{"d"});
  CHECK((dv.data.col(0) - gan.discriminate(x).cast<double>()).cwiseAbs().maxCoeff() < 1e-6);
  // the remedies: PacGAN packing and minibatch stddev (with the generator's weights averaged), the same model as in process
  const Run remedies = run_pml("dcgan fit --data bars40.csv --height 8 --width 8 --noise 4 --generator-features 3 --discriminator-features 3 "
                              "--packing 2 --minibatch-stddev --generator-average 0.9 --epochs 1 --batch-size 8 --seed 7 -o dcgan_pac.pml");
  INFO(remedies.err);
  REQUIRE(remedies.code == 0);
  pml::Rng pac_rng(7);
  pml::DCGANOptions pac_options{.noise = 4, .height = 8, .width = 8, .generator_features = 3, .discriminator_features = 3};
  pac_options.packing = 2;
  pac_options.minibatch_stddev = true;
  pml::DCGAN<float> pac_same(pac_options, pac_rng);
  pac_same.fit(x, {.epochs = 1, .batch_size = 8, .generator_average = 0.9}, pac_rng);
  const auto pac_loaded = pml::DCGAN<float>::load(dir() / "dcgan_pac.pml");
  const auto pa = pac_loaded.stored_parameters(), pb = std::as_const(pac_same).stored_parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i]->value == pb[i]->value);
  // WGAN-GP: a critic without batch normalisation, k critic steps, the same model as in process
  const Run critic = run_pml("dcgan fit --data bars40.csv --height 8 --width 8 --noise 4 --generator-features 3 --discriminator-features 3 "
                             "--generator-loss wasserstein_gp --discriminator-steps 2 --beta1 0 --beta2 0.9 --gradient-penalty 5 --epochs 2 "
                             "--batch-size 8 --seed 7 -o dcgan_wgan.pml");
  INFO(critic.err);
  REQUIRE(critic.code == 0);
  {
    pml::Rng w_rng(7);
    pml::DCGANOptions w_options{.noise = 4, .height = 8, .width = 8, .generator_features = 3, .discriminator_features = 3,
                                .generator_loss = pml::GANLoss::wasserstein_gp};
    pml::DCGAN<float> w_same(w_options, w_rng);
    w_same.fit(x, {.epochs = 2, .batch_size = 8, .beta1 = 0, .beta2 = 0.9, .discriminator_steps = 2, .gradient_penalty = 5}, w_rng);
    const auto w_loaded = pml::DCGAN<float>::load(dir() / "dcgan_wgan.pml");
    CHECK(w_loaded.critic());
    const auto wa = w_loaded.stored_parameters(), wb = std::as_const(w_same).stored_parameters();
    REQUIRE(wa.size() == wb.size());
    for (std::size_t i = 0; i < wa.size(); ++i) CHECK(wa[i]->value == wb[i]->value);
    const Run scores = run_pml("dcgan discriminate dcgan_wgan.pml bars40.csv -o d_wgan.csv");
    REQUIRE(scores.code == 0);
    CHECK((pml::io::read_csv<double>(dir() / "d_wgan.csv").data.col(0) - w_loaded.discriminate(x).cast<double>()).cwiseAbs().maxCoeff() < 1e-5);
  }
  const Run pac_d = run_pml("dcgan discriminate dcgan_pac.pml bars40.csv -o d_pac.csv");
  REQUIRE(pac_d.code == 0);
  CHECK(pml::io::read_csv<double>(dir() / "d_pac.csv").data.rows() == 20);
  const Run small_batch = run_pml("dcgan fit --data bars40.csv --height 8 --width 8 --packing 4 --batch-size 6 -o g.pml");
  CHECK(small_batch.code == 2);
  CHECK_THAT(small_batch.err, Contains("--batch-size must be at least twice --packing (4), got 6"));
  const Run bad_average = run_pml("dcgan fit --data bars40.csv --height 8 --width 8 --generator-average 1 -o g.pml");
  CHECK(bad_average.code == 2);
  CHECK_THAT(bad_average.err, Contains("--generator-average must be in [0, 1), got 1"));
  // errors: sizes that are not multiples of 4, values outside [0, 1], a wrong width
  const Run six = run_pml("dcgan fit --data bars40.csv --height 6 --width 8 -o g.pml");
  CHECK(six.code == 2);
  CHECK_THAT(six.err, Contains("--height must be a multiple of 4, got 6") || Contains("--height must be a multiple of 4 (two stride-2 layers), got 6"));
  CHECK(run_pml("bcnn fit --data bars40.csv --height 8 --width 8 --sampling mean -o c.pml").code == 2);
  CHECK_THAT(run_pml("dcgan sample dcgan.pml -n 2 --png dcgan.pml").err, Contains("--png names the model file"));
  const Run wgan = run_pml("dcgan fit --data bars40.csv --height 8 --width 8 --generator-loss wasserstein_gp --minibatch-stddev -o g.pml");
  CHECK(wgan.code == 2);
  CHECK_THAT(wgan.err, Contains("--minibatch-stddev cannot be used with --generator-loss wasserstein_gp"));
  CHECK(pml::DCGAN<float>::load(dir() / "dcgan.pml").options().noise == 4);  // not overwritten
  table(2, 5) = 3;
  pml::io::write_csv(dir() / "bars_hot.csv", table);
  CHECK_THAT(run_pml("dcgan fit --data bars_hot.csv --height 8 --width 8 -o g.pml").err, Contains("[0, 1]"));
  CHECK_THAT(run_pml("dcgan discriminate dcgan.pml three.csv").err, Contains("the model takes images of 64 pixels"));
  CHECK(!std::filesystem::exists(dir() / "g.pml"));
}

TEST_CASE("pml forecast: fit on a series' last column, predict bands equal to the in-process model", "[cli]") {
  // year, month, value: a season and a trend
  Eigen::MatrixXd table(96, 3);
  for (Eigen::Index t = 0; t < table.rows(); ++t) {
    table(t, 0) = 2000 + double(t / 12);
    table(t, 1) = double(t % 12 + 1);
    table(t, 2) = 300 + 0.1 * double(t) + 3 * std::sin(2 * M_PI * double(t) / 12) + 0.2 * std::cos(1.7 * double(t));
  }
  pml::io::write_csv(dir() / "series.csv", table, {"year", "month", "value"});
  const Run fit = run_pml("forecast fit series.csv --window 12 --hidden 8 --epochs 3 --batch-size 16 --seed 4 -o fc.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("trained an LSTM forecaster on 96 values"));
  const Run predict = run_pml("forecast predict fc.pml series.csv --horizon 6 --samples 40 --level 0.8 --seed 5");
  REQUIRE(predict.code == 0);
  std::ofstream(dir() / "fc_pred.csv") << predict.out;
  const auto out = pml::io::read_csv<double>(dir() / "fc_pred.csv");
  CHECK(out.columns == std::vector<std::string>{"step", "mean", "lower", "upper"});
  REQUIRE(out.data.rows() == 6);
  // the same model trained in-process
  pml::Rng rng(4);
  pml::LSTMForecasterOptions o;
  o.window = 12;
  o.hidden = 8;
  pml::LSTMForecaster<double> same(o, rng);
  same.fit(table.col(2), {.epochs = 3, .batch_size = 16, .learning_rate = 3e-3}, rng);
  pml::Rng r(5);
  const auto bands = same.forecast(table.col(2), 6, 40, r, 0.8);
  CHECK((out.data.col(1) - bands.mean).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((out.data.col(2) - bands.lower).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((out.data.col(3) - bands.upper).cwiseAbs().maxCoeff() < 1e-9);
  const Run mc = run_pml("forecast fit series.csv --method mc_dropout --window 12 --hidden 8 --epochs 2 --seed 4 -o fc_mc.pml");
  REQUIRE(mc.code == 0);
  CHECK(pml::LSTMForecaster<double>::load(dir() / "fc_mc.pml").options().method == pml::ForecastMethod::mc_dropout);
  // errors: a series too short for the window, a level outside (0, 1), a constant series
  CHECK_THAT(run_pml("forecast fit series.csv --window 100 -o f.pml").err, Contains("96 values, at least 103"));
  CHECK_THAT(run_pml("forecast predict fc.pml series.csv --level 1").err, Contains("--level") && Contains("in (0, 1)"));
  table.col(2).setConstant(7);
  pml::io::write_csv(dir() / "flat.csv", table, {"year", "month", "value"});
  const Run flat = run_pml("forecast fit flat.csv --window 12 -o flat.pml");
  CHECK(flat.code == 0);
  CHECK_THAT(flat.err, Contains("constant or a straight line: nothing to train"));
}

TEST_CASE("pml vgmm: fit switches surplus components off; predict equals the in-process model", "[cli]") {
  const Eigen::MatrixXd x = blobs();
  pml::io::write_csv(dir() / "data.csv", x);
  // seeds 0-3, 5 and 6 find the three blobs; seed 4's k-means start ends in a local optimum that splits
  // one blob in three (5 components in use), which the in-process model reproduces as well
  const Run fit = run_pml("vgmm fit data.csv --components 8 --concentration 0.001 --seed 1 -o vgmm.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("3 in use"));
  pml::VariationalGaussianMixtureOptions<double> o;
  o.components = 8;
  o.weight_concentration = 0.001;
  pml::VariationalGaussianMixture<double> same(o);
  same.fit(x, 1);
  CHECK(same.effective_components() == 3);
  const Run proba = run_pml("vgmm predict vgmm.pml data.csv --proba -o proba.csv");
  REQUIRE(proba.code == 0);
  CHECK(pml::io::read_csv<double>(dir() / "proba.csv").data == same.predict_proba(x));
  const Run labels = run_pml("vgmm predict vgmm.pml data.csv");
  REQUIRE(labels.code == 0);
  std::ofstream(dir() / "labels.csv") << labels.out;
  CHECK(pml::io::read_csv<double>(dir() / "labels.csv").data.col(0).cast<long>() == same.predict(x));
  const Run components = run_pml("vgmm components vgmm.pml -o components.csv");
  REQUIRE(components.code == 0);
  const auto table = pml::io::read_csv<double>(dir() / "components.csv");
  CHECK(table.columns == std::vector<std::string>{"weight", "mean0", "mean1"});
  CHECK(table.data.col(0) == same.weights());
  CHECK((table.data.col(0).array() > 0.01).count() == 3);
  CHECK(run_pml("vgmm fit data.csv --weight-prior dirichlet_process --components 6 -o dp.pml").code == 0);
  CHECK(pml::VariationalGaussianMixture<double>::load(dir() / "dp.pml").options().weight_prior == pml::WeightPrior::dirichlet_process);
}

TEST_CASE("pml blr: --basis poly:3 fit, predict mean and sd, sample, equal the in-process model", "[cli]") {
  pml::Rng rng(6);
  Eigen::MatrixXd xy(50, 2);
  for (Eigen::Index i = 0; i < xy.rows(); ++i) {
    xy(i, 0) = pml::random::uniform<double>(rng, -1.0, 1.0);
    xy(i, 1) = xy(i, 0) * xy(i, 0) * xy(i, 0) - 0.5 * xy(i, 0) + 0.05 * pml::random::normal<double>(rng);
  }
  pml::io::write_csv(dir() / "xy.csv", xy, {"x", "y"});
  Eigen::MatrixXd grid(9, 1);
  for (Eigen::Index i = 0; i < grid.rows(); ++i) grid(i, 0) = -2.0 + 0.5 * double(i);
  pml::io::write_csv(dir() / "grid.csv", grid);
  const Run fit = run_pml("blr fit xy.csv --basis poly:3 -o blr.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("poly:3"));
  pml::BayesianLinearRegression<double> same;
  same.fit(pml::design_matrix(pml::PolynomialBasis{3}, xy.leftCols(1)), xy.col(1));
  const auto expected = same.predict(pml::design_matrix(pml::PolynomialBasis{3}, grid));
  const Run predict = run_pml("blr predict blr.pml grid.csv -o pred.csv");
  REQUIRE(predict.code == 0);
  const auto table = pml::io::read_csv<double>(dir() / "pred.csv");
  CHECK(table.columns == std::vector<std::string>{"mean", "sd", "aleatoric_sd", "epistemic_sd"});
  CHECK(table.data.col(0) == expected.mean);
  CHECK(table.data.col(1) == expected.variance.cwiseSqrt());
  CHECK(table.data.col(3) == expected.epistemic.cwiseSqrt());
  // the uncertainty grows away from the data in [-1, 1]
  CHECK(table.data(0, 1) > 5 * table.data(4, 1));
  const Run sample = run_pml("blr sample blr.pml grid.csv -n 4 --seed 9");
  REQUIRE(sample.code == 0);
  CHECK(sample.out.rfind("f0,f1,f2,f3\n", 0) == 0);
  // rbf with its range taken from the data, recorded in the file
  REQUIRE(run_pml("blr fit xy.csv --basis rbf:7:0.4 --fixed --alpha 2 --beta 400 -o rbf.pml").code == 0);
  const auto rbf = pml::BayesianLinearRegression<double>::load(dir() / "rbf.pml");
  CHECK_THAT(rbf.options().basis, Contains("rbf:7:0.4:"));
  CHECK(rbf.alpha() == 2.0);
  CHECK(run_pml("blr predict rbf.pml grid.csv").code == 0);
  // several inputs need the identity basis
  pml::io::write_csv(dir() / "wide.csv", Eigen::MatrixXd::Random(10, 3));
  const Run wide = run_pml("blr fit wide.csv --basis poly:2 -o w.pml");
  CHECK(wide.code == 1);
  CHECK_THAT(wide.err, Contains("has 2 input columns; the basis poly:2 takes one"));
  REQUIRE(run_pml("blr fit wide.csv -o w.pml").code == 0);
  CHECK(run_pml("blr predict w.pml grid.csv").code == 1);
}

TEST_CASE("pml: enum options, their help and the model files use each enum's one name table", "[cli][names]") {
  pml::io::write_csv(dir() / "names.csv", blobs());
  // every name the table has is accepted, means what the table says, and is listed in the help
  const std::string gmm_help = run_pml("gmm fit --help").out;
  for (const std::string_view name : enum_names(pml::Covariance{})) {
    INFO(name);
    CHECK_THAT(gmm_help, Contains(std::string(name)));
    REQUIRE(run_pml("gmm fit names.csv --components 2 --covariance " + std::string(name) + " -o names_gmm.pml").code == 0);
    CHECK(pml::GaussianMixture<double>::load(dir() / "names_gmm.pml").options().covariance == *pml::enum_from_name<pml::Covariance>(name));
  }
  const std::string ppca_help = run_pml("ppca fit --help").out;
  for (const std::string_view name : enum_names(pml::PPCASolver{})) {
    INFO(name);
    CHECK_THAT(ppca_help, Contains(std::string(name)));
    REQUIRE(run_pml("ppca fit names.csv --components 1 --solver " + std::string(name) + " -o names_ppca.pml").code == 0);
    CHECK(pml::ProbabilisticPCA<double>::load(dir() / "names_ppca.pml").options().solver == *pml::enum_from_name<pml::PPCASolver>(name));
  }
  const std::string vgmm_help = run_pml("vgmm fit --help").out;
  for (const std::string_view name : enum_names(pml::WeightPrior{})) {
    INFO(name);
    CHECK_THAT(vgmm_help, Contains(std::string(name)));
    REQUIRE(run_pml("vgmm fit names.csv --components 3 --weight-prior " + std::string(name) + " -o names_vgmm.pml").code == 0);
    CHECK(pml::VariationalGaussianMixture<double>::load(dir() / "names_vgmm.pml").options().weight_prior ==
          *pml::enum_from_name<pml::WeightPrior>(name));
  }
  // the old command-line-only spellings are gone: one clear error listing the names
  const Run closed = run_pml("ppca fit names.csv --solver closed -o names_ppca2.pml");
  CHECK(closed.code == 2);
  CHECK_THAT(closed.err, Contains("--solver must be closed_form or em, got 'closed'"));
  CHECK(run_pml("gmm fit names.csv --covariance diag -o names_gmm2.pml").code == 2);
  // the tables themselves: names round-trip, unknown names are refused
  CHECK(pml::enum_name(pml::Covariance::spherical) == "spherical");
  CHECK(pml::enum_from_name<pml::ad::Activation>("leaky_relu") == pml::ad::Activation::leaky_relu);
  CHECK_FALSE(pml::enum_from_name<pml::ad::Activation>("Relu").has_value());
  CHECK(pml::enum_choices<pml::VAEEstimator>() == "analytic or sampled");
  CHECK(pml::enum_choices<pml::Covariance>() == "full, tied, diagonal or spherical");
}

TEST_CASE("pml: numbers on the command line are checked, never wrapped or clamped; values a model refuses are command-line errors", "[cli][errors]") {
  const Eigen::MatrixXd x = blobs();
  pml::io::write_csv(dir() / "num.csv", x);
  const auto refused = [](const std::string& args, const std::string& message) {
    const Run r = run_pml(args);
    INFO("pml " << args << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains(message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  };
  // an int option past INT_MAX used to wrap (4294967296 -> 0 iterations, 4294967297 -> 1 restart)
  refused("gmm fit num.csv --max-iterations 4294967296 -o n1.pml", "--max-iterations must be at most 2147483647, got 4294967296");
  refused("kmeans fit num.csv --restarts 4294967297 -o n2.pml", "--restarts must be at most 2147483647, got 4294967297");
  refused("gmm fit num.csv --components 99999999999999999999 -o n3.pml", "--components must be at most");
  // seeds: the whole 64-bit range, not clamped at 2^63 - 1
  for (const std::uint64_t seed : {std::uint64_t(9223372036854775807ULL), std::uint64_t(9223372036854775808ULL), std::uint64_t(18446744073709551615ULL)}) {
    INFO("seed " << seed);
    REQUIRE(run_pml("kmeans fit num.csv --clusters 3 --seed " + std::to_string(seed) + " -o seed.pml").code == 0);
    pml::KMeans<double> same({.clusters = 3});
    same.fit(x, seed);
    CHECK(pml::KMeans<double>::load(dir() / "seed.pml").centres() == same.centres());
  }
  refused("kmeans fit num.csv --seed 18446744073709551616 -o n4.pml", "--seed needs an integer from 0 to 18446744073709551615");
  refused("kmeans fit num.csv --seed -1 -o n4.pml", "--seed needs an integer from 0 to 18446744073709551615, got '-1'");
  // values the model would refuse are the command line's errors (exit 2), named as options
  refused("mcdropout fit num.csv --dropout 1.5 -o n5.pml", "--dropout must be in [0, 1), got 1.5");
  refused("mcdropout fit num.csv --tau 0 -o n5.pml", "--tau must be positive, got 0");
  refused("vgmm fit num.csv --components 1 -o n6.pml", "--components must be at least 2, got 1");
  // sizes that cannot fit in memory say which option is too large (was: std::bad_alloc)
  REQUIRE(run_pml("gmm fit num.csv --components 2 -o n7.pml").code == 0);
  refused("gmm sample n7.pml -n 9000000000000000000", "-n asks for 9000000000000000000 rows");
  refused("mcdropout fit num.csv --hidden 100000000,100000000 -o n8.pml", "--hidden 100000000,100000000 makes a network of");
}

TEST_CASE("pml: help on every command, one-line errors with non-zero exit codes", "[cli][errors]") {
  for (const char* args : {"--help", "gmm --help", "gmm fit --help", "gmm predict --help", "gmm score --help", "gmm sample --help", "kmeans --help",
                           "kmeans fit --help", "kmeans predict --help", "pca --help", "pca fit --help", "pca transform --help",
                           "pca inverse --help", "ppca --help", "ppca fit --help", "ppca transform --help", "ppca score --help", "ppca sample --help",
                           "mcdropout --help", "mcdropout fit --help", "mcdropout predict --help", "cnn --help", "cnn fit --help", "cnn predict --help", "bcnn --help", "bcnn fit --help", "bcnn predict --help", "gan --help", "gan fit --help", "gan sample --help", "gan discriminate --help", "dcgan --help", "dcgan fit --help", "dcgan sample --help", "dcgan discriminate --help", "infogan --help", "infogan fit --help", "infogan sample --help", "infogan codes --help", "forecast --help", "forecast fit --help", "forecast predict --help", "vae --help", "vae train --help", "vae sample --help",
                           "vae encode --help", "vgmm --help", "vgmm fit --help", "vgmm predict --help", "vgmm components --help",
                           "blr --help", "blr fit --help", "blr predict --help", "blr sample --help"}) {
    const Run r = run_pml(args);
    INFO(args);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("pml"));
  }
  CHECK_THAT(run_pml("gmm fit --help").out, Contains("example: pml gmm fit"));
  CHECK(run_pml("--version").out == "pml 0.1\n");
  pml::io::write_csv(dir() / "data.csv", blobs());
  REQUIRE(run_pml("gmm fit data.csv --components 2 -o m.pml").code == 0);
  std::ofstream(dir() / "bad.csv") << "1,2\n3,oops\n";
  std::ofstream(dir() / "wide.csv") << "1,2,3\n4,5,6\n";
  std::ofstream(dir() / "junk.pml") << "not a model";
  struct Case {
    const char* args;
    int code;
    const char* message;
  };
  for (const Case& c : {Case{"", 2, "usage"}, Case{"svm fit x.csv", 2, "unknown model 'svm'"}, Case{"gmm frobnicate", 2, "unknown command 'frobnicate'"},
                        Case{"gmm fit data.csv --bogus 1 -o m.pml", 2, "unknown option '--bogus'"},
                        Case{"gmm fit data.csv", 2, "-o MODEL is required"}, Case{"gmm fit data.csv --components x -o m.pml", 2, "needs an integer, got 'x'"},
                        Case{"gmm fit data.csv --components 0 -o m.pml", 2, "at least 1"},
                        Case{"gmm fit data.csv --covariance round -o m.pml", 2, "--covariance must be"},
                        Case{"gmm fit missing.csv -o m.pml", 1, "cannot open"}, Case{"gmm fit bad.csv -o m.pml", 1, "line 2, column 2"},
                        Case{"gmm predict m.pml wide.csv", 1, "has 3 columns but the model was fitted to 2"},
                        Case{"gmm predict junk.pml data.csv", 1, "is not a pml model"}, Case{"kmeans predict m.pml data.csv", 1, "not a KMeans"},
                        Case{"gmm sample m.pml", 2, "-n N is required"}, Case{"gmm predict m.pml", 2, "expected MODEL DATA.csv"},
                        Case{"gmm fit data.csv --components 500 -o m2.pml", 1, "GaussianMixture"},
                        Case{"blr fit data.csv --basis spline:2 -o m2.pml", 2, "parse_basis: basis 'spline:2' is not a known basis"},
                        Case{"blr predict m.pml data.csv", 1, "holds a GaussianMixture, not a BayesianLinearRegression"},
                        Case{"vgmm fit data.csv --weight-prior uniform -o m2.pml", 2, "--weight-prior must be dirichlet_distribution or dirichlet_process"},
                        Case{"vgmm fit data.csv --concentration -1 -o m2.pml", 2, "--concentration must be positive"}}) {
    const Run r = run_pml(c.args);
    INFO("pml " << c.args << "\nstderr: " << r.err);
    CHECK(r.code == c.code);
    if (c.code == 2 && std::string(c.args).empty()) {
      CHECK_THAT(r.out, Contains(c.message));
      continue;
    }
    CHECK_THAT(r.err, Contains(c.message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one line
  }
  CHECK_FALSE(fs::exists(dir() / "m2.pml"));
}

namespace {
// Runs `pml ARGS` with standard output sent to `stdout_to` (a shell redirection target).
Run run_pml_to(const std::string& args, const std::string& stdout_to) {
  const std::string cmd = "cd '" + dir().string() + "' && '" PML_CLI "' " + args + " > " + stdout_to + " 2> err.txt";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, "", slurp(dir() / "err.txt")};
}
void write_bytes(const std::string& name, const std::string& bytes) {
  std::error_code ec;
  fs::remove(dir() / name, ec);
  std::ofstream(dir() / name, std::ios::binary) << bytes;
}
long lines_of(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }
// A PID that no process has: a child that has exited and been reaped.
long dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}
}  // namespace

TEST_CASE("pml reads hostile CSV files without losing a row: BOM, CR, binary, overflow, typos, --header, --delimiter", "[cli][csv]") {
  const std::string rows = "1.5,-2\n0.25,3\n4,5.5\n-1,0\n2,2\n7,-7.5\n0.001,1000\n9,8\n";
  // a UTF-8 byte-order mark before a headerless file: 8 rows in, 8 used
  write_bytes("bom.csv", "\xEF\xBB\xBF" + rows);
  Run r = run_pml("kmeans fit bom.csv --clusters 2 -o bom.pml");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("to 8 x 2 data"));
  // classic Mac line ends
  write_bytes("cr.csv", "a,b\r1,2\r3,4\r5,6\r");
  r = run_pml("kmeans fit cr.csv --clusters 1 -o cr.pml");
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Contains("to 3 x 2 data"));
  // binary and UTF-16 files: one line, the whole message
  write_bytes("nul.csv", std::string("1,2\n3,\0,4\n", 10));
  std::string utf16 = "\xFF\xFE";
  for (const char c : std::string("1,2\n3,4\n")) utf16 += std::string{c, '\0'};
  write_bytes("utf16.csv", utf16);
  for (const char* name : {"nul.csv", "utf16.csv"}) {
    r = run_pml(std::string("kmeans fit ") + name + " -o x.pml");
    INFO(name << ": " << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("is a binary or UTF-16 file") && Contains("save it as UTF-8"));
    CHECK(lines_of(r.err) == 1);
  }
  // a first row that looks numeric but cannot be read: line and column, never taken as a header
  for (const auto& [first, field] : std::vector<std::pair<std::string, std::string>>{{"1e400,2", "1e400"}, {"2.o,2", "2.o"}, {"+-2.0,2", "+-2.0"}}) {
    write_bytes("first.csv", first + "\n3,4\n5,6\n");
    r = run_pml("kmeans fit first.csv --clusters 1 -o x.pml");
    INFO(first << ": " << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("line 1, column 1: cannot read '" + field + "' as a number"));
    CHECK(lines_of(r.err) == 1);
    // told that line 1 is a header, the tool uses the other two rows
    r = run_pml("kmeans fit first.csv --clusters 1 --header yes -o x.pml");
    CHECK(r.code == 0);
    CHECK_THAT(r.err, Contains("to 2 x 2 data"));
  }
  write_bytes("tiny.csv", "1e-400,2\n3,4\n5,6\n");  // underflow: the value 0, the row kept
  r = run_pml("kmeans fit tiny.csv --clusters 1 -o x.pml");
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Contains("to 3 x 2 data"));
  write_bytes("late.csv", "a,b\n1,2\n3,-1e400\n");
  CHECK_THAT(run_pml("kmeans fit late.csv --clusters 1 -o x.pml").err, Contains("line 3, column 2: cannot read '-1e400' as a number: its magnitude is beyond"));
  // names and numbers on line 1: the tool asks instead of guessing
  write_bytes("mixed.csv", "id,2019\n1,2\n3,4\n");
  r = run_pml("kmeans fit mixed.csv --clusters 1 -o x.pml");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("line 1 mixes names and numbers") && Contains("pml --header"));
  CHECK_THAT(run_pml("kmeans fit mixed.csv --clusters 1 --header yes -o x.pml").err, Contains("to 2 x 2 data"));
  CHECK_THAT(run_pml("kmeans fit mixed.csv --clusters 1 --header no -o x.pml").err, Contains("line 1, column 1: cannot read 'id'"));
  // --delimiter: one character, tab or space
  write_bytes("semi.csv", "1;2\n3;4\n5;6\n");
  CHECK_THAT(run_pml("kmeans fit semi.csv --clusters 1 --delimiter ';' -o x.pml").err, Contains("to 3 x 2 data"));
  CHECK_THAT(run_pml("kmeans fit semi.csv --clusters 1 -o x.pml").err, Contains("line 1, column 1: cannot read '1;2'"));
  write_bytes("tabs.tsv", "x\ty\n1\t2\n3\t4\n");
  CHECK_THAT(run_pml("pca fit tabs.tsv --delimiter tab -o x.pml").err, Contains("to 2 x 2 data"));
  REQUIRE(run_pml("kmeans fit semi.csv --clusters 1 --delimiter ';' -o semi.pml").code == 0);
  const Run predicted = run_pml("kmeans predict semi.pml semi.csv --delimiter ';' --header no");
  CHECK(predicted.code == 0);
  CHECK(predicted.out == "label\n0\n0\n0\n");
  for (const char* bad : {"--delimiter ab", "--delimiter .", "--delimiter '\"'", "--header maybe"}) {
    r = run_pml(std::string("kmeans fit semi.csv ") + bad + " -o x.pml");
    INFO(bad << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(lines_of(r.err) == 1);
  }
  // every command that reads CSV takes both options and documents them; the others do not take them
  for (const char* command : {"gmm fit", "gmm predict", "gmm score", "kmeans fit", "kmeans predict", "pca fit", "pca transform", "pca inverse",
                              "ppca fit", "ppca transform", "ppca score", "vgmm fit", "vgmm predict", "blr fit", "blr predict", "blr sample",
                              "mcdropout fit", "mcdropout predict", "cnn fit", "cnn predict", "bcnn fit", "bcnn predict", "gan fit", "gan discriminate", "dcgan fit", "dcgan discriminate", "infogan fit", "infogan codes", "forecast fit",
                              "forecast predict", "vae train", "vae encode"}) {
    INFO(command);
    const std::string help = run_pml(std::string(command) + " --help").out;
    CHECK_THAT(help, Contains("--delimiter C") && Contains("--header H"));
    // the options are accepted (the command then stops at its own missing arguments or files, not at them)
    CHECK_THAT(run_pml(std::string(command) + " --header no --delimiter ';' missing.pml missing.csv").err, !Contains("unknown option"));
  }
  for (const char* command : {"gmm sample", "ppca sample", "vgmm components", "vae sample", "gan sample", "dcgan sample", "infogan sample"}) {
    INFO(command);
    CHECK_THAT(run_pml(std::string(command) + " --header no m.pml").err, Contains("unknown option '--header'"));
  }
}

TEST_CASE("pml checks every write: standard output, links, FIFOs, devices, the input, read-only files, killed saves", "[cli][files]") {
  pml::io::write_csv(dir() / "data.csv", blobs(), {"a", "b"});
  REQUIRE(run_pml("gmm fit data.csv --components 2 --seed 1 -o w.pml").code == 0);
  const Run reference = run_pml("gmm predict w.pml data.csv");
  REQUIRE(reference.code == 0);
  REQUIRE(lines_of(reference.out) == 241);
  // standard output: a full disk is one line and exit 1, for results and for help alike
  for (const char* args : {"gmm predict w.pml data.csv", "gmm predict w.pml data.csv --proba", "gmm sample w.pml -n 5", "gmm fit --help", "--version"}) {
    const Run full = run_pml_to(args, "/dev/full");
    INFO(args << ": " << full.err);
    CHECK(full.code == 1);
    CHECK_THAT(full.err, Contains("cannot write to standard output: No space left on device"));
    CHECK(lines_of(full.err) == 1);
  }
  // -o /dev/stdout: written to standard output itself, no temporary beside /dev/stdout, errors checked
  Run r = run_pml("gmm predict w.pml data.csv -o /dev/stdout");
  CHECK(r.code == 0);
  CHECK(r.out == reference.out);
  r = run_pml_to("gmm predict w.pml data.csv -o /dev/stdout", "/dev/full");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot write '/dev/stdout': No space left on device"));
  // a character device: written directly (here the error it gives), never replaced
  r = run_pml("gmm predict w.pml data.csv -o /dev/full");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot write '/dev/full': No space left on device"));
  CHECK(fs::is_character_file("/dev/full"));
  // a FIFO: written directly to its reader, stays a FIFO (timeout: a replaced FIFO would leave cat waiting)
  std::error_code ec;
  fs::remove(dir() / "fifo", ec);
  REQUIRE(::mkfifo((dir() / "fifo").c_str(), 0600) == 0);
  const std::string fifo_cmd = "cd '" + dir().string() + "' && { timeout 60 cat fifo > from_fifo.txt & '" PML_CLI
                               "' gmm predict w.pml data.csv -o fifo 2> err.txt; code=$?; wait; exit $code; }";
  const int status = std::system(fifo_cmd.c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(fs::is_fifo(dir() / "fifo"));
  CHECK(slurp(dir() / "from_fifo.txt") == reference.out);
  // a symbolic link: the target is written, the link stays a link; model files too
  fs::create_directories(dir() / "real");
  for (const char* name : {"out_link.csv", "model_link.pml"}) fs::remove(dir() / name, ec);
  fs::create_symlink("real/out.csv", dir() / "out_link.csv");
  fs::create_symlink("real/model.pml", dir() / "model_link.pml");
  REQUIRE(run_pml("gmm predict w.pml data.csv -o out_link.csv").code == 0);
  CHECK(fs::is_symlink(dir() / "out_link.csv"));
  CHECK(slurp(dir() / "real" / "out.csv") == reference.out);
  REQUIRE(run_pml("gmm fit data.csv --components 2 --seed 1 -o model_link.pml").code == 0);
  CHECK(fs::is_symlink(dir() / "model_link.pml"));
  CHECK(slurp(dir() / "real" / "model.pml") == slurp(dir() / "w.pml"));
  // models are saved by the same rules: to standard output directly, to a device with its error
  r = run_pml("gmm fit data.csv --components 2 --seed 1 -o /dev/stdout");
  CHECK(r.code == 0);
  CHECK(r.out == slurp(dir() / "w.pml"));
  r = run_pml("gmm fit data.csv --components 2 --seed 1 -o /dev/full");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot write '/dev/full': No space left on device"));
  CHECK(lines_of(r.err) == 1);
  // the input file: refused before any work, the input untouched (also through a link)
  const std::string data_before = slurp(dir() / "data.csv");
  fs::remove(dir() / "data_link.csv", ec);
  fs::create_symlink("data.csv", dir() / "data_link.csv");
  for (const char* args : {"gmm predict w.pml data.csv -o data.csv", "gmm predict w.pml data.csv -o data_link.csv", "gmm fit data.csv -o data.csv",
                           "gmm predict w.pml data.csv -o w.pml", "vae train --data data.csv -o ./data.csv"}) {
    r = run_pml(args);
    INFO(args << ": " << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("is the input file") && Contains("refusing to overwrite an input"));
    CHECK(lines_of(r.err) == 1);
  }
  CHECK(slurp(dir() / "data.csv") == data_before);
  CHECK(pml::GaussianMixture<double>::load(dir() / "w.pml").means().rows() == 2);
  // a read-only target: refused with the reason and the user's path, contents and mode kept
  write_bytes("readonly.csv", "precious\n");
  fs::permissions(dir() / "readonly.csv", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  r = run_pml("gmm predict w.pml data.csv -o readonly.csv");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot write 'readonly.csv': Permission denied (the file is read-only"));
  CHECK_THAT(r.err, !Contains(".tmp"));
  CHECK(slurp(dir() / "readonly.csv") == "precious\n");
  CHECK(fs::status(dir() / "readonly.csv").permissions() == (fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read));
  r = run_pml("gmm fit data.csv -o readonly.csv");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot write 'readonly.csv': Permission denied"));
  // a missing directory: the user's path and why
  r = run_pml("gmm predict w.pml data.csv -o no/such/out.csv");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot write 'no/such/out.csv': directory 'no/such' does not exist"));
  // a save killed half-way left .NAME.pml-PID-TAG.tmp behind: the next save removes it
  const long pid = dead_pid();
  const fs::path stale = pml::detail::temporary_path(dir() / "saved.pml", pid, 0x0badcafe);
  std::ofstream(stale) << "half a model";
  REQUIRE(run_pml("gmm fit data.csv --components 2 --seed 1 -o saved.pml").code == 0);
  CHECK_FALSE(fs::exists(stale));
  CHECK(slurp(dir() / "saved.pml") == slurp(dir() / "w.pml"));
  for (const auto& entry : fs::directory_iterator(dir())) CHECK(entry.path().filename().string().find(".pml-") == std::string::npos);
}

namespace {
// Every command with the options it must take (beside -h/--help): the contract the help and the parser
// are both made from. An option dropped or renamed by mistake fails here.
struct CommandOptions {
  const char* command;
  std::vector<std::string> options;
};
const std::vector<CommandOptions>& every_command() {
  static const std::vector<CommandOptions> commands = {
      {"gmm fit", {"-o", "--components", "--covariance", "--max-iterations", "--restarts", "--seed", "--delimiter", "--header"}},
      {"gmm predict", {"--proba", "-o", "--delimiter", "--header"}},
      {"gmm score", {"-o", "--delimiter", "--header"}},
      {"gmm sample", {"-n", "--seed", "-o"}},
      {"kmeans fit", {"-o", "--clusters", "--restarts", "--max-iterations", "--init", "--init-steps", "--seed", "--delimiter", "--header"}},
      {"kmeans predict", {"-o", "--delimiter", "--header"}},
      {"vgmm fit", {"-o", "--components", "--weight-prior", "--concentration", "--max-iterations", "--seed", "--delimiter", "--header"}},
      {"vgmm predict", {"--proba", "-o", "--delimiter", "--header"}},
      {"vgmm components", {"-o"}},
      {"pca fit", {"-o", "--components", "--whiten", "--delimiter", "--header"}},
      {"pca transform", {"-o", "--delimiter", "--header"}},
      {"pca inverse", {"-o", "--delimiter", "--header"}},
      {"ppca fit", {"-o", "--components", "--solver", "--seed", "--delimiter", "--header"}},
      {"ppca transform", {"-o", "--delimiter", "--header"}},
      {"ppca score", {"-o", "--delimiter", "--header"}},
      {"ppca sample", {"-n", "--seed", "-o"}},
      {"blr fit", {"-o", "--basis", "--alpha", "--beta", "--fixed", "--delimiter", "--header"}},
      {"blr predict", {"-o", "--delimiter", "--header"}},
      {"blr sample", {"-n", "--seed", "-o", "--delimiter", "--header"}},
      {"mcdropout fit", {"-o", "--targets", "--hidden", "--dropout", "--tau", "--length-scale", "--heteroscedastic", "--init", "--loss", "--epochs",
                         "--batch-size", "--learning-rate", "--seed", "--delimiter", "--header"}},
      {"mcdropout predict", {"--samples", "--seed", "-o", "--delimiter", "--header"}},
      {"cnn fit", {"-o", "--data", "--channels", "--height", "--width", "--classes", "--filters", "--kernel", "--hidden", "--dropout", "--conv-dropout",
                   "--weight-decay", "--epochs", "--batch-size", "--learning-rate", "--limit", "--seed", "--delimiter", "--header"}},
      {"cnn predict", {"--samples", "--seed", "-o", "--delimiter", "--header"}},
      {"bcnn fit", {"-o", "--data", "--channels", "--height", "--width", "--classes", "--filters", "--kernel", "--hidden", "--prior-sigma", "--sampling",
                    "--train-samples", "--epochs", "--batch-size", "--learning-rate", "--limit", "--seed", "--delimiter", "--header"}},
      {"bcnn predict", {"--samples", "--seed", "-o", "--delimiter", "--header"}},
      {"segnet fit", {"-o", "--channels", "--height", "--width", "--classes", "--features", "--dropout", "--weight-decay", "--epochs", "--batch-size",
                      "--learning-rate", "--limit", "--seed", "--delimiter", "--header"}},
      {"segnet predict", {"--samples", "--proba", "--masks", "--png", "--png-images", "--seed", "-o", "--delimiter", "--header"}},
      {"gan fit", {"-o", "--noise", "--generator-hidden", "--discriminator-hidden", "--loss", "--packing", "--minibatch-stddev", "--steps",
                   "--discriminator-steps", "--batch-size", "--learning-rate", "--beta1", "--beta2", "--gradient-penalty", "--end-factor", "--generator-average", "--seed",
                   "--delimiter", "--header"}},
      {"gan sample", {"-n", "--seed", "-o"}},
      {"gan discriminate", {"-o", "--delimiter", "--header"}},
      {"dcgan fit", {"-o", "--data", "--channels", "--height", "--width", "--generator-features", "--discriminator-features", "--noise",
                     "--generator-loss", "--packing", "--minibatch-stddev", "--epochs", "--batch-size", "--learning-rate", "--beta1", "--beta2",
                     "--discriminator-steps", "--gradient-penalty", "--generator-average", "--limit", "--seed", "--delimiter", "--header"}},
      {"infogan fit", {"-o", "--data", "--body", "--noise", "--categorical", "--no-categorical", "--continuous", "--continuous-prior", "--recognition-hidden",
                       "--generator-loss", "--channels", "--height", "--width", "--generator-features", "--discriminator-features", "--generator-hidden",
                       "--discriminator-hidden", "--epochs", "--batch-size", "--generator-learning-rate", "--discriminator-learning-rate", "--beta1",
                       "--beta2", "--categorical-weight", "--continuous-weight", "--limit", "--seed", "--delimiter", "--header"}},
      {"infogan sample", {"-n", "--code", "--png", "--columns", "--seed", "-o"}},
      {"infogan codes", {"-o", "--delimiter", "--header"}},
      {"dcgan sample", {"-n", "--truncation", "--png", "--columns", "--seed", "-o"}},
      {"dcgan discriminate", {"-o", "--delimiter", "--header"}},
      {"forecast fit", {"-o", "--method", "--window", "--hidden", "--differencing", "--dropout", "--prior-sigma", "--epochs", "--batch-size",
                        "--learning-rate", "--seed", "--delimiter", "--header"}},
      {"forecast predict", {"--horizon", "--samples", "--level", "--seed", "-o", "--delimiter", "--header"}},
      {"vae train", {"-o", "--data", "--latent", "--hidden", "--init", "--epochs", "--batch-size", "--learning-rate", "--limit", "--seed", "--delimiter", "--header"}},
      {"vae sample", {"-n", "--seed", "-o"}},
      {"vae encode", {"-o", "--delimiter", "--header"}},
  };
  return commands;
}
// The options a command's --help lists (lines "  --name METAVAR  help"), and whether each takes a value.
std::vector<std::pair<std::string, bool>> listed_options(const std::string& help) {
  std::vector<std::pair<std::string, bool>> out;
  std::istringstream in(help);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  -", 0) != 0) continue;
    std::istringstream words(line);
    std::string name, next;
    words >> name >> next;
    if (name == "-h,") continue;  // -h, --help
    out.emplace_back(name, !next.empty() && std::isupper(static_cast<unsigned char>(next[0])) != 0);
  }
  return out;
}
}  // namespace

TEST_CASE("pml: every command's help lists exactly the options its parser takes, with an example", "[cli][help]") {
  const std::string top = run_pml("--help").out;
  for (const auto& [command, options] : every_command()) {
    INFO(command);
    const std::string name = command, family = name.substr(0, name.find(' '));
    CHECK_THAT(top, Contains("\n  " + family + " "));
    CHECK_THAT(run_pml(family + " --help").out, Contains("pml " + name + " "));
    const Run help = run_pml(name + " --help");
    REQUIRE(help.code == 0);
    CHECK(help.err.empty());
    CHECK_THAT(help.out, Contains("usage: pml " + name));
    CHECK_THAT(help.out, Contains("\nexample: pml " + name + " "));
    CHECK_THAT(help.out, Contains("-h, --help"));
    // the help lists the options the command must take, and no others
    const auto listed = listed_options(help.out);
    std::vector<std::string> names;
    for (const auto& option : listed) names.push_back(option.first);
    std::vector<std::string> expected = options, sorted_names = names;
    std::sort(expected.begin(), expected.end());
    std::sort(sorted_names.begin(), sorted_names.end());
    CHECK(sorted_names == expected);
    // and the parser takes each one the help lists: a value option given last needs its value; a flag is
    // accepted (the command then stops at its missing arguments)
    for (const auto& [option, takes_value] : listed) {
      INFO(option);
      const Run r = run_pml(name + " " + option);
      CHECK(r.code == 2);
      CHECK(lines_of(r.err) == 1);
      CHECK_THAT(r.err, !Contains("unknown option"));
      if (takes_value) CHECK_THAT(r.err, Contains("pml " + name + ": option " + option + " needs a value"));
    }
    // an option it does not take: one line naming the command and the option, exit 2
    const Run unknown = run_pml(name + " --no-such-option 3");
    CHECK(unknown.code == 2);
    CHECK(unknown.err == "pml " + name + ": unknown option '--no-such-option' (see pml " + name + " --help)\n");
  }
}

TEST_CASE("pml: --name=value, repeated options, flags given values, and -- before positionals", "[cli][errors]") {
  pml::io::write_csv(dir() / "forms.csv", blobs());
  // --name=value is --name value; the last of a repeated option wins
  REQUIRE(run_pml("kmeans fit forms.csv --clusters=3 --seed=4 -o forms1.pml").code == 0);
  REQUIRE(run_pml("kmeans fit forms.csv --clusters 2 --clusters 3 --seed 4 -o forms2.pml").code == 0);
  CHECK(pml::KMeans<double>::load(dir() / "forms1.pml").centres() == pml::KMeans<double>::load(dir() / "forms2.pml").centres());
  CHECK(pml::KMeans<double>::load(dir() / "forms1.pml").centres().rows() == 3);
  // integers are decimal (CLI11 2.1's own conversion reads 010 as octal, -1 as 2^64 - 1 and clamps at 2^63)
  REQUIRE(run_pml("kmeans fit forms.csv --clusters 010 -o forms5.pml").code == 0);
  CHECK(pml::KMeans<double>::load(dir() / "forms5.pml").centres().rows() == 10);
  CHECK_THAT(run_pml("kmeans fit forms.csv --clusters 0x3 -o forms6.pml").err, Contains("option --clusters needs an integer, got '0x3'"));
  // a flag takes no value
  const Run flag = run_pml("gmm predict forms1.pml forms.csv --proba=yes");
  CHECK(flag.code == 2);
  CHECK_THAT(flag.err, Contains("option --proba takes no value"));
  CHECK(lines_of(flag.err) == 1);
  // after --, words are positionals even when they start with a dash
  fs::copy_file(dir() / "forms.csv", dir() / "-dash.csv", fs::copy_options::overwrite_existing);
  CHECK(run_pml("kmeans fit --clusters 2 -o forms3.pml -- -dash.csv").code == 0);
  const Run surplus = run_pml("kmeans fit -o forms3.pml -- forms.csv --clusters");
  CHECK(surplus.code == 2);
  CHECK_THAT(surplus.err, Contains("expected DATA.csv, got 2 arguments"));
  // a bad value is reported even when a later option is fine, naming the option and the value
  const Run bad = run_pml("gmm fit forms.csv --restarts 2x --seed 1 -o forms4.pml");
  CHECK(bad.code == 2);
  CHECK(bad.err == "pml gmm fit: option --restarts needs an integer, got '2x' (see pml gmm fit --help)\n");
  // -o needs a file name; the model families without the command say so
  CHECK_THAT(run_pml("gmm fit forms.csv -o ''").err, Contains("option -o needs a file name"));
  CHECK_THAT(run_pml("gmm --bogus").err, Contains("pml gmm: unknown command '--bogus' (fit, predict, score, sample)"));
  const Run family = run_pml("gmm");
  CHECK(family.code == 2);
  CHECK_THAT(family.out, Contains("pml gmm fit DATA.csv -o MODEL"));
}
