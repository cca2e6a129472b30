// The sparse GP against the exact GP (issue 19 §1): N rows (default 20 000) of y = sin(x₀)cos(x₁) + noise,
// D = 2. The sparse GP (Titsias 2009, M inducing inputs) is fitted with its hyperparameters; the exact GP is
// run at the hyperparameters the sparse fit found (one factorisation, and one log marginal likelihood with its
// gradient: the cost of one step of an exact fit). An exact fit with optimisation at this N would take hours,
// so its time is estimated as (evaluations an exact fit makes on a 2 000-row subset) x (the measured cost of one
// evaluation at N). Prints times, the estimate and both RMSEs on 2 000 test points against the noiseless truth.
// With Z = 1 the inducing inputs are optimised too (optimize_inducing_inputs); with EXACT = 0 the exact GP is
// not run (it needs about 14 GB at N = 20 000).
//   build/dev/benchmarks/compare_sparse_gp [N] [M] [Z] [EXACT]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "pml/core/random.hpp"
#include "pml/models/gaussian_process.hpp"

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
Eigen::VectorXd truth(const Eigen::MatrixXd& x) { return (x.col(0).array().sin() * x.col(1).array().cos()).matrix(); }
}  // namespace

int main(int argc, char** argv) {
  const Eigen::Index n = argc > 1 ? std::atol(argv[1]) : 20000, m = argc > 2 ? std::atol(argv[2]) : 200;
  const bool optimise_z = argc > 3 && std::atoi(argv[3]) != 0, run_exact = argc <= 4 || std::atoi(argv[4]) != 0;
  pml::Rng rng(42);
  Eigen::MatrixXd x(n, 2), q(2000, 2);
  pml::random::fill_uniform(rng, x);
  pml::random::fill_uniform(rng, q);
  x = (x.array() * 8 - 4).matrix();
  q = (q.array() * 8 - 4).matrix();
  Eigen::VectorXd y = truth(x);
  for (Eigen::Index i = 0; i < n; ++i) y(i) += 0.1 * pml::random::normal<double>(rng);
  const Eigen::VectorXd tq = truth(q);
  using K = pml::Kernel<double>;
  auto rmse = [&](const Eigen::VectorXd& p) { return std::sqrt((p - tq).squaredNorm() / double(tq.size())); };

  auto t0 = std::chrono::steady_clock::now();
  pml::SparseGaussianProcessRegressor<double> sparse(K::parse("1 * rbf([1, 1])"), {.inducing_points = m, .noise_variance = 0.1, .optimize_inducing_inputs = optimise_z});
  sparse.fit(x, y, rng);
  const double t_sparse = seconds_since(t0);
  const double rmse_sparse = rmse(sparse.predict(q).mean.col(0));
  std::printf("N = %ld, M = %ld, inducing inputs %s\nsparse fit: %.2f s (%d bound evaluations), bound %.3f, noise variance %.5f, kernel %s, RMSE %.5f\n",
              long(n), long(m), optimise_z ? "optimised" : "k-means centres", t_sparse, sparse.evaluations(), sparse.elbo(), sparse.noise_variance(),
              sparse.kernel().to_string().c_str(), rmse_sparse);
  std::fflush(stdout);
  if (!run_exact) return 0;

  // evaluations an exact fit makes, on a 2 000-row subset
  pml::GaussianProcessRegressor<double> small(K::parse("1 * rbf([1, 1]) + white(0.1)"));
  small.fit(x.topRows(std::min<Eigen::Index>(2000, n)), y.head(std::min<Eigen::Index>(2000, n)));
  std::printf("exact fit on %ld rows: %d log-ML evaluations\n", long(std::min<Eigen::Index>(2000, n)), small.evaluations());
  std::fflush(stdout);

  // the exact GP at N with the sparse fit's hyperparameters
  const K kernel = sparse.kernel() + K::white(sparse.noise_variance());
  t0 = std::chrono::steady_clock::now();
  pml::GaussianProcessRegressor<double> exact(kernel, {.optimize = false});
  exact.fit(x, y);
  const double t_exact = seconds_since(t0);
  const double rmse_exact = rmse(exact.predict(q).mean.col(0));
  t0 = std::chrono::steady_clock::now();
  Eigen::VectorXd g;
  exact.log_marginal_likelihood(exact.kernel().theta(), &g);
  const double t_eval = seconds_since(t0);
  const double estimate = t_eval * small.evaluations();
  std::printf("exact GP at the same hyperparameters: factorisation %.1f s, one log ML + gradient %.1f s, RMSE %.5f\n", t_exact, t_eval, rmse_exact);
  std::printf("estimated exact fit: %d x %.1f s = %.0f s; sparse fit %.2f s: %.0fx faster (%.0fx faster than ONE exact evaluation); "
              "RMSE sparse / exact = %.3f\n",
              small.evaluations(), t_eval, estimate, t_sparse, estimate / t_sparse, t_eval / t_sparse, rmse_sparse / rmse_exact);
}
