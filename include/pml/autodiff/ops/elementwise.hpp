#pragma once
/// @file
/// Elementwise ops: + - * / (with row and column broadcasting), the functions of one argument, the
/// activations, mask_mul, and the fused bias plus activation of a dense layer. Each op's forward and
/// backward pass are side by side in its struct.

#include <string>

#include "pml/autodiff/ops/common.hpp"

namespace pml::ad {
namespace detail {

// ---- two arguments ----

/// C = A + B (same shape).
template <Real T> struct Add {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a) + t.value(n.b); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) t.adjoint(n.b) += g;
  }
};

/// C = A + 1 b (b a row vector): db += column sums of dC.
template <Real T> struct AddRow {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).rowwise() + t.value(n.b).row(0); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) t.adjoint(n.b) += g.colwise().sum();
  }
};

/// C = A + b 1^T (b a column vector): db += row sums of dC.
template <Real T> struct AddCol {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).colwise() + t.value(n.b).col(0); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) t.adjoint(n.b) += g.rowwise().sum();
  }
};

/// C = A - B.
template <Real T> struct Sub {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a) - t.value(n.b); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) t.adjoint(n.b) -= g;
  }
};

/// C = A ⊙ B.
template <Real T> struct Mul {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).cwiseProduct(t.value(n.b)); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a).array() += g.array() * t.value(n.b).array();
    if (n.grad_b) t.adjoint(n.b).array() += g.array() * t.value(n.a).array();
  }
};

/// C = A diag(b) (column j scaled by b_j).
template <Real T> struct MulRow {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = (t.value(n.a).array().rowwise() * t.value(n.b).row(0).array()).matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a).array() += g.array().rowwise() * t.value(n.b).row(0).array();
    if (n.grad_b) t.adjoint(n.b) += (g.array() * t.value(n.a).array()).colwise().sum().matrix();
  }
};

/// C = A / B: dA += dC / B, dB -= dC C / B.
template <Real T> struct Div {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).cwiseQuotient(t.value(n.b)); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a).array() += g.array() / t.value(n.b).array();
    if (n.grad_b) t.adjoint(n.b).array() -= g.array() * v.array() / t.value(n.b).array();
  }
};

/// C = A ⊙ M for a mask M (b) that gets no gradient (dropout).
template <Real T> struct MaskMul {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).cwiseProduct(t.value(n.b)); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a).array() += g.array() * t.value(n.b).array();
  }
};

// ---- one argument ----

/// -A.
template <Real T> struct Neg {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = (-t.value(n.a).array()).matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a) -= g; }
};

/// c A for a constant c.
template <Real T> struct Scale {
  struct Data {
    T factor;  ///< c
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = op_data<Data>(n).factor * t.value(n.a); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a) += op_data<Data>(n).factor * g; }
};

/// exp(A): dA += dC exp(A).
template <Real T> struct Exp {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).array().exp().matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) { t.adjoint(n.a).array() += g.array() * v.array(); }
};

/// log(A): dA += dC / A.
template <Real T> struct Log {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).array().log().matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { t.adjoint(n.a).array() += g.array() / t.value(n.a).array(); }
};

/// log(1 + A): dA += dC / (1 + A).
template <Real T> struct Log1p {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).array().log1p().matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).array() += g.array() / (T(1) + t.value(n.a).array());
  }
};

/// A²: dA += 2 dC A.
template <Real T> struct Square {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).array().square().matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).array() += T(2) * g.array() * t.value(n.a).array();
  }
};

/// √A: dA += dC / (2 √A).
template <Real T> struct Sqrt {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).array().sqrt().matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) { t.adjoint(n.a).array() += g.array() / (T(2) * v.array()); }
};

/// tanh(A): dA += dC (1 - C²).
template <Real T> struct Tanh {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = pml::simd::tanh(t.value(n.a).array()).matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    t.adjoint(n.a).array() += g.array() * (T(1) - v.array().square());
  }
};

/// σ(A): dA += dC C (1 - C).
template <Real T> struct Sigmoid {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = pml::sigmoid(t.value(n.a).array()).matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    t.adjoint(n.a).array() += g.array() * v.array() * (T(1) - v.array());
  }
};

/// softplus(A): dA += dC σ(A).
template <Real T> struct Softplus {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = pml::softplus(t.value(n.a).array()).matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).array() += g.array() * pml::sigmoid(t.value(n.a).array());
  }
};

/// max(A, 0): dA += dC where A > 0.
template <Real T> struct Relu {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { v = t.value(n.a).array().max(T(0)).matrix(); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).array() += pml::simd::leaky_relu_grad(t.value(n.a).array(), g.array(), T(0), true);
  }
};

