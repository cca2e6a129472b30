#pragma once
/// @file
/// Operations on pml::ad::Var, each recording one node with its backward pass (see tape.hpp).

#include "pml/autodiff/tape.hpp"

namespace pml::ad {
namespace detail {
template <Real T> void same_tape(const char* function, const Var<T>& a, const Var<T>& b) {
  if (a.tape != b.tape || a.tape == nullptr)
    pml::detail::throw_shape(function, "arguments must live on the same tape");
}
template <Real T> void same_shape(const char* function, const Var<T>& a, const Var<T>& b) {
  same_tape(function, a, b);
  if (a.rows() != b.rows() || a.cols() != b.cols())
    pml::detail::throw_shape(function, "shapes differ: " + std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + " and " +
                                           std::to_string(b.rows()) + "x" + std::to_string(b.cols()));
}
template <Real T, class F> Var<T> unary(Op op, const Var<T>& a, F forward) {
  Var<T> out = a.tape->push(op, a.id, -1, a.rows(), a.cols());
  out.value() = forward(a.value().array()).matrix();
  return out;
}
}  // namespace detail

/// Matrix product A B (one node; backward is two GEMMs).
template <Real T> Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::matmul", a, b);
  if (a.cols() != b.rows())
    pml::detail::throw_shape("ad::matmul", "inner dimensions differ: " + std::to_string(a.cols()) + " and " + std::to_string(b.rows()));
  Var<T> out = a.tape->push(detail::Op::matmul, a.id, b.id, a.rows(), b.cols());
  out.value().setZero();
  a.tape->template gemm<false, false>(out.value(), a.value(), b.value());
  return out;
}
/// Elementwise sum of equal shapes, or A plus a 1 x cols row vector added to every row (a bias).
template <Real T> Var<T> operator+(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::add", a, b);
  if (b.rows() == 1 && a.rows() != 1 && b.cols() == a.cols()) {
    Var<T> out = a.tape->push(detail::Op::add_row, a.id, b.id, a.rows(), a.cols());
    out.value() = a.value().rowwise() + b.value().row(0);
    return out;
  }
  detail::same_shape("ad::add", a, b);
  Var<T> out = a.tape->push(detail::Op::add, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value() + b.value();
  return out;
}
/// Elementwise difference A − B (same shape).
template <Real T> Var<T> operator-(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::sub", a, b);
  Var<T> out = a.tape->push(detail::Op::sub, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value() - b.value();
  return out;
}
/// Elementwise (Hadamard) product.
template <Real T> Var<T> operator*(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::mul", a, b);
  Var<T> out = a.tape->push(detail::Op::mul, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value().cwiseProduct(b.value());
  return out;
}
template <Real T> Var<T> operator-(const Var<T>& a) { return detail::unary(detail::Op::neg, a, [](auto x) { return -x; }); }  ///< −A, elementwise
/// c A for a constant c.
template <Real T> Var<T> operator*(T c, const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::scale, a.id, -1, a.rows(), a.cols(), c);
  out.value() = c * a.value();
  return out;
}
template <Real T> Var<T> exp(const Var<T>& a) { return detail::unary(detail::Op::exp, a, [](auto x) { return x.exp(); }); }  ///< exp(A), elementwise
/// log(A), elementwise (A > 0)
template <Real T> Var<T> log(const Var<T>& a) { return detail::unary(detail::Op::log, a, [](auto x) { return x.log(); }); }
/// A², elementwise
template <Real T> Var<T> square(const Var<T>& a) { return detail::unary(detail::Op::square, a, [](auto x) { return x.square(); }); }
/// √A, elementwise (A ≥ 0)
template <Real T> Var<T> sqrt(const Var<T>& a) { return detail::unary(detail::Op::sqrt, a, [](auto x) { return x.sqrt(); }); }
/// tanh(A), elementwise (SIMD kernel in float and double)
template <Real T> Var<T> tanh(const Var<T>& a) { return detail::unary(detail::Op::tanh, a, [](auto x) { return pml::simd::tanh(x); }); }
/// σ(A) = 1/(1 + e^−A), elementwise
template <Real T> Var<T> sigmoid(const Var<T>& a) {
  return detail::unary(detail::Op::sigmoid, a, [](auto x) { return pml::sigmoid(x); });
}
/// softplus(A) = log(1 + e^A), elementwise, stable for large |A|
template <Real T> Var<T> softplus(const Var<T>& a) {
  return detail::unary(detail::Op::softplus, a, [](auto x) { return pml::softplus(x); });
}
/// max(A, 0), elementwise
template <Real T> Var<T> relu(const Var<T>& a) { return detail::unary(detail::Op::relu, a, [](auto x) { return x.max(T(0)); }); }
/// Sum of all entries (1 x 1).
template <Real T> Var<T> sum(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::sum, a.id, -1, 1, 1);
  out.value()(0, 0) = a.value().sum();
  return out;
}
/// Mean of all entries (1 x 1).
template <Real T> Var<T> mean(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::mean, a.id, -1, 1, 1);
  out.value()(0, 0) = a.value().mean();
  return out;
}

