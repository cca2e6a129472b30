// pml: the command-line tool. Fit a model to a CSV file, save it, predict and sample from it without
// writing C++. Every failure is one line on standard error and a non-zero exit code (1: the operation
// failed, 2: the command line is wrong).
//
//   pml gmm fit data.csv --components 3 --covariance full -o model.pml
//   pml gmm predict model.pml data.csv [--proba] [-o labels.csv]
//   pml gmm score model.pml data.csv
//   pml gmm sample model.pml -n 1000 [--seed 7]
//   pml kmeans fit data.csv --clusters 4 -o model.pml
//   pml kmeans predict model.pml data.csv
//   pml pca fit data.csv --components 2 -o pca.pml; pml pca transform pca.pml data.csv
//   pml ppca fit data.csv --components 2 -o ppca.pml; pml ppca score|transform|sample ...
//   pml vgmm fit data.csv --components 10 -o vgmm.pml; pml vgmm predict|components ...
//   pml blr fit xy.csv --basis poly:3 -o blr.pml; pml blr predict blr.pml x.csv (mean and sd)
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <stdio_ext.h>
#include <unistd.h>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <pml/io/csv.hpp>
#include <pml/models/cluster.hpp>
#include <pml/io/idx.hpp>
#include <pml/models/deep/mc_dropout.hpp>
#include <pml/models/deep/vae.hpp>
#include <pml/models/latent.hpp>
#include <pml/models/linear.hpp>

namespace {

constexpr const char* kVersion = "pml 0.1";

/// A command-line mistake: reported with the command's name and exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The words after the subcommand: positionals in order, --options with a value, and flags.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::set<std::string> flags;

  bool flag(const std::string& name) const { return flags.count(name) > 0; }
  bool has(const std::string& name) const { return options.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback) const {
    const auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  /// An integer option in [minimum, maximum]; out-of-range text (beyond long) is refused, never clamped.
  long integer(const std::string& name, long fallback, long minimum, long maximum = std::numeric_limits<long>::max()) const {
    if (!has(name)) return fallback;
    const std::string& text = options.at(name);
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') throw UsageError("option " + name + " needs an integer, got '" + text + "'");
    if (errno == ERANGE || v > maximum)
      throw UsageError("option " + name + " must be at most " + std::to_string(maximum) + ", got " + text);
    if (v < minimum) throw UsageError("option " + name + " must be at least " + std::to_string(minimum) + ", got " + text);
    return v;
  }
  /// An integer option that the models keep in an int (iterations, restarts, epochs, samples).
  int int_option(const std::string& name, int fallback, int minimum) const {
    return static_cast<int>(integer(name, fallback, minimum, std::numeric_limits<int>::max()));
  }
  /// --seed: any 64-bit unsigned integer (0 to 2^64 - 1), refused (not clamped) beyond.
  std::uint64_t seed() const {
    if (!has("--seed")) return 0;
    const std::string& text = options.at("--seed");
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
    if (!digits || *end != '\0' || errno == ERANGE)
      throw UsageError("option --seed needs an integer from 0 to 18446744073709551615, got '" + text + "'");
    return static_cast<std::uint64_t>(v);
  }
};

// The machine's physical memory in bytes (an upper bound for what one command may ask for).
long double physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<long double>(pages) * static_cast<long double>(page) : 1e18L;
}
std::string gigabytes(long double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3Lg GB", bytes / 1e9L);
  return buf;
}
// -n N for N rows of `width` values each (doubles): refused, naming the option, if they cannot fit in memory.
Eigen::Index row_count(const Args& a, const std::string& name, Eigen::Index width) {
  const long n = a.integer(name, 0, 1);
  const long double bytes = static_cast<long double>(n) * static_cast<long double>(std::max<Eigen::Index>(width, 1)) * 8.0L;
  if (bytes > physical_memory())
    throw UsageError("option " + name + " asks for " + std::to_string(n) + " rows of " + std::to_string(width) + " values (" + gigabytes(bytes) +
                     "), more than this machine's " + gigabytes(physical_memory()) + " of memory");
  return n;
}
// A network input - hidden... - output: refused, naming --hidden, if its weights and their training
// state (value, gradient, two Adam moments) cannot fit in memory.
void check_network(const std::vector<Eigen::Index>& hidden, Eigen::Index input, Eigen::Index output, std::size_t scalar_bytes) {
  long double parameters = 0;
  Eigen::Index previous = input;
  for (const Eigen::Index h : hidden) {
    parameters += (static_cast<long double>(previous) + 1) * static_cast<long double>(h);
    previous = h;
  }
  parameters += (static_cast<long double>(previous) + 1) * static_cast<long double>(output);
  const long double bytes = parameters * 4.0L * static_cast<long double>(scalar_bytes);
  if (bytes > physical_memory()) {
    std::string sizes;
    for (const Eigen::Index h : hidden) sizes += (sizes.empty() ? "" : ",") + std::to_string(h);
    throw UsageError("option --hidden " + sizes + " makes a network of " + gigabytes(bytes) + " of weights and training state, more than this machine's " +
                     gigabytes(physical_memory()) + " of memory");
  }
}
/// An enum option, spelled as in model files: the enum's one name table (pml/core/enum_names.hpp).
template <pml::NamedEnum E> E choice(const Args& a, const std::string& name, E fallback) {
  if (!a.has(name)) return fallback;
  const std::string v = a.get(name, "");
  if (const auto e = pml::enum_from_name<E>(v)) return *e;
  throw UsageError(name + " must be " + pml::enum_choices<E>() + ", got '" + v + "'");
}

