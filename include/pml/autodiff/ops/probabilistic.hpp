#pragma once
/// @file
/// Losses and probabilistic nodes, each one fused node with a 1 x 1 output summed over all entries
/// (except reparameterize and reparameterize_variance, elementwise samples): bce_with_logits, gaussian_nll, softmax_cross_entropy,
/// kl_standard_normal, reparameterize, reparameterize_variance, scale_mixture_log_prob, normal_log_prob. Each op's forward and
/// backward pass are side by side in its struct.

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "pml/autodiff/ops/common.hpp"

namespace pml::ad {
namespace detail {

/// Σ softplus(l) - t l for logits l (a) and targets t (b): dl += σ(l) - t, dt -= l.
template <Real T> struct BceWithLogits {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v(0, 0) = (pml::softplus(t.value(n.a).array()) - t.value(n.b).array() * t.value(n.a).array()).sum();
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a).array() += g(0, 0) * (pml::sigmoid(t.value(n.a).array()) - t.value(n.b).array());
    if (n.grad_b) t.adjoint(n.b).array() -= g(0, 0) * t.value(n.a).array();
  }
};

/// Σ 1/2 (log 2π + s + (y - μ)² e^-s) for μ (a), the log variance s (b) and y (c).
template <Real T> struct GaussianNll {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto mu = t.value(n.a), s = t.value(n.b), y = t.value(n.c);
    v(0, 0) = (T(0.5) * (constants<T>::log_two_pi + s.array() + (y - mu).array().square() * (-s.array()).exp())).sum();
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const auto r = (t.value(n.c) - t.value(n.a)).array();
    const auto inv = (-t.value(n.b).array()).exp();
    if (n.grad_a) t.adjoint(n.a).array() -= g(0, 0) * r * inv;
    if (n.grad_b) t.adjoint(n.b).array() += g(0, 0) * T(0.5) * (T(1) - r.square() * inv);
    if (n.grad_c) t.adjoint(n.c).array() += g(0, 0) * r * inv;
  }
};

/// -Σ t log softmax(l) for logits l (a) and targets t (b), row by row: dl = softmax(l) rowsum(t) - t.
template <Real T> struct SoftmaxCrossEntropy {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto l = t.value(n.a);
    const auto y = t.value(n.b);
    T total = 0;
    for (Index i = 0; i < l.rows(); ++i) {
      const T m = l.row(i).maxCoeff();
      const T lse = m + std::log((l.row(i).array() - m).exp().sum());
      total -= (y.row(i).array() * (l.row(i).array() - lse)).sum();
    }
    v(0, 0) = total;
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    auto dl = t.adjoint(n.a);
    const auto l = t.value(n.a);
    const auto y = t.value(n.b);
    for (Index i = 0; i < l.rows(); ++i) {
      const T m = l.row(i).maxCoeff();
      const T lse = m + std::log((l.row(i).array() - m).exp().sum());
      if (n.grad_a) dl.row(i).array() += g(0, 0) * ((l.row(i).array() - lse).exp() * y.row(i).sum() - y.row(i).array());
      if (n.grad_b) t.adjoint(n.b).row(i).array() -= g(0, 0) * (l.row(i).array() - lse);
    }
  }
};

/// Σ 1/2 (μ² + e^s - 1 - s) for μ (a) and the log variance s (b).
template <Real T> struct KlStandardNormal {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto mu = t.value(n.a), s = t.value(n.b);
    v(0, 0) = T(0.5) * (mu.array().square() + s.array().exp() - T(1) - s.array()).sum();
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a).array() += g(0, 0) * t.value(n.a).array();
    if (n.grad_b) t.adjoint(n.b).array() += g(0, 0) * T(0.5) * (t.value(n.b).array().exp() - T(1));
  }
};

/// z = μ + σ ⊙ ε for μ (a), σ (b) and the noise ε (c), which gets no gradient.
template <Real T> struct Reparameterize {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a) + t.value(n.b).cwiseProduct(t.value(n.c)); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) t.adjoint(n.b).array() += g.array() * t.value(n.c).array();
  }
};

