#pragma once
/// @file
/// Covariance functions (kernels) for Gaussian processes as composable values (Rasmussen & Williams ch. 4,
/// PRML §6.2; the same kernels, formulas and hyperparameter order as scikit-learn's
/// `sklearn.gaussian_process.kernels`).
///
/// A `Kernel<T>` is a tree of the basic kernels below joined by `+` and `*`; `c * k` scales by a constant
/// kernel (`constant(c) * k`, as scikit-learn does). Every positive hyperparameter lives in log space:
/// `theta()` lists the logs of the free (not fixed) ones — for a sum or product the left operand's first, and
/// within a basic kernel in scikit-learn's (alphabetical) order — and `bounds()` their log bounds. `gradient()`
/// returns ∂K/∂θ for every entry of theta, in closed form.
///
/// | kernel | k(x, x') with r = ‖(x − x') / ℓ‖ | theta |
/// |---|---|---|
/// | `rbf(ℓ)` (ℓ a scalar or one length per column: ARD) | exp(−r²/2) | log ℓ |
/// | `matern(ℓ, ν)`, ν ∈ {½, 3⁄2, 5⁄2} | exp(−r); (1 + √3 r) e^{−√3 r}; (1 + √5 r + 5r²/3) e^{−√5 r} | log ℓ |
/// | `rational_quadratic(ℓ, α)` | (1 + r²/(2α))^{−α} | log α, log ℓ |
/// | `exp_sine_squared(ℓ, p)` | exp(−2 sin²(π‖x − x'‖/p)/ℓ²) | log ℓ, log p |
/// | `dot_product(σ₀)` | σ₀² + x·x' | log σ₀ |
/// | `constant(c)` | c | log c |
/// | `white(s)` | s when x and x' are the same row of the same matrix, else 0 | log s |
///
/// Distances are formed from the differences x − x' directly (never expanded as ‖x‖² + ‖x'‖² − 2x·x', which
/// loses every digit for data far from the origin); the pairs are split into column blocks fixed by the
/// sizes, so the result is the same for any thread count.
///
/// A kernel prints as text and reads back from it (`to_string()`, `parse()`), the form model files and the
/// command line use: `constant(2.5) * rbf(length_scale=[1, 3]) + white(0.1, noise_level_bounds=fixed)`.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pml/core/instantiation.hpp"
#include "pml/core/check.hpp"
#include "pml/core/parallel.hpp"
#include "pml/core/types.hpp"

