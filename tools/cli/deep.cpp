// pml mcdropout, pml cnn, pml bcnn, pml segnet, pml forecast, pml vae, pml gan, pml dcgan, pml infogan: the networks trained by minibatch Adam, with progress on standard error.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <unistd.h>

#include <pml/io/idx.hpp>
#include <pml/io/png.hpp>
#include <pml/metrics/uncertainty.hpp>
#include <pml/models/deep/bayesian_cnn.hpp>
#include <pml/models/deep/bayesian_segnet.hpp>
#include <pml/models/deep/dcgan.hpp>
#include <pml/models/deep/gan.hpp>
#include <pml/models/deep/infogan.hpp>
#include <pml/models/deep/lstm_forecaster.hpp>
#include <pml/models/deep/mc_dropout.hpp>
#include <pml/models/deep/mc_dropout_classifier.hpp>
#include <pml/models/deep/vae.hpp>

#include "common.hpp"

namespace pml::cli {
namespace {

/// Training progress on standard error: a bar redrawn in place with the loss and the time left on an
/// interactive terminal; a plain line per epoch otherwise (logs, pipes, CI).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const char* label) : label_(label), tty_(isatty(2) != 0), start_(std::chrono::steady_clock::now()) {}
  void operator()(const TrainingProgress& p) {
    const double done = (double(p.epoch) + double(p.batch + 1) / double(p.batches)) / double(p.epochs);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double left = done > 0 ? elapsed * (1 - done) / done : 0;
    const bool epoch_end = p.batch + 1 == p.batches;
    if (tty_) {
      const int width = 30, filled = static_cast<int>(done * width);
      std::fprintf(stderr, "\r%s epoch %d/%d [%s%s] %3.0f%%  %s %.4g  %.0f s left ", label_, p.epoch + 1, p.epochs, std::string(std::size_t(filled), '#').c_str(),
                   std::string(std::size_t(width - filled), '.').c_str(), 100 * done, "loss", p.mean_loss, left);
      if (epoch_end && p.epoch + 1 == p.epochs) std::fprintf(stderr, "\n");
    } else if (epoch_end && ((p.epoch + 1) % std::max(1, p.epochs / 20) == 0 || p.epoch + 1 == p.epochs)) {  // about 20 lines
      std::fprintf(stderr, "%s epoch %d/%d: loss %.6g per row, %.1f s elapsed, about %.0f s left\n", label_, p.epoch + 1, p.epochs, p.mean_loss, elapsed, left);
    }
  }

 private:
  const char* label_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

/// --epochs, --batch-size and --learning-rate, with the command's defaults.
struct Training {
  Arg<int> epochs;
  Arg<Eigen::Index> batch_size;
  Arg<double> learning_rate;

  Training(Command& c, int epochs_default, Eigen::Index batch_default, double rate_default)
      : epochs(c.integer("--epochs", "N", "passes over the data", epochs_default, 1)),
        batch_size(c.integer<Eigen::Index>("--batch-size", "B", "minibatch size", batch_default, 1)),
        learning_rate(c.real("--learning-rate", "R", "Adam's learning rate", rate_default, kPositive)) {}

  /// The model's FitOptions, reporting progress as `label`.
  FitOptions options(const char* label) const {
    FitOptions f;
    f.epochs = *epochs;
    f.batch_size = *batch_size;
    f.learning_rate = *learning_rate;
    f.progress = ProgressDisplay(label);
    return f;
  }
};

void add_mcdropout(Tool& tool) {
  Family& mcdropout = tool.family("mcdropout", "MC dropout regression with predictive sd (Gal & Ghahramani 2016)");
  {
    Command& c = mcdropout.command("fit", "train a dropout network and save it",
                                   "Trains a dropout network on DATA.csv, whose last K columns are the targets and the others the inputs.",
                                   "pml mcdropout fit xy.csv --hidden 64,64 --dropout 0.1 --tau 100 --epochs 400 -o net.pml");
    const auto data = c.input("DATA.csv", "inputs and, in the last K columns, the targets");
    const auto model = c.model_output();
    const auto targets = c.integer<Eigen::Index>("--targets", "K", "number of target columns at the right", 1, 1);
    const auto hidden = c.sizes("--hidden", "LIST", "hidden layer sizes, comma-separated", "50,50");
    const auto dropout = c.real("--dropout", "P", "dropout probability", 0.05, kProbability);
    const auto tau = c.real("--tau", "T", "observation precision 1/sigma^2", 1.0, kPositive);
    const auto length_scale = c.real("--length-scale", "L", "prior length-scale; weight decay l^2 (1 - p) / (2 N tau)", 0.01, kPositive);
    const auto heteroscedastic = c.flag("--heteroscedastic", "also learn the noise variance per input (Kendall & Gal 2017)");
    const auto init = c.choice("--init", "SCHEME", "how the initial weights are drawn, not stored in the model file (automatic: He normal for ReLU hidden layers, Xavier uniform otherwise)",
                               MCDropoutOptions{}.init);
    const auto loss = c.choice("--loss", "FORM", "the objective without --heteroscedastic (half_squared_error: the paper's; mean_squared_error: Gal's Keras code)",
                               MCDropoutOptions{}.loss);
    const Training training(c, 100, 32, 1e-3);
    const auto seed = c.seed();
    const auto csv = c.csv();
    // under mpirun: each rank reads and trains on its share, --batch-size rows per rank (docs/scaling.md)
    c.sharded("and trains on the rows of each minibatch it holds, --batch-size B rows per rank (P x B a step); each row's dropout masks "
              "are drawn from its position, so P ranks of B train as mpirun -np 1 with --batch-size P x B does, to rounding (a run "
              "without mpirun draws its masks in sequence and differs)");
    c.action([=] {
      const Collective& r = ranks();
      Eigen::Index rows = 0;
      const Eigen::MatrixXd table = read_shard(*data, *csv, rows);
      const Eigen::Index width = pml::detail::shared_columns(r, "pml mcdropout fit", table.rows(), table.cols());
      const Eigen::Index k = *targets;
      if (k >= width)
        throw std::runtime_error("'" + *data + "' has " + std::to_string(width) + " columns: not enough for " + std::to_string(k) +
                                 " target column(s) and at least one input");
      MCDropoutOptions o;
      o.input = width - k;
      o.output = k;
      o.hidden = *hidden;
      check_network(o.hidden, o.input, 2 * k, sizeof(double));
      o.dropout = *dropout;
      o.tau = *tau;
      o.length_scale = *length_scale;
      o.heteroscedastic = *heteroscedastic;
      o.init = *init;
      o.loss = *loss;
      Rng rng(*seed);
      MCDropoutRegressor<double> m(o, rng);
      FitOptions options = training.options("mcdropout");
      const Eigen::MatrixXd x = table.rows() > 0 ? Eigen::MatrixXd(table.leftCols(o.input)) : Eigen::MatrixXd(0, o.input);
      const Eigen::MatrixXd y = table.rows() > 0 ? Eigen::MatrixXd(table.rightCols(k)) : Eigen::MatrixXd(0, k);
      if (!under_mpi()) m.fit(x, y, options, rng);
      else {  // (one rank too: the data-parallel fit, as on P)
        if (!lead()) options.progress = {};
        m.fit(r, x, y, options, rng);  // --batch-size rows per rank
      }
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "trained MC dropout %ld-...-%ld on %ld rows%s: final loss %.6g; saved %s\n", long(o.input), long(k), long(rows),
                   r.size() > 1 ? (" on " + std::to_string(r.size()) + " ranks").c_str() : "", double(m.loss_history().back()), model->c_str());
    });
  }
  {
    Command& c = mcdropout.command("predict", "the predictive mean and sd from stochastic passes",
                                   "Writes the predictive mean and standard deviation of each target from T stochastic passes (columns mean0, sd0, "
                                   "aleatoric_sd0, epistemic_sd0, ...). DATA.csv holds the inputs only.",
                                   "pml mcdropout predict net.pml x.csv --samples 200");
    const auto model = c.input("MODEL", "a model saved by pml mcdropout fit");
    const auto data = c.input("DATA.csv", "the inputs, one row per prediction");
    const auto samples = c.integer("--samples", "T", "stochastic forward passes", 100, 1);
    const auto seed = c.seed();
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      auto m = MCDropoutRegressor<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.options().input);
      Rng rng(*seed);
      const auto p = m.predict(x, *samples, rng);
      const Eigen::Index k = p.mean.cols();
      Eigen::MatrixXd table(x.rows(), 4 * k);
      std::vector<std::string> columns;
      for (Eigen::Index j = 0; j < k; ++j) {
        table.col(4 * j) = p.mean.col(j);
        table.col(4 * j + 1) = p.variance.col(j).cwiseSqrt();
        table.col(4 * j + 2) = p.aleatoric.col(j).cwiseSqrt();
        table.col(4 * j + 3) = p.epistemic.col(j).cwiseSqrt();
        for (const char* column : {"mean", "sd", "aleatoric_sd", "epistemic_sd"}) columns.push_back(column + std::to_string(j));
      }
      emit(*out, table, columns);
    });
  }
}

/// Images and labels for pml cnn: Fashion-MNIST (training or test part) or a CSV whose last column is the label.
void read_images(const std::string& source, bool test, const io::CsvOptions& csv, Eigen::Index width, Eigen::MatrixXf& x, IntVector& y) {
  if (source == "fashion-mnist") {
    auto data = io::load_fashion_mnist<float>();
    x = test ? data.test_images : data.train_images;
    y = test ? data.test_labels : data.train_labels;
    return;
  }
  const Eigen::MatrixXd table = read_data(source, csv);
  if (table.cols() != width + 1)
    throw std::runtime_error("'" + source + "' has " + std::to_string(table.cols()) + " columns; expected " + std::to_string(width) +
                             " pixel columns (C x H x W) and a label column");
  x = table.leftCols(width).cast<float>();
  y.resize(table.rows());
  for (Eigen::Index i = 0; i < table.rows(); ++i) {
    const double label = table(i, width);
    if (label != std::floor(label) || label < 0 || label > 1e9)
      throw std::runtime_error("'" + source + "' row " + std::to_string(i + 1) + ": the label " + std::to_string(label) + " is not a class index");
    y(i) = static_cast<long>(label);
  }
}

