"""Parity fixture for @weft/pos-temperature: independent PyTorch ports of
 - log-n scaled attention (Chiang & Cholak 2022, arXiv 2202.12172): softmax(log(n_i) q k^T / sqrt(d)),
   n_i = i + 1 keys visible under a causal mask, n = L bidirectional;
 - TempScale / aligned temperature (arXiv 2410.24200, 2311.00684): softmax(q k^T / (tau sqrt(d)));
 - the alignment search: tau with mean entropy H(softmax(long / tau)) == H(softmax(short)), by bisection.
Run once with Debian's python3 (torch 1.13):  /usr/bin/python3 tools/parity/pos-temperature.py
Writes plugins/pos-temperature/test/fixtures/temperature.json.
"""
import json
import math
import os
import torch

torch.manual_seed(2202)
B, H, L, D = 2, 2, 7, 4
q, k, v = torch.randn(B, H, L, D), torch.randn(B, H, L, D), torch.randn(B, H, L, D)
causal = torch.tril(torch.ones(L, L, dtype=torch.bool))


def attend(scale_rows, is_causal):
    s = (q.double() @ k.double().transpose(-1, -2)) / math.sqrt(D) * scale_rows  # [B, H, L, L]
    if is_causal:
        s = s.masked_fill(~causal, float("-inf"))
    return (torch.softmax(s, -1) @ v.double()).float()


rows = torch.arange(1, L + 1, dtype=torch.float64).log()[:, None]  # ln(i + 1)
out_logn_causal = attend(rows, True)
out_logn_bidir = attend(math.log(L), False)
out_tempscale = attend(1 / 0.7, True)


def entropy(z, tau):
    p = torch.softmax(z.double() / tau, -1)
    return float(-(p * p.log()).sum(-1).mean())


short = torch.randn(6, 16) * 2
long = torch.randn(6, 48) * 2
target = entropy(short, 1.0)
lo, hi = math.log(1e-2), math.log(1e2)
for _ in range(200):
    mid = (lo + hi) / 2
    if entropy(long, math.exp(mid)) < target:
        lo = mid
    else:
        hi = mid
tau = math.exp((lo + hi) / 2)

out = {
    "source": f"tools/parity/pos-temperature.py (torch {torch.__version__})",
    "shape": [B, H, L, D],
    "q": q.flatten().tolist(), "k": k.flatten().tolist(), "v": v.flatten().tolist(),
    "lognCausal": out_logn_causal.flatten().tolist(),
    "lognBidirectional": out_logn_bidir.flatten().tolist(),
    "tempscale07": out_tempscale.flatten().tolist(),
    "align": {"short": short.flatten().tolist(), "shortShape": [6, 16], "long": long.flatten().tolist(), "longShape": [6, 48], "tau": tau},
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "pos-temperature", "test", "fixtures", "temperature.json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path), "tau", tau)
