"""Parity fixture for @weft/attn-lm-infinite: a PyTorch port of the Lambda-shaped mask.

Mask (arXiv 2308.16137, sec. 4): query i sees key j iff j <= i and (j < n_global or
i - j < n_local); masked softmax attention with scale d^-1/2. Written from the paper, not
from the plugin. A second fixture adds RoPE with the distance limit (below).
Run: /usr/bin/python3 tools/parity/attn-lm-infinite.py
"""
import json, math, os
import torch

torch.manual_seed(0)
B, H, L, D, NG, NL = 2, 2, 19, 4, 3, 6
q, k, v = torch.randn(B, H, L, D), torch.randn(B, H, L, D), torch.randn(B, H, L, D)
i = torch.arange(L)[:, None]
j = torch.arange(L)[None, :]
mask = (j <= i) & ((j < NG) | (i - j < NL))
s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
out = torch.softmax(s.masked_fill(~mask, float('-inf')), -1) @ v
fixture = {'shape': [B, H, L, D], 'nGlobal': NG, 'nLocal': NL, 'q': q.flatten().tolist(), 'k': k.flatten().tolist(), 'v': v.flatten().tolist(), 'out': out.flatten().tolist()}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-lm-infinite', 'test', 'fixtures', 'lm-infinite.json')
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path)

# --- Distance limit with RoPE (sec. 4): distances clamped at L_pretrain = n_local. -----------
# RoPE (RoFormer eq. 34, interleaved pairs (2t, 2t+1), theta_t = 10000^(-2t/d)) rotates q at its
# position and k at its position; the score of a pair at distance dist is rot(q, j + dist) . rot(k, j).
# The kernel receives q and k already rotated at their true positions (qr, kr).
def rot(x, m):
    d = x.shape[-1]
    theta = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = m * theta
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * torch.cos(ang) - b * torch.sin(ang)
    out[..., 1::2] = a * torch.sin(ang) + b * torch.cos(ang)
    return out

torch.manual_seed(1)
B, H, L, D, NG, NL = 1, 2, 21, 8, 3, 5
q, k, v = (torch.randn(B, H, L, D, dtype=torch.float64) for _ in range(3))
pos = torch.arange(L, dtype=torch.float64)
qr = rot(q, pos[:, None])
kr = rot(k, pos[:, None])
s = torch.full((B, H, L, L), float('-inf'), dtype=torch.float64)
for i in range(L):
    for j in range(i + 1):
        if not (j < NG or i - j < NL):
            continue
        dist = min(i - j, NL)
        s[:, :, i, j] = (rot(q[:, :, i], j + dist) * rot(k[:, :, j], j)).sum(-1) / math.sqrt(D)
out = torch.softmax(s, -1) @ v
fixture = {'shape': [B, H, L, D], 'nGlobal': NG, 'nLocal': NL, 'base': 10000, 'layout': 'interleaved',
           'q': qr.flatten().tolist(), 'k': kr.flatten().tolist(), 'v': v.flatten().tolist(), 'out': out.flatten().tolist()}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-lm-infinite', 'test', 'fixtures', 'lm-infinite-rope.json')
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path)