/// \f$A^T B\f$ without forming the transpose.
template <Real T> Var<T> matmul_tn(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::matmul_tn", a, b);
  if (a.rows() != b.rows())
    pml::detail::throw_shape("ad::matmul_tn", "row counts differ: " + std::to_string(a.rows()) + " and " + std::to_string(b.rows()));
  Var<T> out = a.tape->push(detail::Op::matmul_tn, a.id, b.id, a.cols(), b.cols());
  out.value().setZero();
  a.tape->template gemm<true, false>(out.value(), a.value(), b.value());
  return out;
}
/// \f$A B^T\f$ without forming the transpose.
template <Real T> Var<T> matmul_nt(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::matmul_nt", a, b);
  if (a.cols() != b.cols())
    pml::detail::throw_shape("ad::matmul_nt", "column counts differ: " + std::to_string(a.cols()) + " and " + std::to_string(b.cols()));
  Var<T> out = a.tape->push(detail::Op::matmul_nt, a.id, b.id, a.rows(), b.rows());
  out.value().setZero();
  a.tape->template gemm<false, true>(out.value(), a.value(), b.value());
  return out;
}
/// A plus a rows x 1 column vector added to every column.
template <Real T> Var<T> add_col(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::add_col", a, b);
  if (b.cols() != 1 || b.rows() != a.rows())
    pml::detail::throw_shape("ad::add_col", "b must be " + std::to_string(a.rows()) + "x1, got " + std::to_string(b.rows()) + "x" +
                                                 std::to_string(b.cols()));
  Var<T> out = a.tape->push(detail::Op::add_col, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value().colwise() + b.value().col(0);
  return out;
}
/// Elementwise quotient of equal shapes.
template <Real T> Var<T> operator/(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::div", a, b);
  Var<T> out = a.tape->push(detail::Op::div, a.id, b.id, a.rows(), a.cols());
  out.value() = a.value().cwiseQuotient(b.value());
  return out;
}
/// A with column j multiplied by b(0, j) (b a 1 x cols row vector).
template <Real T> Var<T> mul_row(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::mul_row", a, b);
  if (b.rows() != 1 || b.cols() != a.cols())
    pml::detail::throw_shape("ad::mul_row", "b must be 1x" + std::to_string(a.cols()));
  Var<T> out = a.tape->push(detail::Op::mul_row, a.id, b.id, a.rows(), a.cols());
  out.value() = (a.value().array().rowwise() * b.value().row(0).array()).matrix();
  return out;
}
/// log(1 + A), elementwise, accurate for small A
template <Real T> Var<T> log1p(const Var<T>& a) { return detail::unary(detail::Op::log1p, a, [](auto x) { return x.log1p(); }); }
/// max(x, 0) + slope min(x, 0).
template <Real T> Var<T> leaky_relu(const Var<T>& a, T slope = T(0.01)) {
  Var<T> out = a.tape->push(detail::Op::leaky_relu, a.id, -1, a.rows(), a.cols(), slope);
  out.value() = (a.value().array() > T(0)).select(a.value().array(), slope * a.value().array()).matrix();
  return out;
}
/// Row sums (rows x 1).
template <Real T> Var<T> sum_rows(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::sum_rows, a.id, -1, a.rows(), 1, T(1));
  out.value() = a.value().rowwise().sum();
  return out;
}
/// Column sums (1 x cols).
template <Real T> Var<T> sum_cols(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::sum_cols, a.id, -1, 1, a.cols(), T(1));
  out.value() = a.value().colwise().sum();
  return out;
}
/// Row means (rows x 1).
template <Real T> Var<T> mean_rows(const Var<T>& a) {
  if (a.cols() == 0) pml::detail::throw_shape("ad::mean_rows", "a has no columns");
  Var<T> out = a.tape->push(detail::Op::sum_rows, a.id, -1, a.rows(), 1, T(1) / T(a.cols()));
  out.value() = a.value().rowwise().mean();
  return out;
}
/// Column means (1 x cols).
template <Real T> Var<T> mean_cols(const Var<T>& a) {
  if (a.rows() == 0) pml::detail::throw_shape("ad::mean_cols", "a has no rows");
  Var<T> out = a.tape->push(detail::Op::sum_cols, a.id, -1, 1, a.cols(), T(1) / T(a.rows()));
  out.value() = a.value().colwise().mean();
  return out;
}
/// Stable log-sum-exp of each row (rows x 1).
template <Real T> Var<T> log_sum_exp_rows(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::log_sum_exp_rows, a.id, -1, a.rows(), 1);
  out.value() = pml::log_sum_exp_rows(a.value());
  return out;
}
/// Softmax of each row.
template <Real T> Var<T> softmax(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::softmax_rows, a.id, -1, a.rows(), a.cols());
  auto v = out.value();
  v = a.value();
  for (Index i = 0; i < v.rows(); ++i) {
    v.row(i).array() = (v.row(i).array() - v.row(i).maxCoeff()).exp();
    v.row(i) /= v.row(i).sum();
  }
  return out;
}
/// Log-softmax of each row, \f$a - \mathrm{logsumexp}(a)\f$.
template <Real T> Var<T> log_softmax(const Var<T>& a) {
  Var<T> out = a.tape->push(detail::Op::log_softmax_rows, a.id, -1, a.rows(), a.cols());
  auto v = out.value();
  v = a.value();
  for (Index i = 0; i < v.rows(); ++i) {
    const T m = v.row(i).maxCoeff();
    v.row(i).array() -= m + std::log((v.row(i).array() - m).exp().sum());
  }
  return out;
}
/// Columns [first, first + count) of A.
template <Real T> Var<T> slice_cols(const Var<T>& a, Index first, Index count) {
  if (first < 0 || count < 0 || first + count > a.cols())
    pml::detail::throw_shape("ad::slice_cols", "columns [" + std::to_string(first) + ", " + std::to_string(first + count) +
                                                   ") outside 0.." + std::to_string(a.cols()));
  Var<T> out = a.tape->push(detail::Op::slice_cols, a.id, static_cast<int>(first), a.rows(), count);
  out.value() = a.value().middleCols(first, count);
  return out;
}
/// [A B], side by side.
template <Real T> Var<T> concat_cols(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::concat_cols", a, b);
  if (a.rows() != b.rows())
    pml::detail::throw_shape("ad::concat_cols", "row counts differ: " + std::to_string(a.rows()) + " and " + std::to_string(b.rows()));
  Var<T> out = a.tape->push(detail::Op::concat_cols, a.id, b.id, a.rows(), a.cols() + b.cols());
  out.value() << a.value(), b.value();
  return out;
}
/// A ⊙ mask for a constant mask (dropout): no gradient flows into the mask.
template <Real T, class Derived> Var<T> mask_mul(const Var<T>& a, const Eigen::MatrixBase<Derived>& mask) {
  if (mask.rows() != a.rows() || mask.cols() != a.cols()) pml::detail::throw_shape("ad::mask_mul", "mask shape differs from a");
  const Var<T> m = a.tape->constant(mask);
  Var<T> out = a.tape->push(detail::Op::mask_mul, a.id, m.id, a.rows(), a.cols());
  out.value() = a.value().cwiseProduct(m.value());
  return out;
}

