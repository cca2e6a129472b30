#pragma once
/// @file
/// Sparse Gaussian-process regression with variational inducing points (Titsias 2009, "Variational learning of
/// inducing variables in sparse Gaussian processes"): O(N·M²) time and O(N·M) memory for N rows and M inducing
/// inputs, against the exact GP's O(N³) and O(N²).

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include <Eigen/Cholesky>

#include "pml/core/instantiation.hpp"
#include "pml/core/check.hpp"
#include "pml/core/cholesky.hpp"
#include "pml/core/rng.hpp"
#include "pml/models/cluster/kmeans.hpp"
#include "pml/models/gaussian_process/kernel.hpp"
#include "pml/models/gaussian_process/optimise.hpp"
#include "pml/models/prediction.hpp"
#include "pml/serialization/state.hpp"

namespace pml {

/// Options of SparseGaussianProcessRegressor.
template <Real T = double> struct SparseGaussianProcessRegressorOptions {
  Index inducing_points = 100;  ///< M: k-means centres of the inputs (all rows when N ≤ M, which is the exact GP)
  T noise_variance = T(1);      ///< σ² of the Gaussian observation noise (the start value when optimised)
  T noise_variance_lower = T(1e-6);  ///< lower bound of σ² for the optimiser
  T noise_variance_upper = T(1e5);   ///< upper bound of σ² for the optimiser
  bool fit_noise_variance = true;    ///< optimise σ² with the kernel's hyperparameters
  bool optimize = true;              ///< maximise the bound over the kernel's free hyperparameters (and σ²)
  int n_restarts_optimizer = 0;      ///< further optimiser runs from uniform draws in the log bounds
  bool normalize_y = false;          ///< standardise the targets before fitting; predictions are scaled back
  int max_iterations = 15000;        ///< L-BFGS-B iterations per run at most
  T gradient_tolerance = T(1e-5);    ///< L-BFGS-B's projected-gradient tolerance
  T jitter = T(1e-8);                ///< added to K_mm's diagonal, relative to its mean diagonal
  /// also maximise the bound over the inducing inputs Z (M·D more variables, Titsias's section 3; GPflow's SGPR
  /// does so by default), starting from the k-means centres or the given Z. Off by default: a better bound for
  /// a given M, at the cost of many more L-BFGS iterations.
  bool optimize_inducing_inputs = false;

  /// The options a model file stores (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("inducing_points", o.inducing_points);  // not a size of the file's matrices: fewer rows than M keep them all
    v("noise_variance", o.noise_variance);
    v("noise_variance_lower", o.noise_variance_lower);
    v("noise_variance_upper", o.noise_variance_upper);
    v("fit_noise_variance", o.fit_noise_variance);
    v("optimize", o.optimize);
    v("n_restarts_optimizer", o.n_restarts_optimizer);
    v("normalize_y", o.normalize_y);
    v("max_iterations", o.max_iterations);
    v("gradient_tolerance", o.gradient_tolerance);
    v("jitter", o.jitter);
    v("optimize_inducing_inputs", o.optimize_inducing_inputs, io::added_later);
  }
};