/// Parses argv[first..] against the options (which take a value) and flags the command knows.
Args parse(int argc, char** argv, int first, const std::set<std::string>& with_value, const std::set<std::string>& flags) {
  Args a;
  for (int i = first; i < argc; ++i) {
    const std::string w = argv[i];
    if (w.size() > 1 && w[0] == '-' && !(w.size() > 1 && (std::isdigit(static_cast<unsigned char>(w[1])) || w[1] == '.'))) {
      if (with_value.count(w)) {
        if (i + 1 >= argc) throw UsageError("option " + w + " needs a value");
        a.options[w] = argv[++i];
      } else if (flags.count(w)) {
        a.flags.insert(w);
      } else {
        throw UsageError("unknown option '" + w + "'");
      }
    } else {
      a.positional.push_back(w);
    }
  }
  // every positional (and --data) is an input: -o must not replace one of them
  if (a.has("-o")) {
    std::vector<std::string> inputs = a.positional;
    if (a.has("--data")) inputs.push_back(a.options.at("--data"));
    for (const std::string& input : inputs) {
      std::error_code ec;
      if (std::filesystem::equivalent(a.options.at("-o"), input, ec) && !ec)
        throw UsageError("-o '" + a.options.at("-o") + "' is the input file '" + input + "': refusing to overwrite an input (choose another output file)");
    }
  }
  return a;
}

/// The options every command that reads CSV takes, added to its own.
std::set<std::string> reading(std::set<std::string> options) {
  options.insert({"--delimiter", "--header"});
  return options;
}

/// --delimiter and --header as read_csv's options.
pml::io::CsvOptions csv_options(const Args& a) {
  pml::io::CsvOptions o;
  const std::string d = a.get("--delimiter", ",");
  if (d == "tab" || d == "\\t") o.delimiter = '\t';
  else if (d == "space") o.delimiter = ' ';
  else if (d.size() == 1) o.delimiter = d[0];
  else throw UsageError("--delimiter needs one character, tab or space, got '" + d + "'");
  if (!pml::io::is_valid_delimiter(o.delimiter))
    throw UsageError("--delimiter must not be a quote, a digit, '.', '+', '-', 'e' or 'E', got '" + d + "'");
  const std::string h = a.get("--header", "auto");
  if (h == "yes") o.header = pml::io::Header::yes;
  else if (h == "no") o.header = pml::io::Header::no;
  else if (h == "auto") o.header = pml::io::Header::detect;
  else throw UsageError("--header must be yes, no or auto, got '" + h + "'");
  return o;
}

void need_positionals(const Args& a, std::size_t n, const char* what) {
  if (a.positional.size() != n)
    throw UsageError("expected " + std::string(what) + ", got " + std::to_string(a.positional.size()) + " argument" + (a.positional.size() == 1 ? "" : "s"));
}

Eigen::MatrixXd read_data(const std::string& path, const Args& a) {
  const auto table = pml::io::read_csv<double>(path, csv_options(a));
  if (table.data.rows() == 0) throw std::runtime_error("'" + path + "' has no data rows");
  if (!table.data.allFinite()) {
    for (Eigen::Index i = 0; i < table.data.rows(); ++i)
      for (Eigen::Index j = 0; j < table.data.cols(); ++j)
        if (!std::isfinite(table.data(i, j)))
          throw std::runtime_error("'" + path + "' data row " + std::to_string(i + 1) + ", column " + std::to_string(j + 1) +
                                   ": missing or non-finite value (this model needs complete data)");
  }
  return table.data;
}

/// Writes CSV to -o FILE (atomically) or to standard output.
void emit(const Args& a, const Eigen::MatrixXd& data, const std::vector<std::string>& columns) {
  if (a.has("-o")) {
    pml::io::write_csv(a.get("-o", ""), data, columns);
  } else {
    const std::string text = pml::io::format_csv(data, columns);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      throw std::runtime_error(std::string("cannot write to standard output: ") + std::strerror(errno));
  }
}

void check_width(const Eigen::MatrixXd& x, Eigen::Index width, const std::string& path) {
  if (x.cols() != width)
    throw std::runtime_error("'" + path + "' has " + std::to_string(x.cols()) + " columns but the model was fitted to " + std::to_string(width));
}

