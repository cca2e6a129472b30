// Predictive bands of three Bayesian neural regressions on 1-D data with a gap (y = sin(3x) + noise,
// x in [-1, -0.5] and [0.5, 1]): MC dropout (Gal & Ghahramani 2016), Bayes by Backprop (Blundell et al.
// 2015) and heteroscedastic MC dropout (Kendall & Gal 2017) whose noise grows with x. Prints how the
// bands widen in the gap and outside the data and the test log-likelihood of MC dropout against the
// same network with standard (deterministic) dropout, and draws
//   mc_dropout_band.svg, bbb_band.svg, heteroscedastic_band.svg
// Runs in a few seconds; --full trains five times longer.
#include <cmath>
#include <cstdio>
#include <cstring>

#include <pml/io/svg.hpp>
#include <pml/models/deep/bayes_by_backprop.hpp>
#include <pml/models/deep/mc_dropout.hpp>

namespace {
// n points of y = sin(3x) + noise(x) with x uniform on [-1, -gap] and [gap, 1]
template <class Noise> void make_data(pml::Rng& rng, Eigen::Index n, double gap, Noise noise, Eigen::MatrixXd& x, Eigen::MatrixXd& y) {
  x.resize(n, 1);
  y.resize(n, 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double u = pml::random::uniform<double>(rng) * 2 * (1 - gap);
    x(i, 0) = u < 1 - gap ? -1 + u : gap + (u - (1 - gap));
    y(i, 0) = std::sin(3 * x(i, 0)) + noise(x(i, 0)) * pml::random::normal<double>(rng);
  }
}
void draw(const char* file, const char* title, const Eigen::VectorXd& grid, const Eigen::VectorXd& mean, const Eigen::VectorXd& sd,
          const Eigen::VectorXd* inner_sd, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
  pml::io::SvgPlot plot(-2, 2, -3, 3);
  plot.title(title);
  plot.band(grid, mean - 2 * sd, mean + 2 * sd, "#1f77b4", 0.2).legend("mean +- 2 sd (total)", "#a5c8e1");
  if (inner_sd) plot.band(grid, mean - 2 * *inner_sd, mean + 2 * *inner_sd, "#d62728", 0.25).legend("mean +- 2 sd (aleatoric)", "#f0a9a9");
  Eigen::VectorXd truth = (3 * grid.array()).sin();
  plot.line(grid, truth, "#999999", 1.5).legend("sin(3x)", "#999999");
  plot.line(grid, mean, "#1f77b4", 2).points(x.col(0), y.col(0), "black", 2.2, 0.7);
  plot.save(file);
  std::printf("wrote %s\n", file);
}
}  // namespace

int main(int argc, char** argv) {
  const int scale = argc > 1 && std::strcmp(argv[1], "--full") == 0 ? 5 : 1;
  pml::Rng rng(3);
  Eigen::MatrixXd x, y, xt, yt;
  auto constant_noise = [](double) { return 0.1; };
  make_data(rng, 160, 0.5, constant_noise, x, y);
  make_data(rng, 400, 0.0, constant_noise, xt, yt);  // test points cover the gap too
  Eigen::VectorXd grid = Eigen::VectorXd::LinSpaced(161, -2, 2);
  Eigen::MatrixXd g = grid;
  Eigen::MatrixXd probe(4, 1);
  probe << -0.75, 0.0, 0.75, 1.8;

  // MC dropout
  pml::MCDropoutRegressor<double> mc({.input = 1, .hidden = {64, 64}, .dropout = 0.1, .length_scale = 1e-2, .tau = 100}, rng);
  mc.fit(x, y, {.epochs = 400 * scale, .batch_size = 32, .learning_rate = 3e-3}, rng);
  const auto pm = mc.predict(g, 200, rng);
  const auto pp = mc.predict(probe, 200, rng);
  std::printf("MC dropout (p = 0.1, l = 0.01, tau = 100), predictive sd at x = -0.75, 0 (gap), 0.75, 1.8 (outside):\n  %.3f %.3f %.3f %.3f\n",
              std::sqrt(pp.variance(0, 0)), std::sqrt(pp.variance(1, 0)), std::sqrt(pp.variance(2, 0)), std::sqrt(pp.variance(3, 0)));
  const double ll_mc = mc.score(xt, yt, 200, rng), ll_standard = mc.score(xt, yt);
  std::printf("test log-likelihood per point (x uniform on [-1, 1]): MC dropout %.3f, standard dropout %.3f\n\n", ll_mc, ll_standard);
  const Eigen::VectorXd mc_sd = pm.variance.col(0).cwiseSqrt();
  draw("mc_dropout_band.svg", "MC dropout: mean +- 2 sd, 200 passes", grid, pm.mean.col(0), mc_sd, nullptr, x, y);

  // Bayes by Backprop
  pml::BayesByBackprop<double> bbb({.input = 1, .hidden = {32, 32}, .prior = pml::nn::BayesPrior::gaussian(1.0), .noise = 0.1, .rho_init = -4}, rng);
  bbb.fit(x, y, {.epochs = 600 * scale, .batch_size = 32, .learning_rate = 1e-2}, rng);
  const auto pb = bbb.predict(g, 200, rng);
  const auto pbp = bbb.predict(probe, 200, rng);
  std::printf("Bayes by Backprop (Gaussian prior), predictive sd at x = -0.75, 0, 0.75, 1.8:\n  %.3f %.3f %.3f %.3f\n\n", std::sqrt(pbp.variance(0, 0)),
              std::sqrt(pbp.variance(1, 0)), std::sqrt(pbp.variance(2, 0)), std::sqrt(pbp.variance(3, 0)));
  draw("bbb_band.svg", "Bayes by Backprop: mean +- 2 sd, 200 weight samples", grid, pb.mean.col(0), pb.variance.col(0).cwiseSqrt(), nullptr, x, y);

  // heteroscedastic MC dropout: noise sd 0.02 at x = -1 rising to 0.4 at x = 1
  Eigen::MatrixXd xh, yh;
  make_data(rng, 300, 0.5, [](double v) { return 0.21 + 0.19 * v; }, xh, yh);
  pml::MCDropoutRegressor<double> het({.input = 1, .hidden = {64, 64}, .dropout = 0.1, .heteroscedastic = true}, rng);
  het.fit(xh, yh, {.epochs = 300 * scale, .batch_size = 32, .learning_rate = 3e-3}, rng);
  const auto ph = het.predict(g, 200, rng);
  const auto php = het.predict(probe, 200, rng);
  std::printf("heteroscedastic MC dropout (true noise sd 0.07, -, 0.35, -): aleatoric sd / epistemic sd at x = -0.75, 0, 0.75, 1.8:\n");
  for (int i = 0; i < 4; ++i) std::printf("  %.3f / %.3f", std::sqrt(php.aleatoric(i, 0)), std::sqrt(php.epistemic(i, 0)));
  std::printf("\n");
  const Eigen::VectorXd aleatoric_sd = ph.aleatoric.col(0).cwiseSqrt();
  draw("heteroscedastic_band.svg", "Heteroscedastic MC dropout: total and aleatoric bands", grid, ph.mean.col(0), ph.variance.col(0).cwiseSqrt(),
       &aleatoric_sd, xh, yh);
  // the band is wider in the gap than where there is data, for both models
  const bool widens = pp.variance(1, 0) > pp.variance(0, 0) && pbp.variance(1, 0) > pbp.variance(0, 0) && pp.variance(3, 0) > pp.variance(2, 0);
  return widens && ll_mc > ll_standard ? 0 : 1;
}
