#pragma once
// Every model type's static load() with one deterministic use of the loaded model, shared by
// test_model_files (kept corpus, truncations, bit flips, wrong types) and the libFuzzer target.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pml/conjugate.hpp"
#include "pml/models/cluster.hpp"
#include "pml/models/deep.hpp"
#include "pml/models/gaussian_process.hpp"
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"
#include "pml/models/sequence/hidden_markov_model.hpp"

namespace pml_test {

/// A fixed input of the given shape (no randomness: the same on every machine).
inline Eigen::MatrixXd probe(Eigen::Index rows, Eigen::Index cols) {
  Eigen::MatrixXd x(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) x(i, j) = 0.5 + 0.45 * std::sin(1.3 * double(i) + 0.7 * double(j) + 0.1);
  return x;
}

/// The model type a file names in its header, its loader and a use of the loaded model whose result is a
/// matrix (compared against the kept corpus' expected outputs).
struct ModelLoader {
  const char* model;
  std::function<Eigen::MatrixXd(const std::filesystem::path&)> load_and_use;
  /// Loads the file at `from` and saves the model to `to` (in the format asked).
  std::function<void(const std::filesystem::path& from, const std::filesystem::path& to, pml::io::FileFormat)> load_and_save;
};

/// ModelLoader::load_and_save for model class M.
template <class M> void load_and_save(const std::filesystem::path& from, const std::filesystem::path& to, pml::io::FileFormat format) {
  M::load(from).save(to, format);
}

/// Rows of the probe input every use evaluates.
inline constexpr Eigen::Index probe_rows = 5;

inline const std::vector<ModelLoader>& model_loaders() {
  using Path = std::filesystem::path;
  static const std::vector<ModelLoader> loaders = {
      {"KMeans",
       [](const Path& p) {
         const auto m = pml::KMeans<double>::load(p);
         return Eigen::MatrixXd(m.transform(probe(probe_rows, m.centres().cols())));
       }, load_and_save<pml::KMeans<double>>},
      {"GaussianMixture",
       [](const Path& p) {
         const auto m = pml::GaussianMixture<double>::load(p);
         const Eigen::MatrixXd x = probe(probe_rows, m.means().cols());
         Eigen::MatrixXd out(probe_rows, m.means().rows() + 1);
         out << m.predict_proba(x), m.score_samples(x);
         return out;
       }, load_and_save<pml::GaussianMixture<double>>},
      {"VariationalGaussianMixture",
       [](const Path& p) {
         const auto m = pml::VariationalGaussianMixture<double>::load(p);
         return m.predict_proba(probe(probe_rows, m.means().cols()));
       }, load_and_save<pml::VariationalGaussianMixture<double>>},
      {"PCA",
       [](const Path& p) {
         const auto m = pml::PCA<double>::load(p);
         return m.transform(probe(probe_rows, m.mean().size()));
       }, load_and_save<pml::PCA<double>>},
      {"ProbabilisticPCA",
       [](const Path& p) {
         const auto m = pml::ProbabilisticPCA<double>::load(p);
         const Eigen::MatrixXd x = probe(probe_rows, m.mean().size());
         const Eigen::MatrixXd z = m.transform(x);
         Eigen::MatrixXd out(probe_rows, z.cols() + 1);
         out << z, m.score_samples(x);
         return out;
       }, load_and_save<pml::ProbabilisticPCA<double>>},
      {"BayesianLinearRegression",
       [](const Path& p) {
         const auto m = pml::BayesianLinearRegression<double>::load(p);
         const auto pred = m.predict(probe(probe_rows, m.mean().size()));
         Eigen::MatrixXd out(probe_rows, 2);
         out << pred.mean, pred.variance;
         return out;
       }, load_and_save<pml::BayesianLinearRegression<double>>},
      {"BayesianLogisticRegression",
       [](const Path& p) {
         const auto m = pml::BayesianLogisticRegression<double>::load(p);
         return Eigen::MatrixXd(m.predict_proba(probe(probe_rows, m.mean().size())));
       }, load_and_save<pml::BayesianLogisticRegression<double>>},
      {"AutoEncoder",
       [](const Path& p) {
         auto m = pml::AutoEncoder<double>::load(p);
         return m.reconstruct(probe(probe_rows, m.options().input));
       }, load_and_save<pml::AutoEncoder<double>>},
      {"VAE",
       [](const Path& p) {
         auto m = pml::VAE<double>::load(p);
         return m.reconstruct(probe(probe_rows, m.options().input));
       }, load_and_save<pml::VAE<double>>},
      {"BayesByBackprop",
       [](const Path& p) {
         auto m = pml::BayesByBackprop<double>::load(p);
         return m.predict_mean(probe(probe_rows, m.options().input));
       }, load_and_save<pml::BayesByBackprop<double>>},
      {"MCDropoutRegressor",
       [](const Path& p) {
         auto m = pml::MCDropoutRegressor<double>::load(p);
         return m.predict(probe(probe_rows, m.options().input)).mean;
       }, load_and_save<pml::MCDropoutRegressor<double>>},
      {"MCDropoutClassifier",
       [](const Path& p) {
         auto m = pml::MCDropoutClassifier<double>::load(p);
         return m.predict_proba(probe(probe_rows, m.input_size()));
       }, load_and_save<pml::MCDropoutClassifier<double>>},
      {"BayesianCNN",
       [](const Path& p) {
         auto m = pml::BayesianCNN<double>::load(p);
         return m.predict_mean(probe(probe_rows, m.input_size()));
       }, load_and_save<pml::BayesianCNN<double>>},
      {"LSTMForecaster",
       [](const Path& p) {
         auto m = pml::LSTMForecaster<double>::load(p);
         pml::Rng rng(1);  // sample paths after a fixed series: the stream is the same on every machine
         return m.sample_paths(probe(m.min_history() + 2, 1), 3, 4, rng);
       }, load_and_save<pml::LSTMForecaster<double>>},
      {"BayesianSegNet",
       [](const Path& p) {
         auto m = pml::BayesianSegNet<double>::load(p);
         return m.predict_proba(probe(probe_rows, m.input_size()));
       }, load_and_save<pml::BayesianSegNet<double>>},
      {"DCGAN",
       [](const Path& p) {
         auto m = pml::DCGAN<double>::load(p);
         Eigen::MatrixXd z = probe(probe_rows, m.options().noise);
         return Eigen::MatrixXd(m.generate(z));
       }, load_and_save<pml::DCGAN<double>>},
      {"InfoGAN",
       [](const Path& p) {
         auto m = pml::InfoGAN<double>::load(p);
         const Eigen::MatrixXd z = probe(probe_rows, m.options().noise);
         Eigen::MatrixXd codes = probe(probe_rows, m.code_size());  // the categorical columns set to valid values below
         for (Eigen::Index i = 0; i < codes.rows(); ++i)
           for (std::size_t k = 0; k < m.options().categorical.size(); ++k) codes(i, Eigen::Index(k)) = double(i % m.options().categorical[k]);
         return Eigen::MatrixXd(m.generate(z, codes));
       }, load_and_save<pml::InfoGAN<double>>},
      {"GAN",
       [](const Path& p) {
         auto m = pml::GAN<double>::load(p);
         return Eigen::MatrixXd(m.discriminate(probe(probe_rows, m.options().output)));
       }, load_and_save<pml::GAN<double>>},
      {"HiddenMarkovModel",
       [](const Path& p) {
         const auto m = pml::HiddenMarkovModel<double>::load(p);
         // one sequence: the probe rows, or symbols 0, 1, ... for a categorical model
         Eigen::MatrixXd x = probe(probe_rows, std::max<Eigen::Index>(1, m.means().cols()));
         if (m.options().emission == pml::HMMEmission::categorical)
           for (Eigen::Index i = 0; i < probe_rows; ++i) x(i, 0) = double(i % m.emission_probabilities().cols());
         Eigen::MatrixXd out(probe_rows, m.options().states + 1);
         out << m.predict_proba(x), m.predict(x).cast<double>();
         return out;
       }, load_and_save<pml::HiddenMarkovModel<double>>},
      {"GaussianProcessRegressor",
       [](const Path& p) {
         const auto m = pml::GaussianProcessRegressor<double>::load(p);
         const auto pred = m.predict(probe(probe_rows, m.x_train().cols()));
         Eigen::MatrixXd out(probe_rows, 2);
         out << pred.mean, pred.variance;
         return out;
       }, load_and_save<pml::GaussianProcessRegressor<double>>},
      {"GaussianProcessClassifier",
       [](const Path& p) {
         const auto m = pml::GaussianProcessClassifier<double>::load(p);
         return Eigen::MatrixXd(m.predict_proba(probe(probe_rows, m.x_train().cols())));
       }, load_and_save<pml::GaussianProcessClassifier<double>>},
      {"SparseGaussianProcessRegressor",
       [](const Path& p) {
         const auto m = pml::SparseGaussianProcessRegressor<double>::load(p);
         const auto pred = m.predict(probe(probe_rows, m.inducing_inputs().cols()));
         Eigen::MatrixXd out(probe_rows, 2);
         out << pred.mean, pred.variance;
         return out;
       }, load_and_save<pml::SparseGaussianProcessRegressor<double>>},
      {"BetaBernoulliModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::BetaBernoulliModel<double>::load(p).posterior())); }, load_and_save<pml::BetaBernoulliModel<double>>},
      {"BetaBinomialModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::BetaBinomialModel<double>::load(p).posterior())); }, load_and_save<pml::BetaBinomialModel<double>>},
      {"DirichletCategoricalModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::DirichletCategoricalModel<double>::load(p).posterior())); }, load_and_save<pml::DirichletCategoricalModel<double>>},
      {"DirichletMultinomialModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::DirichletMultinomialModel<double>::load(p).posterior())); }, load_and_save<pml::DirichletMultinomialModel<double>>},
      {"GammaPoissonModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::GammaPoissonModel<double>::load(p).posterior())); }, load_and_save<pml::GammaPoissonModel<double>>},
      {"NormalGammaModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::NormalGammaModel<double>::load(p).posterior())); }, load_and_save<pml::NormalGammaModel<double>>},
      {"NormalKnownVarianceModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::NormalKnownVarianceModel<double>::load(p).posterior())); }, load_and_save<pml::NormalKnownVarianceModel<double>>},
      {"GammaKnownMeanModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::GammaKnownMeanModel<double>::load(p).posterior())); }, load_and_save<pml::GammaKnownMeanModel<double>>},
      {"NormalWishartModel", [](const Path& p) { return Eigen::MatrixXd(pml::detail::distribution_parameters(pml::NormalWishartModel<double>::load(p).posterior())); }, load_and_save<pml::NormalWishartModel<double>>},
  };
  return loaders;
}

}  // namespace pml_test
