#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>

#include "fixtures/sklearn_gp_reference.hpp"
#include "test_helpers.hpp"
#include "pml/core/parallel.hpp"
#include "pml/models/gaussian_process.hpp"

using Catch::Matchers::Contains;
namespace gp = pml_test::sklearn_gp;
using pml_test::rows;
using pml_test::vec;
using KernelD = pml::Kernel<double>;
using GPR = pml::GaussianProcessRegressor<double>;

namespace {
// largest |a − b| relative to the largest |b| (the parity measure of the issue: ≤ 1e-9 for the regressor)
double rel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-300, b.cwiseAbs().maxCoeff());
}
struct Case {
  const char* name;
  std::string_view text;
  const std::vector<double>& k;
  const std::vector<double>& kxy;
  const std::vector<double>& diag;
  const std::vector<double>& grad;
  const std::vector<double>& theta;
};
std::vector<Case> cases() {
  return {
      {"rbf", gp::rbf_text, gp::rbf_K, gp::rbf_KXY, gp::rbf_diag, gp::rbf_grad, gp::rbf_theta},
      {"rbf_ard", gp::rbf_ard_text, gp::rbf_ard_K, gp::rbf_ard_KXY, gp::rbf_ard_diag, gp::rbf_ard_grad, gp::rbf_ard_theta},
      {"matern05", gp::matern05_text, gp::matern05_K, gp::matern05_KXY, gp::matern05_diag, gp::matern05_grad, gp::matern05_theta},
      {"matern15", gp::matern15_text, gp::matern15_K, gp::matern15_KXY, gp::matern15_diag, gp::matern15_grad, gp::matern15_theta},
      {"matern25_ard", gp::matern25_ard_text, gp::matern25_ard_K, gp::matern25_ard_KXY, gp::matern25_ard_diag, gp::matern25_ard_grad,
       gp::matern25_ard_theta},
      {"rq", gp::rq_text, gp::rq_K, gp::rq_KXY, gp::rq_diag, gp::rq_grad, gp::rq_theta},
      {"periodic", gp::periodic_text, gp::periodic_K, gp::periodic_KXY, gp::periodic_diag, gp::periodic_grad, gp::periodic_theta},
      {"dot", gp::dot_text, gp::dot_K, gp::dot_KXY, gp::dot_diag, gp::dot_grad, gp::dot_theta},
      {"sum_product", gp::sum_product_text, gp::sum_product_K, gp::sum_product_KXY, gp::sum_product_diag, gp::sum_product_grad,
       gp::sum_product_theta},
      {"fixed", gp::fixed_text, gp::fixed_K, gp::fixed_KXY, gp::fixed_diag, gp::fixed_grad, gp::fixed_theta},
      {"nested", gp::nested_text, gp::nested_K, gp::nested_KXY, gp::nested_diag, gp::nested_grad, gp::nested_theta},
  };
}
const Eigen::Index N = 24, M = 7, D = 2;
Eigen::MatrixXd X() { return rows(gp::X, N, D); }
Eigen::MatrixXd Y() { return rows(gp::Y, M, D); }
}  // namespace

TEST_CASE("Kernels equal scikit-learn's: K(X), K(X, Y), the diagonal and the gradient in theta", "[gp][kernel]") {
  const Eigen::MatrixXd x = X(), y = Y();
  for (const auto& c : cases()) {
    INFO(c.name << ": " << c.text);
    const KernelD k = KernelD::parse(c.text);
    REQUIRE(k.n_dims() == Eigen::Index(c.theta.size()));
    CHECK(rel(k.theta(), vec(c.theta)) < 1e-15);
    CHECK(rel(k(x), rows(c.k, N, N)) < 1e-13);
    CHECK(rel(k(x, y), rows(c.kxy, N, M)) < 1e-13);
    CHECK(rel(k.diagonal(x), vec(c.diag)) < 1e-14);
    std::vector<Eigen::MatrixXd> g;
    const Eigen::MatrixXd kk = k(x, g);
    CHECK(rel(kk, rows(c.k, N, N)) < 1e-13);
    REQUIRE(Eigen::Index(g.size()) == k.n_dims());
    for (std::size_t p = 0; p < g.size(); ++p) {
      INFO("gradient " << p << " (" << k.theta_names()[p] << ")");
      const std::vector<double> slice(c.grad.begin() + long(p * N * N), c.grad.begin() + long((p + 1) * N * N));
      CHECK(rel(g[p], rows(slice, N, N)) < 1e-12);
    }
  }
}

TEST_CASE("Kernel gradients equal central differences in theta", "[gp][kernel]") {
  const Eigen::MatrixXd x = X().topRows(9);
  for (const auto& c : cases()) {
    INFO(c.name);
    const KernelD k = KernelD::parse(c.text);
    std::vector<Eigen::MatrixXd> g;
    k(x, g);
    const Eigen::VectorXd theta = k.theta();
    for (Eigen::Index p = 0; p < theta.size(); ++p) {
      const double h = 1e-6;
      Eigen::VectorXd up = theta, down = theta;
      up(p) += h;
      down(p) -= h;
      const Eigen::MatrixXd fd = (k.with_theta(up)(x) - k.with_theta(down)(x)) / (2 * h);
      CHECK((g[std::size_t(p)] - fd).cwiseAbs().maxCoeff() < 1e-7 * std::max(1.0, fd.cwiseAbs().maxCoeff()));
    }
  }
}

TEST_CASE("Kernel::gradient_inner equals the weighted sums of the gradient matrices", "[gp][kernel]") {
  const Eigen::MatrixXd x = X();
  pml::Rng rng(4);
  Eigen::MatrixXd w(N, N);
  pml::random::fill_normal(rng, w);
  w = (w + w.transpose()).eval();
  std::vector<std::string_view> texts;
  for (const auto& c : cases()) texts.push_back(c.text);
  // products with a constant on either side, a product of two non-constant kernels, ARD Matérn of each ν
  for (std::string_view t : {"rbf([0.6, 1.8]) * 2.5", "matern([0.8, 1.5], nu=0.5) * rational_quadratic(0.8, 1.7) + white(0.3)",
                             "matern([0.8, 1.5], nu=1.5) + 0.3 * matern(0.4, nu=2.5)", "constant(2, constant_value_bounds=fixed) * rbf(1)"})
    texts.push_back(t);
  for (const auto t : texts) {
    INFO(t);
    const KernelD k = KernelD::parse(t);
    std::vector<Eigen::MatrixXd> g;
    k(x, g);
    const Eigen::VectorXd inner = k.gradient_inner(x, w);
    REQUIRE(inner.size() == k.n_dims());
    for (Eigen::Index p = 0; p < inner.size(); ++p) {
      const double expected = w.cwiseProduct(g[std::size_t(p)]).sum();
      CHECK(std::abs(inner(p) - expected) <= 1e-12 * std::max(1.0, w.cwiseAbs().cwiseProduct(g[std::size_t(p)].cwiseAbs()).sum()));
    }
    CHECK(k(x) == k(x).transpose());  // symmetric bit for bit
  }
  CHECK_THROWS_WITH(KernelD::rbf(1.0).gradient_inner(x, Eigen::MatrixXd(3, 3)), Contains("w is 3x3, expected 24x24"));
}