/// μ (a) + √(v (b) + δ) ⊙ ε (c), δ = min/ε of T: the sample of a mean and a variance in one pass each way
/// (local reparameterisation); dμ += g, dv += g ε / (2 √(v + δ)).
template <Real T> struct ReparameterizeVariance {
  static constexpr T floor = std::numeric_limits<T>::min() / std::numeric_limits<T>::epsilon();
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v = (t.value(n.a).array() + (t.value(n.b).array() + floor).sqrt() * t.value(n.c).array()).matrix();
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) t.adjoint(n.b).array() += g.array() * t.value(n.c).array() / (T(2) * (t.value(n.b).array() + floor).sqrt());
  }
};

/// Σ log(π N(w | 0, σ1²) + (1 - π) N(w | 0, σ2²)) for the weights w (a).
template <Real T> struct ScaleMixtureLogProb {
  struct Data {
    T pi, sigma1, sigma2;  ///< the first component's weight and the two standard deviations
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Data d = op_data<Data>(n);
    // log(pi N1 + (1-pi) N2) = max(l1, l2) + log1p(exp(-|l1 - l2|)), l_k = log weight_k - log sigma_k - w^2 / (2 sigma_k^2);
    // array expressions, so Eigen's packet exp / log1p run (the scalar functions hit slow underflow paths
    // for the narrow component, whose l2 is hugely negative for most weights)
    const auto w2 = t.value(n.a).array().square();
    const T c1 = std::log(d.pi) - std::log(d.sigma1), c2 = std::log1p(-d.pi) - std::log(d.sigma2);
    const T h1 = T(0.5) / (d.sigma1 * d.sigma1), h2 = T(0.5) / (d.sigma2 * d.sigma2);
    const auto l1 = c1 - h1 * w2, l2 = c2 - h2 * w2;
    v(0, 0) = (l1.max(l2) + (-(l1 - l2).abs()).exp().log1p()).sum() - T(w2.size()) * constants<T>::half_log_two_pi;
  }
  // d/dw = -w (r1 / s1^2 + (1 - r1) / s2^2), r1 = sigmoid(l1 - l2) the first component's responsibility
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const Data d = op_data<Data>(n);
    const auto w = t.value(n.a).array();
    const T c = std::log(d.pi) - std::log(d.sigma1) - std::log1p(-d.pi) + std::log(d.sigma2);
    const T inv1 = T(1) / (d.sigma1 * d.sigma1), inv2 = T(1) / (d.sigma2 * d.sigma2);
    // one statement: the sigmoid expression refers to temporaries that live until its end
    t.adjoint(n.a).array() -= g(0, 0) * w * (inv2 + (inv1 - inv2) * pml::sigmoid(c - T(0.5) * (inv1 - inv2) * w.square()));
  }
};

/// Σ log N(y | μ, σ) for y (a), μ (b) and σ (c); μ and σ of y's shape or 1 x 1.
template <Real T> struct NormalLogProb {
  struct Data {
    T r, r2;  ///< with μ and σ both 1 x 1: Σ (y - μ) and Σ (y - μ)², kept by the forward pass for the backward
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto yv = t.value(n.a), m = t.value(n.b), s = t.value(n.c);
    const T count = T(yv.size());
    if (m.size() == 1 && s.size() == 1 && yv.size() != 1) {  // shared parameters: two sums, kept for backward
      const auto d = yv.array() - m(0, 0);
      const T r = d.sum(), r2 = d.square().sum(), sd = s(0, 0);
      set_op_data(n, Data{r, r2});
      v(0, 0) = -T(0.5) * r2 / (sd * sd) - count * std::log(sd) - count * constants<T>::half_log_two_pi;
      return;
    }
    const bool m1 = m.size() == 1, s1 = s.size() == 1;
    if (!m1 && !s1) {  // every entry its own mean and sd (e.g. log q(w) of a weight posterior): vectorised
      v(0, 0) = -T(0.5) * ((yv.array() - m.array()) / s.array()).square().sum() - s.array().log().sum() - count * constants<T>::half_log_two_pi;
      return;
    }
    T quad = 0, logs = 0;
    for (Index i = 0; i < yv.size(); ++i) {
      const T sd = s1 ? s(0, 0) : s(i);
      const T z = (yv(i) - (m1 ? m(0, 0) : m(i))) / sd;
      quad += z * z;
      logs += std::log(sd);
    }
    v(0, 0) = -T(0.5) * quad - logs - count * constants<T>::half_log_two_pi;
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const auto y = t.value(n.a), mu = t.value(n.b), sigma = t.value(n.c);
    const bool mu1 = mu.size() == 1 && y.size() != 1, s1 = sigma.size() == 1 && y.size() != 1;
    const T gg = g(0, 0);
    if (mu1 && s1) {  // the forward pass kept r = sum(y - mu) and r2 = sum (y - mu)^2
      const Data d = op_data<Data>(n);
      const T m = mu(0, 0), s = sigma(0, 0), inv2 = T(1) / (s * s);
      if (n.grad_b) t.adjoint(n.b)(0, 0) += gg * d.r * inv2;
      if (n.grad_c) t.adjoint(n.c)(0, 0) += gg * (d.r2 * inv2 / s - T(y.size()) / s);
      if (n.grad_a) t.adjoint(n.a).array() -= gg * (y.array() - m) * inv2;
      return;
    }
    if (!mu1 && !s1) {  // vectorised: every entry its own mean and sd
      const auto z = (y.array() - mu.array()) / sigma.array();
      if (n.grad_a) t.adjoint(n.a).array() -= gg * z / sigma.array();
      if (n.grad_b) t.adjoint(n.b).array() += gg * z / sigma.array();
      if (n.grad_c) t.adjoint(n.c).array() += gg * (z.square() - T(1)) / sigma.array();
      return;
    }
    for (Index i = 0; i < y.size(); ++i) {
      const T m = mu1 ? mu(0, 0) : mu(i), s = s1 ? sigma(0, 0) : sigma(i);
      const T z = (y(i) - m) / s;
      if (n.grad_a) t.adjoint(n.a)(i) -= gg * z / s;
      if (n.grad_b) t.adjoint(n.b)(mu1 ? 0 : i) += gg * z / s;
      if (n.grad_c) t.adjoint(n.c)(s1 ? 0 : i) += gg * (z * z - T(1)) / s;
    }
  }
};

}  // namespace detail

