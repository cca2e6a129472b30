#pragma once
/// @file
/// Operations on pml::ad::Var, each recording one node on the tape (see tape.hpp). One header per
/// family, each op's forward and backward pass side by side in its own struct there:
///   - ops/linear_algebra.hpp: matmul, matmul_tn, matmul_nt, slice_cols, concat_cols;
///   - ops/elementwise.hpp: + - * / with broadcasting, add_col, mul_row, mask_mul, exp, log, log1p,
///     square, sqrt, the activations and the fused bias_activation;
///   - ops/reductions.hpp: sum, mean, sum_rows, sum_cols, mean_rows, mean_cols, log_sum_exp_rows,
///     softmax, log_softmax;
///   - ops/probabilistic.hpp: the losses and probabilistic nodes bce_with_logits, gaussian_nll,
///     softmax_cross_entropy, kl_standard_normal, reparameterize, scale_mixture_log_prob, normal_log_prob;
///   - ops/convolution.hpp: conv2d, conv_transpose2d, im2col, col2im, max_pool2d, max_unpool2d,
///     avg_pool2d, global_avg_pool2d, reshape, add_channel_bias, channel_affine, batch_standardize.

#include "pml/autodiff/ops/convolution.hpp"
#include "pml/autodiff/ops/elementwise.hpp"
#include "pml/autodiff/ops/linear_algebra.hpp"
#include "pml/autodiff/ops/probabilistic.hpp"
#include "pml/autodiff/ops/reductions.hpp"
#include "pml/autodiff/tape.hpp"
