"""Parity fixture for @weft/heads-mqa: multi-query / grouped-query attention.

Our own PyTorch port of Shazeer 2019 (arXiv 1911.02150) §3 and GQA (arXiv 2305.13245) §2.2:
q = x Wq^T split into H heads, k/v = x Wk^T / x Wv^T split into Hkv heads, kv head g repeated
for the contiguous query heads g*G .. g*G+G-1 (HF `repeat_kv`), causal softmax attention with
scale Dh^-1/2, heads concatenated, y = o Wo^T. Float64, fixed seed, no biases.
Writes plugins/heads-mqa/test/fixtures/{mqa,gqa}.json. Weights are nn.Linear layout
([out, in]); the jest test transposes them to Weft's [in, out].
Run: /usr/bin/python3 tools/parity/heads-mqa.py
"""
import json
import math
import os

import torch

torch.manual_seed(1911)
B, L, D, H, DH = 2, 6, 8, 4, 2
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'heads-mqa', 'test', 'fixtures')


def repeat_kv(x, n_rep):
    b, hkv, l, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, hkv, n_rep, l, d).reshape(b, hkv * n_rep, l, d)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def run(name, hkv):
    x = torch.randn(B, L, D, dtype=torch.float64)
    wq = torch.randn(H * DH, D, dtype=torch.float64) * 0.5
    wk = torch.randn(hkv * DH, D, dtype=torch.float64) * 0.5
    wv = torch.randn(hkv * DH, D, dtype=torch.float64) * 0.5
    wo = torch.randn(D, H * DH, dtype=torch.float64) * 0.5
    q = (x @ wq.T).view(B, L, H, DH).transpose(1, 2)  # [B, H, L, Dh]
    k = (x @ wk.T).view(B, L, hkv, DH).transpose(1, 2)  # [B, Hkv, L, Dh]
    v = (x @ wv.T).view(B, L, hkv, DH).transpose(1, 2)
    k, v = repeat_kv(k, H // hkv), repeat_kv(v, H // hkv)  # [B, H, L, Dh]
    scores = q @ k.transpose(-1, -2) / math.sqrt(DH)
    mask = torch.ones(L, L, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float('-inf'))
    o = torch.softmax(scores, dim=-1) @ v  # [B, H, L, Dh]
    y = o.transpose(1, 2).reshape(B, L, H * DH) @ wo.T  # [B, L, D]
    fixture = {
        'B': B, 'L': L, 'D': D, 'H': H, 'Dh': DH, 'kvHeads': hkv,
        'x': flat(x), 'y': flat(y),
        'weights': {
            'wq': {'weight': flat(wq), 'shape': list(wq.shape)},
            'wk': {'weight': flat(wk), 'shape': list(wk.shape)},
            'wv': {'weight': flat(wv), 'shape': list(wv.shape)},
            'wo': {'weight': flat(wo), 'shape': list(wo.shape)},
        },
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(fixture, f)


run('mqa', 1)
run('gqa', 2)
