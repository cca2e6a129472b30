#pragma once
/// @file
/// Gaussian-process regression with exact inference (Rasmussen & Williams algorithm 2.1, PRML §6.4.2–6.4.3),
/// hyperparameters fitted by maximising the log marginal likelihood with L-BFGS-B (LBFGS++), as
/// scikit-learn's `GaussianProcessRegressor`.
///
/// Needs LBFGS++ (header-only, Debian's `liblbfgspp-dev`) for the optimiser.


#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Cholesky>

#include "pml/core/instantiation.hpp"
#include "pml/core/check.hpp"
#include "pml/core/cholesky.hpp"
#include "pml/core/random.hpp"
#include "pml/core/rng.hpp"
#include "pml/core/special.hpp"
#include "pml/models/gaussian_process/kernel.hpp"
#include "pml/models/gaussian_process/optimise.hpp"
#include "pml/models/prediction.hpp"
#include "pml/serialization/state.hpp"

namespace pml {

/// Options of GaussianProcessRegressor (scikit-learn's names where it has them).
template <Real T = double> struct GaussianProcessRegressorOptions {
  /// Added to the diagonal of K(X, X) (scikit-learn's `alpha`): the variance of independent observation
  /// noise, or a small jitter for noise-free data. Not a hyperparameter (use a white kernel to fit the noise).
  T alpha = T(1e-10);
  /// Maximise the log marginal likelihood over the kernel's free hyperparameters (scikit-learn's
  /// `optimizer="fmin_l_bfgs_b"`); false keeps the kernel as given (`optimizer=None`).
  bool optimize = true;
  /// Further optimiser runs from log-hyperparameters drawn uniformly within their log bounds; the best of all
  /// runs is kept.
  int n_restarts_optimizer = 0;
  /// Standardise the targets (mean 0, standard deviation 1) before fitting; predictions are scaled back.
  bool normalize_y = false;
  /// L-BFGS-B iterations per run at most.
  int max_iterations = 15000;
  /// L-BFGS-B stops when the projected gradient's largest entry is at most this (scipy's `pgtol`, 1e-5).
  T gradient_tolerance = T(1e-5);

  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("alpha", o.alpha);
    v("optimize", o.optimize);
    v("n_restarts_optimizer", o.n_restarts_optimizer);
    v("normalize_y", o.normalize_y);
    v("max_iterations", o.max_iterations);
    v("gradient_tolerance", o.gradient_tolerance);
  }
};

