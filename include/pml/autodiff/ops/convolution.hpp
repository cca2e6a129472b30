#pragma once
/// @file
/// Image ops: convolution (im2col and a matrix product on cache-sized blocks, one node), transposed
/// convolution (a product folded by col2im, likewise), max and average pooling, max-unpooling with the pooling
/// indices, and the per-channel ops batch normalisation is made of.
///
/// **Layout.** A batch of N images of C channels, H x W pixels each, is an N x (C·H·W) node: one image
/// per row, each row in PyTorch's (c, h, w) order, so flattening for a dense layer is free and a row is
/// `torch.Tensor.reshape(N, -1)` of an N x C x H x W tensor. The tape's matrices are column-major, so
/// in memory the batch index varies fastest ("CHWN"): channel c of the whole batch is one contiguous block of
/// N·H·W scalars. This makes the im2col matrix a set of contiguous N-long copies, the GEMM's output
/// ((N·OH·OW) x C_out, column-major) hold the N x (C_out·OH·OW) result's entries in the result's memory
/// order (the product is written straight into the output node, no transpose), and per-channel statistics (batch normalisation) sums
/// over contiguous memory; pooling works on N-long vectors.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pml/autodiff/ops/common.hpp"
#include "pml/core/collective.hpp"
#include "pml/autodiff/ops/linear_algebra.hpp"

