// Gaussian-process regression (issue 19 §1; Rasmussen & Williams ch. 2 and §5.4.3, PRML §6.4):
//  1. functions drawn from three priors — squared exponential, Matérn 1/2 and periodic — the seed's figure of
//     prior draws (gp_prior_draws.svg);
//  2. the posterior after seven noisy points of sin(x): mean, 95% band and three posterior draws, with the
//     hyperparameters fitted by maximising the log marginal likelihood (gp_posterior.svg);
//  3. the Mauna Loa CO2 series (R's datasets::co2, 468 months 1959-1997, exported by data/export_r_datasets.R)
//     with the composite kernel of R&W §5.4.3 — a long-term trend, a decaying yearly cycle, medium-term
//     irregularities and noise — fitted on all but the last 24 months; the forecast band over those months
//     and 8 years beyond, and its coverage of the held-out months (gp_mauna_loa.svg).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "pml/core/random.hpp"
#include "pml/io/csv.hpp"
#include "pml/io/svg.hpp"
#include "pml/models/gaussian_process.hpp"

namespace {
using K = pml::Kernel<double>;
using GPR = pml::GaussianProcessRegressor<double>;

Eigen::VectorXd grid(double lo, double hi, Eigen::Index n) { return Eigen::VectorXd::LinSpaced(n, lo, hi); }

void prior_draws() {
  const Eigen::VectorXd x = grid(-5, 5, 300);
  pml::io::SvgPlot plot(-5, 5, -3.2, 3.2, 760, 420);
  plot.title("Functions drawn from three GP priors");
  struct Prior {
    const char* text;
    const char* colour;
  };
  pml::Rng rng(3);
  for (const Prior& p : {Prior{"rbf(1)", "#1f77b4"}, Prior{"matern(1, nu=0.5)", "#d62728"}, Prior{"exp_sine_squared(1, 3)", "#2ca02c"}}) {
    // before fit() a regressor samples its prior; jitter keeps the 300 x 300 covariance factorisable
    const Eigen::MatrixXd f = GPR(K::parse(p.text)).sample_y(rng, x, 2);
    for (Eigen::Index c = 0; c < f.cols(); ++c) plot.line(x, f.col(c), p.colour, 1.4);
    plot.legend(std::string("k = ") + p.text, p.colour);
  }
  plot.save("gp_prior_draws.svg");
  std::printf("wrote gp_prior_draws.svg (two draws from each of rbf(1), matern(1, nu=0.5), exp_sine_squared(1, 3))\n");
}

void posterior() {
  pml::Rng rng(5);
  Eigen::MatrixXd x(7, 1);
  x << -4.0, -2.7, -1.9, 0.3, 1.1, 2.5, 3.9;
  Eigen::VectorXd y = x.col(0).array().sin();
  for (Eigen::Index i = 0; i < y.size(); ++i) y(i) += 0.1 * pml::random::normal<double>(rng);
  GPR gp(K::parse("1 * rbf(1) + white(0.01)"), {.n_restarts_optimizer = 3});
  gp.fit(x, y, rng);
  const Eigen::VectorXd xs = grid(-5, 5, 300);
  const auto p = gp.predict(xs);
  const Eigen::VectorXd sd = p.variance.col(0).cwiseSqrt();
  pml::io::SvgPlot plot(-5, 5, -2.5, 2.5, 760, 420);
  plot.title("GP posterior after 7 points: mean, 95% band, 3 draws");
  plot.band(xs, p.mean.col(0) - 1.96 * sd, p.mean.col(0) + 1.96 * sd, "#1f77b4", 0.2).legend("95% band", "#a5c8e1");
  const Eigen::MatrixXd draws = gp.sample_y(rng, xs, 3);
  for (Eigen::Index c = 0; c < draws.cols(); ++c) plot.line(xs, draws.col(c), "#9467bd", 0.9);
  plot.line(xs, p.mean.col(0), "#1f77b4", 2).legend("posterior mean", "#1f77b4");
  plot.line(xs, xs.array().sin().matrix(), "#333333", 1).legend("sin(x)", "#333333");
  plot.points(x.col(0), y, "black", 3.5, 1.0);
  plot.save("gp_posterior.svg");
  std::printf("wrote gp_posterior.svg: fitted kernel %s, log marginal likelihood %.4f\n", gp.kernel().to_string().c_str(),
              gp.log_marginal_likelihood());
}

void mauna_loa() {
  const std::filesystem::path path = std::filesystem::path(PML_EXAMPLE_DATA) / "co2.csv";
  const Eigen::MatrixXd table = pml::io::read_csv<double>(path).data;  // year, month, ppm
  const Eigen::Index n = table.rows(), horizon = 24, train = n - horizon;
  const Eigen::VectorXd t = table.col(0).array() + (table.col(1).array() - 1.0) / 12.0;
  const Eigen::VectorXd y = table.col(2);
  // R&W §5.4.3 (and scikit-learn's example): trend + decaying yearly cycle + irregularities + noise
  const std::string kernel =
      "2500 * rbf(50) + 4 * rbf(100) * exp_sine_squared(1, periodicity=1, periodicity_bounds=fixed) + "
      "0.25 * rational_quadratic(1, 1) + 0.01 * rbf(0.1) + white(0.01)";
  // the targets are centred (R&W model CO2 minus its mean); normalize_y would also scale them
  const double mean = y.head(train).mean();
  GPR gp(K::parse(kernel));
  const auto start = std::chrono::steady_clock::now();
  gp.fit(t.head(train), (y.head(train).array() - mean).matrix());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Eigen::VectorXd ts = grid(t(0), t(n - 1) + 8.0, 800);
  const auto p = gp.predict(ts);
  const Eigen::VectorXd lo = p.mean.col(0).array() + mean - 1.645 * p.variance.col(0).array().sqrt();
  const Eigen::VectorXd hi = p.mean.col(0).array() + mean + 1.645 * p.variance.col(0).array().sqrt();
  const auto held = gp.predict(t.tail(horizon));
  const Eigen::ArrayXd z = (y.tail(horizon).array() - mean - held.mean.col(0).array()) / held.variance.col(0).array().sqrt();
  const double covered = (z.abs() <= 1.645).cast<double>().mean();
  const double rmse = std::sqrt((y.tail(horizon).array() - mean - held.mean.col(0).array()).square().mean());
  pml::io::SvgPlot plot(ts(0), ts(ts.size() - 1), 310, 385, 820, 440);
  plot.title("Mauna Loa CO2 (ppm): GP with the R&W 5.4.3 kernel, 90% band; the last 24 months held out");
  plot.band(ts, lo, hi, "#1f77b4", 0.25).legend("90% band", "#a5c8e1");
  plot.line(ts, (p.mean.col(0).array() + mean).matrix(), "#1f77b4", 1.2).legend("posterior mean", "#1f77b4");
  plot.line(t.head(train), y.head(train), "#333333", 0.8).legend("fitted months", "#333333");
  plot.points(t.tail(horizon), y.tail(horizon), "#d62728", 2.0, 0.9);
  plot.legend("held-out months", "#d62728");
  plot.save("gp_mauna_loa.svg");
  std::printf("\nMauna Loa CO2, %ld months fitted (%.1f s, %d log-ML evaluations%s):\n  kernel %s\n  log marginal likelihood %.3f\n",
              long(train), seconds, gp.evaluations(), gp.converged() ? "" : ", not converged", gp.kernel().to_string().c_str(),
              gp.log_marginal_likelihood());
  std::printf("  last %ld months: RMSE %.3f ppm, 90%% band covers %.0f%% of them; wrote gp_mauna_loa.svg\n", long(horizon), rmse, 100 * covered);
}
}  // namespace

int main() {
  prior_draws();
  posterior();
  mauna_loa();
}
