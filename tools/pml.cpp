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
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <pml/io/csv.hpp>
#include <pml/models/cluster.hpp>
#include <pml/models/latent.hpp>

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
  long integer(const std::string& name, long fallback, long minimum) const {
    if (!has(name)) return fallback;
    const std::string& text = options.at(name);
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') throw UsageError("option " + name + " needs an integer, got '" + text + "'");
    if (v < minimum) throw UsageError("option " + name + " must be at least " + std::to_string(minimum) + ", got " + text);
    return v;
  }
};

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
  return a;
}

void need_positionals(const Args& a, std::size_t n, const char* what) {
  if (a.positional.size() != n)
    throw UsageError("expected " + std::string(what) + ", got " + std::to_string(a.positional.size()) + " argument" + (a.positional.size() == 1 ? "" : "s"));
}

Eigen::MatrixXd read_data(const std::string& path) {
  const auto table = pml::io::read_csv<double>(path);
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
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
}

template <class Model> void check_width(const Model& model, const Eigen::MatrixXd& x, Eigen::Index width, const std::string& path) {
  (void)model;
  if (x.cols() != width)
    throw std::runtime_error("'" + path + "' has " + std::to_string(x.cols()) + " columns but the model was fitted to " + std::to_string(width));
}

std::vector<std::string> names(const char* prefix, Eigen::Index n) {
  std::vector<std::string> out;
  for (Eigen::Index i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// ---- help texts ----
const std::map<std::string, std::string> kHelp = {
    {"", R"(pml - probabilistic models from the command line

usage: pml <model> <command> [arguments] [options]

models and commands:
  gmm     fit | predict | score | sample    Gaussian mixture by EM
  kmeans  fit | predict                     k-means (k-means++ and Lloyd)
  pca     fit | transform | inverse         principal component analysis
  ppca    fit | transform | score | sample  probabilistic PCA (closed form or EM)

Data are CSV files with one sample per row (a header line is detected and skipped); results go to
standard output as CSV unless -o FILE is given. Every command has --help with an example.

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

  pml ppca fit DATA.csv -o MODEL [--components M] [--solver closed|em] [--seed S]
  pml ppca transform MODEL DATA.csv [-o OUT.csv]
  pml ppca score MODEL DATA.csv [-o OUT.csv]
  pml ppca sample MODEL -n N [--seed S] [-o OUT.csv]

Run pml ppca <command> --help for details.
)"},
    {"ppca fit", R"(pml ppca fit DATA.csv -o MODEL [options]

Fits probabilistic PCA by maximum likelihood: the closed form (default) or EM.

  --components M   latent dimension (default 1; less than the data's width)
  --solver NAME    closed (default) or em
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
};

int gmm(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, {"--components", "--covariance", "--max-iterations", "--restarts", "--seed", "-o"}, {});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::GaussianMixtureOptions<double> o;
    o.components = a.integer("--components", 1, 1);
    o.max_iterations = static_cast<int>(a.integer("--max-iterations", 100, 1));
    o.restarts = static_cast<int>(a.integer("--restarts", 1, 1));
    const std::string cov = a.get("--covariance", "full");
    if (cov == "full") o.covariance = pml::Covariance::full;
    else if (cov == "tied") o.covariance = pml::Covariance::tied;
    else if (cov == "diagonal" || cov == "diag") o.covariance = pml::Covariance::diagonal;
    else if (cov == "spherical") o.covariance = pml::Covariance::spherical;
    else throw UsageError("--covariance must be full, tied, diagonal or spherical, got '" + cov + "'");
    const Eigen::MatrixXd x = read_data(a.positional[0]);
    pml::GaussianMixture<double> model(o);
    model.fit(x, static_cast<std::uint64_t>(a.integer("--seed", 0, 0)));
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted a %ld-component %s Gaussian mixture to %ld x %ld data: mean log-likelihood %.6g, %d iterations%s; saved %s\n",
                 long(o.components), cov.c_str(), long(x.rows()), long(x.cols()), double(model.lower_bound()), model.iterations(),
                 model.converged() ? "" : " (not converged)", a.get("-o", "").c_str());
    return 0;
  }
  if (command == "predict" || command == "score") {
    const Args a = parse(argc, argv, first, {"-o"}, command == "predict" ? std::set<std::string>{"--proba"} : std::set<std::string>{});
    need_positionals(a, 2, "MODEL DATA.csv");
    const auto model = pml::GaussianMixture<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1]);
    check_width(model, x, model.means().cols(), a.positional[1]);
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
    pml::Rng rng(static_cast<std::uint64_t>(a.integer("--seed", 0, 0)));
    const auto [x, labels] = model.sample(rng, a.integer("-n", 0, 1));
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
    const Args a = parse(argc, argv, first, {"--clusters", "--restarts", "--max-iterations", "--seed", "-o"}, {});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::KMeansOptions<double> o;
    o.clusters = a.integer("--clusters", 8, 1);
    o.restarts = static_cast<int>(a.integer("--restarts", 1, 1));
    o.max_iterations = static_cast<int>(a.integer("--max-iterations", 300, 1));
    const Eigen::MatrixXd x = read_data(a.positional[0]);
    pml::KMeans<double> model(o);
    model.fit(x, static_cast<std::uint64_t>(a.integer("--seed", 0, 0)));
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted k-means with %ld clusters to %ld x %ld data: inertia %.6g, %d iterations; saved %s\n", long(o.clusters),
                 long(x.rows()), long(x.cols()), double(model.inertia()), model.iterations(), a.get("-o", "").c_str());
    return 0;
  }
  if (command == "predict") {
    const Args a = parse(argc, argv, first, {"-o"}, {});
    need_positionals(a, 2, "MODEL DATA.csv");
    const auto model = pml::KMeans<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1]);
    check_width(model, x, model.centres().cols(), a.positional[1]);
    emit(a, model.predict(x).cast<double>(), {"label"});
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, predict)");
}

