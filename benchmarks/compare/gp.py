#!/usr/bin/python3
"""Exact Gaussian-process regression against scikit-learn on the same data, in the same run (issue 19 §3):
N = 2 000 training rows, D = 3, kernel constant * rbf (ARD) + white, normalize_y, the same restarts.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/gp.py [--build build/dev] [--threads 1]

Times (best of --repeats): the whole fit with hyperparameter optimisation (L-BFGS-B on both sides; the number
of log-marginal-likelihood evaluations each made is printed, and pml's fitted log marginal likelihood must be
at least scikit-learn's), one log marginal likelihood with its gradient at given hyperparameters (the cost of
one optimiser step; the values are compared), and the predictive mean and standard deviation at 1 000 rows.
Needs python3-sklearn and libopenblas0-pthread.
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
parser.add_argument("--n", type=int, default=2000)
parser.add_argument("--restarts", type=int, default=2)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
os.environ["PML_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: E402
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel  # noqa: E402

exe = os.path.join(args.build, "benchmarks", "compare_gp")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset's compare_gp first")
rng = np.random.default_rng(0)
n, d, m = args.n, 3, 1000
x = rng.uniform(-3, 3, size=(n, d))
y = np.sin(x[:, 0]) * np.cos(x[:, 1]) + 0.3 * x[:, 2] + 0.1 * rng.standard_normal(n)
q = rng.uniform(-3, 3, size=(m, d))
pml_kernel = "1 * rbf([1, 1, 1]) + white(0.1)"


def sk_kernel():
    return ConstantKernel(1.0) * RBF([1.0, 1.0, 1.0]) + WhiteKernel(0.1)


def best(f):
    t, out = float("inf"), None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = f()
        t = min(t, time.perf_counter() - t0)
    return t, out


def counted_fit():
    gp = GaussianProcessRegressor(kernel=sk_kernel(), n_restarts_optimizer=args.restarts, normalize_y=True, random_state=0)
    calls = [0]
    inner = gp.log_marginal_likelihood

    def wrapped(*a, **k):
        calls[0] += 1
        return inner(*a, **k)

    gp.log_marginal_likelihood = wrapped
    gp.fit(x, y)
    return gp, calls[0]


t_fit, (gp, sk_evals) = best(counted_fit)
held = GaussianProcessRegressor(kernel=sk_kernel(), optimizer=None, normalize_y=True).fit(x, y)
theta = held.kernel_.theta
t_lml, (lml, grad) = best(lambda: held.log_marginal_likelihood(theta, eval_gradient=True))
t_pred, (mean, std) = best(lambda: held.predict(q, return_std=True))

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "data.bin")
    with open(path, "wb") as f:
        np.array([n, d, m], dtype=np.int64).tofile(f)
        np.ascontiguousarray(x).tofile(f)
        np.ascontiguousarray(y).tofile(f)
        np.ascontiguousarray(q).tofile(f)
    out = subprocess.run([exe, path, pml_kernel, str(args.restarts), str(args.repeats)], capture_output=True, text=True,
                         check=True, env=dict(os.environ))
ours = {k: float(v) for k, v in (f.split("=") for f in out.stdout.split())}

if abs(ours["lml"] - lml) > 1e-8 * abs(lml) or abs(ours["grad_norm"] - np.linalg.norm(grad)) > 1e-6 * np.linalg.norm(grad):
    sys.exit(f"log marginal likelihoods disagree: pml {ours['lml']} |g| {ours['grad_norm']}, scikit-learn {lml} |g| {np.linalg.norm(grad)}")
if abs(ours["mean_sum"] - mean.sum()) > 1e-8 * np.abs(mean).sum() or abs(ours["std_sum"] - std.sum()) > 1e-8 * std.sum():
    sys.exit(f"predictions disagree: pml {ours['mean_sum']} {ours['std_sum']}, scikit-learn {mean.sum()} {std.sum()}")
sk_lml = gp.log_marginal_likelihood_value_
print(f"threads = {args.threads}, scikit-learn {sklearn.__version__}, numpy {np.__version__}; N = {n}, D = {d}, "
      f"kernel {pml_kernel}, normalize_y, {args.restarts} restarts")
print(f"  fit (L-BFGS-B): pml {ours['fit_seconds']:.3f} s ({int(ours['evaluations'])} evaluations, log ML {ours['fitted_lml']:.6f}), "
      f"scikit-learn {t_fit:.3f} s ({sk_evals} evaluations, log ML {sk_lml:.6f}): {t_fit / ours['fit_seconds']:.2f}x"
      f"{'' if ours['fitted_lml'] >= sk_lml - 1e-6 * abs(sk_lml) else '  (pml reached a LOWER log marginal likelihood)'}")
print(f"  one log ML + gradient: pml {ours['lml_seconds'] * 1e3:.1f} ms, scikit-learn {t_lml * 1e3:.1f} ms: "
      f"{t_lml / ours['lml_seconds']:.2f}x")
print(f"  predict mean + std at {m} rows: pml {ours['predict_seconds'] * 1e3:.1f} ms, scikit-learn {t_pred * 1e3:.1f} ms: "
      f"{t_pred / ours['predict_seconds']:.2f}x")