/// Sparse GP regression y = f(x) + ε, ε ~ N(0, σ²), with M inducing inputs Z (Titsias 2009). The kernel's
/// hyperparameters and σ² maximise the collapsed variational lower bound on the log marginal likelihood
///   F = log N(y | 0, Q + σ²I) − tr(K_nn − Q) / (2σ²),  Q = K_nm K_mm⁻¹ K_mn   (Titsias eq. 9),
/// computed through L_m = chol(K_mm), A = L_m⁻¹K_mn/σ and L_B = chol(I + AAᵀ) in O(N·M²); its gradient goes
/// back to K_mm, K_mn and diag K_nn in closed form and from there to θ by the kernel's contractions
/// (Kernel::gradient_inner, diagonal_gradient_inner). Predictions are the optimal variational posterior's
/// (Titsias eq. 6; GPflow's SGPR): with u = L_B⁻¹L_m⁻¹k_m* and c = L_B⁻¹Ay/σ, mean uᵀc and variance
/// k_** − ‖L_m⁻¹k_m*‖² + ‖u‖². With Z the training inputs themselves (and no jitter) the bound is the exact log
/// marginal likelihood and the predictions the exact GP's (tested).
///
/// The inducing inputs are k-means centres of the inputs (or given); with `optimize_inducing_inputs` they are
/// variational parameters maximised with the hyperparameters (Titsias's section 3), the bound's gradient in Z
/// going back through K_mm and K_mn by Kernel::input_gradient_inner; the optimiser works on Z standardised by
/// the inputs' column means and sds, so data far from the origin loses no digits. The noise is σ², not a white
/// kernel (which is refused). Inputs N x D, targets length N.
template <Real T = double> class SparseGaussianProcessRegressor {
 public:
  using Options = SparseGaussianProcessRegressorOptions<T>;  ///< The options type.
  using Scalar = T;                                          ///< The scalar type.

  /// A regressor with prior covariance `kernel` (of f, without noise) and the given options.
  /// @throw std::domain_error for a kernel with a white term, inducing_points < 1, bad noise bounds, a negative
  /// n_restarts_optimizer, a non-positive max_iterations or gradient_tolerance, a negative jitter.
  explicit SparseGaussianProcessRegressor(Kernel<T> kernel = Kernel<T>::rbf(T(1)), const Options& options = {})
      : options_(options), kernel_(std::move(kernel)), fitted_kernel_(kernel_), noise_variance_(options.noise_variance) {
    const char* f = "SparseGaussianProcessRegressor";
    if (kernel_.has_white())
      detail::throw_domain(f, "kernel", "not contain a white kernel (the noise is the option noise_variance)", kernel_.to_string());
    if (options.inducing_points < 1) detail::throw_domain(f, "inducing_points", "be at least 1", std::to_string(options.inducing_points));
    check_positive(f, "noise_variance_lower", options.noise_variance_lower);
    check_positive(f, "noise_variance_upper", options.noise_variance_upper);
    if (!(options.noise_variance >= options.noise_variance_lower && options.noise_variance <= options.noise_variance_upper))
      detail::throw_domain(f, "noise_variance", "lie within [noise_variance_lower, noise_variance_upper]", detail::describe(options.noise_variance));
    if (options.n_restarts_optimizer < 0)
      detail::throw_domain(f, "n_restarts_optimizer", "be non-negative", std::to_string(options.n_restarts_optimizer));
    if (options.max_iterations <= 0) detail::throw_domain(f, "max_iterations", "be positive", std::to_string(options.max_iterations));
    check_positive(f, "gradient_tolerance", options.gradient_tolerance);
    check_nonnegative(f, "jitter", options.jitter);
  }
  /// A regressor with an rbf(1) kernel and the given options.
  explicit SparseGaussianProcessRegressor(const Options& options) : SparseGaussianProcessRegressor(Kernel<T>::rbf(T(1)), options) {}

  /// Fits to inputs `x` (N x D) and targets `y` (length N): inducing inputs from k-means on x (seeded from
  /// `rng`, which also draws the restarts), then the hyperparameters, then the variational posterior.
  /// @throw std::invalid_argument for no rows or mismatched sizes; std::domain_error for non-finite values.
  SparseGaussianProcessRegressor& fit(const MatrixCRef<T>& x, const VectorCRef<T>& y, Rng& rng);
  /// fit() with the generator seeded by 0.
  SparseGaussianProcessRegressor& fit(const MatrixCRef<T>& x, const VectorCRef<T>& y) {
    Rng rng(0);
    return fit(x, y, rng);
  }
  /// fit() with given inducing inputs `z` (M x D), e.g. the training inputs themselves (the exact GP).
  SparseGaussianProcessRegressor& fit(const MatrixCRef<T>& x, const VectorCRef<T>& y, const MatrixCRef<T>& z, Rng& rng);

  /// The variational posterior of f at the rows of `x`: mean and variance (N x 1 each; `epistemic` =
  /// `variance`, `aleatoric` = σ² scaled as the targets). @throw std::logic_error if not fitted.
  Prediction<T> predict(const MatrixCRef<T>& x) const;

  /// The bound F at the fitted hyperparameters (of the standardised targets with normalize_y).
  T elbo() const noexcept { return elbo_; }
  /// F and its gradient at log-hyperparameters `theta` = [kernel theta; log σ² if fit_noise_variance] on the
  /// training data of the last fit(). @throw std::logic_error if not fitted; std::invalid_argument for a wrong length.
  T elbo(const VectorCRef<T>& theta, Vector<T>* gradient = nullptr) const;
  /// F at log-hyperparameters `theta` (as elbo(theta, gradient)) and inducing inputs `z` (M x D) on the training
  /// data of the last fit(), with its gradient in theta and in Z (M x D) where asked.
  /// @throw std::logic_error if not fitted; std::invalid_argument for a wrong length or shape.
  T elbo(const VectorCRef<T>& theta, const MatrixCRef<T>& z, Vector<T>* gradient, Matrix<T>* z_gradient) const;
  const Kernel<T>& kernel() const noexcept { return fitted_kernel_; }   ///< The fitted kernel.
  const Kernel<T>& initial_kernel() const noexcept { return kernel_; }  ///< The kernel given to the constructor.
  T noise_variance() const noexcept { return noise_variance_; }         ///< The fitted σ² (of the standardised targets with normalize_y).
  const Matrix<T>& inducing_inputs() const noexcept { return z_; }      ///< Z (M x D).
  int iterations() const noexcept { return iterations_; }    ///< L-BFGS-B iterations of the best run
  int evaluations() const noexcept { return evaluations_; }  ///< bound evaluations over all runs
  bool converged() const noexcept { return converged_; }     ///< every optimiser run stopped at its tolerance
  const Options& options() const noexcept { return options_; }  ///< The options.
  bool fitted() const noexcept { return c_.size() > 0; }        ///< Whether fit() has run.

  /// Writes the model (kernels as text, Z and the factors; not the training data) to `path`.
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    if (!fitted()) throw std::logic_error("SparseGaussianProcessRegressor::save: the model is not fitted; call fit() first");
    io::save_model(*this, path, format, "SparseGaussianProcessRegressor::save");
  }
  /// A model saved by save(). @throw std::runtime_error naming the path for a bad file.
  static SparseGaussianProcessRegressor load(const std::filesystem::path& path) {
    return io::load_model<SparseGaussianProcessRegressor>(path, "SparseGaussianProcessRegressor::load");
  }
  static constexpr const char* model_name = "SparseGaussianProcessRegressor";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    detail::kernel_state(self.kernel_, self.fitted_kernel_, a);
    a.matrix("inducing_inputs", self.z_);
    const Index m = self.z_.rows();
    a.require(m > 0, "there are no inducing inputs");
    a.matrix("factor_m", self.lm_, m, m);
    a.matrix("factor_b", self.lb_, m, m);
    a.require((self.lm_.diagonal().array() > T(0)).all() && (self.lb_.diagonal().array() > T(0)).all(), "a Cholesky factor has a non-positive diagonal");
    a.vector("c", self.c_, m);
    a.scalars("scalars", self.noise_variance_, self.y_mean_, self.y_std_, self.elbo_);
    a.require(self.noise_variance_ > T(0) && self.y_std_ > T(0), "the noise variance and the target scale must be positive");
    a.option("iterations", self.iterations_);
    a.option("evaluations", self.evaluations_);
    a.option("converged", self.converged_);
  }

  Index parameter_count() const { return fitted_kernel_.n_dims() + (options_.fit_noise_variance ? 1 : 0); }

  struct Factors {
    Matrix<T> lm, lb;
    Vector<T> c;
  };

  // Lower Cholesky factor of m with the relative jitter added (grown tenfold until it factorises)
  Matrix<T> factor_with_jitter(const Matrix<T>& k) const;

  // The bound F for `kernel`, σ² = `noise` and inducing inputs `z`; with `gradient`, dF/dθ (kernel) followed by
  // dF/d log σ²; with `z_gradient`, dF/dZ (M x D).
  T evaluate(const Kernel<T>& kernel, T noise, const Matrix<T>& z, Vector<T>* gradient, Matrix<T>* z_gradient, Factors* keep) const;

  SparseGaussianProcessRegressor& fit_with_inducing(const MatrixCRef<T>& x, const VectorCRef<T>& y, Rng& rng);

  Options options_;
  Kernel<T> kernel_, fitted_kernel_;
  Matrix<T> x_, z_, lm_, lb_;  // x_: the training inputs of the last fit() (not saved)
  Vector<T> y_, c_;
  T noise_variance_ = 1, y_mean_ = 0, y_std_ = 1, elbo_ = 0;
  int iterations_ = 0, evaluations_ = 0;
  bool converged_ = true;
};