std::vector<std::string> names(const char* prefix, Eigen::Index n) {
  std::vector<std::string> out;
  for (Eigen::Index i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// ---- help texts ----
/// The commands that read CSV: their help ends with kCsvHelp.
const std::set<std::string> kReadsCsv = {"gmm fit",  "gmm predict",  "gmm score",     "kmeans fit",  "kmeans predict", "pca fit",
                                         "pca transform", "pca inverse", "ppca fit",   "ppca transform", "ppca score", "vgmm fit",
                                         "vgmm predict", "blr fit",    "blr predict",  "blr sample",  "mcdropout fit",  "mcdropout predict",
                                         "vae train",    "vae encode"};
const char* const kCsvHelp = R"(
CSV input:
  --delimiter C   the field separator: one character, tab or space (default ,)
  --header H      auto (default): line 1 is a header when it holds only names, data when it holds
                  only numbers, and an error otherwise; yes: line 1 holds the column names; no:
                  line 1 is data
  Numbers are read whole (blanks around them ignored, one optional sign); empty, ?, NA, N/A and NaN
  are missing values; a field that is not a number stops the command with its line and column.
)";

const std::map<std::string, std::string> kHelp = {
    {"", R"(pml - probabilistic models from the command line

usage: pml <model> <command> [arguments] [options]

models and commands:
  gmm     fit | predict | score | sample    Gaussian mixture by EM
  kmeans  fit | predict                     k-means (k-means++ and Lloyd)
  pca     fit | transform | inverse         principal component analysis
  ppca    fit | transform | score | sample  probabilistic PCA (closed form or EM)
  vgmm    fit | predict | components        variational Bayesian Gaussian mixture
  blr     fit | predict | sample            Bayesian linear regression on a basis (mean and sd)
  mcdropout fit | predict                     MC dropout regression with predictive sd
  vae       train | sample | encode           variational auto-encoder (Fashion-MNIST or CSV)

Data are CSV files with one sample per row (--header yes|no|auto: a line of names is a header, a line
of numbers is data; --delimiter C for other separators); results go to standard output as CSV unless
-o FILE is given. -o writes through symbolic links, writes FIFOs, devices and /dev/stdout directly,
and refuses an input file and read-only files. Every command has --help with an example.

  pml gmm fit data.csv --components 3 -o model.pml
  pml gmm predict model.pml data.csv > labels.csv

options: --help, --version
)"},
    {"gmm", R"(pml gmm: Gaussian mixture models fitted by EM

  pml gmm fit DATA.csv -o MODEL [--components K] [--covariance full|tied|diagonal|spherical]
                                [--max-iterations N] [--restarts R] [--seed S]
  pml gmm predict MODEL DATA.csv [--proba] [-o OUT.csv]
  pml gmm score MODEL DATA.csv [-o OUT.csv]
  pml gmm sample MODEL -n N [--seed S] [-o OUT.csv]

Run pml gmm <command> --help for details.
)"},
    {"gmm fit", R"(pml gmm fit DATA.csv -o MODEL [options]

Fits a Gaussian mixture to the rows of DATA.csv by EM (k-means start) and saves it to MODEL.

  --components K      number of components (default 1)
  --covariance TYPE   full (default), tied, diagonal or spherical
  --max-iterations N  EM iterations per start (default 100)
  --restarts R        independent starts; the best log-likelihood wins (default 1)
  --seed S            random seed (default 0): the same seed gives the same model
  -o MODEL            where to save the model (required)

example: pml gmm fit data.csv --components 3 --covariance diagonal --seed 7 -o model.pml
)"},
    {"gmm predict", R"(pml gmm predict MODEL DATA.csv [--proba] [-o OUT.csv]

Writes the most probable component of each row (column "label"), or with --proba the posterior
probability of every component (columns p0, p1, ...).

example: pml gmm predict model.pml data.csv --proba -o responsibilities.csv
)"},
    {"gmm score", R"(pml gmm score MODEL DATA.csv [-o OUT.csv]

Writes the log-density log p(x) of each row under the mixture (column "log_likelihood").

example: pml gmm score model.pml new_data.csv
)"},
    {"gmm sample", R"(pml gmm sample MODEL -n N [--seed S] [-o OUT.csv]

Draws N samples from the mixture: columns x0, x1, ... and the component "label".

example: pml gmm sample model.pml -n 1000 --seed 3 -o samples.csv
)"},
    {"kmeans", R"(pml kmeans: k-means clustering

  pml kmeans fit DATA.csv -o MODEL [--clusters K] [--restarts R] [--max-iterations N] [--seed S]
  pml kmeans predict MODEL DATA.csv [-o OUT.csv]

Run pml kmeans <command> --help for details.
)"},
    {"kmeans fit", R"(pml kmeans fit DATA.csv -o MODEL [options]

Fits k-means (k-means++ seeds, Lloyd iterations) to the rows of DATA.csv and saves the centres.

  --clusters K        number of clusters (default 8)
  --restarts R        independent starts; the lowest inertia wins (default 1)
  --max-iterations N  Lloyd iterations per start (default 300)
  --seed S            random seed (default 0)
  -o MODEL            where to save the model (required)

example: pml kmeans fit data.csv --clusters 4 --restarts 5 -o centres.pml
)"},
    {"kmeans predict", R"(pml kmeans predict MODEL DATA.csv [-o OUT.csv]

Writes the nearest centre of each row (column "label").

example: pml kmeans predict centres.pml data.csv > labels.csv
)"},
    {"pca", R"(pml pca: principal component analysis

  pml pca fit DATA.csv -o MODEL [--components M] [--whiten]
  pml pca transform MODEL DATA.csv [-o OUT.csv]
  pml pca inverse MODEL CODES.csv [-o OUT.csv]

Run pml pca <command> --help for details.
)"},
    {"pca fit", R"(pml pca fit DATA.csv -o MODEL [--components M] [--whiten]

Finds the M leading principal components of the rows of DATA.csv (M = 0 or omitted: all).

  --components M  number of components to keep (default: all)
  --whiten        scale the projections to unit variance
  -o MODEL        where to save the model (required)

example: pml pca fit data.csv --components 2 -o pca.pml
)"},
    {"pca transform", R"(pml pca transform MODEL DATA.csv [-o OUT.csv]

Writes the projections of the rows onto the components (columns z0, z1, ...).

example: pml pca transform pca.pml data.csv > projections.csv
)"},
    {"pca inverse", R"(pml pca inverse MODEL CODES.csv [-o OUT.csv]

Maps projections back to data space (columns x0, x1, ...).

example: pml pca inverse pca.pml projections.csv -o reconstructed.csv
)"},
    {"ppca", R"(pml ppca: probabilistic PCA (Tipping & Bishop 1999)

  pml ppca fit DATA.csv -o MODEL [--components M] [--solver closed_form|em] [--seed S]
  pml ppca transform MODEL DATA.csv [-o OUT.csv]
  pml ppca score MODEL DATA.csv [-o OUT.csv]
  pml ppca sample MODEL -n N [--seed S] [-o OUT.csv]

Run pml ppca <command> --help for details.
)"},
    {"ppca fit", R"(pml ppca fit DATA.csv -o MODEL [options]

Fits probabilistic PCA by maximum likelihood: the closed form (default) or EM.

  --components M   latent dimension (default 1; less than the data's width)
  --solver NAME    closed_form (default) or em
  --seed S         random seed of EM's start (default 0)
  -o MODEL         where to save the model (required)

example: pml ppca fit data.csv --components 2 --solver em -o ppca.pml
)"},
    {"ppca transform", R"(pml ppca transform MODEL DATA.csv [-o OUT.csv]

Writes the posterior mean E[z|x] of each row (columns z0, z1, ...).

example: pml ppca transform ppca.pml data.csv
)"},
    {"ppca score", R"(pml ppca score MODEL DATA.csv [-o OUT.csv]

Writes log p(x) of each row under the model (column "log_likelihood").

example: pml ppca score ppca.pml new_data.csv
)"},
    {"ppca sample", R"(pml ppca sample MODEL -n N [--seed S] [-o OUT.csv]

Draws N rows from the model (columns x0, x1, ...).

example: pml ppca sample ppca.pml -n 500 --seed 1
)"},
    {"vgmm", R"(pml vgmm: variational Bayesian Gaussian mixture (PRML 10.2)

  pml vgmm fit DATA.csv -o MODEL [--components K] [--weight-prior dirichlet_distribution|dirichlet_process]
                                 [--concentration A] [--max-iterations N] [--seed S]
  pml vgmm predict MODEL DATA.csv [--proba] [-o OUT.csv]
  pml vgmm components MODEL [-o OUT.csv]

Run pml vgmm <command> --help for details.
)"},
    {"vgmm fit", R"(pml vgmm fit DATA.csv -o MODEL [options]

Fits a variational Gaussian mixture with K components to the rows of DATA.csv. With a small weight
concentration the components the data do not need switch off (their expected weight goes to 0), so
K is an upper bound rather than a choice.

  --components K      upper bound on the number of components (default 10)
  --weight-prior P    dirichlet_distribution (symmetric Dirichlet, default) or dirichlet_process
                      (stick-breaking Dirichlet process)
  --concentration A   weight concentration alpha0 (default 1/K); small values switch more components off
  --max-iterations N  coordinate-ascent iterations (default 100)
  --seed S            random seed of the k-means start (default 0)
  -o MODEL            where to save the model (required)

example: pml vgmm fit data.csv --components 10 --concentration 0.001 -o vgmm.pml
)"},
    {"vgmm predict", R"(pml vgmm predict MODEL DATA.csv [--proba] [-o OUT.csv]

Writes the most probable component of each row (column "label"), or with --proba the variational
responsibility of every component (columns p0, p1, ...).

example: pml vgmm predict vgmm.pml data.csv
)"},
    {"vgmm components", R"(pml vgmm components MODEL [-o OUT.csv]

Writes one row per component: its expected weight E[pi_k] and posterior mean (columns weight, mean0,
mean1, ...). Components with weight near 0 were switched off.

example: pml vgmm components vgmm.pml
)"},
    {"blr", R"(pml blr: Bayesian linear regression (PRML 3.3-3.5)

  pml blr fit DATA.csv -o MODEL [--basis BASIS] [--alpha A] [--beta B] [--fixed]
  pml blr predict MODEL X.csv [-o OUT.csv]
  pml blr sample MODEL X.csv -n N [--seed S] [-o OUT.csv]

Run pml blr <command> --help for details.
)"},
    {"blr fit", R"(pml blr fit DATA.csv -o MODEL [options]

Fits Bayesian linear regression to DATA.csv, whose last column is the target and the others the
inputs, on a basis of the inputs. The prior precision alpha and the noise precision beta maximise the
evidence (type-II maximum likelihood) unless --fixed is given.

  --basis BASIS   identity (the inputs and a bias; the default), poly:DEGREE, rbf:COUNT:SCALE or
                  sigmoid:COUNT:SCALE (centres spread over the inputs' range; add :LOW:HIGH to place
                  them). poly, rbf and sigmoid take one input column.
  --alpha A       prior precision of the weights (default 1; the start value unless --fixed)
  --beta B        noise precision (default 1 / variance of the targets; the start value unless --fixed)
  --fixed         keep alpha and beta as given instead of maximising the evidence
  -o MODEL        where to save the model (required; it records the basis)

example: pml blr fit xy.csv --basis poly:3 -o blr.pml
)"},
    {"blr predict", R"(pml blr predict MODEL X.csv [-o OUT.csv]

Writes the predictive mean and standard deviation at each row of X.csv (inputs only), and the
standard deviation split into noise and parameter uncertainty (columns mean, sd, aleatoric_sd,
epistemic_sd).

example: pml blr predict blr.pml x.csv
)"},
    {"blr sample", R"(pml blr sample MODEL X.csv -n N [--seed S] [-o OUT.csv]

Draws N regression functions from the posterior and evaluates them at the rows of X.csv: one column per
function (f0, f1, ...), one row per input.

example: pml blr sample blr.pml grid.csv -n 5 --seed 1
)"},
    {"mcdropout", R"(pml mcdropout: MC dropout regression (Gal & Ghahramani 2016)

  pml mcdropout fit DATA.csv -o MODEL [--targets K] [--hidden 50,50] [--dropout P] [--tau T]
                                      [--length-scale L] [--heteroscedastic] [--epochs N]
                                      [--batch-size B] [--learning-rate R] [--seed S]
  pml mcdropout predict MODEL DATA.csv [--samples T] [--seed S] [-o OUT.csv]

Run pml mcdropout <command> --help for details.
)"},
    {"mcdropout fit", R"(pml mcdropout fit DATA.csv -o MODEL [options]

Trains a dropout network on DATA.csv, whose last K columns are the targets and the others the inputs.

  --targets K        number of target columns at the right (default 1)
  --hidden LIST      hidden layer sizes, comma-separated (default 50,50)
  --dropout P        dropout probability (default 0.05)
  --tau T            observation precision 1/sigma^2 (default 1)
  --length-scale L   prior length-scale; weight decay l^2 (1 - p) / (2 N tau) (default 0.01)
  --heteroscedastic  also learn the noise variance per input (Kendall & Gal 2017)
  --epochs N         passes over the data (default 100)
  --batch-size B     minibatch size (default 32)
  --learning-rate R  Adam's learning rate (default 0.001)
  --seed S           random seed (default 0)
  -o MODEL           where to save the model (required)

example: pml mcdropout fit xy.csv --hidden 64,64 --dropout 0.1 --tau 100 --epochs 400 -o net.pml
)"},
    {"mcdropout predict", R"(pml mcdropout predict MODEL DATA.csv [--samples T] [--seed S] [-o OUT.csv]

Writes the predictive mean and standard deviation of each target from T stochastic passes (columns
mean0, sd0, aleatoric_sd0, epistemic_sd0, ...). DATA.csv holds the inputs only.

example: pml mcdropout predict net.pml x.csv --samples 200
)"},
    {"vae", R"(pml vae: variational auto-encoder (Kingma & Welling 2013)

  pml vae train -o MODEL [--data fashion-mnist | --data FILE.csv] [--latent Z] [--hidden 400]
                         [--epochs N] [--batch-size B] [--learning-rate R] [--limit N] [--seed S]
  pml vae sample MODEL -n N [--seed S] [-o OUT.csv]
  pml vae encode MODEL DATA.csv [-o OUT.csv]

Run pml vae <command> --help for details.
)"},
    {"vae train", R"(pml vae train -o MODEL [options]

Trains a VAE with a Bernoulli decoder (data in [0, 1]) by AEVB with Adam.

  --data SOURCE      fashion-mnist (Debian's dataset-fashion-mnist, the default) or a CSV file
  --latent Z         latent dimension (default 20)
  --hidden LIST      encoder hidden sizes, comma-separated (default 400)
  --epochs N         passes over the data (default 10)
  --batch-size B     minibatch size (default 128)
  --learning-rate R  Adam's learning rate (default 0.001)
  --limit N          use only the first N training rows
  --seed S           random seed (default 0)
  -o MODEL           where to save the model (required)

example: pml vae train --data fashion-mnist --latent 2 --epochs 5 -o vae.pml
)"},
    {"vae sample", R"(pml vae sample MODEL -n N [--seed S] [-o OUT.csv]

Decodes N draws of z ~ N(0, I): one row of D probabilities per sample.

example: pml vae sample vae.pml -n 16 --seed 1 -o images.csv
)"},
    {"vae encode", R"(pml vae encode MODEL DATA.csv [-o OUT.csv]

Writes the mean and log-variance of q(z|x) for each row (columns mean0.., log_var0..) and the KL
divergence to the prior (an outlier score).

example: pml vae encode vae.pml images.csv
)"},
};

int gmm(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, reading({"--components", "--covariance", "--max-iterations", "--restarts", "--seed", "-o"}), {});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::GaussianMixtureOptions<double> o;
    o.components = a.integer("--components", 1, 1);
    o.max_iterations = a.int_option("--max-iterations", 100, 1);
    o.restarts = a.int_option("--restarts", 1, 1);
    o.covariance = choice(a, "--covariance", pml::Covariance::full);
    const Eigen::MatrixXd x = read_data(a.positional[0], a);
    pml::GaussianMixture<double> model(o);
    model.fit(x, a.seed());
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted a %ld-component %s Gaussian mixture to %ld x %ld data: mean log-likelihood %.6g, %d iterations%s; saved %s\n",
                 long(o.components), std::string(pml::enum_name(o.covariance)).c_str(), long(x.rows()), long(x.cols()), double(model.lower_bound()), model.iterations(),
                 model.converged() ? "" : " (not converged)", a.get("-o", "").c_str());
    return 0;
  }
  if (command == "predict" || command == "score") {
    const Args a = parse(argc, argv, first, reading({"-o"}), command == "predict" ? std::set<std::string>{"--proba"} : std::set<std::string>{});
    need_positionals(a, 2, "MODEL DATA.csv");
    const auto model = pml::GaussianMixture<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, model.means().cols(), a.positional[1]);
    if (command == "score") emit(a, model.score_samples(x), {"log_likelihood"});
    else if (a.flag("--proba")) emit(a, model.predict_proba(x), names("p", model.options().components));
    else emit(a, model.predict(x).cast<double>(), {"label"});
    return 0;
  }
  if (command == "sample") {
    const Args a = parse(argc, argv, first, {"-n", "--seed", "-o"}, {});
    need_positionals(a, 1, "MODEL");
    if (!a.has("-n")) throw UsageError("-n N is required (how many samples)");
    const auto model = pml::GaussianMixture<double>::load(a.positional[0]);
    pml::Rng rng(a.seed());
    const auto [x, labels] = model.sample(rng, row_count(a, "-n", model.means().cols() + 1));
    Eigen::MatrixXd out(x.rows(), x.cols() + 1);
    out << x, labels.cast<double>();
    std::vector<std::string> columns = names("x", x.cols());
    columns.push_back("label");
    emit(a, out, columns);
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, predict, score, sample)");
}