namespace pml {

namespace detail {
template <Real T> struct KernelTextParser;
}  // namespace detail

/// The bounds of one hyperparameter, in its own units (not logs): scikit-learn's default (1e-5, 1e5), or fixed
/// (left out of theta and never optimised).
template <Real T = double> struct KernelBounds {
  T lower = T(1e-5);   ///< smallest value the optimiser may take (> 0)
  T upper = T(1e5);    ///< largest value the optimiser may take (≥ lower)
  bool fixed = false;  ///< the value is held: not in theta, not optimised
  /// A hyperparameter held at its value (scikit-learn's `"fixed"` bounds).
  static KernelBounds held() { return KernelBounds{T(1e-5), T(1e5), true}; }
  bool operator==(const KernelBounds&) const = default;  ///< Same bounds and the same fixed flag.
};

/// A Gaussian-process covariance function: one of the basic kernels, or a sum or product of two kernels.
/// A value type (copies are independent). Thread safety: const members may run from many threads at once.
template <Real T = double> class Kernel {
 public:
  using Bounds = KernelBounds<T>;  ///< The bounds of one hyperparameter.
  using Scalar = T;                ///< The scalar type (float or double).

  /// What a node of the tree is.
  enum class Kind {
    rbf,                 ///< squared exponential
    matern,              ///< Matérn of smoothness ν
    rational_quadratic,  ///< rational quadratic
    exp_sine_squared,    ///< periodic
    dot_product,         ///< σ₀² + x·x'
    constant,            ///< c
    white,               ///< white noise
    sum,                 ///< the sum of two kernels
    product,             ///< the product of two kernels
  };

  /// The constant kernel k = 1 (scikit-learn's `ConstantKernel()`).
  Kernel() : Kernel(constant(T(1))) {}

  /// Squared exponential k = exp(−‖(x − x')/ℓ‖²/2) with one length scale for every column (R&W eq. 4.9).
  /// @throw std::domain_error unless length_scale > 0 and the bounds are valid.
  static Kernel rbf(T length_scale = T(1), Bounds bounds = {}) { return rbf(Vector<T>::Constant(1, length_scale), bounds); }
  /// Squared exponential with one length scale per input column (automatic relevance determination, R&W
  /// eq. 5.2): `length_scale` has D entries, and the inputs must then have D columns.
  static Kernel rbf(const Vector<T>& length_scale, Bounds bounds = {}) {
    return leaf(Kind::rbf, "Kernel::rbf", {{"length_scale", length_scale, bounds}});
  }
  /// Matérn kernel of smoothness ν ∈ {0.5, 1.5, 2.5} (R&W eq. 4.14, 4.16–4.17); ν = 0.5 is the exponential
  /// (Ornstein–Uhlenbeck) kernel. @throw std::domain_error for another ν.
  static Kernel matern(T length_scale = T(1), T nu = T(1.5), Bounds bounds = {}) {
    return matern(Vector<T>::Constant(1, length_scale), nu, bounds);
  }
  /// Matérn kernel with one length scale per input column (ARD).
  static Kernel matern(const Vector<T>& length_scale, T nu, Bounds bounds = {}) {
    if (!(nu == T(0.5) || nu == T(1.5) || nu == T(2.5)))
      detail::throw_domain("Kernel::matern", "nu", "be 0.5, 1.5 or 2.5", detail::describe(nu));
    Kernel k = leaf(Kind::matern, "Kernel::matern", {{"length_scale", length_scale, bounds}});
    k.nu_ = nu;
    return k;
  }
  /// Rational quadratic k = (1 + ‖x − x'‖²/(2αℓ²))^(−α), a scale mixture of squared exponentials (R&W eq. 4.19).
  static Kernel rational_quadratic(T length_scale = T(1), T alpha = T(1), Bounds length_scale_bounds = {}, Bounds alpha_bounds = {}) {
    return leaf(Kind::rational_quadratic, "Kernel::rational_quadratic",
                {{"alpha", Vector<T>::Constant(1, alpha), alpha_bounds}, {"length_scale", Vector<T>::Constant(1, length_scale), length_scale_bounds}});
  }
  /// Periodic kernel k = exp(−2 sin²(π‖x − x'‖/p)/ℓ²) (R&W eq. 4.31; scikit-learn's ExpSineSquared).
  static Kernel exp_sine_squared(T length_scale = T(1), T periodicity = T(1), Bounds length_scale_bounds = {}, Bounds periodicity_bounds = {}) {
    return leaf(Kind::exp_sine_squared, "Kernel::exp_sine_squared",
                {{"length_scale", Vector<T>::Constant(1, length_scale), length_scale_bounds},
                 {"periodicity", Vector<T>::Constant(1, periodicity), periodicity_bounds}});
  }
  /// Dot-product (linear) kernel k = σ₀² + x·x' (R&W eq. 4.21 with an offset; Bayesian linear regression).
  static Kernel dot_product(T sigma_0 = T(1), Bounds bounds = {}) {
    return leaf(Kind::dot_product, "Kernel::dot_product", {{"sigma_0", Vector<T>::Constant(1, sigma_0), bounds}});
  }
  /// Constant kernel k = c (as a factor, a signal variance: `constant(σ²) * rbf(ℓ)`).
  static Kernel constant(T value = T(1), Bounds bounds = {}) {
    return leaf(Kind::constant, "Kernel::constant", {{"constant_value", Vector<T>::Constant(1, value), bounds}});
  }
  /// White noise k = s·[x and x' are the same row of the same input] (0 between two different inputs, as in
  /// scikit-learn: a prediction's cross-covariance with the training rows has none of it, its variance has).
  static Kernel white(T noise_level = T(1), Bounds bounds = {}) {
    return leaf(Kind::white, "Kernel::white", {{"noise_level", Vector<T>::Constant(1, noise_level), bounds}});
  }

  /// The sum k₁ + k₂ (a GP of the sum of two independent processes).
  friend Kernel operator+(Kernel a, Kernel b) { return node(Kind::sum, std::move(a), std::move(b)); }
  /// The product k₁ · k₂.
  friend Kernel operator*(Kernel a, Kernel b) { return node(Kind::product, std::move(a), std::move(b)); }
  /// Scaling by a constant kernel: `c * k` is `constant(c) * k`. @throw std::domain_error unless c > 0.
  friend Kernel operator*(T c, Kernel k) { return constant(c) * std::move(k); }

  Kind kind() const noexcept { return kind_; }  ///< What this node is.
  /// The two operands of a sum or product (empty for a basic kernel).
  const std::vector<Kernel>& operands() const noexcept { return children_; }

  /// Number of free hyperparameters (the length of theta()).
  Index n_dims() const {
    Index n = 0;
    for (const auto& h : params_)
      if (!h.bounds.fixed) n += h.value.size();
    for (const auto& c : children_) n += c.n_dims();
    return n;
  }
  /// The logs of the free hyperparameters, in scikit-learn's order (see the file's notes).
  Vector<T> theta() const;
  /// A copy with the free hyperparameters set to exp(theta). @throw std::invalid_argument for a wrong length,
  /// std::domain_error for a non-finite entry.
  Kernel with_theta(const VectorCRef<T>& theta) const;
  /// The log bounds of theta(): an n_dims() x 2 matrix of (log lower, log upper).
  Matrix<T> bounds() const;
  /// The names of theta()'s entries, e.g. "k1.k2.length_scale[0]" (scikit-learn's k1/k2 for the operands).
  std::vector<std::string> theta_names() const {
    std::vector<std::string> out;
    names("", out);
    return out;
  }

  /// K(X, X): the N x N covariance of the rows of `x` (N x D). @throw std::invalid_argument if an ARD length
  /// scale's size differs from D.
  Matrix<T> operator()(const MatrixCRef<T>& x) const {
    check_inputs("Kernel", x.cols());
    return value(x);
  }
  /// K(X, Y): the N x M cross-covariance of the rows of `x` (N x D) and `y` (M x D); a white-noise term
  /// contributes 0 here (even when y holds the same numbers as x).
  Matrix<T> operator()(const MatrixCRef<T>& x, const MatrixCRef<T>& y) const {
    check_inputs("Kernel", x.cols());
    if (y.cols() != x.cols())
      detail::throw_shape("Kernel", "y has " + std::to_string(y.cols()) + " columns, x has " + std::to_string(x.cols()));
    return value(x, y, false);
  }
  /// K(X, X) and its gradient: (*gradient)[p] is the N x N matrix ∂K/∂theta()[p] (scikit-learn's
  /// `eval_gradient=True`, its last axis as a list).
  Matrix<T> operator()(const MatrixCRef<T>& x, std::vector<Matrix<T>>& gradient) const {
    check_inputs("Kernel", x.cols());
    gradient.clear();
    return evaluate(x, x, true, &gradient);
  }
  /// Σᵢⱼ Wᵢⱼ ∂K(X, X)ᵢⱼ/∂θ_p for every entry p of theta(), without forming the gradient matrices (the
  /// contraction a log-marginal-likelihood gradient needs: R&W eq. 5.9 with W = aaᵀ − K⁻¹). `w` is N x N.
  /// @throw std::invalid_argument if w is not N x N.
  Vector<T> gradient_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& w) const;
  /// Σᵢⱼ Wᵢⱼ ∂K(X, Y)ᵢⱼ/∂θ_p for every entry p of theta() (a white kernel contributes nothing between two
  /// inputs). `w` is N x M. @throw std::invalid_argument for mismatched shapes.
  Vector<T> gradient_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, const MatrixCRef<T>& w) const;
  /// Σᵢ wᵢ ∂k(xᵢ, xᵢ)/∂θ_p for every entry p of theta(): the gradient of a weighted sum of the diagonal.
  /// @throw std::invalid_argument unless w has N entries.
  Vector<T> diagonal_gradient_inner(const MatrixCRef<T>& x, const VectorCRef<T>& w) const;
  /// Σⱼ Wᵢⱼ ∂k(xᵢ, yⱼ)/∂xᵢ for every row i of `x`: the gradient of Σᵢⱼ Wᵢⱼ K(X, Y)ᵢⱼ with respect to the rows
  /// of X with Y held (N x D; `w` is N x M). For K(X, X) with a symmetric W, the gradient of Σᵢⱼ Wᵢⱼ K(X, X)ᵢⱼ
  /// in X is twice input_gradient_inner(x, x, w) — except for a white kernel multiplying a dot product (a white
  /// kernel counts here as between two different inputs, 0, as in K(X, Y)). A white or constant kernel
  /// contributes nothing; a Matérn ν = ½ kernel, not differentiable where x = y, contributes 0 there.
  /// Differences x − y are formed directly (exact far from the origin). What the sparse GP's inducing-input gradient needs (Titsias 2009).
  /// @throw std::invalid_argument for mismatched shapes.
  Matrix<T> input_gradient_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, const MatrixCRef<T>& w) const;
  /// Whether a white-noise kernel occurs anywhere in the tree.
  bool has_white() const {
    if (kind_ == Kind::white) return true;
    for (const auto& c : children_)
      if (c.has_white()) return true;
    return false;
  }
  /// The diagonal of K(X, X) (length N) without forming the matrix.
  Vector<T> diagonal(const MatrixCRef<T>& x) const {
    check_inputs("Kernel::diagonal", x.cols());
    return diag(x);
  }
  /// Whether k(x, x') depends on x − x' only (every basic kernel but dot_product).
  bool is_stationary() const {
    if (kind_ == Kind::dot_product) return false;
    for (const auto& c : children_)
      if (!c.is_stationary()) return false;
    return true;
  }

  /// The kernel as text that parse() reads back to the same kernel (the same bits: numbers in their shortest
  /// round-trip form), e.g. `constant(4) * rbf(length_scale=[1, 2]) + white(0.01, noise_level_bounds=fixed)`.
  std::string to_string() const {
    std::string s;
    print(s);
    return s;
  }
  /// Reads a kernel from text: basic kernels `rbf`, `matern`, `rational_quadratic`, `exp_sine_squared`,
  /// `dot_product`, `constant`, `white` with their arguments by position or by name (`rbf(2)`,
  /// `matern(length_scale=[1, 2], nu=2.5)`, `rbf(1, length_scale_bounds=[1e-3, 1e3])`,
  /// `white(0.1, noise_level_bounds=fixed)`), joined by `+` and `*` with parentheses; a number before `*`
  /// is a constant kernel (`2 * rbf(1)`). @throw std::invalid_argument naming the text and the position of
  /// the first error; std::domain_error for an invalid value.
  static Kernel parse(std::string_view text);

  bool operator==(const Kernel& other) const = default;  ///< Same tree, hyperparameters, bounds and ν.

 private:
  struct Param {
    std::string name;
    Vector<T> value;
    Bounds bounds;
    bool operator==(const Param& o) const {
      return name == o.name && value.size() == o.value.size() && value == o.value && bounds == o.bounds;
    }
  };
  Kind kind_ = Kind::constant;
  std::vector<Param> params_;
  std::vector<Kernel> children_;
  T nu_ = T(1.5);

  static Kernel leaf(Kind kind, const char* function, std::vector<Param> params) {
    for (const auto& p : params) {
      check_nonempty(function, p.name, p.value.size());
      check_all_positive(function, p.name, p.value);
      check_positive(function, p.name + "_bounds lower", p.bounds.lower);
      check_positive(function, p.name + "_bounds upper", p.bounds.upper);
      if (!(p.bounds.upper >= p.bounds.lower))
        detail::throw_domain(function, p.name + "_bounds", "have lower <= upper",
                             "[" + detail::describe(p.bounds.lower) + ", " + detail::describe(p.bounds.upper) + "]");
    }
    Kernel k(Private{});
    k.kind_ = kind;
    k.params_ = std::move(params);
    return k;
  }
  static Kernel node(Kind kind, Kernel a, Kernel b) {
    Kernel k(Private{});
    k.kind_ = kind;
    k.children_.push_back(std::move(a));
    k.children_.push_back(std::move(b));
    return k;
  }
  struct Private {};
  explicit Kernel(Private) {}

  template <class F> void visit_free(F&& f) const {
    for (const auto& h : params_)
      if (!h.bounds.fixed) f(h);
    for (const auto& c : children_) c.visit_free(f);
  }
  template <class F> void visit_free_mutable(F&& f) {
    for (auto& h : params_)
      if (!h.bounds.fixed) f(h);
    for (auto& c : children_) c.visit_free_mutable(f);
  }
  void names(const std::string& prefix, std::vector<std::string>& out) const {
    for (const auto& h : params_)
      if (!h.bounds.fixed)
        for (Index i = 0; i < h.value.size(); ++i)
          out.push_back(prefix + h.name + (h.value.size() > 1 ? "[" + std::to_string(i) + "]" : std::string()));
    for (std::size_t c = 0; c < children_.size(); ++c) children_[c].names(prefix + (c == 0 ? "k1." : "k2."), out);
  }
  void check_inputs(const char* function, Index d) const {
    if (d == 0) detail::throw_shape(function, "x has no columns");
    if ((kind_ == Kind::rbf || kind_ == Kind::matern) && params_[0].value.size() > 1 && params_[0].value.size() != d)
      detail::throw_shape(function, "the ARD length_scale has " + std::to_string(params_[0].value.size()) +
                                        " entries but x has " + std::to_string(d) + " columns");
    for (const auto& c : children_) c.check_inputs(function, d);
  }
  Index own_free() const {
    Index n = 0;
    for (const auto& h : params_)
      if (!h.bounds.fixed) n += h.value.size();
    return n;
  }

  // Fills out(i, j) = f(i, j) over every pair of rows, in column blocks fixed by the sizes (the same bits for
  // any thread count). K(X, X) comes out symmetric bit for bit without mirroring (f(i, j) and f(j, i) round
  // alike: the differences only change sign), and a column-major sweep is faster than a transposed copy.
  template <class F> static void pairs(Matrix<T>& out, Index n, Index m, bool, F&& f) {
    out.resize(n, m);
    const auto chunks = detail::split_rows(m, 64, 64);
    detail::parallel_chunks(chunks, [&](Index, Index begin, Index end) {
      for (Index j = begin; j < end; ++j)
        for (Index i = 0; i < n; ++i) out(i, j) = f(i, j);
    });
  }
  // out(i, j) = Σ_c ((x(i, c) − y(j, c)) · inv(c))², from the differences (column by column, vectorised over i)
  static void squared_distances(const MatrixCRef<T>& x, const MatrixCRef<T>& y, const Vector<T>& inv, Matrix<T>& out) {
    out.resize(x.rows(), y.rows());
    detail::parallel_chunks(detail::split_rows(y.rows(), 64, 64), [&](Index, Index b, Index e) {
      for (Index j = b; j < e; ++j) {
        auto col = out.col(j).array();
        col = ((x.col(0).array() - y(j, 0)) * inv(0)).square();
        for (Index c = 1; c < x.cols(); ++c) col += ((x.col(c).array() - y(j, c)) * inv(c)).square();
      }
    });
  }
  // Σ over column blocks of part(begin, end) (a T or a Vector<T>), combined in block order.
  template <class V, class F> static V column_sum(Index m, const V& zero, F&& part) {
    return detail::parallel_sum(detail::split_rows(m, 64, 64), zero, [&](Index, Index b, Index e, V& out) { out += part(b, e); });
  }
  // Σᵢⱼ w ∘ k (both N x N), on several threads
  static T weighted_sum(const Matrix<T>& w, const Matrix<T>& k) {
    return column_sum(w.cols(), T(0), [&](Index b, Index e) { return T(w.middleCols(b, e - b).cwiseProduct(k.middleCols(b, e - b)).sum()); });
  }
  static const T& constant_of(const Kernel& k) { return k.params_[0].value(0); }

  // K(X, Y) alone (K(X, X) when `same`), without the temporaries of the gradient path: a product with a
  // constant kernel scales, a white kernel in a sum adds to the diagonal (of K(X, X) only).
  Matrix<T> value(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same) const;
  Matrix<T> value(const MatrixCRef<T>& x) const { return value(x, x, true); }

  // out.segment(at, own) = scale Σᵢⱼ wᵢⱼ ∂K(X, Y)ᵢⱼ/∂θ_p for this node's free hyperparameters (then its
  // operands'), advancing `at`; returns scale Σᵢⱼ wᵢⱼ K(X, Y)ᵢⱼ (which a constant factor's gradient is).
  // w is N x M; `same`: Y is X (a white kernel counts on the diagonal only then).
  T inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same, const Matrix<T>& w, T scale, Vector<T>& out, Index& at) const;

  // out(i, c) += scale Σⱼ wᵢⱼ ∂k(xᵢ, yⱼ)/∂x_ic (see input_gradient_inner()); `same` as in inner()
  void input_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same, const Matrix<T>& w, T scale, Matrix<T>& out) const;
  // out(i, c) −= scale · mult(c) Σⱼ fᵢⱼ (x_ic − y_jc), from the differences, on several threads by rows of x
  static void add_radial(const MatrixCRef<T>& x, const MatrixCRef<T>& y, const Matrix<T>& f, const Vector<T>& mult, T scale, Matrix<T>& out) {
    detail::parallel_chunks(detail::split_rows(x.rows(), 64, 64), [&](Index, Index b, Index e) {
      const Index rows = e - b;
      for (Index c = 0; c < x.cols(); ++c) {
        Vector<T> acc = Vector<T>::Zero(rows);
        const auto xc = x.col(c).segment(b, rows).array();
        for (Index j = 0; j < y.rows(); ++j) acc.array() += f.col(j).segment(b, rows).array() * (xc - y(j, c));
        out.col(c).segment(b, rows) -= (scale * mult(c)) * acc;
      }
    });
  }

  // out.segment(at, own) = scale Σᵢ wᵢ ∂k(xᵢ, xᵢ)/∂θ_p; returns scale Σᵢ wᵢ k(xᵢ, xᵢ)
  T diag_inner(const MatrixCRef<T>& x, const Vector<T>& w, T scale, Vector<T>& out, Index& at) const;
  // f(r²) with ∂k/∂log ℓ_c = f · z_c² (rbf: k itself; Matérn: see evaluate())
  Matrix<T> gradient_factor(const Matrix<T>& sq) const;

  // g(block) for blocks of the columns of `in`, on several threads (fixed by the size): an elementwise map.
  template <class G> static Matrix<T> columns(const Matrix<T>& in, G&& g) {
    Matrix<T> out(in.rows(), in.cols());
    detail::parallel_chunks(detail::split_rows(in.cols(), 64, 64), [&](Index, Index b, Index e) {
      out.middleCols(b, e - b) = g(in.middleCols(b, e - b));
    });
    return out;
  }

  // The evaluation of the tree: K(x, y), and with `grad`, ∂K/∂theta appended to *grad (same == true only).
  Matrix<T> evaluate(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same, std::vector<Matrix<T>>* grad) const;
  Vector<T> diag(const MatrixCRef<T>& x) const;

  // ---- text -----------------------------------------------------------------------------------------
  static std::string number(T v) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
  }
  static std::string value_text(const Vector<T>& v) {
    if (v.size() == 1) return number(v(0));
    std::string s = "[";
    for (Index i = 0; i < v.size(); ++i) s += (i ? ", " : "") + number(v(i));
    return s + "]";
  }
  static const char* kind_name(Kind k) {
    switch (k) {
      case Kind::rbf: return "rbf";
      case Kind::matern: return "matern";
      case Kind::rational_quadratic: return "rational_quadratic";
      case Kind::exp_sine_squared: return "exp_sine_squared";
      case Kind::dot_product: return "dot_product";
      case Kind::constant: return "constant";
      case Kind::white: return "white";
      case Kind::sum: return "sum";
      case Kind::product: return "product";
    }
    return "?";
  }
  void print(std::string& s) const;
  template <Real> friend struct detail::KernelTextParser;
};