/// Gaussian-process regression y = f(x) + ε, f ~ GP(0, k), ε ~ N(0, alpha): the posterior of f at new inputs
/// is Gaussian with mean K*ᵀ(K + αI)⁻¹y and covariance K** − K*ᵀ(K + αI)⁻¹K* (R&W eq. 2.25–2.26; PRML
/// 6.66–6.67), computed through the Cholesky factor L of K + αI (R&W algorithm 2.1).
///
/// `fit(x, y)` maximises the log marginal likelihood
/// log p(y | X, θ) = −½ yᵀ(K + αI)⁻¹y − Σᵢ log Lᵢᵢ − (N/2) log 2π (R&W eq. 2.30) over the kernel's free
/// log-hyperparameters θ within their bounds, with the gradient ½ tr((aaᵀ − (K + αI)⁻¹) ∂K/∂θⱼ),
/// a = (K + αI)⁻¹y (R&W eq. 5.9). When K + αI is not numerically positive definite, a jitter is added to its
/// diagonal (1e-10 times its mean diagonal, growing tenfold up to 1e-2 times it) and reported by `jitter()`.
///
/// Inputs are N x D (one sample per row), targets length N. The model is fitted to one output.
/// Thread safety: const members may run on one fitted model from many threads at once (each with its own Rng).
template <Real T = double> class GaussianProcessRegressor {
 public:
  using Options = GaussianProcessRegressorOptions<T>;  ///< The options type.
  using Scalar = T;                                    ///< The scalar type (float or double).

  /// scikit-learn's default kernel: `constant(1, fixed) * rbf(1, fixed)` (nothing to optimise).
  static Kernel<T> default_kernel() {
    using K = Kernel<T>;
    return K::constant(T(1), K::Bounds::held()) * K::rbf(T(1), K::Bounds::held());
  }

  /// A regressor with the given prior covariance and options. @throw std::domain_error for a negative alpha,
  /// a negative n_restarts_optimizer, a non-positive max_iterations or gradient_tolerance.
  explicit GaussianProcessRegressor(Kernel<T> kernel = default_kernel(), const Options& options = {})
      : options_(options), kernel_(std::move(kernel)), fitted_kernel_(kernel_) {
    const char* f = "GaussianProcessRegressor";
    check_nonnegative(f, "alpha", options.alpha);
    if (options.n_restarts_optimizer < 0)
      detail::throw_domain(f, "n_restarts_optimizer", "be non-negative", std::to_string(options.n_restarts_optimizer));
    if (options.max_iterations <= 0)
      detail::throw_domain(f, "max_iterations", "be positive", std::to_string(options.max_iterations));
    check_positive(f, "gradient_tolerance", options.gradient_tolerance);
  }

  /// A regressor with default_kernel() and the given options.
  explicit GaussianProcessRegressor(const Options& options) : GaussianProcessRegressor(default_kernel(), options) {}

  /// Fits the posterior to inputs `x` (N x D) and targets `y` (length N), first optimising the kernel's
  /// hyperparameters unless `optimize` is false; restarts draw their starting points from `rng`.
  /// @throw std::invalid_argument for no rows or mismatched sizes; std::domain_error for non-finite values,
  /// or a K + αI that even the largest jitter leaves singular.
  GaussianProcessRegressor& fit(const MatrixCRef<T>& x, const VectorCRef<T>& y, Rng& rng);
  /// fit() with the restarts' generator seeded by 0.
  GaussianProcessRegressor& fit(const MatrixCRef<T>& x, const VectorCRef<T>& y) {
    Rng rng(0);
    return fit(x, y, rng);
  }

  /// The predictive distribution of f at the rows of `x` (N x D): mean and variance, each N x 1 (R&W eq.
  /// 2.25–2.26). `variance` = `epistemic` (the posterior variance of f; a white kernel's noise is in it, as
  /// in scikit-learn's `return_std`), `aleatoric` = 0 (the noise `alpha` is not added). Before fit(), the
  /// prior (mean 0, variance k(x, x)). @throw std::invalid_argument for a wrong number of columns.
  Prediction<T> predict(const MatrixCRef<T>& x) const;
  /// The posterior mean of f at the rows of `x` (length N).
  Vector<T> predict_mean(const MatrixCRef<T>& x) const { return predict(x).mean.col(0); }
  /// The N x N posterior covariance of f at the rows of `x` (scikit-learn's `return_cov`; the prior's before fit()).
  Matrix<T> predict_covariance(const MatrixCRef<T>& x) const;
  /// `n` functions drawn from the posterior of f (from the prior before fit()) at the rows of `x`: an
  /// N x n matrix, one draw per column (scikit-learn's `sample_y`; R&W fig. 2.2). The covariance is factorised
  /// with the same growing jitter as fit(). @throw std::domain_error for n < 0.
  Matrix<T> sample_y(Rng& rng, const MatrixCRef<T>& x, Index n = 1) const;

  /// The log marginal likelihood at the fitted hyperparameters (of the standardised targets with normalize_y).
  /// @throw std::logic_error if not fitted.
  T log_marginal_likelihood() const {
    require_fitted("GaussianProcessRegressor::log_marginal_likelihood");
    return log_marginal_likelihood_;
  }
  /// The log marginal likelihood of the training data at log-hyperparameters `theta` (length
  /// kernel().n_dims()), and its gradient in `gradient` when given (R&W eq. 2.30, 5.9). Does not change the
  /// model. @throw std::logic_error if not fitted; std::invalid_argument for a wrong length.
  T log_marginal_likelihood(const VectorCRef<T>& theta, Vector<T>* gradient = nullptr) const;

  const Kernel<T>& kernel() const noexcept { return fitted_kernel_; }  ///< The fitted kernel (scikit-learn's `kernel_`).
  const Kernel<T>& initial_kernel() const noexcept { return kernel_; }  ///< The kernel given to the constructor.
  /// The extra jitter added to the diagonal of K + αI by the last fit() (0 when none was needed).
  T jitter() const noexcept { return jitter_; }
  /// (K + αI)⁻¹ y of the (standardised) training targets (scikit-learn's `alpha_`).
  const Vector<T>& dual_coef() const noexcept { return a_; }
  /// L-BFGS-B iterations of the run that gave the fitted hyperparameters (0 without optimisation).
  int iterations() const noexcept { return iterations_; }
  /// Evaluations of the log marginal likelihood and its gradient by the last fit()'s optimiser, over all runs.
  int evaluations() const noexcept { return evaluations_; }
  /// Whether every optimiser run stopped at its gradient tolerance (true without optimisation).
  bool converged() const noexcept { return converged_; }
  const Options& options() const noexcept { return options_; }  ///< The options.
  bool fitted() const noexcept { return x_train_.rows() > 0; }   ///< Whether fit() has run.
  const Matrix<T>& x_train() const noexcept { return x_train_; }  ///< The training inputs (N x D).

  /// Writes the model (kernels as text, training data, factor) to `path` (type "GaussianProcessRegressor";
  /// serialization/model_file.hpp). A loaded model predicts bit-identically. @throw std::logic_error if not
  /// fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    require_fitted("GaussianProcessRegressor::save");
    io::save_model(*this, path, format, "GaussianProcessRegressor::save");
  }
  /// A model saved by save(). @throw std::runtime_error naming the path for a missing, truncated, corrupt or
  /// wrong-type file.
  static GaussianProcessRegressor load(const std::filesystem::path& path) {
    return io::load_model<GaussianProcessRegressor>(path, "GaussianProcessRegressor::load");
  }
  static constexpr const char* model_name = "GaussianProcessRegressor";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    detail::kernel_state(self.kernel_, self.fitted_kernel_, a);
    a.matrix("x_train", self.x_train_);
    const Index n = self.x_train_.rows();
    a.require(n > 0, "the training inputs are empty");
    a.vector("y_train", self.y_train_, n);
    a.vector("dual_coef", self.a_, n);
    a.matrix("cholesky_factor", self.l_, n, n);
    a.require(self.l_.template triangularView<Eigen::StrictlyUpper>().toDenseMatrix().isZero(0) && (self.l_.diagonal().array() > T(0)).all(),
              "the Cholesky factor is not lower triangular with a positive diagonal");
    a.scalars("scalars", self.y_mean_, self.y_std_, self.jitter_, self.log_marginal_likelihood_);
    a.require(self.y_std_ > T(0), "the target scale must be positive");
    a.option("iterations", self.iterations_);
    a.option("evaluations", self.evaluations_);
    a.option("converged", self.converged_);
  }

  void require_fitted(const char* function) const {
    if (!fitted()) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
  }
  void check_inputs(const char* function, const MatrixCRef<T>& x) const {
    if (fitted()) check_size(function, "x", x.cols(), x_train_.cols(), "columns");
    check_all_finite(function, "x", x);
  }

  // The lower Cholesky factor of m + (base + jitter) I, with jitter 0 if that works, else the smallest of
  // 1e-10, 1e-9, ..., 1e-2 times m's mean absolute diagonal that does (the rule of cholesky_jitter() in
  // core/linalg.hpp, on the blocked factorisation of core/cholesky.hpp).
  static Matrix<T> jittered_factor(const Matrix<T>& m, T base, T& used, const char* function) {
    if (!m.allFinite())
      detail::throw_domain(function, "the kernel's hyperparameters", "give a finite kernel matrix (a length scale or variance at the edge of the floating-point range?)",
                           "a matrix with an infinite or NaN entry");
    const T mean_diag = m.rows() > 0 ? T(m.diagonal().cwiseAbs().mean()) : T(1);
    const T scale = mean_diag > T(0) && std::isfinite(mean_diag) ? mean_diag : T(1);
    Matrix<T> l = m;
    l.diagonal().array() += base;
    used = 0;
    if (detail::blocked_cholesky(l)) return l;
    for (T factor = T(1e-10); factor <= T(1.0001e-2); factor *= T(10)) {
      used = factor * scale;
      l = m;
      l.diagonal().array() += base + used;
      if (detail::blocked_cholesky(l)) return l;
    }
    detail::throw_domain(function, "the kernel matrix plus alpha",
                         "be positive definite (even with a jitter of 1e-2 x its mean diagonal); increase alpha or add a white kernel",
                         "a matrix of " + std::to_string(m.rows()) + " rows");
  }
  // a = (LLᵀ)⁻¹ y
  static Vector<T> solve_factor(const Matrix<T>& l, const Vector<T>& y) {
    Vector<T> a = y;
    l.template triangularView<Eigen::Lower>().solveInPlace(a);
    l.transpose().template triangularView<Eigen::Upper>().solveInPlace(a);
    return a;
  }

  // log p(y | X, kernel) and optionally its gradient with respect to the kernel's theta:
  // ∂/∂θ_p = ½ Σ (aaᵀ − (K + αI)⁻¹) ∘ ∂K_p (R&W eq. 5.9), with the inverse from the factor in N³/3 + N³/3 flops
  // and the contraction from Kernel::gradient_inner (no N x N gradient matrices).
  T evaluate(const Kernel<T>& kernel, Vector<T>* gradient, T& used) const;

  void factorise(const char* function) {
    l_ = jittered_factor(fitted_kernel_(x_train_), options_.alpha, jitter_, function);
    a_ = solve_factor(l_, y_train_);
    log_marginal_likelihood_ = T(-0.5) * y_train_.dot(a_) - l_.diagonal().array().log().sum() -
                               T(0.5) * T(y_train_.size()) * constants<T>::log_two_pi;
  }

  void optimise(Rng& rng);

  Options options_;
  Kernel<T> kernel_, fitted_kernel_;
  Matrix<T> x_train_;
  Vector<T> y_train_, a_;
  Matrix<T> l_;  // lower Cholesky factor of K + (alpha + jitter) I
  T y_mean_ = 0, y_std_ = 1, jitter_ = 0, log_marginal_likelihood_ = 0;
  int iterations_ = 0, evaluations_ = 0;
  bool converged_ = true;
};