/// max(A, 0) + slope min(A, 0): dA += dC where A > 0, slope dC elsewhere.
template <Real T> struct LeakyRelu {
  struct Data {
    T slope;  ///< the slope for negative inputs
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const T slope = op_data<Data>(n).slope;
    const auto x = t.value(n.a);
    v.array() = pml::simd::leaky_relu(x.array(), slope);
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    t.adjoint(n.a).array() += pml::simd::leaky_relu_grad(t.value(n.a).array(), g.array(), op_data<Data>(n).slope);
  }
};

/// Y = act(X + 1 b) for a row vector b, in one node and one pass over the data.
template <Real T> struct BiasActivation {
  struct Data {
    Activation act;  ///< the activation
    T slope;  ///< leaky_relu's slope for negative inputs
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Data d = op_data<Data>(n);
    v = t.value(n.a).rowwise() + t.value(n.b).row(0);
    switch (d.act) {  // in place, without a temporary
      case Activation::relu: v = v.cwiseMax(T(0)); break;
      case Activation::leaky_relu: v.array() = pml::simd::leaky_relu(v.array(), d.slope); break;
      case Activation::tanh: v.array() = pml::simd::tanh(v.array()); break;
      case Activation::sigmoid: v.array() = pml::sigmoid(v.array()); break;
      case Activation::softplus: v.array() = pml::softplus(v.array()); break;
      case Activation::identity: break;
    }
  }
  // dpre = dY act'(Y), written over dY (which no one reads after this node); dX += dpre, db += column sums of dpre
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    const Data d = op_data<Data>(n);
    auto ga = g.array();
    const auto y = v.array();
    switch (d.act) {
      case Activation::relu: ga = pml::simd::leaky_relu_grad(y, ga, T(0), true); break;
      case Activation::leaky_relu: ga = pml::simd::leaky_relu_grad(y, ga, d.slope); break;
      case Activation::tanh: ga *= T(1) - y.square(); break;
      case Activation::sigmoid: ga *= y * (T(1) - y); break;
      case Activation::softplus: ga *= -(-y).expm1(); break;  // sigmoid(x) = 1 - exp(-softplus(x))
      case Activation::identity: break;
    }
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) t.adjoint(n.b) += g.colwise().sum();
  }
};

}  // namespace detail

/// Elementwise sum of two nodes of one shape, or A (rows x cols) plus a 1 x cols row vector B added to
/// every row (a bias); the result has A's shape.
/// @throw std::invalid_argument if the tapes differ or the shapes fit neither case.
template <Real T> Var<T> operator+(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::add", a, b);
  if (b.rows() == 1 && a.rows() != 1 && b.cols() == a.cols()) return a.tape->template record<detail::AddRow<T>>(a.rows(), a.cols(), {a.id, b.id});
  detail::same_shape("ad::add", a, b);
  return a.tape->template record<detail::Add<T>>(a.rows(), a.cols(), {a.id, b.id});
}
/// A (rows x cols) plus a rows x 1 column vector B added to every column (A's shape).
/// @throw std::invalid_argument if the tapes differ or B is not rows x 1.
template <Real T> Var<T> add_col(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::add_col", a, b);
  if (b.cols() != 1 || b.rows() != a.rows())
    pml::detail::throw_shape("ad::add_col", "b must be " + std::to_string(a.rows()) + "x1, got " + std::to_string(b.rows()) + "x" +
                                                 std::to_string(b.cols()));
  return a.tape->template record<detail::AddCol<T>>(a.rows(), a.cols(), {a.id, b.id});
}
/// Elementwise difference A − B of two nodes of one shape.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> operator-(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::sub", a, b);
  return a.tape->template record<detail::Sub<T>>(a.rows(), a.cols(), {a.id, b.id});
}
/// Elementwise (Hadamard) product A ⊙ B of two nodes of one shape.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> operator*(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::mul", a, b);
  return a.tape->template record<detail::Mul<T>>(a.rows(), a.cols(), {a.id, b.id});
}
/// A (rows x cols) with column j multiplied by B(0, j), for a 1 x cols row vector B (A's shape).
/// @throw std::invalid_argument if the tapes differ or B is not 1 x cols.
template <Real T> Var<T> mul_row(const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::mul_row", a, b);
  if (b.rows() != 1 || b.cols() != a.cols()) pml::detail::throw_shape("ad::mul_row", "b must be 1x" + std::to_string(a.cols()));
  return a.tape->template record<detail::MulRow<T>>(a.rows(), a.cols(), {a.id, b.id});
}
/// Elementwise quotient A / B of two nodes of one shape.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> operator/(const Var<T>& a, const Var<T>& b) {
  detail::same_shape("ad::div", a, b);
  return a.tape->template record<detail::Div<T>>(a.rows(), a.cols(), {a.id, b.id});
}
/// A ⊙ mask for a constant mask of A's shape (dropout), put on the tape as a constant: no gradient flows
/// into it. The result has A's shape.
/// @throw std::invalid_argument if the mask's shape differs from A's.
template <Real T, class Derived> Var<T> mask_mul(const Var<T>& a, const Eigen::MatrixBase<Derived>& mask) {
  if (mask.rows() != a.rows() || mask.cols() != a.cols()) pml::detail::throw_shape("ad::mask_mul", "mask shape differs from a");
  const Var<T> m = a.tape->constant(mask);
  return a.tape->template record<detail::MaskMul<T>>(a.rows(), a.cols(), {a.id, m.id});
}
/// A ⊙ mask for a mask already on the tape (e.g. a leaf filled in place): no gradient flows into it.
/// The result has A's shape.
/// @throw std::invalid_argument if the tapes or the shapes differ.
template <Real T> Var<T> mask_mul(const Var<T>& a, const Var<T>& mask) {
  detail::same_shape("ad::mask_mul", a, mask);
  return a.tape->template record<detail::MaskMul<T>>(a.rows(), a.cols(), {a.id, mask.id});
}