// Kernel's longer members, defined out of the class so that an extern template instantiation of it
// is not compiled again in every file that calls them (cmake/outline_members.py).
template <Real T>
auto Kernel<T>::theta() const -> Vector<T> {
    Vector<T> out(n_dims());
    Index at = 0;
    visit_free([&](const Param& h) {
      out.segment(at, h.value.size()) = h.value.array().log().matrix();
      at += h.value.size();
    });
    return out;
  }

template <Real T>
auto Kernel<T>::with_theta(const VectorCRef<T>& theta) const -> Kernel {
    check_size("Kernel::with_theta", "theta", theta.size(), n_dims(), "length");
    check_all_finite("Kernel::with_theta", "theta", theta);
    Kernel k = *this;
    Index at = 0;
    k.visit_free_mutable([&](Param& h) {
      h.value = theta.segment(at, h.value.size()).array().exp().matrix();
      at += h.value.size();
    });
    return k;
  }

template <Real T>
auto Kernel<T>::bounds() const -> Matrix<T> {
    Matrix<T> out(n_dims(), 2);
    Index at = 0;
    visit_free([&](const Param& h) {
      for (Index i = 0; i < h.value.size(); ++i, ++at) {
        out(at, 0) = std::log(h.bounds.lower);
        out(at, 1) = std::log(h.bounds.upper);
      }
    });
    return out;
  }

