#pragma once
/// @file
/// Normal–Wishart prior on the mean and precision matrix of multivariate Gaussian data.

#include <filesystem>
#include <cmath>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "pml/conjugate/model_file.hpp"
#include "pml/distributions/multivariate_student_t.hpp"
#include "pml/distributions/normal_wishart.hpp"

namespace pml {

/// Unknown mean and precision matrix: \f$(\boldsymbol\mu,\Lambda)\sim\mathrm{NW}(\mathbf m_0,\kappa_0,\nu_0,W_0)\f$,
/// \f$\mathbf x_n\sim\mathcal N(\boldsymbol\mu,\Lambda^{-1})\f$. Posterior (PRML 10.60–10.63 with
/// responsibilities 1; Murphy 2007 §8): \f$\kappa_N=\kappa_0+N\f$, \f$\nu_N=\nu_0+N\f$,
/// \f$\mathbf m_N=(\kappa_0\mathbf m_0+N\bar{\mathbf x})/\kappa_N\f$,
/// \f$W_N^{-1}=W_0^{-1}+S+\frac{\kappa_0N}{\kappa_0+N}(\bar{\mathbf x}-\mathbf m_0)(\bar{\mathbf x}-\mathbf m_0)^T\f$.
template <Real T = double> class NormalWishartModel {
 public:
  /// A model starting from `prior` over the mean and precision matrix.
  explicit NormalWishartModel(const NormalWishart<T>& prior) : prior_(prior), belief_(prior) {}
  Index dimension() const noexcept { return prior_.dimension(); }  ///< dimension D
  const NormalWishart<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const NormalWishart<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// Posterior after the rows of `x` (N x D). @throw std::invalid_argument on a wrong width; std::domain_error
  /// for non-finite data or a scatter matrix not representable in T (data near the top of the range).
  NormalWishart<T> posterior(const MatrixCRef<T>& x) const {
    check_size("NormalWishartModel::posterior", "data", x.cols(), dimension(), "columns");
    check_all_finite("NormalWishartModel::posterior", "data", x);
    if (x.rows() == 0) return belief_;
    const Vector<T> mean = x.colwise().mean().transpose();
    const Matrix<T> centred = x.rowwise() - mean.transpose();
    return from_moments(T(x.rows()), mean, centred.transpose() * centred, [&] { return double(x.cwiseAbs().maxCoeff()); });
  }
  /// Sequential update: the posterior after the rows of `x` becomes the current belief.
  NormalWishartModel& update(const MatrixCRef<T>& x) {
    belief_ = posterior(x);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (N, the column means about a common reference row, then the D x D scatter about them), and every rank absorbs
  /// all of them: the posterior of update() with the stacked data, up to rounding (on one rank, update() itself).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  /// A rank without rows may pass any width.
  NormalWishartModel& update(const Collective& ranks, const MatrixCRef<T>& x) PML_RANKS_TRY {
    if (ranks.size() == 1) return update(x);
    const Index d = dimension();
    detail::agree(ranks, [&] {
      if (x.rows() > 0) check_size("NormalWishartModel::update", "data", x.cols(), d, "columns");
      check_all_finite("NormalWishartModel::update", "data", x);
    });
    const Matrix<T> no_rows(0, d);
    const MatrixCRef<T> xs = x.rows() == 0 ? MatrixCRef<T>(no_rows) : MatrixCRef<T>(x);
    Index n = 0;
    for (const Index c : detail::all_counts(ranks, xs.rows())) n += c;
    if (n == 0) return *this;
    const Vector<T> mean = detail::column_means<T>(ranks, xs, n).transpose();
    const Matrix<T> centred = xs.rowwise() - mean.transpose();
    Matrix<T> scatter = centred.transpose() * centred;
    detail::all_sum(ranks, scatter);
    belief_ = from_moments(T(n), mean, scatter, [&] { return detail::all_max(ranks, xs.size() > 0 ? double(xs.cwiseAbs().maxCoeff()) : 0.0); });
    return *this;
  } PML_RANKS_CATCH(ranks, "NormalWishartModel::update")

 private:
  // The posterior from N, the mean and the scatter about it of the new data; `largest()` gives the largest
  // |x| for the error message (called on every rank, only when it is thrown).
  template <class Largest> NormalWishart<T> from_moments(T n, const Vector<T>& mean, const Matrix<T>& scatter, Largest&& largest) const {
    const Index d = dimension();
    const T k0 = belief_.kappa();
    const Vector<T> diff = mean - belief_.mu0();
    const Matrix<T> eye = Matrix<T>::Identity(d, d);
    Matrix<T> winv = belief_.scale().llt().solve(eye);
    winv += scatter + (k0 * n / (k0 + n)) * diff * diff.transpose();
    // W_N^-1 holds the scatter (sums of squares): data near the top of the range (|x| ~ 1e300 in double)
    // overflow it
    if (!mean.allFinite() || !winv.allFinite())
      detail::throw_domain("NormalWishartModel::posterior", "data", "give a scatter matrix representable in the scalar type",
                           "largest |data| = " + detail::describe(largest()));
    Matrix<T> wn = winv.llt().solve(eye);
    wn = T(0.5) * (wn + wn.transpose());
    return NormalWishart<T>((k0 * belief_.mu0() + n * mean) / (k0 + n), k0 + n, belief_.nu() + n, wn);
  }

 public:
  /// \f$\mathrm{St}(\mathbf x|\mathbf m_N, \frac{\kappa_N+1}{\kappa_N(\nu_N-D+1)}W_N^{-1}, \nu_N-D+1)\f$
  /// (PRML 10.81–10.82; Murphy 2007 eq. 232).
  MultivariateStudentT<T> posterior_predictive() const {
    const Index d = dimension();
    const T dof = belief_.nu() - T(d) + T(1);
    Matrix<T> winv = belief_.scale().llt().solve(Matrix<T>::Identity(d, d));
    winv = T(0.5) * (winv + winv.transpose());
    return MultivariateStudentT<T>(dof, belief_.mu0(), (belief_.kappa() + T(1)) / (belief_.kappa() * dof) * winv);
  }
  /// \f$-\frac{ND}2\log\pi + \log\Gamma_D(\frac{\nu_N}2) - \log\Gamma_D(\frac{\nu_0}2) +
  /// \frac{\nu_N}2\log|W_N| - \frac{\nu_0}2\log|W_0| + \frac D2\log\frac{\kappa_0}{\kappa_N}\f$ (Murphy 2007 eq. 234).
  ///
  /// Summed without cancellation for large ν₀ and κ₀ (computed in double): with S' the centred scatter plus
  /// the mean-shift term, \f$\frac{\nu_N}2\log|W_N| - \frac{\nu_0}2\log|W_0| = -\frac{\nu_0}2\log|I + L_0^TS'L_0|
  /// - \frac N2\log|\tfrac{2}{\nu_0}W_N^{-1}| - \frac{ND}2\log\frac{\nu_0}2\f$ (W₀ = L₀L₀ᵀ; the first log-determinant as
  /// the sum of log1p of the eigenvalues of \f$L_0^TS'L_0\f$), and the Γ_D ratio is
  /// \f$\sum_j[\frac N2\log x_j + s(x_j, \frac N2)]\f$ with \f$x_j = \frac{\nu_0+1-j}2\f$, s = lgamma_difference_scaled().
  /// @throw std::invalid_argument on a wrong width; std::domain_error for non-finite data or a scatter matrix
  /// above the double range.
  T log_marginal_likelihood(const MatrixCRef<T>& x) const {
    check_size("NormalWishartModel::log_marginal_likelihood", "data", x.cols(), dimension(), "columns");
    check_all_finite("NormalWishartModel::log_marginal_likelihood", "data", x);
    if (x.rows() == 0) return T(0);
    const Index d = dimension();
    const Eigen::MatrixXd xd = x.template cast<double>();
    const double n = double(x.rows()), k0 = double(belief_.kappa()), nu0 = double(belief_.nu()), dd = double(d);
    const Eigen::VectorXd mean = xd.colwise().mean().transpose();
    const Eigen::MatrixXd centred = xd.rowwise() - mean.transpose();
    const Eigen::VectorXd diff = mean - belief_.mu0().template cast<double>();
    const Eigen::MatrixXd scatter = centred.transpose() * centred + (k0 * n / (k0 + n)) * diff * diff.transpose();
    if (!scatter.allFinite())
      detail::throw_domain("NormalWishartModel::log_marginal_likelihood", "data",
                           "give a scatter matrix representable in double",
                           "largest |data| = " + detail::describe(xd.cwiseAbs().maxCoeff()));
    const Eigen::MatrixXd w0 = belief_.scale().template cast<double>();
    const Eigen::LLT<Eigen::MatrixXd> l0(w0);
    const Eigen::MatrixXd lower = l0.matrixL();
    const Eigen::MatrixXd eye = Eigen::MatrixXd::Identity(d, d);
    // log|I + A|, A = L0ᵀ S' L0 symmetric PSD, as Σ log1p(eigenvalues of A): I + A would round A away when
    // the prior is strong (A ~ 1/ν₀)
    Eigen::MatrixXd a = lower.transpose() * scatter * lower;
    a = 0.5 * (a + a.transpose());
    const Eigen::VectorXd lambda = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(a, Eigen::EigenvaluesOnly).eigenvalues();
    double log_det_growth = 0;
    for (Index i = 0; i < d; ++i) log_det_growth += std::log1p(std::max(lambda(i), 0.0));
    Eigen::MatrixXd winv_n = l0.solve(eye) + scatter;
    winv_n = (0.5 * (winv_n + winv_n.transpose())) * (2.0 / nu0);
    const double log_det_scaled = log_det(Eigen::LLT<Eigen::MatrixXd>(winv_n));
    double gamma_part = 0;
    for (Index j = 1; j <= d; ++j) {
      const double xj = 0.5 * (nu0 + 1 - double(j));
      gamma_part += 0.5 * n * std::log1p(double(1 - j) / nu0) + detail::lgamma_difference_scaled(xj, 0.5 * n);
    }
    return T(-0.5 * n * dd * constants<double>::log_pi + gamma_part - 0.5 * nu0 * log_det_growth -
             0.5 * n * log_det_scaled - 0.5 * dd * std::log1p(n / k0));
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "NormalWishartModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "NormalWishartModel", "{}", prior_, belief_, "NormalWishartModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static NormalWishartModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<NormalWishartModel, NormalWishart<T>>(
        path, "NormalWishartModel", "NormalWishartModel::load",
        [](const io::OptionsReader&, const NormalWishart<T>& prior) { return NormalWishartModel(prior); },
        [](NormalWishartModel& model, NormalWishart<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  NormalWishart<T> prior_, belief_;
};

}  // namespace pml
