#pragma once
/// @file
/// Bayesian logistic regression by the Laplace approximation (PRML §4.5).

#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include <Eigen/Cholesky>

#include "pml/core/check.hpp"
#include "pml/core/collective.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/serialization/state.hpp"

namespace pml {

/// Options of BayesianLogisticRegression.
template <Real T = double> struct BayesianLogisticRegressionOptions {
  T alpha = T(1);             ///< precision of the isotropic Gaussian prior on the weights
  int max_iterations = 100;   ///< Newton (IRLS) iterations
  T tolerance = T(1e-10);     ///< stop when the Newton decrement gᵀH⁻¹g / 2 falls below
  /// How the design matrix was made, e.g. "poly:3" (see parse_basis()): saved with the model, not used by fit().
  std::string basis{};

  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("alpha", o.alpha);
    v("max_iterations", o.max_iterations);
    v("tolerance", o.tolerance);
    v("basis", o.basis);
  }
};

/// Two-class Bayesian logistic regression \f$p(t=1|\boldsymbol\phi,\mathbf w) = \sigma(\mathbf w^T\boldsymbol\phi)\f$
/// with prior \f$\mathbf w\sim\mathcal N(0,\alpha^{-1}I)\f$. fit() finds the MAP weights by Newton's method
/// (IRLS, PRML 4.92–4.100) and takes the Hessian there as the posterior precision (Laplace, PRML 4.143):
/// \f$S_N^{-1} = \alpha I + \sum_n y_n(1-y_n)\boldsymbol\phi_n\boldsymbol\phi_n^T\f$. The predictive
/// probability uses the probit approximation \f$p(t=1|\boldsymbol\phi) \approx \sigma(\kappa(\sigma_a^2)\mu_a)\f$,
/// \f$\kappa(\sigma^2) = (1 + \pi\sigma^2/8)^{-1/2}\f$ (PRML 4.153–4.155).
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class BayesianLogisticRegression {
 public:
  using Options = BayesianLogisticRegressionOptions<T>;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// A model with the given options. @throw std::domain_error naming the option whose value is invalid.
  explicit BayesianLogisticRegression(const Options& options = {}) : options_(options) {
    check_positive("BayesianLogisticRegression", "alpha", options.alpha);
    if (options.max_iterations <= 0)
      detail::throw_domain("BayesianLogisticRegression", "max_iterations", "be positive", std::to_string(options.max_iterations));
    check_nonnegative("BayesianLogisticRegression", "tolerance", options.tolerance);
  }

  /// Fits the Laplace posterior to design matrix `phi` (N x M; add a bias column for an intercept)
  /// and labels `t` in {0, 1}.
  /// @throw std::invalid_argument on mismatched sizes; std::domain_error for other labels, non-finite values,
  /// or phi whose squares summed over the rows overflow (naming phi and its largest entry).
  BayesianLogisticRegression& fit(const MatrixCRef<T>& phi, const IntVectorCRef& t) { return fit(Collective::single(), phi, t); }
  /// fit() on rows spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own rows `phi` (N_r x M; N_r = 0 allowed, then any width) and labels `t`. Distributed Newton:
  /// per step the ranks sum the gradient and the Hessian's lower triangle (M (M + 1) numbers) and, per trial
  /// step of the line search, the data term of the objective (one number); every rank takes the same steps
  /// and ends with the same Laplace posterior, equal to fit() on the stacked rows up to rounding (bit for bit
  /// on one rank). @throw as fit(), on every rank (a rank's own bad rows are reported on all of them, with its rank).
  BayesianLogisticRegression& fit(const Collective& ranks, const MatrixCRef<T>& phi_rows, const IntVectorCRef& t);

  /// Predictive \f$p(t=1|\boldsymbol\phi)\f$ with the probit approximation (moderated by the posterior).
  Vector<T> predict_proba(const MatrixCRef<T>& phi) const;
  /// \f$\sigma(\mathbf w_{MAP}^T\boldsymbol\phi)\f$: the plug-in probability that ignores the posterior width.
  Vector<T> predict_proba_map(const MatrixCRef<T>& phi) const {
    require_fitted("BayesianLogisticRegression::predict_proba_map", phi.cols());
    return pml::sigmoid((phi * mean_).array().eval()).matrix();
  }
  /// Labels with predictive probability above 1/2.
  IntVector predict(const MatrixCRef<T>& phi) const {
    return (predict_proba(phi).array() > T(0.5)).template cast<long>();
  }
  /// Monte Carlo predictive probability from `samples` posterior draws (to check the probit approximation).
  Vector<T> predict_proba_sampled(Rng& rng, const MatrixCRef<T>& phi, Index samples) const {
    require_fitted("BayesianLogisticRegression::predict_proba_sampled", phi.cols());
    const Matrix<T> w = MultivariateNormal<T>(mean_, covariance_).sample(rng, samples);  // samples x M
    const Matrix<T> a = phi * w.transpose();
    return pml::sigmoid(a.array()).matrix().rowwise().mean();
  }

  const Vector<T>& mean() const noexcept { return mean_; }              ///< w_MAP
  const Matrix<T>& covariance() const noexcept { return covariance_; }  ///< S_N (Laplace)
  const Matrix<T>& precision() const noexcept { return precision_; }    ///< Hessian at the MAP
  T log_marginal_likelihood() const noexcept { return log_evidence_; }  ///< Laplace approximation (PRML 4.137)
  /// Newton iterations run by the last fit().
  int iterations() const noexcept { return iterations_; }
  /// Whether the Newton decrement fell below the tolerance.
  bool converged() const noexcept { return converged_; }
  /// The options the model was built with (including the recorded basis).
  const Options& options() const noexcept { return options_; }

  /// Writes the Laplace posterior and the options to `path` (model type "BayesianLogisticRegression";
  /// format in serialization/model_file.hpp). A loaded model predicts bit-identically.
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    constexpr const char* function = "BayesianLogisticRegression::save";
    if (mean_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    io::save_model(*this, path, format, function);
  }
  /// A model saved by save(). @throw std::runtime_error naming the path for a missing, truncated, corrupt
  /// or wrong-type file.
  static BayesianLogisticRegression load(const std::filesystem::path& path) {
    return io::load_model<BayesianLogisticRegression>(path, "BayesianLogisticRegression::load");
  }
  static constexpr const char* model_name = "BayesianLogisticRegression";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  // The fitted state a model file holds (serialization/state.hpp): save() and load() both run this.
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    a.vector("mean", self.mean_);
    const Index m = self.mean_.size();
    a.require(m > 0, "the posterior mean is empty");
    a.matrix("covariance", self.covariance_, m, m);
    a.matrix("precision", self.precision_, m, m);
    a.scalars("log_evidence", self.log_evidence_);
    a.option("iterations", self.iterations_);
    a.option("converged", self.converged_);
  }

  // Row chunks of the sums over the data: at most 16, of whole 2048-row blocks, fixed by N and M (combined in
  // chunk order: the same bits for any thread count; few, large pieces, docs/architecture.md "Threads"; fewer
  // for wide designs, so that the M x (M + 1) partials stay small next to the data).
  static constexpr Index block = 2048;
  static detail::Chunks chunks(Index n, Index m) { return detail::split_rows(n, block, std::clamp<Index>(Index(4096) / (m + 1), 1, 16), block); }
  // The Newton step's gradient Phi^T (y - t) + alpha w and Hessian Phi^T R Phi + alpha I (PRML 4.96-4.97),
  // R = diag(y (1 - y)), summed block by block: no N x M temporary.
  void newton_terms(const MatrixCRef<T>& phi, const Vector<T>& target, const Vector<T>& w, Vector<T>& grad, Matrix<T>& hessian) const;
  // negative log posterior up to a constant: sum softplus(a) - t a + alpha/2 |w|^2 (stable for any a), the
  // data term summed over the chunks above
  T objective(const MatrixCRef<T>& phi, const Vector<T>& target, const Vector<T>& w) const;
  void require_fitted(const char* function, Index columns) const {
    if (mean_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    check_size(function, "phi", columns, mean_.size(), "columns");
  }
  Options options_;
  const Collective* ranks_ = &Collective::single();  // the ranks of the fit() in progress (the sums above run over them)
  Vector<T> mean_;
  Matrix<T> covariance_, precision_;
  T log_evidence_ = 0;
  int iterations_ = 0;
  bool converged_ = false;
};