/// pml cnn predict and pml bcnn predict: per image the mean class probabilities of T stochastic passes,
/// the predictive entropy, BALD and the most probable class.
template <class Model>
void predict_images(const Model& m, const std::string& data, int samples, std::uint64_t seed, const std::string& out, const io::CsvOptions& csv) {
  const Eigen::Index width = m.input_size();
  Eigen::MatrixXf x;
  if (data == "fashion-mnist") {
    IntVector unused;
    read_images(data, true, csv, width, x, unused);
  } else {
    const Eigen::MatrixXd table = read_data(data, csv);
    if (table.cols() != width && table.cols() != width + 1)
      throw std::runtime_error("'" + data + "' has " + std::to_string(table.cols()) + " columns; the model takes images of " +
                               std::to_string(width) + " pixels (and an optional label column)");
    x = table.leftCols(width).cast<float>();
  }
  Rng rng(seed);
  const auto passes = m.sample_proba(x, samples, rng);
  const Eigen::MatrixXf p = metrics::mean_probabilities(passes);
  const Eigen::VectorXf entropy = metrics::predictive_entropy(passes), bald = metrics::mutual_information(passes);
  const Eigen::Index k = p.cols();
  Eigen::MatrixXd table(x.rows(), k + 3);
  table.leftCols(k) = p.cast<double>();
  table.col(k) = entropy.cast<double>();
  table.col(k + 1) = bald.cast<double>();
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    Eigen::Index best = 0;
    p.row(i).maxCoeff(&best);
    table(i, k + 2) = double(best);
  }
  std::vector<std::string> columns = names("p", k);
  for (const char* column : {"entropy", "bald", "label"}) columns.push_back(column);
  emit(out, table, columns);
}

/// "CxHxW".
std::string shape_text(Eigen::Index c, Eigen::Index h, Eigen::Index w) { return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w); }

/// Training images and labels for a convolutional model of input width C·H·W: Fashion-MNIST's training set
/// or a CSV of pixel columns and a label column; --limit keeps the first rows.
void read_training_images(const std::string& source, const io::CsvOptions& csv, Eigen::Index width, const std::string& shape,
                          const std::optional<Eigen::Index>& limit, Eigen::MatrixXf& x, IntVector& y) {
  read_images(source, false, csv, width, x, y);
  if (x.cols() != width)
    throw std::runtime_error("'" + source + "' has images of " + std::to_string(x.cols()) + " pixels, not " + shape);
  if (limit && *limit < x.rows()) {
    x.conservativeResize(*limit, Eigen::NoChange);
    y.conservativeResize(*limit);
  }
}

/// read_training_images() under mpirun: this rank's share of the images and labels (Fashion-MNIST's IDX files
/// or a CSV, each rank converting only its own rows); --limit keeps the first N images of the whole set.
/// `total` receives the images of all ranks. An error on any rank is thrown on every rank.
void read_training_shard(const std::string& source, const io::CsvOptions& csv, Eigen::Index width, const std::string& shape,
                         const std::optional<Eigen::Index>& limit, Eigen::MatrixXf& x, IntVector* y, Eigen::Index& total) {
  const Collective& r = ranks();
  Eigen::Index offset = 0;  // the global index of this rank's first image
  auto place = [&] {
    const std::vector<Index> counts = pml::detail::all_counts(r, x.rows());
    offset = total = 0;
    for (std::size_t k = 0; k < counts.size(); ++k) {
      if (int(k) < r.rank()) offset += counts[k];
      total += counts[k];
    }
  };
  if (source == "fashion-mnist") {
    auto data = io::load_fashion_mnist<float>(r);
    x = std::move(data.train_images);
    if (y) *y = std::move(data.train_labels);
    pml::detail::agree(r, [&] {
      if (x.cols() != width) throw std::runtime_error("'" + source + "' has images of " + std::to_string(x.cols()) + " pixels, not " + shape);
    });
    place();
  } else {
    Eigen::Index rows = 0;
    const Eigen::MatrixXd table = read_shard(source, csv, rows);
    const Eigen::Index cols = pml::detail::shared_columns(r, ("'" + source + "'").c_str(), table.rows(), table.cols());
    x.resize(table.rows(), width);
    place();
    pml::detail::agree(r, [&] {
      if (y ? cols != width + 1 : cols != width && cols != width + 1)
        throw std::runtime_error("'" + source + "' has " + std::to_string(cols) + " columns; expected " + std::to_string(width) + " pixel columns (" + shape +
                                 (y ? ") and a label column" : ") and an optional label column"));
      if (y) y->resize(0);
      if (table.rows() == 0) return;
      x = table.leftCols(width).cast<float>();
      if (!y) return;
      y->resize(table.rows());
      for (Eigen::Index i = 0; i < table.rows(); ++i) {
        const double label = table(i, width);
        if (label != std::floor(label) || label < 0 || label > 1e9)
          throw std::runtime_error("'" + source + "' row " + std::to_string(offset + i + 1) + ": the label " + std::to_string(label) + " is not a class index");
        (*y)(i) = static_cast<long>(label);
      }
    });
  }
  if (limit && *limit < total) {  // the first N images of the whole set: this rank's part of them
    const Eigen::Index keep = std::clamp<Eigen::Index>(*limit - offset, 0, x.rows());
    x.conservativeResize(keep, Eigen::NoChange);
    if (y) y->conservativeResize(keep);
    total = *limit;
  }
}

/// The sentence the help of a data-parallel image fit adds about its ranks.
constexpr const char* kImagesOnRanks =
    "(each its part of Fashion-MNIST's IDX files, or of the CSV) and trains on the images of each minibatch it holds, --batch-size B images "
    "per rank (P x B a step); each image's noise is drawn from its position, so P ranks of B train as mpirun -np 1 with --batch-size P x B "
    "does, to rounding (a run without mpirun draws its noise in sequence and differs)";

void add_cnn(Tool& tool) {
  Family& cnn = tool.family("cnn", "MC dropout convolutional classifier (LeNet-style; Gal & Ghahramani 2016)");
  {
    Command& c = cnn.command("fit", "train a convolutional classifier and save it",
                             "Trains a LeNet-style network (convolution, ReLU and 2x2 max pooling blocks, dense layers, dropout) on images "
                             "and labels: Fashion-MNIST's training set, or a CSV of C x H x W pixel columns and a last label column.",
                             "pml cnn fit --data fashion-mnist --epochs 3 --limit 20000 -o cnn.pml");
    const auto model = c.model_output();
    const auto source = c.text("--data", "SOURCE", "fashion-mnist (Debian's dataset-fashion-mnist) or a CSV file", "fashion-mnist", true);
    const auto channels = c.integer<Eigen::Index>("--channels", "C", "image channels", 1, 1, 4096);
    const auto height = c.integer<Eigen::Index>("--height", "H", "image height in pixels", 28, 1, 4096);
    const auto width = c.integer<Eigen::Index>("--width", "W", "image width in pixels", 28, 1, 4096);
    const auto classes = c.integer<Eigen::Index>("--classes", "K", "number of classes", 10, 2, 1 << 20);
    const auto filters = c.sizes("--filters", "LIST", "output channels of each convolution block, comma-separated", "20,50");
    const auto kernel = c.integer<Eigen::Index>("--kernel", "K", "convolution kernel size", 5, 1, 255);
    const auto hidden = c.sizes("--hidden", "LIST", "dense hidden layer sizes, comma-separated", "500");
    const auto dropout = c.real("--dropout", "P", "dropout before every dense layer but the first (kept on at prediction)", 0.5, kProbability);
    const auto conv_dropout = c.real("--conv-dropout", "P", "dropout after every convolution block", 0.0, kProbability);
    const auto decay = c.real("--weight-decay", "L", "L2 weight decay on the weights", 5e-4, kNonNegative);
    const Training training(c, 3, 128, 1e-3);
    const auto limit = c.optional_integer("--limit", "N", "use only the first N training rows", "all", 1);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.sharded(kImagesOnRanks);
    c.action([=] {
      MCDropoutClassifierOptions o;
      o.channels = *channels;
      o.height = *height;
      o.width = *width;
      o.classes = *classes;
      o.filters = *filters;
      o.kernel = *kernel;
      o.hidden = *hidden;
      o.dropout = *dropout;
      o.conv_dropout = *conv_dropout;
      o.weight_decay = *decay;
      Rng rng(*seed);
      MCDropoutClassifier<float> m(o, rng);  // checks the shapes before the data is read
      Eigen::MatrixXf x;
      IntVector y;
      Eigen::Index total = 0;
      FitOptions options = training.options("cnn");
      if (!under_mpi()) {
        read_training_images(*source, *csv, m.input_size(), shape_text(o.channels, o.height, o.width), *limit, x, y);
        total = x.rows();
        m.fit(x, y, options, rng);
      } else {  // (one rank too: the data-parallel fit, as on P)
        read_training_shard(*source, *csv, m.input_size(), shape_text(o.channels, o.height, o.width), *limit, x, &y, total);
        if (!lead()) options.progress = {};
        m.fit(ranks(), x, y, options, rng);  // --batch-size images per rank
      }
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "trained an MC dropout CNN on %ld images%s: final cross-entropy %.6g per image; saved %s\n", long(total),
                   ranks().size() > 1 ? (" on " + std::to_string(ranks().size()) + " ranks").c_str() : "", double(m.loss_history().back()), model->c_str());
    });
  }
  {
    Command& c = cnn.command("predict", "class probabilities, entropy and BALD from stochastic passes",
                             "Writes, for each image, the MC dropout class probabilities (p0 ... pK-1, the mean of T passes with dropout on), "
                             "the predictive entropy, the mutual information (BALD) and the most probable class. DATA is fashion-mnist "
                             "(its test set) or a CSV of pixel columns with or without a last label column.",
                             "pml cnn predict cnn.pml fashion-mnist --samples 50 -o predictions.csv");
    const auto model = c.input("MODEL", "a model saved by pml cnn fit");
    const auto data = c.input("DATA", "fashion-mnist or a CSV of images, one per row");
    const auto samples = c.integer("--samples", "T", "stochastic forward passes", 50, 1);
    const auto seed = c.seed();
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] { predict_images(MCDropoutClassifier<float>::load(*model), *data, *samples, *seed, *out, *csv); });
  }
}

