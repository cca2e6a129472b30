#!/usr/bin/python3
"""How the time of one GaussianMixture EM iteration (full covariances) grows with N, D and K, pml beside
scikit-learn on the same data and the same starting parameters, drawn as an SVG.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/cluster_growth.py \\
      [--build build/dev] [--threads 2] [--out docs/images/gmm_growth.svg]

Three sweeps about (N, D, K) = (100 000, 32, 16): N from 1e4 to 1e6; D from 2 to 256 (at N = 20 000, so
that the D = 256 runs stay short); K from 2 to 64. The time of one iteration is the difference between
runs of 6 and 2 EM iterations divided by 4 (best of 2 each), so that neither side's initialisation is in
it. Needs python3-sklearn and libopenblas0-pthread; both sides get the same thread count.
"""
import argparse
import os
import subprocess
import tempfile
import time
import warnings

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "docs", "images", "gmm_growth.svg"))
parser.add_argument("--quick", action="store_true", help="a few points per sweep (a smoke test of the script)")
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)
exe = os.path.join(args.build, "benchmarks", "compare_cluster")


def data(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[labels]
    return x, x[rng.choice(n, size=k, replace=False)]


def best(f, repeats=2):
    t = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - t0)
    return t


def per_iteration(n, d, k, tmp):
    x, means0 = data(n, d, k)
    path = os.path.join(tmp, "data.bin")
    with open(path, "wb") as f:
        np.array([n, d, k], dtype=np.int64).tofile(f)
        x.astype(np.float64).tofile(f)
        means0.astype(np.float64).tofile(f)

    def ours(iterations):
        env = dict(os.environ, PML_NUM_THREADS=str(args.threads))
        out = subprocess.run([exe, path, "gmm_full", str(iterations), "2"], capture_output=True, text=True, check=True,
                             env=env).stdout
        return float(dict(f.split("=") for f in out.split())["seconds"])

    def theirs(iterations):
        gm = GaussianMixture(n_components=k, covariance_type="full", max_iter=iterations, tol=0.0,
                             init_params="random_from_data", weights_init=np.full(k, 1.0 / k), means_init=means0,
                             precisions_init=np.array([np.eye(d)] * k), random_state=0)
        return best(lambda: gm.fit(x))

    return (ours(6) - ours(2)) / 4, (theirs(6) - theirs(2)) / 4


sweeps = {
    "N": [(n, 32, 16) for n in ([10000, 100000] if args.quick else [10000, 30000, 100000, 300000, 1000000])],
    "D": [(20000, d, 16) for d in ([2, 32] if args.quick else [2, 4, 8, 16, 32, 64, 128, 256])],
    "K": [(100000, 32, k) for k in ([2, 16] if args.quick else [2, 4, 8, 16, 32, 64])],
}
results = {}
with tempfile.TemporaryDirectory() as tmp:
    for axis, points in sweeps.items():
        results[axis] = []
        for n, d, k in points:
            ours, theirs = per_iteration(n, d, k, tmp)
            value = {"N": n, "D": d, "K": k}[axis]
            results[axis].append((value, ours, theirs))
            print(f"{axis} = {value:>7} (N = {n}, D = {d}, K = {k}): pml {ours * 1e3:9.2f} ms/iteration, "
                  f"scikit-learn {theirs * 1e3:9.2f} ms/iteration, {theirs / ours:5.1f}x", flush=True)


def svg(results, path):
    """Three log-log panels, time per iteration against N, D and K; pml and scikit-learn."""
    width, height, pad = 300, 260, 55
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{3 * width}" height="{height + 40}" '
             f'font-family="sans-serif" font-size="11">',
             f'<text x="{1.5 * width}" y="16" text-anchor="middle" font-size="13">GaussianMixture (full) time per EM '
             f'iteration, {args.threads} thread(s) each: pml (blue) and scikit-learn {sklearn.__version__} (orange)</text>']
    for i, (axis, rows) in enumerate(results.items()):
        x0 = i * width
        xs = np.log10([r[0] for r in rows])
        ys = np.log10([max(v, 1e-6) for r in rows for v in r[1:]])
        xlo, xhi = xs.min(), xs.max()
        ylo, yhi = np.floor(ys.min()), np.ceil(ys.max())

        def px(v):
            return x0 + pad + (np.log10(v) - xlo) / max(xhi - xlo, 1e-9) * (width - pad - 15)

        def py(v):
            return 30 + (yhi - np.log10(max(v, 1e-6))) / max(yhi - ylo, 1e-9) * (height - 60)

        parts.append(f'<rect x="{x0 + pad}" y="30" width="{width - pad - 15}" height="{height - 60}" fill="none" stroke="#999"/>')
        for e in range(int(ylo), int(yhi) + 1):
            y = 30 + (yhi - e) / max(yhi - ylo, 1e-9) * (height - 60)
            label = f"{10.0 ** e * 1e3:g} ms"
            parts.append(f'<line x1="{x0 + pad}" x2="{x0 + width - 15}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            parts.append(f'<text x="{x0 + pad - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        for r in rows:
            parts.append(f'<text x="{px(r[0]):.1f}" y="{height - 16}" text-anchor="middle">{r[0]:g}</text>')
        parts.append(f'<text x="{x0 + pad + (width - pad - 15) / 2}" y="{height}" text-anchor="middle">{axis}</text>')
        for col, colour in ((1, "#1f77b4"), (2, "#ff7f0e")):
            pts = " ".join(f"{px(r[0]):.1f},{py(r[col]):.1f}" for r in rows)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for r in rows:
                parts.append(f'<circle cx="{px(r[0]):.1f}" cy="{py(r[col]):.1f}" r="3" fill="{colour}"/>')
    parts.append("</svg>")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(parts) + "\n")
    os.replace(path + ".tmp", path)


svg(results, args.out)
print(f"wrote {args.out}")
