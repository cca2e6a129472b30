// The estimator check suite over the hidden Markov model (Gaussian full, diagonal and Gaussian-mixture
// emissions; checks in estimator_checks.hpp, shared adapter helpers in adapters.hpp). The training rows are
// one sequence, so row order is data (that check does not apply), and fit() takes no sample weights.

#include "estimator_checks/adapters.hpp"

#include "pml/models/sequence/hidden_markov_model.hpp"

namespace {

using namespace pml_test::estimator;

constexpr const char* hmm_name(pml::HMMEmission e) {
  switch (e) {
    case pml::HMMEmission::gaussian_full: return "HiddenMarkovModel(gaussian_full)";
    case pml::HMMEmission::gaussian_diagonal: return "HiddenMarkovModel(gaussian_diagonal)";
    case pml::HMMEmission::gaussian_mixture_full: return "HiddenMarkovModel(gaussian_mixture_full)";
    case pml::HMMEmission::gaussian_mixture_diagonal: return "HiddenMarkovModel(gaussian_mixture_diagonal)";
    default: return "HiddenMarkovModel";
  }
}

template <pml::HMMEmission E> struct HiddenMarkovModelAdapter : AdapterDefaults {
  static constexpr const char* name = hmm_name(E);
  static constexpr const char* function = "HiddenMarkovModel";
  static constexpr std::array arguments{"x", "states", "reg_covar"};
  static constexpr bool mixture = E == pml::HMMEmission::gaussian_mixture_full || E == pml::HMMEmission::gaussian_mixture_diagonal;
  static constexpr Index wide = E == pml::HMMEmission::gaussian_full || E == pml::HMMEmission::gaussian_mixture_full ? 200 : 2000;  // D x D covariances: O(D^3) per iteration
  static const char* not_applicable(Check c) {
    if (c == Check::row_order) return "the rows are one sequence: their order is the data";
    if (c == Check::duplicate_weight) return "fit() takes no sample weights";
    return nullptr;
  }
  template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed) {
    // reg_covar is an absolute amount added to every variance (as for GaussianMixture): off on the standard data
    pml::HiddenMarkovModel<T> m({.states = p.k,
                                 .emission = E,
                                 .mixture_components = mixture ? 2 : 1,
                                 .max_iterations = 200,
                                 .tolerance = T(1e-12),
                                 .reg_covar = p.degenerate ? T(1e-6) : T(0)});
    m.fit(p.x, {}, seed);
    // each state's mean (a mixture's: its components' weighted mean) orders the states
    const Index per = mixture ? 2 : 1, d = p.x.cols();
    Matrix<T> state_means(p.k, d);
    for (Index j = 0; j < p.k; ++j) state_means.row(j) = m.mixture_weights().row(j) * m.means().middleRows(j * per, per);
    const auto order = order_by_first_column<T>(state_means);
    Matrix<T> trans(p.k, p.k);
    Vector<T> start(p.k);
    for (std::size_t i = 0; i < order.size(); ++i) {
      start(Index(i)) = m.start_probabilities()(order[i]);
      for (std::size_t j = 0; j < order.size(); ++j) trans(Index(i), Index(j)) = m.transitions()(order[i], order[j]);
    }
    Outputs out{location("state means", rows_in<T>(state_means, order)),
                scaled("start probabilities", start, 0),
                scaled("transitions", trans, 0),
                log_density("score (mean log-likelihood per row) of the training rows", double(m.score(p.x)), double(d), false),
                log_density("score(query)", double(m.score(p.query)), double(d), true),
                scaled("predict_proba(query)", cols_in<T>(m.predict_proba(p.query), order), 0, true),
                discrete("predict(query) (Viterbi)", relabel(m.predict(p.query), order))};
    // the covariances in state order (a mixture's components in their stored order within the state)
    const auto covs = m.covariances();
    Matrix<T> cov(p.k * per * d, d);
    for (std::size_t i = 0; i < order.size(); ++i)
      for (Index c = 0; c < per; ++c) cov.middleRows((Index(i) * per + c) * d, d) = covs[std::size_t(order[i] * per + c)];
    out.push_back(scaled("covariances", cov, 2));
    return out;
  }
};

using Models = std::tuple<HiddenMarkovModelAdapter<pml::HMMEmission::gaussian_full>, HiddenMarkovModelAdapter<pml::HMMEmission::gaussian_diagonal>,
                          HiddenMarkovModelAdapter<pml::HMMEmission::gaussian_mixture_full>,
                          HiddenMarkovModelAdapter<pml::HMMEmission::gaussian_mixture_diagonal>>;

}  // namespace

PML_ESTIMATOR_CHECKS(Models, "[estimator_checks][sequence]")