void add_bcnn(Tool& tool) {
  Family& bcnn = tool.family("bcnn", "Bayesian convolutional classifier by Bayes by Backprop (LeNet-5; Shridhar et al. 2019, Blundell et al. 2015)");
  {
    Command& c = bcnn.command("fit", "train a Bayesian CNN and save it",
                             "Trains a LeNet-5-style network whose every weight has a Gaussian posterior N(mu, softplus(rho)^2) (convolution, ReLU "
                             "and 2x2 max pooling blocks, dense layers) by Bayes by Backprop on images and labels: Fashion-MNIST's training set, "
                             "or a CSV of C x H x W pixel columns and a last label column.",
                             "pml bcnn fit --data fashion-mnist --epochs 3 --limit 20000 -o bcnn.pml");
    const auto model = c.model_output();
    const auto source = c.text("--data", "SOURCE", "fashion-mnist (Debian's dataset-fashion-mnist) or a CSV file", "fashion-mnist", true);
    const auto channels = c.integer<Eigen::Index>("--channels", "C", "image channels", 1, 1, 4096);
    const auto height = c.integer<Eigen::Index>("--height", "H", "image height in pixels", 28, 1, 4096);
    const auto width = c.integer<Eigen::Index>("--width", "W", "image width in pixels", 28, 1, 4096);
    const auto classes = c.integer<Eigen::Index>("--classes", "K", "number of classes", 10, 2, 1 << 20);
    const auto filters = c.sizes("--filters", "LIST", "output channels of each convolution block, comma-separated", "6,16");
    const auto kernel = c.integer<Eigen::Index>("--kernel", "K", "convolution kernel size", 5, 1, 255);
    const auto hidden = c.sizes("--hidden", "LIST", "dense hidden layer sizes, comma-separated", "120,84");
    const auto prior_sigma = c.real("--prior-sigma", "S", "sd of the Gaussian prior over every weight", 0.1, kPositive);
    const auto sampling = c.choice("--sampling", "HOW", "how training draws the weights (not mean)", BayesianCNNOptions{}.sampling);
    const auto draws = c.integer("--train-samples", "S", "posterior samples per minibatch in the training objective", 1, 1, 1000);
    const Training training(c, 3, 128, 1e-3);
    const auto limit = c.optional_integer("--limit", "N", "use only the first N training rows", "all", 1);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.sharded(kImagesOnRanks);
    c.action([=] {
      if (*sampling == nn::WeightSampling::mean)
        throw UsageError("option --sampling must be weights, local or flipout for training (mean draws nothing), got 'mean'");
      BayesianCNNOptions o;
      o.channels = *channels;
      o.height = *height;
      o.width = *width;
      o.classes = *classes;
      o.filters = *filters;
      o.kernel = *kernel;
      o.hidden = *hidden;
      o.prior = nn::BayesPrior::gaussian(*prior_sigma);
      o.sampling = *sampling;
      o.samples = *draws;
      Rng rng(*seed);
      BayesianCNN<float> m(o, rng);  // checks the shapes before the data is read
      Eigen::MatrixXf x;
      IntVector y;
      Eigen::Index total = 0;
      FitOptions options = training.options("bcnn");
      if (!under_mpi()) {
        read_training_images(*source, *csv, m.input_size(), shape_text(o.channels, o.height, o.width), *limit, x, y);
        total = x.rows();
        m.fit(x, y, options, rng);
      } else {  // (one rank too: the data-parallel fit, as on P)
        read_training_shard(*source, *csv, m.input_size(), shape_text(o.channels, o.height, o.width), *limit, x, &y, total);
        if (!lead()) options.progress = {};
        m.fit(ranks(), x, y, options, rng);  // --batch-size images per rank
      }
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "trained a Bayesian CNN on %ld images%s: final loss %.6g per image; saved %s\n", long(total),
                   ranks().size() > 1 ? (" on " + std::to_string(ranks().size()) + " ranks").c_str() : "", double(m.loss_history().back()), model->c_str());
    });
  }
  {
    Command& c = bcnn.command("predict", "class probabilities, entropy and BALD from posterior samples",
                             "Writes, for each image, the class probabilities averaged over T weight draws from the posterior (p0 ... pK-1), the "
                             "predictive entropy, the mutual information (BALD) and the most probable class. DATA is fashion-mnist (its test set) "
                             "or a CSV of pixel columns with or without a last label column.",
                             "pml bcnn predict bcnn.pml fashion-mnist --samples 50 -o predictions.csv");
    const auto model = c.input("MODEL", "a model saved by pml bcnn fit");
    const auto data = c.input("DATA", "fashion-mnist or a CSV of images, one per row");
    const auto samples = c.integer("--samples", "T", "posterior samples (one weight draw per pass)", 50, 1);
    const auto seed = c.seed();
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] { predict_images(BayesianCNN<float>::load(*model), *data, *samples, *seed, *out, *csv); });
  }
}

void add_gan(Tool& tool) {
  Family& gan = tool.family("gan", "generative adversarial network on tabular data (Goodfellow et al. 2014), with PacGAN, minibatch stddev and WGAN-GP");
  {
    Command& c = gan.command("fit", "train a GAN and save it",
                             "Trains a GAN of two MLPs on the rows of a CSV (every column is a feature): k discriminator steps, then one "
                             "generator step, on minibatches drawn with replacement, Adam for both. Remedies for mode collapse: --packing M "
                             "(PacGAN, Lin et al. 2018), --minibatch-stddev (Karras et al. 2018), --loss wasserstein_gp (Gulrajani et al. "
                             "2017; its recipe: --discriminator-steps 5 --beta1 0 --beta2 0.9 --learning-rate 1e-4, beta1 0.5 in its toy experiments).",
                             "pml gan fit points.csv --packing 4 --steps 20000 -o gan.pml");
    const auto data = c.input("DATA.csv", "the training rows");
    const auto model = c.model_output();
    const auto noise = c.integer<Eigen::Index>("--noise", "Z", "dimension of the generator's noise z", 2, 1, Eigen::Index(1) << 16);
    const auto g_hidden = c.sizes("--generator-hidden", "LIST", "the generator's hidden layer sizes, comma-separated", "128,128");
    const auto d_hidden = c.sizes("--discriminator-hidden", "LIST", "the discriminator's hidden layer sizes, comma-separated", "128,128");
    const auto loss = c.choice("--loss", "LOSS", "the generator's objective (wasserstein_gp: the critic's too)", GANOptions{}.generator_loss);
    const auto packing = c.integer<Eigen::Index>("--packing", "M", "PacGAN: samples the discriminator judges at once", 1, 1, 1024);
    const auto stddev = c.flag("--minibatch-stddev", "give the discriminator the batch's mean standard deviation as one more input");
    const auto steps = c.integer("--steps", "N", "generator updates", 5000, 1);
    const auto d_steps = c.integer("--discriminator-steps", "K", "discriminator updates before each generator update", 1, 1, 1000);
    const auto batch = c.integer<Eigen::Index>("--batch-size", "B", "rows of data and of noise per update (a multiple of --packing)", 128, 1);
    const auto rate = c.real("--learning-rate", "R", "Adam's step size for both players", 1e-3, kPositive);
    const auto beta1 = c.real("--beta1", "B", "Adam's beta1 for both players", 0.5, kProbability);
    const auto beta2 = c.real("--beta2", "B", "Adam's beta2 for both players", 0.999, kProbability);
    const auto penalty = c.real("--gradient-penalty", "L", "lambda of wasserstein_gp's gradient penalty", 10, kNonNegative);
    const auto end_factor = c.real("--end-factor", "F", "the step size falls linearly to F times itself by the last step (1: constant)", 1, kUnitInterval);
    const auto average = c.real("--generator-average", "B",
                                "beta of a moving average of the generator's weights, which the model keeps (Yazici et al. 2019; 0: none, "
                                "0.999 usual)",
                                0, kProbability);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.sharded("and computes the discriminator's loss for the slots of each update whose drawn row it holds and an even share of the "
              "generator's, --batch-size B slots per rank (P x B an update); each slot's noise is drawn from its position, so P ranks of B "
              "train as mpirun -np 1 with --batch-size P x B does, to rounding (a run without mpirun draws its noise in sequence and differs); "
              "not with --packing or --minibatch-stddev");
    c.action([=] {
      if (*batch % *packing != 0)
        throw UsageError("option --batch-size must be a multiple of --packing (" + std::to_string(*packing) + "), got " + std::to_string(*batch));
      if (*loss == GANLoss::wasserstein_gp && *stddev) throw UsageError("option --minibatch-stddev cannot be used with --loss wasserstein_gp");
      if (under_mpi() && (*packing != 1 || *stddev))
        throw UsageError("options --packing and --minibatch-stddev couple the rows of a batch: under mpirun neither can be used");
      const Collective& r = ranks();
      Eigen::Index rows = 0;
      const Eigen::MatrixXd x = under_mpi() ? read_shard(*data, *csv, rows) : read_data(*data, *csv);
      if (!under_mpi()) rows = x.rows();
      const Eigen::Index width = pml::detail::shared_columns(r, "pml gan fit", x.rows(), x.cols());
      GANOptions o;
      o.noise = *noise;
      o.output = width;
      o.generator_hidden = *g_hidden;
      o.discriminator_hidden = *d_hidden;
      o.generator_loss = *loss;
      o.packing = *packing;
      o.minibatch_stddev = *stddev;
      Rng rng(*seed);
      check_network(*g_hidden, *noise, width, sizeof(float), "--generator-hidden");
      check_network(*d_hidden, width * *packing, 1, sizeof(float), "--discriminator-hidden");
      GAN<float> m(o, rng);
      GANFitOptions f;
      f.steps = *steps;
      f.discriminator_steps = *d_steps;
      f.batch_size = *batch;
      f.generator_learning_rate = f.discriminator_learning_rate = *rate;
      f.beta1 = *beta1;
      f.beta2 = *beta2;
      f.gradient_penalty = *penalty;
      f.end_factor = *end_factor;
      f.generator_average = *average;
      if (!under_mpi()) m.fit(x.cast<float>(), f, rng, std::max(1, *steps / 10));
      else m.fit(r, x.cast<float>(), f, rng, std::max(1, *steps / 10));  // (one rank too: the data-parallel fit, as on P); --batch-size slots per rank
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "trained a GAN on %ld x %ld data%s: last losses D %.6g, G %.6g; saved %s\n", long(rows), long(width),
                   r.size() > 1 ? (" on " + std::to_string(r.size()) + " ranks").c_str() : "", double(m.loss_history().discriminator_loss.back()),
                   double(m.loss_history().generator_loss.back()), model->c_str());
    });
  }
  {
    Command& c = gan.command("sample", "generate rows from noise", "Generates N rows G(z), z ~ N(0, I).", "pml gan sample gan.pml -n 1000 -o samples.csv");
    const auto model = c.input("MODEL", "a model saved by pml gan fit");
    const auto n = c.count("-n", "N", "how many rows");
    const auto seed = c.seed();
    const auto out = c.csv_output();
    c.action([=] {
      const auto m = GAN<float>::load(*model);
      Rng rng(*seed);
      emit(*out, m.sample(rng, row_count(*n, "-n", m.options().output)).cast<double>(), names("x", m.options().output));
    });
  }
  {
    Command& c = gan.command("discriminate", "the discriminator's verdict on rows",
                             "Writes D(x): the probability that each row is real (wasserstein_gp: the critic's score, higher is more real). With "
                             "packing M the rows are judged in packs (rows i, i + N/M, ...; N a multiple of M) and one value per pack is written.",
                             "pml gan discriminate gan.pml points.csv");
    const auto model = c.input("MODEL", "a model saved by pml gan fit");
    const auto data = c.input("DATA.csv", "the rows to judge");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = GAN<float>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.options().output);
      emit(*out, Eigen::MatrixXd(m.discriminate(x.cast<float>()).cast<double>()), {"d"});
    });
  }
}

