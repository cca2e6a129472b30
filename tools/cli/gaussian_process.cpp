// pml gp: Gaussian-process regression with a kernel written as text (issue 19).
#include <cmath>
#include <cstdio>
#include <string>

#include <pml/models/gaussian_process.hpp>

#include "common.hpp"

namespace pml::cli {

void add_gaussian_process_commands(Tool& tool) {
  using GPR = GaussianProcessRegressor<double>;
  Family& gp = tool.family("gp", "Gaussian-process regression with composable kernels (R&W ch. 2, 5; PRML 6.4)");
  {
    Command& c = gp.command("fit", "fit the kernel's hyperparameters and the posterior, and save them",
                            "Fits Gaussian-process regression to DATA.csv, whose last column is the target and the others the inputs. The "
                            "kernel's free hyperparameters maximise the log marginal likelihood (L-BFGS-B, from the kernel's values and "
                            "from --restarts further starting points drawn within the bounds) unless --fixed is given. Kernels: rbf(l), "
                            "rbf([l1, l2, ...]) (one length scale per input column), matern(l, nu=0.5|1.5|2.5), rational_quadratic(l, "
                            "alpha), exp_sine_squared(l, periodicity), dot_product(sigma_0), constant(c), white(noise_level); joined "
                            "by + and *, with parentheses; a number before * is a constant kernel. Bounds: rbf(1, "
                            "length_scale_bounds=[1e-2, 1e2]) or white(0.1, noise_level_bounds=fixed).",
                            "pml gp fit xy.csv --kernel '1 * rbf(1) + white(0.1)' --restarts 3 -o gp.pml");
    const auto data = c.input("DATA.csv", "inputs and, in the last column, the target");
    const auto model = c.model_output();
    const auto kernel = c.parsed<Kernel<double>>("--kernel", "KERNEL", "the prior covariance (see above)", "1 * rbf(1) + white(1)",
                                                 [](const std::string& text) { return Kernel<double>::parse(text); });
    const auto alpha = c.real("--alpha", "A", "added to the kernel matrix's diagonal: a known noise variance or a jitter", 1e-10, kNonNegative);
    const auto restarts = c.integer<int>("--restarts", "R", "further optimiser runs from random starting points", 0, 0, 1000);
    const auto normalize = c.flag("--normalize-y", "standardise the targets before fitting (predictions are scaled back)");
    const auto fixed = c.flag("--fixed", "keep the kernel's hyperparameters as given");
    const auto seed = c.seed("random seed of the restarts' starting points");
    const auto csv = c.csv();
    c.action([=] {
      const Eigen::MatrixXd table = read_data(*data, *csv);
      if (table.cols() < 2)
        throw std::runtime_error("'" + *data + "' has 1 column: the last column is the target, so at least one input column is needed");
      GPR m(*kernel, {.alpha = *alpha, .optimize = !*fixed, .n_restarts_optimizer = *restarts, .normalize_y = *normalize});
      Rng rng(*seed);
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
                            "columns mean, sd). A white kernel's noise is part of the sd; the --alpha of the fit is not.",
                            "pml gp predict gp.pml x.csv");
    const auto model = c.input("MODEL", "a model saved by pml gp fit");
    const auto inputs = c.input("X.csv", "the inputs, one row per prediction");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const GPR m = GPR::load(*model);
      const Eigen::MatrixXd x = read_data(*inputs, *csv, m.x_train().cols());
      const auto p = m.predict(x);
      Eigen::MatrixXd table(x.rows(), 2);
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
