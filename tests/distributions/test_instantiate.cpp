// Every distribution and conjugate class compiles in full (all members) for float and double:
// explicit instantiation catches a member that only breaks for one scalar type.
#include <catch2/catch.hpp>

#include "pml/conjugate.hpp"
#include "pml/distributions.hpp"

#define PML_INSTANTIATE(T)                                                                                    \
  template class pml::Bernoulli<T>;                                                                           \
  template class pml::Binomial<T>;                                                                            \
  template class pml::Categorical<T>;                                                                         \
  template class pml::Multinomial<T>;                                                                         \
  template class pml::Poisson<T>;                                                                             \
  template class pml::Normal<T>;                                                                              \
  template class pml::Laplace<T>;                                                                             \
  template class pml::Beta<T>;                                                                                \
  template class pml::Gamma<T>;                                                                               \
  template class pml::InverseGamma<T>;                                                                        \
  template class pml::StudentT<T>;                                                                            \
  template class pml::ScaleMixtureNormal<T>;                                                                  \
  template class pml::MultivariateNormal<T>;                                                                  \
  template class pml::MultivariateNormalDiag<T>;                                                              \
  template class pml::MultivariateStudentT<T>;                                                                \
  template class pml::Dirichlet<T>;                                                                           \
  template class pml::Wishart<T>;                                                                             \
  template class pml::NormalGamma<T>;                                                                         \
  template class pml::NormalWishart<T>;                                                                       \
  template class pml::BetaBinomial<T>;                                                                        \
  template class pml::DirichletMultinomial<T>;                                                                \
  template class pml::NegativeBinomial<T>;                                                                    \
  template class pml::BetaBernoulliModel<T>;                                                                  \
  template class pml::BetaBinomialModel<T>;                                                                   \
  template class pml::DirichletCategoricalModel<T>;                                                           \
  template class pml::DirichletMultinomialModel<T>;                                                           \
  template class pml::NormalKnownVarianceModel<T>;                                                            \
  template class pml::GammaKnownMeanModel<T>;                                                                 \
  template class pml::NormalGammaModel<T>;                                                                    \
  template class pml::NormalWishartModel<T>;                                                                  \
  template class pml::GammaPoissonModel<T>;

PML_INSTANTIATE(float)
PML_INSTANTIATE(double)

TEST_CASE("float and double give the same answers to float precision", "[distributions][float]") {
  pml::Rng rng(1);
  const Eigen::MatrixXd x = pml::MultivariateNormal<double>(Eigen::Vector2d(1, 2), Eigen::Matrix2d::Identity()).sample(rng, 50);
  const pml::NormalWishart<double> prior_d(Eigen::Vector2d::Zero(), 1.0, 3.0, Eigen::Matrix2d::Identity());
  const pml::NormalWishart<float> prior_f(Eigen::Vector2f::Zero(), 1.0f, 3.0f, Eigen::Matrix2f::Identity());
  const double lml_d = pml::NormalWishartModel<double>(prior_d).log_marginal_likelihood(x);
  const float lml_f = pml::NormalWishartModel<float>(prior_f).log_marginal_likelihood(x.cast<float>());
  CHECK(lml_f == Approx(lml_d).epsilon(1e-5));
  CHECK(pml::Dirichlet<float>(Eigen::Vector3f(1, 2, 3)).entropy() ==
        Approx(pml::Dirichlet<double>(Eigen::Vector3d(1, 2, 3)).entropy()).epsilon(1e-5));
  CHECK(pml::Wishart<float>(4.0f, Eigen::Matrix2f::Identity()).entropy() ==
        Approx(pml::Wishart<double>(4.0, Eigen::Matrix2d::Identity()).entropy()).epsilon(1e-5));
}