// SparseGaussianProcessRegressor's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto SparseGaussianProcessRegressor<T>::fit(const MatrixCRef<T>& x, const VectorCRef<T>& y, Rng& rng) -> SparseGaussianProcessRegressor& {
    const char* f = "SparseGaussianProcessRegressor::fit";
    check_nonempty(f, "x", x.rows());
    if (x.cols() == 0) detail::throw_shape(f, "x has no columns");
    check_size(f, "y", y.size(), x.rows(), "length");
    check_all_finite(f, "x", x);
    check_all_finite(f, "y", y);
    if (x.rows() <= options_.inducing_points) {
      z_ = x;
    } else {
      KMeans<T> km({.clusters = options_.inducing_points});
      km.fit(x, rng);
      z_ = km.centres();
    }
    return fit_with_inducing(x, y, rng);
  }

template <Real T>
auto SparseGaussianProcessRegressor<T>::fit(const MatrixCRef<T>& x, const VectorCRef<T>& y, const MatrixCRef<T>& z, Rng& rng) -> SparseGaussianProcessRegressor& {
    const char* f = "SparseGaussianProcessRegressor::fit";
    check_nonempty(f, "x", x.rows());
    check_nonempty(f, "z", z.rows());
    check_size(f, "y", y.size(), x.rows(), "length");
    check_size(f, "z", z.cols(), x.cols(), "columns");
    check_all_finite(f, "x", x);
    check_all_finite(f, "y", y);
    check_all_finite(f, "z", z);
    z_ = z;
    return fit_with_inducing(x, y, rng);
  }

