#pragma once
/// @file
/// Binary Gaussian-process classification with the Laplace approximation (PRML §6.4.5–6.4.6; Rasmussen &
/// Williams algorithms 3.1, 3.2 and 5.1), as scikit-learn's `GaussianProcessClassifier` for two classes.

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numbers>
#include <string>

#include "pml/core/instantiation.hpp"
#include "pml/core/check.hpp"
#include "pml/core/cholesky.hpp"
#include "pml/core/rng.hpp"
#include "pml/models/gaussian_process/kernel.hpp"
#include "pml/models/gaussian_process/optimise.hpp"
#include "pml/models/prediction.hpp"
#include "pml/serialization/state.hpp"

namespace pml {

/// Options of GaussianProcessClassifier (scikit-learn's names where it has them).
template <Real T = double> struct GaussianProcessClassifierOptions {
  /// Maximise the approximate log marginal likelihood over the kernel's free hyperparameters (scikit-learn's
  /// `optimizer="fmin_l_bfgs_b"`); false keeps the kernel as given.
  bool optimize = true;
  int n_restarts_optimizer = 0;  ///< further optimiser runs from uniform draws in the log bounds
  /// Newton iterations at most when finding the posterior mode (scikit-learn's `max_iter_predict`).
  int max_iter_predict = 100;
  int max_iterations = 15000;           ///< L-BFGS-B iterations per run at most
  T gradient_tolerance = T(1e-5);       ///< L-BFGS-B's projected-gradient tolerance (scipy's pgtol)

  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("optimize", o.optimize);
    v("n_restarts_optimizer", o.n_restarts_optimizer);
    v("max_iter_predict", o.max_iter_predict);
    v("max_iterations", o.max_iterations);
    v("gradient_tolerance", o.gradient_tolerance);
  }
};

