#pragma once
/// @file
/// Gradient check: the tape's reverse-mode gradients against central finite differences.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "pml/autodiff/ops.hpp"

namespace pml::ad {

/// Result of gradcheck(): the worst absolute and relative discrepancy over all input entries.
template <Real T> struct GradcheckResult {
  T max_abs_error = 0;  ///< largest |analytic − numerical| over all entries
  T max_rel_error = 0;  ///< largest relative discrepancy
  bool passed = false;  ///< both within the tolerances
};

/// Compares d f / d inputs from one backward pass with central differences
/// \f$(f(x + h e_i) - f(x - h e_i)) / 2h\f$, h = `step` x max(1, |x_i|). `f(tape, vars)` builds a
/// 1 x 1 output from leaves made of `inputs`. Passes when every entry agrees to `tolerance`, relative
/// to max(1, |gradient|).
template <Real T, class F>
GradcheckResult<T> gradcheck(F f, const std::vector<Matrix<T>>& inputs, T tolerance = sizeof(T) < 8 ? T(2e-2) : T(1e-6),
                             T step = sizeof(T) < 8 ? T(1e-2) : T(1e-5)) {
  Tape<T> tape;
  auto evaluate = [&](const std::vector<Matrix<T>>& xs, std::vector<Var<T>>* vars) {
    tape.reset();
    std::vector<Var<T>> leaves;
    for (const auto& x : xs) leaves.push_back(tape.variable(x));
    Var<T> out = f(tape, leaves);
    if (vars) *vars = leaves;
    return out;
  };
  std::vector<Var<T>> leaves;
  Var<T> out = evaluate(inputs, &leaves);
  tape.backward(out);
  std::vector<Matrix<T>> analytic;
  for (const auto& v : leaves) analytic.push_back(v.adjoint());
  GradcheckResult<T> r;
  std::vector<Matrix<T>> shifted = inputs;
  for (std::size_t k = 0; k < inputs.size(); ++k)
    for (Index i = 0; i < inputs[k].size(); ++i) {
      const T x = inputs[k](i);
      const T h = step * std::max(T(1), std::abs(x));
      shifted[k](i) = x + h;
      const T up = evaluate(shifted, nullptr).value()(0, 0);
      shifted[k](i) = x - h;
      const T down = evaluate(shifted, nullptr).value()(0, 0);
      shifted[k](i) = x;
      const T numeric = (up - down) / (T(2) * h);
      const T err = std::abs(numeric - analytic[k](i));
      r.max_abs_error = std::max(r.max_abs_error, err);
      r.max_rel_error = std::max(r.max_rel_error, err / std::max(T(1), std::abs(analytic[k](i))));
    }
  r.passed = r.max_rel_error <= tolerance;
  return r;
}

}  // namespace pml::ad
