#pragma once
/// @file
/// Variational Bayesian Gaussian mixture (PRML §10.2), with a Dirichlet or stick-breaking
/// (Dirichlet process) prior on the weights and a Gaussian–Wishart prior on means and precisions.

#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <vector>

#include <Eigen/Cholesky>

#include "pml/core/check.hpp"
#include "pml/core/collective.hpp"
#include "pml/core/linalg.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/random.hpp"
#include "pml/core/special.hpp"
#include "pml/core/weights.hpp"
#include "pml/distributions/beta.hpp"
#include "pml/distributions/dirichlet.hpp"
#include "pml/distributions/kl.hpp"
#include "pml/distributions/wishart.hpp"
#include "pml/serialization/state.hpp"
#include "pml/models/cluster/kmeans.hpp"

namespace pml {

/// Prior on the mixing weights of a VariationalGaussianMixture.
enum class WeightPrior {
  dirichlet_distribution,  ///< symmetric Dir(α₀) over K weights (PRML 10.39)
  dirichlet_process,       ///< truncated stick-breaking: v_k ~ Beta(1, α₀), π_k = v_k ∏_{j<k}(1 − v_j)
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(WeightPrior) { return {"dirichlet_distribution", "dirichlet_process"}; }

/// Options of VariationalGaussianMixture. Zero / empty values take the data-dependent defaults of
/// scikit-learn's BayesianGaussianMixture: α₀ = 1/K, β₀ = 1, m₀ = data mean, ν₀ = D, W₀⁻¹ = data covariance.
template <Real T = double> struct VariationalGaussianMixtureOptions {
  Index components = 1;  ///< upper bound on the number of components K
  WeightPrior weight_prior = WeightPrior::dirichlet_distribution;  ///< dirichlet_distribution or dirichlet_process (stick-breaking)
  T weight_concentration = 0;     ///< α₀ (0: 1/K)
  T mean_precision = 1;           ///< β₀
  T degrees_of_freedom = 0;       ///< ν₀ (0: D); must exceed D − 1
  Vector<T> mean_prior{};         ///< m₀ (empty: data mean)
  Matrix<T> covariance_prior{};   ///< W₀⁻¹ (empty: data covariance)
  T reg_covar = T(1e-6);          ///< added to each component's scatter S_k
  T tolerance = T(1e-3);          ///< stop when the ELBO per sample changes by less
  int max_iterations = 100;  ///< coordinate-ascent iterations at most

  /// The options a model file stores (the priors m₀ and W₀⁻¹ as matrices), declared once for save()
  /// and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("components", o.components, io::as_size);
    v("weight_prior", o.weight_prior);
    v("weight_concentration", o.weight_concentration);
    v("mean_precision", o.mean_precision);
    v("degrees_of_freedom", o.degrees_of_freedom);
    v("reg_covar", o.reg_covar);
    v("tolerance", o.tolerance);
    v("max_iterations", o.max_iterations);
    v("mean_prior", o.mean_prior);
    v("covariance_prior", o.covariance_prior);
  }
};

/// Variational Gaussian mixture: q(Z)q(π)∏q(μ_k, Λ_k) updated by coordinate ascent (PRML 10.46–10.63).
/// The evidence lower bound is evaluated after every E-step as
/// \f$\mathcal L = \sum_n\log\sum_k\rho_{nk} - KL(q(\pi)\|p(\pi)) - \sum_k KL(q(\mu_k,\Lambda_k)\|p(\mu_k,\Lambda_k))\f$,
/// which never decreases. Components that explain no data keep their prior and get vanishing weight:
/// with a small weight concentration the surplus components switch off (PRML Fig. 10.6).
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class VariationalGaussianMixture {
 public:
  using Options = VariationalGaussianMixtureOptions<T>;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// A model with the given options (fit() it next). @throw std::domain_error naming the option whose value is invalid.
  explicit VariationalGaussianMixture(const Options& options = {}) : options_(options) {
    const char* f = "VariationalGaussianMixture";
    if (options.components <= 0) detail::throw_domain(f, "components", "be positive", std::to_string(options.components));
    check_nonnegative(f, "weight_concentration", options.weight_concentration);
    check_positive(f, "mean_precision", options.mean_precision);
    check_nonnegative(f, "degrees_of_freedom", options.degrees_of_freedom);
    check_nonnegative(f, "reg_covar", options.reg_covar);
    check_nonnegative(f, "tolerance", options.tolerance);
    if (options.max_iterations <= 0)
      detail::throw_domain(f, "max_iterations", "be positive", std::to_string(options.max_iterations));
  }

  /// Fits q to the rows of `x`, starting from k-means responsibilities.
  /// @throw std::invalid_argument for N < K; std::domain_error for non-finite data, data whose squared
  /// deviations from the column means overflow (rescale them), or invalid priors.
  VariationalGaussianMixture& fit(const MatrixCRef<T>& x, Rng& rng) { return fit(Collective::single(), x, rng); }
  /// fit() on rows spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own shard `x` (N_r x D; N_r = 0 allowed, then any width) and the same options and generator
  /// state. Every rank ends with the same posterior, equal to fit() on the shards' rows stacked in rank order
  /// up to rounding (bit for bit on one rank). Per iteration the ranks exchange K + K D numbers and the K
  /// scatters (K D (D + 1) / 2 numbers) once each, and the ELBO's data term; the k-means start is the sharded
  /// KMeans. @throw as fit(), on every rank (a rank's own bad shard is reported on all of them, with its rank).
  VariationalGaussianMixture& fit(const Collective& ranks, const MatrixCRef<T>& x, Rng& rng);
  /// fit() with a generator seeded from `seed`.
  VariationalGaussianMixture& fit(const MatrixCRef<T>& x, std::uint64_t seed = 0) {
    Rng rng(seed);
    return fit(x, rng);
  }
  /// The sharded fit() with a generator seeded from `seed` (the same on every rank).
  VariationalGaussianMixture& fit(const Collective& ranks, const MatrixCRef<T>& x, std::uint64_t seed = 0) {
    Rng rng(seed);
    return fit(ranks, x, rng);
  }

  /// Responsibilities under the variational posterior (N x K). A row so far from every component that every
  /// \f$\ln\rho_{nk}\f$ is −∞ gets their limit as it moves away: all mass on the component(s) with the
  /// smallest \f$\nu_k(x-m_k)^TW_k(x-m_k)\f$ (computed in scaled units), split equally on a tie; never NaN.
  Matrix<T> predict_proba(const MatrixCRef<T>& x) const;
  /// The component of largest responsibility for each row.
  IntVector predict(const MatrixCRef<T>& x) const;
  /// Expected mixing weights E[π_k].
  Vector<T> weights() const;
  /// Posterior means m_k (K x D).
  const Matrix<T>& means() const noexcept { return m_; }
  /// E[Λ_k]⁻¹ = W_k⁻¹/ν_k, the covariance implied by the expected precision.
  Matrix<T> covariance(Index k) const {
    return winv_[static_cast<std::size_t>(k)] / nu_(k);
  }
  /// Number of components whose expected weight exceeds `threshold`.
  Index effective_components(T threshold = T(1e-2)) const { return (weights().array() > threshold).count(); }
  /// ELBO per sample after each E-step (never decreases).
  const std::vector<T>& elbo_history() const noexcept { return history_; }
  /// The ELBO per sample after the last iteration (−∞ before fit()).
  T lower_bound() const noexcept { return history_.empty() ? -std::numeric_limits<T>::infinity() : history_.back(); }
  /// Number of coordinate-ascent iterations run by the last fit().
  int iterations() const noexcept { return iterations_; }
  /// Whether the last fit() stopped because the ELBO changed by less than the tolerance.
  bool converged() const noexcept { return converged_; }
  /// The options the model was built with.
  const Options& options() const noexcept { return options_; }

  /// Writes the fitted variational posterior, its options and the ELBO history to `path` (model type
  /// "VariationalGaussianMixture"; format in serialization/model_file.hpp). A loaded model's predict_proba, weights,
  /// means and covariances are bit-identical to this one's.
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    constexpr const char* function = "VariationalGaussianMixture::save";
    if (m_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    io::save_model(*this, path, format, function);
  }
  /// A model saved by save(). @throw std::runtime_error naming the path for a missing, truncated, corrupt
  /// or wrong-type file, or parameters that do not describe a variational posterior.
  static VariationalGaussianMixture load(const std::filesystem::path& path) {
    return io::load_model<VariationalGaussianMixture>(path, "VariationalGaussianMixture::load");
  }
  static constexpr const char* model_name = "VariationalGaussianMixture";  ///< The model type in its files' headers.

 private:
  friend struct io::StateAccess;
  // The fitted state a model file holds (serialization/state.hpp): save() and load() both run this.
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    const Index k = self.options_.components;
    a.matrix("means", self.m_, k, io::any);
    const Index d = self.m_.cols();
    a.require(d > 0, "the means have no columns");
    if constexpr (Archive::reading) self.d_ = d;
    a.vector("alpha", self.alpha_, k, io::Values::positive);
    a.vector("gamma", self.gamma_, self.options_.weight_prior == WeightPrior::dirichlet_process ? k : 0, io::Values::positive);
    a.vector("beta", self.beta_, k, io::Values::positive);
    a.vector("nu", self.nu_, k);
    a.require((self.nu_.array() > T(d - 1)).all(), "a Wishart degrees of freedom is not above D - 1");
    a.factors("W_factor", self.chol_w_, k, d);  // the lower Cholesky factors of the W_k
    a.blocks("W_inverse", self.winv_, k, d);
    a.history("elbo_history", self.history_);
    a.option("iterations", self.iterations_);
    a.option("converged", self.converged_);
  }

