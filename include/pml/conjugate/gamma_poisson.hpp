#pragma once
/// @file
/// Gamma prior on the rate of Poisson counts.

#include <filesystem>
#include <cmath>

#include "pml/conjugate/model_file.hpp"
#include "pml/distributions/gamma.hpp"
#include "pml/distributions/negative_binomial.hpp"
#include "pml/distributions/poisson.hpp"

namespace pml {

/// Gamma–Poisson model: \f$\lambda\sim\mathrm{Gam}(a,b)\f$ (rate b), \f$k_n|\lambda\sim\mathrm{Pois}(\lambda)\f$.
/// Posterior \f$\mathrm{Gam}(a+\sum k_n, b+N)\f$.
template <Real T = double> class GammaPoissonModel {
 public:
  explicit GammaPoissonModel(const Gamma<T>& prior) : prior_(prior), belief_(prior) {}  ///< A model starting from `prior` over the Poisson rate.
  const Gamma<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const Gamma<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// @throw std::domain_error for negative counts.
  Gamma<T> posterior(const IntVectorCRef& k) const {
    for (Index i = 0; i < k.size(); ++i)
      if (k(i) < 0)
        detail::throw_domain("GammaPoissonModel::posterior", "data", "be non-negative counts",
                             std::to_string(k(i)) + " at index " + std::to_string(i));
    return Gamma<T>(belief_.shape() + T(k.sum()), belief_.rate() + T(k.size()));
  }
  /// Sequential update: the posterior after the counts `k` becomes the current belief.
  GammaPoissonModel& update(const IntVectorCRef& k) {
    belief_ = posterior(k);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (Σk and N) once, and every rank
  /// absorbs all of them: the same posterior as update() with the stacked data (bit for bit: counts are exact).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  GammaPoissonModel& update(const Collective& ranks, const IntVectorCRef& k) {
    if (ranks.size() == 1) return update(k);
    const Eigen::VectorXd s = detail::shared_statistics(ranks, [&] {
      posterior(k);  // checks the counts
      return Eigen::VectorXd(Eigen::Vector2d(double(k.sum()), double(k.size())));
    });
    belief_ = Gamma<T>(belief_.shape() + T(s(0)), belief_.rate() + T(s(1)));
    return *this;
  }
  /// Negative binomial with r = a and p = b/(b + 1).
  NegativeBinomial<T> posterior_predictive() const {
    return NegativeBinomial<T>(belief_.shape(), belief_.rate() / (belief_.rate() + T(1)));
  }
  /// \f$\log\Gamma(a+S) - \log\Gamma(a) + a\log b - (a+S)\log(b+N) - \sum_n\log k_n!\f$, S = Σk, summed
  /// as \f$S\log\frac{a}{b+N} + s(a, S) - a\log(1 + N/b) - \sum_n\log k_n!\f$ with s =
  /// lgamma_difference_scaled(), so a large prior (or posterior) shape and rate do not cancel.
  /// @throw std::domain_error for negative counts.
  T log_marginal_likelihood(const IntVectorCRef& k) const {
    posterior(k);  // checks the counts
    const double a = double(belief_.shape()), b = double(belief_.rate()), n = double(k.size());
    double s = 0, log_factorials = 0;
    for (Index i = 0; i < k.size(); ++i) {
      s += double(k(i));
      log_factorials += detail::boost_lgamma(double(k(i)) + 1);
    }
    const double count_part = s == 0 ? 0.0 : s * (std::log(a) - std::log(b + n));
    return T(count_part + detail::lgamma_difference_scaled(a, s) - a * std::log1p(n / b) - log_factorials);
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "GammaPoissonModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "GammaPoissonModel", "{}", prior_, belief_, "GammaPoissonModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static GammaPoissonModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<GammaPoissonModel, Gamma<T>>(
        path, "GammaPoissonModel", "GammaPoissonModel::load",
        [](const io::OptionsReader&, const Gamma<T>& prior) { return GammaPoissonModel(prior); },
        [](GammaPoissonModel& model, Gamma<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  Gamma<T> prior_, belief_;
};

}  // namespace pml