template <Real T>
auto SparseGaussianProcessRegressor<T>::predict(const MatrixCRef<T>& x) const -> Prediction<T> {
    const char* f = "SparseGaussianProcessRegressor::predict";
    if (!fitted()) throw std::logic_error(std::string(f) + ": the model is not fitted; call fit() first");
    check_size(f, "x", x.cols(), z_.cols(), "columns");
    check_all_finite(f, "x", x);
    Matrix<T> tmp1 = fitted_kernel_(z_, x);  // M x S
    detail::lower_solve_in_place(lm_, tmp1);
    Matrix<T> tmp2 = tmp1;
    detail::lower_solve_in_place(lb_, tmp2);
    Prediction<T> out;
    out.mean = ((tmp2.transpose() * c_).array() * y_std_ + y_mean_).matrix();
    const Vector<T> var =
        (fitted_kernel_.diagonal(x) + tmp2.colwise().squaredNorm().transpose() - tmp1.colwise().squaredNorm().transpose()).cwiseMax(T(0));
    out.variance = var * (y_std_ * y_std_);
    detail::check_finite_prediction(f, out.mean);
    detail::check_finite_prediction(f, out.variance);
    out.epistemic = out.variance;
    out.aleatoric = Matrix<T>::Constant(x.rows(), 1, noise_variance_ * y_std_ * y_std_);
    return out;
  }

template <Real T>
auto SparseGaussianProcessRegressor<T>::elbo(const VectorCRef<T>& theta, Vector<T>* gradient) const -> T {
    const char* f = "SparseGaussianProcessRegressor::elbo";
    if (!fitted()) throw std::logic_error(std::string(f) + ": the model is not fitted; call fit() first");
    if (x_.rows() == 0) throw std::logic_error(std::string(f) + ": the training data are not kept in model files; fit() again");
    check_size(f, "theta", theta.size(), parameter_count(), "length");
    check_all_finite(f, "theta", theta);
    const Index p = fitted_kernel_.n_dims();
    const T noise = options_.fit_noise_variance ? std::exp(theta(p)) : noise_variance_;
    Vector<T> g;
    const T value = evaluate(fitted_kernel_.with_theta(theta.head(p)), noise, z_, gradient ? &g : nullptr, nullptr, nullptr);
    if (gradient) *gradient = options_.fit_noise_variance ? g : Vector<T>(g.head(p));
    return value;
  }