  // ln rho_nk = E[ln pi_k] + 1/2 E[ln|L_k|] - D/2 ln 2pi - 1/2 (D/beta_k + nu_k (x - m_k)' W_k (x - m_k))
  Matrix<T> log_rho(const MatrixCRef<T>& x) const;

  // The limit of the responsibilities of a row whose every ln rho is -inf (see predict_proba()).
  RowVector<T> far_responsibilities(const RowVector<T>& x) const;

  Vector<T> expected_log_weights() const;

  // E-step: responsibilities of this rank's rows into `resp`; returns the ELBO per sample (of the n rows of all ranks).
  T e_step(const Collective& ranks, const MatrixCRef<T>& x, Index n, Matrix<T>& resp) const;

  // M-step (PRML 10.51-10.63, and the stick-breaking analogue for the weights).
  // Sharded: N_k and the sums r^T x in one message, then the K scatters about x_bar_k in another.
  void m_step(const Collective& ranks, const MatrixCRef<T>& x, const Matrix<T>& resp);

  void require_fitted(const char* function, Index columns) const {
    if (m_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    check_size(function, "x", columns, d_, "columns");
  }

  Options options_;
  Index d_ = 0;
  T alpha0_ = 0, beta0_ = 0, nu0_ = 0;
  Vector<T> m0_;
  Matrix<T> w0_, w0inv_;
  Vector<T> alpha_, gamma_, beta_, nu_;
  Matrix<T> m_;
  std::vector<Matrix<T>> winv_;
  std::vector<Eigen::LLT<Matrix<T>>> chol_w_;
  std::vector<T> history_;
  int iterations_ = 0;
  bool converged_ = false;
};

// VariationalGaussianMixture's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto VariationalGaussianMixture<T>::fit(const Collective& ranks, const MatrixCRef<T>& x, Rng& rng) -> VariationalGaussianMixture& PML_RANKS_TRY {
    const char* f = "VariationalGaussianMixture::fit";
    const Index k = options_.components;
    const bool one = ranks.size() == 1;
    Index n = x.rows();
    if (!one) {
      detail::agree(ranks, [&] { check_all_finite(f, "x", x); });
      n = 0;
      for (const Index c : detail::all_counts(ranks, x.rows())) n += c;
    }
    const Index d = detail::shared_columns(ranks, f, x.rows(), x.cols());
    check_nonempty(f, "x", n);
    if (n < k) detail::throw_shape(f, "needs at least components = " + std::to_string(k) + " rows, got " + std::to_string(n));
    if (one) check_all_finite(f, "x", x);
    const Matrix<T> no_rows(0, d);  // an empty shard of another width is seen as 0 x D
    const MatrixCRef<T> xs = x.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(x);
    // K Wishart scales and their factors are D x D: refuse wide data they cannot fit before allocating
    detail::agree(ranks, [&] {  // ranks may have different memory: all must stop together
      detail::check_model_memory(f, "x", 3.0 * double(k + 1) * double(d) * double(d) * double(sizeof(T)),
                                 std::to_string(k) + " component(s) with full " + std::to_string(d) + " x " +
                                     std::to_string(d) + " Wishart scales",
                                 "use GaussianMixture with covariance 'diagonal' or 'spherical', or reduce the columns (PCA) first");
    });
    // the column means once (a nested mean expression is re-evaluated per column: D^2 on wide data), and
    // data whose scatter overflows refused here rather than as NaN responsibilities later
    const RowVector<T> column_mean = detail::column_means<T>(ranks, xs, n);
    Matrix<T> centred;
    if (one) {
      centred = detail::centred_checked<T>(f, xs, column_mean, double(n) * double(d));
    } else {
      centred = xs.rowwise() - column_mean;
      detail::check_spread<T>(f, T(detail::all_max(ranks, centred.size() > 0 ? double(centred.cwiseAbs().maxCoeff()) : 0.0)),
                              double(n) * double(d));
    }
    d_ = d;
    // priors
    alpha0_ = options_.weight_concentration > 0 ? options_.weight_concentration : T(1) / T(k);
    beta0_ = options_.mean_precision;
    nu0_ = options_.degrees_of_freedom > 0 ? options_.degrees_of_freedom : T(d);
    check_greater(f, "degrees_of_freedom", nu0_, d - 1);
    m0_ = options_.mean_prior.size() > 0 ? options_.mean_prior : Vector<T>(column_mean.transpose());
    check_size(f, "mean_prior", m0_.size(), d, "length");
    Matrix<T> w0inv;
    if (options_.covariance_prior.size() > 0) {
      w0inv = options_.covariance_prior;
      check_size(f, "covariance_prior", w0inv.rows(), d, "rows");
      cholesky_checked(f, "covariance_prior", w0inv);
    } else {
      w0inv = centred.transpose() * centred;
      detail::all_sum(ranks, w0inv);
      w0inv /= T(n);
      w0inv.diagonal().array() += options_.reg_covar;
    }
    w0inv_ = w0inv;
    // the prior scale W_0 = (W_0^{-1})^{-1} must be positive definite: a singular scatter (collinear columns,
    // N <= D) with too little reg_covar for T's precision is refused here, not as a Wishart error later
    const Eigen::LLT<Matrix<T>> w0inv_llt(w0inv);
    bool prior_ok = w0inv_llt.info() == Eigen::Success;
    if (prior_ok) {
      w0_ = w0inv_llt.solve(Matrix<T>::Identity(d, d));
      w0_ = T(0.5) * (w0_ + w0_.transpose());
      prior_ok = w0_.allFinite() && Eigen::LLT<Matrix<T>>(w0_).info() == Eigen::Success;
    }
    if (!prior_ok) {
      if (options_.covariance_prior.size() > 0)
        detail::throw_domain(f, "covariance_prior", "be positive definite and invertible in this precision",
                             "a matrix whose inverse is not positive definite");
      detail::throw_domain(f, "x",
                           "have a positive definite scatter (plus reg_covar = " + detail::describe(options_.reg_covar) +
                               " on the diagonal) for the default covariance_prior",
                           "a singular scatter matrix (collinear columns or N <= D: raise reg_covar or pass covariance_prior)");
    }
    // coordinate ascent runs on the centred data (sums of squares about the data, not the origin): the prior
    // mean moves with it, and the means are shifted back at the end
    // (the default prior mean is the data mean: in centred units that is the centred data's own mean, a
    // residual at rounding level of the shift, so x_bar_k - m_0 is formed from the same numbers)
    if (options_.mean_prior.size() > 0) m0_ -= column_mean.transpose();
    else m0_ = detail::column_means<T>(ranks, centred, n).transpose();
    // start: k-means responsibilities, then one M-step
    KMeans<T> km({.clusters = k, .restarts = 1});
    km.fit(ranks, centred, rng);
    Matrix<T> resp = Matrix<T>::Zero(centred.rows(), k);
    for (Index i = 0; i < centred.rows(); ++i) resp(i, km.labels()(i)) = T(1);
    m_step(ranks, centred, resp);
    history_.clear();
    converged_ = false;
    T previous = -std::numeric_limits<T>::infinity();
    for (iterations_ = 0; iterations_ < options_.max_iterations;) {
      const T elbo = e_step(ranks, centred, n, resp);
      history_.push_back(elbo);
      m_step(ranks, centred, resp);
      ++iterations_;
      if (std::abs(elbo - previous) < options_.tolerance) {
        converged_ = true;
        break;
      }
      previous = elbo;
    }
    m_.rowwise() += column_mean;
    m0_ = options_.mean_prior.size() > 0 ? options_.mean_prior : Vector<T>(column_mean.transpose());
    return *this;
  } PML_RANKS_CATCH(ranks, "VariationalGaussianMixture::fit")

