#pragma once
/// @file
/// Probabilistic PCA (Tipping & Bishop 1999): closed-form maximum likelihood and EM.

#include "pml/core/enum_names.hpp"
#include "pml/core/instantiation.hpp"
#include <cmath>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/LU>

#include "pml/core/collective.hpp"
#include "pml/core/random.hpp"
#include "pml/serialization/state.hpp"
#include "pml/models/latent/pca.hpp"

namespace pml {

/// How ProbabilisticPCA finds the maximum-likelihood parameters.
enum class PPCASolver {
  closed_form,  ///< eigen-decomposition of S (Tipping & Bishop 1999, eq. 7–8; PRML 12.45–12.46)
  em,           ///< EM iterations on S (PRML 12.58–12.59), from the eigen-solution in a random rotation (without missing values)
};
/// The names of the values, in order (model files and the command line; see core/enum_names.hpp).
constexpr std::array<std::string_view, 2> enum_names(PPCASolver) { return {"closed_form", "em"}; }

/// Options of ProbabilisticPCA.
template <Real T = double> struct ProbabilisticPCAOptions {
  Index components = 1;  ///< latent dimension M (< D)
  PPCASolver solver = PPCASolver::closed_form;  ///< closed_form (eigen-decomposition) or em
  int max_iterations = 1000;  ///< EM only
  /// EM only: stop when the log-likelihood changes by at most tolerance · N · D between iterations (a change
  /// per row and dimension, independent of the data's units) and W, σ² by at most √tolerance relatively, or
  /// when W and σ² change only at rounding level (with missing data: log-likelihood change ≤ tolerance per
  /// observed entry)
  T tolerance = T(1e-10);
  bool unbiased = false;      ///< S divided by N - 1 (scikit-learn's PCA) instead of N (the true MLE)

  /// The options a model file stores, declared once for save() and load() (serialization/state.hpp).
  template <class O, class V> static void fields(O& o, V&& v) {
    v("components", o.components, io::as_size);
    v("solver", o.solver);
    v("max_iterations", o.max_iterations);
    v("tolerance", o.tolerance);
    v("unbiased", o.unbiased);
  }
};

/// Posterior of the latent variables: \f$p(\mathbf z|\mathbf x) = \mathcal N(M^{-1}W^T(\mathbf x-\boldsymbol\mu),
/// \sigma^2M^{-1})\f$, \f$M = W^TW + \sigma^2I\f$ (PRML 12.42).
template <Real T> struct LatentPosterior {
  Matrix<T> mean;        ///< N x M posterior means
  Matrix<T> covariance;  ///< M x M, shared by every row
};

/// Probabilistic PCA: \f$\mathbf x = W\mathbf z + \boldsymbol\mu + \boldsymbol\epsilon\f$,
/// \f$\mathbf z\sim\mathcal N(0, I_M)\f$, \f$\boldsymbol\epsilon\sim\mathcal N(0,\sigma^2I_D)\f$, so
/// \f$p(\mathbf x) = \mathcal N(\boldsymbol\mu, C)\f$ with \f$C = WW^T + \sigma^2 I\f$ (PRML 12.33–12.36).
/// The closed form is \f$W = U_M(L_M - \sigma^2I)^{1/2}\f$, \f$\sigma^2 = \frac{1}{D-M}\sum_{i>M}\lambda_i\f$;
/// EM reaches the same log-likelihood (W up to a rotation). With the EM solver, NaN entries of the data
/// are treated as missing at random and integrated out.
/// Thread safety: the const members (queries, save()) may run on one fitted model from many threads at once,
/// each with its own Rng; fit() and the other non-const members need the model to themselves
/// (docs/architecture.md).
template <Real T = double> class ProbabilisticPCA {
 public:
  using Options = ProbabilisticPCAOptions<T>;  ///< The options type.
  using Scalar = T;  ///< The scalar type (float or double), as in Eigen.
  /// A model with the given options (fit() it next). @throw std::domain_error naming the option whose value is invalid.
  explicit ProbabilisticPCA(const Options& options = {}) : options_(options) {
    if (options.components <= 0)
      detail::throw_domain("ProbabilisticPCA", "components", "be positive", std::to_string(options.components));
    if (options.max_iterations <= 0)
      detail::throw_domain("ProbabilisticPCA", "max_iterations", "be positive", std::to_string(options.max_iterations));
    check_nonnegative("ProbabilisticPCA", "tolerance", options.tolerance);
  }

  /// Fits W, μ, σ² to the rows of `x` (EM draws its start from `rng`).
  /// @throw std::invalid_argument unless components < D and N > 1.
  ProbabilisticPCA& fit(const MatrixCRef<T>& x, Rng& rng) { return fit(Collective::single(), x, rng); }
  /// fit() on rows spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own rows `x` (N_r x D; N_r = 0 allowed, then any width) and the same generator state. The
  /// closed form and EM on S take the column means and the D x D scatter from the ranks once (EM then runs on
  /// S alone); EM with missing values exchanges its sufficient statistics (D (M + 1)(M + 2) numbers and the
  /// log-likelihood, then the squared residuals) once per iteration. Every rank ends with the same W, μ, σ²,
  /// equal to fit() on the stacked rows up to rounding (bit for bit on one rank). @throw as fit(), on every rank.
  ProbabilisticPCA& fit(const Collective& ranks, const MatrixCRef<T>& x_rows, Rng& rng);
  /// fit() with a generator seeded from `seed`.
  ProbabilisticPCA& fit(const MatrixCRef<T>& x, std::uint64_t seed = 0) {
    Rng rng(seed);
    return fit(x, rng);
  }
  /// The sharded fit() with a generator seeded from `seed` (the same on every rank).
  ProbabilisticPCA& fit(const Collective& ranks, const MatrixCRef<T>& x, std::uint64_t seed = 0) {
    Rng rng(seed);
    return fit(ranks, x, rng);
  }

  /// Log-likelihood of each row, \f$\log\mathcal N(\mathbf x_n|\boldsymbol\mu, C)\f$, by the Woodbury identity
  /// (cost N·D·M). Rows with NaN entries get the marginal likelihood of their observed entries.
  Vector<T> score_samples(const MatrixCRef<T>& x) const {
    require_fitted("ProbabilisticPCA::score_samples", x.cols());
    // row chunks fixed by N, on several threads (core/parallel.hpp): the same bits for any thread count
    return detail::map_rows<Vector<T>>(x.rows(), [&](Index begin, Index m) { return score_rows(x.middleRows(begin, m)); });
  }
  /// Total log-likelihood \f$\sum_n\log p(\mathbf x_n)\f$ (PRML 12.43).
  T log_likelihood(const MatrixCRef<T>& x) const { return score_samples(x).sum(); }
  /// Mean log-likelihood per row (scikit-learn's PCA.score with `unbiased = true`). @throw std::invalid_argument for x with no rows (score_samples gives an empty vector).
  T score(const MatrixCRef<T>& x) const { return pml::detail::mean_score("ProbabilisticPCA::score", score_samples(x)); }
  /// Posterior of z given each row (rows must be complete; see posterior_observed() for rows with NaN).
  LatentPosterior<T> posterior(const MatrixCRef<T>& x) const;
  /// Posterior of z for one row (length D) that may have missing (NaN) entries, from its observed
  /// entries only: the same LatentPosterior as posterior() (mean 1 x M, covariance M x M).
  LatentPosterior<T> posterior_observed(const VectorCRef<T>& row) const {
    require_fitted("ProbabilisticPCA::posterior_observed", row.size());
    const RowPosterior p = observed_row(row);
    return {p.mean.transpose(), p.covariance};
  }
  /// Posterior means of z (N x M).
  Matrix<T> transform(const MatrixCRef<T>& x) const { return posterior(x).mean; }
  /// `n` draws from the model, as rows.
  Matrix<T> sample(Rng& rng, Index n) const;
  /// \f$C = WW^T + \sigma^2I\f$.
  Matrix<T> covariance() const {
    Matrix<T> c = w_ * w_.transpose();
    c.diagonal().array() += sigma2_;
    return c;
  }

  const Matrix<T>& loadings() const noexcept { return w_; }  ///< W, D x M
  const Vector<T>& mean() const noexcept { return mean_; }  ///< μ, the data mean
  T noise_variance() const noexcept { return sigma2_; }  ///< σ², the isotropic noise variance
  int iterations() const noexcept { return iterations_; }  ///< EM iterations run by the last fit() (0 for the closed form)
  /// Log-likelihood of the training data per EM iteration (EM only; never decreases).
  const std::vector<T>& log_likelihood_history() const noexcept { return history_; }

  const Options& options() const noexcept { return options_; }  ///< The options the model was built with.

  /// Writes the fitted model to `path` (model type "ProbabilisticPCA"; format in serialization/model_file.hpp).
  /// @throw std::logic_error if not fitted; std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    if (mean_.size() == 0) throw std::logic_error("ProbabilisticPCA::save: the model is not fitted; call fit() first");
    io::save_model(*this, path, format, "ProbabilisticPCA::save");
  }
  /// A model saved by save() (bit-identical scores and posteriors). @throw std::runtime_error naming the
  /// path for a missing, truncated, corrupt or wrong-type file.
  static ProbabilisticPCA load(const std::filesystem::path& path) { return io::load_model<ProbabilisticPCA>(path, "ProbabilisticPCA::load"); }
  static constexpr const char* model_name = "ProbabilisticPCA";  ///< The model type in its files' headers.

