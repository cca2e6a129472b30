// The estimator check suite over pml's classical models, distribution fits and conjugate models
// (checks in estimator_checks.hpp). A model joins with an adapter below and one line in ClassicalModels.

#include "estimator_checks/estimator_checks.hpp"

#include <tuple>

#include "pml/conjugate/normal_gamma_model.hpp"
#include "pml/conjugate/normal_wishart_model.hpp"
#include "pml/distributions/gamma.hpp"
#include "pml/distributions/laplace.hpp"
#include "pml/distributions/multivariate_normal.hpp"
#include "pml/distributions/multivariate_normal_diag.hpp"
#include "pml/distributions/normal.hpp"
#include "pml/distributions/student_t.hpp"
#include "pml/models/cluster.hpp"
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"

namespace {

using namespace pml_test::estimator;
using pml::Index;
using pml::IntVector;
using pml::Matrix;
using pml::Vector;

// Mixture and clustering models number their components arbitrarily; the adapters put them in a
// canonical order (by the first coordinate of the mean), which shifts and positive scalings preserve.
template <class T> std::vector<Index> order_by_first_column(const Matrix<T>& means) {
  std::vector<Index> order(std::size_t(means.rows()));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return means(a, 0) < means(b, 0); });
  return order;
}
template <class T> Matrix<T> rows_in(const Matrix<T>& m, const std::vector<Index>& order) {
  Matrix<T> out(m.rows(), m.cols());
  for (std::size_t i = 0; i < order.size(); ++i) out.row(Index(i)) = m.row(order[i]);
  return out;
}
template <class T> Matrix<T> cols_in(const Matrix<T>& m, const std::vector<Index>& order) {
  Matrix<T> out(m.rows(), m.cols());
  for (std::size_t i = 0; i < order.size(); ++i) out.col(Index(i)) = m.col(order[i]);
  return out;
}
inline IntVector relabel(const IntVector& labels, const std::vector<Index>& order) {
  std::vector<long> rank(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) rank[std::size_t(order[i])] = long(i);
  IntVector out(labels.size());
  for (Index i = 0; i < labels.size(); ++i) out(i) = rank[std::size_t(labels(i))];
  return out;
}
template <class T> const Vector<T>& weights_of(const Problem<T>& p) { return p.weights.size() ? p.weights : pml::detail::no_weights<T>(); }

constexpr const char* gmm_name(pml::Covariance c) {
  switch (c) {
    case pml::Covariance::full: return "GaussianMixture(full)";
    case pml::Covariance::tied: return "GaussianMixture(tied)";
    case pml::Covariance::diagonal: return "GaussianMixture(diagonal)";
    case pml::Covariance::spherical: return "GaussianMixture(spherical)";
  }
  return "GaussianMixture";
}

