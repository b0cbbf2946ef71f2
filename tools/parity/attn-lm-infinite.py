"""Parity fixture for @weft/attn-lm-infinite: a PyTorch port of the Lambda-shaped mask.

Mask (arXiv 2308.16137, sec. 4): query i sees key j iff j <= i and (j < n_global or
i - j < n_local); masked softmax attention with scale d^-1/2. Written from the paper, not
from the plugin. Run: /usr/bin/python3 tools/parity/attn-lm-infinite.py
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
