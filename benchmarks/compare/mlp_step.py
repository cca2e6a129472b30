#!/usr/bin/python3
"""One training step (forward + backward + Adam) of an MLP 784-400-20-400-784 (ReLU hidden layers, linear
output, mean squared error against the input) at batch 128 in float: pml against PyTorch, same thread
count, in the same run. Also prints pml's GFLOP/s against Eigen's float GEMM rate on the step's largest
product, measured by the same benchmark binary.

  /usr/bin/python3 benchmarks/compare/mlp_step.py [--build build/dev] [--threads 1]

Needs python3-torch and libopenblas0-pthread (Debian). pml runs single-threaded (no OpenMP), so the
default compares one thread with one thread.
"""
import argparse
import json
import os
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--steps", type=int, default=200)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import torch  # noqa: E402

torch.set_num_threads(args.threads)
exe = os.path.join(args.build, "benchmarks", "bench_autodiff")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset first")

BATCH = 128
sizes = [784, 400, 20, 400, 784]
flops_forward = 2.0 * BATCH * sum(a * b for a, b in zip(sizes, sizes[1:]))
flops_step = 2 * flops_forward + 2.0 * BATCH * sum(a * b for a, b in zip(sizes[1:], sizes[2:]))


def torch_step_seconds():
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(BATCH, 784)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(net(x), x)
        loss.backward()
        opt.step()
        return loss

    for _ in range(20):
        step()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        best = min(best, (time.perf_counter() - t0) / args.steps)
    return best


out = subprocess.run([exe, "--benchmark_filter=mlp_step|gemm_float", "--benchmark_format=json",
                      "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                     check=True, capture_output=True, text=True).stdout
runs = {b["name"]: b for b in json.loads(out)["benchmarks"]}
pml = next(b for n, b in runs.items() if n.startswith("BM_mlp_step") and n.endswith("_median"))
gemm = next(b for n, b in runs.items() if n.startswith("BM_gemm_float") and n.endswith("_median"))
unit = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9}
pml_s = pml["real_time"] * unit[pml["time_unit"]]
torch_s = torch_step_seconds()
gemm_rate = gemm["GFLOPs"]
print(f"MLP 784-400-20-400-784, batch {BATCH}, float, Adam; threads {args.threads}; torch {torch.__version__}")
print(f"{'':10} {'ms/step':>9} {'samples/s':>10} {'GFLOP/s':>8}")
for name, s in (("pml", pml_s), ("PyTorch", torch_s)):
    print(f"{name:10} {s * 1e3:9.3f} {BATCH / s:10.0f} {flops_step / s * 1e-9:8.1f}")
print(f"Eigen float GEMM 128x784x400: {gemm_rate:.1f} GFLOP/s; pml step at {flops_step / pml_s * 1e-9 / gemm_rate:.0%} of it")
print(f"pml / PyTorch samples/s: {torch_s / pml_s:.2f}x")