template <Real T>
auto SparseGaussianProcessRegressor<T>::elbo(const VectorCRef<T>& theta, const MatrixCRef<T>& z, Vector<T>* gradient, Matrix<T>* z_gradient) const -> T {
    const char* f = "SparseGaussianProcessRegressor::elbo";
    if (!fitted()) throw std::logic_error(std::string(f) + ": the model is not fitted; call fit() first");
    if (x_.rows() == 0) throw std::logic_error(std::string(f) + ": the training data are not kept in model files; fit() again");
    check_size(f, "theta", theta.size(), parameter_count(), "length");
    check_all_finite(f, "theta", theta);
    check_nonempty(f, "z", z.rows());
    check_size(f, "z", z.cols(), x_.cols(), "columns");
    check_all_finite(f, "z", z);
    const Index p = fitted_kernel_.n_dims();
    const T noise = options_.fit_noise_variance ? std::exp(theta(p)) : noise_variance_;
    Vector<T> g;
    const T value = evaluate(fitted_kernel_.with_theta(theta.head(p)), noise, Matrix<T>(z), gradient ? &g : nullptr, z_gradient, nullptr);
    if (gradient) *gradient = options_.fit_noise_variance ? g : Vector<T>(g.head(p));
    return value;
  }

template <Real T>
auto SparseGaussianProcessRegressor<T>::factor_with_jitter(const Matrix<T>& k) const -> Matrix<T> {
    if (!k.allFinite())
      detail::throw_domain("SparseGaussianProcessRegressor::fit", "the kernel's hyperparameters", "give a finite kernel matrix",
                           "a matrix with an infinite or NaN entry");
    const T mean_diag = k.rows() > 0 ? T(k.diagonal().cwiseAbs().mean()) : T(1);
    const T scale = mean_diag > T(0) && std::isfinite(mean_diag) ? mean_diag : T(1);
    for (T j = options_.jitter; j <= T(1e-2) + options_.jitter; j = (j > T(0) ? j * T(10) : T(1e-10))) {
      Matrix<T> l = k;
      l.diagonal().array() += j * scale;
      if (detail::blocked_cholesky(l)) return l;
    }
    detail::throw_domain("SparseGaussianProcessRegressor::fit", "the inducing inputs' kernel matrix", "be positive definite with a jitter",
                         "a matrix of " + std::to_string(k.rows()) + " rows");
  }