 private:
  // score_samples() of a block of rows (its checks done)
  Vector<T> score_rows(const MatrixCRef<T>& x) const;
  friend struct io::StateAccess;
  // The fitted state a model file holds (serialization/state.hpp): save() and load() both run this.
  template <class Self, class Archive> static void state(Self& self, Archive& a) {
    a.vector("mean", self.mean_);
    a.matrix("loadings", self.w_, self.mean_.size(), self.options_.components);  // W, D x M
    a.scalars("noise_variance", self.sigma2_);
    a.require(self.sigma2_ > T(0), "the noise variance is not positive");
  }

  Matrix<T> m_matrix() const {
    Matrix<T> m = w_.transpose() * w_;
    m.diagonal().array() += sigma2_;
    return m;
  }
  static T log_det_of(const Eigen::LLT<Matrix<T>>& l) { return T(2) * l.matrixLLT().diagonal().array().log().sum(); }

  // S = U diag(lambda) U^T in the thin eigenbasis of detail::covariance_eigen (U is D x k with k = D for
  // N >= D, otherwise k <= max(N, M) columns whose trailing eigenvalues are 0): S W and tr(S) without a
  // D x D matrix.
  struct ThinCovariance {
    const Matrix<T>& u;
    Vector<T> lambda;
    T trace;
    Matrix<T> times(const Matrix<T>& w) const { return u * (lambda.asDiagonal() * (u.transpose() * w)); }
  };