/// --channels, --height, --width, --generator-features, --discriminator-features: the convolutional GANs' networks.
struct ConvGANShape {
  Arg<Eigen::Index> channels, height, width, generator_features, discriminator_features;
  explicit ConvGANShape(Command& c)
      : channels(c.integer<Eigen::Index>("--channels", "C", "image channels", 1, 1, 4096)),
        height(c.integer<Eigen::Index>("--height", "H", "image height in pixels (a multiple of 4)", 28, 4, 4096)),
        width(c.integer<Eigen::Index>("--width", "W", "image width in pixels (a multiple of 4)", 28, 4, 4096)),
        generator_features(c.integer<Eigen::Index>("--generator-features", "F", "ngf: channels of the generator's last hidden layer", 64, 1, 4096)),
        discriminator_features(c.integer<Eigen::Index>("--discriminator-features", "F", "ndf: channels of the discriminator's first layer", 64, 1, 4096)) {}
  /// Refuses a height or width that is not a multiple of 4 (a usage error).
  void check() const {
    if (*height % 4 != 0) throw UsageError("option --height must be a multiple of 4 (two stride-2 layers), got " + std::to_string(*height));
    if (*width % 4 != 0) throw UsageError("option --width must be a multiple of 4 (two stride-2 layers), got " + std::to_string(*width));
  }
  /// Copies the five sizes into DCGANOptions or InfoGANOptions.
  template <class Options> void set(Options& o) const {
    o.channels = *channels;
    o.height = *height;
    o.width = *width;
    o.generator_features = *generator_features;
    o.discriminator_features = *discriminator_features;
  }
};

/// The training images of a convolutional GAN: Fashion-MNIST's training set, or a CSV of C x H x W pixel
/// columns and an optional label column; --limit keeps the first rows.
Eigen::MatrixXf read_gan_images(const std::string& source, const io::CsvOptions& csv, Eigen::Index c, Eigen::Index h, Eigen::Index w,
                                const std::optional<Eigen::Index>& limit) {
  const Eigen::Index pixels = c * h * w;
  Eigen::MatrixXf x;
  if (source == "fashion-mnist") {
    IntVector unused;
    read_images(source, false, csv, pixels, x, unused);
  } else {
    const Eigen::MatrixXd table = read_data(source, csv);
    if (table.cols() != pixels && table.cols() != pixels + 1)
      throw std::runtime_error("'" + source + "' has " + std::to_string(table.cols()) + " columns; expected " + std::to_string(pixels) + " pixel columns (" +
                               shape_text(c, h, w) + ") and an optional label column");
    x = table.leftCols(pixels).cast<float>();
  }
  if (x.cols() != pixels) throw std::runtime_error("'" + source + "' has images of " + std::to_string(x.cols()) + " pixels, not " + shape_text(c, h, w));
  if (limit && *limit < x.rows()) x.conservativeResize(*limit, Eigen::NoChange);
  return x;
}

/// Refuses a --png path that names the model file or the -o output (a usage error).
void check_png_target(const std::string& png, const std::string& model, const std::string& out, const std::vector<std::string>& inputs = {}) {
  if (png.empty()) return;
  const auto same = [](const std::string& a, const std::string& b) {
    std::error_code ec;  // absolute first: weakly_canonical leaves a relative path with no existing prefix relative
    return !b.empty() && std::filesystem::weakly_canonical(std::filesystem::absolute(a, ec), ec) == std::filesystem::weakly_canonical(std::filesystem::absolute(b, ec), ec);
  };
  if (same(png, model)) throw UsageError("option --png names the model file '" + model + "'");
  if (same(png, out)) throw UsageError("option --png and -o name the same file '" + png + "'");
  for (const auto& input : inputs)
    if (same(png, input)) throw UsageError("option --png names the input '" + input + "': refusing to overwrite an input");
  // the PNG is written after the CSV: a directory that cannot hold it must stop the command before anything is written
  const std::filesystem::path parent = std::filesystem::absolute(png).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec))
    throw std::runtime_error("cannot write the --png file '" + png + "': directory '" + parent.string() + "' does not exist");
}

/// Images as float: a value beyond float's range is refused naming the file, its data row and column.
Eigen::MatrixXf float_images(const std::string& path, const Eigen::MatrixXd& table) {
  for (Eigen::Index i = 0; i < table.rows(); ++i)
    for (Eigen::Index j = 0; j < table.cols(); ++j)
      if (std::abs(table(i, j)) > double(std::numeric_limits<float>::max())) {
        std::ostringstream text;
        text.precision(17);
        text << table(i, j);
        throw std::runtime_error("'" + path + "' data row " + std::to_string(i + 1) + ", column " + std::to_string(j + 1) + ": " + text.str() +
                                 " is beyond float's range (the network computes in float)");
      }
  return table.cast<float>();
}

/// The rows of a CSV for a model of input width `width` (an optional last label column dropped), as float (a
/// value beyond float's range refused); `takes` says what the model takes, for the error.
Eigen::MatrixXf read_labelled_rows(const std::string& path, const io::CsvOptions& csv, Eigen::Index width, const std::string& takes) {
  const Eigen::MatrixXd table = read_data(path, csv);
  if (table.cols() != width && table.cols() != width + 1)
    throw std::runtime_error("'" + path + "' has " + std::to_string(table.cols()) + " columns; the model takes " + takes + " (and an optional label column)");
  return float_images(path, table.leftCols(width));
}

/// The masks of pml segnet fit: H·W class indices per row; the error names the file, its data row and pixel.
Eigen::MatrixXf read_masks(const std::string& path, const io::CsvOptions& csv, Eigen::Index pixels, Eigen::Index h, Eigen::Index w, Eigen::Index classes = 1 << 16) {
  const Eigen::MatrixXd table = read_data(path, csv);
  if (table.cols() != pixels)
    throw std::runtime_error("'" + path + "' has " + std::to_string(table.cols()) + " columns; expected " + std::to_string(pixels) + " (one class index per pixel of " +
                             std::to_string(h) + "x" + std::to_string(w) + ")");
  for (Eigen::Index i = 0; i < table.rows(); ++i)
    for (Eigen::Index j = 0; j < pixels; ++j) {
      const double v = table(i, j);
      if (v != std::floor(v) || v < 0 || v >= double(classes)) {
        std::ostringstream text;
        text.precision(17);
        text << v;
        throw std::runtime_error("'" + path + "' row " + std::to_string(i + 1) + ", pixel " + std::to_string(j + 1) + ": " + text.str() +
                                 (v == std::floor(v) && v >= double(classes) ? " is beyond the classes 0.." + std::to_string(classes - 1)
                                                                            : std::string(" is not a class index (0, 1, ...)")));
      }
    }
  return table.cast<float>();
}

