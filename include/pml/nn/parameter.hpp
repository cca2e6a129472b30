#pragma once
/// @file
/// nn::Parameter: a named trainable matrix with its gradient, and the list type optimisers work on.

#include <string>
#include <vector>

#include "pml/autodiff/tape.hpp"

namespace pml::nn {

/// A trainable matrix and the gradient of the last backward pass. bind() puts the value on a tape as a
/// leaf and asks the tape to copy the leaf's adjoint into `grad` at the end of Tape::backward(), so an
/// optimiser reads `grad` without knowing about tapes. Shapes are fixed at construction.
template <Real T> struct Parameter {
  std::string name;  ///< e.g. "encoder.0.weight": the name files store it under
  Matrix<T> value;   ///< the current value
  Matrix<T> grad;    ///< d(loss)/d(value) from the last Tape::backward() of a tape it was bound to

  Parameter() = default;  ///< an empty parameter (0 x 0)
  /// A parameter called `n` with value `v` and a zero gradient.
  Parameter(std::string n, Matrix<T> v) : name(std::move(n)), value(std::move(v)), grad(Matrix<T>::Zero(value.rows(), value.cols())) {}
  // The tape holds a pointer to `grad` until its next reset(): copying a bound parameter is fine, the
  // copy simply is not bound.
  /// The value as a leaf of `tape`, whose backward() then writes the leaf's gradient into `grad`.
  ad::Var<T> bind(ad::Tape<T>& tape) { return tape.parameter(value, grad.data()); }
  /// The value as a constant of `tape` (a copy: no gradient, nothing of the parameter is written). The
  /// const layers' forward passes use it, so that a fitted model can be queried from many threads at once.
  ad::Var<T> bind(ad::Tape<T>& tape) const { return tape.constant(value); }
  Index size() const noexcept { return value.size(); }  ///< number of scalars
};

/// Non-owning list of a model's parameters, in a fixed order (the order files store them in).
template <Real T> using ParameterList = std::vector<Parameter<T>*>;
/// The read-only view of a ParameterList (what a const model hands to save_parameters()).
template <Real T> using ConstParameterList = std::vector<const Parameter<T>*>;

/// The same pointers, read-only.
template <Real T> ConstParameterList<T> as_const(const ParameterList<T>& list) { return {list.begin(), list.end()}; }

/// Appends `more` to `list` (for models made of several modules).
template <Real T> void append(ParameterList<T>& list, const ParameterList<T>& more) { list.insert(list.end(), more.begin(), more.end()); }

/// Total number of scalars in the list.
template <Real T> Index parameter_count(const ParameterList<T>& list) {
  Index n = 0;
  for (const auto* p : list) n += p->size();
  return n;
}

}  // namespace pml::nn