template <Real T>
auto Kernel<T>::gradient_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& w) const -> Vector<T> {
    check_inputs("Kernel::gradient_inner", x.cols());
    if (w.rows() != x.rows() || w.cols() != x.rows())
      detail::throw_shape("Kernel::gradient_inner", "w is " + std::to_string(w.rows()) + "x" + std::to_string(w.cols()) + ", expected " +
                                                        std::to_string(x.rows()) + "x" + std::to_string(x.rows()));
    Vector<T> out(n_dims());
    Index at = 0;
    inner(x, x, true, Matrix<T>(w), T(1), out, at);
    return out;
  }

template <Real T>
auto Kernel<T>::gradient_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, const MatrixCRef<T>& w) const -> Vector<T> {
    check_inputs("Kernel::gradient_inner", x.cols());
    if (y.cols() != x.cols())
      detail::throw_shape("Kernel::gradient_inner", "y has " + std::to_string(y.cols()) + " columns, x has " + std::to_string(x.cols()));
    if (w.rows() != x.rows() || w.cols() != y.rows())
      detail::throw_shape("Kernel::gradient_inner", "w is " + std::to_string(w.rows()) + "x" + std::to_string(w.cols()) + ", expected " +
                                                        std::to_string(x.rows()) + "x" + std::to_string(y.rows()));
    Vector<T> out(n_dims());
    Index at = 0;
    inner(x, y, false, Matrix<T>(w), T(1), out, at);
    return out;
  }

template <Real T>
auto Kernel<T>::diagonal_gradient_inner(const MatrixCRef<T>& x, const VectorCRef<T>& w) const -> Vector<T> {
    check_inputs("Kernel::diagonal_gradient_inner", x.cols());
    check_size("Kernel::diagonal_gradient_inner", "w", w.size(), x.rows(), "length");
    Vector<T> out(n_dims());
    Index at = 0;
    diag_inner(x, Vector<T>(w), T(1), out, at);
    return out;
  }