  // Training log-likelihood from S alone: -N/2 (D log 2pi + log|C| + tr(C^{-1} S)) (PRML 12.44).
  T log_likelihood_from_s(const ThinCovariance& s) const;

  // EM on S (PRML 12.58-12.59). Scale-free: the start is in the data's units, W = U_M diag(sqrt(lambda_M -
  // sigma^2)) R (the leading eigenvectors of S, R a random rotation drawn from `rng`) and sigma^2 the mean
  // discarded eigenvalue (Tipping & Bishop's stationary point, so EM confirms it in a few iterations); the stopping rule is relative: the log-likelihood changes by at most
  // tolerance per row and dimension (a difference of log-likelihoods does not depend on the units) and W and
  // sigma^2 by at most sqrt(tolerance) relatively, or W and sigma^2 change only at the rounding level of T.
  void fit_em(const detail::CovarianceEigen<T>& e, T noise, Rng& rng);

  // Posterior of z and the marginal log-likelihood for one row, using only its observed entries.
  struct RowPosterior {
    Vector<T> mean;        // E[z]
    Matrix<T> covariance;  // sigma^2 M_O^{-1}
    T log_likelihood;
  };
  RowPosterior observed_row(const Vector<T>& row) const;

  // EM with missing entries (Tipping & Bishop 1999, appendix; Ilin & Raiko 2010): the E-step uses each
  // row's observed entries; the M-step updates [W mu] jointly row by row of the data dimension with the
  // augmented latent (z, 1), so the observed-data likelihood never decreases. It runs on the data centred by
  // the observed column means (the squared residuals are never expanded about the origin); this rank's rows
  // are `x`, `n` rows in all.
  void fit_em_missing(const Collective& ranks, const MatrixCRef<T>& x, Index n_all, Rng& rng);