/// Fused \f$\mathrm{act}(X + \mathbf 1 b)\f$ for a 1 x cols bias b: one node and one pass over the
/// data instead of two (the bias-plus-activation of every dense layer).
template <Real T> Var<T> bias_activation(const Var<T>& x, const Var<T>& bias, Activation act, T slope = T(0.01)) {
  detail::same_tape("ad::bias_activation", x, bias);
  if (bias.rows() != 1 || bias.cols() != x.cols())
    pml::detail::throw_shape("ad::bias_activation", "bias must be 1x" + std::to_string(x.cols()) + ", got " +
                                                        std::to_string(bias.rows()) + "x" + std::to_string(bias.cols()));
  Var<T> out = x.tape->push(detail::Op::bias_activation, x.id, bias.id, x.rows(), x.cols(), T(static_cast<int>(act)), -1, slope);
  auto v = out.value();
  v = x.value().rowwise() + bias.value().row(0);
  switch (act) {  // in place, without a temporary
    case Activation::relu: v = v.cwiseMax(T(0)); break;
    case Activation::leaky_relu: v.array() = (v.array() > T(0)).select(v.array(), slope * v.array()); break;
    case Activation::tanh: v.array() = pml::simd::tanh(v.array()); break;
    case Activation::sigmoid: v.array() = pml::sigmoid(v.array()); break;
    case Activation::softplus: v.array() = pml::softplus(v.array()); break;
    case Activation::identity: break;
  }
  return out;
}

