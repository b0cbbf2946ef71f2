"""Parity fixture for @weft/heads-inattention: a PyTorch port of InAttention (Eisner 2024,
arXiv 2410.07063) on two layers: queries from each layer's input, keys/values from the initial
states x_0 only.

  Q_l = x_l W_q^l,  K_l = x_0 W_k^l,  V_l = x_0 W_v^l,  y_l = concat_h softmax(Q K^T / sqrt(Dh)) V W_o^l

Weights are nn.Linear (bias=False); the fixture stores weight.T ([in, out], Weft's x @ W layout).
Run: /usr/bin/python3 tools/parity/heads-inattention.py
"""
import json
import math
import os

import torch

torch.manual_seed(241009)
B, L, D, H = 2, 5, 8, 2
Dh = D // H


def linear():
    lin = torch.nn.Linear(D, D, bias=False)
    with torch.no_grad():
        lin.weight.mul_(3.0)
    return lin


heads = lambda t: t.view(B, L, H, Dh).transpose(1, 2)
merge = lambda u: u.transpose(1, 2).reshape(B, L, D)


def attend(q, k, v):
    s = q @ k.transpose(-1, -2) / math.sqrt(Dh)
    mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    return torch.softmax(s.masked_fill(mask, float('-inf')), dim=-1) @ v


def inattention(layer, x, x0):
    return layer['wo'](merge(attend(heads(layer['wq'](x)), heads(layer['wk'](x0)), heads(layer['wv'](x0)))))


x0, x1 = torch.randn(B, L, D), torch.randn(B, L, D)
layers = [{n: linear() for n in ('wq', 'wk', 'wv', 'wo')} for _ in range(2)]
with torch.no_grad():
    y0 = inattention(layers[0], x0, x0)
    y1 = inattention(layers[1], x1, x0)

flat = lambda t: [round(float(x), 7) for x in t.reshape(-1).tolist()]
fixture = {
    'B': B, 'L': L, 'D': D, 'H': H, 'x0': flat(x0), 'x1': flat(x1),
    'layers': [{n: flat(m.weight.T) for n, m in layer.items()} for layer in layers],
    'y0': flat(y0), 'y1': flat(y1),
}
out = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'heads-inattention', 'test', 'fixtures', 'inattention.json')
with open(out, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out))
