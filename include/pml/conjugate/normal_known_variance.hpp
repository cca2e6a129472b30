#pragma once
/// @file
/// Normal prior on the mean of Gaussian data with known variance, and Gamma prior on the precision
/// of Gaussian data with known mean.

#include <filesystem>
#include <cmath>

#include "pml/conjugate/model_file.hpp"
#include "pml/core/check.hpp"
#include "pml/distributions/gamma.hpp"
#include "pml/distributions/normal.hpp"
#include "pml/distributions/student_t.hpp"

namespace pml {

/// Normal mean, known variance: \f$\mu\sim\mathcal N(\mu_0,\sigma_0^2)\f$,
/// \f$x_n|\mu\sim\mathcal N(\mu,\sigma^2)\f$. Posterior \f$\mathcal N(\mu_N,\sigma_N^2)\f$ with
/// \f$\frac1{\sigma_N^2} = \frac1{\sigma_0^2}+\frac N{\sigma^2}\f$,
/// \f$\mu_N = \sigma_N^2(\mu_0/\sigma_0^2 + N\bar x/\sigma^2)\f$ (PRML 2.141–2.142).
template <Real T = double> class NormalKnownVarianceModel {
 public:
  /// @param prior prior on the mean; @param noise_stddev the known σ of the data.
  NormalKnownVarianceModel(const Normal<T>& prior, T noise_stddev) : prior_(prior), belief_(prior), sigma_(noise_stddev) {
    check_positive("NormalKnownVarianceModel", "noise_stddev", noise_stddev);
  }
  T noise_stddev() const noexcept { return sigma_; }  ///< the known σ of the data
  const Normal<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const Normal<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// @throw std::domain_error for non-finite data.
  Normal<T> posterior(const VectorCRef<T>& x) const {
    check_all_finite("NormalKnownVarianceModel::posterior", "data", x);
    const T prec0 = belief_.precision(), prec = T(x.size()) / (sigma_ * sigma_);
    const T prec_n = prec0 + prec;
    const T mean_n = (prec0 * belief_.mean() + x.sum() / (sigma_ * sigma_)) / prec_n;
    return Normal<T>(mean_n, std::sqrt(T(1) / prec_n));
  }
  /// Sequential update: the posterior after `x` becomes the current belief.
  NormalKnownVarianceModel& update(const VectorCRef<T>& x) {
    belief_ = posterior(x);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (N and Σx), and every rank absorbs
  /// all of them: the posterior of update() with the stacked data, up to rounding (on one rank, update() itself).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  NormalKnownVarianceModel& update(const Collective& ranks, const VectorCRef<T>& x) {
    if (ranks.size() == 1) return update(x);
    const Eigen::VectorXd s = detail::shared_statistics(ranks, [&] {
      check_all_finite("NormalKnownVarianceModel::update", "data", x);
      return Eigen::VectorXd(Eigen::Vector2d(double(x.size()), x.template cast<double>().sum()));
    });
    const T prec0 = belief_.precision(), prec_n = prec0 + T(s(0)) / (sigma_ * sigma_);
    belief_ = Normal<T>((prec0 * belief_.mean() + T(s(1)) / (sigma_ * sigma_)) / prec_n, std::sqrt(T(1) / prec_n));
    return *this;
  }
  /// \f$\mathcal N(x|\mu_N, \sigma_N^2 + \sigma^2)\f$.
  Normal<T> posterior_predictive() const {
    return Normal<T>(belief_.mean(), std::sqrt(belief_.variance() + sigma_ * sigma_));
  }
  /// Evidence: \f$\bar x\sim\mathcal N(\mu_0, \sigma_0^2+\sigma^2/N)\f$ times the density of the
  /// residuals, \f$(2\pi\sigma^2)^{-(N-1)/2}N^{-1/2}\exp(-\sum(x-\bar x)^2/2\sigma^2)\f$.
  T log_marginal_likelihood(const VectorCRef<T>& x) const {
    check_all_finite("NormalKnownVarianceModel::log_marginal_likelihood", "data", x);
    const Index n = x.size();
    if (n == 0) return T(0);
    const T nn = T(n), s2 = sigma_ * sigma_;
    const T mean = x.mean();
    const T ss = (x.array() - mean).square().sum();
    const T var_mean = belief_.variance() + s2 / nn;
    return -T(0.5) * std::log(constants<T>::pi * T(2) * var_mean) -
           T(0.5) * (mean - belief_.mean()) * (mean - belief_.mean()) / var_mean -
           T(0.5) * (nn - T(1)) * std::log(T(2) * constants<T>::pi * s2) - T(0.5) * std::log(nn) -
           T(0.5) * ss / s2;
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "NormalKnownVarianceModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "NormalKnownVarianceModel", io::OptionsWriter().add("noise_stddev", double(sigma_)).str(), prior_, belief_, "NormalKnownVarianceModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static NormalKnownVarianceModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<NormalKnownVarianceModel, Normal<T>>(
        path, "NormalKnownVarianceModel", "NormalKnownVarianceModel::load",
        [](const io::OptionsReader& r, const Normal<T>& prior) { return NormalKnownVarianceModel(prior, r.number<T>("noise_stddev")); },
        [](NormalKnownVarianceModel& model, Normal<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  Normal<T> prior_, belief_;
  T sigma_;
};

/// Gamma precision, known mean: \f$\tau\sim\mathrm{Gam}(a,b)\f$, \f$x_n|\tau\sim\mathcal N(\mu,\tau^{-1})\f$.
/// Posterior \f$\mathrm{Gam}(a+N/2,\ b+\frac12\sum(x_n-\mu)^2)\f$ (PRML 2.150–2.151).
template <Real T = double> class GammaKnownMeanModel {
 public:
  /// @param prior prior on the precision; @param mean the known mean of the data.
  GammaKnownMeanModel(const Gamma<T>& prior, T mean) : prior_(prior), belief_(prior), mu_(mean) {
    check_finite("GammaKnownMeanModel", "mean", mean);
  }
  T known_mean() const noexcept { return mu_; }  ///< the known mean μ of the data
  const Gamma<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const Gamma<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// Posterior after observing `x`. @throw std::domain_error for non-finite data.
  Gamma<T> posterior(const VectorCRef<T>& x) const {
    check_all_finite("GammaKnownMeanModel::posterior", "data", x);
    return Gamma<T>(belief_.shape() + T(0.5) * T(x.size()), belief_.rate() + T(0.5) * (x.array() - mu_).square().sum());
  }
  /// Sequential update: the posterior after `x` becomes the current belief.
  GammaKnownMeanModel& update(const VectorCRef<T>& x) {
    belief_ = posterior(x);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (N and Σ(x − μ)²), and every rank absorbs
  /// all of them: the posterior of update() with the stacked data, up to rounding (on one rank, update() itself).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  GammaKnownMeanModel& update(const Collective& ranks, const VectorCRef<T>& x) {
    if (ranks.size() == 1) return update(x);
    const Eigen::VectorXd s = detail::shared_statistics(ranks, [&] {
      check_all_finite("GammaKnownMeanModel::update", "data", x);
      return Eigen::VectorXd(Eigen::Vector2d(double(x.size()), double((x.array() - mu_).square().sum())));
    });
    belief_ = Gamma<T>(belief_.shape() + T(0.5) * T(s(0)), belief_.rate() + T(0.5) * T(s(1)));
    return *this;
  }
  /// Student-t with 2a degrees of freedom, location μ, scale \f$\sqrt{b/a}\f$ (PRML 2.158–2.159).
  StudentT<T> posterior_predictive() const {
    return StudentT<T>(T(2) * belief_.shape(), mu_, std::sqrt(belief_.rate() / belief_.shape()));
  }
  /// \f$\log\Gamma(a_N) - \log\Gamma(a) + a\log b - a_N\log b_N - \frac N2\log 2\pi\f$, summed as
  /// \f$s(a, \frac N2) - a\log(1 + \frac{\Delta b}{b}) - \frac N2\log\frac{b_N}{a} - \frac N2\log 2\pi\f$
  /// (s = lgamma_difference_scaled(), \f$\Delta b = \frac12\sum(x-\mu)^2\f$), so large prior parameters do
  /// not cancel. Computed in double. @throw std::domain_error for non-finite data.
  T log_marginal_likelihood(const VectorCRef<T>& x) const {
    check_all_finite("GammaKnownMeanModel::log_marginal_likelihood", "data", x);
    const double n = double(x.size()), a = double(belief_.shape()), b = double(belief_.rate());
    const double delta_b = 0.5 * (x.template cast<double>().array() - double(mu_)).square().sum();
    return T(detail::lgamma_difference_scaled(a, 0.5 * n) - a * std::log1p(delta_b / b) -
             0.5 * n * (std::log(b + delta_b) - std::log(a)) - 0.5 * n * constants<double>::log_two_pi);
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "GammaKnownMeanModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "GammaKnownMeanModel", io::OptionsWriter().add("mean", double(mu_)).str(), prior_, belief_, "GammaKnownMeanModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static GammaKnownMeanModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<GammaKnownMeanModel, Gamma<T>>(
        path, "GammaKnownMeanModel", "GammaKnownMeanModel::load",
        [](const io::OptionsReader& r, const Gamma<T>& prior) { return GammaKnownMeanModel(prior, r.number<T>("mean")); },
        [](GammaKnownMeanModel& model, Gamma<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  Gamma<T> prior_, belief_;
  T mu_;
};

}  // namespace pml
