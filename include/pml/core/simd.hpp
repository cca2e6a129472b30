#pragma once
/// @file
/// Vectorised elementwise kernels where Eigen 3.4's own packet math falls short (measured by
/// benchmarks/bench_simd.cpp): Eigen vectorises exp and log for float and double, but tanh and log1p
/// for float only, so double tanh, the logistic sigmoid and softplus get explicit kernels here.
/// A kernel is an Eigen functor with a packetOp written with Eigen's portable packet primitives
/// (pexp, plog, pdiv, pselect, ...), so the same code runs as AVX-512, AVX2 or SSE2 packets, and its
/// scalar operator() (used for the tail of an array and as the reference) is the same algorithm.
/// Each kernel is tested against std:: in ulps (tests/core/test_simd.cpp).

#include <cmath>
#include <type_traits>

#include <Eigen/Core>

namespace pml::simd {
namespace detail {
using Eigen::internal::pset1;

/// tanh: an odd Taylor polynomial (degree 23) for |x| < 1/4, and sign(x) (1 - e)/(1 + e) with
/// e = exp(-2|x|) above (1 - e is exact there by Sterbenz's lemma, e >= 1/2, and e's rounding error is
/// amplified at most e/(1 - e) < 1.6 times).
template <class T> struct tanh_op {
  static constexpr T c[] = {T(-1.0 / 3),
                            T(2.0 / 15),
                            T(-17.0 / 315),
                            T(62.0 / 2835),
                            T(-1382.0 / 155925),
                            T(21844.0 / 6081075),
                            T(-929569.0 / 638512875),
                            T(6404582.0 / 10854718875),
                            T(-443861162.0 / 1856156927625),
                            T(18888466084.0 / 194896477400625),
                            T(-113927491862.0 / 2900518163668125)};
  T operator()(const T& x) const {
    const T a = std::abs(x);
    if (a < T(0.25)) {
      const T z = x * x;
      T p = c[10];
      for (int k = 9; k >= 0; --k) p = p * z + c[k];
      return x + x * z * p;
    }
    const T e = std::exp(T(-2) * a);
    const T t = (T(1) - e) / (T(1) + e);
    return x < 0 ? -t : t;
  }
  template <class Packet> Packet packetOp(const Packet& x) const {
    using namespace Eigen::internal;
    const Packet one = pset1<Packet>(T(1));
    const Packet a = pabs(x);
    const Packet z = pmul(x, x);
    Packet p = pset1<Packet>(c[10]);
    for (int k = 9; k >= 0; --k) p = pmadd(p, z, pset1<Packet>(c[k]));
    const Packet small = pmadd(pmul(x, z), p, x);
    const Packet e = pexp(pmul(pset1<Packet>(T(-2)), a));
    const Packet t = pdiv(psub(one, e), padd(one, e));
    const Packet big = pselect(pcmp_lt(x, pset1<Packet>(T(0))), pnegate(t), t);
    return pselect(pcmp_lt(a, pset1<Packet>(T(0.25))), small, big);
  }
};

/// Logistic sigmoid 1/(1 + exp(-x)): accurate in both tails (in the left tail it is exp(x) to within
/// the division's rounding; the form tanh(x/2)/2 + 1/2 loses all relative accuracy there).
template <class T> struct sigmoid_op {
  T operator()(const T& x) const { return T(1) / (T(1) + std::exp(-x)); }
  template <class Packet> Packet packetOp(const Packet& x) const {
    using namespace Eigen::internal;
    const Packet one = pset1<Packet>(T(1));
    return pdiv(one, padd(one, pexp(pnegate(x))));
  }
};

/// softplus log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) (for x below about -708 in double the result
/// is Eigen's exp floor, ~5.6e-309, instead of an underflow to 0), with log1p(e) for e in (0, 1] computed as
/// log(u) e / (u - 1), u = 1 + e (Goldberg's trick: exact up to a few ulps), and e itself where u == 1.
template <class T> struct softplus_op {
  T operator()(const T& x) const {
    const T e = std::exp(-std::abs(x));
    const T u = T(1) + e;
    const T l = u == T(1) ? e : std::log(u) * e / (u - T(1));
    return std::max(x, T(0)) + l;
  }
  template <class Packet> Packet packetOp(const Packet& x) const {
    using namespace Eigen::internal;
    const Packet one = pset1<Packet>(T(1));
    const Packet e = pexp(pnegate(pabs(x)));
    const Packet u = padd(one, e);
    const Packet l = pselect(pcmp_eq(u, one), e, pdiv(pmul(plog(u), e), psub(u, one)));
    return padd(pmax(x, pset1<Packet>(T(0))), l);
  }
};
/// Leaky ReLU x > 0 ? x : slope·x, as a packet blend (Eigen 3.4 evaluates select() one entry at a time,
/// with a branch): a NaN stays NaN (it is not > 0, and slope·NaN is NaN).
template <class T> struct leaky_relu_op {
  T slope;
  T operator()(const T& x) const { return x > T(0) ? x : slope * x; }
  template <class Packet> Packet packetOp(const Packet& x) const {
    using namespace Eigen::internal;
    return pselect(pcmp_lt(pset1<Packet>(T(0)), x), x, pmul(pset1<Packet>(slope), x));
  }
};
/// The (leaky) ReLU's gradient applied to g: x > 0 ? g : slope·g, or exactly 0 where x <= 0 when `relu`
/// (so an infinite g there gives 0, not NaN, as the select it replaces did).
template <class T> struct leaky_relu_grad_op {
  T slope;
  bool relu;
  T operator()(const T& x, const T& g) const { return x > T(0) ? g : relu ? T(0) : slope * g; }
  template <class Packet> Packet packetOp(const Packet& x, const Packet& g) const {
    using namespace Eigen::internal;
    return pselect(pcmp_lt(pset1<Packet>(T(0)), x), g, relu ? pset1<Packet>(T(0)) : pmul(pset1<Packet>(slope), g));
  }
};
}  // namespace detail

/// Leaky ReLU of every entry (see detail::leaky_relu_op).
template <class Derived> auto leaky_relu(const Eigen::ArrayBase<Derived>& x, typename Derived::Scalar slope) {
  return x.unaryExpr(detail::leaky_relu_op<typename Derived::Scalar>{slope});
}
/// x > 0 ? g : slope·g entrywise (slope 0 and relu: x > 0 ? g : 0); see detail::leaky_relu_grad_op.
template <class DerivedX, class DerivedG>
auto leaky_relu_grad(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedG>& g, typename DerivedX::Scalar slope, bool relu = false) {
  return x.binaryExpr(g, detail::leaky_relu_grad_op<typename DerivedX::Scalar>{slope, relu});
}

/// Logistic sigmoid of every entry (see detail::sigmoid_op).
template <class Derived> auto sigmoid(const Eigen::ArrayBase<Derived>& x) {
  return x.unaryExpr(detail::sigmoid_op<typename Derived::Scalar>());
}
/// Softplus of every entry (see detail::softplus_op).
template <class Derived> auto softplus(const Eigen::ArrayBase<Derived>& x) {
  return x.unaryExpr(detail::softplus_op<typename Derived::Scalar>());
}
/// tanh of every entry: Eigen's vectorised rational approximation for float, detail::tanh_op for double
/// (Eigen 3.4 evaluates double tanh one std::tanh call at a time).
template <class Derived> auto tanh(const Eigen::ArrayBase<Derived>& x) {
  using T = typename Derived::Scalar;
  if constexpr (std::is_same_v<T, double>) return x.unaryExpr(detail::tanh_op<T>());
  else return x.tanh();
}

}  // namespace pml::simd