int kmeans(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, reading({"--clusters", "--restarts", "--max-iterations", "--seed", "-o"}), {});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::KMeansOptions<double> o;
    o.clusters = a.integer("--clusters", 8, 1);
    o.restarts = a.int_option("--restarts", 1, 1);
    o.max_iterations = a.int_option("--max-iterations", 300, 1);
    const Eigen::MatrixXd x = read_data(a.positional[0], a);
    pml::KMeans<double> model(o);
    model.fit(x, a.seed());
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted k-means with %ld clusters to %ld x %ld data: inertia %.6g, %d iterations; saved %s\n", long(o.clusters),
                 long(x.rows()), long(x.cols()), double(model.inertia()), model.iterations(), a.get("-o", "").c_str());
    return 0;
  }
  if (command == "predict") {
    const Args a = parse(argc, argv, first, reading({"-o"}), {});
    need_positionals(a, 2, "MODEL DATA.csv");
    const auto model = pml::KMeans<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, model.centres().cols(), a.positional[1]);
    emit(a, model.predict(x).cast<double>(), {"label"});
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, predict)");
}

int pca(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, reading({"--components", "-o"}), {"--whiten"});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::PCA<double> model({.components = a.integer("--components", 0, 0), .whiten = a.flag("--whiten")});
    const Eigen::MatrixXd x = read_data(a.positional[0], a);
    model.fit(x);
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted PCA with %ld components to %ld x %ld data; saved %s\n", long(model.components().cols()), long(x.rows()), long(x.cols()),
                 a.get("-o", "").c_str());
    return 0;
  }
  if (command == "transform" || command == "inverse") {
    const Args a = parse(argc, argv, first, reading({"-o"}), {});
    need_positionals(a, 2, command == "transform" ? "MODEL DATA.csv" : "MODEL CODES.csv");
    const auto model = pml::PCA<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    if (command == "transform") {
      check_width(x, model.components().rows(), a.positional[1]);
      emit(a, model.transform(x), names("z", model.components().cols()));
    } else {
      check_width(x, model.components().cols(), a.positional[1]);
      emit(a, model.inverse_transform(x), names("x", model.components().rows()));
    }
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, transform, inverse)");
}

