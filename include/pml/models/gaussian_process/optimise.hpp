#pragma once
/// @file
/// The hyperparameter search of the Gaussian-process models: L-BFGS-B (LBFGS++, header-only; Debian's
/// liblbfgspp-dev) on the negative log marginal likelihood over a kernel's log-hyperparameters within their
/// bounds, from the kernel's own values and then from `restarts` points drawn uniformly in the log bounds, as
/// scikit-learn's `_constrained_optimization` with `n_restarts_optimizer`.

#if !__has_include(<LBFGSB.h>)
#error "pml's Gaussian processes need LBFGS++ (header-only): apt-get install liblbfgspp-dev"
#endif

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <LBFGSB.h>

#include "pml/core/check.hpp"
#include "pml/core/random.hpp"
#include "pml/core/rng.hpp"
#include "pml/models/gaussian_process/kernel.hpp"

namespace pml::detail {

/// What maximise_log_marginal_likelihood() found.
template <Real T> struct HyperparameterSearch {
  Vector<T> theta;       ///< the best log-hyperparameters over all runs
  int iterations = 0;    ///< L-BFGS-B iterations of the run that found them
  int evaluations = 0;   ///< objective evaluations over all runs
  bool converged = true; ///< every run stopped at its tolerance (not at max_iterations or a failed line search)
};

/// Maximises `objective(theta, gradient)` (returns the value, fills the gradient) over theta within `bounds`
/// (P x 2: lower, upper; ±∞ for an unbounded entry) by L-BFGS-B, from `start` (clipped into the bounds) and from
/// `restarts` uniform draws of `rng` in the bounds (an unbounded entry keeps its start value). The best point
/// ever evaluated is kept (a line search that gives up throws, and the point it reached is still a good one). A run stops when the projected gradient's largest entry is at most
/// `gradient_tolerance` (scipy's pgtol) or the objective's relative change is below 1e7 ε of double (scipy's factr;
/// 16 ε in float).
template <Real T, class Objective>
HyperparameterSearch<T> maximise(const Vector<T>& start, const Matrix<T>& bounds, int restarts, int max_iterations, T gradient_tolerance,
                                 Rng& rng, Objective&& objective) {
  const Index p = bounds.rows();
  struct Negated {
    Objective& f;
    Vector<T> best_theta;
    T best = std::numeric_limits<T>::infinity();
    int count = 0;
    T operator()(const Vector<T>& theta, Vector<T>& grad) {
      Vector<T> g;
      const T value = f(theta, g);
      ++count;
      grad = -g;
      if (-value < best) {
        best = -value;
        best_theta = theta;
      }
      return -value;
    }
  };
  LBFGSpp::LBFGSBParam<T> param;
  param.epsilon = gradient_tolerance;
  param.epsilon_rel = T(0);
  param.past = 1;
  // scipy's factr = 1e7 in double's ε (2.2e-9); not in float's ε, which would be 1.2 — every float run stopped
  // after its first step — but no finer than float can tell apart
  param.delta = std::max(T(1e7 * std::numeric_limits<double>::epsilon()), T(16) * std::numeric_limits<T>::epsilon());
  param.max_iterations = max_iterations;
  param.max_linesearch = 50;
  HyperparameterSearch<T> out;
  out.theta = start;
  T best = std::numeric_limits<T>::infinity();
  for (int run = 0; run <= restarts; ++run) {
    Vector<T> theta(p);
    if (run == 0) {
      theta = start.cwiseMax(bounds.col(0)).cwiseMin(bounds.col(1));
    } else {
      for (Index i = 0; i < p; ++i)  // an unbounded entry (an inducing input) restarts from its start value
        theta(i) = std::isfinite(bounds(i, 0)) && std::isfinite(bounds(i, 1)) ? random::uniform<T>(rng, bounds(i, 0), bounds(i, 1)) : start(i);
    }
    Negated negated{objective, theta};
    LBFGSpp::LBFGSBSolver<T> solver(param);
    T fx = 0;
    int iterations = 0;
    bool stopped = true;
    try {
      iterations = solver.minimize(negated, theta, fx, bounds.col(0), bounds.col(1));
      stopped = iterations < max_iterations;
    } catch (const std::runtime_error&) {  // a line search that gave up
      stopped = false;
    } catch (const std::logic_error&) {  // a direction that does not descend, or a matrix no jitter could factorise
      stopped = false;
    }
    out.converged = out.converged && stopped;
    out.evaluations += negated.count;
    if (negated.best < best) {
      best = negated.best;
      out.theta = negated.best_theta;
      out.iterations = iterations;
    }
  }
  return out;
}

/// The regressors' targets: refused (std::domain_error naming `function` and y) when their spread about
/// their mean has no finite square in T — the variances, the likelihood's yᵀK⁻¹y and normalize_y's scale are
/// squares of it; else sets `mean` and `sd` (1 for a constant target; sd from a norm that cannot overflow)
/// when `normalize`, 0 and 1 otherwise.
template <Real T> void target_scale(const char* function, const VectorCRef<T>& y, bool normalize, T& mean, T& sd) {
  const T centre = y.mean();
  const T spread = (y.array() - centre).abs().maxCoeff();
  if (!std::isfinite(spread * spread))
    throw_domain(function, "y", "spread about its mean by less than the square root of the type's largest value (variances and the likelihood square it); rescale y",
                 "a spread of " + describe(spread));
  mean = T(0);
  sd = T(1);
  if (!normalize) return;
  mean = centre;
  const T s = (y.array() - centre).matrix().stableNorm() / std::sqrt(T(y.size()));
  sd = s > T(0) ? s : T(1);  // scikit-learn: a constant target is only centred
}

/// A prediction's numbers must be finite: @throw std::domain_error naming `function` and x otherwise (the kernel's
/// values between x and the training inputs overflowed, e.g. a dot product of inputs near 1e155).
template <class M> void check_finite_prediction(const char* function, const M& values) {
  if (!values.allFinite())
    throw_domain(function, "x", "give finite kernel values with the model's inputs",
                 "an infinite or NaN result (inputs too large for this kernel?)");
}

/// maximise() over a kernel's log-hyperparameters: `lml(kernel, gradient)` is the log marginal likelihood of a
/// kernel and its gradient in theta; starts from kernel.theta().
template <Real T, class Lml>
HyperparameterSearch<T> maximise_log_marginal_likelihood(const Kernel<T>& kernel, int restarts, int max_iterations, T gradient_tolerance,
                                                         Rng& rng, Lml&& lml) {
  return maximise<T>(kernel.theta(), kernel.bounds(), restarts, max_iterations, gradient_tolerance, rng,
                     [&](const Vector<T>& theta, Vector<T>& g) { return lml(kernel.with_theta(theta), g); });
}

}  // namespace pml::detail
