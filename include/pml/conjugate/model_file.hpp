#pragma once
/// @file
/// Model files for the conjugate models: the prior and the current posterior, each stored as one matrix of
/// its distribution's parameters, plus the model's own constants (trials, known σ or mean) as options.

#include <filesystem>
#include <string>

#include "pml/core/collective.hpp"
#include "pml/distributions/beta.hpp"
#include "pml/distributions/dirichlet.hpp"
#include "pml/distributions/gamma.hpp"
#include "pml/distributions/normal.hpp"
#include "pml/distributions/normal_gamma.hpp"
#include "pml/distributions/normal_wishart.hpp"
#include "pml/serialization/model_file.hpp"

namespace pml::detail {
/// The sufficient statistics of every rank's data for a conjugate model's sharded update(): `local()` runs a
/// rank's checks and returns its statistics (the same length on every rank); a failed check throws on every
/// rank (agree()), and the statistics come back summed over the ranks (in double: counts exact below 2^53).
template <class Local> Eigen::VectorXd shared_statistics(const Collective& ranks, Local&& local) {
  Eigen::VectorXd s;
  agree(ranks, [&] { s = local(); });
  all_sum(ranks, s);
  return s;
}
}  // namespace pml::detail

namespace pml::detail {

// A distribution's parameters as one matrix, and back (the constructor checks the values).
template <Real T> Matrix<T> distribution_parameters(const Beta<T>& d) { return (Matrix<T>(2, 1) << d.a(), d.b()).finished(); }
template <Real T> Matrix<T> distribution_parameters(const Gamma<T>& d) { return (Matrix<T>(2, 1) << d.shape(), d.rate()).finished(); }
template <Real T> Matrix<T> distribution_parameters(const Normal<T>& d) { return (Matrix<T>(2, 1) << d.mean(), d.stddev()).finished(); }
template <Real T> Matrix<T> distribution_parameters(const Dirichlet<T>& d) { return Matrix<T>(d.alpha()); }
template <Real T> Matrix<T> distribution_parameters(const NormalGamma<T>& d) {
  return (Matrix<T>(4, 1) << d.mu0(), d.kappa(), d.a(), d.b()).finished();
}
// D x (D + 3): the scale matrix W, then μ₀, κ and ν as columns
template <Real T> Matrix<T> distribution_parameters(const NormalWishart<T>& d) {
  const Index n = d.dimension();
  Matrix<T> m(n, n + 3);
  m << d.scale(), d.mu0(), Vector<T>::Constant(n, d.kappa()), Vector<T>::Constant(n, d.nu());
  return m;
}

template <class D> struct DistributionFromFile;
template <Real T> struct DistributionFromFile<Beta<T>> {
  static constexpr Index rows = 2, cols = 1;
  static Beta<T> make(const Matrix<T>& m) { return Beta<T>(m(0, 0), m(1, 0)); }
};
template <Real T> struct DistributionFromFile<Gamma<T>> {
  static constexpr Index rows = 2, cols = 1;
  static Gamma<T> make(const Matrix<T>& m) { return Gamma<T>(m(0, 0), m(1, 0)); }
};
template <Real T> struct DistributionFromFile<Normal<T>> {
  static constexpr Index rows = 2, cols = 1;
  static Normal<T> make(const Matrix<T>& m) { return Normal<T>(m(0, 0), m(1, 0)); }
};
template <Real T> struct DistributionFromFile<Dirichlet<T>> {
  static constexpr Index rows = -1, cols = 1;
  static Dirichlet<T> make(const Matrix<T>& m) { return Dirichlet<T>(m.col(0)); }
};
template <Real T> struct DistributionFromFile<NormalGamma<T>> {
  static constexpr Index rows = 4, cols = 1;
  static NormalGamma<T> make(const Matrix<T>& m) { return NormalGamma<T>(m(0, 0), m(1, 0), m(2, 0), m(3, 0)); }
};
template <Real T> struct DistributionFromFile<NormalWishart<T>> {
  static constexpr Index rows = -1, cols = -1;
  static NormalWishart<T> make(const Matrix<T>& m) {
    const Index n = m.rows();
    if (m.cols() != n + 3) throw std::invalid_argument("expected D x (D + 3) parameters, got " + std::to_string(n) + " x " + std::to_string(m.cols()));
    if (n == 0) throw std::invalid_argument("the dimension is 0");
    return NormalWishart<T>(m.col(n), m(0, n + 1), m(0, n + 2), m.leftCols(n));
  }
};

/// Writes a conjugate model's prior and posterior (and its options) to `path`.
template <class Dist>
void save_conjugate(const std::filesystem::path& path, io::FileFormat format, const char* model, const std::string& options, const Dist& prior,
                    const Dist& posterior, const char* function) {
  const auto p = distribution_parameters(prior), q = distribution_parameters(posterior);
  using T = typename decltype(p)::Scalar;
  io::write_model_file<T>(path, {{"prior", p}, {"posterior", q}}, format, {model, options}, function);
}

/// The distribution `name` ("prior" or "posterior") of a loaded conjugate-model file.
/// @throw std::runtime_error naming the path for missing, misshapen or invalid parameters.
template <class Dist, Real T>
Dist conjugate_distribution(const io::ModelFile<T>& file, const char* name, const std::filesystem::path& path, const char* function) {
  using From = DistributionFromFile<Dist>;
  const Matrix<T>& m = io::matrix(file, name, From::rows, From::cols, path, function);
  try {
    return From::make(m);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(function) + ": '" + path.string() + "': bad " + name + ": " + e.what());
  }
}

/// A loaded prior and posterior must describe the same number of categories or dimensions.
template <class Dist>
void check_same_dimension(const Dist& prior, const Dist& posterior, const std::filesystem::path& path, const char* function) {
  if constexpr (requires { prior.dimension(); }) {
    if (prior.dimension() != posterior.dimension())
      throw std::runtime_error(std::string(function) + ": '" + path.string() + "': the prior has dimension " + std::to_string(prior.dimension()) +
                               " but the posterior " + std::to_string(posterior.dimension()));
  }
}

template <class D> struct ScalarOf;
template <template <Real> class D, Real T> struct ScalarOf<D<T>> {
  using type = T;
};

/// The static load() of a conjugate model: reads the file, checks its type, builds the model from the
/// prior with `make(options, prior)` and gives it the stored posterior with `restore(model, posterior)`.
template <class Model, class Dist, class Make, class Restore>
Model load_conjugate(const std::filesystem::path& path, const char* model_name, const char* function, Make make, Restore restore) {
  using T = typename ScalarOf<Dist>::type;
  const io::ModelFile<T> file = io::read_model_file<T>(path, function);
  io::require_model(file, model_name, path, function);
  const io::OptionsReader options(file, path, function);
  const Dist prior = conjugate_distribution<Dist>(file, "prior", path, function);
  Model model = [&] {
    try {
      return make(options, prior);
    } catch (const std::runtime_error&) {
      throw;  // an option the reader refused (it names the file)
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(function) + ": '" + path.string() + "' has bad options: " + e.what());
    }
  }();
  Dist posterior = conjugate_distribution<Dist>(file, "posterior", path, function);
  check_same_dimension(prior, posterior, path, function);
  restore(model, std::move(posterior));
  return model;
}

}  // namespace pml::detail