int ppca(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, reading({"--components", "--solver", "--seed", "-o"}), {});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::ProbabilisticPCA<double> model(
        {.components = a.integer("--components", 1, 1), .solver = choice(a, "--solver", pml::PPCASolver::closed_form)});
    const Eigen::MatrixXd x = read_data(a.positional[0], a);
    model.fit(x, a.seed());
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted probabilistic PCA (%ld components, noise variance %.6g) to %ld x %ld data; saved %s\n", long(model.loadings().cols()),
                 double(model.noise_variance()), long(x.rows()), long(x.cols()), a.get("-o", "").c_str());
    return 0;
  }
  if (command == "transform" || command == "score") {
    const Args a = parse(argc, argv, first, reading({"-o"}), {});
    need_positionals(a, 2, "MODEL DATA.csv");
    const auto model = pml::ProbabilisticPCA<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, model.mean().size(), a.positional[1]);
    if (command == "transform") emit(a, model.transform(x), names("z", model.loadings().cols()));
    else emit(a, model.score_samples(x), {"log_likelihood"});
    return 0;
  }
  if (command == "sample") {
    const Args a = parse(argc, argv, first, {"-n", "--seed", "-o"}, {});
    need_positionals(a, 1, "MODEL");
    if (!a.has("-n")) throw UsageError("-n N is required (how many samples)");
    const auto model = pml::ProbabilisticPCA<double>::load(a.positional[0]);
    pml::Rng rng(a.seed());
    emit(a, model.sample(rng, row_count(a, "-n", model.mean().size())), names("x", model.mean().size()));
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, transform, score, sample)");
}