template <Real T>
auto Kernel<T>::input_gradient_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, const MatrixCRef<T>& w) const -> Matrix<T> {
    const char* f = "Kernel::input_gradient_inner";
    check_inputs(f, x.cols());
    if (y.cols() != x.cols()) detail::throw_shape(f, "y has " + std::to_string(y.cols()) + " columns, x has " + std::to_string(x.cols()));
    if (w.rows() != x.rows() || w.cols() != y.rows())
      detail::throw_shape(f, "w is " + std::to_string(w.rows()) + "x" + std::to_string(w.cols()) + ", expected " + std::to_string(x.rows()) +
                                 "x" + std::to_string(y.rows()));
    Matrix<T> out = Matrix<T>::Zero(x.rows(), x.cols());
    input_inner(x, y, false, Matrix<T>(w), T(1), out);
    return out;
  }

template <Real T>
auto Kernel<T>::value(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same) const -> Matrix<T> {
    if (kind_ == Kind::product) {
      for (int c = 0; c < 2; ++c)
        if (children_[c].kind_ == Kind::constant) {
          Matrix<T> k = children_[1 - c].value(x, y, same);
          const T v = constant_of(children_[c]);
          detail::parallel_chunks(detail::split_rows(k.cols(), 64, 64), [&](Index, Index b, Index e) { k.middleCols(b, e - b) *= v; });
          return k;
        }
      Matrix<T> k = children_[0].value(x, y, same);
      const Matrix<T> k2 = children_[1].value(x, y, same);
      detail::parallel_chunks(detail::split_rows(k.cols(), 64, 64), [&](Index, Index b, Index e) {
        k.middleCols(b, e - b).array() *= k2.middleCols(b, e - b).array();
      });
      return k;
    }
    if (kind_ == Kind::sum) {
      for (int c = 0; c < 2; ++c)
        if (children_[c].kind_ == Kind::white) {
          Matrix<T> k = children_[1 - c].value(x, y, same);
          if (same) k.diagonal().array() += constant_of(children_[c]);
          return k;
        }
      Matrix<T> k = children_[0].value(x, y, same);
      const Matrix<T> k2 = children_[1].value(x, y, same);
      detail::parallel_chunks(detail::split_rows(k.cols(), 64, 64), [&](Index, Index b, Index e) { k.middleCols(b, e - b) += k2.middleCols(b, e - b); });
      return k;
    }
    return evaluate(x, y, same, nullptr);
  }

template <Real T>
auto Kernel<T>::inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same, const Matrix<T>& w, T scale, Vector<T>& out, Index& at) const -> T {
    const Index n = x.rows(), m = y.rows(), d = x.cols();
    auto total = [&](const Matrix<T>& v) { return column_sum(m, T(0), [&](Index b, Index e) { return T(v.middleCols(b, e - b).sum()); }); };
    switch (kind_) {
      case Kind::sum: {
        const T r = children_[0].inner(x, y, same, w, scale, out, at);
        return r + children_[1].inner(x, y, same, w, scale, out, at);
      }
      case Kind::product: {
        const Kernel& a = children_[0];
        const Kernel& b = children_[1];
        // ∂(K₁ ∘ K₂) = ∂K₁ ∘ K₂ + K₁ ∘ ∂K₂; a constant operand is a scale (no N x M product), and its own
        // gradient c Σ w ∘ K_other is what the other operand returns
        if (a.kind_ == Kind::constant) {
          const Index slot = at;
          if (a.own_free()) ++at;
          const T r = b.inner(x, y, same, w, scale * constant_of(a), out, at);
          if (a.own_free()) out(slot) = r;
          return r;
        }
        if (b.kind_ == Kind::constant) {
          const T r = a.inner(x, y, same, w, scale * constant_of(b), out, at);
          if (b.own_free()) out(at++) = r;
          return r;
        }
        const Matrix<T> k1 = a.value(x, y, same), k2 = b.value(x, y, same);
        const T r = a.inner(x, y, same, w.cwiseProduct(k2), scale, out, at);
        b.inner(x, y, same, w.cwiseProduct(k1), scale, out, at);
        return r;
      }
      case Kind::constant: {
        const T r = scale * params_[0].value(0) * total(w);
        if (own_free()) out(at++) = r;
        return r;
      }
      case Kind::white: {
        const T r = same ? scale * params_[0].value(0) * w.trace() : T(0);
        if (own_free()) out(at++) = r;
        return r;
      }
      case Kind::dot_product: {
        const T s0 = params_[0].value(0);
        if (own_free()) out(at++) = scale * T(2) * s0 * s0 * total(w);
        return scale * weighted_sum(w, value(x, y, same));
      }
      default: break;
    }
    if ((kind_ == Kind::rbf || kind_ == Kind::matern) && params_[0].value.size() > 1) {
      // ARD: Σ w ∘ f(r²) ∘ z_c² for each column c (f from gradient_factor()), and Σ w ∘ K
      const Vector<T> inv = params_[0].value.cwiseInverse();
      Matrix<T> sq;
      squared_distances(x, y, inv, sq);
      const Matrix<T> f = gradient_factor(sq);
      const Matrix<T> k = kind_ == Kind::rbf ? Matrix<T>() : evaluate(x, y, same, nullptr);
      const Matrix<T>& kv = kind_ == Kind::rbf ? f : k;
      // per block: d entries of Σ w f z_c², then Σ w ∘ K
      const Vector<T> sums = column_sum(m, Vector<T>(Vector<T>::Zero(d + 1)), [&](Index b, Index e) {
        Vector<T> acc = Vector<T>::Zero(d + 1);
        Vector<T> wf(n);
        for (Index j = b; j < e; ++j) {
          wf.array() = w.col(j).array() * f.col(j).array();
          for (Index c = 0; c < d; ++c) acc(c) += (wf.array() * ((x.col(c).array() - y(j, c)) * inv(c)).square()).sum();
          acc(d) += w.col(j).dot(kv.col(j));
        }
        return acc;
      });
      if (own_free()) {
        out.segment(at, d) = scale * sums.head(d);
        at += d;
      }
      return scale * sums(d);
    }
    // the other pairwise kernels: their gradient matrices (evaluate()'s) weighted and summed
    std::vector<Matrix<T>> g;
    const Matrix<T> k = evaluate(x, y, same, own_free() ? &g : nullptr);
    for (const auto& gp : g) out(at++) = scale * weighted_sum(w, gp);
    return scale * weighted_sum(w, k);
  }