template <Real T>
auto SparseGaussianProcessRegressor<T>::evaluate(const Kernel<T>& kernel, T noise, const Matrix<T>& z, Vector<T>* gradient, Matrix<T>* z_gradient, Factors* keep) const -> T {
    const Index n = x_.rows(), m = z.rows();
    const T sigma = std::sqrt(noise);
    const Matrix<T> lm = factor_with_jitter(kernel(z));
    Matrix<T> v = kernel(z, x_);  // K_mn, then V = L_m⁻¹ K_mn
    detail::lower_solve_in_place(lm, v);
    const Matrix<T> a = v / sigma;
    Matrix<T> aat = Matrix<T>::Zero(m, m);
    aat.template selfadjointView<Eigen::Lower>().rankUpdate(a);
    aat = aat.template selfadjointView<Eigen::Lower>();
    Matrix<T> lb = aat;
    lb.diagonal().array() += T(1);
    if (!detail::blocked_cholesky(lb))
      detail::throw_domain("SparseGaussianProcessRegressor::fit", "I + AAᵀ", "be positive definite", "a failed Cholesky factorisation");
    const Vector<T> ay = a * y_;
    Vector<T> c = ay;
    lb.template triangularView<Eigen::Lower>().solveInPlace(c);
    c /= sigma;
    const Vector<T> knn = kernel.diagonal(x_);
    const T trace_v = v.squaredNorm();
    const T yy = y_.squaredNorm();
    const T value = T(-0.5) * T(n) * (constants<T>::log_two_pi + std::log(noise)) - lb.diagonal().array().log().sum() -
                    T(0.5) * (yy / noise - c.squaredNorm()) - (knn.sum() - trace_v) / (T(2) * noise);
    if (keep) {
      keep->lm = lm;
      keep->lb = lb;
      keep->c = c;
    }
    if (gradient || z_gradient) {
      // β = B⁻¹Ay, α = Σ⁻¹y = (y − Aᵀβ)/σ²
      Vector<T> beta = ay;
      lb.template triangularView<Eigen::Lower>().solveInPlace(beta);
      lb.transpose().template triangularView<Eigen::Upper>().solveInPlace(beta);
      const Vector<T> alpha = (y_ - a.transpose() * beta) / noise;
      // B⁻¹ from its factor
      Matrix<T> lb_inv, b_inv;
      detail::lower_triangular_inverse(lb, lb_inv);
      detail::inverse_from_inverse_factor(lb_inv, b_inv);
      // P = K_mm⁻¹K_mn = L_m⁻ᵀV; Pα; PAᵀ = L_m⁻ᵀ V Aᵀ = σ L_m⁻ᵀ AAᵀ
      Vector<T> p_alpha = v * alpha;
      lm.transpose().template triangularView<Eigen::Upper>().solveInPlace(p_alpha);
      Matrix<T> p_at = sigma * aat;
      lm.transpose().template triangularView<Eigen::Upper>().solveInPlace(p_at);
      const Matrix<T> cmat = p_at * b_inv;  // (PAᵀ) B⁻¹
      // G_mn = 2PW = (Pα)αᵀ + σ⁻² C A;  G_mm = −PWPᵀ = −½(Pα)(Pα)ᵀ − ½σ⁻² C (PAᵀ)ᵀ
      Matrix<T> g_mn = p_alpha * alpha.transpose();
      g_mn.noalias() += (cmat / noise) * a;
      Matrix<T> g_mm = T(-0.5) * p_alpha * p_alpha.transpose();
      g_mm.noalias() -= (T(0.5) / noise) * cmat * p_at.transpose();
      g_mm = T(0.5) * (g_mm + g_mm.transpose()).eval();
      if (z_gradient)  // dF/dZ: 2 Σⱼ G_mm ∂₁k(zᵢ, zⱼ) (G_mm symmetric) + Σₙ G_mn ∂₁k(zᵢ, xₙ); diag K_nn does not depend on Z
        *z_gradient = T(2) * kernel.input_gradient_inner(z, z, g_mm) + kernel.input_gradient_inner(z, x_, g_mn);
      if (!gradient) return value;
      const Vector<T> g_nn = Vector<T>::Constant(n, T(-0.5) / noise);
      const Index p = kernel.n_dims();
      gradient->resize(p + 1);
      gradient->head(p) = kernel.gradient_inner(z, g_mm) + kernel.gradient_inner(z, x_, g_mn) + kernel.diagonal_gradient_inner(x_, g_nn);
      // ∂F/∂ log σ² = σ² (−½ σ⁻²(N − M + tr B⁻¹) + ½ αᵀα + (Σ knn − ‖V‖²)/(2σ⁴))
      (*gradient)(p) = T(-0.5) * (T(n) - T(m) + b_inv.trace()) + T(0.5) * noise * alpha.squaredNorm() + (knn.sum() - trace_v) / (T(2) * noise);
    }
    return value;
  }

