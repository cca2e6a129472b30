// Explicit instantiations shared by every test executable, the tool and the examples (PML_EXTERN_TEMPLATES,
// see pml/core/instantiation.hpp and the top-level CMakeLists.txt): the Gaussian processes and their kernels,
// compiled once per build instead of once per file that uses them.
#include "pml/models/gaussian_process.hpp"

template class pml::Kernel<float>;
template class pml::Kernel<double>;
template class pml::GaussianProcessRegressor<float>;
template class pml::GaussianProcessRegressor<double>;
template class pml::GaussianProcessClassifier<float>;
template class pml::GaussianProcessClassifier<double>;
template class pml::SparseGaussianProcessRegressor<float>;
template class pml::SparseGaussianProcessRegressor<double>;
