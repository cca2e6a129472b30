// The estimator check suite over the Gaussian processes: the exact regressor, the Laplace classifier and the
// sparse regressor (checks in estimator_checks.hpp, shared adapter helpers in adapters.hpp). None of them
// takes sample weights. Each adapter takes its kernel from the data's own scale — one ARD length scale per
// column, the column's range — which makes the model the same function of x / range whatever the units, and
// holds the hyperparameters there (optimize = false): the checks are about the models' numbers. The
// degenerate inputs go through the whole fit (hyperparameters and the sparse model's inducing inputs optimised). Fitted
// hyperparameters are equivariant only to the optimiser's stopping rule: on these data (a linear target,
// whose likelihood has a long flat ridge in the constant and the length scales) a shifted or scaled fit's
// hyperparameters agreed to about 3e-9 in double for the exact regressor and to 1e-4..1e-3 for the sparse one
// with optimised inducing inputs, and to 1e-1 in float (measured 2026-12-04; tests/models/test_gaussian_process
// checks the optimised inducing inputs under a shift of 1e6 to 1e-6).

#include "estimator_checks/adapters.hpp"

#include "pml/models/gaussian_process.hpp"

namespace {

using namespace pml_test::estimator;

// constant(1) * rbf(ℓ) with ℓ_c the range of column c (1 for a constant column), bounded within ℓ_c / 100 ..
// 100 ℓ_c (float's range holds that for data near 1e±35); with `noise`, + white(0.1).
template <class T> pml::Kernel<T> data_kernel(const Matrix<T>& x, bool noise) {
  using K = pml::Kernel<T>;
  Vector<T> ls(x.cols());
  for (Index c = 0; c < x.cols(); ++c) {
    const T range = x.col(c).maxCoeff() - x.col(c).minCoeff();
    ls(c) = range > T(0) && std::isfinite(range) ? range : T(1);
  }
  // one bound for every column: the smallest range / 100 to the largest x 100
  const typename K::Bounds bounds{ls.minCoeff() / T(100), ls.maxCoeff() * T(100), false};
  K k = K::constant(T(1)) * K::rbf(ls, bounds);
  return noise ? k + K::white(T(0.1)) : k;
}

struct GaussianProcessRegressorAdapter : AdapterDefaults {
  static constexpr const char* name = "GaussianProcessRegressor(constant * rbf(ARD) + white, normalize_y)";
  static constexpr const char* function = "GaussianProcessRegressor";
  static constexpr std::array arguments{"x", "y", "kernel"};
  static constexpr Target target = Target::continuous;
  static constexpr Index wide = 200;  // one length scale per column: the optimiser's cost grows with D
  static const char* not_applicable(Check c) { return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    pml::GaussianProcessRegressor<T> m(data_kernel<T>(p.x, true), {.optimize = p.degenerate, .normalize_y = true});
    pml::Rng rng(seed);
    m.fit(p.x, p.y, rng);
    Outputs out;
    const auto pred = m.predict(p.query);
    out.push_back(scaled("log_marginal_likelihood", double(m.log_marginal_likelihood()), 0));
    out.push_back(scaled("predict(query).mean", pred.mean, 0, true));
    out.push_back(scaled("predict(query).variance", pred.variance, 0, true));
    return out;
  }
};

struct GaussianProcessClassifierAdapter : AdapterDefaults {
  static constexpr const char* name = "GaussianProcessClassifier(constant * rbf(ARD))";
  static constexpr const char* function = "GaussianProcessClassifier";
  static constexpr std::array arguments{"x", "t", "kernel"};
  static constexpr Target target = Target::binary;
  static constexpr Index wide = 200;
  static const char* not_applicable(Check c) { return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    pml::GaussianProcessClassifier<T> m(data_kernel<T>(p.x, false), {.optimize = p.degenerate});
    pml::Rng rng(seed);
    m.fit(p.x, p.labels, rng);
    Outputs out;
    const auto latent = m.predict_latent(p.query);
    out.push_back(scaled("predict_latent(query).mean", latent.mean, 0, true));
    out.push_back(scaled("predict_latent(query).variance", latent.variance, 0, true));
    out.push_back(scaled("log_marginal_likelihood (Laplace)", double(m.log_marginal_likelihood()), 0));
    out.push_back(scaled("predict_proba(query)", m.predict_proba(p.query), 0, true));
    return out;
  }
};

// The inducing inputs are the query rows (shifted, scaled and left in place with them when the training rows
// are permuted; k-means centres would depend on the row order through their seeding).
struct SparseGaussianProcessRegressorAdapter : AdapterDefaults {
  static constexpr const char* name = "SparseGaussianProcessRegressor(constant * rbf(ARD), Z = query rows)";
  static constexpr const char* function = "SparseGaussianProcessRegressor";
  static constexpr std::array arguments{"x", "y", "z", "kernel"};
  static constexpr Target target = Target::continuous;
  static constexpr Index wide = 200;
  static const char* not_applicable(Check c) { return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    pml::SparseGaussianProcessRegressor<T> m(data_kernel<T>(p.x, false),
                                             {.noise_variance = T(0.1), .optimize = p.degenerate, .normalize_y = true, .optimize_inducing_inputs = p.degenerate});
    pml::Rng rng(seed);
    m.fit(p.x, p.y, p.query, rng);
    Outputs out;
    const auto pred = m.predict(p.query);
    out.push_back(scaled("elbo (Titsias's bound)", double(m.elbo()), 0));
    out.push_back(scaled("predict(query).mean", pred.mean, 0, true));
    out.push_back(scaled("predict(query).variance", pred.variance, 0, true));
    return out;
  }
};

using Models = std::tuple<GaussianProcessRegressorAdapter, GaussianProcessClassifierAdapter, SparseGaussianProcessRegressorAdapter>;

}  // namespace

PML_ESTIMATOR_CHECKS(Models, "[estimator_checks][gaussian_process]")