/// A ⊙ mask for a mask already on the tape (e.g. a leaf filled in place): no gradient flows into it.
template <Real T> Var<T> mask_mul(const Var<T>& a, const Var<T>& mask) {
  detail::same_shape("ad::mask_mul", a, mask);
  Var<T> out = a.tape->push(detail::Op::mask_mul, a.id, mask.id, a.rows(), a.cols());
  out.value() = a.value().cwiseProduct(mask.value());
  return out;
}

// ---- fused probabilistic nodes (one node each, 1 x 1 outputs are sums over all entries) ----

/// Bernoulli negative log-likelihood from logits (binary cross-entropy), summed:
/// \f$\sum\mathrm{softplus}(l) - t\,l\f$, stable for any logit.
template <Real T> Var<T> bce_with_logits(const Var<T>& logits, const Var<T>& targets) {
  detail::same_shape("ad::bce_with_logits", logits, targets);
  Var<T> out = logits.tape->push(detail::Op::bce_with_logits, logits.id, targets.id, 1, 1);
  out.value()(0, 0) = (pml::softplus(logits.value().array()) - targets.value().array() * logits.value().array()).sum();
  return out;
}
/// Gaussian negative log-likelihood with a predicted log-variance s (Kendall & Gal 2017), summed:
/// \f$\sum\frac12(\log2\pi + s + (y-\mu)^2e^{-s})\f$.
template <Real T> Var<T> gaussian_nll(const Var<T>& mean, const Var<T>& log_variance, const Var<T>& y) {
  detail::same_shape("ad::gaussian_nll", mean, log_variance);
  detail::same_shape("ad::gaussian_nll", mean, y);
  Var<T> out = mean.tape->push(detail::Op::gaussian_nll, mean.id, log_variance.id, 1, 1, T(0), y.id);
  out.value()(0, 0) = (T(0.5) * (constants<T>::log_two_pi + log_variance.value().array() +
                                 (y.value() - mean.value()).array().square() * (-log_variance.value().array()).exp()))
                          .sum();
  return out;
}
/// Softmax cross-entropy \f$-\sum_{n,k}t_{nk}\log\mathrm{softmax}(l_n)_k\f$ (rows of targets, e.g. one-hot).
template <Real T> Var<T> softmax_cross_entropy(const Var<T>& logits, const Var<T>& targets) {
  detail::same_shape("ad::softmax_cross_entropy", logits, targets);
  Var<T> out = logits.tape->push(detail::Op::softmax_cross_entropy, logits.id, targets.id, 1, 1);
  const auto l = logits.value();
  const auto t = targets.value();
  T total = 0;
  for (Index i = 0; i < l.rows(); ++i) {
    const T m = l.row(i).maxCoeff();
    const T lse = m + std::log((l.row(i).array() - m).exp().sum());
    total -= (t.row(i).array() * (l.row(i).array() - lse)).sum();
  }
  out.value()(0, 0) = total;
  return out;
}
/// \f$KL(\mathcal N(\mu,e^{s})\,\|\,\mathcal N(0,1))\f$ summed over entries, in closed form
/// \f$\frac12\sum(\mu^2 + e^s - 1 - s)\f$ (Kingma & Welling 2013, appendix B).
template <Real T> Var<T> kl_standard_normal(const Var<T>& mean, const Var<T>& log_variance) {
  detail::same_shape("ad::kl_standard_normal", mean, log_variance);
  Var<T> out = mean.tape->push(detail::Op::kl_standard_normal, mean.id, log_variance.id, 1, 1);
  out.value()(0, 0) =
      T(0.5) * (mean.value().array().square() + log_variance.value().array().exp() - T(1) - log_variance.value().array()).sum();
  return out;
}
/// The reparameterised sample \f$\mu + \sigma\odot\epsilon\f$ for a constant noise draw ε.
template <Real T, class Derived>
Var<T> reparameterize(const Var<T>& mean, const Var<T>& stddev, const Eigen::MatrixBase<Derived>& eps) {
  detail::same_shape("ad::reparameterize", mean, stddev);
  if (eps.rows() != mean.rows() || eps.cols() != mean.cols()) pml::detail::throw_shape("ad::reparameterize", "eps shape differs from mean");
  const Var<T> e = mean.tape->constant(eps);
  Var<T> out = mean.tape->push(detail::Op::reparameterize, mean.id, stddev.id, mean.rows(), mean.cols(), T(0), e.id);
  out.value() = mean.value() + stddev.value().cwiseProduct(e.value());
  return out;
}
/// \f$\sum_i\log\mathcal N(y_i\mid\mu_i,\sigma_i)\f$ (Stan's normal_lpdf), one node: `mean` and `stddev`
/// each have y's shape or are 1 x 1 (shared by every entry). Gradients flow to all three.
template <Real T> Var<T> normal_log_prob(const Var<T>& y, const Var<T>& mean, const Var<T>& stddev) {
  detail::same_tape("ad::normal_log_prob", y, mean);
  detail::same_tape("ad::normal_log_prob", y, stddev);
  auto fits = [&](const Var<T>& p) { return p.size_is(1, 1) || p.size_is(y.rows(), y.cols()); };
  if (!fits(mean) || !fits(stddev))
    pml::detail::throw_shape("ad::normal_log_prob", "mean and stddev must be 1x1 or " + std::to_string(y.rows()) + "x" +
                                                        std::to_string(y.cols()));
  if (!(stddev.value().array() > T(0)).all())
    throw std::domain_error("ad::normal_log_prob: stddev must be positive, got min " + std::to_string(stddev.value().minCoeff()));
  Var<T> out = y.tape->push(detail::Op::normal_log_prob, y.id, mean.id, 1, 1, T(0), stddev.id);
  const auto yv = y.value(), m = mean.value(), s = stddev.value();  // (after push: it may move the arena)
  const T n = T(yv.size());
  if (m.size() == 1 && s.size() == 1 && yv.size() != 1) {  // shared parameters: two sums, kept for backward
    const auto d = yv.array() - m(0, 0);
    const T r = d.sum(), r2 = d.square().sum(), sd = s(0, 0);
    y.tape->stash(out.id, r, r2);
    out.value()(0, 0) = -T(0.5) * r2 / (sd * sd) - n * std::log(sd) - n * constants<T>::half_log_two_pi;
    return out;
  }
  const bool m1 = m.size() == 1, s1 = s.size() == 1;
  if (!m1 && !s1) {  // every entry its own mean and sd (e.g. log q(w) of a weight posterior): vectorised
    out.value()(0, 0) = -T(0.5) * ((yv.array() - m.array()) / s.array()).square().sum() - s.array().log().sum() - n * constants<T>::half_log_two_pi;
    return out;
  }
  T quad = 0, logs = 0;
  for (Index i = 0; i < yv.size(); ++i) {
    const T sd = s1 ? s(0, 0) : s(i);
    const T z = (yv(i) - (m1 ? m(0, 0) : m(i))) / sd;
    quad += z * z;
    logs += std::log(sd);
  }
  out.value()(0, 0) = -T(0.5) * quad - logs - n * constants<T>::half_log_two_pi;
  return out;
}