template <Real T>
auto Kernel<T>::input_inner(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same, const Matrix<T>& w, T scale, Matrix<T>& out) const -> void {
    const Index d = x.cols();
    switch (kind_) {
      case Kind::sum:
        children_[0].input_inner(x, y, same, w, scale, out);
        children_[1].input_inner(x, y, same, w, scale, out);
        return;
      case Kind::product: {
        const Kernel& a = children_[0];
        const Kernel& b = children_[1];
        if (a.kind_ == Kind::constant) return b.input_inner(x, y, same, w, scale * constant_of(a), out);
        if (b.kind_ == Kind::constant) return a.input_inner(x, y, same, w, scale * constant_of(b), out);
        const Matrix<T> k1 = a.value(x, y, same), k2 = b.value(x, y, same);
        a.input_inner(x, y, same, w.cwiseProduct(k2), scale, out);
        b.input_inner(x, y, same, w.cwiseProduct(k1), scale, out);
        return;
      }
      case Kind::constant:
      case Kind::white: return;
      case Kind::dot_product: {  // ∂(σ₀² + x·y)/∂x = y
        detail::parallel_chunks(detail::split_rows(x.rows(), 64, 64), [&](Index, Index b, Index e) {
          out.middleRows(b, e - b).noalias() += scale * w.middleRows(b, e - b) * y;
        });
        return;
      }
      case Kind::rbf:
      case Kind::matern: {
        // ∂k/∂x_c = −f(r²) (x_c − y_c)/ℓ_c² with f = −2 dk/d(r²), the factor of ∂k/∂log ℓ (gradient_factor())
        const Vector<T>& ls = params_[0].value;
        const Vector<T> inv = (ls.size() > 1 ? Vector<T>(ls) : Vector<T>::Constant(d, ls(0))).cwiseInverse();
        Matrix<T> sq;
        squared_distances(x, y, inv, sq);
        add_radial(x, y, w.cwiseProduct(gradient_factor(sq)), inv.cwiseAbs2(), scale, out);
        return;
      }
      case Kind::rational_quadratic: {
        // k = b^(−α), b = 1 + r²/(2α): ∂k/∂x_c = −b^(−α−1) (x_c − y_c)/ℓ²
        const T alpha = params_[0].value(0), ls = params_[1].value(0);
        Matrix<T> sq;
        squared_distances(x, y, Vector<T>::Constant(d, T(1) / ls), sq);
        const Matrix<T> f = columns(sq, [alpha](const auto& b) {
          return Matrix<T>((b.array() / (T(2) * alpha) + T(1)).pow(-alpha - T(1)).matrix());
        });
        add_radial(x, y, w.cwiseProduct(f), Vector<T>::Constant(d, T(1) / (ls * ls)), scale, out);
        return;
      }
      case Kind::exp_sine_squared: {
        // k = exp(−2 sin²(πδ/p)/ℓ²), δ = ‖x − y‖: ∂k/∂x_c = −k (2π/(pℓ²)) sin(2πδ/p)/δ · (x_c − y_c), 0 at δ = 0
        const T ls = params_[0].value(0), p = params_[1].value(0);
        Matrix<T> sq;
        squared_distances(x, y, Vector<T>::Ones(d), sq);
        const T c1 = std::numbers::pi_v<T> / p, c2 = T(2) * std::numbers::pi_v<T> / (p * ls * ls);
        const Matrix<T> f = columns(sq, [&](const auto& b) {
          return Matrix<T>(b.unaryExpr([&](T s) -> T {
            const T delta = std::sqrt(s);
            if (!(delta > T(0))) return T(0);
            const T sn = std::sin(c1 * delta);
            return std::exp(T(-2) * sn * sn / (ls * ls)) * c2 * std::sin(T(2) * c1 * delta) / delta;
          }));
        });
        add_radial(x, y, w.cwiseProduct(f), Vector<T>::Ones(d), scale, out);
        return;
      }
    }
  }

template <Real T>
auto Kernel<T>::diag_inner(const MatrixCRef<T>& x, const Vector<T>& w, T scale, Vector<T>& out, Index& at) const -> T {
    switch (kind_) {
      case Kind::sum: {
        const T r = children_[0].diag_inner(x, w, scale, out, at);
        return r + children_[1].diag_inner(x, w, scale, out, at);
      }
      case Kind::product: {
        const Vector<T> d1 = children_[0].diag(x), d2 = children_[1].diag(x);
        const T r = children_[0].diag_inner(x, w.cwiseProduct(d2), scale, out, at);
        children_[1].diag_inner(x, w.cwiseProduct(d1), scale, out, at);
        return r;
      }
      case Kind::constant:
      case Kind::white: {
        const T r = scale * params_[0].value(0) * w.sum();
        if (own_free()) out(at++) = r;
        return r;
      }
      case Kind::dot_product: {
        const T s0 = params_[0].value(0);
        if (own_free()) out(at++) = scale * T(2) * s0 * s0 * w.sum();
        return scale * w.dot(diag(x));
      }
      default: {  // the stationary kernels: k(x, x) = 1 whatever θ
        const Index own = own_free();
        out.segment(at, own).setZero();
        at += own;
        return scale * w.sum();
      }
    }
  }

template <Real T>
auto Kernel<T>::gradient_factor(const Matrix<T>& sq) const -> Matrix<T> {
    if (kind_ == Kind::rbf) return columns(sq, [](const auto& b) { return Matrix<T>((T(-0.5) * b.array()).exp().matrix()); });
    const T nu = nu_;
    return columns(sq, [nu](const auto& b) {
      return Matrix<T>(b.unaryExpr([nu](T s) -> T {
        const T r = std::sqrt(s);
        if (nu == T(0.5)) return r > T(0) ? std::exp(-r) / r : T(0);
        if (nu == T(1.5)) return T(3) * std::exp(-std::sqrt(T(3)) * r);
        const T a = std::sqrt(T(5)) * r;
        return a > T(1e4) ? T(0) : T(5) / T(3) * (T(1) + a) * std::exp(-a);
      }));
    });
  }