template <pml::Covariance C> struct GaussianMixtureAdapter : AdapterDefaults {
  static constexpr const char* name = gmm_name(C);
  static constexpr const char* function = "GaussianMixture";
  static constexpr std::array arguments{"x", "components", "weights", "reg_covar"};
  // full and tied hold D x D matrices: O(D^3) per iteration is the model's own cost, not a defect
  static constexpr Index wide = C == pml::Covariance::full || C == pml::Covariance::tied ? 200 : 2000;
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    // tolerance far below the default: the blobs are separated, EM reaches its fixed point in a few
    // steps, and the checks compare fixed points rather than where a stopping rule happened to stop
    // reg_covar is an absolute amount added to every variance (as scikit-learn's), so it breaks scale
    // equivariance by design: off for the well-conditioned standard data, the default for degenerate data
    pml::GaussianMixture<T> gm({.components = p.k, .covariance = C, .tolerance = T(1e-12),
                                .reg_covar = p.degenerate ? T(1e-6) : T(0), .max_iterations = 200});
    gm.fit(p.x, seed, weights_of(p));
    const Vector<T> w_rows = p.weights.size() ? p.weights : Vector<T>::Ones(p.x.rows());
    const double train_score = double(w_rows.dot(gm.score_samples(p.x)) / w_rows.sum());  // weighted: a duplicate = weight 2
    const auto order = order_by_first_column<T>(gm.means());
    // full and tied: the K stacked D x D matrices; diagonal and spherical: their K x D diagonals
    const bool full = C == pml::Covariance::full || C == pml::Covariance::tied;
    Matrix<T> cov(full ? p.k * p.x.cols() : p.k, p.x.cols());
    for (std::size_t i = 0; i < order.size(); ++i) {
      const Matrix<T> c = gm.covariance(order[i]);
      if (full) cov.middleRows(Index(i) * p.x.cols(), p.x.cols()) = c;
      else cov.row(Index(i)) = c.diagonal().transpose();
    }
    const Vector<T> w = gm.weights();
    Vector<T> wo(w.size());
    for (std::size_t i = 0; i < order.size(); ++i) wo(Index(i)) = w(order[i]);
    const double d = double(p.x.cols());
    return {location("means", rows_in<T>(gm.means(), order)),
            scaled("weights", wo, 0),
            scaled("covariances", cov, 2),
            log_density("weighted mean log-likelihood of the training rows", train_score, d, false),
            log_density("score_samples(query)", gm.score_samples(p.query), d, true),
            scaled("predict_proba(query)", cols_in<T>(gm.predict_proba(p.query), order), 0, true),
            discrete("predict(query)", relabel(gm.predict(p.query), order))};
  }
};

struct KMeansAdapter : AdapterDefaults {
  static constexpr const char* name = "KMeans";
  static constexpr const char* function = "KMeans";
  static constexpr std::array arguments{"x", "clusters", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    pml::KMeans<T> km({.clusters = p.k});
    km.fit(p.x, seed, weights_of(p));
    const auto order = order_by_first_column<T>(km.centres());
    return {location("centres", rows_in<T>(km.centres(), order)),
            scaled("inertia", double(km.inertia()), 2),
            discrete("predict(query)", relabel(km.predict(p.query), order)),
            scaled("transform(query) (squared distances)", cols_in<T>(km.transform(p.query), order), 2, true),
            scaled("score(query)", double(km.score(p.query)), 2, true)};
  }
};

struct VariationalGaussianMixtureAdapter : AdapterDefaults {
  static constexpr const char* name = "VariationalGaussianMixture";
  static constexpr const char* function = "VariationalGaussianMixture";
  static constexpr std::array arguments{"x", "components", "degrees_of_freedom"};
  static constexpr Index wide = 200;  // D x D scale matrices per component
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    // reg_covar: as for GaussianMixture (an absolute amount: off on the standard data)
    pml::VariationalGaussianMixture<T> vg({.components = p.k, .reg_covar = p.degenerate ? T(1e-6) : T(0), .tolerance = T(1e-12), .max_iterations = 300});
    vg.fit(p.x, seed);
    const auto order = order_by_first_column<T>(vg.means());
    Matrix<T> cov(p.k * p.x.cols(), p.x.cols());
    for (std::size_t i = 0; i < order.size(); ++i) cov.middleRows(Index(i) * p.x.cols(), p.x.cols()) = vg.covariance(order[i]);
    const Vector<T> w = vg.weights();
    Vector<T> wo(w.size());
    for (std::size_t i = 0; i < order.size(); ++i) wo(Index(i)) = w(order[i]);
    return {location("means", rows_in<T>(vg.means(), order)), scaled("weights", wo, 0), scaled("covariances", cov, 2),
            log_density("lower_bound (ELBO per row)", double(vg.lower_bound()), double(p.x.cols()), false),
            scaled("predict_proba(query)", cols_in<T>(vg.predict_proba(p.query), order), 0, true)};
  }
};