/// Binary GP classification p(t = 1 | f) = σ(f), f ~ GP(0, k). The posterior of f at the training inputs is
/// approximated by a Gaussian at its mode f̂ (Newton's method, R&W algorithm 3.1: W = diag(π(1 − π)),
/// B = I + W^½ K W^½ = LLᵀ). At new inputs the latent f* has mean k*ᵀ(t − π̂) and variance
/// k** − vᵀv with v = L⁻¹ W^½ k* (PRML 6.87–6.88); `predict_proba` averages σ over that Gaussian with
/// scikit-learn's approximation of the logistic by a sum of five error functions (least-squares coefficients
/// for λ = 0.41, 0.40, 0.37, 0.44, 0.39; accurate to about 1e-3 in probability), so that the two agree.
/// The approximate log marginal likelihood −½ aᵀf̂ + log p(t | f̂) − Σ log Lᵢᵢ (R&W eq. 3.32) and its gradient
/// (R&W algorithm 5.1, including the mode's dependence on θ) drive the same L-BFGS-B search as the regressor.
///
/// Inputs N x D (one sample per row), labels 0 or 1 (length N). Thread safety: const members may run on one
/// fitted model from many threads at once.
template <Real T = double> class GaussianProcessClassifier {
 public:
  using Options = GaussianProcessClassifierOptions<T>;  ///< The options type.
  using Scalar = T;                                     ///< The scalar type (float or double).

  /// scikit-learn's default kernel: `constant(1, fixed) * rbf(1, fixed)`.
  static Kernel<T> default_kernel() {
    using K = Kernel<T>;
    return K::constant(T(1), K::Bounds::held()) * K::rbf(T(1), K::Bounds::held());
  }

  /// A classifier with the given prior covariance and options. @throw std::domain_error for a negative
  /// n_restarts_optimizer, a non-positive max_iter_predict, max_iterations or gradient_tolerance.
  explicit GaussianProcessClassifier(Kernel<T> kernel = default_kernel(), const Options& options = {})
      : options_(options), kernel_(std::move(kernel)), fitted_kernel_(kernel_) {
    const char* f = "GaussianProcessClassifier";
    if (options.n_restarts_optimizer < 0)
      detail::throw_domain(f, "n_restarts_optimizer", "be non-negative", std::to_string(options.n_restarts_optimizer));
    if (options.max_iter_predict <= 0) detail::throw_domain(f, "max_iter_predict", "be positive", std::to_string(options.max_iter_predict));
    if (options.max_iterations <= 0) detail::throw_domain(f, "max_iterations", "be positive", std::to_string(options.max_iterations));
    check_positive(f, "gradient_tolerance", options.gradient_tolerance);
  }
  /// A classifier with default_kernel() and the given options.
  explicit GaussianProcessClassifier(const Options& options) : GaussianProcessClassifier(default_kernel(), options) {}

  /// Fits to inputs `x` (N x D) and labels `t` (0 or 1, length N), first optimising the kernel's
  /// hyperparameters unless `optimize` is false; restarts draw from `rng`.
  /// @throw std::invalid_argument for no rows or mismatched sizes; std::domain_error for non-finite inputs, a
  /// label other than 0 and 1, or labels of one class only.
  GaussianProcessClassifier& fit(const MatrixCRef<T>& x, const IntVectorCRef& t, Rng& rng);
  /// fit() with the restarts' generator seeded by 0.
  GaussianProcessClassifier& fit(const MatrixCRef<T>& x, const IntVectorCRef& t) {
    Rng rng(0);
    return fit(x, t, rng);
  }

  /// The Laplace posterior of the latent f at the rows of `x` (N x D): mean and variance, each N x 1 (PRML
  /// 6.87–6.88); `epistemic` = `variance`, `aleatoric` = 0. @throw std::logic_error if not fitted;
  /// std::invalid_argument for a wrong number of columns.
  Prediction<T> predict_latent(const MatrixCRef<T>& x) const;
  /// P(t = 1 | x) for each row of `x` (length N): σ averaged over the latent's Gaussian (see the class notes).
  Vector<T> predict_proba(const MatrixCRef<T>& x) const;
  /// Labels (0 or 1) at the rows of `x`: 1 where the latent mean is positive (scikit-learn's rule).
  IntVector predict(const MatrixCRef<T>& x) const {
    const Prediction<T> latent = predict_latent(x);
    IntVector out(x.rows());
    for (Index i = 0; i < x.rows(); ++i) out(i) = latent.mean(i, 0) > T(0) ? 1 : 0;
    return out;
  }

  /// The approximate log marginal likelihood at the fitted hyperparameters (R&W eq. 3.32).
  /// @throw std::logic_error if not fitted.
  T log_marginal_likelihood() const {
    require_fitted("GaussianProcessClassifier::log_marginal_likelihood");
    return log_marginal_likelihood_;
  }
  /// The approximate log marginal likelihood at log-hyperparameters `theta` and its gradient (R&W algorithm
  /// 5.1) in `gradient` when given. @throw std::logic_error if not fitted; std::invalid_argument for a wrong length.
  T log_marginal_likelihood(const VectorCRef<T>& theta, Vector<T>* gradient = nullptr) const {
    const char* f = "GaussianProcessClassifier::log_marginal_likelihood";
    require_fitted(f);
    check_size(f, "theta", theta.size(), fitted_kernel_.n_dims(), "length");
    check_all_finite(f, "theta", theta);
    return evaluate(fitted_kernel_.with_theta(theta), gradient);
  }

  const Kernel<T>& kernel() const noexcept { return fitted_kernel_; }   ///< The fitted kernel (scikit-learn's `kernel_`).
  const Kernel<T>& initial_kernel() const noexcept { return kernel_; }  ///< The kernel given to the constructor.
  const Vector<T>& pi() const noexcept { return pi_; }  ///< σ(f̂) at the training inputs (the mode's probabilities).
  int iterations() const noexcept { return iterations_; }  ///< L-BFGS-B iterations of the best run (0 without optimisation)
  int evaluations() const noexcept { return evaluations_; }  ///< log-marginal-likelihood evaluations over all runs
  int newton_iterations() const noexcept { return newton_iterations_; }  ///< Newton steps of the final mode search
  bool converged() const noexcept { return converged_; }  ///< every optimiser run stopped at its tolerance
  const Options& options() const noexcept { return options_; }  ///< The options.
  bool fitted() const noexcept { return x_train_.rows() > 0; }  ///< Whether fit() has run.
  const Matrix<T>& x_train() const noexcept { return x_train_; }  ///< The training inputs (N x D).

  /// Writes the model (kernels as text, training data, the mode's factors) to `path` (type
  /// "GaussianProcessClassifier"). A loaded model predicts bit-identically. @throw std::logic_error if not
  /// fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    require_fitted("GaussianProcessClassifier::save");
    io::save_model(*this, path, format, "GaussianProcessClassifier::save");
  }
  /// A model saved by save(). @throw std::runtime_error naming the path for a missing, truncated, corrupt or
  /// wrong-type file.
  static GaussianProcessClassifier load(const std::filesystem::path& path) {
    return io::load_model<GaussianProcessClassifier>(path, "GaussianProcessClassifier::load");
  }
  static constexpr const char* model_name = "GaussianProcessClassifier";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    detail::kernel_state(self.kernel_, self.fitted_kernel_, a);
    a.matrix("x_train", self.x_train_);
    const Index n = self.x_train_.rows();
    a.require(n > 0, "the training inputs are empty");
    a.vector("t_train", self.t_train_, n);
    a.vector("pi", self.pi_, n);
    a.vector("w_sr", self.w_sr_, n);
    a.matrix("cholesky_factor", self.l_, n, n);
    a.require(self.l_.template triangularView<Eigen::StrictlyUpper>().toDenseMatrix().isZero(0) && (self.l_.diagonal().array() > T(0)).all(),
              "the Cholesky factor is not lower triangular with a positive diagonal");
    a.scalars("scalars", self.log_marginal_likelihood_);
    a.option("iterations", self.iterations_);
    a.option("evaluations", self.evaluations_);
    a.option("newton_iterations", self.newton_iterations_);
    a.option("converged", self.converged_);
  }

  struct Mode {
    Vector<T> pi, w_sr, a;
    Matrix<T> l;  // lower Cholesky factor of B = I + W^½ K W^½
    T lml = -std::numeric_limits<T>::infinity();
    int iterations = 0;
  };
  // log(1 + exp(z)) without overflow
  static T softplus(T z) { return std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z))); }

  // Newton's method for the mode f̂ of p(f | t) (R&W algorithm 3.1, in scikit-learn's order of updates: the
  // factors returned are those of the last step, and the log marginal likelihood is that of the step before the
  // one whose increase fell below 1e-10).
  Mode posterior_mode(const Matrix<T>& k) const;

  // The approximate log marginal likelihood of `kernel` and its gradient (R&W algorithm 5.1):
  // ∂/∂θ_p = ½ aᵀ∂K a − ½ tr(R ∂K) + s₂ᵀ(I − K R) ∂K (t − π), R = W^½ B⁻¹ W^½,
  // s₂ = −½ diag((K⁻¹ + W)⁻¹) ∘ π(1 − π)(1 − 2π); as one contraction Σ (½aaᵀ − ½R + u(t − π)ᵀ) ∘ ∂K
  // with u = (I − R K) s₂ (Kernel::gradient_inner).
  T evaluate(const Kernel<T>& kernel, Vector<T>* gradient) const;

  void require_fitted(const char* function) const {
    if (!fitted()) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
  }

  Options options_;
  Kernel<T> kernel_, fitted_kernel_;
  Matrix<T> x_train_, l_;
  Vector<T> t_train_, pi_, w_sr_;
  T log_marginal_likelihood_ = 0;
  int iterations_ = 0, evaluations_ = 0, newton_iterations_ = 0;
  bool converged_ = true;
};


