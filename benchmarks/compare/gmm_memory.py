#!/usr/bin/python3
"""Peak memory of a GaussianMixture fit (full covariances), pml beside scikit-learn, against the size of
the data: N = 1 000 000, D = 32, K = 16 by default, 5 EM iterations from the same starting parameters.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/gmm_memory.py \\
      [--build build/dev] [--n 1000000] [--threads 2]

Each side runs in its own process under `/usr/bin/time -v` (maximum resident set size); each process
holds the data once as doubles (N x D x 8 bytes), so "peak - data" is what the fit itself added, with the
process's baseline (the interpreter and its libraries, or the C++ program) inside it.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--n", type=int, default=1000000)
parser.add_argument("--d", type=int, default=32)
parser.add_argument("--k", type=int, default=16)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
           PML_NUM_THREADS=str(args.threads))

import numpy as np  # noqa: E402

n, d, k = args.n, args.d, args.k
exe = os.path.join(args.build, "benchmarks", "gmm_memory")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset first")


def peak_kib(command, check=True):
    out = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True, env=env)
    if check and out.returncode != 0:
        sys.exit(f"{command[0]} failed: {out.stderr[-2000:]}")
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "data.bin")
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[labels]
    with open(path, "wb") as f:
        np.array([n, d, k], dtype=np.int64).tofile(f)
        x.astype(np.float64).tofile(f)
        x[rng.choice(n, size=k, replace=False)].astype(np.float64).tofile(f)
    del x
    sk = f"""
import numpy as np, warnings
from sklearn.mixture import GaussianMixture
from sklearn.exceptions import ConvergenceWarning
warnings.simplefilter("ignore", ConvergenceWarning)
with open({path!r}, "rb") as f:
    n, d, k = np.fromfile(f, dtype=np.int64, count=3)
    x = np.fromfile(f, dtype=np.float64, count=n * d).reshape(n, d)
    means0 = np.fromfile(f, dtype=np.float64, count=k * d).reshape(k, d)
GaussianMixture(n_components=k, covariance_type="full", max_iter=5, tol=0.0, init_params="random_from_data",
                weights_init=np.full(k, 1.0 / k), means_init=means0, precisions_init=np.array([np.eye(d)] * k),
                random_state=0).fit(x)
"""
    ours_given = peak_kib([exe, path, "given", "5"])
    ours_kmeans = peak_kib([exe, path, "kmeans", "5"])
    baseline = peak_kib([exe, path + ".missing", "given", "5"], check=False)
    theirs = peak_kib([sys.executable, "-c", sk])
    sk_kmeans = peak_kib([sys.executable, "-c", sk.replace('init_params="random_from_data"', 'init_params="kmeans"')
                          .replace("weights_init=np.full(k, 1.0 / k), means_init=means0, precisions_init=np.array([np.eye(d)] * k),", "")])
data_mib = n * d * 8 / 2 ** 20
print(f"GaussianMixture full, N = {n}, D = {d}, K = {k}, 5 EM iterations, {args.threads} thread(s); data {data_mib:.0f} MiB")
print(f"  (pml's program without data or fit, its baseline: {baseline / 1024:.1f} MiB, inside the figures below)")
for name, kib in (("pml, given starting parameters", ours_given), ("pml, default k-means initialisation", ours_kmeans),
                  ("scikit-learn, given starting parameters", theirs), ("scikit-learn, default k-means initialisation", sk_kmeans)):
    peak = kib / 1024
    print(f"  {name}: peak {peak:.1f} MiB = data + {peak - data_mib:.1f} MiB ({(peak / data_mib - 1) * 100:.1f}% over the data)")