template <Real T>
auto Kernel<T>::evaluate(const MatrixCRef<T>& x, const MatrixCRef<T>& y, bool same, std::vector<Matrix<T>>* grad) const -> Matrix<T> {
    const Index n = x.rows(), m = y.rows(), d = x.cols();
    Matrix<T> k;
    switch (kind_) {
      case Kind::sum:
      case Kind::product: {
        std::vector<Matrix<T>> g1, g2;
        const Matrix<T> k1 = children_[0].evaluate(x, y, same, grad ? &g1 : nullptr);
        const Matrix<T> k2 = children_[1].evaluate(x, y, same, grad ? &g2 : nullptr);
        if (kind_ == Kind::sum) {
          k = k1 + k2;
          if (grad) {
            for (auto& g : g1) grad->push_back(std::move(g));
            for (auto& g : g2) grad->push_back(std::move(g));
          }
        } else {
          k = k1.cwiseProduct(k2);
          if (grad) {
            for (auto& g : g1) grad->push_back(g.cwiseProduct(k2));
            for (auto& g : g2) grad->push_back(g.cwiseProduct(k1));
          }
        }
        return k;
      }
      case Kind::constant: {
        const T c = params_[0].value(0);
        k = Matrix<T>::Constant(n, m, c);
        if (grad && own_free()) grad->push_back(Matrix<T>::Constant(n, m, c));
        return k;
      }
      case Kind::white: {
        const T s = params_[0].value(0);
        k = same ? Matrix<T>(s * Matrix<T>::Identity(n, n)) : Matrix<T>(Matrix<T>::Zero(n, m));
        if (grad && own_free()) grad->push_back(k);
        return k;
      }
      case Kind::dot_product: {
        const T s0 = params_[0].value(0);
        pairs(k, n, m, same, [&](Index i, Index j) { return s0 * s0 + x.row(i).dot(y.row(j)); });
        if (grad && own_free()) grad->push_back(Matrix<T>::Constant(n, m, T(2) * s0 * s0));
        return k;
      }
      case Kind::rbf:
      case Kind::matern: {
        const Vector<T>& ls = params_[0].value;
        const bool ard = ls.size() > 1;
        const Vector<T> inv = (ard ? Vector<T>(ls) : Vector<T>::Constant(d, ls(0))).cwiseInverse();
        const T nu = nu_;
        const bool is_rbf = kind_ == Kind::rbf;
        auto value = [&](T s) -> T {
          if (is_rbf) return std::exp(T(-0.5) * s);
          const T r = std::sqrt(s);
          if (nu == T(0.5)) return std::exp(-r);
          if (nu == T(1.5)) {
            const T a = std::sqrt(T(3)) * r;
            return a > T(1e4) ? T(0) : (T(1) + a) * std::exp(-a);  // (1 + a) e^{-a} is 0 long before 1 + a overflows
          }
          const T a = std::sqrt(T(5)) * r;
          return a > T(1e4) ? T(0) : (T(1) + a + a * a / T(3)) * std::exp(-a);
        };
        // ∂k/∂log ℓ_c = factor(r²) · z_c² (z_c = (x_c − y_c)/ℓ_c); summed over c for one isotropic ℓ
        auto factor = [&](T s) -> T {
          if (is_rbf) return std::exp(T(-0.5) * s);
          const T r = std::sqrt(s);
          if (nu == T(0.5)) return r > T(0) ? std::exp(-r) / r : T(0);
          if (nu == T(1.5)) return T(3) * std::exp(-std::sqrt(T(3)) * r);
          const T a = std::sqrt(T(5)) * r;
          return a > T(1e4) ? T(0) : T(5) / T(3) * (T(1) + a) * std::exp(-a);
        };
        Matrix<T> sq;  // r² = Σ ((x − y)/ℓ)², from the differences
        squared_distances(x, y, inv, sq);
        if (is_rbf)  // vectorised exp
          k = columns(sq, [](const auto& b) { return Matrix<T>((T(-0.5) * b.array()).exp().matrix()); });
        else
          k = columns(sq, [&](const auto& b) { return Matrix<T>(b.unaryExpr(value)); });
        if (grad && own_free()) {
          const Matrix<T> f = is_rbf ? k : columns(sq, [&](const auto& b) { return Matrix<T>(b.unaryExpr(factor)); });
          if (!ard) {
            grad->push_back(f.cwiseProduct(sq));
          } else {
            for (Index c = 0; c < d; ++c) {
              Matrix<T> g;
              pairs(g, n, m, same, [&](Index i, Index j) {
                const T z = (x(i, c) - y(j, c)) * inv(c);
                return f(i, j) * z * z;
              });
              grad->push_back(std::move(g));
            }
          }
        }
        return k;
      }
      case Kind::rational_quadratic: {
        const T alpha = params_[0].value(0), ls = params_[1].value(0);
        Matrix<T> sq;  // r² = ‖(x − y)/ℓ‖²
        squared_distances(x, y, Vector<T>::Constant(d, T(1) / ls), sq);
        const Matrix<T> base = (sq.array() / (T(2) * alpha) + T(1)).matrix();
        k = base.array().pow(-alpha).matrix();
        if (grad) {
          if (!params_[0].bounds.fixed)  // alpha first (scikit-learn's alphabetical order)
            grad->push_back((k.array() * (-alpha * base.array().log() + sq.array() / (T(2) * base.array()))).matrix());
          if (!params_[1].bounds.fixed) grad->push_back((k.array() * sq.array() / base.array()).matrix());
        }
        return k;
      }
      case Kind::exp_sine_squared: {
        const T ls = params_[0].value(0), p = params_[1].value(0);
        Matrix<T> dist;
        squared_distances(x, y, Vector<T>::Ones(d), dist);
        dist = columns(dist, [](const auto& b) { return Matrix<T>(b.array().sqrt().matrix()); });
        const Matrix<T> arg = (std::numbers::pi_v<T> / p) * dist;
        const Matrix<T> sn = arg.array().sin().matrix();
        k = (T(-2) * sn.array().square() / (ls * ls)).exp().matrix();
        if (grad) {
          if (!params_[0].bounds.fixed) grad->push_back((T(4) / (ls * ls) * sn.array().square() * k.array()).matrix());
          if (!params_[1].bounds.fixed)
            grad->push_back((T(4) / (ls * ls) * arg.array() * arg.array().cos() * sn.array() * k.array()).matrix());
        }
        return k;
      }
    }
    return k;
  }

template <Real T>
auto Kernel<T>::diag(const MatrixCRef<T>& x) const -> Vector<T> {
    const Index n = x.rows();
    switch (kind_) {
      case Kind::sum: return children_[0].diag(x) + children_[1].diag(x);
      case Kind::product: return children_[0].diag(x).cwiseProduct(children_[1].diag(x));
      case Kind::dot_product: {
        const T s0 = params_[0].value(0);
        return (x.rowwise().squaredNorm().array() + s0 * s0).matrix();
      }
      case Kind::constant:
      case Kind::white: return Vector<T>::Constant(n, params_[0].value(0));
      default: return Vector<T>::Ones(n);  // the stationary kernels: k(x, x) = 1
    }
  }

template <Real T>
auto Kernel<T>::print(std::string& s) const -> void {
    if (kind_ == Kind::sum) {  // + is read left to right: a sum on the right keeps its parentheses
      children_[0].print(s);
      s += " + ";
      const bool paren = children_[1].kind_ == Kind::sum;
      if (paren) s += "(";
      children_[1].print(s);
      if (paren) s += ")";
      return;
    }
    if (kind_ == Kind::product) {
      for (int c = 0; c < 2; ++c) {
        if (c) s += " * ";
        const bool paren = children_[c].kind_ == Kind::sum || (c == 1 && children_[c].kind_ == Kind::product);
        if (paren) s += "(";
        children_[c].print(s);
        if (paren) s += ")";
      }
      return;
    }
    s += kind_name(kind_);
    s += "(";
    bool first = true;
    for (const auto& h : params_) {
      s += first ? "" : ", ";
      first = false;
      s += h.name + "=" + value_text(h.value);
    }
    if (kind_ == Kind::matern) s += ", nu=" + number(nu_);
    for (const auto& h : params_) {
      if (h.bounds.fixed) s += ", " + h.name + "_bounds=fixed";
      else if (!(h.bounds == Bounds{})) s += ", " + h.name + "_bounds=[" + number(h.bounds.lower) + ", " + number(h.bounds.upper) + "]";
    }
    s += ")";
  }