template <Real T>
auto VariationalGaussianMixture<T>::predict_proba(const MatrixCRef<T>& x) const -> Matrix<T> {
    require_fitted("VariationalGaussianMixture::predict_proba", x.cols());
    Matrix<T> lr = log_rho(x);
    const Vector<T> norm = log_sum_exp_rows(lr);
    lr.colwise() -= norm;
    Matrix<T> out = lr.array().exp().matrix();
    for (Index i = 0; i < x.rows(); ++i)
      if (!(lr.row(i).maxCoeff() + norm(i) > -std::numeric_limits<T>::infinity()) || !out.row(i).allFinite())
        out.row(i) = far_responsibilities(x.row(i));
    return out;
  }

template <Real T>
auto VariationalGaussianMixture<T>::predict(const MatrixCRef<T>& x) const -> IntVector {
    const Matrix<T> r = predict_proba(x);
    IntVector labels(r.rows());
    for (Index i = 0; i < r.rows(); ++i) {
      Index best;
      r.row(i).maxCoeff(&best);
      labels(i) = static_cast<long>(best);
    }
    return labels;
  }

template <Real T>
auto VariationalGaussianMixture<T>::weights() const -> Vector<T> {
    if (options_.weight_prior == WeightPrior::dirichlet_distribution) return alpha_ / alpha_.sum();
    Vector<T> w(alpha_.size());
    T remaining = 1;
    for (Index c = 0; c < alpha_.size(); ++c) {
      const T v = alpha_(c) / (alpha_(c) + gamma_(c));
      w(c) = remaining * v;
      remaining *= T(1) - v;
    }
    return w;
  }