// GaussianProcessClassifier's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto GaussianProcessClassifier<T>::fit(const MatrixCRef<T>& x, const IntVectorCRef& t, Rng& rng) -> GaussianProcessClassifier& {
    const char* f = "GaussianProcessClassifier::fit";
    check_nonempty(f, "x", x.rows());
    check_size(f, "t", t.size(), x.rows(), "length");
    if (x.cols() == 0) detail::throw_shape(f, "x has no columns");
    check_all_finite(f, "x", x);
    for (Index i = 0; i < t.size(); ++i)
      if (t(i) != 0 && t(i) != 1) detail::throw_domain(f, "t", "hold labels 0 and 1 (entry " + std::to_string(i) + ")", std::to_string(t(i)));
    if (t.sum() == 0 || t.sum() == t.size())
      detail::throw_domain(f, "t", "hold both classes", "labels of class " + std::to_string(t(0)) + " only");
    kernel_.diagonal(x.topRows(1));  // an ARD length scale of the wrong size throws here, not inside the optimiser
    x_train_ = x;
    t_train_ = t.template cast<T>();
    fitted_kernel_ = kernel_;
    iterations_ = evaluations_ = 0;
    converged_ = true;
    if (options_.optimize && kernel_.n_dims() > 0) {
      const auto search = detail::maximise_log_marginal_likelihood(kernel_, options_.n_restarts_optimizer, options_.max_iterations,
                                                                   options_.gradient_tolerance, rng,
                                                                   [&](const Kernel<T>& k, Vector<T>& g) { return evaluate(k, &g); });
      fitted_kernel_ = kernel_.with_theta(search.theta);
      iterations_ = search.iterations;
      evaluations_ = search.evaluations;
      converged_ = search.converged;
    }
    Mode mode = posterior_mode(fitted_kernel_(x_train_));
    log_marginal_likelihood_ = mode.lml;
    pi_ = std::move(mode.pi);
    w_sr_ = std::move(mode.w_sr);
    l_ = std::move(mode.l);
    newton_iterations_ = mode.iterations;
    return *this;
  }

