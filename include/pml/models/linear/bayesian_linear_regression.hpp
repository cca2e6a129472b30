#pragma once
/// @file
/// Bayesian linear regression with evidence maximisation (PRML §3.3–3.5).

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "pml/core/check.hpp"
#include "pml/core/collective.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/random.hpp"
#include "pml/core/weights.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/serialization/state.hpp"
#include "pml/core/parallel.hpp"
#include "pml/models/prediction.hpp"

namespace pml {

/// Options of BayesianLinearRegression. In PRML's notation α is the precision of the isotropic prior
/// on the weights and β the precision of the noise (scikit-learn's BayesianRidge calls them lambda_ and
/// alpha_).
template <Real T = double> struct BayesianLinearRegressionOptions {
  T alpha = T(1);                  ///< prior precision of the weights (start value when fitted)
  T beta = T(0);                   ///< noise precision (start value when fitted); 0 means 1 / var(t)
  bool fit_hyperparameters = true; ///< maximise the evidence over α, β (PRML 3.92, 3.95)
  bool fit_intercept = false;      ///< centre Φ and t; the intercept is then not regularised
  /// Gamma(shape, rate) hyperpriors on α and β: the "fully Bayesian" MAP updates
  /// α = (γ + 2a₁)/(mᵀm + 2a₂), β = (N − γ + 2b₁)/(‖t − Φm‖² + 2b₂); all 0 is plain evidence maximisation.
  T alpha_shape = 0;  ///< Gamma shape a₁ of the hyperprior on α (0: none)
  T alpha_rate = 0;   ///< Gamma rate a₂ of the hyperprior on α
  T beta_shape = 0;   ///< Gamma shape b₁ of the hyperprior on β (0: none)
  T beta_rate = 0;    ///< Gamma rate b₂ of the hyperprior on β
  int max_iterations = 300;  ///< evidence iterations at most
  T tolerance = T(1e-3);  ///< stop when Σ|Δm| falls below (scikit-learn's rule)
  /// Epistemic variance from the centred features (the correct posterior of the centred model). false
  /// reproduces scikit-learn, which uses the raw features in predict(return_std=True).
  bool centre_predictive_variance = true;
  /// How the design matrix was made, e.g. "poly:3" (see parse_basis()): not used by fit(), but saved with
  /// the model so that whoever loads it can rebuild Φ for new inputs. Empty: not recorded.
  std::string basis{};

  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("alpha", o.alpha);
    v("beta", o.beta);
    v("fit_hyperparameters", o.fit_hyperparameters);
    v("fit_intercept", o.fit_intercept);
    v("alpha_shape", o.alpha_shape);
    v("alpha_rate", o.alpha_rate);
    v("beta_shape", o.beta_shape);
    v("beta_rate", o.beta_rate);
    v("max_iterations", o.max_iterations);
    v("tolerance", o.tolerance);
    v("centre_predictive_variance", o.centre_predictive_variance);
    v("basis", o.basis);
  }
};