// BayesianLogisticRegression's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto BayesianLogisticRegression<T>::fit(const Collective& ranks, const MatrixCRef<T>& phi_rows, const IntVectorCRef& t) -> BayesianLogisticRegression& PML_RANKS_TRY {
    const char* f = "BayesianLogisticRegression::fit";
    const bool one = ranks.size() == 1;
    Index n = phi_rows.rows();
    if (one) check_nonempty(f, "phi", n);
    detail::agree(ranks, [&] {
      check_size(f, "t", t.size(), phi_rows.rows(), "length");
      check_all_finite(f, "phi", phi_rows);
      for (Index i = 0; i < t.size(); ++i)
        if (t(i) != 0 && t(i) != 1)
          detail::throw_domain(f, "t", "contain only 0 and 1", std::to_string(t(i)) + " at index " + std::to_string(i));
    });
    if (!one) {
      n = 0;
      for (const Index c : detail::all_counts(ranks, phi_rows.rows())) n += c;
      check_nonempty(f, "phi", n);
    }
    const Index m = detail::shared_columns(ranks, f, phi_rows.rows(), phi_rows.cols());
    const Matrix<T> no_rows(0, m);  // an empty shard of another width is seen as 0 x M
    const MatrixCRef<T> phi = phi_rows.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(phi_rows);
    ranks_ = &ranks;
    struct Forget {  // the caller's ranks are forgotten however the fit ends
      const Collective*& ranks;
      ~Forget() { ranks = &Collective::single(); }
    } forget{ranks_};
    // the Hessian sums squares of phi over the rows: refuse data whose squares would overflow, rather than
    // return NaN weights
    const T largest = T(detail::all_max(ranks, phi.size() > 0 ? double(phi.cwiseAbs().maxCoeff()) : 0.0));
    if (!(largest <= std::sqrt(std::numeric_limits<T>::max() / T(4 * n))))
      detail::throw_domain(f, "phi", "have entries whose squares summed over the " + std::to_string(n) + " rows stay finite (rescale phi)",
                           detail::describe(largest) + " (largest |entry|)");
    const Vector<T> target = t.template cast<T>();
    Vector<T> w = Vector<T>::Zero(m);
    converged_ = false;
    iterations_ = 0;
    Eigen::LLT<Matrix<T>> llt;
    Vector<T> grad;
    Matrix<T> hessian;
    for (int it = 0; it < options_.max_iterations; ++it) {
      newton_terms(phi, target, w, grad, hessian);
      llt.compute(hessian);
      const Vector<T> step = llt.solve(grad);
      // damped Newton: halve the step until the negative log posterior decreases. When the predicted decrease
      // (half the Newton decrement) is within rounding of the objective, the comparison would be decided by
      // rounding (and so differ between thread or rank counts): the full step is taken, Newton being
      // quadratically convergent there
      const T current = objective(phi, target, w);
      const bool resolvable = T(0.5) * grad.dot(step) > T(64) * std::numeric_limits<T>::epsilon() * std::max(T(1), std::abs(current));
      T scale = 1;
      Vector<T> next = w - step;
      while (resolvable && objective(phi, target, next) > current && scale > T(1e-8)) {
        scale /= T(2);
        next = w - scale * step;
      }
      w = next;
      iterations_ = it + 1;
      if (T(0.5) * grad.dot(step) <= options_.tolerance) {
        converged_ = true;
        break;
      }
    }
    if (!w.allFinite())
      detail::throw_domain(f, "phi", "give finite MAP weights (rescale phi)", "non-finite weights after " + std::to_string(iterations_) + " Newton steps");
    mean_ = w;
    newton_terms(phi, target, w, grad, hessian);
    llt.compute(hessian);
    precision_ = hessian;
    covariance_ = llt.solve(Matrix<T>::Identity(m, m));
    if (llt.info() != Eigen::Success || !covariance_.allFinite())
      detail::throw_domain(f, "phi", "give a positive definite Hessian at the MAP weights (rescale phi)", "a non-finite or singular Hessian");
    // Laplace evidence (PRML 4.137): ln p(D|w) + ln p(w) + M/2 ln 2pi - 1/2 ln|H|
    log_evidence_ = -objective(phi, target, w) + T(0.5) * T(m) * constants<T>::log_two_pi -
                    llt.matrixLLT().diagonal().array().log().sum();  // 1/2 log|H| from the Cholesky diagonal
    return *this;
  } PML_RANKS_CATCH(ranks, "BayesianLogisticRegression::fit")

