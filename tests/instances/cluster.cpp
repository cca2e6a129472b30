// Explicit instantiations shared by every test executable (tests are built with PML_EXTERN_TEMPLATES,
// see pml/core/instantiation.hpp and tests/CMakeLists.txt): each model is compiled once per build instead
// of once per test file, and every member is checked to compile for float and double.
#include "pml/models/cluster/kmeans.hpp"
#include "pml/models/cluster/variational_gaussian_mixture.hpp"

template class pml::KMeans<float>;
template class pml::KMeans<double>;
template class pml::VariationalGaussianMixture<float>;
template class pml::VariationalGaussianMixture<double>;
