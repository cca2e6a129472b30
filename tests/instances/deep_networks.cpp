// Explicit instantiations shared by every test executable (tests are built with PML_EXTERN_TEMPLATES,
// see pml/core/instantiation.hpp and tests/CMakeLists.txt): each model is compiled once per build instead
// of once per test file, and every member is checked to compile for float and double.
#include "pml/models/deep/bayes_by_backprop.hpp"
#include "pml/models/deep/bayesian_cnn.hpp"
#include "pml/models/deep/mc_dropout.hpp"
#include "pml/models/deep/mc_dropout_classifier.hpp"
#include "pml/models/deep/lstm_forecaster.hpp"
#include "pml/models/deep/bayesian_segnet.hpp"

template class pml::BayesByBackprop<float>;
template class pml::BayesByBackprop<double>;
template class pml::BayesianCNN<float>;
template class pml::BayesianCNN<double>;
template class pml::MCDropoutRegressor<float>;
template class pml::MCDropoutRegressor<double>;
template class pml::MCDropoutClassifier<float>;
template class pml::MCDropoutClassifier<double>;
template class pml::LSTMForecaster<float>;
template class pml::LSTMForecaster<double>;
template class pml::BayesianSegNet<float>;
template class pml::BayesianSegNet<double>;
