"""Parity fixture for @weft/pos-nope: a PyTorch port of a NoPE self-attention layer with the
per-head temperature of Wang et al. 2024 (arXiv 2404.12224):

    A_h = softmax(lambda_h * q_h k_h^T / sqrt(Dh) + causal mask),  y = concat_h(A_h v_h) W_o

No positional encoding anywhere (Haviv et al. 2022, arXiv 2203.16634). Projections are
torch.nn.Linear without bias; the fixture stores their weights transposed to Weft's [in, out].

Run once: /usr/bin/python3 tools/parity/pos-nope.py  (writes plugins/pos-nope/test/fixtures/nope.json)
"""
import json
import math
import os

import torch

torch.manual_seed(0)
B, L, D, H = 2, 7, 16, 4
Dh = D // H

wq, wk, wv, wo = (torch.nn.Linear(D, D, bias=False).double() for _ in range(4))
x = torch.randn(B, L, D, dtype=torch.float64)
lam = torch.tensor([0.5, 1.0, 1.7, 3.0], dtype=torch.float64)


def layer(x, lam, causal):
    def split(t):
        return t.view(B, L, H, Dh).transpose(1, 2)  # [B, H, L, Dh]

    q, k, v = split(wq(x)), split(wk(x)), split(wv(x))
    logits = lam.view(1, H, 1, 1) * (q @ k.transpose(-1, -2)) / math.sqrt(Dh)  # [B, H, L, L]
    if causal:
        mask = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
        logits = logits.masked_fill(mask, float('-inf'))
    o = torch.softmax(logits, dim=-1) @ v  # [B, H, L, Dh]
    return wo(o.transpose(1, 2).reshape(B, L, D))  # [B, L, D]


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


with torch.no_grad():
    fixture = {
        'source': 'tools/parity/pos-nope.py (PyTorch %s, float64)' % torch.__version__,
        'dims': {'B': B, 'L': L, 'D': D, 'H': H},
        'lambda': flat(lam),
        'x': flat(x),
        # Weft stores Linear weights [in, out]: the transpose of torch's weight.
        'wq': flat(wq.weight.t()), 'wk': flat(wk.weight.t()), 'wv': flat(wv.weight.t()), 'wo': flat(wo.weight.t()),
        'causal': flat(layer(x, lam, True)),
        'bidirectional': flat(layer(x, lam, False)),
        'causalPlain': flat(layer(x, torch.ones(H, dtype=torch.float64), True)),
    }
here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, '..', '..', 'plugins', 'pos-nope', 'test', 'fixtures', 'nope.json')
with open(target, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(target), os.path.getsize(target), 'bytes')