template <bool All> struct PCAAdapter : AdapterDefaults {
  static constexpr const char* name = All ? "PCA(all components)" : "PCA(2 components)";
  static constexpr const char* function = "PCA";
  static constexpr std::array arguments{"x", "components"};
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    pml::PCA<T> pca({.components = All ? 0 : 2});
    pca.fit(p.x);
    const double d = double(p.x.cols());
    return {location("mean", pca.mean().transpose()),
            scaled("components", pca.components(), 0, false, true),
            scaled("explained_variance", pca.explained_variance(), 2),
            scaled("explained_variance_ratio", pca.explained_variance_ratio(), 0),
            scaled("noise_variance", double(pca.noise_variance()), 2),
            scaled("transform(query)", pca.transform(p.query), 1, true, true),
            log_density("score_samples(query)", pca.score_samples(p.query), d, true)};
  }
};

template <pml::PPCASolver S> struct ProbabilisticPCAAdapter : AdapterDefaults {
  static constexpr const char* name = S == pml::PPCASolver::em ? "ProbabilisticPCA(em)" : "ProbabilisticPCA(closed form)";
  static constexpr const char* function = "ProbabilisticPCA";
  static constexpr std::array arguments{"x", "components"};
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    pml::ProbabilisticPCA<T> ppca({.components = 2, .solver = S});
    ppca.fit(p.x, seed);
    const double d = double(p.x.cols());
    return {location("mean", ppca.mean().transpose()),
            scaled("covariance (W W' + s2 I)", ppca.covariance(), 2),
            scaled("noise_variance", double(ppca.noise_variance()), 2),
            log_density("score (mean log-likelihood of the training rows)", double(ppca.score(p.x)), d, false),
            log_density("score_samples(query)", ppca.score_samples(p.query), d, true)};
  }
};

struct BayesianLinearRegressionAdapter : AdapterDefaults {
  static constexpr const char* name = "BayesianLinearRegression(intercept, evidence)";
  static constexpr const char* function = "BayesianLinearRegression";
  static constexpr std::array arguments{"phi", "t"};
  static constexpr Target target = Target::continuous;
  static const char* not_applicable(Check c) {
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  // Shifts and scales apply to the inputs (phi = x); the targets stay. With an unregularised intercept
  // and evidence-fitted alpha the model is equivariant: coefficients scale by 1/s, alpha by s^2, the
  // predictions and the evidence do not change.
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    // The default stopping rule sum |delta m| < 1e-3 is absolute in the units of the coefficients (as
    // scikit-learn's), so default fits are equivariant only to about that; the checks compare the
    // evidence fixed point itself.
    pml::BayesianLinearRegression<T> blr({.fit_intercept = true, .tolerance = T(1e-12)});
    blr.fit(p.x, p.y);
    const auto pred = blr.predict(p.query);
    return {scaled("mean (coefficients)", blr.mean(), -1),
            scaled("alpha", double(blr.alpha()), 2),
            scaled("beta", double(blr.beta()), 0),
            scaled("log_marginal_likelihood", double(blr.log_marginal_likelihood()), 0),
            scaled("predict(query).mean", pred.mean, 0, true),
            scaled("predict(query).variance", pred.variance, 0, true)};
  }
};

struct BayesianLogisticRegressionAdapter : AdapterDefaults {
  static constexpr const char* name = "BayesianLogisticRegression";
  static constexpr const char* function = "BayesianLogisticRegression";
  static constexpr std::array arguments{"phi", "t"};
  static constexpr Target target = Target::binary;
  static constexpr Index wide = 200;  // the Laplace posterior covariance is M x M: O(M^3) per Newton step is the model's own cost
  static const char* not_applicable(Check c) {
    if (c == Check::shift || c == Check::scale)
      return "the prior N(0, 1/alpha I) on the weights (bias included) is fixed in the units of phi, so the MAP is "
             "not equivariant by design";
    return c == Check::duplicate_weight ? "fit() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    Matrix<T> phi(p.x.rows(), p.x.cols() + 1), q(p.query.rows(), p.query.cols() + 1);
    phi << Matrix<T>::Ones(p.x.rows(), 1), p.x;
    q << Matrix<T>::Ones(p.query.rows(), 1), p.query;
    pml::BayesianLogisticRegression<T> blr;
    blr.fit(phi, p.labels);
    return {scaled("mean (MAP weights)", blr.mean(), 0), scaled("covariance", blr.covariance(), 0),
            scaled("log_marginal_likelihood", double(blr.log_marginal_likelihood()), 0),
            scaled("predict_proba(query)", blr.predict_proba(q), 0, true)};
  }
};