  void require_fitted(const char* function, Index columns) const {
    if (mean_.size() == 0) throw std::logic_error(std::string(function) + ": the model is not fitted; call fit() first");
    check_size(function, "x", columns, mean_.size(), "columns");
  }

  Options options_;
  Vector<T> mean_;
  Matrix<T> w_;
  T sigma2_ = 0;
  Index n_ = 0;
  int iterations_ = 0;
  std::vector<T> history_;
};

// ProbabilisticPCA's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto ProbabilisticPCA<T>::fit(const Collective& ranks, const MatrixCRef<T>& x_rows, Rng& rng) -> ProbabilisticPCA& PML_RANKS_TRY {
    const Index m = options_.components, d = detail::shared_columns(ranks, "ProbabilisticPCA::fit", x_rows.rows(), x_rows.cols());
    if (m >= d)
      detail::throw_shape("ProbabilisticPCA::fit", "components = " + std::to_string(m) + " must be below D = " + std::to_string(d) +
                                                       " (the columns of x)");
    const Matrix<T> no_rows(0, d);  // an empty shard of another width is seen as 0 x D
    const MatrixCRef<T> x = x_rows.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(x_rows);
    Index n = x.rows();
    if (ranks.size() > 1) {
      n = 0;
      for (const Index c : detail::all_counts(ranks, x.rows())) n += c;
    }
    if (detail::all_max(ranks, x.array().isNaN().any() ? 1.0 : 0.0) > 0) {
      if (options_.solver != PPCASolver::em)
        detail::throw_domain("ProbabilisticPCA::fit", "x", "have no missing values (NaN) with the closed-form solver",
                             "NaN entries; use solver = PPCASolver::em, which treats them as missing");
      fit_em_missing(ranks, x, n, rng);
      return *this;
    }
    auto e = detail::covariance_eigen<T>(ranks, "ProbabilisticPCA::fit", x, options_.unbiased ? 1 : 0, m);
    mean_ = e.mean;
    n_ = n;
    history_.clear();
    iterations_ = 0;
    // the maximum-likelihood noise variance is the mean discarded eigenvalue, for either solver: when it is 0
    // (e.g. N <= M + 1 rows) the likelihood is unbounded and EM would run sigma^2 into 0
    const T noise = e.eigenvalues.tail(d - m).mean();
    if (!(noise > T(0)))
      detail::throw_domain("ProbabilisticPCA::fit", "x", "have variance outside the leading " + std::to_string(m) + " components",
                           "noise variance 0 (the " + std::to_string(n) + " rows lie in an M-dimensional subspace)");
    if (options_.solver == PPCASolver::closed_form) {
      sigma2_ = noise;
      w_ = e.eigenvectors.leftCols(m) * (e.eigenvalues.head(m).array() - sigma2_).max(T(0)).sqrt().matrix().asDiagonal();
    } else {
      fit_em(e, noise, rng);
    }
    return *this;
  } PML_RANKS_CATCH(ranks, "ProbabilisticPCA::fit")