namespace pml::ad {

/// The spatial shape of a batch of images held as an N x (channels·height·width) node (see the file's
/// comment for the layout).
struct ImageShape {
  Index channels = 1;  ///< C
  Index height = 1;    ///< H, in pixels
  Index width = 1;     ///< W, in pixels
  Index size() const noexcept { return channels * height * width; }  ///< C·H·W: the node's columns
  bool operator==(const ImageShape&) const = default;  ///< same C, H and W
};
/// "C x H x W", for error messages.
inline std::string to_string(const ImageShape& s) {
  return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
}

/// The window of a convolution or pooling op (PyTorch's kernel_size, stride, padding, dilation; the
/// padding is added on both sides, with zeros for convolution and average pooling and ignored by max
/// pooling).
struct Window2d {
  Index kernel_h = 1;    ///< kernel height
  Index kernel_w = 1;    ///< kernel width
  Index stride_h = 1;    ///< vertical step between windows
  Index stride_w = 1;    ///< horizontal step between windows
  Index padding_h = 0;   ///< rows of implicit padding above and below
  Index padding_w = 0;   ///< columns of implicit padding left and right
  Index dilation_h = 1;  ///< vertical spacing between kernel taps
  Index dilation_w = 1;  ///< horizontal spacing between kernel taps
  /// A square kernel k x k with the same stride, padding and dilation along both sides.
  static Window2d square(Index k, Index stride = 1, Index padding = 0, Index dilation = 1) {
    return {k, k, stride, stride, padding, padding, dilation, dilation};
  }
  /// Output height for an input of height `h`: ⌊(h + 2p − d(k − 1) − 1)/s⌋ + 1 (PyTorch's formula).
  Index output_height(Index h) const { return (h + 2 * padding_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  /// Output width for an input of width `w`.
  Index output_width(Index w) const { return (w + 2 * padding_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
};

namespace detail {

/// The window and the image's height and width, packed into a node's op data (24 bytes).
struct Geometry {
  std::int32_t in_h, in_w;  // the image (input of im2col and pooling, output of col2im and unpooling)
  std::int16_t kh, kw, sh, sw, ph, pw;
  std::int8_t dh, dw;
  std::uint8_t flags;  // pooling: 1 = average over the window's in-image pixels only (count_include_pad off)
  Index out_h() const { return (Index(in_h) + 2 * Index(ph) - Index(dh) * (kh - 1) - 1) / sh + 1; }
  Index out_w() const { return (Index(in_w) + 2 * Index(pw) - Index(dw) * (kw - 1) - 1) / sw + 1; }
};

/// Checks a window against an image and packs both. @throw std::invalid_argument naming `function`.
inline Geometry pack_geometry(const char* function, Index height, Index width, const Window2d& w, bool dilation_allowed = true) {
  auto fail = [&](const std::string& what) { pml::detail::throw_shape(function, what); };
  constexpr Index max16 = std::numeric_limits<std::int16_t>::max(), max8 = std::numeric_limits<std::int8_t>::max();
  if (w.kernel_h < 1 || w.kernel_w < 1 || w.kernel_h > max16 || w.kernel_w > max16)
    fail("kernel size must be in [1, 32767], got " + std::to_string(w.kernel_h) + "x" + std::to_string(w.kernel_w));
  if (w.stride_h < 1 || w.stride_w < 1 || w.stride_h > max16 || w.stride_w > max16)
    fail("stride must be in [1, 32767], got " + std::to_string(w.stride_h) + "x" + std::to_string(w.stride_w));
  if (w.padding_h < 0 || w.padding_w < 0 || w.padding_h > max16 || w.padding_w > max16)
    fail("padding must be in [0, 32767], got " + std::to_string(w.padding_h) + "x" + std::to_string(w.padding_w));
  if (w.dilation_h < 1 || w.dilation_w < 1 || w.dilation_h > max8 || w.dilation_w > max8)
    fail("dilation must be in [1, 127], got " + std::to_string(w.dilation_h) + "x" + std::to_string(w.dilation_w));
  if (!dilation_allowed && (w.dilation_h != 1 || w.dilation_w != 1)) fail("dilation is not supported here");
  if (height <= 0 || width <= 0 || height > (Index(1) << 30) || width > (Index(1) << 30))
    fail("image size must be in [1, 2^30], got " + std::to_string(height) + "x" + std::to_string(width));
  if (w.output_height(height) < 1 || w.output_width(width) < 1 || height + 2 * w.padding_h < w.dilation_h * (w.kernel_h - 1) + 1 ||
      width + 2 * w.padding_w < w.dilation_w * (w.kernel_w - 1) + 1)
    fail("the window (kernel " + std::to_string(w.kernel_h) + "x" + std::to_string(w.kernel_w) + ", dilation " + std::to_string(w.dilation_h) +
         "x" + std::to_string(w.dilation_w) + ", padding " + std::to_string(w.padding_h) + "x" + std::to_string(w.padding_w) +
         ") does not fit an image of " + std::to_string(height) + "x" + std::to_string(width));
  Geometry g{};
  g.in_h = static_cast<std::int32_t>(height);
  g.in_w = static_cast<std::int32_t>(width);
  g.kh = static_cast<std::int16_t>(w.kernel_h);
  g.kw = static_cast<std::int16_t>(w.kernel_w);
  g.sh = static_cast<std::int16_t>(w.stride_h);
  g.sw = static_cast<std::int16_t>(w.stride_w);
  g.ph = static_cast<std::int16_t>(w.padding_h);
  g.pw = static_cast<std::int16_t>(w.padding_w);
  g.dh = static_cast<std::int8_t>(w.dilation_h);
  g.dw = static_cast<std::int8_t>(w.dilation_w);
  g.flags = 0;
  return g;
}

/// Runs task(i) for i in [0, count) on threads when the op touches at least 2^15 scalars, else on this
/// thread (waking a team costs more than a small op). Each i writes its own memory: the same bits for
/// any thread count.
template <class Task> void image_loop(Index count, Index scalars, Task&& task) {
  if (scalars >= (Index(1) << 15)) {
    pml::detail::parallel_for(count, task);
  } else {
    for (Index i = 0; i < count; ++i) task(i);
  }
}

/// im2col: P ((N·OH·OW) x (C·KH·KW)), P[(n, oh, ow), (c, i, j)] = x[n, (c, oh·s − p + i·d, ow·s − p + j·d)]
/// (0 outside the image); the row index has n fastest. Backward: col2im, a scatter-add into dx.
template <Real T> struct Im2Col {
  using Data = Geometry;
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) { unfold(op_data<Geometry>(n), t.value(n.a), v, false); }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { fold(op_data<Geometry>(n), g, t.adjoint(n.a)); }

  /// P = im2col(x) (accumulate: P += im2col(x)).
  static void unfold(const Geometry& g, const Map<T>& x, Map<T> p, bool accumulate) {
    const Index batch = x.rows(), hw = Index(g.in_h) * g.in_w, channels = x.cols() / hw, oh = g.out_h(), ow = g.out_w();
    const Index taps = Index(g.kh) * g.kw;
    image_loop(channels * taps, p.size(), [&](Index col) {
      const Index c = col / taps, i = (col % taps) / g.kw, j = col % g.kw;
      T* dst = p.data() + col * p.rows();
      const T* image = x.data() + c * hw * batch;
      for (Index r = 0; r < oh; ++r) {
        const Index y = r * g.sh - g.ph + i * g.dh;
        T* row = dst + r * ow * batch;
        if (y < 0 || y >= g.in_h) {
          if (!accumulate) std::fill_n(row, ow * batch, T(0));
          continue;
        }
        for (Index s = 0; s < ow; ++s) {
          const Index xx = s * g.sw - g.pw + j * g.dw;
          T* out = row + s * batch;
          if (xx < 0 || xx >= g.in_w) {
            if (!accumulate) std::fill_n(out, batch, T(0));
          } else {
            const T* in = image + (y * g.in_w + xx) * batch;
            if (accumulate)
              for (Index k = 0; k < batch; ++k) out[k] += in[k];
            else
              std::copy_n(in, batch, out);
          }
        }
      }
    });
  }
  /// dx += col2im(dP): each image pixel gathers the patch entries that copied it (one channel per task).
  static void fold(const Geometry& g, const Map<T>& p, Map<T> dx) {
    const Index batch = dx.rows(), hw = Index(g.in_h) * g.in_w, channels = dx.cols() / hw, oh = g.out_h(), ow = g.out_w();
    const Index taps = Index(g.kh) * g.kw;
    image_loop(channels, p.size(), [&](Index c) {
      T* image = dx.data() + c * hw * batch;
      for (Index tap = 0; tap < taps; ++tap) {
        const Index i = tap / g.kw, j = tap % g.kw;
        const T* src = p.data() + (c * taps + tap) * p.rows();
        for (Index r = 0; r < oh; ++r) {
          const Index y = r * g.sh - g.ph + i * g.dh;
          if (y < 0 || y >= g.in_h) continue;
          for (Index s = 0; s < ow; ++s) {
            const Index xx = s * g.sw - g.pw + j * g.dw;
            if (xx < 0 || xx >= g.in_w) continue;
            T* out = image + (y * g.in_w + xx) * batch;
            const T* in = src + (r * ow + s) * batch;
            for (Index k = 0; k < batch; ++k) out[k] += in[k];
          }
        }
      }
    });
  }
};

/// Convolution as GEMMs on cache-sized blocks of the im2col matrix, which is never formed whole. The
/// patch matrix P ((N·OH·OW) x K, K = C·KH·KW, rows with n fastest as Im2Col's) of an image batch under
/// a window is made a block of rows at a time in a task's scratch (about 256 KiB, at least 96 rows, so it
/// stays in the core's cache between being written and being read by the kernel), and the products that need P's
/// transpose-adjoint (col2im) fold each block into the image as soon as it is made. Three passes, each
/// in tasks fixed by the shape (at most kMaxTasks, each with its own scratch and GEMM packing buffers):
/// the same bits for any thread count.
///  - unfold_gemm:  A (+)= P Wᵀ            (convolution's output; transposed convolution's input gradient)
///  - weight_grad:  dW += Aᵀ P             (both ops' weight gradient; a partial sum per task, added in order)
///  - gemm_fold:    image += col2im(A W)   (convolution's input gradient; transposed convolution's output),
///                  one task per group of the image's channels, so no two tasks write one pixel.
/// A is (N·OH·OW) x M (M = W's rows), column-major with leading dimension N·OH·OW: a convolution's output
/// node (or a transposed convolution's input) as it lies in memory (see the file's comment).
template <Real T> struct ConvCore {
  using Strided = typename Tape<T>::StridedMap;
  static constexpr std::size_t kBlockBytes = std::size_t(1) << 18;  // 128 KiB to 512 KiB measured alike; 32 KiB 30% slower
  static constexpr Index kMaxTasks = 8;

  /// Eigen's GEMM kernel takes the rows of its left operand in panels of mr; the last rows of a product that
  /// fill no whole panel go through other code, which rounds differently. The products whose rows are P's
  /// (unfold_gemm, gemm_fold) have a multiple of mr rows (the last block is padded with zero rows), so that
  /// a row's result does not depend on where it falls in its block: an image's output (and its input
  /// gradient) is the same whatever the batch it is in. (weight_grad sums over the rows: a weight's gradient
  /// depends on the batch anyway.)
  static constexpr Index kPanel = Eigen::internal::gebp_traits<T, T>::mr;
  static_assert(96 % kPanel == 0, "ConvCore's blocks (multiples of 96 rows) must be whole panels of Eigen's kernel");
  static Index padded(Index rows) { return (rows + kPanel - 1) / kPanel * kPanel; }
  /// Rows of P per block for K columns (a multiple of 96, so of the kernel's panel, at least 96; or `rows`
  /// when fewer).
  static Index block_rows(Index rows, Index k) {
    const Index r = std::max<Index>(Index(kBlockBytes / sizeof(T)) / std::max<Index>(k, 1) / 96 * 96, 96);
    return std::min(r, rows);
  }
  /// Runs task(q) for q in [0, tasks) on pml's threads when the pass touches at least 2^15 scalars.
  template <class Task> static void run(Index tasks, Index scalars, Task&& task) {
    if (tasks > 1 && scalars >= (Index(1) << 15)) {
      pml::detail::parallel_for(tasks, task);
    } else {
      for (Index q = 0; q < tasks; ++q) task(q);
    }
  }
  /// Calls f(r, end, y0, x0, n) for each run [r, end) of rows of one output pixel within [r0, r1): the
  /// pixel's window starts at image row y0 and column x0 (padding subtracted), its first row is image n.
  template <class F> static void pixel_runs(const Geometry& g, Index batch, Index r0, Index r1, F&& f) {
    const Index ow = g.out_w();
    Index pixel = r0 / batch, oy = pixel / ow, ox = pixel % ow;
    for (Index r = r0; r < r1;) {
      const Index end = std::min(r1, (pixel + 1) * batch);
      f(r, end, oy * g.sh - g.ph, ox * g.sw - g.pw, r - pixel * batch);
      r = end;
      ++pixel;
      if (++ox == ow) ox = 0, ++oy;
    }
  }
  /// S = rows [r0, r1) of P for the image batch `image` (N x (C·H·W) of `channels` channels); S has
  /// leading dimension `len` (at least r1 − r0; rows beyond r1 − r0 are zeroed).
  static void unfold_rows(const Geometry& g, Index batch, Index channels, const T* image, Index r0, Index r1, T* s, Index len) {
    const Index hw = Index(g.in_h) * g.in_w, taps = Index(g.kh) * g.kw;
    if (len > r1 - r0)
      for (Index col = 0; col < channels * taps; ++col) std::fill(s + col * len + (r1 - r0), s + (col + 1) * len, T(0));
    pixel_runs(g, batch, r0, r1, [&](Index r, Index end, Index y0, Index x0, Index n) {
      const Index count = end - r;
      T* dst = s + (r - r0);
      for (Index i = 0; i < g.kh; ++i) {
        const Index y = y0 + i * g.dh;
        const bool row_in = y >= 0 && y < g.in_h;
        for (Index j = 0; j < g.kw; ++j) {
          const Index x = x0 + j * g.dw, tap = i * g.kw + j;
          if (row_in && x >= 0 && x < g.in_w) {
            const T* src = image + (y * g.in_w + x) * batch + n;
            for (Index c = 0; c < channels; ++c)
              Eigen::Map<Vector<T>>(dst + (c * taps + tap) * len, count) = Eigen::Map<const Vector<T>>(src + c * hw * batch, count);
          } else {
            for (Index c = 0; c < channels; ++c) Eigen::Map<Vector<T>>(dst + (c * taps + tap) * len, count).setZero();
          }
        }
      }
    });
  }
  /// channel += col2im of S, rows [r0, r1) of one channel's KH·KW columns of a patch matrix (leading
  /// dimension `len`); `channel` points at the channel's N·H·W block of the image.
  static void fold_rows(const Geometry& g, Index batch, const T* s, Index r0, Index r1, T* channel, Index len) {
    pixel_runs(g, batch, r0, r1, [&](Index r, Index end, Index y0, Index x0, Index n) {
      const Index count = end - r;
      const T* src = s + (r - r0);
      for (Index i = 0; i < g.kh; ++i) {
        const Index y = y0 + i * g.dh;
        if (y < 0 || y >= g.in_h) continue;
        for (Index j = 0; j < g.kw; ++j) {
          const Index x = x0 + j * g.dw;
          if (x < 0 || x >= g.in_w) continue;
          Eigen::Map<Vector<T>>(channel + (y * g.in_w + x) * batch + n, count) += Eigen::Map<const Vector<T>>(src + (i * g.kw + j) * len, count);
        }
      }
    });
  }
  /// out (N·OH·OW x M, leading dimension N·OH·OW) = P Wᵀ (+ bias per column when `bias`), or += P Wᵀ
  /// when `accumulate`. W is M x K.
  static void unfold_gemm(Tape<T>& t, const Geometry& g, Index batch, Index channels, const T* image, const Strided& w, T* out, const T* bias,
                          bool accumulate) {
    const Index rows = batch * g.out_h() * g.out_w(), k = w.cols(), m = w.rows();
    if (rows == 0) return;
    const Index block = block_rows(rows, k), blocks = (rows + block - 1) / block, tasks = std::min(blocks, kMaxTasks);
    const Index cap = padded(block), s_size = (cap * k + 15) / 16 * 16;
    t.prepare_tasks(tasks, static_cast<std::size_t>(s_size + cap * m));
    run(tasks, rows * k, [&](Index q) {
      T* s = t.task_scratch(q);
      for (Index b = q; b < blocks; b += tasks) {
        const Index r0 = b * block, len = std::min(rows, r0 + block) - r0, lp = padded(len);
        unfold_rows(g, batch, channels, image, r0, r0 + len, s, lp);
        Strided c(out + r0, len, m, Eigen::OuterStride<>(rows));
        const Strided sb(s, lp, k, Eigen::OuterStride<>(lp));
        if (lp == len) {
          if (!accumulate) c.setZero();
          t.template task_gemm<false, true>(q, c, sb, w);
        } else {  // the last block: its product on lp rows in the scratch, then its len rows copied out
          Strided cp(s + s_size, lp, m, Eigen::OuterStride<>(lp));
          cp.setZero();
          if (accumulate) cp.topRows(len) = c;
          t.template task_gemm<false, true>(q, cp, sb, w);
          c = cp.topRows(len);
        }
        if (bias)
          for (Index j = 0; j < m; ++j) c.col(j).array() += bias[j];
      }
    });
  }
  /// dW (M x K) += Aᵀ P for A (N·OH·OW x M, leading dimension N·OH·OW).
  static void weight_grad(Tape<T>& t, const Geometry& g, Index batch, Index channels, const T* a, const T* image, Strided dw) {
    const Index rows = batch * g.out_h() * g.out_w(), k = dw.cols(), m = dw.rows();
    if (rows == 0) return;
    const Index block = block_rows(rows, k), blocks = (rows + block - 1) / block, tasks = std::min(blocks, kMaxTasks);
    const Index stride = (block * k + 15) / 16 * 16;  // the task's partial sum after its block, 64-byte aligned
    t.prepare_tasks(tasks, static_cast<std::size_t>(stride + m * k));
    run(tasks, rows * k, [&](Index q) {
      T* s = t.task_scratch(q);
      Strided partial(s + stride, m, k, Eigen::OuterStride<>(m));
      partial.setZero();
      for (Index b = q; b < blocks; b += tasks) {
        const Index r0 = b * block, len = std::min(rows, r0 + block) - r0;
        unfold_rows(g, batch, channels, image, r0, r0 + len, s, len);
        t.template task_gemm<true, false>(q, partial, Strided(const_cast<T*>(a) + r0, len, m, Eigen::OuterStride<>(rows)),
                                          Strided(s, len, k, Eigen::OuterStride<>(len)));
      }
    });
    for (Index q = 0; q < tasks; ++q) dw += Strided(t.task_scratch(q) + stride, m, k, Eigen::OuterStride<>(m));
  }
  /// image (N x (C·H·W), `channels` channels) += col2im(A W) for A (N·OH·OW x M, leading dimension
  /// N·OH·OW) and W (M x C·KH·KW).
  static void gemm_fold(Tape<T>& t, const Geometry& g, Index batch, Index channels, const T* a, const Strided& w, T* image) {
    const Index rows = batch * g.out_h() * g.out_w(), taps = Index(g.kh) * g.kw, m = w.rows(), hw = Index(g.in_h) * g.in_w;
    if (rows == 0) return;
    const Index block = block_rows(rows, taps), blocks = (rows + block - 1) / block, tasks = std::min(channels, kMaxTasks);
    const Index cap = padded(block), s_size = (cap * taps + 15) / 16 * 16;
    t.prepare_tasks(tasks, static_cast<std::size_t>(s_size + cap * m));
    run(tasks, rows * taps * channels, [&](Index q) {
      T* s = t.task_scratch(q);
      for (Index c = q; c < channels; c += tasks) {
        const Strided wc(const_cast<T*>(w.data()) + c * taps * w.outerStride(), m, taps, Eigen::OuterStride<>(w.outerStride()));
        for (Index b = 0; b < blocks; ++b) {
          const Index r0 = b * block, len = std::min(rows, r0 + block) - r0, lp = padded(len);
          Strided sc(s, lp, taps, Eigen::OuterStride<>(lp));
          sc.setZero();
          const Strided ab(const_cast<T*>(a) + r0, len, m, Eigen::OuterStride<>(rows));
          if (lp == len) {
            t.template task_gemm<false, false>(q, sc, ab, wc);
          } else {  // the last block: A's rows copied into lp zero-padded rows
            Strided ap(s + s_size, lp, m, Eigen::OuterStride<>(lp));
            ap.bottomRows(lp - len).setZero();
            ap.topRows(len) = ab;
            t.template task_gemm<false, false>(q, sc, ap, wc);
          }
          fold_rows(g, batch, s, r0, r0 + len, image + c * hw * batch, lp);
        }
      }
    });
  }
  /// db[j] += Σ of column j of A (rows x M, contiguous).
  static void bias_grad(const T* a, Index rows, Map<T> db) {
    for (Index j = 0; j < db.size(); ++j) db(j) += Eigen::Map<const Vector<T>>(a + j * rows, rows).sum();
  }
};

/// 2-d convolution in one node: inputs x (N x C·H·W), the weight (M x C·KH·KW) and optionally the bias
/// (1 x M); value N x (M·OH·OW). Forward ConvCore::unfold_gemm (with the bias); backward the bias's
/// column sums, weight_grad and gemm_fold.
template <Real T> struct Conv2d {
  using Data = Geometry;
  static typename Tape<T>::StridedMap strided(Map<T> m) { return {m.data(), m.rows(), m.cols(), Eigen::OuterStride<>(m.rows())}; }
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Geometry g = op_data<Geometry>(n);
    const auto x = t.value(n.a);
    const T* bias = n.c >= 0 ? t.value(n.c).data() : nullptr;
    ConvCore<T>::unfold_gemm(t, g, x.rows(), x.cols() / (Index(g.in_h) * g.in_w), x.data(), strided(t.value(n.b)), v.data(), bias, false);
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> dy) {
    const Geometry g = op_data<Geometry>(n);
    const auto x = t.value(n.a);
    const Index batch = x.rows(), channels = x.cols() / (Index(g.in_h) * g.in_w);
    if (n.grad_c) ConvCore<T>::bias_grad(dy.data(), batch * g.out_h() * g.out_w(), t.adjoint(n.c));
    if (n.grad_b) ConvCore<T>::weight_grad(t, g, batch, channels, dy.data(), x.data(), strided(t.adjoint(n.b)));
    if (n.grad_a) ConvCore<T>::gemm_fold(t, g, batch, channels, dy.data(), strided(t.value(n.b)), t.adjoint(n.a).data());
  }
};

/// 2-d transposed convolution in one node: inputs x (N x C_in·H·W), the weight (C_in x C_out·KH·KW) and
/// optionally the bias (1 x C_out); value N x (C_out·OH·OW). The Geometry is the output image's under the
/// window (whose windows are x's pixels). Forward ConvCore::gemm_fold (x's memory is the (N·H·W) x C_in
/// matrix A); backward the bias's channel sums, unfold_gemm into dx and weight_grad.
template <Real T> struct ConvTranspose2d {
  using Data = Geometry;
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Geometry g = op_data<Geometry>(n);
    const auto x = t.value(n.a);
    const auto w = t.value(n.b);
    const Index taps = Index(g.kh) * g.kw, channels = w.cols() / taps;
    v.setZero();
    ConvCore<T>::gemm_fold(t, g, x.rows(), channels, x.data(), Conv2d<T>::strided(w), v.data());
    if (n.c >= 0) {
      const auto b = t.value(n.c);
      const Index block = v.size() / channels;
      for (Index c = 0; c < channels; ++c) Eigen::Map<Vector<T>>(v.data() + c * block, block).array() += b(c);
    }
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> dy) {
    const Geometry g = op_data<Geometry>(n);
    const auto x = t.value(n.a);
    const auto w = t.value(n.b);
    const Index taps = Index(g.kh) * g.kw, channels = w.cols() / taps, batch = x.rows();
    if (n.grad_c) {
      auto db = t.adjoint(n.c);
      const Index block = dy.size() / channels;
      for (Index c = 0; c < channels; ++c) db(c) += Eigen::Map<const Vector<T>>(dy.data() + c * block, block).sum();
    }
    if (n.grad_a) ConvCore<T>::unfold_gemm(t, g, batch, channels, dy.data(), Conv2d<T>::strided(w), t.adjoint(n.a).data(), nullptr, true);
    if (n.grad_b) ConvCore<T>::weight_grad(t, g, batch, channels, x.data(), dy.data(), Conv2d<T>::strided(t.adjoint(n.b)));
  }
};

/// col2im: the image (N x (C·H·W)) that sums the patch matrix's entries into their pixels (the adjoint
/// of im2col; the transposed convolution's last step). Backward: im2col of the adjoint.
template <Real T> struct Col2Im {
  using Data = Geometry;
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v.setZero();
    Im2Col<T>::fold(op_data<Geometry>(n), t.value(n.a), v);
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { Im2Col<T>::unfold(op_data<Geometry>(n), g, t.adjoint(n.a), true); }
};

/// A reshape in column-major order (a copy; the adjoint is copied back).
template <Real T> struct Reshape {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto a = t.value(n.a);
    std::copy_n(a.data(), a.size(), v.data());
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    auto da = t.adjoint(n.a);
    Eigen::Map<Vector<T>>(da.data(), da.size()) += Eigen::Map<const Vector<T>>(g.data(), g.size());
  }
};

/// y = x + b[c] on channel c's block of N·S scalars (x: N x (C·S), b: 1 x C). Backward: db[c] = Σ dy over the block.
template <Real T> struct AddChannelBias {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto x = t.value(n.a);
    const auto b = t.value(n.b);
    const Index block = x.size() / b.size();
    for (Index c = 0; c < b.size(); ++c)
      Eigen::Map<Vector<T>>(v.data() + c * block, block) = Eigen::Map<const Vector<T>>(x.data() + c * block, block).array() + b(c);
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (n.grad_a) t.adjoint(n.a) += g;
    if (n.grad_b) {
      auto db = t.adjoint(n.b);
      const Index block = g.size() / db.size();
      for (Index c = 0; c < db.size(); ++c) db(c) += Eigen::Map<const Vector<T>>(g.data() + c * block, block).sum();
    }
  }
};

/// y = x · a[c] + b[c] on channel c's block (x: N x (C·S), a and b: 1 x C).
template <Real T> struct ChannelAffine {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const auto x = t.value(n.a);
    const auto a = t.value(n.b);
    const auto b = t.value(n.c);
    const Index block = x.size() / a.size();
    for (Index c = 0; c < a.size(); ++c)
      Eigen::Map<Vector<T>>(v.data() + c * block, block) = Eigen::Map<const Vector<T>>(x.data() + c * block, block).array() * a(c) + b(c);
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const auto x = t.value(n.a);
    const auto a = t.value(n.b);
    const Index block = x.size() / a.size();
    for (Index c = 0; c < a.size(); ++c) {
      const Eigen::Map<const Vector<T>> gc(g.data() + c * block, block);
      if (n.grad_a) Eigen::Map<Vector<T>>(t.adjoint(n.a).data() + c * block, block) += a(c) * gc;
      if (n.grad_b) t.adjoint(n.b)(c) += gc.dot(Eigen::Map<const Vector<T>>(x.data() + c * block, block));
      if (n.grad_c) t.adjoint(n.c)(c) += gc.sum();
    }
  }
};

