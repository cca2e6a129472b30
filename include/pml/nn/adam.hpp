#pragma once
/// @file
/// The Adam optimiser (Kingma & Ba 2015) for Eigen parameter blocks.

#include <cmath>
#include <vector>

#include "pml/core/check.hpp"

namespace pml::nn {

/// Adam: \f$m \leftarrow \beta_1 m + (1-\beta_1)g\f$, \f$v \leftarrow \beta_2 v + (1-\beta_2)g^2\f$,
/// \f$\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v}+\epsilon)\f$ with bias-corrected moments.
/// One Adam object serves any number of parameter blocks, identified by their index in step().
template <Real T> class Adam {
 public:
  explicit Adam(T learning_rate = T(1e-3), T beta1 = T(0.9), T beta2 = T(0.999), T epsilon = T(1e-8))
      : lr_(learning_rate), b1_(beta1), b2_(beta2), eps_(epsilon) {
    check_positive("nn::Adam", "learning_rate", learning_rate);
    check_probability("nn::Adam", "beta1", beta1);
    check_probability("nn::Adam", "beta2", beta2);
    check_positive("nn::Adam", "epsilon", epsilon);
  }
  /// Starts a new step (advances the bias-correction counter); call once per step before update().
  void begin_step() noexcept { ++t_; }
  /// Updates parameter block `slot` from its gradient.
  template <class P, class G> void update(std::size_t slot, Eigen::MatrixBase<P>& param, const Eigen::MatrixBase<G>& grad) {
    if (slot >= m_.size()) {
      m_.resize(slot + 1);
      v_.resize(slot + 1);
    }
    auto& m = m_[slot];
    auto& v = v_[slot];
    if (m.size() != grad.size()) {
      m = Matrix<T>::Zero(grad.rows(), grad.cols());
      v = Matrix<T>::Zero(grad.rows(), grad.cols());
    }
    m = b1_ * m + (T(1) - b1_) * grad;
    v = b2_ * v + (T(1) - b2_) * grad.cwiseAbs2();
    const T c1 = T(1) - std::pow(b1_, T(t_)), c2 = T(1) - std::pow(b2_, T(t_));
    param.derived().array() -= lr_ * (m.array() / c1) / ((v.array() / c2).sqrt() + eps_);
  }

 private:
  T lr_, b1_, b2_, eps_;
  long t_ = 0;
  std::vector<Matrix<T>> m_, v_;
};

}  // namespace pml::nn