template <Real T>
auto VariationalGaussianMixture<T>::log_rho(const MatrixCRef<T>& x) const -> Matrix<T> {
    const Index n = x.rows(), k = options_.components;
    const Vector<T> e_log_pi = expected_log_weights();
    Matrix<T> lr(n, k);
    constexpr Index block = 128;
    Vector<T> constant(k);
    std::vector<Matrix<T>> ut(static_cast<std::size_t>(k));
    for (Index c = 0; c < k; ++c) {
      const auto& l = chol_w_[static_cast<std::size_t>(c)];  // W_k = U^T U with U = chol(W_k)^T
      const T e_log_det = mdigamma(d_, T(0.5) * nu_(c)) + T(d_) * constants<T>::log_two + log_det(l);
      constant(c) = e_log_pi(c) + T(0.5) * e_log_det - T(0.5) * T(d_) * constants<T>::log_two_pi - T(0.5) * T(d_) / beta_(c);
      ut[static_cast<std::size_t>(c)] = Matrix<T>(l.matrixU()).transpose();
    }
    // row chunks fixed by N (whole 128-row blocks) on several threads: the same bits for any thread count
    detail::parallel_chunks(detail::split_rows(n, 2048, Index(1) << 20, block), [&](Index, Index begin, Index end) {
      Matrix<T> z;
      for (Index c = 0; c < k; ++c)
        for (Index start = begin; start < end; start += block) {
          const Index m = std::min(block, end - start);
          z.noalias() = (x.middleRows(start, m).rowwise() - m_.row(c)) * ut[static_cast<std::size_t>(c)];  // rows: L^T (x - m)
          lr.col(c).segment(start, m) = (constant(c) - T(0.5) * nu_(c) * z.rowwise().squaredNorm().array()).matrix();
        }
    });
    return lr;
  }