/// Batch normalisation's standardisation with the batch's statistics: x̂ = (x − μ_c)/√(σ²_c + ε) per
/// channel block of N·S scalars, μ and σ² (biased) in two passes. The forward pass writes μ, σ² and
/// 1/√(σ²+ε) into the 3 x C constant node `b` (for the layer's running statistics and the backward pass).
/// Backward (Ioffe & Szegedy 2015): dx = (1/√(σ²+ε))·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)).
template <Real T> struct BatchStandardize {
  struct Data {
    double eps;
    const Collective* ranks;  // synchronised over these ranks (nullptr: this batch alone)
    double count;             // with ranks: the entries per channel on all ranks together
  };
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    if (op_data<Data>(n).ranks != nullptr) return forward_ranks(t, n, v);
    const auto x = t.value(n.a);
    auto stats = t.value(n.b);
    const T eps = static_cast<T>(op_data<Data>(n).eps);
    const Index channels = stats.cols(), block = x.size() / channels;
    image_loop(channels, x.size(), [&](Index c) {
      const Eigen::Map<const Vector<T>> xc(x.data() + c * block, block);
      const T mu = xc.mean();
      const T var = (xc.array() - mu).square().mean();
      const T inv = T(1) / std::sqrt(var + eps);
      stats(0, c) = mu;
      stats(1, c) = var;
      stats(2, c) = inv;
      Eigen::Map<Vector<T>>(v.data() + c * block, block) = (xc.array() - mu) * inv;
    });
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    if (op_data<Data>(n).ranks != nullptr) return backward_ranks(t, n, v, g);
    const auto stats = t.value(n.b);
    auto dx = t.adjoint(n.a);
    const Index channels = stats.cols(), block = v.size() / channels;
    image_loop(channels, v.size(), [&](Index c) {
      const Eigen::Map<const Vector<T>> gc(g.data() + c * block, block), xh(v.data() + c * block, block);
      const T mean_g = gc.mean(), mean_gx = gc.dot(xh) / T(block);
      Eigen::Map<Vector<T>>(dx.data() + c * block, block).array() += stats(2, c) * (gc.array() - mean_g - xh.array() * mean_gx);
    });
  }
  // Synchronised over ranks (each holding some rows of the batch, 0 included): the mean from the summed
  // sums, the variance from the summed squared deviations about that mean (not a sum of squares about 0);
  // the backward pass sums Σg and Σg·x̂ likewise. One Collective::sum each (two in the forward pass).
  static void forward_ranks(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Data d = op_data<Data>(n);
    const auto x = t.value(n.a);
    auto stats = t.value(n.b);
    const Index channels = stats.cols(), block = x.size() / channels;
    std::vector<double> sums(static_cast<std::size_t>(channels), 0.0);
    for (Index c = 0; c < channels; ++c) sums[std::size_t(c)] = Eigen::Map<const Vector<T>>(x.data() + c * block, block).template cast<double>().sum();
    d.ranks->sum(sums.data(), sums.size());
    for (Index c = 0; c < channels; ++c) stats(0, c) = static_cast<T>(sums[std::size_t(c)] / d.count);
    for (Index c = 0; c < channels; ++c)
      sums[std::size_t(c)] = (Eigen::Map<const Vector<T>>(x.data() + c * block, block).array() - stats(0, c)).template cast<double>().square().sum();
    d.ranks->sum(sums.data(), sums.size());
    const T eps = static_cast<T>(d.eps);
    for (Index c = 0; c < channels; ++c) {
      stats(1, c) = static_cast<T>(sums[std::size_t(c)] / d.count);
      stats(2, c) = T(1) / std::sqrt(stats(1, c) + eps);
      Eigen::Map<Vector<T>>(v.data() + c * block, block) = (Eigen::Map<const Vector<T>>(x.data() + c * block, block).array() - stats(0, c)) * stats(2, c);
    }
  }
  static void backward_ranks(Tape<T>& t, const Node<T>& n, Map<T> v, Map<T> g) {
    const Data d = op_data<Data>(n);
    const auto stats = t.value(n.b);
    auto dx = t.adjoint(n.a);
    const Index channels = stats.cols(), block = v.size() / channels;
    std::vector<double> sums(static_cast<std::size_t>(2 * channels), 0.0);
    for (Index c = 0; c < channels; ++c) {
      const Eigen::Map<const Vector<T>> gc(g.data() + c * block, block), xh(v.data() + c * block, block);
      sums[std::size_t(c)] = gc.template cast<double>().sum();
      sums[std::size_t(channels + c)] = gc.template cast<double>().dot(xh.template cast<double>());
    }
    d.ranks->sum(sums.data(), sums.size());
    for (Index c = 0; c < channels; ++c) {
      const Eigen::Map<const Vector<T>> gc(g.data() + c * block, block), xh(v.data() + c * block, block);
      const T mean_g = static_cast<T>(sums[std::size_t(c)] / d.count), mean_gx = static_cast<T>(sums[std::size_t(channels + c)] / d.count);
      Eigen::Map<Vector<T>>(dx.data() + c * block, block).array() += stats(2, c) * (gc.array() - mean_g - xh.array() * mean_gx);
    }
  }
};

