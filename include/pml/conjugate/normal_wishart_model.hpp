#pragma once
/// @file
/// Normal–Wishart prior on the mean and precision matrix of multivariate Gaussian data.

#include <filesystem>
#include <cmath>

#include <Eigen/Cholesky>

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
  /// Posterior after the rows of `x` (N x D). @throw std::invalid_argument on a wrong width.
  NormalWishart<T> posterior(const MatrixCRef<T>& x) const {
    check_size("NormalWishartModel::posterior", "data", x.cols(), dimension(), "columns");
    check_all_finite("NormalWishartModel::posterior", "data", x);
    if (x.rows() == 0) return belief_;
    const Index d = dimension();
    const T n = T(x.rows()), k0 = belief_.kappa();
    const Vector<T> mean = x.colwise().mean().transpose();
    const Matrix<T> centred = x.rowwise() - mean.transpose();
    const Vector<T> diff = mean - belief_.mu0();
    const Matrix<T> eye = Matrix<T>::Identity(d, d);
    Matrix<T> winv = belief_.scale().llt().solve(eye);
    winv += centred.transpose() * centred + (k0 * n / (k0 + n)) * diff * diff.transpose();
    Matrix<T> wn = winv.llt().solve(eye);
    wn = T(0.5) * (wn + wn.transpose());
    return NormalWishart<T>((k0 * belief_.mu0() + n * mean) / (k0 + n), k0 + n, belief_.nu() + n, wn);
  }
  /// Sequential update: the posterior after the rows of `x` becomes the current belief.
  NormalWishartModel& update(const MatrixCRef<T>& x) {
    belief_ = posterior(x);
    return *this;
  }
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
  T log_marginal_likelihood(const MatrixCRef<T>& x) const {
    const NormalWishart<T> post = posterior(x);
    const Index d = dimension();
    const T ld0 = log_det(Eigen::LLT<Matrix<T>>(belief_.scale()));
    const T ldn = log_det(Eigen::LLT<Matrix<T>>(post.scale()));
    return -T(0.5) * T(x.rows()) * T(d) * constants<T>::log_pi + lmgamma(d, T(0.5) * post.nu()) -
           lmgamma(d, T(0.5) * belief_.nu()) + T(0.5) * post.nu() * ldn - T(0.5) * belief_.nu() * ld0 +
           T(0.5) * T(d) * (std::log(belief_.kappa()) - std::log(post.kappa()));
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "NormalWishartModel";
  /// format in io/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
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