TEST_CASE("Kernels in float agree with double", "[gp][kernel]") {
  const Eigen::MatrixXd x = X();
  for (const auto& c : cases()) {
    INFO(c.name);
    const auto kf = pml::Kernel<float>::parse(c.text);
    const Eigen::MatrixXf xf = x.cast<float>();
    CHECK(rel(kf(xf).cast<double>(), rows(c.k, N, N)) < 1e-5);
  }
}

TEST_CASE("Kernel text: to_string and parse round-trip bit for bit; bad text names the position", "[gp][kernel]") {
  for (const auto& c : cases()) {
    const KernelD k = KernelD::parse(c.text);
    const KernelD back = KernelD::parse(k.to_string());
    CHECK(back == k);
    CHECK(back.to_string() == k.to_string());
  }
  // values that need all 17 digits, bounds and ARD survive the trip
  const KernelD k = KernelD::constant(0.1 + 0.2, {1e-3, 1e3, false}) * KernelD::rbf(Eigen::Vector3d(1.0 / 3, 2, 7e-5)) +
                    KernelD::white(1e-7, KernelD::Bounds::held()) + KernelD::matern(2.0, 0.5) * KernelD::dot_product(1e-300);
  CHECK(KernelD::parse(k.to_string()) == k);
  CHECK(k.to_string().find("0.30000000000000004") != std::string::npos);
  CHECK(k.n_dims() == 1 + 3 + 1 + 1);  // the white kernel's noise is fixed
  CHECK(k.theta_names()[0] == "k1.k1.k1.constant_value");
  CHECK(k.bounds()(0, 0) == Approx(std::log(1e-3)));
  // a sum on the right of a sum keeps its parentheses (the tree, theta's order and the rounding stay the same)
  const KernelD right = KernelD::rbf(1) + (KernelD::white(0.5) + KernelD::constant(2));
  CHECK(KernelD::parse(right.to_string()) == right);
  CHECK(right.to_string().find("+ (white") != std::string::npos);
  // numbers next to operators, exponents with signs
  CHECK(KernelD::parse("2+rbf(1e+00)") == KernelD::constant(2) + KernelD::rbf(1));
  CHECK(KernelD::parse("2*rbf(1.5e-1)") == KernelD::constant(2) * KernelD::rbf(0.15));
  CHECK_THROWS_WITH(KernelD::parse("rbf(1,"), Contains("expected an argument"));
  CHECK_THROWS_WITH(KernelD::parse("rbf(1, length_scale=2)"), Contains("length_scale of rbf is given twice"));
  // a product of sums keeps its parentheses
  const KernelD ps = (KernelD::rbf(1) + KernelD::white(1)) * (KernelD::constant(2) + KernelD::dot_product(1));
  CHECK(KernelD::parse(ps.to_string()) == ps);
  // errors
  CHECK_THROWS_WITH(KernelD::parse("rbf(1) + foo(2)"), Contains("unknown kernel 'foo'") && Contains("position 9"));
  CHECK_THROWS_WITH(KernelD::parse("rbf(1"), Contains("expected ')'"));
  CHECK_THROWS_WITH(KernelD::parse("rbf(1) rbf(2)"), Contains("unexpected text"));
  CHECK_THROWS_WITH(KernelD::parse("rbf(scale=2)"), Contains("unknown argument 'scale' of rbf"));
  CHECK_THROWS_WITH(KernelD::parse("rbf(x)"), Contains("expected"));
  CHECK_THROWS_AS(KernelD::parse("rbf(-1)"), std::domain_error);
  CHECK_THROWS_WITH(KernelD::parse("matern(1, nu=3)"), Contains("nu must be 0.5, 1.5 or 2.5"));
  CHECK_THROWS_WITH(KernelD::parse("white(1, noise_level_bounds=[2, 1])"), Contains("lower <= upper"));
  CHECK_THROWS_WITH(KernelD::parse(""), Contains("expected a kernel name"));
}

TEST_CASE("Kernel argument errors name the function, the argument and the value", "[gp][kernel]") {
  CHECK_THROWS_WITH(KernelD::rbf(0.0), Contains("Kernel::rbf") && Contains("length_scale"));
  CHECK_THROWS_WITH(KernelD::rbf(std::nan("")), Contains("length_scale"));
  CHECK_THROWS_WITH(KernelD::constant(1, {0.0, 1.0, false}), Contains("constant_value_bounds lower"));
  const KernelD ard = KernelD::rbf(Eigen::Vector3d(1, 2, 3));
  const Eigen::MatrixXd x = X();
  CHECK_THROWS_WITH(ard(x), Contains("ARD length_scale has 3 entries but x has 2 columns"));
  CHECK_THROWS_WITH(KernelD::rbf(1)(x, Eigen::MatrixXd(3, 3)), Contains("y has 3 columns, x has 2"));
  CHECK_THROWS_WITH(ard.with_theta(Eigen::VectorXd(2)), Contains("theta has length 2, expected 3"));
}

TEST_CASE("Stationary kernels far from the origin: distances from differences, not from expanded squares", "[gp][kernel]") {
  // the same points shifted by 1e6: an expansion ‖x‖² + ‖y‖² − 2x·y would lose every digit (1e12 x 2e-16)
  const Eigen::MatrixXd x = X();
  const Eigen::MatrixXd far = x.array() + 1e6;
  for (const char* text : {"rbf(0.7)", "matern([0.8, 1.5], nu=2.5)", "rational_quadratic(0.8, 1.7)", "exp_sine_squared(1.3, 2.1)"}) {
    INFO(text);
    const KernelD k = KernelD::parse(text);
    CHECK(rel(k(far), k(x)) < 1e-9);
  }
}

TEST_CASE("GaussianProcessRegressor with held hyperparameters equals scikit-learn's", "[gp][regressor]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  for (const bool normalize : {false, true}) {
    INFO("normalize_y " << normalize);
    GPR model(KernelD::parse(gp::gpr_text), {.alpha = 1e-6, .optimize = false, .normalize_y = normalize});
    model.fit(x, t);
    const auto& lml = normalize ? gp::gpr_norm_lml : gp::gpr_lml;
    const auto& grad = normalize ? gp::gpr_norm_lml_grad : gp::gpr_lml_grad;
    CHECK(model.log_marginal_likelihood() == Approx(lml[0]).epsilon(1e-11));
    Eigen::VectorXd g;
    CHECK(model.log_marginal_likelihood(model.kernel().theta(), &g) == Approx(lml[0]).epsilon(1e-11));
    CHECK(rel(g, vec(grad)) < 1e-9);
    const auto& theta2 = normalize ? gp::gpr_norm_theta2 : gp::gpr_theta2;
    CHECK(model.log_marginal_likelihood(vec(theta2), &g) == Approx((normalize ? gp::gpr_norm_lml2 : gp::gpr_lml2)[0]).epsilon(1e-11));
    CHECK(rel(g, vec(normalize ? gp::gpr_norm_lml2_grad : gp::gpr_lml2_grad)) < 1e-9);
    const auto pred = model.predict(y);
    CHECK(rel(pred.mean, vec(normalize ? gp::gpr_norm_mean : gp::gpr_mean)) < 1e-9);
    CHECK(rel(pred.variance.cwiseSqrt(), vec(normalize ? gp::gpr_norm_std : gp::gpr_std)) < 1e-9);
    CHECK(rel(model.predict_covariance(y), rows(normalize ? gp::gpr_norm_cov : gp::gpr_cov, M, M)) < 1e-9);
    CHECK(rel(model.dual_coef(), vec(normalize ? gp::gpr_norm_dual_coef : gp::gpr_dual_coef)) < 1e-9);
    CHECK(model.jitter() == 0);
    CHECK(model.kernel() == model.initial_kernel());
  }
}

