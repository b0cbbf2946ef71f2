"""Parity fixture for @weft/moe-colt5: a PyTorch port of CoLT5's conditional feed-forward
(Ainslie et al. 2023, arXiv 2303.09752, §3) with the soft top-k routing weights of CoDA
(Lei et al. 2023, arXiv 2304.04947) solved by dual coordinate descent:

  s_i = x_i . w
  a <- eps ln k - eps logsumexp((s + b) / eps);  b <- -relu(s + a)     (T iterations, b0 = 0)
  lambda = exp((s + a + b) / eps)
  R = top-k tokens by s (per sequence)
  y_i = light(x_i) + 1{i in R} lambda_i heavy(x_i),   light/heavy: W2 gelu_tanh(W1 x + b1) + b2

Weights in PyTorch layout (nn.Linear.weight [out, in]); the jest test transposes them.

Run once: /usr/bin/python3 tools/parity/moe-colt5.py
(writes plugins/moe-colt5/test/fixtures/colt5.json)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2303)
B, L, D, HL, HH, K, EPS, T = 2, 7, 6, 8, 16, 3, 0.1, 20


def soft_topk(s, k, eps, iters):
    b = torch.zeros_like(s)
    a = torch.zeros(s.shape[0], 1)
    for _ in range(iters):
        a = eps * math.log(k) - eps * torch.logsumexp((s + b) / eps, dim=-1, keepdim=True)
        b = -F.relu(s + a)
    return torch.exp((s + a + b) / eps)


def mlp(x, w1, b1, w2, b2):
    return F.linear(F.gelu(F.linear(x, w1, b1), approximate='tanh'), w2, b2)


def colt5(x, w, light, heavy):
    s = x @ w                                        # [B, L]
    lam = soft_topk(s, K, EPS, T)
    idx = s.topk(K, dim=-1).indices                  # [B, K]
    y = mlp(x, *light)
    for bi in range(B):
        for i in idx[bi]:
            y[bi, i] = y[bi, i] + lam[bi, i] * mlp(x[bi, i], *heavy)
    return y, lam


def tolist(t):
    return [round(float(v), 8) for v in t.reshape(-1)]


x = torch.randn(B, L, D)
w = torch.randn(D) * 0.1
light = (torch.randn(HL, D) * 0.5, torch.randn(HL) * 0.1, torch.randn(D, HL) * 0.5, torch.randn(D) * 0.1)
heavy = (torch.randn(HH, D) * 0.5, torch.randn(HH) * 0.1, torch.randn(D, HH) * 0.5, torch.randn(D) * 0.1)
with torch.no_grad():
    y, lam = colt5(x, w, light, heavy)

fixture = {
    "B": B, "L": L, "D": D, "lightHidden": HL, "heavyHidden": HH, "k": K, "epsilon": EPS, "iterations": T,
    "x": tolist(x), "w": tolist(w),
    "light": [tolist(t) for t in light], "heavy": [tolist(t) for t in heavy],
    "lambda": tolist(lam), "lambdaSums": tolist(lam.sum(-1)), "y": tolist(y),
}
out = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "moe-colt5", "test", "fixtures", "colt5.json")
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w") as f:
    json.dump(fixture, f)
print("wrote", out, "lambda sums", fixture["lambdaSums"])