void add_segnet(Tool& tool) {
  Family& segnet = tool.family("segnet", "Bayesian SegNet: per-pixel classes with MC dropout uncertainty (Kendall et al. 2017)");
  {
    Command& c = segnet.command("fit", "train a Bayesian SegNet and save it",
                                "Trains a small SegNet encoder-decoder (3x3 convolutions, batch normalisation, ReLU, 2x2 max pooling whose indices "
                                "the decoder's max-unpooling reuses; dropout in the central layers, kept on at prediction) by Adam on the per-pixel "
                                "softmax cross-entropy. IMAGES.csv holds one image per row (C x H x W values, channel by channel, row by row; "
                                "an extra last column is ignored as a label); "
                                "MASKS.csv the same number of rows of H x W class indices 0, 1, ..., K-1. H and W must be multiples of 2^L for L "
                                "levels of --features. examples/bayesian_segnet_shapes --write-csv PREFIX writes such a pair.",
                                "pml segnet fit shapes_images.csv shapes_masks.csv --height 32 --width 32 --epochs 8 -o segnet.pml");
    const auto images = c.input("IMAGES.csv", "the images, one per row (C x H x W columns)");
    const auto masks = c.input("MASKS.csv", "their class masks, one per row (H x W columns of class indices)");
    const auto model = c.model_output();
    const auto channels = c.integer<Eigen::Index>("--channels", "C", "image channels", 1, 1, 4096);
    const auto height = c.integer<Eigen::Index>("--height", "H", "image height in pixels (a multiple of 2^levels)", 32, 1, 4096);
    const auto width = c.integer<Eigen::Index>("--width", "W", "image width in pixels (a multiple of 2^levels)", 32, 1, 4096);
    const auto classes = c.optional_integer("--classes", "K", "pixel classes (2 to 65536)", "the largest mask value + 1", 2);
    const auto features = c.sizes("--features", "LIST", "channels of each encoder level, comma-separated (the decoder mirrors them)", "16,32");
    const auto dropout = c.real("--dropout", "P", "dropout of the central layers (kept on at prediction)", 0.5, kProbability);
    const auto decay = c.real("--weight-decay", "L", "L2 weight decay on the convolution weights", 5e-4, kNonNegative);
    const Training training(c, 8, 32, 2e-3);
    const auto limit = c.optional_integer("--limit", "N", "use only the first N images", "all", 1);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.action([=] {
      if (*training.batch_size < 2) throw UsageError("option --batch-size must be at least 2 (batch normalisation), got " + std::to_string(*training.batch_size));
      const Eigen::Index pixels = *height * *width;
      const Eigen::Index step = Eigen::Index(1) << std::min<std::size_t>(features->size(), 40);
      if (*height % step != 0 || *width % step != 0)
        throw UsageError("options --height and --width must be multiples of 2^" + std::to_string(features->size()) + " (one 2x2 pooling per level of --features), got " +
                         std::to_string(*height) + "x" + std::to_string(*width));
      Eigen::MatrixXf x = read_labelled_rows(*images, *csv, *channels * pixels, shape_text(*channels, *height, *width) + " images");
      if (*classes && **classes > (1 << 16)) throw UsageError("option --classes must be at most 65536, got " + std::to_string(**classes));
      Eigen::MatrixXf y = read_masks(*masks, *csv, pixels, *height, *width, classes->value_or(1 << 16));
      if (x.rows() != y.rows())
        throw std::runtime_error("'" + *images + "' has " + std::to_string(x.rows()) + " images but '" + *masks + "' has " + std::to_string(y.rows()) + " masks");
      if (*limit && **limit < x.rows()) {
        x.conservativeResize(**limit, Eigen::NoChange);
        y.conservativeResize(**limit, Eigen::NoChange);
      }
      const Eigen::Index largest = Eigen::Index(y.maxCoeff());
      BayesianSegNetOptions o;
      o.channels = *channels;
      o.height = *height;
      o.width = *width;
      o.classes = classes->value_or(std::max<Eigen::Index>(2, largest + 1));
      if (largest >= o.classes)
        throw std::runtime_error("'" + *masks + "' holds class " + std::to_string(largest) + ", beyond --classes " + std::to_string(o.classes) + " (classes 0.." +
                                 std::to_string(o.classes - 1) + ")");
      o.features = *features;
      o.dropout = *dropout;
      o.weight_decay = *decay;
      Rng rng(*seed);
      BayesianSegNet<float> m(o, rng);
      m.fit(x, y, training.options("segnet"), rng);
      m.save(*model);
      std::fprintf(stderr, "trained a Bayesian SegNet on %ld images of %s, %ld classes: final cross-entropy %.6g per image; saved %s\n", long(x.rows()),
                   shape_text(o.channels, o.height, o.width).c_str(), long(o.classes), double(m.loss_history().back()), model->c_str());
    });
  }
  {
    Command& c = segnet.command("predict", "per-pixel classes, predictive entropy and mutual information from stochastic passes",
                                "Writes, for each image of IMAGES.csv (C x H x W columns, an optional extra column ignored), the most probable class "
                                "of every pixel (columns label0 ... label{H*W-1}, row by row), its predictive entropy in nats (entropy0 ...) and "
                                "its mutual information, the epistemic part (mi0 ...), from T passes with dropout on; --proba adds the mean class "
                                "probabilities (p{k}_{pixel}). With --masks, the pixel accuracy is printed on standard error. --png draws, one "
                                "row per image, the image's first channel, the predicted classes (black 0 to white K-1), the entropy and the mutual "
                                "information (white: log K nats) and with --masks the true mask after the image.",
                                "pml segnet predict segnet.pml shapes_images.csv --samples 30 --png segnet.png -o pixels.csv");
    const auto model = c.input("MODEL", "a model saved by pml segnet fit");
    const auto images = c.input("IMAGES.csv", "the images, one per row");
    const auto samples = c.integer("--samples", "T", "stochastic forward passes", 30, 1);
    const auto proba = c.flag("--proba", "also write each pixel's mean class probabilities");
    const auto masks = c.text("--masks", "FILE", "true masks (H x W class indices per row): print the pixel accuracy", "", true);
    const auto png = c.text("--png", "FILE", "also draw the images and their per-pixel predictions in this PNG file", "");
    const auto most = c.integer<Eigen::Index>("--png-images", "N", "images drawn by --png (the first N)", 16, 1, 4096);
    const auto seed = c.seed();
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      check_png_target(*png, *model, *out, {*images, *masks});
      const auto m = BayesianSegNet<float>::load(*model);
      const auto& o = m.options();
      const Eigen::Index pixels = m.pixels(), k = o.classes;
      const Eigen::MatrixXf x = read_labelled_rows(*images, *csv, m.input_size(), shape_text(o.channels, o.height, o.width) + " images");
      Eigen::MatrixXf truth;
      if (!masks->empty()) {
        truth = read_masks(*masks, *csv, pixels, o.height, o.width, k);
        if (truth.rows() != x.rows())
          throw std::runtime_error("'" + *images + "' has " + std::to_string(x.rows()) + " images but '" + *masks + "' has " + std::to_string(truth.rows()) + " masks");
      }
      Rng rng(*seed);
      const auto p = m.predict(x, *samples, rng);
      const Eigen::Index blocks = 3 + (*proba ? k : 0);
      Eigen::MatrixXd table(x.rows(), blocks * pixels);
      table.leftCols(pixels) = p.labels.cast<double>();
      table.middleCols(pixels, pixels) = p.entropy.cast<double>();
      table.middleCols(2 * pixels, pixels) = p.mutual_information.cast<double>();
      if (*proba) table.rightCols(k * pixels) = p.proba.cast<double>();
      std::vector<std::string> columns = names("label", pixels);
      for (const char* prefix : {"entropy", "mi"})
        for (auto& n : names(prefix, pixels)) columns.push_back(std::move(n));
      if (*proba)
        for (Eigen::Index c = 0; c < k; ++c)
          for (auto& n : names(("p" + std::to_string(c) + "_").c_str(), pixels)) columns.push_back(std::move(n));
      emit(*out, table, columns);
      if (truth.size() > 0) {
        const double correct = (p.labels.cast<float>().array() == truth.array()).cast<double>().sum();
        std::fprintf(stderr, "pixel accuracy %.4f%% (%ld images, %ld pixels each, %d passes)\n", 100 * correct / double(truth.size()), long(x.rows()), long(pixels),
                     *samples);
      }
      if (!png->empty()) {
        const Eigen::Index shown = std::min<Eigen::Index>(*most, x.rows()), panels = truth.size() > 0 ? 5 : 4;
        const float scale = float(std::log(double(k)));
        Eigen::MatrixXf tiles(shown * panels, pixels);
        for (Eigen::Index i = 0; i < shown; ++i) {
          Eigen::Index t = i * panels;
          tiles.row(t++) = x.row(i).head(pixels).cwiseMax(0.0f).cwiseMin(1.0f);
          if (truth.size() > 0) tiles.row(t++) = truth.row(i) / float(k - 1);
          tiles.row(t++) = p.labels.row(i).cast<float>() / float(k - 1);
          tiles.row(t++) = (p.entropy.row(i) / scale).cwiseMin(1.0f);
          tiles.row(t++) = (p.mutual_information.row(i) / scale).cwiseMin(1.0f);
        }
        io::write_png(*png, io::tile_images(tiles, o.height, o.width, panels));
      }
    });
  }
}