/// −A, elementwise (A's shape).
template <Real T> Var<T> operator-(const Var<T>& a) { return detail::unary<detail::Neg<T>>(a); }
/// c A for a constant c (A's shape).
template <Real T> Var<T> operator*(T c, const Var<T>& a) { return a.tape->template record<detail::Scale<T>>(a.rows(), a.cols(), {a.id}, {c}); }
/// exp(A), elementwise (A's shape).
template <Real T> Var<T> exp(const Var<T>& a) { return detail::unary<detail::Exp<T>>(a); }
/// log(A), elementwise (A's shape; A > 0, else NaN or −∞ entries).
template <Real T> Var<T> log(const Var<T>& a) { return detail::unary<detail::Log<T>>(a); }
/// log(1 + A), elementwise, accurate for small A (A's shape; A > −1).
template <Real T> Var<T> log1p(const Var<T>& a) { return detail::unary<detail::Log1p<T>>(a); }
/// A², elementwise (A's shape).
template <Real T> Var<T> square(const Var<T>& a) { return detail::unary<detail::Square<T>>(a); }
/// √A, elementwise (A's shape; A ≥ 0).
template <Real T> Var<T> sqrt(const Var<T>& a) { return detail::unary<detail::Sqrt<T>>(a); }
/// tanh(A), elementwise, with the SIMD kernel in float and double (A's shape).
template <Real T> Var<T> tanh(const Var<T>& a) { return detail::unary<detail::Tanh<T>>(a); }
/// σ(A) = 1/(1 + e^−A), elementwise (A's shape).
template <Real T> Var<T> sigmoid(const Var<T>& a) { return detail::unary<detail::Sigmoid<T>>(a); }
/// softplus(A) = log(1 + e^A), elementwise, stable for large |A| (A's shape).
template <Real T> Var<T> softplus(const Var<T>& a) { return detail::unary<detail::Softplus<T>>(a); }
/// max(A, 0), elementwise (A's shape); the gradient at 0 is 0.
template <Real T> Var<T> relu(const Var<T>& a) { return detail::unary<detail::Relu<T>>(a); }
/// max(A, 0) + slope min(A, 0), elementwise (A's shape).
template <Real T> Var<T> leaky_relu(const Var<T>& a, T slope = T(0.01)) {
  return a.tape->template record<detail::LeakyRelu<T>>(a.rows(), a.cols(), {a.id}, {slope});
}

/// Fused \f$\mathrm{act}(X + \mathbf 1 b)\f$ for X (rows x cols) and a 1 x cols bias b: one node and one
/// pass over the data instead of two (the bias-plus-activation of every dense layer); `slope` is
/// leaky_relu's. The result has X's shape.
/// @throw std::invalid_argument if the tapes differ or the bias is not 1 x cols.
template <Real T> Var<T> bias_activation(const Var<T>& x, const Var<T>& bias, Activation act, T slope = T(0.01)) {
  detail::same_tape("ad::bias_activation", x, bias);
  if (bias.rows() != 1 || bias.cols() != x.cols())
    pml::detail::throw_shape("ad::bias_activation", "bias must be 1x" + std::to_string(x.cols()) + ", got " +
                                                        std::to_string(bias.rows()) + "x" + std::to_string(bias.cols()));
  return x.tape->template record<detail::BiasActivation<T>>(x.rows(), x.cols(), {x.id, bias.id}, {act, slope});
}

}  // namespace pml::ad