/// The reparameterised sample for noise already on the tape (e.g. a constant filled in place).
template <Real T> Var<T> reparameterize(const Var<T>& mean, const Var<T>& stddev, const Var<T>& eps) {
  detail::same_shape("ad::reparameterize", mean, stddev);
  detail::same_shape("ad::reparameterize", mean, eps);
  Var<T> out = mean.tape->push(detail::Op::reparameterize, mean.id, stddev.id, mean.rows(), mean.cols(), T(0), eps.id);
  out.value() = mean.value() + stddev.value().cwiseProduct(eps.value());
  return out;
}

/// Log density of the two-component scale-mixture prior (Blundell et al. 2015, eq. 7), summed over entries.
template <Real T> Var<T> scale_mixture_log_prob(const Var<T>& w, T pi, T sigma1, T sigma2) {
  check_probability("ad::scale_mixture_log_prob", "pi", pi);
  check_positive("ad::scale_mixture_log_prob", "sigma1", sigma1);
  check_positive("ad::scale_mixture_log_prob", "sigma2", sigma2);
  Var<T> out = w.tape->push(detail::Op::scale_mixture_log_prob, w.id, -1, 1, 1, pi, -1, sigma1, sigma2);
  // log(pi N1 + (1-pi) N2) = max(l1, l2) + log1p(exp(-|l1 - l2|)), l_k = log weight_k - log sigma_k - w^2 / (2 sigma_k^2);
  // array expressions, so Eigen's packet exp / log1p run (the scalar functions hit slow underflow paths
  // for the narrow component, whose l2 is hugely negative for most weights)
  const auto w2 = w.value().array().square();
  const T c1 = std::log(pi) - std::log(sigma1), c2 = std::log1p(-pi) - std::log(sigma2);
  const T h1 = T(0.5) / (sigma1 * sigma1), h2 = T(0.5) / (sigma2 * sigma2);
  const auto l1 = c1 - h1 * w2, l2 = c2 - h2 * w2;
  out.value()(0, 0) = (l1.max(l2) + (-(l1 - l2).abs()).exp().log1p()).sum() - T(w2.size()) * constants<T>::half_log_two_pi;
  return out;
}

}  // namespace pml::ad