void add_dcgan(Tool& tool) {
  Family& dcgan = tool.family("dcgan", "deep convolutional GAN (Radford et al. 2016), on Fashion-MNIST or CSV images");
  {
    Command& c = dcgan.command("fit", "train a DCGAN and save it",
                               "Trains a DCGAN (a generator of transposed convolutions with batch normalisation and ReLU, a discriminator of "
                               "strided convolutions with LeakyReLU; Adam for both, one discriminator step per minibatch and one generator step after every "
                               "--discriminator-steps-th) on "
                               "images with values in [0, 1]: Fashion-MNIST's training set, or a CSV of C x H x W pixel columns (H and W "
                               "multiples of 4; an extra last column is ignored as a label). Remedies for mode collapse: --packing M (PacGAN), "
                               "--minibatch-stddev, --generator-loss wasserstein_gp (WGAN-GP, Gulrajani et al. 2017: a critic without batch "
                               "normalisation and the gradient penalty; its recipe: --discriminator-steps 5 --learning-rate 1e-4 --beta1 0 --beta2 0.9).",
                               "pml dcgan fit --data fashion-mnist --epochs 5 -o dcgan.pml");
    const auto model = c.model_output();
    const auto source = c.text("--data", "SOURCE", "fashion-mnist (Debian's dataset-fashion-mnist) or a CSV file", "fashion-mnist", true);
    const ConvGANShape shape(c);
    const auto noise = c.integer<Eigen::Index>("--noise", "Z", "dimension of the generator's noise z", 100, 1, Eigen::Index(1) << 16);
    const auto loss = c.choice("--generator-loss", "LOSS", "the generator's objective", DCGANOptions{}.generator_loss);
    const auto packing = c.integer<Eigen::Index>("--packing", "M", "PacGAN: images the discriminator judges at once (stacked as channels)", 1, 1, 64);
    const auto stddev = c.flag("--minibatch-stddev", "give the discriminator's dense layer the batch's mean standard deviation as one more input");
    const auto epochs = c.integer("--epochs", "N", "passes over the images", 5, 1);
    const auto batch = c.integer<Eigen::Index>("--batch-size", "B", "images per step (at least 2: batch normalisation)", 128, 2);
    const auto rate = c.real("--learning-rate", "R", "Adam's step size for both players", 2e-4, kPositive);
    const auto beta1 = c.real("--beta1", "B", "Adam's beta1 for both players", 0.5, kProbability);
    const auto beta2 = c.real("--beta2", "B", "Adam's beta2 for both players", 0.999, kProbability);
    const auto d_steps = c.integer("--discriminator-steps", "K", "discriminator steps per generator step (the generator steps after every K-th minibatch)", 1, 1, 1000);
    const auto penalty = c.real("--gradient-penalty", "L", "lambda of wasserstein_gp's gradient penalty", 10, kNonNegative);
    const auto average = c.real("--generator-average", "B",
                                "beta of a moving average of the generator's weights, which the model keeps, its batch norms' statistics "
                                "estimated again for them (Yazici et al. 2019; 0: none, 0.999 usual)",
                                0, kProbability);
    const auto limit = c.optional_integer("--limit", "N", "use only the first N training rows", "all", 1);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.sharded("(each its part of Fashion-MNIST's IDX files, or of the CSV) and generates one image per minibatch image it holds, --batch-size B "
              "images per rank (P x B a step); the batch norms are synchronised over the ranks and each image's noise is drawn from its "
              "position, so P ranks of B train as mpirun -np 1 with --batch-size P x B does, to rounding (a run without mpirun draws its noise "
              "in sequence and differs); not with --packing or --minibatch-stddev");
    c.action([=] {
      if (*loss == GANLoss::wasserstein_gp && *stddev) throw UsageError("option --minibatch-stddev cannot be used with --generator-loss wasserstein_gp");
      if (under_mpi() && (*packing != 1 || *stddev))
        throw UsageError("options --packing and --minibatch-stddev couple the images of a batch: under mpirun neither can be used");
      shape.check();
      DCGANOptions o;
      shape.set(o);
      o.noise = *noise;
      o.generator_loss = *loss;
      o.packing = *packing;
      o.minibatch_stddev = *stddev;
      if (*batch < 2 * *packing)
        throw UsageError("option --batch-size must be at least twice --packing (" + std::to_string(*packing) + "), got " + std::to_string(*batch));
      Rng rng(*seed);
      DCGAN<float> m(o, rng);  // checks the shapes before the data is read
      Eigen::MatrixXf x;
      Eigen::Index total = 0;
      if (!under_mpi()) x = read_gan_images(*source, *csv, o.channels, o.height, o.width, *limit), total = x.rows();
      else read_training_shard(*source, *csv, m.input_size(), shape_text(o.channels, o.height, o.width), *limit, x, nullptr, total);
      DCGANFitOptions f;
      f.epochs = *epochs;
      f.batch_size = *batch;
      f.learning_rate = *rate;
      f.beta1 = *beta1;
      f.beta2 = *beta2;
      f.discriminator_steps = *d_steps;
      f.gradient_penalty = *penalty;
      f.generator_average = *average;
      f.progress = ProgressDisplay("dcgan");
      if (!under_mpi()) m.fit(x, f, rng);
      else {  // (one rank too: the data-parallel fit, as on P)
        if (!lead()) f.progress = {};
        m.fit(ranks(), x, f, rng);  // --batch-size images per rank
      }
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "trained a DCGAN on %ld images%s: last epoch's losses D %.6g, G %.6g per image; saved %s\n", long(total),
                   ranks().size() > 1 ? (" on " + std::to_string(ranks().size()) + " ranks").c_str() : "", double(m.loss_history().discriminator_loss.back()),
                   double(m.loss_history().generator_loss.back()), model->c_str());
    });
  }
  {
    Command& c = dcgan.command("sample", "generate images from noise",
                               "Generates N images from z ~ N(0, I) (with the batch norms' running statistics): one row of C x H x W values in "
                               "[0, 1] per image, and with --png a grid of them as a picture (one-channel images). --truncation PSI draws each "
                               "z_i from N(0, 1) truncated to [-PSI, PSI] (the truncation trick, Brock et al. 2019: less diverse, sharper images).",
                               "pml dcgan sample dcgan.pml -n 64 --png samples.png -o samples.csv");
    const auto model = c.input("MODEL", "a model saved by pml dcgan fit");
    const auto n = c.count("-n", "N", "how many images");
    const auto truncation = c.optional_real("--truncation", "PSI", "draw the noise truncated to [-PSI, PSI]", "none", kPositive);
    const auto png = c.text("--png", "FILE", "also draw the images as a grid in this PNG file", "");
    const auto columns = c.integer<Eigen::Index>("--columns", "K", "images per row of the --png grid", 8, 1, 4096);
    const auto seed = c.seed();
    const auto out = c.csv_output();
    c.action([=] {
      check_png_target(*png, *model, *out);
      const auto m = DCGAN<float>::load(*model);
      if (!png->empty() && m.options().channels != 1)
        throw UsageError("option --png draws one-channel images; the model makes " + std::to_string(m.options().channels) + "-channel ones");
      Rng rng(*seed);
      const Eigen::Index rows = row_count(*n, "-n", m.input_size());
      const Eigen::MatrixXf images = *truncation ? m.sample(rng, rows, **truncation) : m.sample(rng, rows);
      emit(*out, images.cast<double>(), names("x", m.input_size()));
      if (!png->empty()) io::write_png(*png, io::tile_images(images, m.options().height, m.options().width, *columns));
    });
  }
  {
    Command& c = dcgan.command("discriminate", "the discriminator's probability that each image is real",
                               "Writes D(x) for each row of DATA (C x H x W values in [0, 1], an optional last label column ignored), with the "
                               "batch norms' running statistics (wasserstein_gp: the critic's score, higher is more real). With packing M the rows are judged in packs (rows i, i + N/M, ...; N a multiple "
                               "of M) and one value per pack is written; with minibatch stddev the rows are one batch.",
                               "pml dcgan discriminate dcgan.pml samples.csv");
    const auto model = c.input("MODEL", "a model saved by pml dcgan fit");
    const auto data = c.input("DATA.csv", "images, one per row");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = DCGAN<float>::load(*model);
      const Eigen::MatrixXf x = read_labelled_rows(*data, *csv, m.input_size(), "images of " + std::to_string(m.input_size()) + " pixels");
      emit(*out, Eigen::MatrixXd(m.discriminate(x).cast<double>()), {"d"});
    });
  }
}