// GaussianProcessRegressor's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto GaussianProcessRegressor<T>::fit(const MatrixCRef<T>& x, const VectorCRef<T>& y, Rng& rng) -> GaussianProcessRegressor& {
    const char* f = "GaussianProcessRegressor::fit";
    check_nonempty(f, "x", x.rows());
    check_size(f, "y", y.size(), x.rows(), "length");
    if (x.cols() == 0) detail::throw_shape(f, "x has no columns");
    check_all_finite(f, "x", x);
    check_all_finite(f, "y", y);
    kernel_.diagonal(x.topRows(1));  // an ARD length scale of the wrong size throws here, not inside the optimiser
    x_train_ = x;
    detail::target_scale<T>(f, y, options_.normalize_y, y_mean_, y_std_);
    y_train_ = ((y.array() - y_mean_) / y_std_).matrix();
    fitted_kernel_ = kernel_;
    iterations_ = 0;
    evaluations_ = 0;
    converged_ = true;
    if (options_.optimize && kernel_.n_dims() > 0) optimise(rng);
    factorise(f);
    return *this;
  }

template <Real T>
auto GaussianProcessRegressor<T>::predict(const MatrixCRef<T>& x) const -> Prediction<T> {
    const char* f = "GaussianProcessRegressor::predict";
    check_inputs(f, x);
    Prediction<T> out;
    if (!fitted()) {
      out.mean = Matrix<T>::Zero(x.rows(), 1);
      out.variance = fitted_kernel_.diagonal(x);
    } else {
      const Matrix<T> ks = fitted_kernel_(x_train_, x);  // N_train x N
      out.mean = (ks.transpose() * a_).array() * y_std_ + y_mean_;
      Matrix<T> v = ks;
      detail::lower_solve_in_place(l_, v);
      Vector<T> var = fitted_kernel_.diagonal(x) - v.colwise().squaredNorm().transpose();
      var = var.cwiseMax(T(0));  // rounding can make a variance slightly negative (scikit-learn clips too)
      out.variance = var * (y_std_ * y_std_);
      detail::check_finite_prediction(f, out.mean);
      detail::check_finite_prediction(f, out.variance);
    }
    out.epistemic = out.variance;
    out.aleatoric = Matrix<T>::Zero(x.rows(), 1);
    return out;
  }