/// Comma-separated positive sizes, e.g. "64,64".
std::vector<Eigen::Index> size_list(const Args& a, const std::string& name, const std::string& fallback) {
  const std::string text = a.get(name, fallback);
  std::vector<Eigen::Index> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    char* stop = nullptr;
    const long v = std::strtol(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0' || v < 1) throw UsageError("option " + name + " needs positive integers separated by commas, got '" + text + "'");
    out.push_back(v);
    start = end + 1;
  }
  return out;
}
double real(const Args& a, const std::string& name, double fallback) {
  if (!a.has(name)) return fallback;
  const std::string& text = a.options.at(name);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw UsageError("option " + name + " needs a number, got '" + text + "'");
  return v;
}

// A number option that must lie in [lo, hi) (or (lo, hi) when open_low): a command-line error otherwise.
double real_in(const Args& a, const std::string& name, double fallback, double lo, double hi, bool open_low, const char* range) {
  const double v = real(a, name, fallback);
  if ((open_low ? !(v > lo) : !(v >= lo)) || !(v < hi)) throw UsageError("option " + name + " must be " + range + ", got " + a.get(name, ""));
  return v;
}

int vgmm(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, reading({"--components", "--weight-prior", "--concentration", "--max-iterations", "--seed", "-o"}), {});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::VariationalGaussianMixtureOptions<double> o;
    o.components = a.integer("--components", 10, 2);  // a Dirichlet weight prior needs two components
    o.max_iterations = a.int_option("--max-iterations", 100, 1);
    o.weight_prior = choice(a, "--weight-prior", pml::WeightPrior::dirichlet_distribution);
    o.weight_concentration = real(a, "--concentration", 0.0);
    if (a.has("--concentration") && !(o.weight_concentration > 0)) throw UsageError("--concentration must be positive");
    const Eigen::MatrixXd x = read_data(a.positional[0], a);
    pml::VariationalGaussianMixture<double> model(o);
    model.fit(x, a.seed());
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted a variational Gaussian mixture (up to %ld components, %ld in use) to %ld x %ld data: ELBO %.6g per row, %d iterations%s; saved %s\n",
                 long(o.components), long(model.effective_components()), long(x.rows()), long(x.cols()), double(model.lower_bound()),
                 model.iterations(), model.converged() ? "" : " (not converged)", a.get("-o", "").c_str());
    return 0;
  }
  if (command == "predict") {
    const Args a = parse(argc, argv, first, reading({"-o"}), {"--proba"});
    need_positionals(a, 2, "MODEL DATA.csv");
    const auto model = pml::VariationalGaussianMixture<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, model.means().cols(), a.positional[1]);
    if (a.flag("--proba")) emit(a, model.predict_proba(x), names("p", model.options().components));
    else emit(a, model.predict(x).cast<double>(), {"label"});
    return 0;
  }
  if (command == "components") {
    const Args a = parse(argc, argv, first, {"-o"}, {});
    need_positionals(a, 1, "MODEL");
    const auto model = pml::VariationalGaussianMixture<double>::load(a.positional[0]);
    Eigen::MatrixXd out(model.means().rows(), model.means().cols() + 1);
    out << model.weights(), model.means();
    std::vector<std::string> columns{"weight"}, means = names("mean", model.means().cols());
    columns.insert(columns.end(), means.begin(), means.end());
    emit(a, out, columns);
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, predict, components)");
}

/// The input width a linear model's basis takes: any for identity (the weights less the bias), else 1.
Eigen::Index basis_inputs(const pml::NamedBasis& basis, Eigen::Index weights) {
  return basis.kind == pml::NamedBasis::Kind::identity ? weights - 1 : 1;
}

pml::BayesianLinearRegression<double> load_blr(const std::string& path, pml::NamedBasis& basis) {
  auto model = pml::BayesianLinearRegression<double>::load(path);
  if (model.options().basis.empty()) throw std::runtime_error("'" + path + "' records no basis (it was not saved by pml blr fit)");
  basis = pml::parse_basis(model.options().basis);
  return model;
}