void add_infogan(Tool& tool) {
  Family& family = tool.family("infogan", "InfoGAN (Chen et al. 2016): a GAN with interpretable latent codes, on images (DCGAN body) or CSV rows (MLP body)");
  {
    Command& c = family.command(
        "fit", "train an InfoGAN and save it",
        "Trains an InfoGAN: the generator takes noise z and latent codes c (--categorical K1,K2,... uniform categorical codes and --continuous N "
        "codes from --continuous-prior), and a recognition head Q on the discriminator's body reads the codes back; both players also minimise "
        "lambda times the information loss (the variational bound on I(c; G(z, c))). --body dcgan trains the DCGAN's networks on images in [0, 1] "
        "(Fashion-MNIST's training set, or a CSV of C x H x W pixel columns and an optional label column); --body mlp trains two MLPs on the rows "
        "of a CSV (every column a feature).",
        "pml infogan fit --data fashion-mnist --categorical 10 --continuous 2 --epochs 5 -o infogan.pml");
    const auto model = c.model_output();
    const auto source = c.text("--data", "SOURCE", "fashion-mnist (Debian's dataset-fashion-mnist, dcgan body) or a CSV file", "fashion-mnist", true);
    const auto body = c.choice("--body", "BODY", "the networks", InfoGANOptions{}.body);
    const auto noise = c.integer<Eigen::Index>("--noise", "Z", "dimension of the generator's noise z", 62, 1, Eigen::Index(1) << 16);
    const auto categorical = c.sizes("--categorical", "LIST", "the number of values of each categorical code, comma-separated", "10");
    const auto no_categorical = c.flag("--no-categorical", "no categorical code (continuous codes only)");
    const auto continuous = c.integer<Eigen::Index>("--continuous", "N", "the number of continuous codes", 2, 0, Eigen::Index(1) << 16);
    const auto prior = c.choice("--continuous-prior", "PRIOR", "the continuous codes' prior", InfoGANOptions{}.continuous_prior);
    const auto recognition = c.integer<Eigen::Index>("--recognition-hidden", "H", "units of Q's hidden layer", 128, 1, Eigen::Index(1) << 16);
    const auto loss = c.choice("--generator-loss", "LOSS", "the generator's objective (minimax or non_saturating)", InfoGANOptions{}.generator_loss);
    const ConvGANShape shape(c);
    const auto g_hidden = c.sizes("--generator-hidden", "LIST", "mlp body: the generator's hidden layer sizes", "128,128");
    const auto d_hidden = c.sizes("--discriminator-hidden", "LIST", "mlp body: the discriminator's hidden layer sizes", "128,128");
    const auto epochs = c.integer("--epochs", "N", "passes over the data", 5, 1);
    const auto batch = c.integer<Eigen::Index>("--batch-size", "B", "rows per step (at least 2)", 64, 2);
    const auto g_rate = c.real("--generator-learning-rate", "R", "Adam's step size for G", 1e-3, kPositive);
    const auto d_rate = c.real("--discriminator-learning-rate", "R", "Adam's step size for D and Q", 2e-4, kPositive);
    const auto beta1 = c.real("--beta1", "B", "Adam's beta1 for both players", 0.5, kProbability);
    const auto beta2 = c.real("--beta2", "B", "Adam's beta2 for both players", 0.999, kProbability);
    const auto cat_weight = c.real("--categorical-weight", "L", "lambda of the categorical codes' information term", 1.0, kNonNegative);
    const auto cont_weight = c.real("--continuous-weight", "L", "lambda of the continuous codes' information term", 0.1, kNonNegative);
    const auto limit = c.optional_integer("--limit", "N", "use only the first N training rows", "all", 1);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.sharded("(each its part of Fashion-MNIST's IDX files, or of the CSV) and generates one row per minibatch row it holds, --batch-size B "
              "rows per rank (P x B a step); the DCGAN body's batch norms are synchronised over the ranks and each row's noise and codes are "
              "drawn from its position, so P ranks of B train as mpirun -np 1 with --batch-size P x B does, to rounding (a run without mpirun "
              "draws them in sequence and differs)");
    c.action([=] {
      if (*loss == GANLoss::wasserstein_gp) throw UsageError("option --generator-loss must be minimax or non_saturating, got wasserstein_gp");
      if (*no_categorical && *continuous == 0) throw UsageError("option --no-categorical needs --continuous of at least 1 (an InfoGAN needs a code)");
      InfoGANOptions o;
      o.body = *body;
      o.noise = *noise;
      o.categorical = *no_categorical ? std::vector<Eigen::Index>{} : *categorical;
      o.continuous = *continuous;
      o.continuous_prior = *prior;
      o.recognition_hidden = *recognition;
      o.generator_loss = *loss;
      Eigen::MatrixXf x;
      Eigen::Index total = 0;
      if (o.body == InfoGANBody::dcgan) {
        shape.check();
        shape.set(o);
        if (!under_mpi()) x = read_gan_images(*source, *csv, o.channels, o.height, o.width, *limit), total = x.rows();
        else read_training_shard(*source, *csv, o.channels * o.height * o.width, shape_text(o.channels, o.height, o.width), *limit, x, nullptr, total);
      } else {
        if (*source == "fashion-mnist") throw UsageError("option --body mlp reads a CSV file: give --data FILE.csv (or use --body dcgan for fashion-mnist)");
        Eigen::Index rows = 0;
        x = (under_mpi() ? read_shard(*source, *csv, rows) : read_data(*source, *csv)).cast<float>();
        const Eigen::Index width = pml::detail::shared_columns(ranks(), "pml infogan fit", x.rows(), x.cols());
        if (!under_mpi()) rows = x.rows();
        total = rows;
        if (*limit && **limit < rows) {  // the first N rows of the whole file: this rank's part of them
          const std::vector<Index> counts = pml::detail::all_counts(ranks(), x.rows());
          Eigen::Index offset = 0;
          for (int q = 0; q < ranks().rank(); ++q) offset += counts[std::size_t(q)];
          x.conservativeResize(std::clamp<Eigen::Index>(**limit - offset, 0, x.rows()), Eigen::NoChange);
          total = **limit;
        }
        o.output = width;
        o.generator_hidden = *g_hidden;
        o.discriminator_hidden = *d_hidden;
        Eigen::Index code_inputs = o.continuous;
        for (const Eigen::Index k : o.categorical) code_inputs += k;
        check_network(*g_hidden, o.noise + code_inputs, width, sizeof(float), "--generator-hidden");
        check_network(*d_hidden, width, 1, sizeof(float), "--discriminator-hidden");
      }
      Rng rng(*seed);
      InfoGAN<float> m(o, rng);
      InfoGANFitOptions f;
      f.epochs = *epochs;
      f.batch_size = *batch;
      f.generator_learning_rate = *g_rate;
      f.discriminator_learning_rate = *d_rate;
      f.beta1 = *beta1;
      f.beta2 = *beta2;
      f.categorical_weight = *cat_weight;
      f.continuous_weight = *cont_weight;
      f.progress = ProgressDisplay("infogan");
      if (!under_mpi()) m.fit(x, f, rng);
      else {  // (one rank too: the data-parallel fit, as on P)
        if (!lead()) f.progress = {};
        m.fit(ranks(), x, f, rng);  // --batch-size rows per rank
      }
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "trained an InfoGAN on %ld rows%s: last epoch's losses D %.6g, G %.6g, information %.6g per row; saved %s\n", long(total),
                   ranks().size() > 1 ? (" on " + std::to_string(ranks().size()) + " ranks").c_str() : "",
                   double(m.loss_history().discriminator_loss.back()), double(m.loss_history().generator_loss.back()),
                   double(m.loss_history().information_loss.back()), model->c_str());
    });
  }
  {
    Command& c = family.command("sample", "generate rows or images, from drawn or given codes",
                                "Generates N rows G(z, c) from z ~ N(0, I) and codes drawn from their prior, or with --code the same given code "
                                "row for all N (the categorical values, then the continuous codes, comma-separated). One row per sample; with "
                                "--png (dcgan body, one-channel images) a grid of the images.",
                                "pml infogan sample infogan.pml -n 8 --code 3,0.5,-1 --png three.png");
    const auto model = c.input("MODEL", "a model saved by pml infogan fit");
    const auto n = c.count("-n", "N", "how many samples");
    const auto code = c.text("--code", "LIST", "one code row for every sample (default: drawn from the prior)", "");
    const auto png = c.text("--png", "FILE", "also draw the images as a grid in this PNG file", "");
    const auto columns = c.integer<Eigen::Index>("--columns", "K", "images per row of the --png grid", 8, 1, 4096);
    const auto seed = c.seed();
    const auto out = c.csv_output();
    c.action([=] {
      check_png_target(*png, *model, *out);
      const auto m = InfoGAN<float>::load(*model);
      if (!png->empty() && (m.options().body != InfoGANBody::dcgan || m.options().channels != 1))
        throw UsageError("option --png draws one-channel images; this model makes " +
                         (m.options().body == InfoGANBody::dcgan ? std::to_string(m.options().channels) + "-channel images" : std::string("table rows")));
      const Eigen::Index rows = row_count(*n, "-n", m.input_size());
      Rng rng(*seed);
      Eigen::MatrixXf z(rows, m.options().noise);
      random::fill_normal(rng, z);
      Eigen::MatrixXf codes = m.sample_codes(rng, rows);
      if (!code->empty()) {
        std::vector<double> values;
        std::stringstream in(*code);
        try {
          for (std::string item; std::getline(in, item, ',');) values.push_back(parse_real(item, Interval{-1e300, 1e300, false, "a number"}));
        } catch (const UsageError& e) { throw UsageError(std::string("option --code ") + e.what()); }
        if (Eigen::Index(values.size()) != m.code_size())
          throw UsageError("option --code needs " + std::to_string(m.code_size()) + " comma-separated values (the categorical codes, then the continuous ones), got " +
                           std::to_string(values.size()));
        for (std::size_t k = 0; k < m.options().categorical.size(); ++k) {
          const double v = values[k], K = double(m.options().categorical[k]);
          if (!(v >= 0 && v < K && v == std::floor(v)))
            throw UsageError("option --code: categorical code " + std::to_string(k) + " takes 0.." + std::to_string(long(K) - 1) + ", got " + detail::describe(v));
        }
        for (Eigen::Index k = 0; k < m.code_size(); ++k) codes.col(k).setConstant(float(values[std::size_t(k)]));
      }
      const Eigen::MatrixXf made = m.generate(z, codes);
      emit(*out, made.cast<double>(), names("x", m.input_size()));
      if (!png->empty()) io::write_png(*png, io::tile_images(made, m.options().height, m.options().width, *columns));
    });
  }
  {
    Command& c = family.command("codes", "the recognition head's reading of the codes of rows",
                                "Writes Q's reading of each row of DATA (images in [0, 1] for the dcgan body; an optional last label column is "
                                "ignored): the most probable value of each categorical code (columns c0, c1, ...) and the mean of each continuous "
                                "one, then the discriminator's probability that the row is real (column d).",
                                "pml infogan codes infogan.pml images.csv");
    const auto model = c.input("MODEL", "a model saved by pml infogan fit");
    const auto data = c.input("DATA.csv", "the rows to read");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = InfoGAN<float>::load(*model);
      const Eigen::MatrixXf x = read_labelled_rows(*data, *csv, m.input_size(), "rows of " + std::to_string(m.input_size()) + " values");
      Eigen::MatrixXd result(x.rows(), m.code_size() + 1);
      result << m.predict_codes(x).cast<double>(), m.discriminate(x).cast<double>();
      std::vector<std::string> columns = names("c", m.code_size());
      columns.push_back("d");
      emit(*out, result, columns);
    });
  }
}

/// The series of pml forecast: the last column of a CSV, one row per time step.
Eigen::VectorXd read_series(const std::string& path, const io::CsvOptions& csv) {
  const Eigen::MatrixXd table = read_data(path, csv);
  return table.col(table.cols() - 1);
}