/// Bayesian linear regression \f$t = \mathbf w^T\boldsymbol\phi(\mathbf x) + \epsilon\f$,
/// \f$\mathbf w\sim\mathcal N(\mathbf m_0, S_0)\f$ (isotropic \f$S_0 = \alpha^{-1}I\f$ when fitting),
/// \f$\epsilon\sim\mathcal N(0,\beta^{-1})\f$. Posterior \f$S_N^{-1} = S_0^{-1} + \beta\Phi^T\Phi\f$,
/// \f$\mathbf m_N = S_N(S_0^{-1}\mathbf m_0 + \beta\Phi^T\mathbf t)\f$ (PRML 3.50–3.51). With
/// fit_hyperparameters, α and β maximise the evidence (PRML 3.86) by the fixed-point updates 3.92–3.95
/// in the eigenbasis of \f$\Phi^T\Phi\f$: one D x D eigen-decomposition, then O(D) per iteration.
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class BayesianLinearRegression {
 public:
  using Options = BayesianLinearRegressionOptions<T>;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.

  /// A model with the given options (fit() or update() it next). @throw std::domain_error naming the option whose value is invalid.
  explicit BayesianLinearRegression(const Options& options = {}) : options_(options) {
    check_positive("BayesianLinearRegression", "alpha", options.alpha);
    check_nonnegative("BayesianLinearRegression", "beta", options.beta);
    check_nonnegative("BayesianLinearRegression", "alpha_shape", options.alpha_shape);
    check_nonnegative("BayesianLinearRegression", "alpha_rate", options.alpha_rate);
    check_nonnegative("BayesianLinearRegression", "beta_shape", options.beta_shape);
    check_nonnegative("BayesianLinearRegression", "beta_rate", options.beta_rate);
    if (options.max_iterations <= 0)
      detail::throw_domain("BayesianLinearRegression", "max_iterations", "be positive", std::to_string(options.max_iterations));
  }

  /// scikit-learn's BayesianRidge defaults: Gamma(1e-6, 1e-6) hyperpriors, intercept, tol 1e-3, 300
  /// iterations, raw-feature predictive variance. Reproduces coef_, alpha_, lambda_ and the predictive std.
  static Options bayesian_ridge_options() {
    Options o;
    o.alpha = T(1);
    o.beta = T(0);
    o.fit_hyperparameters = true;
    o.fit_intercept = true;
    o.alpha_shape = o.alpha_rate = o.beta_shape = o.beta_rate = T(1e-6);
    o.max_iterations = 300;
    o.tolerance = T(1e-3);
    o.centre_predictive_variance = false;
    return o;
  }

  /// Fits the posterior (and, if enabled, α and β) to design matrix `phi` (N x M) and targets `t`.
  /// @throw std::invalid_argument on mismatched sizes; std::domain_error on non-finite values.
  BayesianLinearRegression& fit(const MatrixCRef<T>& phi, const VectorCRef<T>& t) { return fit(Collective::single(), phi, t); }
  /// fit() on rows spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own rows `phi` (N_r x M; N_r = 0 allowed, then any width) and targets `t` (N_r). The ranks
  /// exchange \f$\Phi^T\Phi\f$, \f$\Phi^T t\f$ and \f$t^Tt\f$ once ((M + 1)^2 numbers, after the column
  /// means before them); the evidence maximisation runs on these reduced statistics on every rank, so every
  /// rank ends with the same posterior, equal to fit() on the stacked rows up to rounding (bit for bit on one
  /// rank; with fewer rows in all than columns, the M x M eigen-decomposition instead of the N x N one).
  /// @throw as fit(), on every rank (a rank's own bad rows are reported on all of them, with its rank).
  BayesianLinearRegression& fit(const Collective& ranks, const MatrixCRef<T>& phi_rows, const VectorCRef<T>& t);

  /// Sequential Bayesian update with α, β held fixed (PRML 3.49–3.51; Fig. 3.7): the current posterior
  /// becomes the prior. Starting from an unfitted model the prior is N(0, α⁻¹I). Updating with data in
  /// pieces gives exactly the batch posterior.
  /// @throw std::logic_error with fit_intercept (the centring needs all data at once).
  BayesianLinearRegression& update(const MatrixCRef<T>& phi, const VectorCRef<T>& t);

  /// Predictive mean and variance at design matrix `phi` (N x M), each N x 1 (PRML 3.58–3.59): aleatoric
  /// 1/β, epistemic φᵀS_Nφ. @throw std::logic_error if not fitted or `phi` has the wrong width.
  Prediction<T> predict(const MatrixCRef<T>& phi) const;
  /// `n` functions drawn from the posterior, evaluated at `phi`: an N x n matrix (PRML Fig. 3.9).
  Matrix<T> sample_functions(Rng& rng, const MatrixCRef<T>& phi, Index n) const {
    require_fitted("BayesianLinearRegression::sample_functions", phi.cols());
    const Matrix<T> w = MultivariateNormal<T>(mean_, covariance_).sample(rng, n);  // n x M draws of the weights
    Matrix<T> f = phi * w.transpose();
    f.array() += intercept();
    return f;
  }

  const Vector<T>& mean() const noexcept { return mean_; }              ///< m_N (scikit-learn's coef_)
  const Matrix<T>& covariance() const noexcept { return covariance_; }  ///< S_N (scikit-learn's sigma_)
  T intercept() const { return t_mean_ - phi_mean_.dot(mean_); }  ///< The unregularised intercept t̄ − φ̄ᵀm_N (0 without fit_intercept).
  T alpha() const noexcept { return alpha_; }  ///< weight precision (scikit-learn's lambda_)
  T beta() const noexcept { return beta_; }    ///< noise precision (scikit-learn's alpha_)
  /// Effective number of parameters \f$\gamma = \sum_i \lambda_i/(\alpha + \lambda_i)\f$ (PRML 3.91).
  T effective_parameters() const noexcept { return gamma_; }
  /// \f$\ln p(\mathbf t|\alpha,\beta)\f$ at the fitted α, β (PRML 3.86), of the centred data when fit_intercept.
  T log_marginal_likelihood() const noexcept { return log_evidence_; }
  /// Evidence iterations run by the last fit() (0 without fit_hyperparameters).
  int iterations() const noexcept { return iterations_; }
  /// Whether the evidence iterations met the tolerance (always true without fit_hyperparameters).
  bool converged() const noexcept { return converged_; }
  /// The options the model was built with (including the recorded basis).
  const Options& options() const noexcept { return options_; }

  /// Writes the posterior, the hyperparameters and the options to `path` (model type
  /// "BayesianLinearRegression"; format in serialization/model_file.hpp). A loaded model predicts bit-identically and
  /// can go on with update().
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    constexpr const char* function = "BayesianLinearRegression::save";
    if (mean_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    io::save_model(*this, path, format, function);
  }
  /// A model saved by save(). @throw std::runtime_error naming the path for a missing, truncated, corrupt
  /// or wrong-type file, or parameters that do not describe a posterior.
  static BayesianLinearRegression load(const std::filesystem::path& path) {
    return io::load_model<BayesianLinearRegression>(path, "BayesianLinearRegression::load");
  }
  static constexpr const char* model_name = "BayesianLinearRegression";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  // The fitted state a model file holds (serialization/state.hpp): save() and load() both run this.
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    a.vector("mean", self.mean_);
    const Index m = self.mean_.size();
    a.require(m > 0, "the posterior mean is empty");
    a.matrix("covariance", self.covariance_, m, m);
    a.matrix("precision", self.precision_, m, m);
    a.vector("phi_mean", self.phi_mean_, m);
    a.scalars("scalars", self.t_mean_, self.alpha_, self.beta_, self.gamma_, self.log_evidence_);
    a.require(self.alpha_ > T(0) && self.beta_ > T(0), "the precisions alpha and beta must be positive");
    a.option("iterations", self.iterations_);
    a.option("converged", self.converged_);
  }

  void require_fitted(const char* function, Index columns) const {
    if (mean_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    check_size(function, "phi", columns, mean_.size(), "columns");
  }
  Options options_;
  Vector<T> mean_, phi_mean_;
  Matrix<T> covariance_, precision_;
  T t_mean_ = 0, alpha_ = 0, beta_ = 0, gamma_ = 0, log_evidence_ = 0;
  int iterations_ = 0;
  bool converged_ = false;
};

