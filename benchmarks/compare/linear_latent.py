#!/usr/bin/python3
"""BayesianRidge-equivalent fit (N = 100 000, D = 200) and PCA / probabilistic PCA closed form
(N = 100 000, D = 256 -> 16) against scikit-learn on the same data, in the same run.

  /usr/bin/python3 benchmarks/compare/linear_latent.py [--build build/dev] [--threads 1]

Needs python3-sklearn and libopenblas0-pthread. scikit-learn's PCA runs with its default solver
("auto": randomized SVD at this size) and with svd_solver="full"; the answers are compared first.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--repeats", type=int, default=2)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import BayesianRidge  # noqa: E402

exe = os.path.join(args.build, "benchmarks", "compare_linear_latent")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset first")
rng = np.random.default_rng(0)


def best(f):
    t = float("inf")
    out = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = f()
        t = min(t, time.perf_counter() - t0)
    return t, out


def run_pml(x, y, mode, m):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.bin")
        with open(path, "wb") as f:
            np.array([x.shape[0], x.shape[1], m], dtype=np.int64).tofile(f)
            np.ascontiguousarray(x, dtype=np.float64).tofile(f)
            np.ascontiguousarray(y, dtype=np.float64).tofile(f)
        out = subprocess.run([exe, path, mode, str(args.repeats)], capture_output=True, text=True, check=True,
                             env=dict(os.environ)).stdout
    return {k: float(v) for k, v in (f.split("=") for f in out.split())}


print(f"threads = {args.threads}, scikit-learn {sklearn.__version__}, numpy {np.__version__}")
# BayesianRidge, N = 100 000, D = 200
n, d = 100000, 200
x = rng.normal(size=(n, d))
y = x @ rng.normal(size=d) + rng.normal(size=n)
t_sk, br = best(lambda: BayesianRidge().fit(x, y))
ours = run_pml(x, y, "blr", 0)
if abs(ours["a"] - br.alpha_) > 1e-6 * br.alpha_ or abs(ours["b"] - np.linalg.norm(br.coef_)) > 1e-6 * np.linalg.norm(br.coef_):
    sys.exit(f"BayesianRidge disagrees: {ours} vs alpha_ {br.alpha_}, |coef| {np.linalg.norm(br.coef_)}")
flops = n * d * d + 2 * n * d
print(f"  BayesianRidge fit, N = {n}, D = {d}: pml {ours['seconds']:.3f} s, scikit-learn {t_sk:.3f} s, "
      f"{t_sk / ours['seconds']:.1f}x faster; pml {flops / ours['seconds'] / 1e9:.1f} GFLOP/s = "
      f"{flops / ours['seconds'] / 1e9 / ours['gemm_gflops'] * 100:.0f}% of the GEMM rate ({ours['gemm_gflops']:.1f} GFLOP/s)")
# PCA / PPCA, N = 100 000, D = 256 -> 16
n, d, m = 100000, 256, 16
x = rng.normal(size=(n, m)) @ rng.normal(size=(m, d)) + 0.5 * rng.normal(size=(n, d))
y = np.zeros(n)
t_auto, pca_auto = best(lambda: PCA(n_components=m).fit(x))
t_full, pca_full = best(lambda: PCA(n_components=m, svd_solver="full").fit(x))
ours = run_pml(x, y, "pca", m)
if abs(ours["a"] - pca_full.explained_variance_.sum()) > 1e-8 * pca_full.explained_variance_.sum() or \
        abs(ours["b"] - pca_full.noise_variance_) > 1e-8 * pca_full.noise_variance_:
    sys.exit(f"PCA disagrees: {ours} vs {pca_full.explained_variance_.sum()}, {pca_full.noise_variance_}")
flops = n * d * d
print(f"  PCA fit, N = {n}, D = {d} -> {m}: pml {ours['seconds']:.3f} s, scikit-learn auto (randomized) {t_auto:.3f} s "
      f"({t_auto / ours['seconds']:.1f}x), full SVD {t_full:.3f} s ({t_full / ours['seconds']:.1f}x); pml "
      f"{flops / ours['seconds'] / 1e9:.1f} GFLOP/s = {flops / ours['seconds'] / 1e9 / ours['gemm_gflops'] * 100:.0f}% of GEMM")
ppca = run_pml(x, y, "ppca", m)
if abs(ppca["a"] - pca_full.noise_variance_) > 1e-8 * pca_full.noise_variance_:
    sys.exit("PPCA noise variance disagrees with scikit-learn's PCA")
print(f"  ProbabilisticPCA closed form, same data: pml {ppca['seconds']:.3f} s, scikit-learn PCA auto {t_auto:.3f} s "
      f"({t_auto / ppca['seconds']:.1f}x), full {t_full:.3f} s ({t_full / ppca['seconds']:.1f}x)")