template <Real T>
auto SparseGaussianProcessRegressor<T>::fit_with_inducing(const MatrixCRef<T>& x, const VectorCRef<T>& y, Rng& rng) -> SparseGaussianProcessRegressor& {
    kernel_.diagonal(x.topRows(1));  // an ARD length scale of the wrong size throws here, not inside the optimiser
    x_ = x;
    detail::target_scale<T>("SparseGaussianProcessRegressor::fit", y, options_.normalize_y, y_mean_, y_std_);
    y_ = ((y.array() - y_mean_) / y_std_).matrix();
    fitted_kernel_ = kernel_;
    noise_variance_ = options_.noise_variance;
    iterations_ = evaluations_ = 0;
    converged_ = true;
    const Index p = kernel_.n_dims();
    const bool noise_free = options_.optimize && options_.fit_noise_variance;     // log σ² is a variable
    const Index hyper = options_.optimize ? p + (noise_free ? 1 : 0) : 0;          // θ (and log σ²) first
    const Index m = z_.rows(), d = z_.cols();
    const Index inducing = options_.optimize_inducing_inputs ? m * d : 0;          // then Z, standardised
    if (hyper + inducing > 0) {
      // Z = μ + U ∘ s by columns, μ and s the inputs' column means and sds: U is what the optimiser moves
      const Vector<T> mu = x.colwise().mean().transpose();
      Vector<T> sd(d);
      for (Index c = 0; c < d; ++c) {  // a norm that cannot overflow for inputs near the type's limits
        sd(c) = (x.col(c).array() - mu(c)).matrix().stableNorm() / std::sqrt(T(x.rows()));
        if (!(sd(c) > T(0)) || !std::isfinite(sd(c))) sd(c) = T(1);
      }
      Matrix<T> bounds(hyper + inducing, 2);
      Vector<T> start(hyper + inducing);
      if (hyper > 0) {
        bounds.topRows(p) = kernel_.bounds();
        start.head(p) = kernel_.theta();
        if (noise_free) {
          bounds(p, 0) = std::log(options_.noise_variance_lower);
          bounds(p, 1) = std::log(options_.noise_variance_upper);
          start(p) = std::log(options_.noise_variance);
        }
      }
      if (inducing > 0) {
        bounds.bottomRows(inducing).col(0).setConstant(-std::numeric_limits<T>::infinity());
        bounds.bottomRows(inducing).col(1).setConstant(std::numeric_limits<T>::infinity());
        Eigen::Map<Matrix<T>>(start.data() + hyper, m, d) = (z_.rowwise() - mu.transpose()).array().rowwise() / sd.transpose().array();
      }
      auto unpack = [&](const Vector<T>& v, Kernel<T>& kernel, T& noise, Matrix<T>& z) {
        kernel = hyper > 0 ? kernel_.with_theta(v.head(p)) : kernel_;
        noise = noise_free ? std::exp(v(p)) : options_.noise_variance;
        if (inducing > 0)
          z = (Eigen::Map<const Matrix<T>>(v.data() + hyper, m, d).array().rowwise() * sd.transpose().array()).rowwise() + mu.transpose().array();
        else
          z = z_;
      };
      const auto search = detail::maximise<T>(start, bounds, options_.n_restarts_optimizer, options_.max_iterations, options_.gradient_tolerance, rng,
                                              [&](const Vector<T>& v, Vector<T>& g) {
                                                Kernel<T> kernel = kernel_;
                                                T noise = T(1);
                                                Matrix<T> z;
                                                unpack(v, kernel, noise, z);
                                                Vector<T> full;
                                                Matrix<T> gz;
                                                const T value = evaluate(kernel, noise, z, hyper > 0 ? &full : nullptr, inducing > 0 ? &gz : nullptr, nullptr);
                                                g.resize(hyper + inducing);
                                                if (hyper > 0) g.head(hyper) = full.head(hyper);
                                                if (inducing > 0)  // dF/dU = dF/dZ ∘ s
                                                  Eigen::Map<Matrix<T>>(g.data() + hyper, m, d) = gz.array().rowwise() * sd.transpose().array();
                                                return value;
                                              });
      T noise = noise_variance_;
      unpack(search.theta, fitted_kernel_, noise, z_);
      noise_variance_ = noise;
      iterations_ = search.iterations;
      evaluations_ = search.evaluations;
      converged_ = search.converged;
    }
    Factors keep;
    elbo_ = evaluate(fitted_kernel_, noise_variance_, z_, nullptr, nullptr, &keep);
    lm_ = std::move(keep.lm);
    lb_ = std::move(keep.lb);
    c_ = std::move(keep.c);
    return *this;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::SparseGaussianProcessRegressor)
