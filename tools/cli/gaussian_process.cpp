// pml gp: Gaussian-process regression with a kernel written as text (issue 19).
#include <cmath>
#include <cstdio>
#include <string>

#include <pml/models/gaussian_process.hpp>

#include "common.hpp"

namespace pml::cli {

namespace {
// The model type a file holds (a GaussianProcessRegressor, SparseGaussianProcessRegressor or GaussianProcessClassifier).
std::string model_type(const std::string& path) { return io::read_model_file<double>(path).model; }

// The last column of a table as binary labels 0/1. @throw std::runtime_error naming the row otherwise.
IntVector binary_labels(const Eigen::MatrixXd& table, const std::string& source) {
  IntVector t(table.rows());
  for (Eigen::Index i = 0; i < table.rows(); ++i) {
    const double v = table(i, table.cols() - 1);
    if (v != 0 && v != 1)
      throw std::runtime_error("'" + source + "' row " + std::to_string(i + 1) + ": the label " + detail::describe(v) +
                               " is not 0 or 1 (pml gp fit --classify is binary)");
    t(i) = static_cast<long>(v);
  }
  return t;
}
}  // namespace

void add_gaussian_process_commands(Tool& tool) {
  using GPR = GaussianProcessRegressor<double>;
  using SGPR = SparseGaussianProcessRegressor<double>;
  Family& gp = tool.family("gp", "Gaussian-process regression with composable kernels (R&W ch. 2, 5; PRML 6.4)");
  {
    Command& c = gp.command("fit", "fit the kernel's hyperparameters and the posterior, and save them",
                            "Fits Gaussian-process regression to DATA.csv, whose last column is the target and the others the inputs. The "
                            "kernel's free hyperparameters maximise the log marginal likelihood (L-BFGS-B, from the kernel's values and "
                            "from --restarts further starting points drawn within the bounds) unless --fixed is given. Kernels: rbf(l), "
                            "rbf([l1, l2, ...]) (one length scale per input column), matern(l, nu=0.5|1.5|2.5), rational_quadratic(l, "
                            "alpha), exp_sine_squared(l, periodicity), dot_product(sigma_0), constant(c), white(noise_level); joined "
                            "by + and *, with parentheses; a number before * is a constant kernel. Bounds: rbf(1, "
                            "length_scale_bounds=[1e-2, 1e2]) or white(0.1, noise_level_bounds=fixed). With --inducing-points M the "
                            "model is the sparse GP of Titsias (2009): M inducing inputs (k-means centres of the inputs, and with "
                            "--optimize-inducing maximised with the hyperparameters), O(N M^2) time; the noise is then its own "
                            "variance (--noise-variance, fitted unless --fixed) and the kernel has no white term. With --classify the "
                            "last column holds labels 0/1 and the model is the binary Laplace classifier (R&W ch. 3, PRML 6.4.5-6.4.6).",
                            "pml gp fit xy.csv --kernel '1 * rbf(1) + white(0.1)' --restarts 3 -o gp.pml\n"
                            "  pml gp fit big.csv --kernel '1 * rbf([1, 1])' --inducing-points 200 -o sgp.pml\n"
                            "  pml gp fit labelled.csv --classify --kernel '1 * rbf(1)' -o gpc.pml");
    const auto data = c.input("DATA.csv", "inputs and, in the last column, the target");
    const auto model = c.model_output();
    const auto kernel = c.parsed<Kernel<double>>("--kernel", "KERNEL", "the prior covariance (see above)", "1 * rbf(1) + white(1)",
                                                 [](const std::string& text) { return Kernel<double>::parse(text); });
    const auto alpha = c.real("--alpha", "A", "added to the kernel matrix's diagonal: a known noise variance or a jitter", 1e-10, kNonNegative);
    const auto restarts = c.integer<int>("--restarts", "R", "further optimiser runs from random starting points", 0, 0, 1000);
    const auto normalize = c.flag("--normalize-y", "standardise the targets before fitting (predictions are scaled back)");
    const auto fixed = c.flag("--fixed", "keep the kernel's hyperparameters as given");
    const auto inducing = c.integer<long>("--inducing-points", "M", "fit the sparse GP with M inducing inputs (0: the exact GP)", 0, 0, 1000000);
    const auto optimize_inducing = c.flag("--optimize-inducing", "sparse GP: optimise the inducing inputs with the hyperparameters");
    const auto noise = c.real("--noise-variance", "S", "sparse GP: the noise variance (its start value when fitted)", 1.0, kPositive);
    const auto classify = c.flag("--classify", "binary classification (labels 0/1 in the last column; Laplace approximation)");
    const auto seed = c.seed("random seed of the restarts' starting points");
    const auto csv = c.csv();
    c.action([=] {
      const Eigen::MatrixXd table = read_data(*data, *csv);
      if (table.cols() < 2)
        throw std::runtime_error("'" + *data + "' has 1 column: the last column is the target, so at least one input column is needed");
      Rng rng(*seed);
      if (*classify) {
        if (*inducing > 0 || *optimize_inducing || *normalize)
          throw std::invalid_argument("--classify takes none of --inducing-points, --optimize-inducing, --normalize-y");
        GaussianProcessClassifier<double> m(*kernel, {.optimize = !*fixed, .n_restarts_optimizer = *restarts});
        m.fit(table.leftCols(table.cols() - 1), binary_labels(table, *data), rng);
        m.save(*model);
        std::fprintf(stderr, "fitted a Gaussian-process classifier to %ld rows: kernel %s, approximate log marginal likelihood %.10g%s; saved %s\n",
                     long(table.rows()), m.kernel().to_string().c_str(), m.log_marginal_likelihood(),
                     m.converged() ? "" : " (an optimiser run stopped before its tolerance)", model->c_str());
        return;
      }
      if (*inducing > 0) {
        SGPR m(*kernel, {.inducing_points = *inducing, .noise_variance = *noise, .noise_variance_lower = std::min(1e-6, *noise),
                         .noise_variance_upper = std::max(1e5, *noise), .optimize = !*fixed, .n_restarts_optimizer = *restarts,
                         .normalize_y = *normalize, .optimize_inducing_inputs = *optimize_inducing});
        m.fit(table.leftCols(table.cols() - 1), table.col(table.cols() - 1), rng);
        m.save(*model);
        std::fprintf(stderr, "fitted a sparse Gaussian process (%ld inducing inputs%s) to %ld rows: kernel %s, noise variance %.6g, bound %.10g%s; saved %s\n",
                     long(m.inducing_inputs().rows()), *optimize_inducing ? ", optimised" : "", long(table.rows()), m.kernel().to_string().c_str(),
                     m.noise_variance(), m.elbo(), m.converged() ? "" : " (an optimiser run stopped before its tolerance)", model->c_str());
        return;
      }
      if (*optimize_inducing) throw std::invalid_argument("--optimize-inducing needs --inducing-points M (the sparse GP)");
      GPR m(*kernel, {.alpha = *alpha, .optimize = !*fixed, .n_restarts_optimizer = *restarts, .normalize_y = *normalize});
      m.fit(table.leftCols(table.cols() - 1), table.col(table.cols() - 1), rng);
      m.save(*model);
      std::fprintf(stderr, "fitted a Gaussian process to %ld rows: kernel %s, log marginal likelihood %.10g", long(table.rows()),
                   m.kernel().to_string().c_str(), m.log_marginal_likelihood());
      if (m.jitter() > 0) std::fprintf(stderr, ", jitter %g added to the diagonal", m.jitter());
      std::fprintf(stderr, "%s; saved %s\n", m.converged() ? "" : " (an optimiser run stopped before its tolerance)", model->c_str());
    });
  }
  {
    Command& c = gp.command("predict", "the predictive mean and sd at each input",
                            "Writes the posterior mean and standard deviation of the latent function at each row of X.csv (inputs only; "
                            "columns mean, sd). A white kernel's noise is part of the sd; the --alpha of the fit is not. For a sparse "
                            "model the sd is the latent function's (the fitted noise variance is not in it). For a classifier: "
                            "columns probability (of class 1, averaged over the latent posterior), label, latent_mean, latent_sd.",
                            "pml gp predict gp.pml x.csv");
    const auto model = c.input("MODEL", "a model saved by pml gp fit");
    const auto inputs = c.input("X.csv", "the inputs, one row per prediction");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      Prediction<double> p;
      Eigen::Index rows = 0;
      const std::string type = model_type(*model);
      if (type == GaussianProcessClassifier<double>::model_name) {
        const GaussianProcessClassifier<double> m = GaussianProcessClassifier<double>::load(*model);
        const Eigen::MatrixXd x = read_data(*inputs, *csv, m.x_train().cols());
        const auto latent = m.predict_latent(x);
        const Eigen::VectorXd prob = m.predict_proba(x);
        Eigen::MatrixXd table(x.rows(), 4);
        table << prob, m.predict(x).cast<double>(), latent.mean, latent.variance.cwiseSqrt();
        emit(*out, table, {"probability", "label", "latent_mean", "latent_sd"});
        return;
      }
      if (type != GPR::model_name && type != SparseGaussianProcessRegressor<double>::model_name)
        throw std::runtime_error("'" + *model + "' holds " + (type.empty() ? std::string("no model type") : "a " + type) +
                                 ", not a Gaussian process fitted by pml gp fit");
      if (type == SparseGaussianProcessRegressor<double>::model_name) {
        const SGPR m = SGPR::load(*model);
        const Eigen::MatrixXd x = read_data(*inputs, *csv, m.inducing_inputs().cols());
        p = m.predict(x);
        rows = x.rows();
      } else {
        const GPR m = GPR::load(*model);
        const Eigen::MatrixXd x = read_data(*inputs, *csv, m.x_train().cols());
        p = m.predict(x);
        rows = x.rows();
      }
      Eigen::MatrixXd table(rows, 2);
      table << p.mean, p.variance.cwiseSqrt();
      emit(*out, table, {"mean", "sd"});
    });
  }
  {
    Command& c = gp.command("sample", "functions drawn from the posterior (or the prior)",
                            "Draws N functions from the posterior of a fitted model (with --prior: from the prior of its fitted kernel) and "
                            "evaluates them at the rows of X.csv: one column per function (f0, f1, ...), one row per input.",
                            "pml gp sample gp.pml grid.csv -n 5 --seed 1");
    const auto model = c.input("MODEL", "a model saved by pml gp fit");
    const auto inputs = c.input("X.csv", "the inputs at which to evaluate the functions");
    const auto n = c.count("-n", "N", "how many functions");
    const auto prior = c.flag("--prior", "draw from the prior GP(0, k) of the fitted kernel instead of the posterior");
    const auto seed = c.seed();
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      if (model_type(*model) != GPR::model_name)
        throw std::invalid_argument("'" + *model + "' holds a " + model_type(*model) +
                                    ", which draws no functions here; fit the exact regressor (no --inducing-points, no --classify)");
      const GPR m = GPR::load(*model);
      const Eigen::MatrixXd x = read_data(*inputs, *csv, m.x_train().cols());
      Rng rng(*seed);
      row_count(x.rows(), "X.csv's rows", 4 * x.rows());  // the covariance of the rows (and its factor) must fit in memory
      const Eigen::Index functions = row_count(*n, "-n", x.rows());
      const Eigen::MatrixXd f = *prior ? GPR(m.kernel()).sample_y(rng, x, functions) : m.sample_y(rng, x, functions);
      emit(*out, f, names("f", functions));
    });
  }
}

}  // namespace pml::cli
