// Explicit instantiations shared by every test executable (tests are built with PML_EXTERN_TEMPLATES,
// see pml/core/instantiation.hpp and tests/CMakeLists.txt): each model is compiled once per build instead
// of once per test file, and every member is checked to compile for float and double.
#include "pml/models/deep/autoencoder.hpp"
#include "pml/models/deep/vae.hpp"
#include "pml/models/deep/gan.hpp"
#include "pml/models/deep/dcgan.hpp"
#include "pml/models/deep/infogan.hpp"

template class pml::AutoEncoder<float>;
template class pml::AutoEncoder<double>;
template class pml::VAE<float>;
template class pml::VAE<double>;
template class pml::GAN<float>;
template class pml::GAN<double>;
template class pml::DCGAN<float>;
template class pml::DCGAN<double>;
template class pml::InfoGAN<float>;
template class pml::InfoGAN<double>;
