// Explicit instantiations shared by every test executable (tests are built with PML_EXTERN_TEMPLATES,
// see pml/core/instantiation.hpp and tests/CMakeLists.txt): each model is compiled once per build instead
// of once per test file, and every member is checked to compile for float and double.
#include "pml/models/linear.hpp"

template class pml::BayesianLinearRegression<float>;
template class pml::BayesianLinearRegression<double>;
template class pml::BayesianLogisticRegression<float>;
template class pml::BayesianLogisticRegression<double>;
