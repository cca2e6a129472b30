// Explicit instantiations shared by every test executable (see cluster.cpp).
#include "pml/models/deep.hpp"

template class pml::AutoEncoder<float>;
template class pml::AutoEncoder<double>;
template class pml::BayesByBackprop<float>;
template class pml::BayesByBackprop<double>;
template class pml::BayesianCNN<float>;
template class pml::BayesianCNN<double>;
template class pml::GAN<float>;
template class pml::GAN<double>;
template class pml::MCDropoutRegressor<float>;
template class pml::MCDropoutRegressor<double>;
template class pml::MCDropoutClassifier<float>;
template class pml::MCDropoutClassifier<double>;
template class pml::VAE<float>;
template class pml::VAE<double>;
template class pml::LSTMForecaster<float>;
template class pml::LSTMForecaster<double>;
template class pml::DCGAN<float>;
template class pml::DCGAN<double>;
template class pml::InfoGAN<float>;
template class pml::InfoGAN<double>;
template class pml::BayesianSegNet<float>;
template class pml::BayesianSegNet<double>;
