// pml::simd kernels against scalar references computed in long double, in ulps, over a dense sweep that
// includes both branches of every kernel, the tails and tiny arguments; float and double.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "pml/core/simd.hpp"
#include "pml/core/special.hpp"

namespace {
// |got - ref| in units of the last place of T at ref.
template <class T> double ulps(T got, long double ref) {
  const T r = static_cast<T>(ref);
  if (got == r) return 0;
  const long double ulp = std::nextafter(std::abs(r), std::numeric_limits<T>::infinity()) - std::abs(r);
  return static_cast<double>(std::abs(static_cast<long double>(got) - ref) / ulp);
}
template <class T> Eigen::Array<T, Eigen::Dynamic, 1> sweep(T low, T high) {
  std::vector<T> v;
  for (int i = 0; i <= 20000; ++i) v.push_back(low + (high - low) * T(i) / T(20000));
  for (T t = T(1e-30); t < T(1); t *= T(1.7)) {  // tiny arguments, both signs
    v.push_back(t);
    v.push_back(-t);
  }
  v.push_back(T(0.25));  // the tanh branch point and its neighbours
  v.push_back(std::nextafter(T(0.25), T(0)));
  v.push_back(T(-0.25));
  return Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(v.data(), Eigen::Index(v.size()));
}
template <class T, class Vec, class Ref> double worst_ulps(const Eigen::Array<T, Eigen::Dynamic, 1>& x, Vec vec, Ref ref) {
  const Eigen::Array<T, Eigen::Dynamic, 1> got = vec(x);
  double worst = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) worst = std::max(worst, ulps<T>(got[i], ref(static_cast<long double>(x[i]))));
  return worst;
}
long double sigmoid_ref(long double x) { return 1.0L / (1.0L + std::exp(-x)); }
long double softplus_ref(long double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
}  // namespace

TEMPLATE_TEST_CASE("simd kernels stay within a few ulps of long-double references", "[simd]", float, double) {
  using T = TestType;
  const auto x = sweep<T>(T(-30), T(30));
  const double tanh_ulps = worst_ulps<T>(x, [](const auto& a) { return pml::simd::tanh(a).eval(); }, [](long double v) { return std::tanh(v); });
  const double sigmoid_ulps = worst_ulps<T>(x, [](const auto& a) { return pml::simd::sigmoid(a).eval(); }, sigmoid_ref);
  const double softplus_ulps = worst_ulps<T>(x, [](const auto& a) { return pml::simd::softplus(a).eval(); }, softplus_ref);
  INFO("tanh " << tanh_ulps << " ulps, sigmoid " << sigmoid_ulps << " ulps, softplus " << softplus_ulps << " ulps");
  // float tanh is Eigen's own rational approximation: 3.8 ulps with AVX2 + FMA, 4.5 with SSE2 only
  CHECK(tanh_ulps <= (std::is_same_v<T, float> ? 6 : 4));
  CHECK(sigmoid_ulps <= 4);
  CHECK(softplus_ulps <= 4);
  // the array forms in special.hpp use these kernels
  const Eigen::Array<T, Eigen::Dynamic, 1> s = pml::sigmoid(x), p = pml::softplus(x);
  CHECK((s - pml::simd::sigmoid(x)).abs().maxCoeff() == 0);
  CHECK((p - pml::simd::softplus(x)).abs().maxCoeff() == 0);
}

TEMPLATE_TEST_CASE("simd kernels: tails, extremes and special values", "[simd]", float, double) {
  using T = TestType;
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  const T inf = std::numeric_limits<T>::infinity();
  A x(6);
  x << -inf, T(-1000), T(-80), T(80), T(1000), inf;
  const A t = pml::simd::tanh(x), s = pml::simd::sigmoid(x), p = pml::simd::softplus(x);
  CHECK(t[0] == -1);
  CHECK(t[5] == 1);
  CHECK(s[0] == 0);
  CHECK(s[1] == 0);
  CHECK(s[5] == 1);
  CHECK(p[0] >= 0);
  CHECK(p[0] < T(1e-300) * T(1e-300) + std::numeric_limits<T>::min());  // Eigen's exp floors at the smallest normal, not 0
  CHECK(p[4] == 1000);
  CHECK(p[5] == inf);
  // left tail of the sigmoid: relative accuracy kept where sigma(x) ~ exp(x) (the tanh form returns 0 here)
  const T v = std::is_same_v<T, float> ? T(-60) : T(-600);
  A y(1);
  y << v;
  CHECK(ulps<T>(pml::simd::sigmoid(y).eval()[0], sigmoid_ref(v)) <= 4);
  CHECK(pml::simd::sigmoid(y).eval()[0] > 0);
  CHECK(ulps<T>(pml::simd::softplus(y).eval()[0], softplus_ref(v)) <= 4);
  // NaN in, NaN out
  A n(1);
  n << std::numeric_limits<T>::quiet_NaN();
  CHECK(std::isnan(pml::simd::tanh(n).eval()[0]));
  CHECK(std::isnan(pml::simd::sigmoid(n).eval()[0]));
  CHECK(std::isnan(pml::simd::softplus(n).eval()[0]));
}

TEMPLATE_TEST_CASE("leaky ReLU and its gradient as packet blends: equal to the branch entry for entry, NaN kept", "[simd]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  // 37 entries: whole packets and a tail, every sign, zeros of both signs, infinities, NaN, denormals
  Eigen::Array<T, Eigen::Dynamic, 1> x(37), g(37);
  for (Eigen::Index i = 0; i < 37; ++i) {
    x(i) = T(i - 18) / T(7);
    g(i) = T(3 - i % 7) * T(0.5);
  }
  x(0) = -inf, x(1) = inf, x(2) = nan, x(3) = T(-0.0), x(4) = T(0), x(5) = -std::numeric_limits<T>::denorm_min(), x(36) = nan;
  g(6) = inf, g(7) = nan;
  x(6) = T(-1), x(7) = T(2);
  for (const T slope : {T(0.2), T(0), T(1.5)}) {
    const Eigen::Array<T, Eigen::Dynamic, 1> y = pml::simd::leaky_relu(x, slope), d = pml::simd::leaky_relu_grad(x, g, slope),
                                             r = pml::simd::leaky_relu_grad(x, g, slope, true);
    for (Eigen::Index i = 0; i < 37; ++i) {
      INFO("x " << x(i) << ", g " << g(i) << ", slope " << slope);
      const T want_y = x(i) > 0 ? x(i) : slope * x(i), want_d = x(i) > 0 ? g(i) : slope * g(i), want_r = x(i) > 0 ? g(i) : T(0);
      CHECK((std::isnan(want_y) ? std::isnan(y(i)) : y(i) == want_y));
      CHECK((std::isnan(want_d) ? std::isnan(d(i)) : d(i) == want_d));
      CHECK((std::isnan(want_r) ? std::isnan(r(i)) : r(i) == want_r));
    }
  }
  CHECK(std::isnan(pml::simd::leaky_relu(x, T(0.2))(2)));  // a NaN input is never silenced
  CHECK(pml::simd::leaky_relu_grad(x, g, T(0.2), true)(6) == T(0));  // relu: an infinite gradient where x <= 0 gives 0
}
