#!/usr/bin/python3
"""Clustering against scikit-learn on the same data, same starting parameters, same iterations:
GaussianMixture full and diagonal (N = 100 000, D = 32, K = 16, 20 EM iterations) and KMeans Lloyd
(50 iterations at most), each timed in the same run, with GFLOP/s against the machine's GEMM rate at
the same thread count (OpenBLAS through numpy, and Eigen's split on pml's threads); the float variants
of GaussianMixture and KMeans beside the double ones (scikit-learn has none: its double time is shown).

  /usr/bin/python3 benchmarks/compare/cluster.py [--build build/dev] [--threads 1] [--n 100000]

Needs python3-sklearn and libopenblas0-pthread. Both sides start from the same means (random data rows),
uniform weights and identity covariances; scikit-learn's init_params="random_from_data" keeps its k-means
start out of the timing, since the explicit parameters override it. The final objectives are compared.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--n", type=int, default=100000)
parser.add_argument("--d", type=int, default=32)
parser.add_argument("--k", type=int, default=16)
parser.add_argument("--repeats", type=int, default=2)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)
n, d, k = args.n, args.d, args.k
rng = np.random.default_rng(0)
centres = rng.normal(scale=3.0, size=(k, d))
labels = rng.integers(0, k, size=n)
x = centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[labels]
means0 = x[rng.choice(n, size=k, replace=False)]

exe = os.path.join(args.build, "benchmarks", "compare_cluster")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset first")


def best(f, repeats):
    t = float("inf")
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        t = min(t, time.perf_counter() - t0)
    return t, out


def run_pml(data_path, mode, iterations, scalar="double"):
    # pml's thread count: PML_NUM_THREADS (the default would also follow OMP_NUM_THREADS, set above)
    env = dict(os.environ, PML_NUM_THREADS=str(args.threads))
    out = subprocess.run([exe, data_path, mode, str(iterations), str(args.repeats), scalar], capture_output=True, text=True,
                         check=True, env=env).stdout
    return {key: float(v) for key, v in (f.split("=") for f in out.split())}


def blas_gemm_gflops(dtype):
    """The machine's GEMM rate at this thread count: numpy's (OpenBLAS) 2048^3 product, best of 3."""
    a = np.random.default_rng(1).standard_normal((2048, 2048)).astype(dtype)
    b = a.copy()
    t, _ = best(lambda: a @ b, 3)
    return 2 * 2048 ** 3 / t / 1e9


rows = []
with tempfile.TemporaryDirectory() as tmp:
    data_path = os.path.join(tmp, "data.bin")
    with open(data_path, "wb") as f:
        np.array([n, d, k], dtype=np.int64).tofile(f)
        x.astype(np.float64).tofile(f)
        means0.astype(np.float64).tofile(f)
    for mode, cov_type in (("gmm_full", "full"), ("gmm_diag", "diag")):
        prec = np.array([np.eye(d)] * k) if cov_type == "full" else np.ones((k, d))
        gm = GaussianMixture(n_components=k, covariance_type=cov_type, max_iter=20, tol=0.0,
                             init_params="random_from_data", weights_init=np.full(k, 1.0 / k), means_init=means0,
                             precisions_init=prec, random_state=0)
        t_sk, fitted = best(lambda: gm.fit(x), args.repeats)
        ours = run_pml(data_path, mode, 20)
        if not abs(ours["objective"] - fitted.lower_bound_) <= 1e-6 * abs(fitted.lower_bound_):
            sys.exit(f"{mode}: pml and scikit-learn disagree: {ours['objective']} vs {fitted.lower_bound_}")
        flops = 20 * ((2 * k * n * d * d + 4 * n * d * k) if cov_type == "full" else 8 * n * d * k)
        rows.append((f"GaussianMixture {cov_type}, 20 EM iterations", ours, t_sk, flops, fitted.n_iter_))
        single = run_pml(data_path, mode, 20, "float")  # scikit-learn has no float mixture: pml's float time beside it
        if not abs(single["objective"] - fitted.lower_bound_) <= 1e-3 * abs(fitted.lower_bound_):
            sys.exit(f"{mode} float: pml and scikit-learn disagree: {single['objective']} vs {fitted.lower_bound_}")
        rows.append((f"GaussianMixture {cov_type} in float, 20 EM iterations", single, t_sk, flops, fitted.n_iter_))
    from sklearn.mixture import BayesianGaussianMixture
    bg = BayesianGaussianMixture(n_components=k, covariance_type="full", max_iter=20, tol=0.0, random_state=0)
    t_sk, fitted = best(lambda: bg.fit(x), args.repeats)
    ours = run_pml(data_path, "vgmm_full", 20)
    # the two lower bounds differ by constants, so only the iteration counts are checked here
    if int(ours["iterations"]) != 20 or fitted.n_iter_ != 20:
        sys.exit("vgmm: both sides must run 20 iterations")
    rows.append(("VariationalGaussianMixture full vs BayesianGaussianMixture, k-means start + 20 iterations", ours, t_sk,
                 20 * (2 * k * n * d * d + 4 * n * d * k), fitted.n_iter_))
    km = KMeans(n_clusters=k, init=means0, n_init=1, max_iter=50, tol=0.0, algorithm="lloyd")
    t_sk, fitted = best(lambda: km.fit(x), args.repeats)
    ours = run_pml(data_path, "kmeans", 50)
    if not abs(ours["objective"] - fitted.inertia_) <= 1e-6 * fitted.inertia_:
        sys.exit(f"kmeans: pml and scikit-learn disagree: {ours['objective']} vs {fitted.inertia_}")
    rows.append((f"KMeans Lloyd ({fitted.n_iter_} sklearn / {int(ours['iterations'])} pml iterations)", ours, t_sk,
                 int(ours["iterations"]) * 2 * n * d * k, fitted.n_iter_))
    single = run_pml(data_path, "kmeans", 50, "float")
    if not abs(single["objective"] - fitted.inertia_) <= 1e-3 * fitted.inertia_:
        sys.exit(f"kmeans float: pml and scikit-learn disagree: {single['objective']} vs {fitted.inertia_}")
    rows.append((f"KMeans Lloyd in float ({int(single['iterations'])} pml iterations)", single, t_sk,
                 int(single["iterations"]) * 2 * n * d * k, fitted.n_iter_))
blas = {"double": blas_gemm_gflops(np.float64), "float": blas_gemm_gflops(np.float32)}

print(f"N = {n}, D = {d}, K = {k}, threads = {args.threads}, scikit-learn {sklearn.__version__}, numpy {np.__version__}")
print(f"  GEMM at {args.threads} thread(s): OpenBLAS (numpy) double {blas['double']:.1f} GFLOP/s, float {blas['float']:.1f} GFLOP/s")
for name, ours, t_sk, flops, _ in rows:
    gflops = flops / ours["seconds"] / 1e9
    machine = blas["float" if "float" in name else "double"]
    print(f"  {name}: pml {ours['seconds']:.3f} s, scikit-learn {t_sk:.3f} s, {t_sk / ours['seconds']:.1f}x faster; "
          f"pml {gflops:.1f} GFLOP/s = {gflops / machine * 100:.0f}% of OpenBLAS's GEMM rate, "
          f"{gflops / ours['gemm_gflops'] * 100:.0f}% of Eigen's ({ours['gemm_gflops']:.1f} GFLOP/s on {int(ours['threads'])} thread(s))")