void add_forecast(Tool& tool) {
  Family& forecast = tool.family("forecast", "Bayesian LSTM forecasts of a series with predictive bands (Fortunato et al. 2017; Gal & Ghahramani 2016)");
  {
    Command& c = forecast.command("fit", "train a Bayesian LSTM forecaster on a series and save it",
                                  "Trains an LSTMForecaster on the last column of SERIES.csv (one row per time step, oldest first): the network "
                                  "reads --window values of the (differenced, standardised) series and predicts the next one's mean and variance.",
                                  "pml forecast fit co2.csv --window 24 --differencing 1 --epochs 100 -o co2.pml");
    const auto data = c.input("SERIES.csv", "the series in its last column, one row per time step");
    const auto model = c.model_output();
    const auto method = c.choice("--method", "METHOD", "bayes_by_backprop (Bayesian LSTM) or mc_dropout (variational dropout)", LSTMForecasterOptions{}.method);
    const auto window = c.integer<Eigen::Index>("--window", "W", "past values read per prediction", 24, 1, Eigen::Index(1) << 20);
    const auto hidden = c.integer<Eigen::Index>("--hidden", "H", "LSTM hidden units", 32, 1, Eigen::Index(1) << 14);
    const auto differencing = c.integer("--differencing", "D", "0: model the series, 1: its first difference", 1, 0, 1);
    const auto dropout = c.real("--dropout", "P", "MC dropout probability (mc_dropout)", 0.1, kProbability);
    const auto prior_sigma = c.real("--prior-sigma", "S", "sd of the Gaussian prior over the weights (bayes_by_backprop)", 1.0, kPositive);
    const Training training(c, 100, 32, 3e-3);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.sharded("(every rank reads the whole series) and trains on its share of the windows, --batch-size B windows per rank (P x B a "
              "step); each window's noise is drawn from its position, so P ranks of B train as mpirun -np 1 with --batch-size P x B "
              "does, to rounding (a run without mpirun draws its noise in sequence and differs)");
    c.action([=] {
      Eigen::VectorXd y;
      pml::detail::agree(ranks(), [&] { y = read_series(*data, *csv); });
      LSTMForecasterOptions o;
      o.method = *method;
      o.window = *window;
      o.hidden = *hidden;
      o.differencing = *differencing;
      o.dropout = *dropout;
      o.prior = nn::BayesPrior::gaussian(*prior_sigma);
      Rng rng(*seed);
      LSTMForecaster<double> m(o, rng);
      FitOptions options = training.options("forecast");
      if (!under_mpi()) m.fit(y, options, rng);
      else {  // (one rank too: the data-parallel fit, as on P)
        if (!lead()) options.progress = {};
        m.fit(ranks(), y, options, rng);  // --batch-size windows per rank
      }
      if (!lead()) return;
      m.save(*model);
      if (m.loss_history().empty())
        std::fprintf(stderr, "the series of %ld values is constant%s: nothing to train, forecasts continue it exactly; saved %s\n", long(y.size()),
                     o.differencing == 1 ? " or a straight line" : "", model->c_str());
      else
        std::fprintf(stderr, "trained an LSTM forecaster on %ld values%s: final loss %.6g per window; saved %s\n", long(y.size()),
                     ranks().size() > 1 ? (" on " + std::to_string(ranks().size()) + " ranks").c_str() : "", double(m.loss_history().back()), model->c_str());
    });
  }
  {
    Command& c = forecast.command("predict", "sample paths after the series: mean and predictive band per step",
                                  "Draws T sample paths of the next --horizon values after the series in the last column of SERIES.csv and writes, "
                                  "per step, the mean and the central band at --level (columns step, mean, lower, upper).",
                                  "pml forecast predict co2.pml co2.csv --horizon 24 --samples 500 --level 0.9");
    const auto model = c.input("MODEL", "a model saved by pml forecast fit");
    const auto data = c.input("SERIES.csv", "the series up to the forecast origin, in its last column");
    const auto horizon = c.integer<Eigen::Index>("--horizon", "K", "steps to forecast", 12, 1, Eigen::Index(1) << 20);
    const auto samples = c.integer("--samples", "T", "sample paths", 500, 1);
    const auto level = c.real("--level", "L", "the band's probability", 0.9, Interval{0.0, 1.0, true, "in (0, 1)"});
    const auto seed = c.seed();
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = LSTMForecaster<double>::load(*model);
      const Eigen::VectorXd y = read_series(*data, *csv);
      Rng rng(*seed);
      const auto bands = m.forecast(y, *horizon, *samples, rng, *level);
      Eigen::MatrixXd table(*horizon, 4);
      table.col(0) = Eigen::VectorXd::LinSpaced(*horizon, 1.0, double(*horizon));
      table.col(1) = bands.mean;
      table.col(2) = bands.lower;
      table.col(3) = bands.upper;
      emit(*out, table, {"step", "mean", "lower", "upper"});
    });
  }
}

void add_vae(Tool& tool) {
  Family& vae = tool.family("vae", "variational auto-encoder (Kingma & Welling 2013), on Fashion-MNIST or CSV");
  {
    Command& c = vae.command("train", "train a VAE and save it", "Trains a VAE with a Bernoulli decoder (data in [0, 1]) by AEVB with Adam.",
                             "pml vae train --data fashion-mnist --latent 2 --epochs 5 -o vae.pml");
    // under mpirun: each rank reads and trains on its share, --batch-size rows per rank (docs/scaling.md)
    c.sharded("and trains on the rows of each minibatch it holds, --batch-size B rows per rank (P x B a step); each row's noise is drawn "
              "from its position, so P ranks of B train as mpirun -np 1 with --batch-size P x B does, to rounding (a run without mpirun "
              "draws its noise in sequence and differs)");
    const auto model = c.model_output();
    const auto source = c.text("--data", "SOURCE", "fashion-mnist (Debian's dataset-fashion-mnist) or a CSV file", "fashion-mnist", true);
    const auto latent = c.integer<Eigen::Index>("--latent", "Z", "latent dimension", 20, 1, Eigen::Index(1) << 24);
    const auto hidden = c.sizes("--hidden", "LIST", "encoder hidden sizes, comma-separated", "400");
    const auto init = c.choice("--init", "SCHEME", "how the initial weights are drawn, not stored in the model file (pytorch: U(+-1/sqrt(fan_in)) for weights and biases)",
                               VAEOptions{}.init);
    const Training training(c, 10, 128, 1e-3);
    const auto limit = c.optional_integer("--limit", "N", "use only the first N training rows", "all", 1);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.action([=] {
      const Collective& r = ranks();
      Eigen::MatrixXf x;
      Eigen::Index first = 0;  // the position of this rank's first row in the whole data set
      if (r.size() == 1) {
        if (*source == "fashion-mnist") x = io::load_fashion_mnist<float>().train_images;
        else x = read_data(*source, *csv).cast<float>();
      } else if (*source == "fashion-mnist") {  // this rank's share of the training images
        const auto path = io::fashion_mnist_directory / "train-images-idx3-ubyte.gz";
        pml::detail::agree(r, [&] {
          if (!std::filesystem::exists(path))
            throw std::runtime_error("'" + path.string() + "' not found; install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)");
        });
        const auto images = io::read_idx<float>(r, path);
        x = images.data / 255.0f;
        first = images.first_row;
      } else {
        Eigen::Index total = 0;
        x = read_shard(*source, *csv, total).cast<float>();
        const std::vector<Eigen::Index> counts = pml::detail::all_counts(r, x.rows());
        for (int k = 0; k < r.rank(); ++k) first += counts[std::size_t(k)];
      }
      if (*limit) x.conservativeResize(std::clamp<Eigen::Index>(**limit - first, 0, x.rows()), Eigen::NoChange);
      pml::detail::agree(r, [&] {
        for (Eigen::Index i = 0; i < x.rows(); ++i)
          if (x.row(i).minCoeff() < 0 || x.row(i).maxCoeff() > 1)
            throw std::runtime_error("'" + *source + "' has values outside [0, 1] (data row " + std::to_string(first + i + 1) +
                                     "); the Bernoulli decoder needs data in [0, 1]");
      });
      const Eigen::Index rows = r.size() == 1 ? x.rows() : Eigen::Index(pml::detail::all_sum(r, double(x.rows())));
      const Eigen::Index width = r.size() == 1 ? x.cols() : pml::detail::shared_columns(r, "pml vae train", x.rows(), x.cols());
      Rng rng(*seed);
      check_network(*hidden, width, 2 * *latent, 2 * sizeof(float));  // encoder; the decoder mirrors it
      VAE<float> m({.input = width, .hidden = *hidden, .latent = *latent, .init = *init}, rng);
      FitOptions options = training.options("vae");
      if (!under_mpi()) m.fit(x, options, rng);
      else {  // (one rank too: the data-parallel fit, as on P)
        if (!lead()) options.progress = {};
        m.fit(r, x, options, rng);  // --batch-size rows per rank
      }
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "trained a VAE on %ld x %ld data%s: final ELBO %.6g nats per row; saved %s\n", long(rows), long(width),
                   r.size() > 1 ? (" on " + std::to_string(r.size()) + " ranks").c_str() : "", double(m.elbo_history().back()), model->c_str());
    });
  }
  {
    Command& c = vae.command("sample", "decode draws from the prior", "Decodes N draws of z ~ N(0, I): one row of D probabilities per sample.",
                             "pml vae sample vae.pml -n 16 --seed 1 -o images.csv");
    const auto model = c.input("MODEL", "a model saved by pml vae train");
    const auto n = c.count("-n", "N", "how many samples");
    const auto seed = c.seed();
    const auto out = c.csv_output();
    c.action([=] {
      auto m = VAE<float>::load(*model);
      Rng rng(*seed);
      emit(*out, m.sample(rng, row_count(*n, "-n", m.options().input)).cast<double>(), {});
    });
  }
  {
    Command& c = vae.command("encode", "the approximate posterior of each row",
                             "Writes the mean and log-variance of q(z|x) for each row (columns mean0.., log_var0..) and the KL divergence to the "
                             "prior (an outlier score).",
                             "pml vae encode vae.pml images.csv");
    const auto model = c.input("MODEL", "a model saved by pml vae train");
    const auto data = c.input("DATA.csv", "the rows to encode, values in [0, 1]");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      auto m = VAE<float>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.options().input);
      const Eigen::MatrixXf xf = x.cast<float>();
      const auto q = m.encode(xf);
      const Eigen::Index z = q.mean.cols();
      Eigen::MatrixXd table(x.rows(), 2 * z + 1);
      table << q.mean.cast<double>(), q.log_variance.cast<double>(), m.kl_divergence(xf).cast<double>();
      std::vector<std::string> columns = names("mean", z), log_variances = names("log_var", z);
      columns.insert(columns.end(), log_variances.begin(), log_variances.end());
      columns.push_back("kl");
      emit(*out, table, columns);
    });
  }
}

}  // namespace

void add_deep_commands(Tool& tool) {
  add_mcdropout(tool);
  add_cnn(tool);
  add_bcnn(tool);
  add_segnet(tool);
  add_forecast(tool);
  add_vae(tool);
  add_gan(tool);
  add_dcgan(tool);
  add_infogan(tool);
}

}  // namespace pml::cli
