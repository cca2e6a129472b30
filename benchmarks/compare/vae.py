#!/usr/bin/python3
"""VAE 784-400-20-400-784 on Fashion-MNIST (Kingma & Welling 2013's recipe: Bernoulli decoder on the grey
values, analytic KL, one sample, batch 128, Adam 1e-3, float), pml against PyTorch in the same run with the
same thread count: training samples/s and the test ELBO after the same number of epochs.

  /usr/bin/python3 benchmarks/compare/vae.py [--build build/dev] [--threads 1] [--epochs 3] [--seed 0]

Needs python3-torch, libopenblas0-pthread and dataset-fashion-mnist (Debian). Both sides use ReLU hidden
layers, PyTorch's default Linear initialisation on its side and pml's (He for ReLU layers, Xavier for the
others) on ours.
"""
import argparse
import gzip
import os
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
exe = os.path.join(args.build, "benchmarks", "compare_vae")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build the dev preset first")
root = "/usr/share/datasets/fashion-mnist"


def images(name):
    with gzip.open(os.path.join(root, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0


train = torch.from_numpy(images("train-images-idx3-ubyte.gz"))
test = torch.from_numpy(images("t10k-images-idx3-ubyte.gz"))

torch.manual_seed(args.seed)
enc = torch.nn.Sequential(torch.nn.Linear(784, 400), torch.nn.ReLU(), torch.nn.Linear(400, 40))
dec = torch.nn.Sequential(torch.nn.Linear(20, 400), torch.nn.ReLU(), torch.nn.Linear(400, 784))
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)


def neg_elbo(x):
    h = enc(x)
    mu, logvar = h[:, :20], h[:, 20:]
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    rec = torch.nn.functional.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
    return rec + kl


torch_seconds = 0.0
for epoch in range(args.epochs):
    t0 = time.perf_counter()
    perm = torch.randperm(train.shape[0])
    for i in range(0, train.shape[0], 128):
        xb = train[perm[i:i + 128]]
        opt.zero_grad(set_to_none=True)
        loss = neg_elbo(xb).mean()
        loss.backward()
        opt.step()
    torch_seconds += time.perf_counter() - t0
with torch.no_grad():
    torch_test = -neg_elbo(test).mean().item()
torch_rate = args.epochs * train.shape[0] / torch_seconds

out = subprocess.run([exe, str(args.epochs), str(args.seed)], check=True, capture_output=True, text=True).stdout
vals = dict(line.split(" ", 1) for line in out.strip().splitlines() if not line.startswith("epoch"))
pml_rate = float(vals["samples_per_second"])
pml_test = float(vals["test_elbo"])
print(f"VAE 784-400-20-400-784 on Fashion-MNIST, {args.epochs} epochs, batch 128, Adam 1e-3, float, threads {args.threads}")
print(f"{'':8} {'samples/s':>10} {'test ELBO (nats/image)':>24}")
print(f"{'pml':8} {pml_rate:10.0f} {pml_test:24.2f}")
print(f"{'PyTorch':8} {torch_rate:10.0f} {torch_test:24.2f}")
print(f"pml / PyTorch samples/s: {pml_rate / torch_rate:.2f}x; test ELBO difference {pml_test - torch_test:+.2f} nats")