int blr(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, reading({"--basis", "--alpha", "--beta", "-o"}), {"--fixed"});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::NamedBasis basis;
    try {
      basis = pml::parse_basis(a.get("--basis", "identity"));
    } catch (const std::invalid_argument& e) { throw UsageError(e.what()); }
    const Eigen::MatrixXd data = read_data(a.positional[0], a);
    if (data.cols() < 2)
      throw std::runtime_error("'" + a.positional[0] + "' has 1 column: the last column is the target, so at least one input column is needed");
    const Eigen::MatrixXd x = data.leftCols(data.cols() - 1);
    if (basis.kind != pml::NamedBasis::Kind::identity && x.cols() != 1)
      throw std::runtime_error("'" + a.positional[0] + "' has " + std::to_string(x.cols()) + " input columns; the basis " + basis.str() +
                               " takes one (use --basis identity for several)");
    basis = basis.with_range(x);
    pml::BayesianLinearRegressionOptions<double> o;
    o.alpha = real(a, "--alpha", 1.0);
    o.beta = real(a, "--beta", 0.0);
    if (!(o.alpha > 0)) throw UsageError("--alpha must be positive");
    if (a.has("--beta") && !(o.beta > 0)) throw UsageError("--beta must be positive");
    o.fit_hyperparameters = !a.flag("--fixed");
    o.basis = basis.str();
    pml::BayesianLinearRegression<double> model(o);
    model.fit(basis.design_matrix<double>(x), data.col(data.cols() - 1));
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted Bayesian linear regression on %s to %ld rows: alpha %.6g, beta %.6g (noise sd %.6g), log evidence %.6g; saved %s\n",
                 o.basis.c_str(), long(x.rows()), double(model.alpha()), double(model.beta()), 1 / std::sqrt(double(model.beta())),
                 double(model.log_marginal_likelihood()), a.get("-o", "").c_str());
    return 0;
  }
  if (command == "predict") {
    const Args a = parse(argc, argv, first, reading({"-o"}), {});
    need_positionals(a, 2, "MODEL X.csv");
    pml::NamedBasis basis;
    const auto model = load_blr(a.positional[0], basis);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, basis_inputs(basis, model.mean().size()), a.positional[1]);
    const auto p = model.predict(basis.design_matrix<double>(x));
    Eigen::MatrixXd out(x.rows(), 4);
    out << p.mean, p.variance.cwiseSqrt(), p.aleatoric.cwiseSqrt(), p.epistemic.cwiseSqrt();
    emit(a, out, {"mean", "sd", "aleatoric_sd", "epistemic_sd"});
    return 0;
  }
  if (command == "sample") {
    const Args a = parse(argc, argv, first, reading({"-n", "--seed", "-o"}), {});
    need_positionals(a, 2, "MODEL X.csv");
    if (!a.has("-n")) throw UsageError("-n N is required (how many functions)");
    pml::NamedBasis basis;
    const auto model = load_blr(a.positional[0], basis);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, basis_inputs(basis, model.mean().size()), a.positional[1]);
    pml::Rng rng(a.seed());
    const Eigen::Index n = row_count(a, "-n", x.rows() + model.mean().size());  // n functions at x.rows() inputs, n weight draws
    emit(a, model.sample_functions(rng, basis.design_matrix<double>(x), n), names("f", n));
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, predict, sample)");
}


/// Training progress on standard error: a bar redrawn in place with the loss and the time left on an
/// interactive terminal; a plain line per epoch otherwise (logs, pipes, CI).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const char* label) : label_(label), tty_(isatty(2) != 0), start_(std::chrono::steady_clock::now()) {}
  void operator()(const pml::TrainingProgress& p) {
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

pml::FitOptions fit_options(const Args& a, int epochs, Eigen::Index batch, double rate, const char* label) {
  pml::FitOptions f;
  f.epochs = a.int_option("--epochs", epochs, 1);
  f.batch_size = a.integer("--batch-size", batch, 1);
  f.learning_rate = real(a, "--learning-rate", rate);
  if (!(f.learning_rate > 0)) throw UsageError("--learning-rate must be positive");
  f.progress = ProgressDisplay(label);
  return f;
}

int mcdropout(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first,
                         reading({"--targets", "--hidden", "--dropout", "--tau", "--length-scale", "--epochs", "--batch-size", "--learning-rate", "--seed", "-o"}),
                         {"--heteroscedastic"});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    const Eigen::MatrixXd data = read_data(a.positional[0], a);
    const Eigen::Index k = a.integer("--targets", 1, 1);
    if (k >= data.cols())
      throw std::runtime_error("'" + a.positional[0] + "' has " + std::to_string(data.cols()) + " columns: not enough for " + std::to_string(k) +
                               " target column(s) and at least one input");
    pml::MCDropoutOptions o;
    o.input = data.cols() - k;
    o.output = k;
    o.hidden = size_list(a, "--hidden", "50,50");
    check_network(o.hidden, o.input, 2 * k, sizeof(double));
    o.dropout = real_in(a, "--dropout", 0.05, 0, 1, false, "in [0, 1)");
    o.tau = real_in(a, "--tau", 1.0, 0, HUGE_VAL, true, "positive");
    o.length_scale = real_in(a, "--length-scale", 0.01, 0, HUGE_VAL, true, "positive");
    o.heteroscedastic = a.flag("--heteroscedastic");
    pml::Rng rng(a.seed());
    pml::MCDropoutRegressor<double> model(o, rng);
    model.fit(data.leftCols(o.input), data.rightCols(k), fit_options(a, 100, 32, 1e-3, "mcdropout"), rng);
    const auto& history = model.loss_history();
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "trained MC dropout %ld-...-%ld on %ld rows: final loss %.6g; saved %s\n", long(o.input), long(k), long(data.rows()),
                 double(history.back()), a.get("-o", "").c_str());
    return 0;
  }
  if (command == "predict") {
    const Args a = parse(argc, argv, first, reading({"--samples", "--seed", "-o"}), {});
    need_positionals(a, 2, "MODEL DATA.csv");
    auto model = pml::MCDropoutRegressor<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, model.options().input, a.positional[1]);
    pml::Rng rng(a.seed());
    const auto p = model.predict(x, a.int_option("--samples", 100, 1), rng);
    const Eigen::Index k = p.mean.cols();
    Eigen::MatrixXd out(x.rows(), 4 * k);
    std::vector<std::string> columns;
    for (Eigen::Index j = 0; j < k; ++j) {
      out.col(4 * j) = p.mean.col(j);
      out.col(4 * j + 1) = p.variance.col(j).cwiseSqrt();
      out.col(4 * j + 2) = p.aleatoric.col(j).cwiseSqrt();
      out.col(4 * j + 3) = p.epistemic.col(j).cwiseSqrt();
      for (const char* c : {"mean", "sd", "aleatoric_sd", "epistemic_sd"}) columns.push_back(c + std::to_string(j));
    }
    emit(a, out, columns);
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, predict)");
}

