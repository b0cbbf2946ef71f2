"""Parity fixture for @weft/heads-value-residual: a PyTorch port of ResFormer / SVFormer attention
(Zhou et al. 2024, arXiv 2410.17897, §3) on two layers with fixed random inputs and weights.

  layer 1 (vanilla):   U_1 = softmax(Q_1 K_1^T / sqrt(Dh)) V_1
  ResFormer layer n:   U_n = A_n (lambda1 V_n + lambda2 V_1)
  SVFormer layer n:    U_n = A_n V_1
  output_n = concat_h(U_n) W_O

Weights are nn.Linear (bias=False); the fixture stores weight.T ([in, out], Weft's x @ W layout).
Run: /usr/bin/python3 tools/parity/heads-value-residual.py
"""
import json
import math
import os

import torch

torch.manual_seed(20241022)
B, L, D, H = 2, 5, 8, 2
Dh = D // H
LAMBDA1, LAMBDA2 = 0.3, 0.7


def linear():
    lin = torch.nn.Linear(D, D, bias=False)
    with torch.no_grad():
        lin.weight.mul_(3.0)  # sharper attention than the default init, so the values matter
    return lin


def heads(t):  # [B, L, D] -> [B, H, L, Dh]
    return t.view(B, L, H, Dh).transpose(1, 2)


def attend(q, k, v):
    s = q @ k.transpose(-1, -2) / math.sqrt(Dh)
    mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    a = torch.softmax(s.masked_fill(mask, float('-inf')), dim=-1)
    return a @ v


def merge(u):  # [B, H, L, Dh] -> [B, L, D]
    return u.transpose(1, 2).reshape(B, L, D)


x0 = torch.randn(B, L, D)
x1 = torch.randn(B, L, D)
layer0 = {n: linear() for n in ('wq', 'wk', 'wv', 'wo')}
layer1 = {n: linear() for n in ('wq', 'wk', 'wv', 'wo')}

with torch.no_grad():
    v1 = heads(layer0['wv'](x0))
    y0 = layer0['wo'](merge(attend(heads(layer0['wq'](x0)), heads(layer0['wk'](x0)), v1)))
    q, k, vn = heads(layer1['wq'](x1)), heads(layer1['wk'](x1)), heads(layer1['wv'](x1))
    y1_res = layer1['wo'](merge(attend(q, k, LAMBDA1 * vn + LAMBDA2 * v1)))
    y1_sv = layer1['wo'](merge(attend(q, k, v1)))

flat = lambda t: [round(float(v), 7) for v in t.reshape(-1).tolist()]
fixture = {
    'B': B, 'L': L, 'D': D, 'H': H, 'lambda1': LAMBDA1, 'lambda2': LAMBDA2,
    'x0': flat(x0), 'x1': flat(x1),
    'layer0': {n: flat(m.weight.T) for n, m in layer0.items()},
    'layer1': {n: flat(m.weight.T) for n, m in layer1.items()},
    'y0': flat(y0), 'y1_resformer': flat(y1_res), 'y1_svformer': flat(y1_sv),
}
out = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'heads-value-residual', 'test', 'fixtures', 'resformer.json')
with open(out, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out))