template <Real T>
auto ProbabilisticPCA<T>::posterior(const MatrixCRef<T>& x) const -> LatentPosterior<T> {
    require_fitted("ProbabilisticPCA::posterior", x.cols());
    check_all_finite("ProbabilisticPCA::posterior", "x", x);
    const Eigen::LLT<Matrix<T>> mchol(m_matrix());
    LatentPosterior<T> p;
    p.mean = mchol.solve(w_.transpose() * (x.rowwise() - mean_.transpose()).transpose()).transpose();
    p.covariance = sigma2_ * mchol.solve(Matrix<T>::Identity(w_.cols(), w_.cols()));
    return p;
  }

template <Real T>
auto ProbabilisticPCA<T>::sample(Rng& rng, Index n) const -> Matrix<T> {
    if (mean_.size() == 0) throw std::logic_error("ProbabilisticPCA::sample: the model is not fitted; call fit() first");
    Matrix<T> z(n, w_.cols()), eps(n, mean_.size());
    random::fill_normal(rng, z);
    random::fill_normal(rng, eps);
    Matrix<T> x = z * w_.transpose() + std::sqrt(sigma2_) * eps;
    x.rowwise() += mean_.transpose();
    return x;
  }

template <Real T>
auto ProbabilisticPCA<T>::score_rows(const MatrixCRef<T>& x) const -> Vector<T> {
    if (x.rows() == 0) return Vector<T>();  // no rows, no scores (and no triangular solve of an empty matrix)
    if (x.array().isNaN().any()) {
      Vector<T> out(x.rows());
      for (Index i = 0; i < x.rows(); ++i) out(i) = observed_row(x.row(i).transpose()).log_likelihood;
      return out;
    }
    const Index d = mean_.size();
    const Matrix<T> xc = x.rowwise() - mean_.transpose();
    const Eigen::LLT<Matrix<T>> mchol(m_matrix());
    // C^{-1} = (I - W M^{-1} W^T) / s2 ; |C| = s2^{D-M} |M|
    Matrix<T> proj = xc * w_;  // N x M
    mchol.matrixU().template solveInPlace<Eigen::OnTheRight>(proj);
    const Vector<T> quad = (xc.rowwise().squaredNorm() - proj.rowwise().squaredNorm()) / sigma2_;
    const T log_det = T(d - w_.cols()) * std::log(sigma2_) + log_det_of(mchol);
    return (-T(0.5) * (quad.array() + T(d) * constants<T>::log_two_pi + log_det)).matrix();
  }

template <Real T>
auto ProbabilisticPCA<T>::log_likelihood_from_s(const ThinCovariance& s) const -> T {
    const Index d = mean_.size();
    const Eigen::LLT<Matrix<T>> mchol(m_matrix());
    const Matrix<T> minv_wt = mchol.solve(w_.transpose());                       // M x D
    const T trace = (s.trace - s.times(w_).cwiseProduct(minv_wt.transpose()).sum()) / sigma2_;
    const T log_det = T(d - w_.cols()) * std::log(sigma2_) + log_det_of(mchol);
    return -T(0.5) * T(n_) * (T(d) * constants<T>::log_two_pi + log_det + trace);
  }