namespace Eigen::internal {
template <class T> struct functor_traits<pml::simd::detail::tanh_op<T>> {
  enum { Cost = 40 * NumTraits<T>::MulCost, PacketAccess = packet_traits<T>::HasExp && packet_traits<T>::HasDiv };
};
template <class T> struct functor_traits<pml::simd::detail::sigmoid_op<T>> {
  enum { Cost = 20 * NumTraits<T>::MulCost, PacketAccess = packet_traits<T>::HasExp && packet_traits<T>::HasDiv };
};
// pselect has a generic bitwise form on every packet type (HasBlend is about pblend, which these do not use)
template <class T> struct functor_traits<pml::simd::detail::leaky_relu_op<T>> {
  enum { Cost = 2 * NumTraits<T>::MulCost, PacketAccess = packet_traits<T>::HasCmp };
};
template <class T> struct functor_traits<pml::simd::detail::leaky_relu_grad_op<T>> {
  enum { Cost = 2 * NumTraits<T>::MulCost, PacketAccess = packet_traits<T>::HasCmp };
};
template <class T> struct functor_traits<pml::simd::detail::softplus_op<T>> {
  enum { Cost = 40 * NumTraits<T>::MulCost, PacketAccess = packet_traits<T>::HasExp && packet_traits<T>::HasLog && packet_traits<T>::HasDiv };
};
}  // namespace Eigen::internal
