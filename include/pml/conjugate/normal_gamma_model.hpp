#pragma once
/// @file
/// Normal–Gamma prior on the mean and precision of univariate Gaussian data.

#include <filesystem>
#include <cmath>

#include "pml/conjugate/model_file.hpp"
#include "pml/distributions/normal_gamma.hpp"
#include "pml/distributions/student_t.hpp"

namespace pml {

/// Unknown mean and precision: \f$(\mu,\tau)\sim\mathrm{NG}(\mu_0,\kappa_0,a_0,b_0)\f$,
/// \f$x_n\sim\mathcal N(\mu,\tau^{-1})\f$. Posterior (Murphy 2007, §3): \f$\kappa_N=\kappa_0+N\f$,
/// \f$\mu_N=(\kappa_0\mu_0+N\bar x)/\kappa_N\f$, \f$a_N=a_0+N/2\f$,
/// \f$b_N=b_0+\frac12\sum(x-\bar x)^2+\frac{\kappa_0N(\bar x-\mu_0)^2}{2\kappa_N}\f$.
template <Real T = double> class NormalGammaModel {
 public:
  /// A model starting from `prior` over the mean and precision.
  explicit NormalGammaModel(const NormalGamma<T>& prior) : prior_(prior), belief_(prior) {}
  const NormalGamma<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const NormalGamma<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// Posterior after observing `x` (PRML 2.150–2.151 with an unknown mean). @throw std::domain_error for non-finite
  /// data, or data so large that μ_N or b_N (a sum of squares) is not representable in T.
  NormalGamma<T> posterior(const VectorCRef<T>& x) const {
    check_all_finite("NormalGammaModel::posterior", "data", x);
    if (x.size() == 0) return belief_;
    const T mean = x.mean();
    return from_moments(T(x.size()), mean, (x.array() - mean).square().sum(), [&] { return double(x.cwiseAbs().maxCoeff()); });
  }
  /// Sequential update: the posterior after `x` becomes the current belief.
  NormalGammaModel& update(const VectorCRef<T>& x) {
    belief_ = posterior(x);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (N, then the mean about a common reference, then the squares about the mean), and every rank absorbs
  /// all of them: the posterior of update() with the stacked data, up to rounding (on one rank, update() itself).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  NormalGammaModel& update(const Collective& ranks, const VectorCRef<T>& x) PML_RANKS_TRY {
    if (ranks.size() == 1) return update(x);
    detail::agree(ranks, [&] { check_all_finite("NormalGammaModel::update", "data", x); });
    Index n = 0;
    for (const Index c : detail::all_counts(ranks, x.size())) n += c;
    if (n == 0) return *this;
    const Matrix<T> column = x;  // N_r x 1
    const T mean = detail::column_means<T>(ranks, column, n)(0);
    const T ss = detail::all_sum(ranks, T((x.array() - mean).square().sum()));
    belief_ = from_moments(T(n), mean, ss, [&] { return detail::all_max(ranks, x.size() > 0 ? double(x.cwiseAbs().maxCoeff()) : 0.0); });
    return *this;
  } PML_RANKS_CATCH(ranks, "NormalGammaModel::update")

 private:
  // The posterior from N, the mean and the centred sum of squares of the new data; `largest()` gives the
  // largest |x| for the error message (called on every rank, only when it is thrown).
  template <class Largest> NormalGamma<T> from_moments(T n, T mean, T ss, Largest&& largest) const {
    const T k0 = belief_.kappa(), m0 = belief_.mu0();
    const T kn = k0 + n;
    const T mun = (k0 * m0 + n * mean) / kn;
    const T bn = belief_.b() + T(0.5) * ss + T(0.5) * k0 * n * (mean - m0) * (mean - m0) / kn;
    // b_N holds a sum of squares: data near the top of the range (|x| ~ 1e300 in double) overflow it
    if (!std::isfinite(double(mun)) || !std::isfinite(double(bn)))
      detail::throw_domain("NormalGammaModel::posterior", "data", "give a posterior rate b_N representable in the scalar type",
                           "largest |data| = " + detail::describe(largest()));
    return NormalGamma<T>(mun, kn, belief_.a() + T(0.5) * n, bn);
  }

 public:
  /// \f$\mathrm{St}(x|\mu_N, \frac{a_N\kappa_N}{b_N(\kappa_N+1)}, 2a_N)\f$: a Student-t with 2a_N degrees
  /// of freedom and scale \f$\sqrt{b_N(\kappa_N+1)/(a_N\kappa_N)}\f$.
  StudentT<T> posterior_predictive() const {
    const T a = belief_.a(), b = belief_.b(), k = belief_.kappa();
    return StudentT<T>(T(2) * a, belief_.mu0(), std::sqrt(b * (k + T(1)) / (a * k)));
  }
  /// \f$\log\Gamma(a_N)-\log\Gamma(a_0)+a_0\log b_0-a_N\log b_N+\frac12\log\frac{\kappa_0}{\kappa_N}-\frac N2\log2\pi\f$,
  /// summed as \f$s(a_0, \frac N2) - a_0\log(1 + \frac{\Delta b}{b_0}) - \frac N2\log\frac{b_N}{a_0} -
  /// \frac12\log(1 + \frac N{\kappa_0}) - \frac N2\log 2\pi\f$ with s = lgamma_difference_scaled() and
  /// \f$\Delta b = b_N - b_0\f$ from the centred sum of squares, so large prior parameters do not cancel.
  /// Computed in double. @throw std::domain_error for non-finite data or b_N above the double range.
  T log_marginal_likelihood(const VectorCRef<T>& x) const {
    check_all_finite("NormalGammaModel::log_marginal_likelihood", "data", x);
    if (x.size() == 0) return T(0);
    const Eigen::VectorXd xd = x.template cast<double>();
    const double n = double(x.size()), mean = xd.mean(), ss = (xd.array() - mean).square().sum();
    const double k0 = double(belief_.kappa()), m0 = double(belief_.mu0()), a0 = double(belief_.a()),
                 b0 = double(belief_.b());
    const double dm = mean - m0;
    const double delta_b = 0.5 * ss + 0.5 * (k0 * n / (k0 + n)) * dm * dm;
    const double bn = b0 + delta_b;
    if (!std::isfinite(bn))
      detail::throw_domain("NormalGammaModel::log_marginal_likelihood", "data", "give a posterior rate b_N representable in double",
                           "largest |data| = " + detail::describe(xd.cwiseAbs().maxCoeff()));
    return T(detail::lgamma_difference_scaled(a0, 0.5 * n) - a0 * std::log1p(delta_b / b0) -
             0.5 * n * (std::log(bn) - std::log(a0)) - 0.5 * std::log1p(n / k0) -
             0.5 * n * constants<double>::log_two_pi);
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "NormalGammaModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "NormalGammaModel", "{}", prior_, belief_, "NormalGammaModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static NormalGammaModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<NormalGammaModel, NormalGamma<T>>(
        path, "NormalGammaModel", "NormalGammaModel::load",
        [](const io::OptionsReader&, const NormalGamma<T>& prior) { return NormalGammaModel(prior); },
        [](NormalGammaModel& model, NormalGamma<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  NormalGamma<T> prior_, belief_;
};

}  // namespace pml