template <Real T>
auto BayesianLogisticRegression<T>::predict_proba(const MatrixCRef<T>& phi) const -> Vector<T> {
    require_fitted("BayesianLogisticRegression::predict_proba", phi.cols());
    // row chunks fixed by N, each on its own thread (core/parallel.hpp)
    return detail::map_rows<Vector<T>>(phi.rows(), [&](Index begin, Index count) {
      const auto rows = phi.middleRows(begin, count);
      const Vector<T> mu = rows * mean_;
      const Vector<T> var = (rows * covariance_).cwiseProduct(rows).rowwise().sum();
      const Vector<T> kappa = (T(1) + constants<T>::pi * var.array() / T(8)).rsqrt().matrix();
      return Vector<T>(pml::sigmoid((kappa.array() * mu.array()).eval()).matrix());
    });
  }

template <Real T>
auto BayesianLogisticRegression<T>::newton_terms(const MatrixCRef<T>& phi, const Vector<T>& target, const Vector<T>& w, Vector<T>& grad, Matrix<T>& hessian) const -> void {
    const Index m = phi.cols();
    // columns 0..M-1: the Hessian's lower triangle; column M: the gradient
    Matrix<T> sums = detail::parallel_sum(chunks(phi.rows(), phi.cols()), Matrix<T>(Matrix<T>::Zero(m, m + 1)), [&](Index, Index begin, Index end, Matrix<T>& part) {
      Matrix<T> z;
      Vector<T> y;
      for (Index start = begin; start < end; start += block) {
        const Index rows = std::min(block, end - start);
        const auto pb = phi.middleRows(start, rows);
        y = pml::sigmoid((pb * w).eval().array()).matrix();
        part.col(m).noalias() += pb.transpose() * (y - target.segment(start, rows));
        z = pb.array().colwise() * (y.array() * (T(1) - y.array())).sqrt();
        part.leftCols(m).template selfadjointView<Eigen::Lower>().rankUpdate(z.transpose());
      }
    });
    detail::all_sum(*ranks_, sums);
    grad = sums.col(m) + options_.alpha * w;
    hessian = sums.leftCols(m).template selfadjointView<Eigen::Lower>();
    hessian.diagonal().array() += options_.alpha;
  }

template <Real T>
auto BayesianLogisticRegression<T>::objective(const MatrixCRef<T>& phi, const Vector<T>& target, const Vector<T>& w) const -> T {
    T data = detail::parallel_sum(chunks(phi.rows(), phi.cols()), T(0), [&](Index, Index begin, Index end, T& out) {
      for (Index start = begin; start < end; start += block) {
        const Index rows = std::min(block, end - start);
        const Vector<T> a = phi.middleRows(start, rows) * w;
        out += (pml::softplus(a.array()) - target.segment(start, rows).array() * a.array()).sum();
      }
    });
    data = detail::all_sum(*ranks_, data);
    return data + T(0.5) * options_.alpha * w.squaredNorm() + T(0.5) * T(w.size()) * (constants<T>::log_two_pi - std::log(options_.alpha));
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::BayesianLogisticRegression)