int vae(const std::string& command, int argc, char** argv, int first) {
  if (command == "train") {
    const Args a = parse(argc, argv, first, reading({"--data", "--latent", "--hidden", "--epochs", "--batch-size", "--learning-rate", "--limit", "--seed", "-o"}), {});
    need_positionals(a, 0, "no positional arguments");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the trained model)");
    const std::string source = a.get("--data", "fashion-mnist");
    Eigen::MatrixXf x;
    if (source == "fashion-mnist") x = pml::io::load_fashion_mnist<float>().train_images;
    else x = read_data(source, a).cast<float>();
    if (a.has("--limit")) x.conservativeResize(std::min<Eigen::Index>(x.rows(), a.integer("--limit", 0, 1)), Eigen::NoChange);
    if (x.minCoeff() < 0 || x.maxCoeff() > 1)
      throw std::runtime_error("'" + source + "' has values outside [0, 1]; the Bernoulli decoder needs data in [0, 1]");
    pml::Rng rng(a.seed());
    const std::vector<Eigen::Index> hidden = size_list(a, "--hidden", "400");
    const Eigen::Index latent = a.integer("--latent", 20, 1, 1 << 24);
    check_network(hidden, x.cols(), 2 * latent, 2 * sizeof(float));  // encoder; the decoder mirrors it
    pml::VAE<float> model({.input = x.cols(), .hidden = hidden, .latent = latent}, rng);
    model.fit(x, fit_options(a, 10, 128, 1e-3, "vae"), rng);
    const auto& history = model.elbo_history();
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "trained a VAE on %ld x %ld data: final ELBO %.6g nats per row; saved %s\n", long(x.rows()), long(x.cols()),
                 double(history.back()), a.get("-o", "").c_str());
    return 0;
  }
  if (command == "sample") {
    const Args a = parse(argc, argv, first, {"-n", "--seed", "-o"}, {});
    need_positionals(a, 1, "MODEL");
    if (!a.has("-n")) throw UsageError("-n N is required (how many samples)");
    auto model = pml::VAE<float>::load(a.positional[0]);
    pml::Rng rng(a.seed());
    emit(a, model.sample(rng, row_count(a, "-n", model.options().input)).cast<double>(), {});
    return 0;
  }
  if (command == "encode") {
    const Args a = parse(argc, argv, first, reading({"-o"}), {});
    need_positionals(a, 2, "MODEL DATA.csv");
    auto model = pml::VAE<float>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1], a);
    check_width(x, model.options().input, a.positional[1]);
    const Eigen::MatrixXf xf = x.cast<float>();
    const auto q = model.encode(xf);
    const Eigen::Index z = q.mean.cols();
    Eigen::MatrixXd out(x.rows(), 2 * z + 1);
    out << q.mean.cast<double>(), q.log_variance.cast<double>(), model.kl_divergence(xf).cast<double>();
    std::vector<std::string> columns = names("mean", z), lv = names("log_var", z);
    columns.insert(columns.end(), lv.begin(), lv.end());
    columns.push_back("kl");
    emit(a, out, columns);
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (train, sample, encode)");
}


/// "pml MODEL COMMAND" for error messages.
std::string where = "pml";

int run(int argc, char** argv) {
  try {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
      std::fputs(kHelp.at("").c_str(), stdout);
      return argc < 2 ? 2 : 0;
    }
    const std::string model = argv[1];
    if (model == "--version") {
      std::printf("%s\n", kVersion);
      return 0;
    }
    using Command = int (*)(const std::string&, int, char**, int);
    const std::map<std::string, Command> models = {{"gmm", gmm}, {"kmeans", kmeans}, {"vgmm", vgmm},           {"pca", pca},
                                                   {"ppca", ppca}, {"blr", blr},       {"mcdropout", mcdropout}, {"vae", vae}};
    if (!models.count(model))
      throw UsageError("unknown model '" + model + "' (gmm, kmeans, vgmm, pca, ppca, blr, mcdropout, vae; see pml --help)");
    where += " " + model;
    if (argc < 3 || std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h") {
      std::fputs(kHelp.at(model).c_str(), stdout);
      return argc < 3 ? 2 : 0;
    }
    const std::string command = argv[2];
    where += " " + command;
    for (int i = 3; i < argc; ++i)
      if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
        const auto it = kHelp.find(model + " " + command);
        if (it == kHelp.end()) throw UsageError("unknown command '" + command + "'");
        std::fputs(it->second.c_str(), stdout);
        if (kReadsCsv.count(model + " " + command)) std::fputs(kCsvHelp, stdout);
        return 0;
      }
    return models.at(model)(command, argc, argv, 3);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", where.c_str(), e.what(), where.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", where.c_str(), e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "%s: unknown error\n", where.c_str());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int code = run(argc, argv);
  // Standard output is checked to the end (`pml ... > /dev/full` fails): an error seen before, or a
  // failing close with bytes still pending (a closed stdout with nothing written is not an error).
  const bool pending = __fpending(stdout) != 0, failed_before = std::ferror(stdout) != 0;
  if (std::fclose(stdout) != 0 || failed_before) {
    const int e = errno;
    if (code == 0 && (failed_before || pending || e != EBADF)) {
      std::fprintf(stderr, "%s: cannot write to standard output: %s\n", where.c_str(), std::strerror(e));
      return 1;
    }
  }
  return code;
}
