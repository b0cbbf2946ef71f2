"""Parity fixture for @weft/heads-cla: Cross-Layer Attention (Brandon et al. 2024, arXiv 2405.12981).

Our own PyTorch port of one CLA2 group with MQA/GQA-style kv heads: layer 0 (producer) projects
q, k, v from its input x0; layer 1 (consumer) projects only q from its input x1 and attends to
layer 0's k, v. Causal softmax attention, scale Dh^-1/2, kv head g serves query heads
g*G .. g*G+G-1 (HF repeat_kv). Float64, fixed seed, no biases. Writes
plugins/heads-cla/test/fixtures/cla2.json (nn.Linear [out, in] weights; the test transposes).
Run: /usr/bin/python3 tools/parity/heads-cla.py
"""
import json
import math
import os

import torch

torch.manual_seed(2405)
B, L, D, H, HKV = 2, 6, 8, 4, 2
DH = D // H
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'heads-cla', 'test', 'fixtures')


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def split(t, heads):  # [B, L, heads*Dh] -> [B, heads, L, Dh]
    return t.view(B, L, heads, DH).transpose(1, 2)


def attend(q, k, v):
    g = H // HKV
    k = k[:, :, None].expand(B, HKV, g, L, DH).reshape(B, H, L, DH)
    v = v[:, :, None].expand(B, HKV, g, L, DH).reshape(B, H, L, DH)
    s = q @ k.transpose(-1, -2) / math.sqrt(DH)
    s = s.masked_fill(~torch.ones(L, L, dtype=torch.bool).tril(), float('-inf'))
    return (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, L, H * DH)


x0 = torch.randn(B, L, D, dtype=torch.float64)
x1 = torch.randn(B, L, D, dtype=torch.float64)
w0 = {'wq': torch.randn(H * DH, D), 'wk': torch.randn(HKV * DH, D), 'wv': torch.randn(HKV * DH, D), 'wo': torch.randn(D, H * DH)}
w1 = {'wq': torch.randn(H * DH, D), 'wo': torch.randn(D, H * DH)}
w0 = {n: (t * 0.5).double() for n, t in w0.items()}
w1 = {n: (t * 0.5).double() for n, t in w1.items()}
k, v = split(x0 @ w0['wk'].T, HKV), split(x0 @ w0['wv'].T, HKV)  # produced once, by layer 0
y0 = attend(split(x0 @ w0['wq'].T, H), k, v) @ w0['wo'].T
y1 = attend(split(x1 @ w1['wq'].T, H), k, v) @ w1['wo'].T  # layer 1 reuses layer 0's k, v
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'cla2.json'), 'w') as f:
    json.dump({
        'B': B, 'L': L, 'D': D, 'H': H, 'kvHeads': HKV,
        'x0': flat(x0), 'x1': flat(x1), 'y0': flat(y0), 'y1': flat(y1),
        'layer0': {n: {'weight': flat(t), 'shape': list(t.shape)} for n, t in w0.items()},
        'layer1': {n: {'weight': flat(t), 'shape': list(t.shape)} for n, t in w1.items()},
    }, f)