// BayesianLinearRegression's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto BayesianLinearRegression<T>::fit(const Collective& ranks, const MatrixCRef<T>& phi_rows, const VectorCRef<T>& t) -> BayesianLinearRegression& PML_RANKS_TRY {
    const char* f = "BayesianLinearRegression::fit";
    const bool one = ranks.size() == 1;
    Index n = phi_rows.rows();
    if (one) check_nonempty(f, "phi", n);
    detail::agree(ranks, [&] {
      check_size(f, "t", t.size(), phi_rows.rows(), "length");
      check_all_finite(f, "phi", phi_rows);
      check_all_finite(f, "t", t);
    });
    if (!one) {
      n = 0;
      for (const Index c : detail::all_counts(ranks, phi_rows.rows())) n += c;
      check_nonempty(f, "phi", n);
    }
    const Index m = detail::shared_columns(ranks, f, phi_rows.rows(), phi_rows.cols());
    const Matrix<T> no_rows(0, m);  // an empty shard of another width is seen as 0 x M
    const MatrixCRef<T> phi = phi_rows.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(phi_rows);
    // centring (fit_intercept): the intercept is t_mean - phi_mean . w, unregularised
    phi_mean_ = options_.fit_intercept ? Vector<T>(detail::column_means<T>(ranks, phi, n).transpose()) : Vector<T>::Zero(m);
    t_mean_ = !options_.fit_intercept ? T(0) : one ? t.mean() : detail::all_sum(ranks, t.sum()) / T(n);
    Vector<T> phit = Vector<T>::Zero(m);
    T tt = 0;
    // eigen-decomposition of the Gram matrix Phi^T Phi (of the centred design with fit_intercept): for
    // N >= M the M x M matrix itself; for N < M (wide designs) from the N x N side, Phi Phi^T = U E U^T,
    // V = Phi^T U E^{-1/2} (only the nonzero eigenvalues; the other M - r are 0 with eigenvectors
    // orthogonal to V), so a wide design never costs an M x M eigen-decomposition
    Vector<T> e;
    Matrix<T> v;
    if (n >= m || !one) {
      // [lower Gram, Phi^T t; ., t^T t] ((M + 1) x (M + 1)) summed over at most 16 row chunks fixed by N and M (each on its own
      // thread, combined in chunk order: the same bits for any thread count; fewer for wide designs, so that the
      // partials stay small next to the data), 2048-row blocks (as PCA's scatter: fewer, larger pieces keep the
      // allocator from returning and re-faulting the partials' memory)
      constexpr Index block = 2048;
      Matrix<T> sums = detail::parallel_sum(
          detail::split_rows(phi.rows(), block, std::clamp<Index>(Index(4096) / (m + 1), 1, 16), block), Matrix<T>(Matrix<T>::Zero(m + 1, m + 1)), [&](Index, Index begin, Index end, Matrix<T>& part) {
            Matrix<T> z;
            for (Index start = begin; start < end; start += block) {
              const Index rows = std::min(block, end - start);
              z = phi.middleRows(start, rows).rowwise() - phi_mean_.transpose();
              const Vector<T> tb = t.segment(start, rows).array() - t_mean_;
              part.topLeftCorner(m, m).template selfadjointView<Eigen::Lower>().rankUpdate(z.transpose());
              part.col(m).head(m).noalias() += z.transpose() * tb;
              part(m, m) += tb.squaredNorm();
            }
          });
      detail::all_sum(ranks, sums);
      Matrix<T> gram = sums.topLeftCorner(m, m);
      phit = sums.col(m).head(m);
      tt = sums(m, m);
      gram = gram.template selfadjointView<Eigen::Lower>();
      Eigen::SelfAdjointEigenSolver<Matrix<T>> eig(gram);
      e = eig.eigenvalues().cwiseMax(T(0));
      v = eig.eigenvectors();
      // eigenvalues at the rounding level of the largest (collinear columns, fewer rows than columns) are 0:
      // their value is noise, and beta e_i / (alpha + beta e_i) of a noise e_i would count in gamma
      const T noise = (m > 0 ? e.maxCoeff() : T(0)) * T(m) * std::numeric_limits<T>::epsilon();
      for (Index i = 0; i < m; ++i)
        if (!(e(i) > noise)) e(i) = T(0);
    } else {
      const Matrix<T> z = phi.rowwise() - phi_mean_.transpose();
      const Vector<T> tc = t.array() - t_mean_;
      phit.noalias() = z.transpose() * tc;
      tt = tc.squaredNorm();
      Matrix<T> outer = z * z.transpose();
      outer = T(0.5) * (outer + outer.transpose());
      Eigen::SelfAdjointEigenSolver<Matrix<T>> eig(outer);
      const Vector<T> all = eig.eigenvalues().cwiseMax(T(0));
      const T top = all.size() > 0 ? all.maxCoeff() : T(0);
      Index r = 0;
      for (Index i = 0; i < n; ++i) r += all(i) > top * T(m) * std::numeric_limits<T>::epsilon() ? 1 : 0;
      e.resize(r);
      v.resize(m, r);
      for (Index i = n - r, j = 0; i < n; ++i, ++j) {
        e(j) = all(i);
        v.col(j) = z.transpose() * eig.eigenvectors().col(i);
        v.col(j).normalize();
      }
    }
    const Index rank = e.size();  // eigenvalues beyond these (M - rank of them) are 0
    const Vector<T> p = v.transpose() * phit;
    // least-squares residual ||t - Phi w_ls||^2 = t't - sum_{e_i > 0} p_i^2 / e_i (computed once)
    const T floor = (rank > 0 ? e.maxCoeff() : T(0)) * T(m) * std::numeric_limits<T>::epsilon();
    T rss_ls = tt;
    for (Index i = 0; i < rank; ++i)
      if (e(i) > floor) rss_ls -= p(i) * p(i) / e(i);
    rss_ls = std::max(rss_ls, T(0));
    auto residual = [&](T ratio) {  // ||t - Phi m||^2 for m = V (p / (e + ratio))
      T r = rss_ls;
      for (Index i = 0; i < rank; ++i)
        if (e(i) > floor) r += p(i) * p(i) * ratio * ratio / (e(i) * (e(i) + ratio) * (e(i) + ratio));
      return r;
    };
    auto coefficients = [&](T ratio) { return Vector<T>(v * (p.array() / (e.array() + ratio)).matrix()); };

    T alpha = options_.alpha;
    T beta = options_.beta > T(0) ? options_.beta : T(1) / (tt / T(n) + std::numeric_limits<T>::epsilon());
    iterations_ = 0;
    converged_ = !options_.fit_hyperparameters;
    if (options_.fit_hyperparameters) {
      Vector<T> previous;
      for (int it = 0; it < options_.max_iterations; ++it) {
        const Vector<T> w = coefficients(alpha / beta);
        const T rss = residual(alpha / beta);
        const T gamma = (beta * e.array() / (alpha + beta * e.array())).sum();  // PRML 3.91
        alpha = (gamma + T(2) * options_.alpha_shape) / (w.squaredNorm() + T(2) * options_.alpha_rate);
        beta = (T(n) - gamma + T(2) * options_.beta_shape) / (rss + T(2) * options_.beta_rate);
        iterations_ = it + 1;
        if (!(alpha > T(0)) || !(beta > T(0)) || !std::isfinite(alpha) || !std::isfinite(beta))
          detail::throw_domain(f, "t", "leave the evidence a finite maximum (a perfect fit drives beta to infinity)",
                               "alpha = " + detail::describe(alpha) + ", beta = " + detail::describe(beta));
        if (it != 0 && (previous - w).cwiseAbs().sum() < options_.tolerance) {
          converged_ = true;
          break;
        }
        previous = w;
      }
    }
    alpha_ = alpha;
    beta_ = beta;
    gamma_ = (beta * e.array() / (alpha + beta * e.array())).sum();
    mean_ = coefficients(alpha / beta);
    if (rank == m) {
      covariance_ = v * (T(1) / (beta * e.array() + alpha)).matrix().asDiagonal() * v.transpose();
      precision_ = v * (beta * e.array() + alpha).matrix().asDiagonal() * v.transpose();
    } else {  // the null space of Phi keeps the prior: S_N = V diag(1/(beta e + alpha) - 1/alpha) V^T + I/alpha
      covariance_ = v * (T(1) / (beta * e.array() + alpha) - T(1) / alpha).matrix().asDiagonal() * v.transpose();
      covariance_.diagonal().array() += T(1) / alpha;
      precision_ = v * (beta * e.array()).matrix().asDiagonal() * v.transpose();
      precision_.diagonal().array() += alpha;
    }
    const T rss = residual(alpha / beta);
    log_evidence_ = T(0.5) * T(m) * std::log(alpha) + T(0.5) * T(n) * std::log(beta) -
                    (T(0.5) * beta * rss + T(0.5) * alpha * mean_.squaredNorm()) -
                    T(0.5) * ((beta * e.array() + alpha).log().sum() + T(m - rank) * std::log(alpha)) -
                    T(0.5) * T(n) * constants<T>::log_two_pi;
    return *this;
  } PML_RANKS_CATCH(ranks, "BayesianLinearRegression::fit")