template <Real T>
auto VariationalGaussianMixture<T>::far_responsibilities(const RowVector<T>& x) const -> RowVector<T> {
    const Index k = options_.components;
    Vector<T> q(k);
    for (Index c = 0; c < k; ++c) {
      RowVector<T> z = x - m_.row(c);
      const T scale = z.cwiseAbs().maxCoeff();
      if (scale > T(0) && std::isfinite(scale)) z /= scale;
      const Matrix<T> u = chol_w_[static_cast<std::size_t>(c)].matrixU();
      q(c) = std::log(nu_(c) * (z * u.transpose()).squaredNorm()) + T(2) * std::log(scale);
    }
    // ties at this precision: the cross term nu_k x^T W_k m_k of the exact difference decides, larger wins
    const T best = q.minCoeff();
    Vector<T> cross = Vector<T>::Constant(k, -std::numeric_limits<T>::infinity());
    const T size = x.cwiseAbs().maxCoeff();
    const RowVector<T> direction = size > T(0) && std::isfinite(size) ? RowVector<T>(x / size) : x;
    for (Index c = 0; c < k; ++c)
      if (q(c) == best) {
        const auto& l = chol_w_[static_cast<std::size_t>(c)];
        const Matrix<T> w = l.reconstructedMatrix();
        cross(c) = nu_(c) * direction.dot((w * m_.row(c).transpose()).transpose());
      }
    const T top = cross.maxCoeff();
    RowVector<T> out = (cross.array() == top).template cast<T>().matrix().transpose();
    if (!(out.sum() > T(0))) out = RowVector<T>::Constant(k, T(1));
    return out / out.sum();
  }