TEST_CASE("Fitted hyperparameters reach at least scikit-learn's log marginal likelihood with the same restarts", "[gp][regressor]") {
  const Eigen::MatrixXd x = X();
  const Eigen::VectorXd t = vec(gp::y);
  for (const int restarts : {0, 4}) {
    INFO("restarts " << restarts);
    GPR model(KernelD::parse(gp::fit_text), {.alpha = 1e-10, .n_restarts_optimizer = restarts, .normalize_y = true});
    pml::Rng rng(3);
    model.fit(x, t, rng);
    const double sk = (restarts == 0 ? gp::fit0_lml : gp::fit4_lml)[0];
    INFO("pml " << model.log_marginal_likelihood() << " (" << model.kernel().to_string() << "), scikit-learn " << sk);
    CHECK(model.log_marginal_likelihood() >= sk - 1e-7 * std::abs(sk));
    // at the optimum the gradient vanishes where no bound is active
    Eigen::VectorXd g;
    model.log_marginal_likelihood(model.kernel().theta(), &g);
    const Eigen::MatrixXd b = model.kernel().bounds();
    for (Eigen::Index p = 0; p < g.size(); ++p)
      if (model.kernel().theta()(p) > b(p, 0) + 1e-6 && model.kernel().theta()(p) < b(p, 1) - 1e-6) CHECK(std::abs(g(p)) < 1e-3);
  }
}

TEST_CASE("GaussianProcessRegressor: the same fit from the same seed, for any thread count", "[gp][regressor]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  auto run = [&](int threads) {
    pml::set_num_threads(threads);
    GPR model(KernelD::parse("1 * rbf([1, 1]) + white(0.1)"), {.n_restarts_optimizer = 2});
    pml::Rng rng(11);
    model.fit(x, t, rng);
    return model.predict_covariance(y);
  };
  const Eigen::MatrixXd one = run(1), two = run(2), three = run(3);
  pml::set_num_threads(0);
  CHECK(one == two);
  CHECK(one == three);
}

TEST_CASE("GaussianProcessRegressor: jitter for a singular kernel matrix is added and reported", "[gp][regressor]") {
  // duplicated rows and no noise: K is singular, alpha = 0
  Eigen::MatrixXd x(6, 1);
  x << 0, 0, 1, 1, 2, 2;
  const Eigen::VectorXd t = (Eigen::VectorXd(6) << 1, 1, 2, 2, 0, 0).finished();
  GPR model(KernelD::rbf(1.0), {.alpha = 0, .optimize = false});
  model.fit(x, t);
  CHECK(model.jitter() > 0);
  CHECK(model.jitter() <= 1e-2);
  const auto pred = model.predict(x);
  CHECK(pred.mean.allFinite());
  CHECK((pred.mean.col(0) - t).cwiseAbs().maxCoeff() < 1e-3);
}

TEST_CASE("GaussianProcessRegressor: prior and posterior samples", "[gp][regressor]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  GPR model(KernelD::parse(gp::gpr_text), {.alpha = 1e-6, .optimize = false});
  pml::Rng rng(5);
  // before fit(): the prior, mean 0 and covariance K(Y, Y)
  const Eigen::MatrixXd prior = model.sample_y(rng, y, 20000);
  CHECK(prior.rows() == M);
  CHECK(prior.cols() == 20000);
  const Eigen::VectorXd prior_mean = prior.rowwise().mean();
  CHECK(prior_mean.cwiseAbs().maxCoeff() < 0.05);
  const Eigen::MatrixXd centred = prior.colwise() - prior_mean;
  const Eigen::MatrixXd prior_cov = centred * centred.transpose() / 19999.0;
  CHECK((prior_cov - KernelD::parse(gp::gpr_text)(y)).cwiseAbs().maxCoeff() < 0.06);
  model.fit(x, t);
  const Eigen::MatrixXd post = model.sample_y(rng, y, 20000);
  const Eigen::VectorXd post_mean = post.rowwise().mean();
  const auto pred = model.predict(y);
  CHECK(((post_mean - pred.mean.col(0)).array() / pred.variance.col(0).array().sqrt()).abs().maxCoeff() < 0.05);
  // the same seed gives the same draws
  pml::Rng a(9), b(9);
  CHECK(model.sample_y(a, y, 3) == model.sample_y(b, y, 3));
  CHECK_THROWS_WITH(model.sample_y(a, y, -1), Contains("n must be non-negative"));
}