int pca(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, {"--components", "-o"}, {"--whiten"});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    pml::PCA<double> model({.components = a.integer("--components", 0, 0), .whiten = a.flag("--whiten")});
    const Eigen::MatrixXd x = read_data(a.positional[0]);
    model.fit(x);
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted PCA with %ld components to %ld x %ld data; saved %s\n", long(model.components().cols()), long(x.rows()), long(x.cols()),
                 a.get("-o", "").c_str());
    return 0;
  }
  if (command == "transform" || command == "inverse") {
    const Args a = parse(argc, argv, first, {"-o"}, {});
    need_positionals(a, 2, command == "transform" ? "MODEL DATA.csv" : "MODEL CODES.csv");
    const auto model = pml::PCA<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1]);
    if (command == "transform") {
      check_width(model, x, model.components().rows(), a.positional[1]);
      emit(a, model.transform(x), names("z", model.components().cols()));
    } else {
      check_width(model, x, model.components().cols(), a.positional[1]);
      emit(a, model.inverse_transform(x), names("x", model.components().rows()));
    }
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, transform, inverse)");
}

int ppca(const std::string& command, int argc, char** argv, int first) {
  if (command == "fit") {
    const Args a = parse(argc, argv, first, {"--components", "--solver", "--seed", "-o"}, {});
    need_positionals(a, 1, "DATA.csv");
    if (!a.has("-o")) throw UsageError("-o MODEL is required (where to save the fitted model)");
    const std::string solver = a.get("--solver", "closed");
    if (solver != "closed" && solver != "em") throw UsageError("--solver must be closed or em, got '" + solver + "'");
    pml::ProbabilisticPCA<double> model(
        {.components = a.integer("--components", 1, 1), .solver = solver == "em" ? pml::PPCASolver::em : pml::PPCASolver::closed_form});
    const Eigen::MatrixXd x = read_data(a.positional[0]);
    model.fit(x, static_cast<std::uint64_t>(a.integer("--seed", 0, 0)));
    model.save(a.get("-o", ""));
    std::fprintf(stderr, "fitted probabilistic PCA (%ld components, noise variance %.6g) to %ld x %ld data; saved %s\n", long(model.loadings().cols()),
                 double(model.noise_variance()), long(x.rows()), long(x.cols()), a.get("-o", "").c_str());
    return 0;
  }
  if (command == "transform" || command == "score") {
    const Args a = parse(argc, argv, first, {"-o"}, {});
    need_positionals(a, 2, "MODEL DATA.csv");
    const auto model = pml::ProbabilisticPCA<double>::load(a.positional[0]);
    const Eigen::MatrixXd x = read_data(a.positional[1]);
    check_width(model, x, model.mean().size(), a.positional[1]);
    if (command == "transform") emit(a, model.transform(x), names("z", model.loadings().cols()));
    else emit(a, model.score_samples(x), {"log_likelihood"});
    return 0;
  }
  if (command == "sample") {
    const Args a = parse(argc, argv, first, {"-n", "--seed", "-o"}, {});
    need_positionals(a, 1, "MODEL");
    if (!a.has("-n")) throw UsageError("-n N is required (how many samples)");
    const auto model = pml::ProbabilisticPCA<double>::load(a.positional[0]);
    pml::Rng rng(static_cast<std::uint64_t>(a.integer("--seed", 0, 0)));
    emit(a, model.sample(rng, a.integer("-n", 0, 1)), names("x", model.mean().size()));
    return 0;
  }
  throw UsageError("unknown command '" + command + "' (fit, transform, score, sample)");
}

}  // namespace

int main(int argc, char** argv) {
  std::string where = "pml";
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
    const std::map<std::string, Command> models = {{"gmm", gmm}, {"kmeans", kmeans}, {"pca", pca}, {"ppca", ppca}};
    if (!models.count(model)) throw UsageError("unknown model '" + model + "' (gmm, kmeans, pca, ppca; see pml --help)");
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
