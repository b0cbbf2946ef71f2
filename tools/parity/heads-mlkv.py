"""Parity fixture for @weft/heads-mlkv: a PyTorch port of MLKV attention (Zuhri et al. 2024,
arXiv 2406.09297, §3) for one group of two layers sharing Hkv = 2 key/value heads (H = 4).

  K, V = x_0 W_k, x_0 W_v                       (the group's first layer's input only)
  y_l = concat_h softmax(Q_l,h K_g(h)^T / sqrt(Dh)) V_g(h) W_o^l,  g(h) = h // (H / Hkv)  (repeat_kv)

Weights are nn.Linear (bias=False); the fixture stores weight.T ([in, out], Weft's x @ W layout).
Run: /usr/bin/python3 tools/parity/heads-mlkv.py
"""
import json
import math
import os

import torch

torch.manual_seed(240613)
B, L, D, H, HKV = 2, 5, 8, 4, 2
Dh = D // H


def linear(out):
    lin = torch.nn.Linear(D, out, bias=False)
    with torch.no_grad():
        lin.weight.mul_(3.0)
    return lin


def heads(t, n):  # [B, L, n*Dh] -> [B, n, L, Dh]
    return t.view(B, L, n, Dh).transpose(1, 2)


def repeat_kv(t):  # [B, Hkv, L, Dh] -> [B, H, L, Dh], contiguous groups
    return t.repeat_interleave(H // HKV, dim=1)


def attend(q, k, v):
    s = q @ k.transpose(-1, -2) / math.sqrt(Dh)
    mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    return torch.softmax(s.masked_fill(mask, float('-inf')), dim=-1) @ v


merge = lambda u: u.transpose(1, 2).reshape(B, L, D)

x0, x1 = torch.randn(B, L, D), torch.randn(B, L, D)
layer0 = {'wq': linear(D), 'wk': linear(HKV * Dh), 'wv': linear(HKV * Dh), 'wo': linear(D)}
layer1 = {'wq': linear(D), 'wo': linear(D)}
with torch.no_grad():
    k = repeat_kv(heads(layer0['wk'](x0), HKV))
    v = repeat_kv(heads(layer0['wv'](x0), HKV))
    y0 = layer0['wo'](merge(attend(heads(layer0['wq'](x0), H), k, v)))
    y1 = layer1['wo'](merge(attend(heads(layer1['wq'](x1), H), k, v)))

flat = lambda t: [round(float(x), 7) for x in t.reshape(-1).tolist()]
fixture = {
    'B': B, 'L': L, 'D': D, 'H': H, 'kvHeads': HKV, 'x0': flat(x0), 'x1': flat(x1),
    'layer0': {n: flat(m.weight.T) for n, m in layer0.items()},
    'layer1': {n: flat(m.weight.T) for n, m in layer1.items()},
    'y0': flat(y0), 'y1': flat(y1),
}
out = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'heads-mlkv', 'test', 'fixtures', 'mlkv.json')
with open(out, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out))
