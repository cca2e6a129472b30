// pml blr: Bayesian linear regression on a named basis.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include <pml/models/linear.hpp>

#include "common.hpp"

namespace pml::cli {
namespace {

/// The input width a linear model's basis takes: any for identity (the weights less the bias), else 1.
Eigen::Index basis_inputs(const NamedBasis& basis, Eigen::Index weights) { return basis.kind == NamedBasis::Kind::identity ? weights - 1 : 1; }

/// A model saved by pml blr fit, and the basis it records.
BayesianLinearRegression<double> load_blr(const std::string& path, NamedBasis& basis) {
  auto model = BayesianLinearRegression<double>::load(path);
  if (model.options().basis.empty()) throw std::runtime_error("'" + path + "' records no basis (it was not saved by pml blr fit)");
  basis = parse_basis(model.options().basis);
  return model;
}

}  // namespace

void add_linear_commands(Tool& tool) {
  Family& blr = tool.family("blr", "Bayesian linear regression on a basis, with predictive sd (PRML 3.3-3.5)");
  {
    Command& c = blr.command("fit", "fit the weights' posterior and save it",
                             "Fits Bayesian linear regression to DATA.csv, whose last column is the target and the others the inputs, on a "
                             "basis of the inputs. The prior precision alpha and the noise precision beta maximise the evidence (type-II "
                             "maximum likelihood) unless --fixed is given.",
                             "pml blr fit xy.csv --basis poly:3 -o blr.pml");
    const auto data = c.input("DATA.csv", "inputs and, in the last column, the target");
    const auto model = c.model_output();
    const auto basis = c.parsed<NamedBasis>("--basis", "BASIS",
                                            "identity (the inputs and a bias), poly:DEGREE, rbf:COUNT:SCALE or sigmoid:COUNT:SCALE (centres spread over "
                                            "the inputs' range; add :LOW:HIGH to place them). poly, rbf and sigmoid take one input column",
                                            "identity", [](const std::string& text) { return parse_basis(text); });
    const auto alpha = c.real("--alpha", "A", "prior precision of the weights; the start value unless --fixed", 1.0, kPositive);
    const auto beta = c.optional_real("--beta", "B", "noise precision; the start value unless --fixed", "1 / variance of the targets", kPositive);
    const auto fixed = c.flag("--fixed", "keep alpha and beta as given instead of maximising the evidence");
    const auto csv = c.csv();
    c.sharded();
    c.action([=] {
      // this rank's share of the rows (all of them on one process); the width and the basis' range are the
      // same on every rank (taken over all of them), so every rank fits the same model
      Eigen::Index n = 0;
      const Eigen::MatrixXd table = read_shard(*data, *csv, n);
      const Eigen::Index width = pml::detail::shared_columns(ranks(), "pml blr fit", table.rows(), table.cols());
      if (width < 2)
        throw std::runtime_error("'" + *data + "' has 1 column: the last column is the target, so at least one input column is needed");
      const Eigen::MatrixXd x = table.rows() > 0 ? Eigen::MatrixXd(table.leftCols(width - 1)) : Eigen::MatrixXd(0, width - 1);
      const Eigen::VectorXd t = table.rows() > 0 ? Eigen::VectorXd(table.col(width - 1)) : Eigen::VectorXd(0);
      if (basis->kind != NamedBasis::Kind::identity && x.cols() != 1)
        throw std::runtime_error("'" + *data + "' has " + std::to_string(x.cols()) + " input columns; the basis " + basis->str() +
                                 " takes one (use --basis identity for several)");
      NamedBasis placed = *basis;
      if (!placed.has_range()) {  // the centres spread over the inputs of every rank
        const double inf = std::numeric_limits<double>::infinity();
        Eigen::MatrixXd ends(2, 1);
        ends << -pml::detail::all_max(ranks(), x.rows() > 0 ? -x.col(0).minCoeff() : -inf),
            pml::detail::all_max(ranks(), x.rows() > 0 ? x.col(0).maxCoeff() : -inf);
        placed = placed.with_range(ends);
      }
      BayesianLinearRegressionOptions<double> o;
      o.alpha = *alpha;
      o.beta = beta->value_or(0.0);  // 0: the model's 1 / var(t)
      o.fit_hyperparameters = !*fixed;
      o.basis = placed.str();
      BayesianLinearRegression<double> m(o);
      m.fit(ranks(), placed.design_matrix<double>(x), t);
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "fitted Bayesian linear regression on %s to %ld rows%s: alpha %.6g, beta %.6g (noise sd %.6g), log evidence %.6g; saved %s\n",
                   o.basis.c_str(), long(n), ranks().size() > 1 ? (" on " + std::to_string(ranks().size()) + " ranks").c_str() : "", double(m.alpha()),
                   double(m.beta()), 1 / std::sqrt(double(m.beta())), double(m.log_marginal_likelihood()), model->c_str());
    });
  }
  {
    Command& c = blr.command("predict", "the predictive mean and sd at each input",
                             "Writes the predictive mean and standard deviation at each row of X.csv (inputs only), and the standard deviation "
                             "split into noise and parameter uncertainty (columns mean, sd, aleatoric_sd, epistemic_sd).",
                             "pml blr predict blr.pml x.csv");
    const auto model = c.input("MODEL", "a model saved by pml blr fit");
    const auto inputs = c.input("X.csv", "the inputs, one row per prediction");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      NamedBasis basis;
      const auto m = load_blr(*model, basis);
      const Eigen::MatrixXd x = read_data(*inputs, *csv, basis_inputs(basis, m.mean().size()));
      const auto p = m.predict(basis.design_matrix<double>(x));
      Eigen::MatrixXd table(x.rows(), 4);
      table << p.mean, p.variance.cwiseSqrt(), p.aleatoric.cwiseSqrt(), p.epistemic.cwiseSqrt();
      emit(*out, table, {"mean", "sd", "aleatoric_sd", "epistemic_sd"});
    });
  }
  {
    Command& c = blr.command("sample", "regression functions drawn from the posterior",
                             "Draws N regression functions from the posterior and evaluates them at the rows of X.csv: one column per function "
                             "(f0, f1, ...), one row per input.",
                             "pml blr sample blr.pml grid.csv -n 5 --seed 1");
    const auto model = c.input("MODEL", "a model saved by pml blr fit");
    const auto inputs = c.input("X.csv", "the inputs at which to evaluate the functions");
    const auto n = c.count("-n", "N", "how many functions");
    const auto seed = c.seed();
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      NamedBasis basis;
      const auto m = load_blr(*model, basis);
      const Eigen::MatrixXd x = read_data(*inputs, *csv, basis_inputs(basis, m.mean().size()));
      Rng rng(*seed);
      const Eigen::Index functions = row_count(*n, "-n", x.rows() + m.mean().size());  // n functions at x.rows() inputs, n weight draws
      emit(*out, m.sample_functions(rng, basis.design_matrix<double>(x), functions), names("f", functions));
    });
  }
}

}  // namespace pml::cli
