#pragma once
// The estimator check suite (issue 12, section 4): like scikit-learn's check_estimator, one list of checks
// run over every model class, in float and in double. A model joins by an *adapter* (a small struct, see
// adapters_classical.hpp / adapters_deep.hpp) and one line in a type list:
//
//   struct MyModelAdapter {
//     static constexpr const char* name = "MyModel";           // shown in failures
//     static constexpr const char* function = "MyModel";       // what an exception's what() must start with
//     static constexpr std::array arguments{"x", "components"};  // argument names an exception may name
//     static constexpr Domain domain = Domain::real;           // data on the real line or positive
//     static constexpr Target target = Target::none;           // none, continuous y, or binary labels
//     static constexpr double order_tolerance = 1e-9;           // row order / duplicate-row checks (double)
//     static constexpr Index wide = 2000;                      // columns of the D >> N degenerate case
//     static const char* not_applicable(Check c);              // nullptr, or why check c does not apply
//     template <class T> static Outputs fit(const Problem<T>& p, std::uint64_t seed);
//   };
//
// fit() builds the model with the seed, fits it to p.x (and p.y / p.labels, p.weights, p.k) and returns
// named outputs, each saying how it transforms when the data do: a location moves with a shift c and
// scales with s; a scaled quantity is shift-invariant and scales by s^power (a covariance: 2, a component:
// 0, a coefficient: -1); a log-density is shift-invariant and changes by -power * log s (power = D per
// row); discrete outputs (labels) never change. Outputs "at the query rows" are evaluated at p.query,
// which is shifted and scaled with the training data and left alone when the training rows are permuted.

#include <catch2/catch.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "pml/core/types.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PML_TEST_HAS_ASAN 1
#endif
#endif
#ifndef PML_TEST_HAS_ASAN
#define PML_TEST_HAS_ASAN 0
#endif

