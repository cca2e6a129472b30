#!/usr/bin/python3
"""Bayes by Backprop (Blundell et al. 2015) regression on scikit-learn's diabetes data (442 x 10): pml
against a PyTorch reference of the same recipe written here, on the same 20 random 90/10 splits in the
same run. Prints the test RMSE and the test negative log-likelihood (raw target scale), mean and standard
error over the splits for each side, and the difference (and the training free energy per row, the
objective both sides minimise, averaged over the last tenth of the epochs).

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/bbb_uci.py \
      [--build build/dev] [--threads 1] [--splits 20] [--epochs 400] [--seed 0]

The recipe, identical on both sides (double precision):
- splits: a permutation per split from numpy's default_rng(seed); the first N - int(0.9 N) rows test;
  inputs and targets standardised with the training rows' mean and population sd;
- network 10-50-1, ReLU; q(w) = N(mu, softplus(rho)^2) for every weight and bias, w = mu + softplus(rho) eps
  drawn once per minibatch and shared by its rows (weight sampling, not local reparameterisation);
- mu initialised as pml's Init::automatic: He normal N(0, 2/fan_in) for the hidden layer, Xavier uniform
  U(+-sqrt(6/(fan_in + fan_out))) for the output layer, zero bias means; rho = --rho for all;
- prior: Blundell's scale mixture pi N(0, s1^2) + (1 - pi) N(0, s2^2) with pi = 1/2, -log s1 = 0,
  -log s2 = 6 (a point of the paper's grid); the KL as the one-sample estimate log q(w) - log p(w) at the
  minibatch's weight sample;
- likelihood: N(y; f(x), noise^2) on the standardised targets with a fixed noise (--noise, 0.7 by default:
  about the residual sd of a linear fit, R^2 ~ 0.5);
- minibatch objective (K training samples averaged): kl_weight * KL + sum_i -log N(y_i; f(x_i), noise^2),
  divided by the minibatch's rows; kl_weight 1/M (uniform) or 2^(M-i)/(2^M - 1) (geometric, the paper's
  sec. 3.4) for minibatch i of the M in an epoch; a fresh shuffle each epoch, the last minibatch smaller;
- Adam (0.9, 0.999, 1e-8), --lr, --epochs, --batch;
- test: T = --test-samples posterior draws; RMSE of the mean prediction and
  NLL = -mean_i log (1/T) sum_t N(y_i; yhat_ti, (y_sd noise)^2) with yhat on the raw scale (the
  standardised log-density minus log y_sd).
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--splits", type=int, default=20)
parser.add_argument("--epochs", type=int, default=400)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--hidden", type=int, default=50)
parser.add_argument("--noise", type=float, default=0.7)
parser.add_argument("--rho", type=float, default=-3.0)
parser.add_argument("--kl", choices=("uniform", "geometric"), default="uniform")
parser.add_argument("--train-samples", type=int, default=1)
parser.add_argument("--test-samples", type=int, default=100)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--skip-torch", action="store_true", help="run the pml side only")
parser.add_argument("--init", default="automatic",
                    help="pml's nn::Init for the means (the PyTorch reference draws automatic's: use --skip-torch for another)")
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_default_dtype(torch.float64)
exe = os.path.join(args.build, "benchmarks", "compare_bbb_uci")
if not os.path.exists(exe):
    sys.exit(f"{exe} not found: build it first (cmake --build build/dev --target compare_bbb_uci)")

x_all, y_all = load_diabetes(return_X_y=True, scaled=False)
n, d = x_all.shape
n_test = n - int(0.9 * n)
rng = np.random.default_rng(args.seed)
test_masks = []
for _ in range(args.splits):
    mask = np.zeros(n, dtype=np.int64)
    mask[rng.permutation(n)[:n_test]] = 1
    test_masks.append(mask)

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
PI, LOG_S1, LOG_S2 = 0.5, 0.0, -6.0


def log_normal(w, mu, sigma):
    """Sum of log N(w; mu, sigma^2) over the entries."""
    return (-0.5 * ((w - mu) / sigma) ** 2 - torch.log(sigma) - HALF_LOG_TWO_PI).sum()


def log_prior(w):
    """Sum of log(pi N(w; 0, s1^2) + (1 - pi) N(w; 0, s2^2)) over the entries."""
    l1 = math.log(PI) - LOG_S1 - 0.5 * w ** 2 * math.exp(-2 * LOG_S1)
    l2 = math.log(1 - PI) - LOG_S2 - 0.5 * w ** 2 * math.exp(-2 * LOG_S2)
    return (torch.logaddexp(l1, l2) - HALF_LOG_TWO_PI).sum()


class BayesLinear:
    """A fully connected layer with a factorised Gaussian posterior; weights are fan_in x fan_out (x W)."""

    def __init__(self, fan_in, fan_out, hidden):
        if hidden:  # He normal
            mu = torch.randn(fan_in, fan_out) * math.sqrt(2.0 / fan_in)
        else:  # Xavier uniform
            a = math.sqrt(6.0 / (fan_in + fan_out))
            mu = (torch.rand(fan_in, fan_out) * 2 - 1) * a
        self.w_mu = mu.requires_grad_()
        self.w_rho = torch.full((fan_in, fan_out), args.rho, requires_grad=True)
        self.b_mu = torch.zeros(1, fan_out, requires_grad=True)
        self.b_rho = torch.full((1, fan_out), args.rho, requires_grad=True)

    def parameters(self):
        return [self.w_mu, self.w_rho, self.b_mu, self.b_rho]

    def sample(self):
        """One draw of (W, b) and its KL estimate log q - log p."""
        w_sigma = torch.nn.functional.softplus(self.w_rho)
        b_sigma = torch.nn.functional.softplus(self.b_rho)
        w = self.w_mu + w_sigma * torch.randn_like(w_sigma)
        b = self.b_mu + b_sigma * torch.randn_like(b_sigma)
        kl = log_normal(w, self.w_mu, w_sigma) - log_prior(w) + log_normal(b, self.b_mu, b_sigma) - log_prior(b)
        return w, b, kl


def forward(layers, x):
    kl = 0
    h = x
    for i, layer in enumerate(layers):
        w, b, k = layer.sample()
        h = h @ w + b
        if i + 1 < len(layers):
            h = torch.relu(h)
        kl = kl + k
    return h, kl


def kl_weight(i, m):
    if args.kl == "uniform":
        return 1.0 / m
    return 2.0 ** (m - i - 1) / (2.0 ** m - 1)  # i is 0-based


def torch_split(s, xtr, ytr, xte, yte_raw, ym, ys):
    torch.manual_seed(args.seed + s)
    layers = [BayesLinear(d, args.hidden, True), BayesLinear(args.hidden, 1, False)]
    params = [p for layer in layers for p in layer.parameters()]
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    rows = xtr.shape[0]
    m = (rows + args.batch - 1) // args.batch
    s2 = args.noise ** 2
    t0 = time.perf_counter()
    history = []
    for _ in range(args.epochs):
        perm = torch.randperm(rows)
        total = 0.0
        for i in range(m):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            xb, yb = xtr[idx], ytr[idx]
            loss = 0
            for _k in range(args.train_samples):
                f, kl = forward(layers, xb)
                nll = 0.5 / s2 * ((yb - f) ** 2).sum() + xb.shape[0] * (math.log(args.noise) + HALF_LOG_TWO_PI)
                loss = loss + (nll + kl_weight(i, m) * kl) / args.train_samples
            opt.zero_grad(set_to_none=True)
            (loss / xb.shape[0]).backward()
            opt.step()
            total += loss.item()
        history.append(total / rows)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        f = torch.stack([forward(layers, xte)[0][:, 0] for _ in range(args.test_samples)])  # T x n
    yhat = ym + ys * f.numpy()
    sd = ys * args.noise
    logp = -0.5 * ((yte_raw[None, :] - yhat) / sd) ** 2 - math.log(sd) - HALF_LOG_TWO_PI
    lse = np.logaddexp.reduce(logp, axis=0) - math.log(args.test_samples)
    rmse = math.sqrt(np.mean((yte_raw - yhat.mean(0)) ** 2))
    last = max(1, len(history) // 10)  # the free energy per row over the last tenth of the epochs
    return rmse, -lse.mean(), seconds, float(np.mean(history[-last:]))


torch_rows = []
if not args.skip_torch:
    for s, mask in enumerate(test_masks):
        tr, te = mask == 0, mask == 1
        xm, xs = x_all[tr].mean(0), x_all[tr].std(0)
        xs[xs == 0] = 1
        ym, ys = y_all[tr].mean(), y_all[tr].std()
        xtr = torch.from_numpy((x_all[tr] - xm) / xs)
        xte = torch.from_numpy((x_all[te] - xm) / xs)
        ytr = torch.from_numpy(((y_all[tr] - ym) / ys)[:, None])
        torch_rows.append(torch_split(s, xtr, ytr, xte, y_all[te], ym, ys))
        print(f"PyTorch split {s}: rmse {torch_rows[-1][0]:.3f} nll {torch_rows[-1][1]:.4f} "
              f"({torch_rows[-1][2]:.1f} s, final loss {torch_rows[-1][3]:.4f})", file=sys.stderr, flush=True)

with tempfile.TemporaryDirectory() as tmp:
    np.savetxt(os.path.join(tmp, "x.csv"), x_all, delimiter=",", fmt="%.17g")
    np.savetxt(os.path.join(tmp, "y.csv"), y_all[:, None], delimiter=",", fmt="%.17g")
    np.savetxt(os.path.join(tmp, "splits.csv"), np.array(test_masks), delimiter=",", fmt="%d")
    command = [exe, tmp, "--hidden", str(args.hidden), "--epochs", str(args.epochs), "--batch", str(args.batch),
               "--lr", repr(args.lr), "--noise", repr(args.noise), "--rho", repr(args.rho), "--kl", args.kl,
               "--train-samples", str(args.train_samples), "--test-samples", str(args.test_samples), "--seed", str(args.seed),
               "--init", args.init]
    pml_rows = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            f = line.split()
            pml_rows.append((float(f[3]), float(f[5]), float(f[7]), float(f[9])))
            print(f"pml split {f[1]}: rmse {pml_rows[-1][0]:.3f} nll {pml_rows[-1][1]:.4f} "
                  f"({pml_rows[-1][2]:.1f} s, final loss {pml_rows[-1][3]:.4f})", file=sys.stderr, flush=True)
    if proc.returncode != 0:
        sys.exit(f"{exe} failed with status {proc.returncode}")


def mean_se(v):
    v = np.asarray(v)
    return v.mean(), v.std(ddof=1) / math.sqrt(len(v))


print(f"Bayes by Backprop {d}-{args.hidden}-1 on diabetes ({n} rows), {args.splits} random 90/10 splits (seed {args.seed}), "
      f"scale-mixture prior (pi 1/2, -log s1 0, -log s2 6), noise {args.noise} (standardised), rho {args.rho}, "
      f"KL {args.kl}, {args.epochs} epochs, batch {args.batch}, Adam {args.lr}, {args.train_samples} training / "
      f"{args.test_samples} test samples, double, threads {args.threads}")
print(f"{'':8} {'test RMSE':>16} {'test NLL':>16} {'train F/row':>16} {'fit s/split':>12}")
sides = [("pml", pml_rows)] + ([("PyTorch", torch_rows)] if torch_rows else [])
for name, rows in sides:
    r, l, e = (mean_se([t[k] for t in rows]) for k in (0, 1, 3))
    print(f"{name:8} {r[0]:8.2f} ± {r[1]:5.2f} {l[0]:8.4f} ± {l[1]:5.4f} {e[0]:8.4f} ± {e[1]:5.4f} {np.mean([t[2] for t in rows]):12.2f}")
if torch_rows:
    for k, what in ((0, "RMSE"), (1, "NLL")):
        diff = [p[k] - t[k] for p, t in zip(pml_rows, torch_rows)]
        dm, dse = mean_se(diff)
        ref_se = mean_se([t[k] for t in torch_rows])[1]
        verdict = "within" if abs(dm) <= ref_se else "NOT within"
        print(f"test {what}: pml - PyTorch {dm:+.4f} (paired SE {dse:.4f}); {verdict} one SE of the reference ({ref_se:.4f})")
