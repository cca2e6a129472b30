#!/usr/bin/python3
"""VAE 784-400-20-400-784 on Fashion-MNIST (Kingma & Welling 2013's recipe: Bernoulli decoder on the grey
values, analytic KL, one sample, batch 128, Adam 1e-3, float), pml against PyTorch in the same run with the
same thread count, over several seeds: training samples/s, the test ELBO after the same number of epochs
and, with --iwae-k, the importance-weighted bound (Burda et al. 2016) on the first --iwae-n test images.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/vae.py \\
      [--build build/dev] [--threads 1] [--epochs 3] [--seeds 10] [--init pytorch] [--shared] \\
      [--iwae-k 5000] [--iwae-n 1000]

--init: the initialisation of both sides (issue 15 §1), one of nn::Init's names: pytorch (torch.nn.Linear's
  default, weights and bias U(±1/√fan_in)), automatic (pml's default: He normal for the ReLU hidden layers,
  Xavier uniform for the others, zero biases), xavier_uniform, xavier_normal, he_uniform, he_normal.
  Each side draws its own initial weights from that scheme with its own generator.
--shared: the PyTorch side starts from pml's initial parameters (written by compare_vae --init-out) and
  both sides visit the minibatches in the same order (torch.randperm from the seed, passed to compare_vae
  --order); only the noise draws and the floating-point evaluation order still differ.

Prints one line per seed and side, then the mean ± standard error over the seeds of each column and the
difference pml − PyTorch. Needs python3-torch, libopenblas0-pthread and dataset-fashion-mnist (Debian).
"""
import argparse
import gzip
import math
import os
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. seeds-1 (or --seed for one)")
parser.add_argument("--seed", type=int, default=None)
parser.add_argument("--init", default="pytorch")
parser.add_argument("--shared", action="store_true")
parser.add_argument("--iwae-k", type=int, default=0)
parser.add_argument("--iwae-n", type=int, default=1000)
parser.add_argument("--sides", default="pml,torch")
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


def init_linear(layer, scheme, hidden):
    """One nn.Linear initialised as pml's nn::Init `scheme` does (include/pml/nn/init.hpp)."""
    fan_out, fan_in = layer.weight.shape
    if scheme == "automatic":
        scheme = "he_normal" if hidden else "xavier_uniform"
    with torch.no_grad():
        if scheme == "pytorch":
            return  # torch.nn.Linear's own reset_parameters: weight and bias U(±1/√fan_in)
        if scheme == "xavier_uniform":
            torch.nn.init.xavier_uniform_(layer.weight)
        elif scheme == "xavier_normal":
            torch.nn.init.xavier_normal_(layer.weight)
        elif scheme == "he_uniform":
            torch.nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        elif scheme == "he_normal":
            torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        else:
            sys.exit(f"unknown --init {scheme}")
        layer.bias.zero_()


def read_pml_parameters(path, layers):
    """Loads compare_vae --init-out's file into the layers (pml: fan_in x fan_out column-major = out x in row-major)."""
    raw = open(path, "rb").read()
    pos = 0
    with torch.no_grad():
        for layer in layers:
            for p in (layer.weight, layer.bias):
                rows, cols = np.frombuffer(raw, np.int64, 2, pos)
                pos += 16
                values = np.frombuffer(raw, np.float32, rows * cols, pos)
                pos += 4 * rows * cols
                p.copy_(torch.from_numpy(values.copy()).reshape(p.shape))
    assert pos == len(raw), "parameter file longer than the network"