template <Real T>
auto ProbabilisticPCA<T>::fit_em(const detail::CovarianceEigen<T>& e, T noise, Rng& rng) -> void {
    const Index d = mean_.size(), m = options_.components, k = e.eigenvectors.cols();
    const ThinCovariance s{e.eigenvectors, e.eigenvalues.head(k), e.eigenvalues.sum()};
    Matrix<T> g(m, m);
    random::fill_normal(rng, g);
    const Matrix<T> rotation = Eigen::HouseholderQR<Matrix<T>>(g).householderQ();
    // a direction without variance above the noise starts at the noise level (EM cannot leave a zero column)
    const Vector<T> sd = e.eigenvalues.head(m).unaryExpr([noise](T v) { return std::sqrt(v > noise ? v - noise : noise); });
    w_ = e.eigenvectors.leftCols(m) * sd.asDiagonal() * rotation;
    sigma2_ = std::max(noise, std::numeric_limits<T>::min());
    const T rounding = T(16) * std::numeric_limits<T>::epsilon();
    const T parameter_tolerance = std::sqrt(options_.tolerance);
    T previous = -std::numeric_limits<T>::infinity();
    for (iterations_ = 0; iterations_ < options_.max_iterations;) {
      // PRML 12.58-12.59 with S: W_new = S W (s2 I + M^{-1} W^T S W)^{-1},
      // s2_new = tr(S - S W M^{-1} W_new^T) / D
      const Eigen::LLT<Matrix<T>> mchol(m_matrix());
      const Matrix<T> sw = s.times(w_);
      Matrix<T> inner = mchol.solve(w_.transpose() * sw);
      inner.diagonal().array() += sigma2_;
      const Matrix<T> w_new = inner.transpose().partialPivLu().solve(sw.transpose()).transpose();  // inner is not symmetric
      const T sigma2_new =
          std::max((s.trace - (sw * mchol.solve(w_new.transpose())).trace()) / T(d), std::numeric_limits<T>::min());
      const T change = std::max((w_new - w_).norm() / w_new.norm(), std::abs(sigma2_new - sigma2_) / sigma2_new);
      w_ = w_new;
      sigma2_ = sigma2_new;
      ++iterations_;
      const T ll = log_likelihood_from_s(s);
      history_.push_back(ll);
      if (change <= rounding || (change <= parameter_tolerance && std::abs(ll - previous) <= options_.tolerance * T(n_) * T(d))) break;
      previous = ll;
    }
  }

template <Real T>
auto ProbabilisticPCA<T>::observed_row(const Vector<T>& row) const -> RowPosterior {
    const Index d = row.size(), m = w_.cols();
    std::vector<Index> seen;
    for (Index j = 0; j < d; ++j)
      if (!std::isnan(row(j))) seen.push_back(j);
    const Index o = static_cast<Index>(seen.size());
    Matrix<T> wo(o, m);
    Vector<T> r(o);
    for (Index a = 0; a < o; ++a) {
      wo.row(a) = w_.row(seen[static_cast<std::size_t>(a)]);
      r(a) = row(seen[static_cast<std::size_t>(a)]) - mean_(seen[static_cast<std::size_t>(a)]);
    }
    Matrix<T> mo = wo.transpose() * wo;
    mo.diagonal().array() += sigma2_;
    const Eigen::LLT<Matrix<T>> l(mo);
    RowPosterior p;
    const Vector<T> wr = wo.transpose() * r;
    p.mean = l.solve(wr);
    p.covariance = sigma2_ * l.solve(Matrix<T>::Identity(m, m));
    const T quad = (r.squaredNorm() - wr.dot(p.mean)) / sigma2_;
    const T log_det = T(o - m) * std::log(sigma2_) + log_det_of(l);
    p.log_likelihood = -T(0.5) * (quad + T(o) * constants<T>::log_two_pi + log_det);
    return p;
  }

