#!/usr/bin/python3
"""Batched multivariate-normal log-density: pml vs scipy.stats.multivariate_normal.logpdf on the same
data, in the same run, plus pml against the floor of one N x D x D matrix product.

  /usr/bin/python3 benchmarks/compare/mvn_logpdf.py [--build build/dev] [--n 100000] [--d 32] [--threads 1]

Needs python3-scipy and libopenblas0-pthread (Debian). The data are made here, written to a binary
file, and read by build/dev/benchmarks/compare_mvn_logpdf, which times pml and writes its answers back;
the two answers are compared before any time is reported.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--n", type=int, default=100000)
parser.add_argument("--d", type=int, default=32)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--repeats", type=int, default=7)
args = parser.parse_args()

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402  (after the thread settings)
import scipy  # noqa: E402
from scipy import stats  # noqa: E402

rng = np.random.default_rng(0)
n, d = args.n, args.d
a = rng.standard_normal((d, d))
cov = a @ a.T / d + np.eye(d)
mean = rng.standard_normal(d)
x = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T + mean

best_scipy = float("inf")
for _ in range(args.repeats):
    t0 = time.perf_counter()
    ref = stats.multivariate_normal.logpdf(x, mean, cov)
    best_scipy = min(best_scipy, time.perf_counter() - t0)

exe = os.path.join(args.build, "benchmarks", "compare_mvn_logpdf")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset first (cmake --workflow --preset test)")
with tempfile.TemporaryDirectory() as tmp:
    data_path, out_path = os.path.join(tmp, "data.bin"), os.path.join(tmp, "out.bin")
    with open(data_path, "wb") as f:
        np.array([n, d], dtype=np.int64).tofile(f)
        mean.astype(np.float64).tofile(f)
        cov.astype(np.float64).tofile(f)  # row-major (symmetric anyway)
        x.astype(np.float64).tofile(f)  # row-major N x D
    proc = subprocess.run([exe, data_path, out_path, str(args.repeats)], capture_output=True, text=True, check=True,
                          env=dict(os.environ))
    ours = np.fromfile(out_path, dtype=np.float64)
timings = dict(line.split("=") for line in proc.stdout.split())
pml_s, gemm_s = float(timings["pml_seconds"]), float(timings["gemm_seconds"])
err = np.max(np.abs(ours - ref) / np.maximum(1.0, np.abs(ref)))
if not err < 1e-9:
    sys.exit(f"pml and scipy disagree: max relative difference {err:g}")

print(f"MultivariateNormal log_prob, N = {n}, D = {d}, threads = {args.threads}, scipy {scipy.__version__}, "
      f"numpy {np.__version__}")
print(f"  scipy.stats.multivariate_normal.logpdf: {best_scipy * 1e3:9.2f} ms")
print(f"  pml MultivariateNormal::log_prob:       {pml_s * 1e3:9.2f} ms   ({best_scipy / pml_s:.1f}x faster than scipy)")
print(f"  one N x D x D GEMM (Eigen), the floor:  {gemm_s * 1e3:9.2f} ms   (pml = {pml_s / gemm_s:.2f}x the GEMM time)")
print(f"  max relative difference pml vs scipy: {err:.2e}")