TEST_CASE("GaussianProcessRegressor: save and load predict bit for bit", "[gp][regressor][io]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  GPR model(KernelD::parse("1 * matern([1, 1], nu=2.5) + white(0.1, noise_level_bounds=[1e-3, 10])"), {.normalize_y = true});
  model.fit(x, t);
  const auto dir = std::filesystem::temp_directory_path() / ("pml_gp_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
    const auto path = dir / (format == pml::io::FileFormat::binary ? "gp.pml" : "gp.json");
    model.save(path, format);
    const GPR back = GPR::load(path);
    CHECK(back.kernel() == model.kernel());
    CHECK(back.initial_kernel() == model.initial_kernel());
    CHECK(back.predict(y).mean == model.predict(y).mean);
    CHECK(back.predict(y).variance == model.predict(y).variance);
    CHECK(back.predict_covariance(y) == model.predict_covariance(y));
    CHECK(back.log_marginal_likelihood() == model.log_marginal_likelihood());
    CHECK(back.options().normalize_y);
    pml::Rng a(1), b(1);
    CHECK(back.sample_y(a, y, 2) == model.sample_y(b, y, 2));
  }
  CHECK_THROWS_AS(GPR().save(dir / "unfitted.pml"), std::logic_error);
  CHECK_THROWS_AS(GPR::load(dir / "missing.pml"), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("GaussianProcessRegressor in float", "[gp][regressor]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  pml::GaussianProcessRegressor<float> f(pml::Kernel<float>::parse(gp::gpr_text), {.alpha = 1e-3f, .optimize = false});
  f.fit(x.cast<float>(), t.cast<float>());
  GPR d(KernelD::parse(gp::gpr_text), {.alpha = 1e-3, .optimize = false});
  d.fit(x, t);
  CHECK(rel(f.predict(y.cast<float>()).mean.cast<double>(), d.predict(y).mean) < 1e-4);
  pml::GaussianProcessRegressor<float> fitted(pml::Kernel<float>::parse("1 * rbf(1) + white(0.1)"));
  fitted.fit(x.cast<float>(), t.cast<float>());
  CHECK(std::isfinite(fitted.log_marginal_likelihood()));
}

TEST_CASE("GaussianProcessRegressor: estimator checks (shift, scale, order, degenerate inputs)", "[gp][regressor][checks]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  const KernelD kernel = KernelD::parse("1 * rbf([1, 1]) + white(0.1)");
  GPR base(kernel, {.normalize_y = true});
  base.fit(x, t);
  const auto p0 = base.predict(y);
  SECTION("inputs shifted far from the origin give the same fit (stationary kernel)") {
    GPR shifted(kernel, {.normalize_y = true});
    shifted.fit(x.array() + 1e6, t);
    CHECK(rel(shifted.predict(y.array() + 1e6).mean, p0.mean) < 1e-6);
  }
  SECTION("targets shifted and scaled with normalize_y: predictions shift and scale alike") {
    GPR moved(kernel, {.normalize_y = true});
    moved.fit(x, (t.array() * 1e4 + 1e8).matrix());
    CHECK(rel(((moved.predict(y).mean.array() - 1e8) / 1e4).matrix(), p0.mean) < 1e-6);
    CHECK(rel(moved.predict(y).variance / 1e8, p0.variance) < 1e-5);
  }
  SECTION("inputs scaled, with the starting length scales scaled alike: the same fit") {
    GPR scaled(KernelD::parse("1 * rbf([100, 100]) + white(0.1)"), {.normalize_y = true});
    scaled.fit(x * 100.0, t);
    CHECK(rel(scaled.predict(y * 100.0).mean, p0.mean) < 1e-5);
    CHECK(scaled.log_marginal_likelihood() == Approx(base.log_marginal_likelihood()).epsilon(1e-8));
  }
  SECTION("the order of the rows does not matter") {
    Eigen::PermutationMatrix<Eigen::Dynamic> perm(N);
    perm.setIdentity();
    pml::Rng rng(2);
    std::shuffle(perm.indices().data(), perm.indices().data() + N, rng);
    GPR shuffled(kernel, {.normalize_y = true});
    shuffled.fit(perm * x, perm * t);
    CHECK(rel(shuffled.predict(y).mean, p0.mean) < 1e-6);
  }
  SECTION("one row, and a constant target") {
    GPR one(kernel, {.normalize_y = true});
    one.fit(x.topRows(1), t.head(1));
    CHECK(one.predict(y).mean.allFinite());
    GPR flat(kernel, {.normalize_y = true});
    flat.fit(x, Eigen::VectorXd::Constant(N, 4.0));
    CHECK((flat.predict(y).mean.array() - 4.0).abs().maxCoeff() < 1e-6);
  }
  SECTION("bad input names the function, the argument and the value") {
    GPR m(kernel);
    CHECK_THROWS_WITH(m.fit(Eigen::MatrixXd(0, 2), Eigen::VectorXd(0)), Contains("GaussianProcessRegressor::fit") && Contains("x must not be empty"));
    CHECK_THROWS_WITH(m.fit(x, t.head(3)), Contains("y has length 3, expected 24"));
    Eigen::MatrixXd bad = x;
    bad(2, 1) = std::nan("");
    CHECK_THROWS_WITH(m.fit(bad, t), Contains("x must have finite entries (entry (2, 1)"));
    CHECK_THROWS_WITH(base.predict(Eigen::MatrixXd(2, 3)), Contains("x has columns 3, expected 2"));
    CHECK_THROWS_WITH(m.log_marginal_likelihood(), Contains("not fitted"));
    CHECK_THROWS_WITH(GPR(kernel, {.alpha = -1}), Contains("alpha must be non-negative"));
    CHECK_THROWS_WITH(GPR(kernel, {.n_restarts_optimizer = -2}), Contains("n_restarts_optimizer must be non-negative, got -2"));
    CHECK_THROWS_WITH(base.log_marginal_likelihood(Eigen::VectorXd(1)), Contains("theta has length 1, expected 4"));
    CHECK_THROWS_AS(KernelD::rbf(1.0, {1e-5, std::numeric_limits<double>::infinity(), false}), std::domain_error);
  }
}

// ---- GaussianProcessClassifier -------------------------------------------------------------------------
using GPC = pml::GaussianProcessClassifier<double>;
namespace {
pml::IntVector labels() { return vec(gp::labels).cast<long>(); }
}  // namespace

TEST_CASE("GaussianProcessClassifier with held hyperparameters equals scikit-learn's (Laplace)", "[gp][classifier]") {
  const Eigen::MatrixXd x = X(), y = Y();
  GPC model(KernelD::parse(gp::gpc_text), {.optimize = false});
  model.fit(x, labels());
  CHECK(model.log_marginal_likelihood() == Approx(gp::gpc_lml[0]).epsilon(1e-11));
  CHECK(rel(model.pi(), vec(gp::gpc_pi)) < 1e-9);
  Eigen::VectorXd g;
  CHECK(model.log_marginal_likelihood(model.kernel().theta(), &g) == Approx(gp::gpc_lml[0]).epsilon(1e-11));
  CHECK(rel(g, vec(gp::gpc_lml_grad)) < 1e-9);
  CHECK(model.log_marginal_likelihood(vec(gp::gpc_theta2), &g) == Approx(gp::gpc_lml2[0]).epsilon(1e-11));
  CHECK(rel(g, vec(gp::gpc_lml2_grad)) < 1e-9);
  CHECK(rel(model.predict_proba(y), vec(gp::gpc_proba)) < 1e-9);
  CHECK(model.predict(y) == vec(gp::gpc_predict).cast<long>());
  // the gradient against central differences of the approximate log marginal likelihood (the mode moves with θ)
  const Eigen::VectorXd theta = model.kernel().theta();
  model.log_marginal_likelihood(theta, &g);
  for (Eigen::Index p = 0; p < theta.size(); ++p) {
    Eigen::VectorXd up = theta, down = theta;
    up(p) += 1e-5;
    down(p) -= 1e-5;
    const double fd = (model.log_marginal_likelihood(up) - model.log_marginal_likelihood(down)) / 2e-5;
    CHECK(g(p) == Approx(fd).epsilon(1e-5));
  }
}

TEST_CASE("GaussianProcessClassifier: fitted hyperparameters reach scikit-learn's log marginal likelihood", "[gp][classifier]") {
  const Eigen::MatrixXd x = X();
  for (const int restarts : {0, 3}) {
    GPC model(KernelD::parse(gp::gpc_fit_text), {.n_restarts_optimizer = restarts});
    pml::Rng rng(8);
    model.fit(x, labels(), rng);
    const double sk = (restarts == 0 ? gp::gpc_fit0_lml : gp::gpc_fit3_lml)[0];
    INFO("restarts " << restarts << ": pml " << model.log_marginal_likelihood() << " (" << model.kernel().to_string() << "), scikit-learn " << sk);
    CHECK(model.log_marginal_likelihood() >= sk - 1e-7 * std::abs(sk));
    // probabilities are probabilities, and the training labels are mostly recovered
    const Eigen::VectorXd p = model.predict_proba(x);
    CHECK((p.array() >= 0).all());
    CHECK((p.array() <= 1).all());
    CHECK((model.predict(x).array() == labels().array()).count() >= N * 3 / 4);
  }
}

TEST_CASE("GaussianProcessClassifier: save/load, threads, float and errors", "[gp][classifier]") {
  const Eigen::MatrixXd x = X(), y = Y();
  SECTION("save and load predict bit for bit") {
    GPC model(KernelD::parse("1 * matern([1, 1], nu=1.5)"));
    model.fit(x, labels());
    const auto dir = std::filesystem::temp_directory_path() / ("pml_gpc_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    for (const auto format : {pml::io::FileFormat::binary, pml::io::FileFormat::json}) {
      const auto path = dir / (format == pml::io::FileFormat::binary ? "gpc.pml" : "gpc.json");
      model.save(path, format);
      const GPC back = GPC::load(path);
      CHECK(back.kernel() == model.kernel());
      CHECK(back.predict_proba(y) == model.predict_proba(y));
      CHECK(back.predict_latent(y).variance == model.predict_latent(y).variance);
      CHECK(back.log_marginal_likelihood() == model.log_marginal_likelihood());
    }
    CHECK_THROWS_WITH(GPR::load(dir / "gpc.pml"), Contains("not a GaussianProcessRegressor"));
    std::filesystem::remove_all(dir);
  }
  SECTION("the same fit for any thread count") {
    auto run = [&](int threads) {
      pml::set_num_threads(threads);
      GPC model(KernelD::parse("1 * rbf([1, 1])"), {.n_restarts_optimizer = 1});
      pml::Rng rng(2);
      model.fit(x, labels(), rng);
      return model.predict_proba(y);
    };
    const Eigen::VectorXd one = run(1), two = run(2);
    pml::set_num_threads(0);
    CHECK(one == two);
  }
  SECTION("float") {
    pml::GaussianProcessClassifier<float> f(pml::Kernel<float>::parse(gp::gpc_text), {.optimize = false});
    f.fit(x.cast<float>(), labels());
    CHECK(rel(f.predict_proba(y.cast<float>()).cast<double>(), vec(gp::gpc_proba)) < 1e-4);
  }
  SECTION("inputs far from the origin give the same probabilities") {
    GPC near(KernelD::parse(gp::gpc_text), {.optimize = false}), far(KernelD::parse(gp::gpc_text), {.optimize = false});
    near.fit(x, labels());
    far.fit(x.array() + 1e6, labels());
    CHECK(rel(far.predict_proba(y.array() + 1e6), near.predict_proba(y)) < 1e-6);
  }
  SECTION("bad input names the function, the argument and the value") {
    GPC m;
    pml::IntVector bad = labels();
    bad(3) = 2;
    CHECK_THROWS_WITH(m.fit(x, bad), Contains("GaussianProcessClassifier::fit") && Contains("t must hold labels 0 and 1 (entry 3)") && Contains("got 2"));
    CHECK_THROWS_WITH(m.fit(x, pml::IntVector::Zero(N)), Contains("t must hold both classes"));
    CHECK_THROWS_WITH(m.fit(x, labels().head(5)), Contains("t has length 5, expected 24"));
    CHECK_THROWS_WITH(m.predict_proba(y), Contains("not fitted"));
    CHECK_THROWS_WITH(GPC(KernelD(), {.max_iter_predict = 0}), Contains("max_iter_predict must be positive, got 0"));
    m.fit(x, labels());
    CHECK_THROWS_WITH(m.predict(Eigen::MatrixXd(1, 5)), Contains("x has columns 5, expected 2"));
  }
}

// ---- cross and diagonal contractions, SparseGaussianProcessRegressor -------------------------------------
TEST_CASE("Kernel::gradient_inner(x, y, w) and diagonal_gradient_inner equal central differences", "[gp][kernel]") {
  const Eigen::MatrixXd x = X(), y = Y();
  pml::Rng rng(6);
  Eigen::MatrixXd w(N, M);
  pml::random::fill_normal(rng, w);
  Eigen::VectorXd wd(N);
  pml::random::fill_normal(rng, wd);
  for (const char* t : {"2 * rbf([0.6, 1.8]) + white(0.2)", "matern([0.8, 1.5], nu=2.5) * rational_quadratic(0.8, 1.7)",
                        "(rbf(1.2) + dot_product(0.3)) * exp_sine_squared(0.9, 3) + 0.4 * matern(0.5, nu=0.5)", "1.5 * dot_product(0.7) * 0.5"}) {
    INFO(t);
    const KernelD k = KernelD::parse(t);
    const Eigen::VectorXd cross = k.gradient_inner(x, y, w), diag = k.diagonal_gradient_inner(x, wd);
    const Eigen::VectorXd theta = k.theta();
    for (Eigen::Index p = 0; p < theta.size(); ++p) {
      Eigen::VectorXd up = theta, down = theta;
      up(p) += 1e-6;
      down(p) -= 1e-6;
      const double fd = w.cwiseProduct(k.with_theta(up)(x, y) - k.with_theta(down)(x, y)).sum() / 2e-6;
      CHECK(cross(p) == Approx(fd).epsilon(1e-6).margin(1e-8));
      const double fd_diag = wd.dot(k.with_theta(up).diagonal(x) - k.with_theta(down).diagonal(x)) / 2e-6;
      CHECK(diag(p) == Approx(fd_diag).epsilon(1e-6).margin(1e-8));
    }
  }
}

TEST_CASE("Kernel::input_gradient_inner equals central differences in the rows of x", "[gp][kernel]") {
  const Eigen::MatrixXd x = X(), y = Y();
  pml::Rng rng(8);
  Eigen::MatrixXd w(N, M), ws(N, N);
  pml::random::fill_normal(rng, w);
  pml::random::fill_normal(rng, ws);
  ws = (ws + ws.transpose()).eval();
  for (const char* t : {"2 * rbf([0.6, 1.8]) + white(0.2)", "matern([0.8, 1.5], nu=2.5) * rational_quadratic(0.8, 1.7)",
                        "(rbf(1.2) + dot_product(0.3)) * exp_sine_squared(0.9, 3) + 0.4 * matern(0.5, nu=0.5)", "1.5 * dot_product(0.7) * 0.5",
                        "matern(0.7, nu=1.5) + 3", "rational_quadratic(1.3, 0.4) * exp_sine_squared(2, 1.1)"}) {
    INFO(t);
    const KernelD k = KernelD::parse(t);
    const Eigen::MatrixXd g = k.input_gradient_inner(x, y, w);
    REQUIRE(g.rows() == N);
    REQUIRE(g.cols() == D);
    // K(X, X) with a symmetric weight: twice the one-sided contraction (white noise counts on the diagonal only)
    const Eigen::MatrixXd gs = 2.0 * k.input_gradient_inner(x, x, ws);
    for (Eigen::Index i = 0; i < N; ++i)
      for (Eigen::Index c = 0; c < D; ++c) {
        Eigen::MatrixXd up = x, down = x;
        up(i, c) += 1e-6;
        down(i, c) -= 1e-6;
        const double fd = w.cwiseProduct(k(up, y) - k(down, y)).sum() / 2e-6;
        CHECK(g(i, c) == Approx(fd).epsilon(1e-6).margin(1e-7));
        const double fd_same = ws.cwiseProduct(k(up) - k(down)).sum() / 2e-6;
        CHECK(gs(i, c) == Approx(fd_same).epsilon(1e-6).margin(1e-7));
      }
  }
  // far from the origin: the same gradient as at the origin (stationary kernels; differences formed directly)
  const KernelD k = KernelD::parse("2 * rbf([0.6, 1.8]) + rational_quadratic(0.8, 1.7)");
  const Eigen::MatrixXd shifted = k.input_gradient_inner((x.array() + 1e7).matrix(), (y.array() + 1e7).matrix(), w);
  CHECK(rel(shifted, k.input_gradient_inner(x, y, w)) < 1e-8);
  CHECK_THROWS_WITH(k.input_gradient_inner(x, y, Eigen::MatrixXd::Zero(3, 3)), Contains("w is 3x3, expected 24x7"));
  CHECK_THROWS_WITH(k.input_gradient_inner(x, Eigen::MatrixXd::Zero(3, 3), w), Contains("y has 3 columns, x has 2"));
  // a Matérn ν = ½ kernel at x = y (not differentiable there) contributes 0, never NaN
  CHECK(KernelD::matern(1.0, 0.5).input_gradient_inner(x, x, ws).allFinite());
}

using SGPR = pml::SparseGaussianProcessRegressor<double>;

TEST_CASE("SparseGaussianProcessRegressor with Z = X is the exact GP", "[gp][sparse]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  const KernelD k = KernelD::parse("1.3 * rbf([0.8, 1.4])");
  SGPR sparse(k, {.noise_variance = 0.02, .optimize = false, .jitter = 0});
  pml::Rng rng(1);
  sparse.fit(x, t, x, rng);
  GPR exact(k, {.alpha = 0.02, .optimize = false});
  exact.fit(x, t);
  CHECK(sparse.elbo() == Approx(exact.log_marginal_likelihood()).epsilon(1e-9));
  const auto ps = sparse.predict(y), pe = exact.predict(y);
  CHECK(rel(ps.mean, pe.mean) < 1e-8);
  CHECK(rel(ps.variance, pe.variance) < 1e-6);
  // and its gradient is the exact one (kernel part; the noise enters the exact GP as a fixed alpha)
  Eigen::VectorXd gs, ge;
  Eigen::VectorXd theta(k.n_dims() + 1);
  theta << k.theta(), std::log(0.02);
  SGPR fitted_noise(k, {.noise_variance = 0.02, .optimize = false, .jitter = 0});
  fitted_noise.fit(x, t, x, rng);
  fitted_noise.elbo(theta, &gs);
  exact.log_marginal_likelihood(k.theta(), &ge);
  CHECK(rel(gs.head(k.n_dims()), ge) < 1e-7);
}

TEST_CASE("SparseGaussianProcessRegressor: the bound's gradient equals central differences", "[gp][sparse]") {
  const Eigen::MatrixXd x = X();
  const Eigen::VectorXd t = vec(gp::y);
  for (const char* text : {"1.3 * rbf([0.8, 1.4])", "matern(0.9, nu=1.5) + 0.5 * rational_quadratic(0.7, 2)", "dot_product(0.5) * rbf(2) * 0.7"}) {
    INFO(text);
    SGPR m(KernelD::parse(text), {.inducing_points = 7, .noise_variance = 0.05, .optimize = false});
    pml::Rng rng(2);
    m.fit(x, t, rng);
    Eigen::VectorXd theta(m.kernel().n_dims() + 1), g;
    theta << m.kernel().theta(), std::log(0.05);
    m.elbo(theta, &g);
    for (Eigen::Index p = 0; p < theta.size(); ++p) {
      Eigen::VectorXd up = theta, down = theta;
      up(p) += 1e-5;
      down(p) -= 1e-5;
      CHECK(g(p) == Approx((m.elbo(up) - m.elbo(down)) / 2e-5).epsilon(1e-5).margin(1e-7));
    }
    // the bound is below the exact log marginal likelihood
    GPR exact(m.kernel(), {.alpha = 0.05, .optimize = false});
    exact.fit(x, t);
    CHECK(m.elbo() <= exact.log_marginal_likelihood() + 1e-9);
  }
}

TEST_CASE("SparseGaussianProcessRegressor: fitted on 600 rows with 30 inducing inputs predicts as well as the exact GP", "[gp][sparse][quality]") {
  pml::Rng rng(31);
  const Eigen::Index n = 600;
  Eigen::MatrixXd x(n, 1);
  pml::random::fill_uniform(rng, x);
  x = (x.array() * 10.0 - 5.0).matrix();
  Eigen::VectorXd t(n);
  for (Eigen::Index i = 0; i < n; ++i) t(i) = std::sin(x(i, 0)) + 0.3 * std::cos(3 * x(i, 0)) + 0.1 * pml::random::normal<double>(rng);
  Eigen::MatrixXd q = Eigen::VectorXd::LinSpaced(200, -4.9, 4.9);
  const Eigen::VectorXd truth = q.col(0).array().sin() + 0.3 * (3 * q.col(0).array()).cos();
  SGPR sparse(KernelD::parse("1 * rbf(1)"), {.inducing_points = 30, .noise_variance = 0.1});
  sparse.fit(x, t, rng);
  GPR exact(KernelD::parse("1 * rbf(1) + white(0.1)"));
  exact.fit(x, t);
  const double rmse_sparse = std::sqrt((sparse.predict(q).mean.col(0) - truth).squaredNorm() / 200);
  const double rmse_exact = std::sqrt((exact.predict(q).mean.col(0) - truth).squaredNorm() / 200);
  INFO("RMSE sparse " << rmse_sparse << ", exact " << rmse_exact << "; noise " << sparse.noise_variance() << ", kernel " << sparse.kernel().to_string());
  CHECK(rmse_sparse <= 1.05 * rmse_exact + 1e-3);
  CHECK(sparse.noise_variance() == Approx(0.01).epsilon(0.2));
  CHECK(sparse.inducing_inputs().rows() == 30);
}

TEST_CASE("SparseGaussianProcessRegressor: save/load, threads and errors", "[gp][sparse]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  SECTION("save and load predict bit for bit") {
    SGPR m(KernelD::parse("1 * rbf([1, 1])"), {.inducing_points = 10, .noise_variance = 0.1, .normalize_y = true});
    m.fit(x, t);
    const auto dir = std::filesystem::temp_directory_path() / ("pml_sgpr_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    m.save(dir / "s.pml");
    const SGPR back = SGPR::load(dir / "s.pml");
    CHECK(back.predict(y).mean == m.predict(y).mean);
    CHECK(back.predict(y).variance == m.predict(y).variance);
    CHECK(back.kernel() == m.kernel());
    CHECK(back.noise_variance() == m.noise_variance());
    CHECK_THROWS_WITH(back.elbo(Eigen::VectorXd::Zero(4)), Contains("not kept in model files"));
    std::filesystem::remove_all(dir);
  }
  SECTION("the same fit for any thread count") {
    auto run = [&](int threads) {
      pml::set_num_threads(threads);
      SGPR m(KernelD::parse("1 * rbf([1, 1])"), {.inducing_points = 12, .noise_variance = 0.1, .n_restarts_optimizer = 1});
      pml::Rng rng(4);
      m.fit(x, t, rng);
      return m.predict(y).mean;
    };
    const Eigen::MatrixXd one = run(1), two = run(2);
    pml::set_num_threads(0);
    CHECK(one == two);
  }
  SECTION("errors") {
    CHECK_THROWS_WITH(SGPR(KernelD::parse("rbf(1) + white(0.1)")), Contains("white kernel") && Contains("noise_variance"));
    CHECK_THROWS_WITH(SGPR(KernelD::rbf(1.0), {.inducing_points = 0}), Contains("inducing_points must be at least 1, got 0"));
    CHECK_THROWS_WITH(SGPR(KernelD::rbf(1.0), {.noise_variance = 1e-9}), Contains("noise_variance must lie within"));
    SGPR m;
    CHECK_THROWS_WITH(m.predict(y), Contains("not fitted"));
    CHECK_THROWS_WITH(m.fit(x, t.head(4)), Contains("y has length 4, expected 24"));
    pml::Rng rng(1);
    CHECK_THROWS_WITH(m.fit(x, t, Eigen::MatrixXd::Zero(3, 5), rng), Contains("z has columns 5, expected 2"));
  }
}

TEST_CASE("SparseGaussianProcessRegressor: the bound's gradient in the inducing inputs equals central differences", "[gp][sparse]") {
  const Eigen::MatrixXd x = X();
  const Eigen::VectorXd t = vec(gp::y);
  for (const char* text : {"1.3 * rbf([0.8, 1.4])", "matern(0.9, nu=2.5) + 0.5 * rational_quadratic(0.7, 2)",
                           "exp_sine_squared(1.1, 2.5) * rbf(2) * 0.7"}) {
    INFO(text);
    SGPR m(KernelD::parse(text), {.inducing_points = 6, .noise_variance = 0.05, .optimize = false});
    pml::Rng rng(3);
    m.fit(x, t, rng);
    Eigen::VectorXd theta(m.kernel().n_dims() + 1), g, g_plain;
    theta << m.kernel().theta(), std::log(0.05);
    const Eigen::MatrixXd z = m.inducing_inputs();
    Eigen::MatrixXd gz;
    const double value = m.elbo(theta, z, &g, &gz);
    CHECK(value == Approx(m.elbo(theta, &g_plain)).epsilon(1e-14));
    CHECK(rel(g, g_plain) < 1e-12);
    REQUIRE(gz.rows() == 6);
    REQUIRE(gz.cols() == D);
    for (Eigen::Index i = 0; i < z.rows(); ++i)
      for (Eigen::Index c = 0; c < D; ++c) {
        Eigen::MatrixXd up = z, down = z;
        up(i, c) += 1e-5;
        down(i, c) -= 1e-5;
        const double fd = (m.elbo(theta, up, nullptr, nullptr) - m.elbo(theta, down, nullptr, nullptr)) / 2e-5;
        CHECK(gz(i, c) == Approx(fd).epsilon(1e-5).margin(1e-6));
      }
  }
  SGPR m(KernelD::parse("1 * rbf(1)"), {.inducing_points = 4, .optimize = false});
  m.fit(x, t);
  const Eigen::VectorXd theta = Eigen::VectorXd::Zero(3);
  CHECK_THROWS_WITH(m.elbo(theta, Eigen::MatrixXd::Zero(4, 3), nullptr, nullptr), Contains("z has columns 3, expected 2"));
  CHECK_THROWS_WITH(m.elbo(theta, Eigen::MatrixXd::Constant(4, 2, NAN), nullptr, nullptr), Contains("z"));
}

TEST_CASE("SparseGaussianProcessRegressor: optimised inducing inputs raise the bound and predict better than k-means centres",
          "[gp][sparse][quality]") {
  pml::Rng data(31);
  const Eigen::Index n = 400;
  Eigen::MatrixXd x(n, 1);
  pml::random::fill_uniform(data, x);
  x = (x.array() * 10.0 - 5.0).matrix();
  Eigen::VectorXd t(n);
  for (Eigen::Index i = 0; i < n; ++i) t(i) = std::sin(x(i, 0)) + 0.3 * std::cos(3 * x(i, 0)) + 0.1 * pml::random::normal<double>(data);
  Eigen::MatrixXd q = Eigen::VectorXd::LinSpaced(200, -4.9, 4.9);
  const Eigen::VectorXd truth = q.col(0).array().sin() + 0.3 * (3 * q.col(0).array()).cos();
  auto fit = [&](bool optimise_z, double shift) {
    SGPR m(KernelD::parse("1 * rbf(1)"), {.inducing_points = 10, .noise_variance = 0.1, .optimize_inducing_inputs = optimise_z});
    pml::Rng rng(5);
    m.fit((x.array() + shift).matrix(), t, rng);
    return m;
  };
  const SGPR kmeans = fit(false, 0), optimised = fit(true, 0);
  auto rmse = [&](const SGPR& m, double shift) {
    return std::sqrt((m.predict((q.array() + shift).matrix()).mean.col(0) - truth).squaredNorm() / 200);
  };
  INFO("bound k-means " << kmeans.elbo() << ", optimised " << optimised.elbo() << "; RMSE " << rmse(kmeans, 0) << " vs " << rmse(optimised, 0));
  CHECK(optimised.elbo() > kmeans.elbo() + 10);
  CHECK(rmse(optimised, 0) < 0.8 * rmse(kmeans, 0));
  CHECK(optimised.inducing_inputs() != kmeans.inducing_inputs());
  // the bound never exceeds the exact log marginal likelihood at the same hyperparameters
  GPR exact(optimised.kernel(), {.alpha = optimised.noise_variance(), .optimize = false});
  exact.fit(x, t);
  CHECK(optimised.elbo() <= exact.log_marginal_likelihood() + 1e-6);
  // shifted far from the origin: the same fit (Z is optimised standardised by the inputs' scale)
  const SGPR far = fit(true, 1e6);
  CHECK(far.elbo() == Approx(optimised.elbo()).epsilon(1e-6));
  CHECK(std::abs(rmse(far, 1e6) - rmse(optimised, 0)) < 1e-4);
  CHECK(rel((far.inducing_inputs().array() - 1e6).matrix(), optimised.inducing_inputs()) < 1e-5);
}

TEST_CASE("SparseGaussianProcessRegressor: optimised inducing inputs — threads, save/load, float", "[gp][sparse]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  auto run = [&](int threads) {
    pml::set_num_threads(threads);
    SGPR m(KernelD::parse("1 * rbf([1, 1])"), {.inducing_points = 5, .noise_variance = 0.1, .n_restarts_optimizer = 1, .optimize_inducing_inputs = true});
    pml::Rng rng(4);
    m.fit(x, t, rng);
    return m;
  };
  const SGPR one = run(1), two = run(2);
  pml::set_num_threads(0);
  CHECK(one.predict(y).mean == two.predict(y).mean);
  CHECK(one.inducing_inputs() == two.inducing_inputs());
  const auto dir = std::filesystem::temp_directory_path() / ("pml_sgpr_z_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  one.save(dir / "s.pml");
  const SGPR back = SGPR::load(dir / "s.pml");
  CHECK(back.options().optimize_inducing_inputs);
  CHECK(back.inducing_inputs() == one.inducing_inputs());
  CHECK(back.predict(y).mean == one.predict(y).mean);
  std::filesystem::remove_all(dir);
  // only Z moves when the hyperparameters are held
  SGPR held(KernelD::parse("1 * rbf([1, 1])"), {.inducing_points = 5, .noise_variance = 0.1, .optimize = false, .optimize_inducing_inputs = true});
  held.fit(x, t);
  CHECK(held.kernel() == KernelD::parse("1 * rbf([1, 1])"));
  CHECK(held.noise_variance() == 0.1);
  SGPR fixed_z(KernelD::parse("1 * rbf([1, 1])"), {.inducing_points = 5, .noise_variance = 0.1, .optimize = false});
  fixed_z.fit(x, t);
  CHECK(held.elbo() > fixed_z.elbo());
  // float
  pml::SparseGaussianProcessRegressor<float> f(pml::Kernel<float>::parse("1 * rbf([1, 1])"),
                                              {.inducing_points = 5, .noise_variance = 0.1f, .optimize_inducing_inputs = true});
  f.fit(x.cast<float>(), t.cast<float>());
  SGPR d(KernelD::parse("1 * rbf([1, 1])"), {.inducing_points = 5, .noise_variance = 0.1, .optimize_inducing_inputs = true});
  d.fit(x, t);
  INFO("float bound " << f.elbo() << ", double " << d.elbo());
  CHECK(f.predict(y.cast<float>()).mean.allFinite());
  CHECK(double(f.elbo()) == Approx(d.elbo()).epsilon(1e-3));
}

TEST_CASE("Gaussian-process regressors refuse targets whose squares overflow, and standardise huge ones without overflow", "[gp][regressor][sparse]") {
  const Eigen::MatrixXd x = X();
  const Eigen::VectorXd t = vec(gp::y);
  const Eigen::VectorXd huge = t * 1e300;
  CHECK_THROWS_WITH(GPR(KernelD::parse("rbf(1) + white(0.1)"), {.optimize = false}).fit(x, huge), Contains("GaussianProcessRegressor::fit: y must spread"));
  CHECK_THROWS_WITH(SGPR(KernelD::parse("rbf(1)"), {.optimize = false}).fit(x, huge), Contains("SparseGaussianProcessRegressor::fit: y must spread"));
  pml::GaussianProcessRegressor<float> f(pml::Kernel<float>::parse("rbf(1) + white(0.1)"), {.optimize = false});
  CHECK_THROWS_WITH(f.fit(x.cast<float>(), (t * 1e30).cast<float>()), Contains("y must spread"));
  // 1e150: the squares of single values fit in double, their sum over 24 rows would not without care
  const Eigen::VectorXd big = t * 1e153;
  GPR normalised(KernelD::parse("rbf(1) + white(0.1)"), {.optimize = false, .normalize_y = true});
  normalised.fit(x, big);
  GPR unit(KernelD::parse("rbf(1) + white(0.1)"), {.optimize = false, .normalize_y = true});
  unit.fit(x, t);
  CHECK(rel(normalised.predict(Y()).mean, unit.predict(Y()).mean * 1e153) < 1e-12);
}

TEST_CASE("Sparse GP files with fewer rows than inducing_points load back; overflowing predictions are refused", "[gp][sparse][io]") {
  const Eigen::MatrixXd x = X(), y = Y();
  const Eigen::VectorXd t = vec(gp::y);
  const auto dir = std::filesystem::temp_directory_path() / ("pml_sgpr_m_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // 24 rows and M = 50: Z is every row; and a given Z of 3 rows with the default M = 100
  SGPR all_rows(KernelD::parse("1 * rbf(1)"), {.inducing_points = 50, .noise_variance = 0.1, .optimize = false});
  all_rows.fit(x, t);
  all_rows.save(dir / "all.pml");
  CHECK(SGPR::load(dir / "all.pml").predict(y).mean == all_rows.predict(y).mean);
  SGPR given(KernelD::parse("1 * rbf(1)"), {.noise_variance = 0.1, .optimize = false});
  pml::Rng rng(1);
  given.fit(x, t, x.topRows(3), rng);
  given.save(dir / "given.pml", pml::io::FileFormat::json);
  CHECK(SGPR::load(dir / "given.pml").inducing_inputs().rows() == 3);
  std::filesystem::remove_all(dir);
  // a dot product of inputs near 1e155 overflows: an exception naming x, not NaN
  const Eigen::MatrixXd huge = Eigen::MatrixXd::Constant(2, 2, 1e160);
  GPR exact(KernelD::parse("dot_product(1) + white(0.1)"), {.optimize = false});
  exact.fit(x, t);
  CHECK_THROWS_WITH(exact.predict(huge), Contains("GaussianProcessRegressor::predict: x must give finite kernel values"));
  CHECK_THROWS_WITH(exact.predict_covariance(huge), Contains("x must give finite kernel values"));
  SGPR sparse(KernelD::parse("dot_product(1)"), {.inducing_points = 5, .noise_variance = 0.1, .optimize = false});
  sparse.fit(x, t);
  CHECK_THROWS_WITH(sparse.predict(huge), Contains("SparseGaussianProcessRegressor::predict: x must give finite kernel values"));
  pml::IntVector labels(N);
  for (Eigen::Index i = 0; i < N; ++i) labels(i) = t(i) > t.mean() ? 1 : 0;
  pml::GaussianProcessClassifier<double> gpc(KernelD::parse("dot_product(1)"), {.optimize = false});
  gpc.fit(x, labels);
  CHECK_THROWS_WITH(gpc.predict_proba(huge), Contains("x must give finite kernel values"));
}

TEST_CASE("GaussianProcessRegressor: overflowing hyperparameters and a wrong ARD size are said so", "[gp][regressor]") {
  const Eigen::MatrixXd x = X();
  const Eigen::VectorXd t = vec(gp::y);
  GPR huge(KernelD::dot_product(1e200, KernelD::Bounds{1e-5, 1e300, true}), {.optimize = false});
  CHECK_THROWS_WITH(huge.fit(x, t), Contains("finite kernel matrix"));
  GPR ard(KernelD::rbf(Eigen::Vector3d(1, 1, 1)));
  CHECK_THROWS_WITH(ard.fit(x, t), Contains("ARD length_scale has 3 entries but x has 2 columns"));
  // Matérn far beyond its length scale is 0, not NaN
  const KernelD m = KernelD::matern(1e-300, 2.5, KernelD::Bounds{1e-300, 1, true});
  CHECK(m(x).allFinite());
}
