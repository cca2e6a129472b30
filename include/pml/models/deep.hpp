#pragma once
/// @file
/// The deep probabilistic models: AutoEncoder, VAE, Bayes by Backprop (dense and BayesianCNN), MC dropout (regression with the
/// heteroscedastic head, and the convolutional MCDropoutClassifier), the Bayesian LSTMForecaster, the MC dropout BayesianSegNet, GAN, DCGAN and InfoGAN.

#include "pml/models/deep/autoencoder.hpp"
#include "pml/models/deep/bayes_by_backprop.hpp"
#include "pml/models/deep/bayesian_cnn.hpp"
#include "pml/models/deep/bayesian_segnet.hpp"
#include "pml/models/deep/dcgan.hpp"
#include "pml/models/deep/gan.hpp"
#include "pml/models/deep/infogan.hpp"
#include "pml/models/deep/lstm_forecaster.hpp"
#include "pml/models/deep/mc_dropout.hpp"
#include "pml/models/deep/mc_dropout_classifier.hpp"
#include "pml/models/deep/vae.hpp"