// ---- distribution fits (column 0 for the univariate ones)

struct NormalFitAdapter : AdapterDefaults {
  static constexpr const char* name = "Normal::fit";
  static constexpr const char* function = "Normal::fit";
  static constexpr std::array arguments{"x", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto n = pml::Normal<T>::fit(p.x.col(0), weights_of(p));
    return {location("mean", double(n.mean())), scaled("stddev", double(n.stddev()), 1),
            log_density("log_prob(query)", n.log_prob(p.query.col(0)), 1, true)};
  }
};

struct LaplaceFitAdapter : AdapterDefaults {
  static constexpr const char* name = "Laplace::fit";
  static constexpr const char* function = "Laplace::fit";
  static constexpr std::array arguments{"x", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto l = pml::Laplace<T>::fit(p.x.col(0), weights_of(p));
    return {location("location", double(l.location())), scaled("scale", double(l.scale()), 1),
            log_density("log_prob(query)", l.log_prob(p.query.col(0)), 1, true)};
  }
};

struct StudentTFitAdapter : AdapterDefaults {
  static constexpr const char* name = "StudentT::fit(df = 4)";
  static constexpr const char* function = "StudentT::fit";
  static constexpr std::array arguments{"x", "weights", "df"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto t = pml::StudentT<T>::fit(T(4), p.x.col(0), weights_of(p));
    return {location("location", double(t.location())), scaled("scale", double(t.scale()), 1),
            log_density("log_prob(query)", t.log_prob(p.query.col(0)), 1, true)};
  }
};

struct MultivariateNormalFitAdapter : AdapterDefaults {
  static constexpr const char* name = "MultivariateNormal::fit";
  static constexpr const char* function = "MultivariateNormal::fit";
  static constexpr std::array arguments{"x", "weights"};
  static constexpr Index wide = 200;  // a D x D covariance
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto m = pml::MultivariateNormal<T>::fit(p.x, weights_of(p));
    const Matrix<T> q = p.query;
    return {location("mean", m.mean().transpose()), scaled("covariance", m.covariance(), 2),
            log_density("log_prob(query)", Vector<T>(m.log_prob(q)), double(p.x.cols()), true)};
  }
};

struct MultivariateNormalDiagFitAdapter : AdapterDefaults {
  static constexpr const char* name = "MultivariateNormalDiag::fit";
  static constexpr const char* function = "MultivariateNormalDiag::fit";
  static constexpr std::array arguments{"x", "weights"};
  static const char* not_applicable(Check) { return nullptr; }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto m = pml::MultivariateNormalDiag<T>::fit(p.x, weights_of(p));
    const Matrix<T> q = p.query;
    return {location("mean", m.mean().transpose()), scaled("stddev", m.stddev(), 1),
            log_density("log_prob(query)", Vector<T>(m.log_prob(q)), double(p.x.cols()), true)};
  }
};

struct GammaFitAdapter : AdapterDefaults {
  static constexpr const char* name = "Gamma::fit";
  static constexpr const char* function = "Gamma::fit";
  static constexpr std::array arguments{"x", "weights"};
  static constexpr Domain domain = Domain::positive;
  static const char* not_applicable(Check c) {
    return c == Check::shift ? "the Gamma family has no location parameter: fit(x + c) is a different distribution" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const auto g = pml::Gamma<T>::fit(p.x.col(0), weights_of(p));
    return {scaled("shape", double(g.shape()), 0), scaled("rate", double(g.rate()), -1),
            log_density("log_prob(query)", g.log_prob(p.query.col(0)), 1, true)};
  }
};

// ---- conjugate models: the prior is fixed in the data's units, so fit(x + c) and fit(s x) are different
// posteriors (not a defect); row order, float vs double, the seed and degenerate data apply.