/// Max pooling: the largest entry of each window (padding ignored); the forward pass writes the input
/// column of each maximum (its flat index c·H·W + h·W + w, the first one on ties, as PyTorch) into the
/// constant node `b` (the pooling indices max-unpooling uses). Backward: routes dy to those entries.
template <Real T> struct MaxPool {
  using Data = Geometry;
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Geometry g = op_data<Geometry>(n);
    const auto x = t.value(n.a);
    auto idx = t.value(n.b);
    const Index batch = x.rows(), hw = Index(g.in_h) * g.in_w, channels = x.cols() / hw, oh = g.out_h(), ow = g.out_w();
    image_loop(channels, x.size(), [&](Index c) {
      for (Index r = 0; r < oh; ++r)
        for (Index s = 0; s < ow; ++s) {
          const Index col = c * oh * ow + r * ow + s;
          T* best = v.data() + col * batch;
          T* where = idx.data() + col * batch;
          bool first = true;
          for (Index i = 0; i < g.kh; ++i) {
            const Index y = r * g.sh - g.ph + i * g.dh;
            if (y < 0 || y >= g.in_h) continue;
            for (Index j = 0; j < g.kw; ++j) {
              const Index xx = s * g.sw - g.pw + j * g.dw;
              if (xx < 0 || xx >= g.in_w) continue;
              const Index from = c * hw + y * g.in_w + xx;
              const T* in = x.data() + from * batch;
              if (first) {
                std::copy_n(in, batch, best);
                std::fill_n(where, batch, static_cast<T>(from));
                first = false;
              } else {
                const T at = static_cast<T>(from);
                for (Index k = 0; k < batch; ++k) {  // branch-free, so that it vectorises
                  const bool take = (in[k] > best[k]) | (in[k] != in[k]);  // larger, or NaN: PyTorch's rule
                  best[k] = take ? in[k] : best[k];
                  where[k] = take ? at : where[k];
                }
              }
            }
          }
          if (first) {  // no tap inside the image (max_pool2d refuses such windows): -inf, and a valid index
            std::fill_n(best, batch, -std::numeric_limits<T>::infinity());
            std::fill_n(where, batch, static_cast<T>(c * hw));
          }
        }
    });
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) { scatter(t.value(n.b), g, t.adjoint(n.a)); }
  /// out[k, idx[k, j]] += in[k, j] (one image row k at a time would be slow: by columns, rows in order).
  static void scatter(const Map<T>& idx, const Map<T>& in, Map<T> out) {
    const Index batch = in.rows();
    for (Index j = 0; j < in.cols(); ++j)
      for (Index k = 0; k < batch; ++k) out(k, static_cast<Index>(idx(k, j))) += in(k, j);
  }
};