template <Real T>
auto GaussianProcessRegressor<T>::predict_covariance(const MatrixCRef<T>& x) const -> Matrix<T> {
    check_inputs("GaussianProcessRegressor::predict_covariance", x);
    Matrix<T> cov = fitted_kernel_(x);
    if (fitted()) {
      Matrix<T> v = fitted_kernel_(x_train_, x);
      detail::lower_solve_in_place(l_, v);
      cov.noalias() -= v.transpose() * v;
      cov *= y_std_ * y_std_;
      detail::check_finite_prediction("GaussianProcessRegressor::predict_covariance", cov);
    }
    return cov;
  }

template <Real T>
auto GaussianProcessRegressor<T>::sample_y(Rng& rng, const MatrixCRef<T>& x, Index n) const -> Matrix<T> {
    const char* f = "GaussianProcessRegressor::sample_y";
    if (n < 0) detail::throw_domain(f, "n", "be non-negative", std::to_string(n));
    check_inputs(f, x);
    const Matrix<T> cov = predict_covariance(x);
    const Vector<T> mean = predict(x).mean.col(0);
    T used = 0;
    const Matrix<T> l = jittered_factor(cov, T(0), used, f);
    Matrix<T> z(x.rows(), n);
    random::fill_normal(rng, z);
    Matrix<T> out = l.template triangularView<Eigen::Lower>() * z;
    out.colwise() += mean;
    return out;
  }