namespace pml_test::estimator {

using pml::Index;
using Md = Eigen::MatrixXd;

/// The checks. An adapter's not_applicable(check) says why one does not apply to its model.
enum class Check { seed, shift, scale, row_order, duplicate_weight, float_double, degenerate };
inline const char* check_name(Check c) {
  switch (c) {
    case Check::seed: return "same seed";
    case Check::shift: return "shift";
    case Check::scale: return "scale";
    case Check::row_order: return "row order";
    case Check::duplicate_weight: return "duplicate = weight 2";
    case Check::float_double: return "float vs double";
    case Check::degenerate: return "degenerate";
  }
  return "?";
}

enum class Domain { real, positive };
enum class Target { none, continuous, binary };
enum class Kind { location, scaled, log_density, discrete };

/// One output of a fitted model, as a double matrix, with how it transforms (see the file comment).
struct Output {
  std::string name;
  Md value;
  Kind kind = Kind::scaled;
  double power = 0;
  bool pointwise = false;  ///< evaluated at the query rows
  bool sign_free = false;  ///< columns defined up to sign (eigenvectors)
  Index first_column = 0;  ///< a location of columns first_column.. of x (univariate fits use column 0)
};
using Outputs = std::vector<Output>;

template <class D> Md as_md(const Eigen::MatrixBase<D>& m) { return m.template cast<double>(); }
inline Md as_md(double v) { return Md::Constant(1, 1, v); }
template <class V> Output location(std::string n, const V& v) { return {std::move(n), as_md(v), Kind::location, 1, false, false, 0}; }
template <class V> Output scaled(std::string n, const V& v, double power, bool pointwise = false, bool sign_free = false) {
  return {std::move(n), as_md(v), Kind::scaled, power, pointwise, sign_free, 0};
}
template <class V> Output log_density(std::string n, const V& v, double dimension, bool pointwise) {
  return {std::move(n), as_md(v), Kind::log_density, dimension, pointwise, false, 0};
}
inline Output discrete(std::string n, const pml::IntVector& v) { return {std::move(n), v.cast<double>(), Kind::discrete, 0, true, false, 0}; }

/// The data a model is fitted to: x (N x D), targets where the model has them, optional row weights, the
/// query rows at which pointwise outputs are evaluated, and the number of components K.
template <class T> struct Problem {
  pml::Matrix<T> x;
  pml::Vector<T> y;
  pml::IntVector labels;
  pml::Vector<T> weights;  ///< empty: unweighted
  pml::Matrix<T> query;
  Index k = 3;
  /// true for the degenerate data sets: adapters then use the model's default options (e.g. its
  /// regularisation), which the equivariance checks may switch off because they are absolute amounts.
  bool degenerate = false;
};

template <class To, class From> Problem<To> cast_problem(const Problem<From>& p) {
  return {p.x.template cast<To>(), p.y.template cast<To>(), p.labels, p.weights.template cast<To>(), p.query.template cast<To>(), p.k, p.degenerate};
}

/// Three well separated anisotropic blobs in D = 3 (N = 60), values on the grid 2^-10 so that adding an
/// integer shift is exact in double (and in float up to shifts of a few thousand): the checks then
/// see only the model's rounding, not the data's. Positive data for Domain::positive.
inline Problem<double> standard_problem(Domain domain) {
  const Index n = 60, d = 3;
  std::mt19937_64 gen(20261130);
  std::normal_distribution<double> normal;
  const double centres[3][3] = {{0, 0, 0}, {12, 3, -2}, {-5, 10, 4}};
  const double sd[3] = {1.0, 0.6, 0.3};
  auto grid = [](double v) { return std::round(v * 1024.0) / 1024.0; };
  Problem<double> p;
  p.x.resize(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) p.x(i, j) = grid(centres[i % 3][j] + sd[j] * normal(gen));
  p.query.resize(6, d);
  for (Index i = 0; i < 6; ++i)
    for (Index j = 0; j < d; ++j) p.query(i, j) = grid(centres[i % 3][j] + 0.5 * sd[j] * normal(gen));
  if (domain == Domain::positive) {
    p.x = p.x.array().abs() + 0.5;
    p.query = p.query.array().abs() + 0.5;
  }
  const Eigen::Vector3d w(0.5, -1.0, 2.0);
  p.y = (p.x * w).unaryExpr([&](double v) { return grid(v + 0.25 * normal(gen)); });
  p.labels.resize(n);
  // overlapping classes (a separable set has no finite maximum-likelihood fit)
  for (Index i = 0; i < n; ++i) p.labels(i) = (p.x(i, 0) - 3.0 + 4.0 * normal(gen)) > 0 ? 1 : 0;
  return p;
}

/// Targets for a degenerate x: y from the first column, labels alternating.
template <class T> void add_targets(Problem<T>& p) {
  p.y = p.x.col(0);
  if (p.x.rows() > 1) p.y(0) += T(1);
  p.labels.resize(p.x.rows());
  for (Index i = 0; i < p.x.rows(); ++i) p.labels(i) = i % 2;
  p.query = p.x.topRows(std::min<Index>(p.x.rows(), 4));
}

/// Relative tolerance of the equivariance and row-order checks: 1e-9 in double (issue 12); in float, whose
/// iterative fits (evidence, EM) amplify its 6e-8 rounding a hundredfold, 1e-3.
template <class T> double rel_tolerance() { return std::is_same_v<T, double> ? 1e-9 : 1e-3; }

/// Bitwise equality (NaN at the same place counts as equal: the seed check is about reproducibility).
inline bool bit_identical(const Md& a, const Md& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && std::memcmp(a.data(), b.data(), sizeof(double) * std::size_t(a.size())) == 0;
}

inline bool all_finite(const Md& m) { return m.allFinite(); }

/// Compares `got` with the transformed reference `expected`: discrete outputs exactly, others by the
/// largest absolute difference against tol * max|expected| (at least 1 for log-densities) plus `extra`.
inline bool compare(const Output& ref, const Md& expected, const Md& got_in, double tol, double extra, std::string& log) {
  std::ostringstream os;
  os.precision(3);
  os << ref.name << ": ";
  if (expected.rows() != got_in.rows() || expected.cols() != got_in.cols()) {
    os << "shape " << got_in.rows() << "x" << got_in.cols() << ", expected " << expected.rows() << "x" << expected.cols();
    log += os.str() + "\n";
    return false;
  }
  if (ref.kind == Kind::discrete) {
    const Index wrong = (expected.array() != got_in.array()).count();
    os << wrong << " of " << expected.size() << " labels differ";
    log += os.str() + "\n";
    return wrong == 0;
  }
  Md got = got_in;
  if (ref.sign_free)
    for (Index j = 0; j < got.cols(); ++j)
      if (got.col(j).dot(expected.col(j)) < 0) got.col(j) *= -1;
  if (!all_finite(got)) {
    os << "not finite (" << got.transpose().format(Eigen::IOFormat(3, 0, ", ", "; ")) << ")";
    log += os.str() + "\n";
    return false;
  }
  double scale = expected.size() ? expected.cwiseAbs().maxCoeff() : 0.0;
  if (ref.kind == Kind::log_density) scale = std::max(scale, 1.0);
  const double err = expected.size() ? (got - expected).cwiseAbs().maxCoeff() : 0.0;
  const double allowed = tol * scale + extra;
  os << "max |diff| " << err << " (relative " << (scale > 0 ? err / scale : err) << "), allowed " << allowed;
  log += os.str() + "\n";
  return err <= allowed;
}

/// Results also go to stdout with PML_ESTIMATOR_REPORT=1 (one line per model, type and check).
inline void report(const char* model, const char* type, const char* check, bool ok, const std::string& log) {
  static const bool verbose = std::getenv("PML_ESTIMATOR_REPORT") != nullptr;
  if (verbose || !ok) {
    std::cout << (ok ? "ok   " : "FAIL ") << model << " <" << type << "> " << check << "\n";
    if (!ok || std::getenv("PML_ESTIMATOR_REPORT_ALL")) {
      std::istringstream is(log);
      for (std::string line; std::getline(is, line);) std::cout << "       " << line << "\n";
    }
  }
}

template <class T> const char* type_name() { return std::is_same_v<T, double> ? "double" : "float"; }

/// Compares every output of `got` with `ref` transformed by `expect`, records the result.
template <class A, class T, class Expect, class Extra>
void compare_all(const char* check, const Outputs& ref, const Outputs& got, double tol, Expect expect, Extra extra, const std::string& what) {
  std::string log = what.empty() ? "" : what + "\n";
  bool ok = ref.size() == got.size();
  if (!ok) log += "different number of outputs\n";
  for (std::size_t i = 0; ok && i < ref.size(); ++i) {
    const bool one = compare(ref[i], expect(ref[i]), got[i].value, tol, extra(ref[i]), log);
    ok = ok && one;
    if (!one) {
      for (std::size_t j = i + 1; j < ref.size(); ++j) compare(ref[j], expect(ref[j]), got[j].value, tol, extra(ref[j]), log);
      break;
    }
  }
  report(A::name, type_name<T>(), check, ok, log);
  INFO(A::name << " <" << type_name<T>() << "> " << check << "\n" << log);
  CHECK(ok);
}

// ---------------------------------------------------------------------------------------------------
// The checks

/// Same seed, same data: bit-identical outputs.
template <class A, class T> void check_seed() {
  const Problem<T> p = cast_problem<T>(standard_problem(A::domain));
  const Outputs a = A::template fit<T>(p, 42), b = A::template fit<T>(p, 42);
  std::string log;
  bool ok = a.size() == b.size();
  for (std::size_t i = 0; ok && i < a.size(); ++i) {
    const bool same = bit_identical(a[i].value, b[i].value);
    if (!same) log += a[i].name + ": not bit-identical, max |diff| " + std::to_string((a[i].value - b[i].value).cwiseAbs().maxCoeff()) + "\n";
    ok = ok && same;
  }
  report(A::name, type_name<T>(), "same seed", ok, log);
  INFO(A::name << " <" << type_name<T>() << "> same seed\n" << log);
  CHECK(ok);
}

/// fit(X + c), c = multiple x the column spread (rounded to an integer so X + c is exact): locations move
/// by c, the rest is unchanged. A value evaluated at a point, or a location, cannot be better than the
/// rounding of the shifted location (eps |c|), so those get that much extra room; nothing else does.
template <class A, class T> void check_shift() {
  const Problem<double> base = standard_problem(A::domain);
  const Problem<T> p = cast_problem<T>(base);
  const Outputs ref = A::template fit<T>(p, 42);
  const Eigen::RowVectorXd spread = ((base.x.rowwise() - base.x.colwise().mean()).colwise().norm() / std::sqrt(double(base.x.rows())));
  const std::vector<double> multiples = std::is_same_v<T, double> ? std::vector<double>{1e3, 1e6, 1e9} : std::vector<double>{1e1, 1e3};
  const double eps = std::numeric_limits<T>::epsilon();
  for (const double m : multiples) {
    const Eigen::RowVectorXd c = (spread * m).array().round().matrix();
    Problem<T> q = p;
    q.x = (base.x.rowwise() + c).template cast<T>();
    q.query = (base.query.rowwise() + c).template cast<T>();
    const Outputs got = A::template fit<T>(q, 42);
    const double cmax = c.cwiseAbs().maxCoeff();
    compare_all<A, T>(
        ("shift c = " + std::to_string(int(std::log10(m))) + "e spread").c_str(), ref, got, rel_tolerance<T>(),
        [&](const Output& o) -> Md {
          if (o.kind != Kind::location) return o.value;
          REQUIRE(o.first_column + o.value.cols() <= c.cols());
          return o.value.rowwise() + c.segment(o.first_column, o.value.cols());
        },
        [&](const Output& o) {
          if (o.kind == Kind::location) return 8 * eps * cmax;
          if (o.pointwise && o.kind != Kind::discrete) return 64 * eps * m * std::max(1.0, o.value.cwiseAbs().maxCoeff());
          return 0.0;
        },
        "x + c, c = " + std::to_string(m) + " x spread");
  }
}

/// fit(s X): locations scale by s, scaled outputs by s^power, log-densities change by -power log s.
template <class A, class T> void check_scale() {
  const Problem<double> base = standard_problem(A::domain);
  const Problem<T> p = cast_problem<T>(base);
  const Outputs ref = A::template fit<T>(p, 42);
  for (const double s : {1e-3, 1e3}) {
    Problem<T> q = p;
    q.x = (base.x * s).template cast<T>();
    q.query = (base.query * s).template cast<T>();
    const Outputs got = A::template fit<T>(q, 42);
    compare_all<A, T>(
        s < 1 ? "scale s = 1e-3" : "scale s = 1e3", ref, got, rel_tolerance<T>(),
        [&](const Output& o) -> Md {
          switch (o.kind) {
            case Kind::location: return o.value * s;
            case Kind::scaled: return o.value * std::pow(s, o.power);
            case Kind::log_density: return o.value.array() - o.power * std::log(s);
            case Kind::discrete: return o.value;
          }
          return o.value;
        },
        [](const Output&) { return 0.0; }, "");
  }
}

template <class A, class T> double order_tolerance() { return std::is_same_v<T, double> ? A::order_tolerance : std::max(rel_tolerance<float>(), A::order_tolerance); }

/// Permuting the training rows (targets and weights with them) leaves every output unchanged.
template <class A, class T> void check_row_order() {
  const Problem<T> p = cast_problem<T>(standard_problem(A::domain));
  std::vector<Index> perm(std::size_t(p.x.rows()));
  std::iota(perm.begin(), perm.end(), Index(0));
  std::shuffle(perm.begin(), perm.end(), std::mt19937(5));
  Problem<T> q = p;
  for (Index i = 0; i < p.x.rows(); ++i) {
    const Index from = perm[std::size_t(i)];
    q.x.row(i) = p.x.row(from);
    if (p.y.size()) q.y(i) = p.y(from);
    if (p.labels.size()) q.labels(i) = p.labels(from);
  }
  const Outputs ref = A::template fit<T>(p, 42), got = A::template fit<T>(q, 42);
  compare_all<A, T>("row order", ref, got, order_tolerance<A, T>(), [](const Output& o) { return o.value; }, [](const Output&) { return 0.0; }, "");
}

/// Row 0 given twice (unweighted) equals row 0 given once with weight 2.
template <class A, class T> void check_duplicate_weight() {
  const Problem<T> p = cast_problem<T>(standard_problem(A::domain));
  Problem<T> twice = p, weighted = p;
  const Index n = p.x.rows();
  twice.x.conservativeResize(n + 1, Eigen::NoChange);
  twice.x.row(n) = p.x.row(0);
  if (p.y.size()) {
    twice.y.conservativeResize(n + 1);
    twice.y(n) = p.y(0);
  }
  if (p.labels.size()) {
    twice.labels.conservativeResize(n + 1);
    twice.labels(n) = p.labels(0);
  }
  weighted.weights = pml::Vector<T>::Ones(n);
  weighted.weights(0) = T(2);
  const Outputs ref = A::template fit<T>(twice, 42), got = A::template fit<T>(weighted, 42);
  compare_all<A, T>("duplicate = weight 2", ref, got, order_tolerance<A, T>(), [](const Output& o) { return o.value; }, [](const Output&) { return 0.0; }, "");
}

/// fit<float> agrees with fit<double> on the same data, to a loose tolerance.
template <class A> void check_float_double() {
  const Problem<double> p = standard_problem(A::domain);
  const Outputs ref = A::template fit<double>(p, 42), got = A::template fit<float>(cast_problem<float>(p), 42);
  compare_all<A, float>("float vs double", ref, got, A::float_tolerance, [](const Output& o) { return o.value; }, [](const Output&) { return 0.0; }, "");
}

/// Runs `body` in a child process (so a crash or a hang is reported, not fatal), with a time limit;
/// the child writes its verdict ("ok ..." or "fail ...") to a pipe.
template <class Body> std::string run_isolated(Body body, unsigned seconds) {
  std::cout.flush();
  int fd[2];
  if (pipe(fd) != 0) return "fail: pipe() failed";
  const pid_t pid = fork();
  if (pid < 0) return "fail: fork() failed";
  if (pid == 0) {
    close(fd[0]);
    // the default actions, not Catch2's handlers (which would print a second test report from the child)
    for (const int sig : {SIGSEGV, SIGABRT, SIGFPE, SIGILL, SIGBUS}) std::signal(sig, SIG_DFL);
    alarm(seconds);
    std::string verdict;
    try {
      verdict = body();
    } catch (const std::exception& e) {
      verdict = std::string("fail: unexpected exception: ") + e.what();
    } catch (...) {
      verdict = "fail: unknown exception";
    }
    [[maybe_unused]] const ssize_t w = write(fd[1], verdict.data(), verdict.size());
    close(fd[1]);
    _exit(0);
  }
  close(fd[1]);
  std::string out;
  char buf[512];
  for (ssize_t r; (r = read(fd[0], buf, sizeof buf)) > 0;) out.append(buf, std::size_t(r));
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return sig == SIGALRM ? "fail: no result within " + std::to_string(seconds) + " s (hang?)" : "fail: crashed with signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) return "fail: child exited with " + std::to_string(WEXITSTATUS(status)) + (out.empty() ? "" : ": " + out);
  return out.empty() ? "fail: no verdict" : out;
}

inline bool names_word(const std::string& text, const std::string& word) {
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool left = at == 0 || !(std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_');
    const std::size_t end = at + word.size();
    const bool right = end >= text.size() || !(std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_');
    if (left && right) return true;
  }
  return false;
}

/// The degenerate data sets, in the scalar type T (huge/tiny magnitudes near the limits of T).
template <class T> std::vector<std::pair<std::string, Problem<T>>> degenerate_problems(Domain domain, Index wide) {
  const Problem<double> base = standard_problem(domain);
  std::vector<std::pair<std::string, Problem<T>>> out;
  auto add = [&](std::string name, const Eigen::MatrixXd& x, Index k = 3) {
    Problem<T> p;
    p.x = x.template cast<T>();
    p.k = k;
    p.degenerate = true;
    add_targets(p);
    out.emplace_back(std::move(name), std::move(p));
  };
  add("one row", base.x.topRows(1));
  add("more components than rows (N = 2, K = 3)", base.x.topRows(2));
  add("identical rows", base.x.row(0).replicate(10, 1));
  Eigen::MatrixXd constant = base.x;
  constant.col(1).setConstant(domain == Domain::positive ? 2.5 : -1.5);
  add("a constant column", constant);
  Eigen::MatrixXd collinear = base.x;
  collinear.col(2) = 2 * collinear.col(0) + collinear.col(1);
  if (domain == Domain::positive) collinear.col(2) = collinear.col(2).cwiseAbs().array() + 0.5;
  add("collinear columns", collinear);
  std::mt19937_64 gen(3);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd w(3, wide);
  for (Index i = 0; i < w.size(); ++i) w(i) = normal(gen);
  if (domain == Domain::positive) w = w.array().abs() + 0.5;
  add("D >> N (3 x " + std::to_string(wide) + ")", w);
  const double big = std::is_same_v<T, double> ? 1e300 : 1e35, small = std::is_same_v<T, double> ? 1e-300 : 1e-35;
  add(std::is_same_v<T, double> ? "values near 1e300" : "values near 1e35", base.x * (big / 20));
  add(std::is_same_v<T, double> ? "values near 1e-300" : "values near 1e-35", base.x * small);
  Eigen::MatrixXd mixed = base.x;
  mixed.col(0) *= big / 20;
  mixed.col(1) *= small;
  add("columns near 1e+-300 together", mixed);
  return out;
}

/// Degenerate inputs: a finite result (every non-discrete output finite) or one std::invalid_argument /
/// std::domain_error whose what() starts with the model's name and names an argument; never NaN/inf, a
/// crash, another exception type or a hang (each case runs in a child process with a time limit).
template <class A, class T> void check_degenerate() {
  for (auto& [name, p] : degenerate_problems<T>(A::domain, A::wide)) {
    const std::string verdict = run_isolated(
        [&, &p = p]() -> std::string {
          try {
            const Outputs out = A::template fit<T>(p, 42);
            for (const Output& o : out)
              if (o.kind != Kind::discrete && !all_finite(o.value)) {
                std::ostringstream os;
                os.precision(4);
                os << "fail: " << o.name << " is not finite: " << o.value.transpose().leftCols(std::min<Index>(6, o.value.size())).format(Eigen::IOFormat(4, 0, ", ", "; "));
                return os.str();
              }
            return "ok: finite result";
          } catch (const std::invalid_argument& e) {
            return std::string("exception: ") + e.what();
          } catch (const std::domain_error& e) {
            return std::string("exception: ") + e.what();
          }
        },
        A::degenerate_seconds);
    bool ok = verdict.rfind("ok", 0) == 0;
    std::string log = name + ": " + verdict;
    if (verdict.rfind("exception: ", 0) == 0) {
      const std::string what = verdict.substr(11);
      bool named = false;
      for (const char* a : A::arguments) named = named || names_word(what, a);
      ok = what.rfind(A::function, 0) == 0 && named;
      if (!ok) log += "  <- the message must start with '" + std::string(A::function) + "' and name an argument";
    }
    report(A::name, type_name<T>(), ("degenerate: " + name).c_str(), ok, log);
    INFO(A::name << " <" << type_name<T>() << "> degenerate input\n" << log);
    CHECK(ok);
  }
}

/// Runs check `c` for adapter A in double and float, or records why it does not apply.
template <class A> void run_check(Check c) {
  if (const char* why = A::not_applicable(c)) {
    report(A::name, "-", (std::string(check_name(c)) + ": not applicable: " + why).c_str(), true, "");
    SUCCEED(A::name << ": " << check_name(c) << " does not apply: " << why);
    return;
  }
  switch (c) {
    case Check::seed: check_seed<A, double>(); check_seed<A, float>(); break;
    case Check::shift: check_shift<A, double>(); check_shift<A, float>(); break;
    case Check::scale: check_scale<A, double>(); check_scale<A, float>(); break;
    case Check::row_order: check_row_order<A, double>(); check_row_order<A, float>(); break;
    case Check::duplicate_weight: check_duplicate_weight<A, double>(); check_duplicate_weight<A, float>(); break;
    case Check::float_double: check_float_double<A>(); break;
    case Check::degenerate: check_degenerate<A, double>(); check_degenerate<A, float>(); break;
  }
}

/// Defaults an adapter may inherit.
struct AdapterDefaults {
  static constexpr Domain domain = Domain::real;
  static constexpr Target target = Target::none;
  static constexpr double order_tolerance = 1e-9;
  static constexpr double float_tolerance = 1e-3;
  static constexpr Index wide = 2000;
  /// A degenerate fit taking longer is reported as a hang (each takes milliseconds when the model's cost
  /// is linear in N D; four times the room under AddressSanitizer or without optimisation).
#if defined(__SANITIZE_ADDRESS__) || PML_TEST_HAS_ASAN || !defined(__OPTIMIZE__)
  static constexpr unsigned degenerate_seconds = 20;  // also for a test file at -O0 (PML_TEST_O0)
#else
  static constexpr unsigned degenerate_seconds = 5;
#endif
};

}  // namespace pml_test::estimator

/// One Catch2 test case per check, each over every adapter of the type list `Models`.
#define PML_ESTIMATOR_CHECKS(Models, tag)                                                                          \
  TEMPLATE_LIST_TEST_CASE("same seed gives bit-identical results", tag "[seed]", Models) {                          \
    pml_test::estimator::run_check<TestType>(pml_test::estimator::Check::seed);                                     \
  }                                                                                                                 \
  TEMPLATE_LIST_TEST_CASE("shift equivariance", tag "[shift]", Models) {                                            \
    pml_test::estimator::run_check<TestType>(pml_test::estimator::Check::shift);                                    \
  }                                                                                                                 \
  TEMPLATE_LIST_TEST_CASE("scale equivariance", tag "[scale]", Models) {                                            \
    pml_test::estimator::run_check<TestType>(pml_test::estimator::Check::scale);                                    \
  }                                                                                                                 \
  TEMPLATE_LIST_TEST_CASE("invariance to row order", tag "[row_order]", Models) {                                   \
    pml_test::estimator::run_check<TestType>(pml_test::estimator::Check::row_order);                                \
  }                                                                                                                 \
  TEMPLATE_LIST_TEST_CASE("a duplicated row equals weight 2", tag "[duplicate]", Models) {                          \
    pml_test::estimator::run_check<TestType>(pml_test::estimator::Check::duplicate_weight);                         \
  }                                                                                                                 \
  TEMPLATE_LIST_TEST_CASE("float agrees with double", tag "[float_double]", Models) {                               \
    pml_test::estimator::run_check<TestType>(pml_test::estimator::Check::float_double);                             \
  }                                                                                                                 \
  TEMPLATE_LIST_TEST_CASE("degenerate inputs: finite result or a clear exception", tag "[degenerate]", Models) {    \
    pml_test::estimator::run_check<TestType>(pml_test::estimator::Check::degenerate);                               \
  }
