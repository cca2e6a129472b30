#pragma once
/// @file
/// Beta prior on the success probability of Bernoulli and binomial data.

#include <filesystem>
#include <cmath>

#include "pml/conjugate/model_file.hpp"
#include "pml/distributions/bernoulli.hpp"
#include "pml/distributions/beta.hpp"
#include "pml/distributions/beta_binomial.hpp"

namespace pml {
namespace detail {
inline void check_binary(const char* function, const IntVectorCRef& x) {
  for (Index i = 0; i < x.size(); ++i)
    if (x(i) != 0 && x(i) != 1)
      throw_domain(function, "data", "contain only 0 and 1", std::to_string(x(i)) + " at index " + std::to_string(i));
}
}  // namespace detail

/// Beta–Bernoulli model: \f$\mu\sim\mathrm{Beta}(a,b)\f$, \f$x_n|\mu\sim\mathrm{Bern}(\mu)\f$.
/// After m ones and l zeros the posterior is \f$\mathrm{Beta}(a+m, b+l)\f$ (PRML 2.18).
///
/// The model holds the current belief: the prior until update() is called, then the posterior of
/// everything seen so far, so sequential updates and one batch update give the same result.
template <Real T = double> class BetaBernoulliModel {
 public:
  /// @param prior the Beta prior; the default Beta(1, 1) is uniform.
  explicit BetaBernoulliModel(const Beta<T>& prior = Beta<T>(1, 1)) : prior_(prior), belief_(prior) {}

  /// The prior the model started from.
  const Beta<T>& prior() const noexcept { return prior_; }
  /// The current belief: the posterior given every observation passed to update().
  const Beta<T>& posterior() const noexcept { return belief_; }
  /// The posterior after also observing `data` (0/1 values); the model is not changed.
  /// @throw std::domain_error for values other than 0 and 1.
  Beta<T> posterior(const IntVectorCRef& data) const {
    detail::check_binary("BetaBernoulliModel::posterior", data);
    const T ones = T(data.sum());
    return Beta<T>(belief_.a() + ones, belief_.b() + T(data.size()) - ones);
  }
  /// Absorbs `data` into the current belief (sequential Bayesian updating, PRML Fig. 2.3).
  BetaBernoulliModel& update(const IntVectorCRef& data) {
    belief_ = posterior(data);
    return *this;
  }
  /// Absorbs one observation.
  BetaBernoulliModel& update(long x) { return update(IntVector::Constant(1, x)); }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (two counts) once, and every rank
  /// absorbs all of them: the same posterior as update() with the stacked data (bit for bit: counts are exact).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  BetaBernoulliModel& update(const Collective& ranks, const IntVectorCRef& data) {
    if (ranks.size() == 1) return update(data);
    const Eigen::VectorXd s = detail::shared_statistics(ranks, [&] {
      detail::check_binary("BetaBernoulliModel::update", data);
      return Eigen::VectorXd(Eigen::Vector2d(double(data.sum()), double(data.size())));
    });
    const T ones = T(s(0));
    belief_ = Beta<T>(belief_.a() + ones, belief_.b() + T(s(1)) - ones);
    return *this;
  }
  /// \f$p(x=1|\mathcal D) = a/(a+b)\f$ (PRML 2.20): a Bernoulli.
  Bernoulli<T> posterior_predictive() const { return Bernoulli<T>(belief_.mean()); }
  /// Evidence \f$\log p(\mathcal D) = \log B(a+m, b+l) - \log B(a, b)\f$ under the current belief, by
  /// lmbeta_ratio() (no cancellation for large a, b). @throw std::domain_error for values other than 0 and 1.
  T log_marginal_likelihood(const IntVectorCRef& data) const {
    detail::check_binary("BetaBernoulliModel::log_marginal_likelihood", data);
    const double ones = double(data.sum());
    const Eigen::Vector2d alpha{double(belief_.a()), double(belief_.b())}, m(ones, double(data.size()) - ones);
    return T(lmbeta_ratio(alpha, m));
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "BetaBernoulliModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "BetaBernoulliModel", "{}", prior_, belief_, "BetaBernoulliModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static BetaBernoulliModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<BetaBernoulliModel, Beta<T>>(
        path, "BetaBernoulliModel", "BetaBernoulliModel::load",
        [](const io::OptionsReader&, const Beta<T>& prior) { return BetaBernoulliModel(prior); },
        [](BetaBernoulliModel& model, Beta<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  Beta<T> prior_, belief_;
};

/// Beta–Binomial model: \f$\mu\sim\mathrm{Beta}(a,b)\f$ and each observation is a count of successes
/// out of a fixed number of trials, \f$k_n|\mu\sim\mathrm{Bin}(n,\mu)\f$ (PRML 2.17–2.19).
template <Real T = double> class BetaBinomialModel {
 public:
  /// @throw std::domain_error unless trials > 0.
  BetaBinomialModel(long trials, const Beta<T>& prior = Beta<T>(1, 1)) : n_(trials), prior_(prior), belief_(prior) {
    if (trials <= 0) detail::throw_domain("BetaBinomialModel", "trials", "be positive", std::to_string(trials));
  }
  long trials() const noexcept { return n_; }  ///< trials per observation n
  const Beta<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const Beta<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// Posterior after observing success counts `k` (each in 0..trials): Beta(a + Σk, b + Σ(n − k)).
  Beta<T> posterior(const IntVectorCRef& k) const {
    check(k, "BetaBinomialModel::posterior");
    const T s = T(k.sum());
    return Beta<T>(belief_.a() + s, belief_.b() + T(n_) * T(k.size()) - s);
  }
  /// Sequential update: the posterior after `k` becomes the current belief.
  BetaBinomialModel& update(const IntVectorCRef& k) {
    belief_ = posterior(k);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (two counts) once, and every rank
  /// absorbs all of them: the same posterior as update() with the stacked data (bit for bit: counts are exact).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  BetaBinomialModel& update(const Collective& ranks, const IntVectorCRef& k) {
    if (ranks.size() == 1) return update(k);
    const Eigen::VectorXd s = detail::shared_statistics(ranks, [&] {
      check(k, "BetaBinomialModel::update");
      return Eigen::VectorXd(Eigen::Vector2d(double(k.sum()), double(k.size())));
    });
    belief_ = Beta<T>(belief_.a() + T(s(0)), belief_.b() + T(n_) * T(s(1)) - T(s(0)));
    return *this;
  }
  /// Predictive of the next count: BetaBinomial(trials, a, b).
  BetaBinomial<T> posterior_predictive() const { return BetaBinomial<T>(n_, belief_.a(), belief_.b()); }
  /// \f$\sum_n\log\binom{n}{k_n} + \log B(a+\sum k, b+\sum(n-k)) - \log B(a,b)\f$, the beta part by
  /// lmbeta_ratio() (no cancellation for large a, b). @throw std::domain_error for counts outside 0..trials.
  T log_marginal_likelihood(const IntVectorCRef& k) const {
    check(k, "BetaBinomialModel::log_marginal_likelihood");
    const double s = double(k.sum());
    const Eigen::Vector2d alpha{double(belief_.a()), double(belief_.b())}, m(s, double(n_) * double(k.size()) - s);
    double lml = double(lmbeta_ratio(alpha, m));
    for (Index i = 0; i < k.size(); ++i) lml += detail::lchoose(double(n_), double(k(i)));
    return T(lml);
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "BetaBinomialModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "BetaBinomialModel", io::OptionsWriter().add("trials", Index(n_)).str(), prior_, belief_, "BetaBinomialModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static BetaBinomialModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<BetaBinomialModel, Beta<T>>(
        path, "BetaBinomialModel", "BetaBinomialModel::load",
        [](const io::OptionsReader& r, const Beta<T>& prior) { return BetaBinomialModel(r.number<long>("trials"), prior); },
        [](BetaBinomialModel& model, Beta<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  void check(const IntVectorCRef& k, const char* function) const {
    for (Index i = 0; i < k.size(); ++i)
      if (k(i) < 0 || k(i) > n_)
        detail::throw_domain(function, "data", "lie in 0..trials = " + std::to_string(n_),
                             std::to_string(k(i)) + " at index " + std::to_string(i));
  }
  long n_;
  Beta<T> prior_, belief_;
};

}  // namespace pml