template <Real T>
auto VariationalGaussianMixture<T>::expected_log_weights() const -> Vector<T> {
    const Index k = options_.components;
    Vector<T> out(k);
    if (options_.weight_prior == WeightPrior::dirichlet_distribution) {
      const T psi0 = digamma(alpha_.sum());
      for (Index c = 0; c < k; ++c) out(c) = digamma(alpha_(c)) - psi0;
    } else {
      T tail = 0;  // sum_{j<k} E[ln(1 - v_j)]
      for (Index c = 0; c < k; ++c) {
        const T psi_sum = digamma(alpha_(c) + gamma_(c));
        out(c) = digamma(alpha_(c)) - psi_sum + tail;
        tail += digamma(gamma_(c)) - psi_sum;
      }
    }
    return out;
  }

template <Real T>
auto VariationalGaussianMixture<T>::e_step(const Collective& ranks, const MatrixCRef<T>& x, Index n, Matrix<T>& resp) const -> T {
    Matrix<T> lr = log_rho(x);
    Vector<T> norm(x.rows());
    resp.resize(x.rows(), options_.components);
    detail::parallel_chunks(detail::split_rows(x.rows(), 2048, Index(1) << 20), [&](Index, Index b, Index e) {
      norm.segment(b, e - b) = log_sum_exp_rows(lr.middleRows(b, e - b));
      resp.middleRows(b, e - b) = (lr.middleRows(b, e - b).colwise() - norm.segment(b, e - b)).array().exp().matrix();
    });
    T kl = 0;
    const Index k = options_.components;
    if (options_.weight_prior == WeightPrior::dirichlet_distribution) {
      kl += kl_divergence(Dirichlet<T>(alpha_), Dirichlet<T>(Vector<T>::Constant(k, alpha0_)));
    } else {
      for (Index c = 0; c < k; ++c) kl += kl_divergence(Beta<T>(alpha_(c), gamma_(c)), Beta<T>(T(1), alpha0_));
    }
    const Wishart<T> prior_w(nu0_, w0_);
    for (Index c = 0; c < k; ++c) {
      const Matrix<T> wc = chol_w_[static_cast<std::size_t>(c)].reconstructedMatrix();
      kl += kl_divergence(Wishart<T>(nu_(c), T(0.5) * (wc + wc.transpose())), prior_w);
      const Vector<T> diff = m_.row(c).transpose() - m0_;
      kl += T(0.5) * (T(d_) * beta0_ / beta_(c) - T(d_) + T(d_) * std::log(beta_(c) / beta0_) +
                      beta0_ * nu_(c) * diff.dot(wc * diff));
    }
    return (detail::all_sum(ranks, norm.sum()) - kl) / T(n);
  }

