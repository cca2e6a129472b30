#!/usr/bin/python3
"""Hidden-Markov-model forward-backward against pomegranate on the same sequence, in the same run (issue 19 §3):
N = 100 000 steps, K = 8 Gaussian states (univariate), sticky transitions.

  /usr/bin/python3 benchmarks/compare/hmm.py [--build build/dev] [--threads 1]

Times (best of --repeats) pomegranate 0.14's `forward_backward` (posteriors) and `log_probability` (forward
pass) against pml's `predict_proba` and `score`; the log-likelihoods and posteriors are compared first.
Needs python3-pomegranate. pml runs one sequence, whose recursion is sequential: --threads only changes the
emission densities' loop.
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
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PML_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import pomegranate  # noqa: E402
from pomegranate import HiddenMarkovModel, NormalDistribution  # noqa: E402

exe = os.path.join(args.build, "benchmarks", "compare_hmm")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset's compare_hmm first")
rng = np.random.default_rng(0)
n, k = 100000, 8
means = np.linspace(-7, 7, k)
sds = np.full(k, 0.8)
a = np.full((k, k), 0.02 / (k - 1))
np.fill_diagonal(a, 0.98)
pi = np.full(k, 1.0 / k)
z = np.empty(n, dtype=int)
z[0] = rng.integers(k)
u = rng.random(n)
cum = np.cumsum(a, axis=1)
for t in range(1, n):
    z[t] = min(np.searchsorted(cum[z[t - 1]], u[t]), k - 1)
x = rng.normal(means[z], sds[z])

model = HiddenMarkovModel.from_matrix(a, [NormalDistribution(m, s) for m, s in zip(means, sds)], pi)
model.bake()


def best(f):
    t, out = float("inf"), None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = f()
        t = min(t, time.perf_counter() - t0)
    return t, out


t_fb, (_, log_gamma) = best(lambda: model.forward_backward(x))
t_fw, ll = best(lambda: model.log_probability(x))
order = [i for i, s in enumerate(model.states) if s.distribution is not None]  # pomegranate's state order
gamma = np.exp(log_gamma)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "data.bin")
    with open(path, "wb") as f:
        np.array([n, k], dtype=np.int64).tofile(f)
        x.tofile(f)
        pi.tofile(f)
        np.ascontiguousarray(a).tofile(f)
        means.tofile(f)
        (sds ** 2).tofile(f)
    out = subprocess.run([exe, path, str(args.repeats)], capture_output=True, text=True, check=True, env=dict(os.environ)).stdout
ours = {key: float(v) for key, v in (item.split("=") for item in out.split())}
state0 = [model.states[i].name for i in range(len(model.states))].index("s0")
if abs(ours["log_likelihood"] - ll) > 1e-9 * abs(ll):
    sys.exit(f"log-likelihoods disagree: pml {ours['log_likelihood']}, pomegranate {ll}")
if abs(ours["gamma_sum_col0"] - gamma[:, state0].sum()) > 1e-6 * n or abs(ours["gamma_first"] - gamma[0, state0]) > 1e-9:
    sys.exit(f"posteriors disagree: pml {ours['gamma_sum_col0']} {ours['gamma_first']}, pomegranate {gamma[:, state0].sum()} {gamma[0, state0]}")
print(f"threads = {args.threads}, pomegranate {pomegranate.__version__}; N = {n}, K = {k} Gaussian states; log p(x) = {ll:.6f} on both sides")
print(f"  forward-backward (posteriors): pml {ours['forward_backward_seconds'] * 1e3:.1f} ms, pomegranate {t_fb * 1e3:.1f} ms: "
      f"{t_fb / ours['forward_backward_seconds']:.1f}x")
print(f"  forward (log-likelihood): pml {ours['forward_seconds'] * 1e3:.1f} ms, pomegranate {t_fw * 1e3:.1f} ms: "
      f"{t_fw / ours['forward_seconds']:.1f}x")