constexpr const char* conjugate_prior_reason = "the prior is fixed in the units of the data, so the posterior of x + c or s x differs by design";

struct NormalGammaModelAdapter : AdapterDefaults {
  static constexpr const char* name = "NormalGammaModel::posterior";
  static constexpr const char* function = "NormalGammaModel";
  static constexpr std::array arguments{"data", "x"};
  static const char* not_applicable(Check c) {
    if (c == Check::shift || c == Check::scale) return conjugate_prior_reason;
    return c == Check::duplicate_weight ? "posterior() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const pml::NormalGammaModel<T> model(pml::NormalGamma<T>(T(0), T(1), T(1), T(1)));
    const auto post = model.posterior(p.x.col(0));
    const pml::NormalGammaModel<T> updated(post);
    return {scaled("posterior (mu0, kappa, a, b)", (Vector<T>(4) << post.mu0(), post.kappa(), post.a(), post.b()).finished(), 0),
            scaled("log_marginal_likelihood", double(model.log_marginal_likelihood(p.x.col(0))), 0),
            scaled("posterior_predictive log_prob(query)", updated.posterior_predictive().log_prob(p.query.col(0)), 0, true)};
  }
};

struct NormalWishartModelAdapter : AdapterDefaults {
  static constexpr const char* name = "NormalWishartModel::posterior";
  static constexpr const char* function = "NormalWishartModel";
  static constexpr std::array arguments{"data", "x"};
  static constexpr Index wide = 200;  // D x D scale matrix
  static const char* not_applicable(Check c) {
    if (c == Check::shift || c == Check::scale) return conjugate_prior_reason;
    return c == Check::duplicate_weight ? "posterior() takes no sample weights" : nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t) {
    const Index d = p.x.cols();
    const pml::NormalWishartModel<T> model(pml::NormalWishart<T>(Vector<T>::Zero(d), T(1), T(d + 2), Matrix<T>::Identity(d, d)));
    const auto post = model.posterior(p.x);
    const pml::NormalWishartModel<T> updated(post);
    const Matrix<T> q = p.query;
    return {scaled("posterior mu0", post.mu0().transpose(), 0),
            scaled("posterior (kappa, nu)", (Vector<T>(2) << post.kappa(), post.nu()).finished(), 0),
            scaled("posterior scale W", post.scale(), 0),
            scaled("log_marginal_likelihood", double(model.log_marginal_likelihood(p.x)), 0),
            scaled("posterior_predictive log_prob(query)", Vector<T>(updated.posterior_predictive().log_prob(q)), 0, true)};
  }
};

using ClassicalModels = std::tuple<GaussianMixtureAdapter<pml::Covariance::full>,       //
                                   GaussianMixtureAdapter<pml::Covariance::tied>,       //
                                   GaussianMixtureAdapter<pml::Covariance::diagonal>,   //
                                   GaussianMixtureAdapter<pml::Covariance::spherical>,  //
                                   VariationalGaussianMixtureAdapter,                   //
                                   KMeansAdapter,                                       //
                                   PCAAdapter<false>,                                   //
                                   PCAAdapter<true>,                                    //
                                   ProbabilisticPCAAdapter<pml::PPCASolver::closed_form>,  //
                                   ProbabilisticPCAAdapter<pml::PPCASolver::em>,        //
                                   BayesianLinearRegressionAdapter,                     //
                                   BayesianLogisticRegressionAdapter,                   //
                                   NormalFitAdapter,                                    //
                                   LaplaceFitAdapter,                                   //
                                   StudentTFitAdapter,                                  //
                                   MultivariateNormalFitAdapter,                        //
                                   MultivariateNormalDiagFitAdapter,                    //
                                   GammaFitAdapter,                                     //
                                   NormalGammaModelAdapter,                             //
                                   NormalWishartModelAdapter>;

}  // namespace

PML_ESTIMATOR_CHECKS(ClassicalModels, "[estimator_checks]")