template <Real T>
auto GaussianProcessRegressor<T>::log_marginal_likelihood(const VectorCRef<T>& theta, Vector<T>* gradient) const -> T {
    const char* f = "GaussianProcessRegressor::log_marginal_likelihood";
    require_fitted(f);
    check_size(f, "theta", theta.size(), fitted_kernel_.n_dims(), "length");
    check_all_finite(f, "theta", theta);
    T used = 0;
    return evaluate(fitted_kernel_.with_theta(theta), gradient, used);
  }

template <Real T>
auto GaussianProcessRegressor<T>::evaluate(const Kernel<T>& kernel, Vector<T>* gradient, T& used) const -> T {
    const Matrix<T> l = jittered_factor(kernel(x_train_), options_.alpha, used, "GaussianProcessRegressor::fit");
    const Vector<T> a = solve_factor(l, y_train_);
    const Index n = y_train_.size();
    const T lml = T(-0.5) * y_train_.dot(a) - l.diagonal().array().log().sum() - T(0.5) * T(n) * constants<T>::log_two_pi;
    if (gradient) {
      Matrix<T> inverse_factor, inverse;
      detail::lower_triangular_inverse(l, inverse_factor);
      detail::inverse_from_inverse_factor(inverse_factor, inverse);
      // W = aaᵀ − (K + αI)⁻¹, in place
      detail::parallel_chunks(detail::split_rows(n, 64, 64), [&](Index, Index b, Index e) {
        inverse.middleCols(b, e - b) = a * a.segment(b, e - b).transpose() - inverse.middleCols(b, e - b);
      });
      *gradient = T(0.5) * kernel.gradient_inner(x_train_, inverse);
    }
    return lml;
  }

template <Real T>
auto GaussianProcessRegressor<T>::optimise(Rng& rng) -> void {
    const auto search = detail::maximise_log_marginal_likelihood(
        kernel_, options_.n_restarts_optimizer, options_.max_iterations, options_.gradient_tolerance, rng,
        [&](const Kernel<T>& k, Vector<T>& g) {
          T used = 0;
          return evaluate(k, &g, used);
        });
    fitted_kernel_ = kernel_.with_theta(search.theta);
    iterations_ = search.iterations;
    evaluations_ = search.evaluations;
    converged_ = search.converged;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::GaussianProcessRegressor)
