#pragma once
/// @file
/// Optimisers (SGD with momentum, Adagrad, Adam, AdamW) and gradient clipping over an nn::ParameterList.
/// The update rules follow PyTorch's torch.optim so that recipes carry over; tests compare with it.

#include <cmath>
#include <string>
#include <vector>

#include "pml/core/check.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::nn {
namespace detail {
/// The optimisers' shared part: the parameter list, per-parameter state buffers (allocated once, so a
/// step allocates nothing) and the check that refuses to apply a non-finite gradient.
template <Real T> class OptimizerBase {
 public:
  double learning_rate() const noexcept { return lr_; }
  /// For schedules. @throw std::domain_error unless positive and finite.
  void set_learning_rate(double lr) {
    check_positive(name_, "learning_rate", lr);
    lr_ = lr;
  }
  long steps() const noexcept { return t_; }
  const ParameterList<T>& parameters() const noexcept { return params_; }
  /// The state buffers, [buffer][parameter] (Adam: the first and second moments m and v; SGD: the momentum),
  /// each shaped as its parameter. Read-only: e.g. to check that data-parallel ranks hold the same state.
  const std::vector<std::vector<Matrix<T>>>& buffers() const noexcept { return state_; }

 protected:
  OptimizerBase(const char* name, ParameterList<T> params, double lr, int buffers) : name_(name), params_(std::move(params)), lr_(lr) {
    check_positive(name, "learning_rate", lr);
    if (params_.empty()) pml::detail::throw_shape(name, "the parameter list is empty");
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (params_[i] == nullptr) pml::detail::throw_shape(name, "parameter " + std::to_string(i) + " is null");
    state_.resize(static_cast<std::size_t>(buffers));
    for (auto& s : state_)
      for (const auto* p : params_) s.push_back(Matrix<T>::Zero(p->value.rows(), p->value.cols()));
  }
  /// Checks every gradient before any parameter changes: a NaN or infinite gradient throws (naming the
  /// parameter) and leaves the model as it was.
  void begin_step() {
    for (const auto* p : params_) {
      if (p->grad.rows() != p->value.rows() || p->grad.cols() != p->value.cols())
        pml::detail::throw_shape(name_, "gradient of '" + p->name + "' has the wrong shape");
      if (!p->grad.allFinite())
        throw std::domain_error(std::string(name_) + ": the gradient of '" + p->name + "' is not finite; no parameter was changed");
    }
    ++t_;
  }
  Matrix<T>& state(int buffer, std::size_t i) { return state_[static_cast<std::size_t>(buffer)][i]; }

  const char* name_;
  ParameterList<T> params_;
  double lr_;
  long t_ = 0;
  std::vector<std::vector<Matrix<T>>> state_;
};
}  // namespace detail

/// Options of SGD (defaults as in torch.optim.SGD except the learning rate).
struct SGDOptions {
  double learning_rate = 1e-2;  ///< step size η
  double momentum = 0;      ///< heavy-ball momentum μ in [0, 1)
  double weight_decay = 0;  ///< L2 penalty λ: the gradient becomes g + λθ
  bool nesterov = false;  ///< Nesterov momentum
};

/// Stochastic gradient descent: \f$b \leftarrow \mu b + g\f$, \f$\theta \leftarrow \theta - \eta b\f$
/// (or \f$\theta - \eta(g + \mu b)\f$ with Nesterov), with \f$g = \nabla + \lambda\theta\f$.
template <Real T> class SGD : public detail::OptimizerBase<T> {
 public:
  /// SGD over `params`. @throw std::domain_error naming the option whose value is invalid.
  explicit SGD(ParameterList<T> params, const SGDOptions& o = {}) : detail::OptimizerBase<T>("nn::SGD", std::move(params), o.learning_rate, 1), o_(o) {
    if (!(o.momentum >= 0 && o.momentum < 1)) throw std::domain_error("nn::SGD: momentum must be in [0, 1), got " + std::to_string(o.momentum));
    check_nonnegative("nn::SGD", "weight_decay", o.weight_decay);
    if (o.nesterov && o.momentum == 0) throw std::domain_error("nn::SGD: nesterov needs momentum > 0");
  }
  /// Applies one update from every parameter's `grad`.
  void step() {
    this->begin_step();
    const T lr = T(this->lr_), mu = T(o_.momentum), wd = T(o_.weight_decay);
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      auto& p = *this->params_[i];
      auto g = p.grad.array() + wd * p.value.array();
      if (mu == T(0)) {
        p.value.array() -= lr * g;
        continue;
      }
      auto& b = this->state(0, i);
      if (this->t_ == 1) b.array() = g;
      else b.array() = mu * b.array() + g;
      if (o_.nesterov) p.value.array() -= lr * (g + mu * b.array());
      else p.value -= lr * b;
    }
  }

 private:
  SGDOptions o_;
};

/// Options of Adagrad (defaults as in torch.optim.Adagrad).
struct AdagradOptions {
  double learning_rate = 1e-2;  ///< step size η
  double epsilon = 1e-10;  ///< added to √s for stability
  double weight_decay = 0;  ///< L2 penalty λ added to the gradient
  double initial_accumulator = 0;  ///< starting value of the accumulator s
};