template <Real T>
auto GaussianProcessClassifier<T>::predict_latent(const MatrixCRef<T>& x) const -> Prediction<T> {
    const char* f = "GaussianProcessClassifier::predict_latent";
    require_fitted(f);
    check_size(f, "x", x.cols(), x_train_.cols(), "columns");
    check_all_finite(f, "x", x);
    const Matrix<T> ks = fitted_kernel_(x_train_, x);
    Prediction<T> out;
    out.mean = ks.transpose() * (t_train_ - pi_);
    Matrix<T> v = w_sr_.asDiagonal() * ks;
    detail::lower_solve_in_place(l_, v);
    out.variance = (fitted_kernel_.diagonal(x) - v.colwise().squaredNorm().transpose()).cwiseMax(T(0));
    detail::check_finite_prediction(f, out.mean);
    detail::check_finite_prediction(f, out.variance);
    out.epistemic = out.variance;
    out.aleatoric = Matrix<T>::Zero(x.rows(), 1);
    return out;
  }

template <Real T>
auto GaussianProcessClassifier<T>::predict_proba(const MatrixCRef<T>& x) const -> Vector<T> {
    const Prediction<T> latent = predict_latent(x);
    // scikit-learn's erf-sum approximation of ∫ σ(f) N(f | μ, s²) df
    static constexpr std::array<double, 5> lambdas{0.41, 0.4, 0.37, 0.44, 0.39};
    static constexpr std::array<double, 5> coefs{-1854.8214151, 3516.89893646, 221.29346712, 128.12323805, -2010.49422654};
    Vector<T> p(x.rows());
    for (Index i = 0; i < x.rows(); ++i) {
      const double mu = double(latent.mean(i, 0)), var = double(latent.variance(i, 0));
      if (!(var > 0)) {  // no uncertainty left: σ(μ)
        p(i) = T(1) / (T(1) + std::exp(-T(mu)));
        continue;
      }
      const double alpha = 1.0 / (2.0 * var);
      double sum = 0, half = 0;
      for (std::size_t k = 0; k < 5; ++k) {
        const double integral = std::sqrt(std::numbers::pi / alpha) * std::erf(lambdas[k] * mu * std::sqrt(alpha / (alpha + lambdas[k] * lambdas[k]))) /
                                (2.0 * std::sqrt(var * 2.0 * std::numbers::pi));
        sum += coefs[k] * integral;
        half += coefs[k];
      }
      p(i) = T(std::clamp(sum + 0.5 * half, 0.0, 1.0));
    }
    return p;
  }