/// Max-unpooling: the N x (C·H·W) image that is zero except y[k, idx[k, j]] = x[k, j] (input a: the pooled
/// values, b: the pooling indices). Backward: dx[k, j] = dy[k, idx[k, j]] (PyTorch's gather: a pixel two
/// overlapping windows chose passes its gradient to both).
template <Real T> struct MaxUnpool {
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    v.setZero();  // overlapping windows may name one pixel twice: it gets the (same) value once, as in PyTorch
    const auto idx = t.value(n.b);
    const auto x = t.value(n.a);
    for (Index j = 0; j < x.cols(); ++j)
      for (Index k = 0; k < x.rows(); ++k) v(k, static_cast<Index>(idx(k, j))) = x(k, j);
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    if (!n.grad_a) return;
    const auto idx = t.value(n.b);
    auto dx = t.adjoint(n.a);
    for (Index j = 0; j < dx.cols(); ++j)
      for (Index k = 0; k < dx.rows(); ++k) dx(k, j) += g(k, static_cast<Index>(idx(k, j)));
  }
};

/// Average pooling: the mean of each window, padding counted as zeros (PyTorch's count_include_pad =
/// true) unless flags & 1 (then the mean over the window's pixels inside the image).
template <Real T> struct AvgPool {
  using Data = Geometry;
  static Index count(const Geometry& g, Index r, Index s) {
    if (!(g.flags & 1)) return Index(g.kh) * g.kw;
    const Index y0 = r * g.sh - g.ph, x0 = s * g.sw - g.pw;
    const Index ys = std::min<Index>(y0 + g.kh, g.in_h) - std::max<Index>(y0, 0), xs = std::min<Index>(x0 + g.kw, g.in_w) - std::max<Index>(x0, 0);
    return ys * xs;
  }
  template <bool Forward> static void run(const Geometry& g, T* image, T* pooled, Index batch, Index channels) {
    const Index hw = Index(g.in_h) * g.in_w, oh = g.out_h(), ow = g.out_w();
    image_loop(channels, batch * channels * hw, [&](Index c) {
      for (Index r = 0; r < oh; ++r)
        for (Index s = 0; s < ow; ++s) {
          T* out = pooled + (c * oh * ow + r * ow + s) * batch;
          const T scale = T(1) / static_cast<T>(count(g, r, s));
          if constexpr (Forward) std::fill_n(out, batch, T(0));
          for (Index i = 0; i < g.kh; ++i) {
            const Index y = r * g.sh - g.ph + i;
            if (y < 0 || y >= g.in_h) continue;
            for (Index j = 0; j < g.kw; ++j) {
              const Index xx = s * g.sw - g.pw + j;
              if (xx < 0 || xx >= g.in_w) continue;
              T* in = image + (c * hw + y * g.in_w + xx) * batch;
              if constexpr (Forward)
                for (Index k = 0; k < batch; ++k) out[k] += in[k];
              else
                for (Index k = 0; k < batch; ++k) in[k] += scale * out[k];
            }
          }
          if constexpr (Forward)
            for (Index k = 0; k < batch; ++k) out[k] *= scale;
        }
    });
  }
  static void forward(Tape<T>& t, Node<T>& n, Map<T> v) {
    const Geometry g = op_data<Geometry>(n);
    auto x = t.value(n.a);
    run<true>(g, x.data(), v.data(), x.rows(), x.cols() / (Index(g.in_h) * g.in_w));
  }
  static void backward(Tape<T>& t, const Node<T>& n, Map<T>, Map<T> g) {
    const Geometry geo = op_data<Geometry>(n);
    auto dx = t.adjoint(n.a);
    run<false>(geo, dx.data(), g.data(), dx.rows(), dx.cols() / (Index(geo.in_h) * geo.in_w));
  }
};