/// Adagrad (Duchi et al. 2011): \f$s \leftarrow s + g^2\f$, \f$\theta \leftarrow \theta - \eta g/(\sqrt s + \epsilon)\f$.
template <Real T> class Adagrad : public detail::OptimizerBase<T> {
 public:
  /// Adagrad over `params`. @throw std::domain_error naming the option whose value is invalid.
  explicit Adagrad(ParameterList<T> params, const AdagradOptions& o = {})
      : detail::OptimizerBase<T>("nn::Adagrad", std::move(params), o.learning_rate, 1), o_(o) {
    check_positive("nn::Adagrad", "epsilon", o.epsilon);
    check_nonnegative("nn::Adagrad", "weight_decay", o.weight_decay);
    check_nonnegative("nn::Adagrad", "initial_accumulator", o.initial_accumulator);
    for (std::size_t i = 0; i < this->params_.size(); ++i) this->state(0, i).setConstant(T(o.initial_accumulator));
  }
  /// One update of every parameter from its current gradient.
  void step() {
    this->begin_step();
    const T lr = T(this->lr_), eps = T(o_.epsilon), wd = T(o_.weight_decay);
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      auto& p = *this->params_[i];
      auto& s = this->state(0, i);
      auto g = p.grad.array() + wd * p.value.array();
      s.array() += g.square();
      p.value.array() -= lr * g / (s.array().sqrt() + eps);
    }
  }

 private:
  AdagradOptions o_;
};

/// Options of Adam and AdamW (defaults as in torch.optim.Adam).
struct AdamOptions {
  double learning_rate = 1e-3;  ///< step size η
  double beta1 = 0.9;  ///< decay of the first-moment average
  double beta2 = 0.999;  ///< decay of the second-moment average
  double epsilon = 1e-8;  ///< added to √v̂ for stability
  double weight_decay = 0;  ///< Adam: L2 added to the gradient; AdamW: decoupled decay θ ← θ(1 − ηλ)
};

/// Adam (Kingma & Ba 2015) with bias-corrected moments:
/// \f$\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)\f$.
template <Real T> class Adam : public detail::OptimizerBase<T> {
 public:
  /// Adam over `params`. @throw std::domain_error naming the option whose value is invalid.
  explicit Adam(ParameterList<T> params, const AdamOptions& o = {}) : Adam("nn::Adam", std::move(params), o, false) {}
  /// One update of every parameter from its current gradient.
  void step() {
    this->begin_step();
    const T lr = T(this->lr_), b1 = T(o_.beta1), b2 = T(o_.beta2), eps = T(o_.epsilon), wd = T(o_.weight_decay);
    const T c1 = T(1) - std::pow(b1, T(this->t_)), c2 = T(1) - std::pow(b2, T(this->t_));
    const T step = lr / c1, root_c2 = std::sqrt(c2);
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      auto& p = *this->params_[i];
      auto& m = this->state(0, i);
      auto& v = this->state(1, i);
      if (decoupled_) {
        if (wd != T(0)) p.value *= T(1) - lr * wd;
        m.array() = b1 * m.array() + (T(1) - b1) * p.grad.array();
        v.array() = b2 * v.array() + (T(1) - b2) * p.grad.array().square();
      } else {
        auto g = p.grad.array() + wd * p.value.array();
        m.array() = b1 * m.array() + (T(1) - b1) * g;
        v.array() = b2 * v.array() + (T(1) - b2) * g.square();
      }
      p.value.array() -= step * m.array() / (v.array().sqrt() / root_c2 + eps);
    }
  }

 protected:
  /// For AdamW: the same update with weight decay decoupled from the gradient.
  Adam(const char* name, ParameterList<T> params, const AdamOptions& o, bool decoupled)
      : detail::OptimizerBase<T>(name, std::move(params), o.learning_rate, 2), o_(o), decoupled_(decoupled) {
    check_probability(name, "beta1", o.beta1);
    check_probability(name, "beta2", o.beta2);
    if (o.beta1 >= 1 || o.beta2 >= 1) throw std::domain_error(std::string(name) + ": beta1 and beta2 must be below 1");
    check_positive(name, "epsilon", o.epsilon);
    check_nonnegative(name, "weight_decay", o.weight_decay);
  }

 private:
  AdamOptions o_;
  bool decoupled_;
};

/// AdamW (Loshchilov & Hutter 2019): Adam with weight decay decoupled from the gradient
/// (default λ = 0.01, as in PyTorch).
template <Real T> class AdamW : public Adam<T> {
 public:
  /// AdamW over `params` (weight decay 0.01 unless the options say otherwise).
  explicit AdamW(ParameterList<T> params, const AdamOptions& o = {.weight_decay = 1e-2}) : Adam<T>("nn::AdamW", std::move(params), o, true) {}
};

/// Scales all gradients so that their joint L2 norm is at most `max_norm`; returns the norm before
/// clipping (like torch.nn.utils.clip_grad_norm_).
template <Real T> T clip_grad_norm(const ParameterList<T>& params, T max_norm) {
  check_positive("nn::clip_grad_norm", "max_norm", max_norm);
  T total = 0;
  for (const auto* p : params) total += p->grad.squaredNorm();
  const T norm = std::sqrt(total);
  if (!std::isfinite(norm)) throw std::domain_error("nn::clip_grad_norm: the gradient norm is not finite");
  const T scale = max_norm / (norm + T(1e-6));
  if (scale < T(1))
    for (auto* p : params) p->grad *= scale;
  return norm;
}

/// Clamps every gradient entry to [-limit, limit].
template <Real T> void clip_grad_value(const ParameterList<T>& params, T limit) {
  check_positive("nn::clip_grad_value", "limit", limit);
  for (auto* p : params) p->grad = p->grad.cwiseMax(-limit).cwiseMin(limit);
}

}  // namespace pml::nn