template <Real T>
auto ProbabilisticPCA<T>::fit_em_missing(const Collective& ranks, const MatrixCRef<T>& x, Index n_all, Rng& rng) -> void {
    const char* f = "ProbabilisticPCA::fit";
    const Index n = x.rows(), d = x.cols(), m = options_.components;
    n_ = n_all;
    detail::agree(ranks, [&] {
      if ((x.array().abs() == std::numeric_limits<T>::infinity()).any()) detail::throw_domain(f, "x", "have finite or NaN (missing) entries", "inf");
    });
    // the observed column means: [sums, counts] over the ranks
    Vector<T> sums = Vector<T>::Zero(2 * d);
    for (Index j = 0; j < d; ++j)
      for (Index i = 0; i < n; ++i)
        if (!std::isnan(x(i, j))) {
          sums(j) += x(i, j);
          sums(d + j) += 1;
        }
    detail::all_sum(ranks, sums);
    for (Index j = 0; j < d; ++j)
      if (sums(d + j) == 0)
        detail::throw_domain(f, "x", "have an observed value in every column", "column " + std::to_string(j) + " entirely missing");
    const Vector<T> count = sums.tail(d);
    const Vector<T> centre = sums.head(d).array() / count.array();
    const T observed = count.sum();
    const auto value = [&](Index i, Index j) { return x(i, j) - centre(j); };  // centred (NaN stays NaN)
    T total_var = 0;
    for (Index j = 0; j < d; ++j)
      for (Index i = 0; i < n; ++i)
        if (!std::isnan(x(i, j))) total_var += value(i, j) * value(i, j);
    total_var = detail::all_sum(ranks, total_var);
    mean_ = Vector<T>::Zero(d);  // about the centre until the end
    w_.resize(d, m);
    random::fill_normal(rng, w_);
    w_ *= std::sqrt(total_var / observed);
    sigma2_ = std::max(total_var / observed, std::numeric_limits<T>::min());
    history_.clear();
    T previous = -std::numeric_limits<T>::infinity();
    const Index a = m + 1;  // the augmented latent (z, 1)
    // one message per E-step: the D (M + 1) x (M + 1) Gram matrices, the D x (M + 1) cross terms, the log-likelihood
    Vector<T> stats(d * a * a + d * a + 1);
    std::vector<Vector<T>> ez(static_cast<std::size_t>(n));
    std::vector<Matrix<T>> ezz(static_cast<std::size_t>(n));
    Vector<T> row(d);
    for (iterations_ = 0; iterations_ < options_.max_iterations;) {
      stats.setZero();
      Eigen::Map<Matrix<T>> cross(stats.data() + d * a * a, d, a);
      for (Index i = 0; i < n; ++i) {
        for (Index j = 0; j < d; ++j) row(j) = value(i, j);
        const RowPosterior p = observed_row(row);
        stats(stats.size() - 1) += p.log_likelihood;
        Vector<T> za(a);
        za << p.mean, T(1);
        Matrix<T> zza = za * za.transpose();
        zza.topLeftCorner(m, m) += p.covariance;
        for (Index j = 0; j < d; ++j) {
          if (std::isnan(row(j))) continue;
          Eigen::Map<Matrix<T>>(stats.data() + j * a * a, a, a) += zza;
          cross.row(j) += row(j) * za.transpose();
        }
        ez[static_cast<std::size_t>(i)] = za;
        ezz[static_cast<std::size_t>(i)] = zza;
      }
      detail::all_sum(ranks, stats);
      const T ll = stats(stats.size() - 1);
      history_.push_back(ll);
      ++iterations_;
      if (std::abs(ll - previous) <= options_.tolerance * observed) break;  // per observed entry: unit-free
      previous = ll;
      // M-step: [W_j mu_j] = cross_j gram_j^{-1}; then sigma^2 from the expected squared residuals
      Matrix<T> wm(d, a);
      for (Index j = 0; j < d; ++j)
        wm.row(j) = Eigen::Map<const Matrix<T>>(stats.data() + j * a * a, a, a).ldlt().solve(cross.row(j).transpose()).transpose();
      T sse = 0;
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) {
          if (std::isnan(x(i, j))) continue;
          const T v = value(i, j);
          const auto wj = wm.row(j);
          sse += v * v - T(2) * v * wj.dot(ez[static_cast<std::size_t>(i)]) + wj * ezz[static_cast<std::size_t>(i)] * wj.transpose();
        }
      w_ = wm.leftCols(m);
      mean_ = wm.col(m);
      sigma2_ = std::max(detail::all_sum(ranks, sse) / observed, std::numeric_limits<T>::min());
    }
    mean_ += centre;
  }


}  // namespace pml

PML_EXTERN_TEMPLATE(pml::ProbabilisticPCA)
