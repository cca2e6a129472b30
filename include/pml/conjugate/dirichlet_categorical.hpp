#pragma once
/// @file
/// Dirichlet prior on the probabilities of categorical and multinomial data.

#include <filesystem>
#include <cmath>

#include "pml/conjugate/model_file.hpp"
#include "pml/distributions/categorical.hpp"
#include "pml/distributions/dirichlet.hpp"
#include "pml/distributions/dirichlet_multinomial.hpp"

namespace pml {

/// Dirichlet–Categorical model: \f$\boldsymbol\mu\sim\mathrm{Dir}(\boldsymbol\alpha)\f$, labels
/// \f$x_n\in\{0..K-1\}\f$ with \f$p(x_n=k|\mu)=\mu_k\f$; posterior \f$\mathrm{Dir}(\alpha+\mathbf m)\f$ with
/// m the label counts (PRML 2.41).
template <Real T = double> class DirichletCategoricalModel {
 public:
  /// A model starting from `prior` over the K category probabilities.
  explicit DirichletCategoricalModel(const Dirichlet<T>& prior) : prior_(prior), belief_(prior) {}
  /// Symmetric prior Dir(α, ..., α) over K categories.
  DirichletCategoricalModel(Index categories, T alpha)
      : DirichletCategoricalModel(Dirichlet<T>(Vector<T>::Constant(categories, alpha))) {}
  Index categories() const noexcept { return prior_.dimension(); }  ///< number of categories K
  const Dirichlet<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const Dirichlet<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// Label counts of `labels`. @throw std::domain_error for labels outside 0..K-1.
  Vector<T> counts(const IntVectorCRef& labels) const {
    Vector<T> m = Vector<T>::Zero(categories());
    for (Index i = 0; i < labels.size(); ++i) {
      if (labels(i) < 0 || labels(i) >= categories())
        detail::throw_domain("DirichletCategoricalModel", "labels", "lie in 0..K-1 = " + std::to_string(categories() - 1),
                             std::to_string(labels(i)) + " at index " + std::to_string(i));
      m(labels(i)) += T(1);
    }
    return m;
  }
  /// Posterior after observing `labels` (each in 0..K−1): Dir(α + counts).
  Dirichlet<T> posterior(const IntVectorCRef& labels) const { return Dirichlet<T>(belief_.alpha() + counts(labels)); }
  /// Sequential update: the posterior after `labels` becomes the current belief.
  DirichletCategoricalModel& update(const IntVectorCRef& labels) {
    belief_ = posterior(labels);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (K counts) once, and every rank
  /// absorbs all of them: the same posterior as update() with the stacked data (bit for bit: counts are exact).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  DirichletCategoricalModel& update(const Collective& ranks, const IntVectorCRef& labels) {
    if (ranks.size() == 1) return update(labels);
    const Eigen::VectorXd m = detail::shared_statistics(ranks, [&] { return Eigen::VectorXd(counts(labels).template cast<double>()); });
    belief_ = Dirichlet<T>(belief_.alpha() + m.template cast<T>());
    return *this;
  }
  /// \f$p(x=k|\mathcal D) = \alpha_k/\alpha_0\f$.
  Categorical<T> posterior_predictive() const { return Categorical<T>(belief_.mean()); }
  /// \f$\log\Gamma(\alpha_0) - \log\Gamma(\alpha_0+N) + \sum_k[\log\Gamma(\alpha_k+m_k) - \log\Gamma(\alpha_k)]\f$,
  /// by lmbeta_ratio() (no cancellation for large concentrations).
  T log_marginal_likelihood(const IntVectorCRef& labels) const {
    const Vector<T> m = counts(labels);
    return T(lmbeta_ratio(belief_.alpha().template cast<double>().eval(), m.template cast<double>().eval()));
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "DirichletCategoricalModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "DirichletCategoricalModel", "{}", prior_, belief_, "DirichletCategoricalModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static DirichletCategoricalModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<DirichletCategoricalModel, Dirichlet<T>>(
        path, "DirichletCategoricalModel", "DirichletCategoricalModel::load",
        [](const io::OptionsReader&, const Dirichlet<T>& prior) { return DirichletCategoricalModel(prior); },
        [](DirichletCategoricalModel& model, Dirichlet<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  Dirichlet<T> prior_, belief_;
};

/// Dirichlet–Multinomial model: rows of K counts (each row any total) drawn from
/// \f$\mathrm{Mult}(\cdot|\boldsymbol\mu, n_i)\f$ with \f$\boldsymbol\mu\sim\mathrm{Dir}(\boldsymbol\alpha)\f$.
template <Real T = double> class DirichletMultinomialModel {
 public:
  /// A model starting from `prior` over the K category probabilities.
  explicit DirichletMultinomialModel(const Dirichlet<T>& prior) : prior_(prior), belief_(prior) {}
  Index categories() const noexcept { return prior_.dimension(); }  ///< number of categories K
  const Dirichlet<T>& prior() const noexcept { return prior_; }  ///< the prior the model started from
  const Dirichlet<T>& posterior() const noexcept { return belief_; }  ///< the current posterior (the prior after every update())
  /// Posterior after the rows of `counts` (N x K, non-negative): Dir(α + column sums).
  Dirichlet<T> posterior(const IntMatrixCRef& counts) const { return Dirichlet<T>(belief_.alpha() + totals(counts)); }
  /// Sequential update with count vectors (one row of K counts per observation).
  DirichletMultinomialModel& update(const IntMatrixCRef& counts) {
    belief_ = posterior(counts);
    return *this;
  }
  /// update() with data spread over processes (core/collective.hpp; `pml::mpi::Communicator` on MPI): each rank
  /// passes its own observations, the ranks exchange the sufficient statistics (K totals) once, and every rank
  /// absorbs all of them: the same posterior as update() with the stacked data (bit for bit: counts are exact).
  /// @throw as update(), on every rank (a rank's bad value is reported on all of them, with its rank).
  DirichletMultinomialModel& update(const Collective& ranks, const IntMatrixCRef& counts) {
    if (ranks.size() == 1) return update(counts);
    // (a rank without rows may pass any width)
    const Eigen::VectorXd m = detail::shared_statistics(ranks, [&] {
      return counts.rows() == 0 ? Eigen::VectorXd(Eigen::VectorXd::Zero(categories())) : Eigen::VectorXd(totals(counts).template cast<double>());
    });
    belief_ = Dirichlet<T>(belief_.alpha() + m.template cast<T>());
    return *this;
  }
  /// Predictive of the next row with `trials` draws: DirichletMultinomial(trials, α).
  DirichletMultinomial<T> posterior_predictive(long trials) const {
    return DirichletMultinomial<T>(trials, belief_.alpha());
  }
  /// \f$\sum_i\log\frac{n_i!}{\prod_k m_{ik}!} + \log\Gamma(\alpha_0) - \log\Gamma(\alpha_0+N) +
  /// \sum_k[\log\Gamma(\alpha_k+m_k) - \log\Gamma(\alpha_k)]\f$, N the total count; the Γ terms by
  /// lmbeta_ratio(), the multinomial coefficients by lchoose() (no cancellation for large values).
  T log_marginal_likelihood(const IntMatrixCRef& counts) const {
    const Vector<T> m = totals(counts);
    double lml = double(lmbeta_ratio(belief_.alpha().template cast<double>().eval(), m.template cast<double>().eval()));
    // log multinomial coefficients as chains of lchoose (exact for large counts)
    for (Index i = 0; i < counts.rows(); ++i) {
      double partial = 0;
      for (Index k = 0; k < counts.cols(); ++k) {
        partial += double(counts(i, k));
        lml += detail::lchoose(partial, double(counts(i, k)));
      }
    }
    return T(lml);
  }

  /// Writes the prior, the current posterior and the model's constants to `path` (model type "DirichletMultinomialModel";
  /// format in serialization/model_file.hpp), atomically. @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path, io::FileFormat format = io::FileFormat::binary) const {
    detail::save_conjugate(path, format, "DirichletMultinomialModel", "{}", prior_, belief_, "DirichletMultinomialModel::save");
  }
  /// A model saved by save(), with the same prior and posterior (so update() goes on where it stopped).
  /// @throw std::runtime_error naming the path for a missing, truncated, corrupt or wrong-type file.
  static DirichletMultinomialModel load(const std::filesystem::path& path) {
    return detail::load_conjugate<DirichletMultinomialModel, Dirichlet<T>>(
        path, "DirichletMultinomialModel", "DirichletMultinomialModel::load",
        [](const io::OptionsReader&, const Dirichlet<T>& prior) { return DirichletMultinomialModel(prior); },
        [](DirichletMultinomialModel& model, Dirichlet<T> posterior) { model.belief_ = std::move(posterior); });
  }

 private:
  Vector<T> totals(const IntMatrixCRef& counts) const {
    check_size("DirichletMultinomialModel", "counts", counts.cols(), categories(), "columns");
    if (counts.size() > 0 && counts.minCoeff() < 0)
      detail::throw_domain("DirichletMultinomialModel", "counts", "be non-negative", std::to_string(counts.minCoeff()));
    return counts.colwise().sum().transpose().template cast<T>();
  }
  Dirichlet<T> prior_, belief_;
};

}  // namespace pml