/// The channel count of an N x (C·H·W) node of the given height and width. @throw std::invalid_argument.
template <Real T> Index channels_of(const char* function, const Var<T>& x, const ImageShape& shape) {
  if (shape.channels <= 0 || shape.height <= 0 || shape.width <= 0 || x.cols() != shape.size())
    pml::detail::throw_shape(function, "x has " + std::to_string(x.cols()) + " columns, the image shape " + to_string(shape) + " needs " +
                                           std::to_string(shape.size()));
  return shape.channels;
}

/// @throw std::invalid_argument unless `bias` is none (no tape) or 1 x `channels`.
template <Real T> void check_bias(const char* function, const Var<T>& bias, Index channels) {
  if (bias.tape && !bias.size_is(1, channels))
    pml::detail::throw_shape(function, "bias is " + std::to_string(bias.rows()) + "x" + std::to_string(bias.cols()) + ", expected 1x" +
                                           std::to_string(channels));
}

}  // namespace detail

/// The output shape of a convolution or pooling with window `w` and `channels` output channels on images of shape `in`.
inline ImageShape window_output_shape(const ImageShape& in, const Window2d& w, Index channels) {
  return {channels, w.output_height(in.height), w.output_width(in.width)};
}

/// im2col: the (N·OH·OW) x (C·KH·KW) matrix of the windows of a batch x (N x (C·H·W), shape `in`): row
/// (n, oh, ow) (n fastest) holds the window of output pixel (oh, ow) of image n, in (c, i, j) order, zeros
/// in the padding. Backward: col2im. @throw std::invalid_argument if x's columns are not in.size() or the
/// window does not fit.
template <Real T> Var<T> im2col(const Var<T>& x, const ImageShape& in, const Window2d& w) {
  detail::channels_of("ad::im2col", x, in);
  const detail::Geometry g = detail::pack_geometry("ad::im2col", in.height, in.width, w);
  return x.tape->template record<detail::Im2Col<T>>(x.rows() * g.out_h() * g.out_w(), in.channels * w.kernel_h * w.kernel_w, {x.id}, g);
}

/// col2im: the adjoint of im2col. `p` is (N·OH·OW) x (C·KH·KW) for images of shape `out` under window
/// `w`; the result (N x (C·H·W)) sums each entry into the pixel im2col copied it from.
/// @throw std::invalid_argument if p's shape does not match.
template <Real T> Var<T> col2im(const Var<T>& p, const ImageShape& out, const Window2d& w) {
  const detail::Geometry g = detail::pack_geometry("ad::col2im", out.height, out.width, w);
  const Index windows = g.out_h() * g.out_w(), cols = out.channels * w.kernel_h * w.kernel_w;
  if (out.channels <= 0 || p.cols() != cols || p.rows() % windows != 0)
    pml::detail::throw_shape("ad::col2im", "p is " + std::to_string(p.rows()) + "x" + std::to_string(p.cols()) + ", expected (N·" +
                                               std::to_string(windows) + ") x " + std::to_string(cols));
  return p.tape->template record<detail::Col2Im<T>>(p.rows() / windows, out.size(), {p.id}, g);
}

/// The same entries as an r x c matrix, in column-major order (a copy). @throw std::invalid_argument if r·c differs from a's size.
template <Real T> Var<T> reshape(const Var<T>& a, Index rows, Index cols) {
  if (rows < 0 || cols < 0 || rows * cols != a.rows() * a.cols())
    pml::detail::throw_shape("ad::reshape", "cannot reshape " + std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + " to " +
                                                std::to_string(rows) + "x" + std::to_string(cols));
  return a.tape->template record<detail::Reshape<T>>(rows, cols, {a.id});
}

/// x + b per channel: x is N x (C·S) (S pixels per channel), b is 1 x C.
/// @throw std::invalid_argument if b is not 1 x C with C dividing x's columns.
template <Real T> Var<T> add_channel_bias(const Var<T>& x, const Var<T>& b) {
  detail::same_tape("ad::add_channel_bias", x, b);
  if (b.rows() != 1 || b.cols() < 1 || x.cols() % b.cols() != 0)
    pml::detail::throw_shape("ad::add_channel_bias", "b must be 1 x C with C dividing x's " + std::to_string(x.cols()) + " columns, got " +
                                                         std::to_string(b.rows()) + "x" + std::to_string(b.cols()));
  return x.tape->template record<detail::AddChannelBias<T>>(x.rows(), x.cols(), {x.id, b.id});
}

/// x · a[c] + b[c] per channel: x is N x (C·S), a and b are 1 x C (batch normalisation's affine step).
/// @throw std::invalid_argument if a or b is not 1 x C with C dividing x's columns.
template <Real T> Var<T> channel_affine(const Var<T>& x, const Var<T>& a, const Var<T>& b) {
  detail::same_tape("ad::channel_affine", x, a);
  detail::same_tape("ad::channel_affine", x, b);
  if (a.rows() != 1 || a.cols() < 1 || x.cols() % a.cols() != 0 || !b.size_is(1, a.cols()))
    pml::detail::throw_shape("ad::channel_affine", "a and b must be 1 x C with C dividing x's " + std::to_string(x.cols()) + " columns, got " +
                                                       std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + " and " +
                                                       std::to_string(b.rows()) + "x" + std::to_string(b.cols()));
  return x.tape->template record<detail::ChannelAffine<T>>(x.rows(), x.cols(), {x.id, a.id, b.id});
}