template <Real T>
auto VariationalGaussianMixture<T>::m_step(const Collective& ranks, const MatrixCRef<T>& x, const Matrix<T>& resp) -> void {
    const Index k = options_.components, d = d_, n = x.rows();
    // resp^T x over row chunks fixed by N, summed in chunk order; N_k in the same message
    Matrix<T> sums(k, d + 1);
    sums.leftCols(d) = detail::parallel_sum(detail::split_rows(n, 2048, 64, 256), Matrix<T>(Matrix<T>::Zero(k, d)),
                                            [&](Index, Index b, Index e, Matrix<T>& out) {
                                              out.noalias() = resp.middleRows(b, e - b).transpose() * x.middleRows(b, e - b);
                                            });
    sums.col(d) = resp.colwise().sum().transpose();
    detail::all_sum(ranks, sums);
    const Vector<T> nk = sums.col(d).array() + T(10) * std::numeric_limits<T>::epsilon();
    if (options_.weight_prior == WeightPrior::dirichlet_distribution) {
      alpha_ = nk.array() + alpha0_;
      gamma_.resize(0);
    } else {
      alpha_ = nk.array() + T(1);
      gamma_.resize(k);
      T after = 0;
      for (Index c = k - 1; c >= 0; --c) {
        gamma_(c) = alpha0_ + after;
        after += nk(c);
      }
    }
    beta_ = nk.array() + beta0_;
    nu_ = nk.array() + nu0_;
    const Matrix<T> xbar = sums.leftCols(d).array().colwise() / nk.array();
    m_ = ((beta0_ * m0_.transpose()).replicate(k, 1) + Matrix<T>(xbar.array().colwise() * nk.array())).array().colwise() /
         beta_.array();
    winv_.clear();
    chol_w_.clear();
    // the K scatters N_k S_k, one component per task (each summed over the rows in one fixed order)
    std::vector<Matrix<T>> scatters(static_cast<std::size_t>(k));
    detail::parallel_for(k, [&](Index c) {
      constexpr Index block = 256;
      Matrix<T> z;
      Matrix<T>& scatter = scatters[static_cast<std::size_t>(c)];
      scatter.setZero(d, d);
      for (Index start = 0; start < n; start += block) {
        const Index m = std::min(block, n - start);
        z = (x.middleRows(start, m).rowwise() - xbar.row(c)).array().colwise() * resp.col(c).segment(start, m).array().sqrt();
        scatter.template selfadjointView<Eigen::Lower>().rankUpdate(z.transpose());
      }
    });
    if (ranks.size() > 1) {  // the lower triangles of every rank's scatters, in one message
      std::vector<T> packed;
      packed.reserve(static_cast<std::size_t>(k * d * (d + 1) / 2));
      for (const auto& m : scatters)
        for (Index j = 0; j < d; ++j) packed.insert(packed.end(), m.col(j).data() + j, m.col(j).data() + d);
      ranks.sum(packed.data(), packed.size());
      const T* q = packed.data();
      for (auto& m : scatters)
        for (Index j = 0; j < d; ++j) std::copy(q, q + (d - j), m.col(j).data() + j), q += d - j;
    }
    for (Index c = 0; c < k; ++c) {
      Matrix<T>& scatter = scatters[static_cast<std::size_t>(c)];
      scatter = scatter.template selfadjointView<Eigen::Lower>();
      scatter.diagonal().array() += nk(c) * options_.reg_covar;
      const Vector<T> diff = xbar.row(c).transpose() - m0_;
      Matrix<T> winv = w0inv_ + scatter + (beta0_ * nk(c) / (beta0_ + nk(c))) * diff * diff.transpose();
      winv = T(0.5) * (winv + winv.transpose());
      const Matrix<T> w = winv.llt().solve(Matrix<T>::Identity(d, d));
      winv_.push_back(winv);
      chol_w_.emplace_back(T(0.5) * (w + w.transpose()));
      if (chol_w_.back().info() != Eigen::Success || !w.allFinite())
        detail::throw_domain("VariationalGaussianMixture::fit", "x",
                             "give each component a positive definite Wishart scale (reg_covar = " +
                                 detail::describe(options_.reg_covar) + ")",
                             "a singular scale for component " + std::to_string(c) +
                                 " (collinear columns or N <= D in this precision: raise reg_covar)");
    }
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::VariationalGaussianMixture)