namespace detail {
/// Reads the text of Kernel::parse() (a recursive-descent parser over the grammar
/// `sum := product ('+' product)*`, `product := factor ('*' factor)*`,
/// `factor := number | name '(' arguments ')' | '(' sum ')'`).
template <Real T> struct KernelTextParser {
  using K = Kernel<T>;
  std::string_view text;
  std::size_t at = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("Kernel::parse: " + what + " at position " + std::to_string(at) + " of '" + std::string(text) + "'");
  }
  void skip() {
    while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  }
  bool eat(char c) {
    skip();
    if (at < text.size() && text[at] == c) {
      ++at;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool at_number() {
    skip();
    return at < text.size() && (std::isdigit(static_cast<unsigned char>(text[at])) || text[at] == '.' || text[at] == '-');
  }
  T read_number() {
    skip();
    const char* begin = text.data() + at;
    std::size_t len = 0;
    while (at + len < text.size()) {
      const char ch = text[at + len];
      const bool sign = (ch == '-' || ch == '+') && (len == 0 || text[at + len - 1] == 'e' || text[at + len - 1] == 'E');
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || sign)) break;
      ++len;
    }
    T value{};
    const auto res = std::from_chars(begin, begin + len, value);
    if (res.ec != std::errc() || res.ptr != begin + len) fail("expected a number");
    at += len;
    return value;
  }
  std::string read_name() {
    skip();
    std::size_t len = 0;
    while (at + len < text.size() && (std::isalnum(static_cast<unsigned char>(text[at + len])) || text[at + len] == '_')) ++len;
    if (len == 0) fail("expected a kernel name, a number or '('");
    std::string s(text.substr(at, len));
    at += len;
    return s;
  }
  Vector<T> read_value() {
    if (eat('[')) {
      std::vector<T> v;
      do v.push_back(read_number());
      while (eat(','));
      expect(']');
      return Eigen::Map<const Vector<T>>(v.data(), Index(v.size()));
    }
    return Vector<T>::Constant(1, read_number());
  }
  typename K::Bounds read_bounds() {
    skip();
    if (text.substr(at, 5) == "fixed") {
      at += 5;
      return K::Bounds::held();
    }
    const Vector<T> b = read_value();
    if (b.size() != 2) fail("bounds must be [lower, upper] or fixed");
    return typename K::Bounds{b(0), b(1), false};
  }

  K parse_sum() {
    K k = parse_product();
    while (eat('+')) k = k + parse_product();
    return k;
  }
  K parse_product() {
    K k = parse_factor();
    while (eat('*')) k = k * parse_factor();
    return k;
  }
  K parse_factor() {
    if (eat('(')) {
      K k = parse_sum();
      expect(')');
      return k;
    }
    if (at_number()) return K::constant(read_number());
    const std::size_t start = at;
    const std::string name = read_name();
    expect('(');
    // the parameters of each kernel, positional order first
    std::vector<std::string> order;
    if (name == "rbf") order = {"length_scale"};
    else if (name == "matern") order = {"length_scale", "nu"};
    else if (name == "rational_quadratic") order = {"length_scale", "alpha"};
    else if (name == "exp_sine_squared") order = {"length_scale", "periodicity"};
    else if (name == "dot_product") order = {"sigma_0"};
    else if (name == "constant") order = {"constant_value"};
    else if (name == "white") order = {"noise_level"};
    else {
      at = start;
      fail("unknown kernel '" + name + "' (rbf, matern, rational_quadratic, exp_sine_squared, dot_product, constant, white)");
    }
    std::vector<Vector<T>> values(order.size());
    std::vector<typename K::Bounds> bounds(order.size());
    std::size_t position = 0;
    skip();
    if (!eat(')')) {
      do {
        skip();
        const std::size_t save = at;
        std::string key;
        if (at >= text.size()) fail("expected an argument");
        if (!at_number() && text[at] != '[') {
          key = read_name();
          if (!eat('=')) {
            at = save;
            fail("expected name=value");
          }
        }
        if (key.empty()) {
          if (position >= order.size()) fail(name + " takes at most " + std::to_string(order.size()) + " values");
          values[position++] = read_value();
          continue;
        }
        bool known = false;
        for (std::size_t i = 0; i < order.size(); ++i) {
          if (key == order[i]) {
            if (values[i].size() > 0) {
              at = save;
              fail(order[i] + " of " + name + " is given twice");
            }
            values[i] = read_value();
            known = true;
          } else if (key == order[i] + "_bounds" && order[i] != "nu") {
            bounds[i] = read_bounds();
            known = true;
          }
        }
        if (!known) {
          at = save;
          fail("unknown argument '" + key + "' of " + name);
        }
      } while (eat(','));
      expect(')');
    }
    auto scalar = [&](std::size_t i, T fallback) -> T {
      if (values[i].size() == 0) return fallback;
      if (values[i].size() != 1) fail(order[i] + " of " + name + " must be one number");
      return values[i](0);
    };
    auto vec = [&](std::size_t i) { return values[i].size() == 0 ? Vector<T>(Vector<T>::Ones(1)) : values[i]; };
    if (name == "rbf") return K::rbf(vec(0), bounds[0]);
    if (name == "matern") return K::matern(vec(0), scalar(1, T(1.5)), bounds[0]);
    if (name == "rational_quadratic") return K::rational_quadratic(scalar(0, T(1)), scalar(1, T(1)), bounds[0], bounds[1]);
    if (name == "exp_sine_squared") return K::exp_sine_squared(scalar(0, T(1)), scalar(1, T(1)), bounds[0], bounds[1]);
    if (name == "dot_product") return K::dot_product(scalar(0, T(1)), bounds[0]);
    if (name == "constant") return K::constant(scalar(0, T(1)), bounds[0]);
    return K::white(scalar(0, T(1)), bounds[0]);
  }
};

}  // namespace detail

template <Real T> Kernel<T> Kernel<T>::parse(std::string_view text) {
  detail::KernelTextParser<T> p{text};
  Kernel k = p.parse_sum();
  p.skip();
  if (p.at != text.size()) p.fail("unexpected text");
  return k;
}

namespace detail {
/// The GP models' kernels in their files (serialization/state.hpp): the initial and the fitted kernel as text
/// options "kernel" and "fitted_kernel", read back by Kernel::parse (a text that does not read fails the load).
template <class K, class Archive> void kernel_state(K& initial, K& fitted, Archive& a) {
  using Kern = std::remove_const_t<K>;
  std::string initial_text = initial.to_string(), fitted_text = fitted.to_string();
  a.option("kernel", initial_text);
  a.option("fitted_kernel", fitted_text);
  if constexpr (!std::is_const_v<K>) {
    try {
      initial = Kern::parse(initial_text);
      fitted = Kern::parse(fitted_text);
    } catch (const std::exception& e) {
      a.require(false, (std::string("its kernel does not read: ") + e.what()).c_str());
    }
  }
}
}  // namespace detail

}  // namespace pml

PML_EXTERN_TEMPLATE(pml::Kernel)
