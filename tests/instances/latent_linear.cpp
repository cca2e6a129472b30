// Explicit instantiations shared by every test executable (see cluster.cpp).
#include "pml/models/latent.hpp"
#include "pml/models/linear.hpp"

template class pml::PCA<float>;
template class pml::PCA<double>;
template class pml::ProbabilisticPCA<float>;
template class pml::ProbabilisticPCA<double>;
template class pml::BayesianLinearRegression<float>;
template class pml::BayesianLinearRegression<double>;
template class pml::BayesianLogisticRegression<float>;
template class pml::BayesianLogisticRegression<double>;
