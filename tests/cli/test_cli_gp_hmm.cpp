// pml gp and pml hmm end to end through the built binary (issue 19 §3): their commands equal the library's own
// GaussianProcessRegressor and HiddenMarkovModel on the same file; bad kernels, lengths and inputs give one
// clear line.
#include <catch2/catch.hpp>

#include "process_directory.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "pml/core/random.hpp"
#include "pml/io/csv.hpp"
#include "pml/models/gaussian_process.hpp"
#include "pml/models/sequence/hidden_markov_model.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
struct Run {
  int code;
  std::string out, err;
};
const fs::path& dir() {
  static const pml::test::ProcessDirectory d("pml_cli_gp_hmm_test");
  return d.path;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
Run run_pml(const std::string& args) {
  const std::string cmd = "cd '" + dir().string() + "' && '" PML_CLI "' " + args + " > out.txt 2> err.txt";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir() / "out.txt"), slurp(dir() / "err.txt")};
}
Eigen::MatrixXd read_out() { return pml::io::read_csv<double>(dir() / "out.csv").data; }
double rel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
}
}  // namespace

TEST_CASE("pml gp fit / predict / sample equal the library's regressor", "[cli][gp]") {
  pml::Rng rng(12);
  Eigen::MatrixXd xy(60, 3);
  pml::random::fill_normal(rng, xy);
  xy.col(2) = (2.0 * xy.col(0)).array().sin() + 0.3 * xy.col(1).array() + 0.05 * xy.col(2).array();
  pml::io::write_csv(dir() / "xy.csv", xy, {"a", "b", "t"});
  Eigen::MatrixXd q(9, 2);
  pml::random::fill_normal(rng, q);
  pml::io::write_csv(dir() / "q.csv", q, {"a", "b"});
  const std::string kernel = "1 * rbf([1, 1]) + white(0.1)";
  const Run fit = run_pml("gp fit xy.csv --kernel '" + kernel + "' --restarts 2 --seed 4 --normalize-y -o gp.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("log marginal likelihood"));
  // the same fit in process, on the numbers as the file holds them
  const Eigen::MatrixXd data = pml::io::read_csv<double>(dir() / "xy.csv").data;
  pml::GaussianProcessRegressor<double> m(pml::Kernel<double>::parse(kernel), {.n_restarts_optimizer = 2, .normalize_y = true});
  pml::Rng seed(4);
  m.fit(data.leftCols(2), data.col(2), seed);
  const auto loaded = pml::GaussianProcessRegressor<double>::load(dir() / "gp.pml");
  CHECK(loaded.kernel() == m.kernel());
  CHECK(loaded.log_marginal_likelihood() == m.log_marginal_likelihood());
  REQUIRE(run_pml("gp predict gp.pml q.csv -o out.csv").code == 0);
  const Eigen::MatrixXd qq = pml::io::read_csv<double>(dir() / "q.csv").data;
  const auto p = m.predict(qq);
  Eigen::MatrixXd expected(qq.rows(), 2);
  expected << p.mean, p.variance.cwiseSqrt();
  CHECK(rel(read_out(), expected) < 1e-15);
  REQUIRE(run_pml("gp sample gp.pml q.csv -n 3 --seed 7 -o out.csv").code == 0);
  pml::Rng draws(7);
  CHECK(rel(read_out(), m.sample_y(draws, qq, 3)) < 1e-15);
  REQUIRE(run_pml("gp sample gp.pml q.csv -n 2 --prior --seed 7 -o out.csv").code == 0);
  pml::Rng prior_draws(7);
  CHECK(rel(read_out(), pml::GaussianProcessRegressor<double>(m.kernel()).sample_y(prior_draws, qq, 2)) < 1e-15);
  // --fixed keeps the kernel
  REQUIRE(run_pml("gp fit xy.csv --kernel '" + kernel + "' --fixed -o held.pml").code == 0);
  CHECK(pml::GaussianProcessRegressor<double>::load(dir() / "held.pml").kernel() == pml::Kernel<double>::parse(kernel));
}

TEST_CASE("pml gp fit --inducing-points: the sparse GP, equal to the library's", "[cli][gp]") {
  pml::Rng rng(13);
  Eigen::MatrixXd xy(200, 3);
  pml::random::fill_uniform(rng, xy);
  xy.col(2) = (3.0 * xy.col(0)).array().sin() + xy.col(1).array().square() + 0.05 * xy.col(2).array();
  pml::io::write_csv(dir() / "sxy.csv", xy, {"a", "b", "t"});
  Eigen::MatrixXd q(7, 2);
  pml::random::fill_uniform(rng, q);
  pml::io::write_csv(dir() / "sq.csv", q, {"a", "b"});
  const std::string kernel = "1 * rbf([1, 1])";
  const Run fit = run_pml("gp fit sxy.csv --kernel '" + kernel + "' --inducing-points 12 --optimize-inducing --noise-variance 0.05 --seed 3 -o sgp.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("sparse Gaussian process (12 inducing inputs, optimised)") && Contains("bound"));
  const Eigen::MatrixXd data = pml::io::read_csv<double>(dir() / "sxy.csv").data;
  pml::SparseGaussianProcessRegressor<double> m(pml::Kernel<double>::parse(kernel),
                                                {.inducing_points = 12, .noise_variance = 0.05, .noise_variance_lower = 1e-6,
                                                 .noise_variance_upper = 1e5, .optimize_inducing_inputs = true});
  pml::Rng seed(3);
  m.fit(data.leftCols(2), data.col(2), seed);
  const auto loaded = pml::SparseGaussianProcessRegressor<double>::load(dir() / "sgp.pml");
  CHECK(loaded.kernel() == m.kernel());
  CHECK(loaded.inducing_inputs() == m.inducing_inputs());
  REQUIRE(run_pml("gp predict sgp.pml sq.csv -o out.csv").code == 0);
  const auto p = m.predict(pml::io::read_csv<double>(dir() / "sq.csv").data);
  Eigen::MatrixXd expected(q.rows(), 2);
  expected << p.mean, p.variance.cwiseSqrt();
  CHECK(rel(read_out(), expected) < 1e-15);
  const Run sample = run_pml("gp sample sgp.pml sq.csv -n 2");
  CHECK(sample.code == 1);
  CHECK_THAT(sample.err, Contains("SparseGaussianProcessRegressor") && Contains("--inducing-points"));
  const Run no_m = run_pml("gp fit sxy.csv --kernel 'rbf(1)' --optimize-inducing -o bad.pml");
  CHECK(no_m.code != 0);
  CHECK_THAT(no_m.err, Contains("--optimize-inducing needs --inducing-points"));
  const Run white = run_pml("gp fit sxy.csv --kernel 'rbf(1) + white(0.1)' --inducing-points 5 -o bad.pml");
  CHECK(white.code != 0);
  CHECK_THAT(white.err, Contains("white kernel"));
  CHECK(!fs::exists(dir() / "bad.pml"));
}

TEST_CASE("pml gp fit --classify: the Laplace classifier, equal to the library's", "[cli][gp]") {
  pml::Rng rng(14);
  Eigen::MatrixXd xt(80, 3);
  pml::random::fill_normal(rng, xt);
  for (Eigen::Index i = 0; i < xt.rows(); ++i) xt(i, 2) = xt(i, 0) + 0.5 * xt(i, 1) + 0.3 * xt(i, 2) > 0 ? 1 : 0;
  pml::io::write_csv(dir() / "cxt.csv", xt, {"a", "b", "t"});
  Eigen::MatrixXd q(6, 2);
  pml::random::fill_normal(rng, q);
  pml::io::write_csv(dir() / "cq.csv", q, {"a", "b"});
  const std::string kernel = "1 * rbf([1, 1])";
  const Run fit = run_pml("gp fit cxt.csv --classify --kernel '" + kernel + "' --restarts 1 --seed 5 -o gpc.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  CHECK_THAT(fit.err, Contains("Gaussian-process classifier") && Contains("approximate log marginal likelihood"));
  const Eigen::MatrixXd data = pml::io::read_csv<double>(dir() / "cxt.csv").data;
  pml::GaussianProcessClassifier<double> m(pml::Kernel<double>::parse(kernel), {.n_restarts_optimizer = 1});
  pml::Rng seed(5);
  m.fit(data.leftCols(2), data.col(2).cast<long>(), seed);
  REQUIRE(run_pml("gp predict gpc.pml cq.csv -o out.csv").code == 0);
  const Eigen::MatrixXd qq = pml::io::read_csv<double>(dir() / "cq.csv").data;
  const auto latent = m.predict_latent(qq);
  Eigen::MatrixXd expected(qq.rows(), 4);
  expected << m.predict_proba(qq), m.predict(qq).cast<double>(), latent.mean, latent.variance.cwiseSqrt();
  CHECK(rel(read_out(), expected) < 1e-15);
  // labels other than 0/1, and options of the regressors, are refused in one line
  std::ofstream(dir() / "three.csv") << "a,t\n0,0\n1,1\n2,2\n";
  const Run three = run_pml("gp fit three.csv --classify -o bad.pml");
  CHECK(three.code != 0);
  CHECK_THAT(three.err, Contains("row 3") && Contains("not 0 or 1"));
  const Run mixed = run_pml("gp fit cxt.csv --classify --inducing-points 5 -o bad.pml");
  CHECK(mixed.code != 0);
  CHECK_THAT(mixed.err, Contains("--classify takes none of"));
  const Run sample = run_pml("gp sample gpc.pml cq.csv -n 2");
  CHECK(sample.code == 1);
  CHECK_THAT(sample.err, Contains("GaussianProcessClassifier"));
  CHECK(!fs::exists(dir() / "bad.pml"));
}

TEST_CASE("pml gp: bad kernels and inputs give one clear line", "[cli][gp]") {
  std::ofstream(dir() / "small.csv") << "a,t\n0,1\n1,2\n2,0\n";
  const Run bad = run_pml("gp fit small.csv --kernel 'rbf(1) + foo(2)' -o bad.pml");
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err, Contains("--kernel") && Contains("unknown kernel 'foo'"));
  const Run negative = run_pml("gp fit small.csv --kernel 'rbf(-1)' -o bad.pml");
  CHECK(negative.code != 0);
  CHECK_THAT(negative.err, Contains("length_scale"));
  CHECK(!fs::exists(dir() / "bad.pml"));
  REQUIRE(run_pml("gp fit small.csv --kernel 'rbf(1)' --alpha 0.01 -o ok.pml").code == 0);
  std::ofstream(dir() / "wide.csv") << "a,b\n0,1\n";
  const Run wide = run_pml("gp predict ok.pml wide.csv");
  CHECK(wide.code == 1);
  CHECK_THAT(wide.err, Contains("wide.csv") && Contains("2 columns"));
  const Run help = run_pml("gp fit --help");
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Contains("--kernel") && Contains("--restarts") && Contains("--normalize-y"));
}

TEST_CASE("pml hmm fit / decode / score / sample equal the library's model", "[cli][hmm]") {
  using HMM = pml::HiddenMarkovModel<double>;
  HMM truth({.states = 2, .emission = pml::HMMEmission::gaussian_diagonal});
  truth.set_parameters(Eigen::Vector2d(0.5, 0.5), (Eigen::Matrix2d() << 0.9, 0.1, 0.2, 0.8).finished(), Eigen::MatrixXd(),
                       (Eigen::MatrixXd(2, 2) << -2, 0, 2, 1).finished(), {Eigen::MatrixXd::Constant(2, 2, 0.5)});
  pml::Rng rng(3);
  const Eigen::MatrixXd x = truth.sample(rng, 400).first;
  pml::io::write_csv(dir() / "seq.csv", x, {"a", "b"});
  const Run fit = run_pml("hmm fit seq.csv --states 2 --emission gaussian_diagonal --restarts 2 --lengths 150,250 --seed 6 -o hmm.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  const Eigen::MatrixXd data = pml::io::read_csv<double>(dir() / "seq.csv").data;
  HMM m({.states = 2, .emission = pml::HMMEmission::gaussian_diagonal, .restarts = 2});
  pml::Rng seed(6);
  m.fit(data, {150, 250}, seed);
  const HMM loaded = HMM::load(dir() / "hmm.pml");
  CHECK(loaded.means() == m.means());
  CHECK(loaded.transitions() == m.transitions());
  REQUIRE(run_pml("hmm decode hmm.pml seq.csv --lengths 150,250 -o out.csv").code == 0);
  CHECK(read_out().col(0) == m.predict(data, {150, 250}).cast<double>());
  REQUIRE(run_pml("hmm decode hmm.pml seq.csv --lengths 150,250 --proba -o out.csv").code == 0);
  CHECK(rel(read_out(), m.predict_proba(data, {150, 250})) < 1e-15);
  REQUIRE(run_pml("hmm score hmm.pml seq.csv --lengths 150,250 -o out.csv").code == 0);
  CHECK(rel(read_out(), m.log_likelihoods(data, {150, 250})) < 1e-15);
  REQUIRE(run_pml("hmm sample hmm.pml -n 30 --seed 2 -o out.csv").code == 0);
  pml::Rng draws(2);
  const auto [xs, zs] = m.sample(draws, 30);
  CHECK(rel(read_out().leftCols(2), xs) < 1e-15);
  CHECK(read_out().col(2) == zs.cast<double>());
  // errors: one clear line
  const Run bad_lengths = run_pml("hmm score hmm.pml seq.csv --lengths 100,100");
  CHECK(bad_lengths.code == 1);
  CHECK_THAT(bad_lengths.err, Contains("lengths add up to 200, but x has 400 rows"));
  const Run bad_syntax = run_pml("hmm decode hmm.pml seq.csv --lengths 10,x");
  CHECK(bad_syntax.code == 2);
  CHECK_THAT(bad_syntax.err, Contains("--lengths") && Contains("positive integers"));
  const Run bad_emission = run_pml("hmm fit seq.csv --emission poisson -o x.pml");
  CHECK(bad_emission.code == 2);
  CHECK_THAT(bad_emission.err, Contains("categorical") && Contains("gaussian_full") && Contains("gaussian_mixture_diagonal"));
  const Run bad_mixture = run_pml("hmm fit seq.csv --mixture-components 2 -o x.pml");
  CHECK(bad_mixture.code == 1);
  CHECK_THAT(bad_mixture.err, Contains("mixture_components must be 1 unless emission is"));
}

TEST_CASE("pml hmm fit with Gaussian-mixture emissions and its options equals the library's model", "[cli][hmm]") {
  using HMM = pml::HiddenMarkovModel<double>;
  HMM truth({.states = 2, .emission = pml::HMMEmission::gaussian_mixture_full, .mixture_components = 2});
  truth.set_parameters(Eigen::Vector2d(0.5, 0.5), (Eigen::Matrix2d() << 0.9, 0.1, 0.2, 0.8).finished(), Eigen::MatrixXd(),
                       (Eigen::MatrixXd(4, 2) << -3, 0, -1, 1, 1, 0, 3, 1).finished(), std::vector<Eigen::MatrixXd>(4, Eigen::MatrixXd::Identity(2, 2) * 0.3),
                       Eigen::MatrixXd::Constant(2, 2, 0.5));
  pml::Rng rng(4);
  pml::io::write_csv(dir() / "mix.csv", truth.sample(rng, 300).first, {"a", "b"});
  const Run fit = run_pml("hmm fit mix.csv --states 2 --emission gaussian_mixture_full --mixture-components 2 --tolerance 1e-6 "
                          "--reg-covar 1e-4 --max-iterations 30 --seed 8 -o mix.pml");
  INFO(fit.err);
  REQUIRE(fit.code == 0);
  const Eigen::MatrixXd data = pml::io::read_csv<double>(dir() / "mix.csv").data;
  HMM m({.states = 2, .emission = pml::HMMEmission::gaussian_mixture_full, .mixture_components = 2, .max_iterations = 30, .tolerance = 1e-6,
         .reg_covar = 1e-4});
  pml::Rng seed(8);
  m.fit(data, {}, seed);
  const HMM loaded = HMM::load(dir() / "mix.pml");
  CHECK(loaded.options().mixture_components == 2);
  CHECK(loaded.options().reg_covar == 1e-4);
  CHECK(loaded.mixture_weights() == m.mixture_weights());
  CHECK(loaded.means() == m.means());
  REQUIRE(run_pml("hmm score mix.pml mix.csv -o out.csv").code == 0);
  CHECK(rel(read_out(), m.log_likelihoods(data)) < 1e-15);
  // categorical with --symbols: a symbol never seen still has a column
  pml::io::write_csv(dir() / "sym.csv", (Eigen::MatrixXd(6, 1) << 0, 1, 0, 2, 1, 0).finished(), {"s"});
  REQUIRE(run_pml("hmm fit sym.csv --emission categorical --symbols 5 -o sym.pml").code == 0);
  CHECK(HMM::load(dir() / "sym.pml").emission_probabilities().cols() == 5);
}
