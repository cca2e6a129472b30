// A regime-switching series decoded by a hidden Markov model (issue 19 §2; PRML §13.2): 1 500 daily "returns"
// drawn from two regimes — calm (mean 0.05, sd 0.5) and turbulent (mean -0.1, sd 2), each persisting for
// weeks — and a 2-state Gaussian HMM fitted by Baum-Welch (5 restarts) without seeing the regimes. The fitted
// parameters are printed beside the true ones, the Viterbi path is compared with the true regimes, and
// hmm_regimes.svg draws the series coloured by the decoded state with the posterior probability of the
// turbulent state below it.
#include <cmath>
#include <cstdio>

#include "pml/io/svg.hpp"
#include "pml/models/sequence/hidden_markov_model.hpp"

int main() {
  using HMM = pml::HiddenMarkovModel<double>;
  HMM truth({.states = 2, .emission = pml::HMMEmission::gaussian_diagonal});
  Eigen::Matrix2d a;
  a << 0.98, 0.02, 0.05, 0.95;
  Eigen::Vector2d means(0.05, -0.1);
  truth.set_parameters(Eigen::Vector2d(0.8, 0.2), a, Eigen::MatrixXd(), means, {(Eigen::MatrixXd(2, 1) << 0.25, 4.0).finished()});
  pml::Rng rng(2026);
  const auto [x, z] = truth.sample(rng, 1500);

  HMM model({.states = 2, .emission = pml::HMMEmission::gaussian_diagonal, .restarts = 5});
  model.fit(x, {}, rng);
  // name the fitted states by their spread: the turbulent one has the larger variance
  const auto covs = model.covariances();
  const Eigen::Index turbulent = covs[1](0, 0) > covs[0](0, 0) ? 1 : 0, calm = 1 - turbulent;
  std::printf("2-state Gaussian HMM on 1500 steps (Baum-Welch, 5 restarts, %d iterations%s), log-likelihood %.2f (true parameters: %.2f)\n",
              model.iterations(), model.converged() ? "" : ", not converged", model.log_likelihood(), truth.log_likelihood(x));
  std::printf("%-10s %12s %12s %12s %12s\n", "state", "mean", "true mean", "sd", "true sd");
  std::printf("%-10s %12.3f %12.3f %12.3f %12.3f\n", "calm", model.means()(calm, 0), 0.05, std::sqrt(covs[std::size_t(calm)](0, 0)), 0.5);
  std::printf("%-10s %12.3f %12.3f %12.3f %12.3f\n", "turbulent", model.means()(turbulent, 0), -0.1, std::sqrt(covs[std::size_t(turbulent)](0, 0)), 2.0);
  std::printf("staying probabilities: calm %.3f (true 0.98), turbulent %.3f (true 0.95)\n", model.transitions()(calm, calm),
              model.transitions()(turbulent, turbulent));
  const pml::IntVector path = model.predict(x);
  Eigen::Index right = 0;
  for (Eigen::Index t = 0; t < x.rows(); ++t) right += (path(t) == turbulent) == (z(t) == 1) ? 1 : 0;
  std::printf("the Viterbi path names the true regime on %.1f%% of the days\n", 100.0 * double(right) / double(x.rows()));

  const Eigen::MatrixXd proba = model.predict_proba(x);
  const Eigen::VectorXd t = Eigen::VectorXd::LinSpaced(x.rows(), 0, double(x.rows() - 1));
  pml::io::SvgPlot plot(0, double(x.rows()), -11, 8, 900, 420);
  plot.title("Regimes decoded by a 2-state HMM: returns coloured by the Viterbi state; P(turbulent) below");
  Eigen::VectorXd tc(x.rows()), yc(x.rows()), tt(x.rows()), yt(x.rows());
  Eigen::Index nc = 0, nt = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    if (path(i) == turbulent) {
      tt(nt) = t(i);
      yt(nt++) = x(i, 0);
    } else {
      tc(nc) = t(i);
      yc(nc++) = x(i, 0);
    }
  }
  plot.points(tc.head(nc), yc.head(nc), "#1f77b4", 1.6, 0.8).legend("decoded calm", "#1f77b4");
  plot.points(tt.head(nt), yt.head(nt), "#d62728", 1.6, 0.8).legend("decoded turbulent", "#d62728");
  // true regime as a strip and P(turbulent) as a line, both in [-11, -8]
  const Eigen::VectorXd strip = (z.cast<double>().array() * 1.2 - 11.0).matrix();
  plot.band(t, Eigen::VectorXd::Constant(x.rows(), -11.0), strip, "#999999", 0.5).legend("true turbulent regime", "#999999");
  plot.line(t, (proba.col(turbulent).array() * 3.0 - 11.0).matrix(), "#d62728", 1.0).legend("P(turbulent | returns)", "#d62728");
  plot.save("hmm_regimes.svg");
  std::printf("wrote hmm_regimes.svg\n");
  return double(right) / double(x.rows()) > 0.9 ? 0 : 1;
}