/// Bernoulli negative log-likelihood from logits (binary cross-entropy), summed:
/// \f$\sum\mathrm{softplus}(l) - t\,l\f$, stable for any logit. `logits` and `targets` have one shape;
/// the result is 1 x 1.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> bce_with_logits(const Var<T>& logits, const Var<T>& targets) {
  detail::same_shape("ad::bce_with_logits", logits, targets);
  return logits.tape->template record<detail::BceWithLogits<T>>(1, 1, {logits.id, targets.id});
}
/// Gaussian negative log-likelihood with a predicted log-variance s (Kendall & Gal 2017), summed:
/// \f$\sum\frac12(\log2\pi + s + (y-\mu)^2e^{-s})\f$. The three arguments have one shape; the result is 1 x 1.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> gaussian_nll(const Var<T>& mean, const Var<T>& log_variance, const Var<T>& y) {
  detail::same_shape("ad::gaussian_nll", mean, log_variance);
  detail::same_shape("ad::gaussian_nll", mean, y);
  return mean.tape->template record<detail::GaussianNll<T>>(1, 1, {mean.id, log_variance.id, y.id});
}
/// Softmax cross-entropy \f$-\sum_{n,k}t_{nk}\log\mathrm{softmax}(l_n)_k\f$ of logits (N x K, one row per
/// case) against targets of the same shape (rows of probabilities, e.g. one-hot); the result is 1 x 1.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> softmax_cross_entropy(const Var<T>& logits, const Var<T>& targets) {
  detail::same_shape("ad::softmax_cross_entropy", logits, targets);
  return logits.tape->template record<detail::SoftmaxCrossEntropy<T>>(1, 1, {logits.id, targets.id});
}
/// \f$KL(\mathcal N(\mu,e^{s})\,\|\,\mathcal N(0,1))\f$ summed over entries, in closed form
/// \f$\frac12\sum(\mu^2 + e^s - 1 - s)\f$ (Kingma & Welling 2013, appendix B). `mean` and
/// `log_variance` have one shape; the result is 1 x 1.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> kl_standard_normal(const Var<T>& mean, const Var<T>& log_variance) {
  detail::same_shape("ad::kl_standard_normal", mean, log_variance);
  return mean.tape->template record<detail::KlStandardNormal<T>>(1, 1, {mean.id, log_variance.id});
}
/// The reparameterised sample \f$\mu + \sigma\odot\epsilon\f$ for a noise draw ε, put on the tape as a
/// constant (no gradient flows into it). `mean`, `stddev` and `eps` have one shape, which the result has.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T, class Derived>
Var<T> reparameterize(const Var<T>& mean, const Var<T>& stddev, const Eigen::MatrixBase<Derived>& eps) {
  detail::same_shape("ad::reparameterize", mean, stddev);
  if (eps.rows() != mean.rows() || eps.cols() != mean.cols()) pml::detail::throw_shape("ad::reparameterize", "eps shape differs from mean");
  const Var<T> e = mean.tape->constant(eps);
  return mean.tape->template record<detail::Reparameterize<T>>(mean.rows(), mean.cols(), {mean.id, stddev.id, e.id});
}
/// The reparameterised sample for noise already on the tape (e.g. a constant filled in place); no
/// gradient flows into `eps`. The three arguments have one shape, which the result has.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> reparameterize(const Var<T>& mean, const Var<T>& stddev, const Var<T>& eps) {
  detail::same_shape("ad::reparameterize", mean, stddev);
  detail::same_shape("ad::reparameterize", mean, eps);
  return mean.tape->template record<detail::Reparameterize<T>>(mean.rows(), mean.cols(), {mean.id, stddev.id, eps.id});
}
/// The reparameterised sample \f$\mu + \sqrt{v + \delta}\odot\epsilon\f$ from a mean and a *variance* (the local
/// reparameterisation of Kingma, Salimans & Welling 2015: a pre-activation's Gaussian N(x μ, x² σ²)), δ the
/// smallest normal number over the machine epsilon of T (about 5e-32 in float) so that the derivative stays
/// finite where v = 0; one node in place of add, sqrt and reparameterize. No gradient flows into `eps`; the
/// three arguments have one shape, which the result has.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> reparameterize_variance(const Var<T>& mean, const Var<T>& variance, const Var<T>& eps) {
  detail::same_shape("ad::reparameterize_variance", mean, variance);
  detail::same_shape("ad::reparameterize_variance", mean, eps);
  return mean.tape->template record<detail::ReparameterizeVariance<T>>(mean.rows(), mean.cols(), {mean.id, variance.id, eps.id});
}
/// Log density of the two-component scale-mixture prior \f$\pi\mathcal N(0,\sigma_1^2) + (1-\pi)\mathcal N(0,\sigma_2^2)\f$
/// (Blundell et al. 2015, eq. 7) summed over the entries of `w` (any shape); the result is 1 x 1.
/// @throw std::domain_error unless 0 ≤ pi ≤ 1 and sigma1, sigma2 > 0.
template <Real T> Var<T> scale_mixture_log_prob(const Var<T>& w, T pi, T sigma1, T sigma2) {
  check_probability("ad::scale_mixture_log_prob", "pi", pi);
  check_positive("ad::scale_mixture_log_prob", "sigma1", sigma1);
  check_positive("ad::scale_mixture_log_prob", "sigma2", sigma2);
  return w.tape->template record<detail::ScaleMixtureLogProb<T>>(1, 1, {w.id}, {pi, sigma1, sigma2});
}
/// \f$\sum_i\log\mathcal N(y_i\mid\mu_i,\sigma_i)\f$ (Stan's normal_lpdf), one node: `mean` and `stddev`
/// each have y's shape or are 1 x 1 (shared by every entry); the result is 1 x 1. Gradients flow to all three.
/// @throw std::invalid_argument if the tapes differ or `mean` or `stddev` has another shape.
/// @throw std::domain_error if an entry of `stddev` is not positive.
template <Real T> Var<T> normal_log_prob(const Var<T>& y, const Var<T>& mean, const Var<T>& stddev) {
  detail::same_tape("ad::normal_log_prob", y, mean);
  detail::same_tape("ad::normal_log_prob", y, stddev);
  auto fits = [&](const Var<T>& p) { return p.size_is(1, 1) || p.size_is(y.rows(), y.cols()); };
  if (!fits(mean) || !fits(stddev))
    pml::detail::throw_shape("ad::normal_log_prob", "mean and stddev must be 1x1 or " + std::to_string(y.rows()) + "x" +
                                                        std::to_string(y.cols()));
  if (!(stddev.value().array() > T(0)).all())
    throw std::domain_error("ad::normal_log_prob: stddev must be positive, got min " + std::to_string(stddev.value().minCoeff()));
  return y.tape->template record<detail::NormalLogProb<T>>(1, 1, {y.id, mean.id, stddev.id}, {});  // Data: filled by forward
}

}  // namespace pml::ad