def run_torch(seed, order, init_file):
    torch.manual_seed(seed)
    enc1, enc2 = torch.nn.Linear(784, 400), torch.nn.Linear(400, 40)
    dec1, dec2 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)
    if init_file:
        read_pml_parameters(init_file, [enc1, enc2, dec1, dec2])
    else:
        for layer, hidden in ((enc1, True), (enc2, False), (dec1, True), (dec2, False)):
            init_linear(layer, args.init, hidden)
    enc = torch.nn.Sequential(enc1, torch.nn.ReLU(), enc2)
    dec = torch.nn.Sequential(dec1, torch.nn.ReLU(), dec2)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)

    def neg_elbo(x):
        h = enc(x)
        mu, logvar = h[:, :20], h[:, 20:]
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = torch.nn.functional.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        return rec + kl

    seconds = 0.0
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        perm = order[epoch] if order is not None else torch.randperm(train.shape[0])
        for i in range(0, train.shape[0], 128):
            xb = train[perm[i:i + 128]]
            opt.zero_grad(set_to_none=True)
            loss = neg_elbo(xb).mean()
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t0
    result = {"samples_per_second": args.epochs * train.shape[0] / seconds}
    with torch.no_grad():
        result["test_elbo"] = -neg_elbo(test).mean().item()
        if args.iwae_k > 0:
            x = test[:args.iwae_n]
            h = enc(x)
            mu, logvar = h[:, :20], h[:, 20:]
            sigma = torch.exp(0.5 * logvar)
            logw = []
            chunk = 50
            for j in range(0, args.iwae_k, chunk):
                c = min(chunk, args.iwae_k - j)
                eps = torch.randn(c, *mu.shape)
                z = mu + sigma * eps
                logpx = -torch.nn.functional.binary_cross_entropy_with_logits(
                    dec(z.reshape(-1, 20)), x.repeat(c, 1), reduction="none").sum(1).reshape(c, -1)
                logw.append(logpx + 0.5 * (eps.pow(2) - z.pow(2) + logvar).sum(2))
            logw = torch.cat(logw, 0)
            result["test_iwae"] = (torch.logsumexp(logw.double(), 0) - math.log(args.iwae_k)).mean().item()
    return result


def run_pml(seed, order_file, init_file):
    cmd = [exe, "--epochs", str(args.epochs), "--seed", str(seed), "--init", args.init,
           "--iwae-k", str(args.iwae_k), "--iwae-n", str(args.iwae_n)]
    if order_file:
        cmd += ["--order", order_file]
    if init_file:
        cmd += ["--init-out", init_file]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (line.split(" ", 1) for line in out.strip().splitlines() if not line.startswith("epoch"))}


seeds = [args.seed] if args.seed is not None else list(range(args.seeds))
sides = args.sides.split(",")
columns = ["samples_per_second", "test_elbo"] + (["test_iwae"] if args.iwae_k > 0 else [])
results = {side: [] for side in sides}
mode = "shared initial parameters and minibatch order" if args.shared else f"init {args.init} on each side"
print(f"VAE 784-400-20-400-784 on Fashion-MNIST, {args.epochs} epochs, batch 128, Adam 1e-3, float, "
      f"threads {args.threads}, {mode}" + (f", IWAE k = {args.iwae_k} on the first {args.iwae_n} test images" if args.iwae_k else ""))
print(f"{'seed':>4} {'side':8} " + " ".join(f"{c:>18}" for c in columns), flush=True)
with tempfile.TemporaryDirectory() as tmp:
    for seed in seeds:
        order = order_file = init_file = None
        if args.shared:
            g = torch.Generator().manual_seed(10_000 + seed)
            order = [torch.randperm(train.shape[0], generator=g) for _ in range(args.epochs)]
            order_file = os.path.join(tmp, "order.bin")
            np.stack([o.numpy().astype(np.int32) for o in order]).tofile(order_file)
            init_file = os.path.join(tmp, "init.bin")
        for side in sides:
            r = run_pml(seed, order_file, init_file) if side == "pml" else run_torch(seed, order, init_file)
            results[side].append(r)
            print(f"{seed:>4} {side:8} " + " ".join(f"{r[c]:18.3f}" for c in columns), flush=True)


def mean_se(values):
    v = np.asarray(values, float)
    return v.mean(), (v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan"))


print(f"\nmean ± standard error over {len(seeds)} seeds")
for side in sides:
    print(f"{side:8} " + "  ".join(f"{c} {m:.2f} ± {s:.2f}" for c in columns for m, s in [mean_se([r[c] for r in results[side]])]))
if len(sides) == 2 and len(seeds) > 1:
    a, b = results[sides[0]], results[sides[1]]
    for c in columns[1:]:
        d = [x[c] - y[c] for x, y in zip(a, b)]
        m, s = mean_se(d)
        print(f"{sides[0]} − {sides[1]} {c}: {m:+.2f} ± {s:.2f} nats (paired by seed)")
    m, _ = mean_se([x["samples_per_second"] / y["samples_per_second"] for x, y in zip(a, b)])
    print(f"{sides[0]} / {sides[1]} samples/s: {m:.2f}x")