template <Real T>
auto GaussianProcessClassifier<T>::posterior_mode(const Matrix<T>& k) const -> Mode {
    const Index n = k.rows();
    Vector<T> f = Vector<T>::Zero(n);
    Mode m;
    for (int it = 0; it < options_.max_iter_predict; ++it) {
      m.iterations = it + 1;
      m.pi = f.unaryExpr([](T v) { return T(1) / (T(1) + std::exp(-v)); });
      const Vector<T> w = m.pi.array() * (T(1) - m.pi.array());
      m.w_sr = w.cwiseSqrt();
      Matrix<T> b = m.w_sr.asDiagonal() * k * m.w_sr.asDiagonal();
      b.diagonal().array() += T(1);
      if (!detail::blocked_cholesky(b))
        detail::throw_domain("GaussianProcessClassifier::fit", "the kernel matrix", "give a positive definite I + W^1/2 K W^1/2",
                             "a failed Cholesky factorisation");
      m.l = std::move(b);
      const Vector<T> bvec = w.cwiseProduct(f) + (t_train_ - m.pi);
      Vector<T> c = m.w_sr.cwiseProduct(k * bvec);
      m.l.template triangularView<Eigen::Lower>().solveInPlace(c);
      m.l.transpose().template triangularView<Eigen::Upper>().solveInPlace(c);
      m.a = bvec - m.w_sr.cwiseProduct(c);
      f = k * m.a;
      T log_lik = 0;
      for (Index i = 0; i < n; ++i) log_lik -= softplus(-(T(2) * t_train_(i) - T(1)) * f(i));
      const T lml = T(-0.5) * m.a.dot(f) + log_lik - m.l.diagonal().array().log().sum();
      if (lml - m.lml < T(1e-10)) break;
      m.lml = lml;
    }
    return m;
  }

template <Real T>
auto GaussianProcessClassifier<T>::evaluate(const Kernel<T>& kernel, Vector<T>* gradient) const -> T {
    const Matrix<T> k = kernel(x_train_);
    const Mode m = posterior_mode(k);
    if (!gradient) return m.lml;
    const Index n = k.rows();
    // R = W^½ B⁻¹ W^½ from B⁻¹ = L⁻ᵀL⁻¹
    Matrix<T> inverse_factor, r;
    detail::lower_triangular_inverse(m.l, inverse_factor);
    detail::inverse_from_inverse_factor(inverse_factor, r);
    r = m.w_sr.asDiagonal() * r * m.w_sr.asDiagonal();
    // diag((K⁻¹ + W)⁻¹) = diag(K) − Σ_rows C² with C = L⁻¹ W^½ K
    Matrix<T> c = m.w_sr.asDiagonal() * k;
    detail::lower_solve_in_place(m.l, c);
    const Vector<T> third = m.pi.array() * (T(1) - m.pi.array()) * (T(1) - T(2) * m.pi.array());
    const Vector<T> s2 = T(-0.5) * (k.diagonal() - c.colwise().squaredNorm().transpose()).cwiseProduct(third);
    const Vector<T> u = s2 - r * (k * s2);
    const Vector<T> residual = t_train_ - m.pi;
    Matrix<T> w = T(0.5) * (m.a * m.a.transpose() - r);
    w.noalias() += u * residual.transpose();
    (void)n;
    *gradient = kernel.gradient_inner(x_train_, w);
    return m.lml;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::GaussianProcessClassifier)