/// The output of ad::batch_standardize: the standardised x and the batch statistics.
template <Real T> struct Standardized {
  Var<T> value;  ///< x̂, N x (C·S)
  Var<T> stats;  ///< 3 x C constant: the batch mean, the biased batch variance and 1/√(σ² + ε) per channel
  double count = 0;  ///< the entries per channel the statistics are over (N·S; summed over the ranks when synchronised)
};

/// Standardises each of `channels` channels of x (N x (C·S)) with the batch's mean and biased variance
/// over its N·S entries (batch normalisation in training mode, before the affine step; Ioffe & Szegedy
/// 2015, eq. in Algorithm 1). @throw std::invalid_argument if channels does not divide x's columns, if
/// a channel has fewer than 2 entries (PyTorch's rule) or eps < 0.
template <Real T> Standardized<T> batch_standardize(const Var<T>& x, Index channels, double eps = 1e-5) {
  if (channels < 1 || x.cols() % channels != 0)
    pml::detail::throw_shape("ad::batch_standardize", std::to_string(channels) + " channels do not divide x's " + std::to_string(x.cols()) + " columns");
  if (x.rows() * (x.cols() / channels) < 2)
    pml::detail::throw_shape("ad::batch_standardize", "each channel needs more than one value, got " + std::to_string(x.rows() * (x.cols() / channels)));
  if (!(eps >= 0)) pml::detail::throw_domain("ad::batch_standardize", "eps", "be >= 0", std::to_string(eps));
  const Var<T> stats = x.tape->constant(3, channels);
  return {x.tape->template record<detail::BatchStandardize<T>>(x.rows(), x.cols(), {x.id, stats.id}, {eps, nullptr, 0.0}), stats,
          double(x.rows() * (x.cols() / channels))};
}

/// Synchronised batch normalisation (PyTorch's SyncBatchNorm; data-parallel training, issue 18): the rows
/// of the batch are spread over `ranks` (any number on each, 0 included) and every channel is standardised
/// with the mean and biased variance of all the ranks' entries, the backward pass summing its two
/// per-channel reductions over the ranks too — so P ranks give what batch_standardize() gives on the
/// stacked rows, to rounding. Every rank must call it (and run the backward pass) at the same point of the
/// same graph, with the same `channels` and `eps`. On one rank it is batch_standardize(). One collective
/// for the count here, two in the forward pass, one in the backward pass.
/// @throw std::invalid_argument (on every rank) if channels does not divide x's columns or a channel has
/// fewer than 2 entries on all ranks together; std::domain_error for eps < 0.
template <Real T> Standardized<T> batch_standardize(const Var<T>& x, Index channels, double eps, const Collective& ranks) {
  if (ranks.size() == 1) return batch_standardize(x, channels, eps);
  if (channels < 1 || x.cols() % channels != 0)
    pml::detail::throw_shape("ad::batch_standardize", std::to_string(channels) + " channels do not divide x's " + std::to_string(x.cols()) + " columns");
  if (!(eps >= 0)) pml::detail::throw_domain("ad::batch_standardize", "eps", "be >= 0", std::to_string(eps));
  const double count = pml::detail::all_sum(ranks, double(x.rows() * (x.cols() / channels)));
  if (count < 2)
    pml::detail::throw_shape("ad::batch_standardize", "each channel needs more than one value on all ranks together, got " + pml::detail::describe(count));
  const Var<T> stats = x.tape->constant(3, channels);
  return {x.tape->template record<detail::BatchStandardize<T>>(x.rows(), x.cols(), {x.id, stats.id}, {eps, &ranks, count}), stats, count};
}

/// The output of ad::max_pool2d: the pooled images and the pooling indices.
template <Real T> struct Pooled {
  Var<T> value;    ///< N x (C·OH·OW)
  Var<T> indices;  ///< N x (C·OH·OW) constant: the input column c·H·W + h·W + w of each maximum (exact integers)
  ImageShape shape;  ///< C x OH x OW
};

/// Max pooling of x (N x (C·H·W), shape `in`) over window `w` (padding never wins; PyTorch's
/// max_pool2d with ceil_mode off). @throw std::invalid_argument if the shapes or the window are wrong,
/// the padding is more than half the kernel (PyTorch's rule), or a dilated window holds no pixel.
template <Real T> Pooled<T> max_pool2d(const Var<T>& x, const ImageShape& in, const Window2d& w) {
  detail::channels_of("ad::max_pool2d", x, in);
  const detail::Geometry g = detail::pack_geometry("ad::max_pool2d", in.height, in.width, w);
  if (2 * w.padding_h > w.kernel_h || 2 * w.padding_w > w.kernel_w)
    pml::detail::throw_shape("ad::max_pool2d", "padding must be at most half the kernel, got padding " + std::to_string(w.padding_h) + "x" +
                                                   std::to_string(w.padding_w) + " for kernel " + std::to_string(w.kernel_h) + "x" +
                                                   std::to_string(w.kernel_w));
  if (in.size() > (Index(1) << std::numeric_limits<T>::digits))
    pml::detail::throw_shape("ad::max_pool2d", "images of " + std::to_string(in.size()) + " values are too large for exact indices in this scalar type");
  // with dilation a window may fall between the image's rows or columns: every window needs a pixel
  auto covered = [](Index outputs, Index size, Index k, Index s, Index p, Index d) {
    for (Index r = 0; r < outputs; ++r) {
      bool any = false;
      for (Index i = 0; i < k && !any; ++i) any = r * s - p + i * d >= 0 && r * s - p + i * d < size;
      if (!any) return r;
    }
    return Index(-1);
  };
  const Index bad_row = covered(g.out_h(), in.height, w.kernel_h, w.stride_h, w.padding_h, w.dilation_h),
              bad_col = covered(g.out_w(), in.width, w.kernel_w, w.stride_w, w.padding_w, w.dilation_w);
  if (bad_row >= 0 || bad_col >= 0)
    pml::detail::throw_shape("ad::max_pool2d", "the window of output " + std::string(bad_row >= 0 ? "row " + std::to_string(bad_row) : "column " + std::to_string(bad_col)) +
                                                   " holds no pixel of the " + std::to_string(in.height) + "x" + std::to_string(in.width) +
                                                   " image (kernel, padding and dilation leave it in the padding)");
  const ImageShape out = window_output_shape(in, w, in.channels);
  const Var<T> idx = x.tape->constant(x.rows(), out.size());
  return {x.tape->template record<detail::MaxPool<T>>(x.rows(), out.size(), {x.id, idx.id}, g), idx, out};
}

/// Max-unpooling (PyTorch's max_unpool2d): the images of shape `out` (N x (C·H·W)) that are zero except
/// where the pooling indices put x's values. The indices are max_pool2d's: columns of the whole image
/// (c·H·W + h·W + w), where PyTorch's count within each channel's plane (h·W + w).
/// @throw std::invalid_argument if x and the indices differ in shape, the indices need a gradient, or an
/// index is not an integer column of `out`.
template <Real T> Var<T> max_unpool2d(const Var<T>& x, const Var<T>& indices, const ImageShape& out) {
  detail::same_shape("ad::max_unpool2d", x, indices);
  if (indices.tape->needs_grad(indices.id))
    pml::detail::throw_shape("ad::max_unpool2d", "the indices must be a constant of the tape (max_pool2d's), not a node with a gradient");
  const auto idx = indices.value();
  for (Index i = 0; i < idx.size(); ++i)
    if (!(idx(i) >= 0 && idx(i) < static_cast<T>(out.size()) && idx(i) == std::floor(idx(i))))
      pml::detail::throw_shape("ad::max_unpool2d", "index " + pml::detail::describe(idx(i)) + " at entry " + std::to_string(i) +
                                                       " is not a column of images of shape " + to_string(out));
  return x.tape->template record<detail::MaxUnpool<T>>(x.rows(), out.size(), {x.id, indices.id});
}

