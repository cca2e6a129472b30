#!/usr/bin/python3
"""LeNet-5 training step, a DCGAN training step and an LSTM training step (input 32, hidden 128, 50 steps, batch 64) (forward + backward + Adam, softmax cross-entropy) at batch 128 in float: pml
against PyTorch, same thread count, same run. Also one convolution layer's forward + backward (LeNet's
second, 6 -> 16 channels, 5x5 on 14x14) as GFLOP/s against the float GEMM rate of a 512^3 product, for pml
(the tape's GEMM: Eigen's kernel on pml's threads) and for PyTorch (oneDNN's convolution against torch.mm).

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/lenet_step.py [--build build/dev] [--threads 1]

Needs python3-torch and libopenblas0-pthread (Debian).
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
parser.add_argument("--steps", type=int, default=50)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PML_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)
exe = os.path.join(args.build, "benchmarks", "compare_lenet")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset first")
BATCH = 128


def best_of(step, steps):
    for _ in range(5):
        step()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def torch_lenet_seconds():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(BATCH, 1, 28, 28)
    y = torch.arange(BATCH) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(net(x), y, reduction="sum")
        loss.backward()
        opt.step()
    return best_of(step, args.steps)


def torch_conv_seconds():
    conv = nn.Conv2d(6, 16, 5)
    x = torch.rand(BATCH, 6, 14, 14, requires_grad=True)

    def step():
        conv.zero_grad(set_to_none=True)
        x.grad = None
        conv(x).sum().backward()
    return best_of(step, 4 * args.steps)


def torch_gemm_rate():
    a, b = torch.rand(512, 512), torch.rand(512, 512)
    return 2 * 512 ** 3 / best_of(lambda: torch.mm(a, b), 4 * args.steps) * 1e-9


def torch_lstm_seconds():
    torch.manual_seed(0)
    lstm = nn.LSTM(32, 128, batch_first=True)
    opt = torch.optim.Adam(lstm.parameters(), lr=1e-3)
    x = torch.rand(64, 50, 32)

    def step():
        opt.zero_grad(set_to_none=True)
        y, _ = lstm(x)
        loss = (y ** 2).mean(dim=(0, 2)).sum()  # the mean square of each step's hidden state, summed over steps
        loss.backward()
        opt.step()
    return best_of(step, args.steps)


def torch_dcgan_seconds():
    """The DCGAN of pml::DCGAN (64/64 features, noise 100, 28 x 28) in PyTorch: one D step and one G step."""
    torch.manual_seed(0)
    ngf = ndf = 64
    g = nn.Sequential(nn.Linear(100, 2 * ngf * 49), nn.Unflatten(1, (2 * ngf, 7, 7)), nn.BatchNorm2d(2 * ngf), nn.ReLU(),
                      nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(),
                      nn.ConvTranspose2d(ngf, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(1, ndf, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ndf),
                      nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * ndf * 49, 1))
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(64, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(64, 1), torch.zeros(64, 1)
    bce = nn.functional.binary_cross_entropy_with_logits

    def step():
        fake = g(torch.randn(64, 100))
        d_opt.zero_grad(set_to_none=True)
        (bce(d(real), ones) + bce(d(fake.detach()), zeros)).backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        bce(d(fake), ones).backward()
        g_opt.step()
    return best_of(step, max(10, args.steps // 2))


out = subprocess.run([exe, "--benchmark_format=json", "--benchmark_min_time=2", "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                     check=True, capture_output=True, text=True).stdout
runs = {b["name"]: b for b in json.loads(out)["benchmarks"] if b["name"].endswith("_median")}
unit = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def seconds(prefix):
    b = next(b for n, b in runs.items() if n.startswith(prefix))
    return b["real_time"] * unit[b["time_unit"]]


pml_step, pml_conv = seconds("BM_lenet_step_float"), seconds("BM_conv_layer_float")
pml_gemm = next(b for n, b in runs.items() if n.startswith("BM_gemm_float_512"))["GFLOPs"]
torch_step, torch_conv, torch_gemm = torch_lenet_seconds(), torch_conv_seconds(), torch_gemm_rate()
conv_flops = 3 * 2.0 * BATCH * 10 * 10 * 16 * 6 * 25
print(f"LeNet-5 step, batch {BATCH}, float, Adam; threads {args.threads}; torch {torch.__version__}")
print(f"{'':10} {'ms/step':>9} {'samples/s':>10}  conv layer GFLOP/s  (% of own GEMM rate)  GEMM 512^3 GFLOP/s")
for name, s, c, g in (("pml", pml_step, pml_conv, pml_gemm), ("PyTorch", torch_step, torch_conv, torch_gemm)):
    rate = conv_flops / c * 1e-9
    print(f"{name:10} {s * 1e3:9.3f} {BATCH / s:10.0f}  {rate:18.1f}  {rate / g:20.0%}  {g:18.1f}")
print(f"pml / PyTorch samples/s: {torch_step / pml_step:.2f}x")
for mode, arg in (("weights", 0), ("local", 1), ("flipout", 3)):
    b = runs[f"BM_bayesian_conv_layer_float/{arg}_median"]
    print(f"BayesianConv2d layer ({mode}) forward + backward: {b['real_time'] * unit[b['time_unit']] * 1e6:.0f} us, "
          f"{b['real_time'] * unit[b['time_unit']] / pml_conv:.2f}x the plain Conv2d's {pml_conv * 1e6:.0f} us (goal <= 2.5x)")
pml_lstm, torch_lstm = seconds("BM_lstm_step_float"), torch_lstm_seconds()
print(f"LSTM step (input 32, hidden 128, 50 steps, batch 64, Adam): pml {pml_lstm * 1e3:.2f} ms, torch.nn.LSTM {torch_lstm * 1e3:.2f} ms: "
      f"pml / PyTorch {torch_lstm / pml_lstm:.2f}x")
pml_dcgan, torch_dcgan = seconds("BM_dcgan_step_float"), torch_dcgan_seconds()
print(f"DCGAN step (64/64 features, noise 100, 28x28, batch 64, D and G Adam steps): pml {pml_dcgan * 1e3:.2f} ms, PyTorch {torch_dcgan * 1e3:.2f} ms: "
      f"pml / PyTorch {torch_dcgan / pml_dcgan:.2f}x (goal >= 1.0x)")