template <Real T>
auto BayesianLinearRegression<T>::update(const MatrixCRef<T>& phi, const VectorCRef<T>& t) -> BayesianLinearRegression& {
    const char* f = "BayesianLinearRegression::update";
    if (options_.fit_intercept)
      throw std::logic_error(std::string(f) + ": sequential updates need fit_intercept = false (add a bias column)");
    check_size(f, "t", t.size(), phi.rows(), "length");
    check_all_finite(f, "phi", phi);
    check_all_finite(f, "t", t);
    const Index m = phi.cols();
    if (mean_.size() == 0) {
      alpha_ = options_.alpha;
      beta_ = options_.beta > T(0) ? options_.beta : T(1);
      mean_ = Vector<T>::Zero(m);
      precision_ = alpha_ * Matrix<T>::Identity(m, m);
      phi_mean_ = Vector<T>::Zero(m);
      t_mean_ = 0;
    }
    check_size(f, "phi", m, mean_.size(), "columns");
    const Vector<T> shift = precision_ * mean_ + beta_ * phi.transpose() * t;
    precision_.noalias() += beta_ * phi.transpose() * phi;
    const Eigen::LLT<Matrix<T>> llt(precision_);
    mean_ = llt.solve(shift);
    covariance_ = llt.solve(Matrix<T>::Identity(m, m));
    return *this;
  }

template <Real T>
auto BayesianLinearRegression<T>::predict(const MatrixCRef<T>& phi) const -> Prediction<T> {
    require_fitted("BayesianLinearRegression::predict", phi.cols());
    Prediction<T> out;
    out.mean = phi * mean_;
    out.mean.array() += intercept();
    // phi S_N phi^T's diagonal, in row chunks fixed by N on several threads (the same bits for any count)
    out.epistemic = detail::map_rows<Matrix<T>>(phi.rows(), [&](Index b, Index m) {
      Matrix<T> centred = phi.middleRows(b, m);
      if (options_.centre_predictive_variance) centred.rowwise() -= phi_mean_.transpose();
      return Matrix<T>((centred * covariance_).cwiseProduct(centred).rowwise().sum());
    });
    out.aleatoric = Matrix<T>::Constant(phi.rows(), 1, T(1) / beta_);
    out.variance = out.epistemic + out.aleatoric;
    return out;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::BayesianLinearRegression)