/// Average pooling of x (N x (C·H·W), shape `in`) over window `w` (no dilation; PyTorch's avg_pool2d with
/// ceil_mode off): padding counts as zeros when `count_include_pad` (PyTorch's default), else each window
/// averages its in-image pixels only. @throw std::invalid_argument as max_pool2d.
template <Real T> Var<T> avg_pool2d(const Var<T>& x, const ImageShape& in, const Window2d& w, bool count_include_pad = true) {
  detail::channels_of("ad::avg_pool2d", x, in);
  detail::Geometry g = detail::pack_geometry("ad::avg_pool2d", in.height, in.width, w, false);
  if (2 * w.padding_h > w.kernel_h || 2 * w.padding_w > w.kernel_w)
    pml::detail::throw_shape("ad::avg_pool2d", "padding must be at most half the kernel, got padding " + std::to_string(w.padding_h) + "x" +
                                                   std::to_string(w.padding_w) + " for kernel " + std::to_string(w.kernel_h) + "x" +
                                                   std::to_string(w.kernel_w));
  g.flags = count_include_pad ? 0 : 1;
  return x.tape->template record<detail::AvgPool<T>>(x.rows(), in.channels * g.out_h() * g.out_w(), {x.id}, g);
}

/// Global average pooling: the mean of each channel's H x W pixels (N x C).
/// @throw std::invalid_argument if x's columns are not in.size().
template <Real T> Var<T> global_avg_pool2d(const Var<T>& x, const ImageShape& in) {
  detail::channels_of("ad::global_avg_pool2d", x, in);
  return avg_pool2d(x, in, Window2d{in.height, in.width, in.height, in.width});
}

/// 2-d convolution (PyTorch's conv2d, cross-correlation, groups = 1): x is N x (C_in·H·W) of shape `in`,
/// `weight` is C_out x (C_in·KH·KW) (PyTorch's C_out x C_in x KH x KW weight with each filter as a row),
/// `bias` 1 x C_out (or an invalid Var: none). Output N x (C_out·OH·OW). One node: the product P Wᵀ of the
/// im2col matrix P and the weight, whose (N·OH·OW) x C_out result holds the output's entries in the
/// output's order, made on cache-sized blocks of P's rows that are never stored whole (detail::ConvCore);
/// the backward pass makes the blocks again for the weight's gradient and folds (col2im) the input's
/// gradient block by block.
/// @throw std::invalid_argument naming the shapes if x, the weight or the bias do not fit.
template <Real T> Var<T> conv2d(const Var<T>& x, const ImageShape& in, const Var<T>& weight, const Var<T>& bias, const Window2d& w) {
  detail::same_tape("ad::conv2d", x, weight);
  detail::channels_of("ad::conv2d", x, in);
  (void)detail::pack_geometry("ad::conv2d", in.height, in.width, w);  // the window first: its errors name it
  const Index taps = w.kernel_h * w.kernel_w;
  if (weight.cols() != in.channels * taps || weight.rows() < 1)
    pml::detail::throw_shape("ad::conv2d", "weight is " + std::to_string(weight.rows()) + "x" + std::to_string(weight.cols()) + ", expected C_out x " +
                                               std::to_string(in.channels * taps) + " for " + std::to_string(in.channels) + " input channels and a " +
                                               std::to_string(w.kernel_h) + "x" + std::to_string(w.kernel_w) + " kernel");
  detail::check_bias("ad::conv2d", bias, weight.rows());
  if (bias.tape) detail::same_tape("ad::conv2d", x, bias);
  const detail::Geometry g = detail::pack_geometry("ad::conv2d", in.height, in.width, w);
  const Index windows = g.out_h() * g.out_w();
  return x.tape->template record<detail::Conv2d<T>>(x.rows(), weight.rows() * windows, {x.id, weight.id, bias.tape ? bias.id : -1}, g);
}

/// 2-d transposed convolution (PyTorch's conv_transpose2d, groups = 1): x is N x (C_in·H·W) of shape
/// `in`, `weight` C_in x (C_out·KH·KW) (PyTorch's C_in x C_out x KH x KW weight), `bias` 1 x C_out or none;
/// the output has OH = (H − 1)·s − 2p + d(KH − 1) + output_padding_h + 1 rows of pixels (likewise OW);
/// the output padding must be below the stride (PyTorch also takes one below the dilation alone).
/// One node: col2im(X W) for X the (N·H·W) x C_in matrix x's memory holds, made in cache-sized blocks and
/// folded as they are made (detail::ConvCore), plus the bias.
/// @throw std::invalid_argument naming the shapes if they do not fit.
template <Real T> Var<T> conv_transpose2d(const Var<T>& x, const ImageShape& in, const Var<T>& weight, const Var<T>& bias, const Window2d& w,
                                          Index output_padding_h = 0, Index output_padding_w = 0) {
  detail::same_tape("ad::conv_transpose2d", x, weight);
  detail::channels_of("ad::conv_transpose2d", x, in);
  const Index taps = w.kernel_h * w.kernel_w;
  if (weight.rows() != in.channels || taps < 1 || weight.cols() % taps != 0 || weight.cols() == 0)
    pml::detail::throw_shape("ad::conv_transpose2d", "weight is " + std::to_string(weight.rows()) + "x" + std::to_string(weight.cols()) +
                                                         ", expected " + std::to_string(in.channels) + " x (C_out·" + std::to_string(taps) + ")");
  // PyTorch also takes an output padding below the dilation alone; the extra rows would then have no window
  // of the convolution this is the adjoint of, which col2im cannot express: pml requires it below the stride
  if (output_padding_h < 0 || output_padding_w < 0 || output_padding_h >= w.stride_h || output_padding_w >= w.stride_w)
    pml::detail::throw_shape("ad::conv_transpose2d", "output padding must be in [0, stride), got " + std::to_string(output_padding_h) + "x" +
                                                         std::to_string(output_padding_w) + " for stride " + std::to_string(w.stride_h) + "x" +
                                                         std::to_string(w.stride_w));
  const ImageShape out{weight.cols() / taps, (in.height - 1) * w.stride_h - 2 * w.padding_h + w.dilation_h * (w.kernel_h - 1) + output_padding_h + 1,
                       (in.width - 1) * w.stride_w - 2 * w.padding_w + w.dilation_w * (w.kernel_w - 1) + output_padding_w + 1};
  if (out.height < 1 || out.width < 1 || w.output_height(out.height) != in.height || w.output_width(out.width) != in.width)
    pml::detail::throw_shape("ad::conv_transpose2d", "the window does not map an output of " + std::to_string(out.height) + "x" +
                                                         std::to_string(out.width) + " back to the input's " + std::to_string(in.height) + "x" +
                                                         std::to_string(in.width));
  detail::check_bias("ad::conv_transpose2d", bias, out.channels);
  if (bias.tape) detail::same_tape("ad::conv_transpose2d", x, bias);
  const detail::Geometry g = detail::pack_geometry("ad::conv_transpose2d", out.height, out.width, w);
  return x.tape->template record<detail::ConvTranspose2d<T>>(x.rows(), out.size(), {x.id, weight.id, bias.tape ? bias.id : -1}, g);
}

}  // namespace pml::ad
