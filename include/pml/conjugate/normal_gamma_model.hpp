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
  /// Posterior after observing `x` (PRML 2.150–2.151 with an unknown mean). @throw std::domain_error for non-finite data.
  NormalGamma<T> posterior(const VectorCRef<T>& x) const {
    check_all_finite("NormalGammaModel::posterior", "data", x);
    if (x.size() == 0) return belief_;
    const T n = T(x.size()), mean = x.mean();
    const T ss = (x.array() - mean).square().sum();
    const T k0 = belief_.kappa(), m0 = belief_.mu0();
    const T kn = k0 + n;
    return NormalGamma<T>((k0 * m0 + n * mean) / kn, kn, belief_.a() + T(0.5) * n,
                          belief_.b() + T(0.5) * ss + T(0.5) * k0 * n * (mean - m0) * (mean - m0) / kn);
  }
  /// Sequential update: the posterior after `x` becomes the current belief.
  NormalGammaModel& update(const VectorCRef<T>& x) {
    belief_ = posterior(x);
    return *this;
  }
  /// \f$\mathrm{St}(x|\mu_N, \frac{a_N\kappa_N}{b_N(\kappa_N+1)}, 2a_N)\f$: a Student-t with 2a_N degrees
  /// of freedom and scale \f$\sqrt{b_N(\kappa_N+1)/(a_N\kappa_N)}\f$.
  StudentT<T> posterior_predictive() const {
    const T a = belief_.a(), b = belief_.b(), k = belief_.kappa();
    return StudentT<T>(T(2) * a, belief_.mu0(), std::sqrt(b * (k + T(1)) / (a * k)));
  }
  /// \f$\log\Gamma(a_N)-\log\Gamma(a_0)+a_0\log b_0-a_N\log b_N+\frac12\log\frac{\kappa_0}{\kappa_N}-\frac N2\log2\pi\f$.
  T log_marginal_likelihood(const VectorCRef<T>& x) const {
    const NormalGamma<T> post = posterior(x);
    return std::lgamma(post.a()) - std::lgamma(belief_.a()) + belief_.a() * std::log(belief_.b()) -
           post.a() * std::log(post.b()) + T(0.5) * (std::log(belief_.kappa()) - std::log(post.kappa())) -
           T(0.5) * T(x.size()) * constants<T>::log_two_pi;
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "NormalGammaModel";
  /// format in io/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
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
