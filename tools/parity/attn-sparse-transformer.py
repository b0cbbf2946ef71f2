"""Parity fixture for @weft/attn-sparse-transformer: a PyTorch port of the factorized patterns.

Builds the paper's sets (arXiv 1904.10509, sec. 4.2) as boolean n x n masks - strided:
A1 = {max(0, i-l) <= j <= i}, A2 = {(i-j) mod l == 0}; fixed: A1 = {floor(j/l) == floor(i/l)},
A2 = {j mod l in [l-c, l)}; all causal - and runs masked softmax attention (scale d^-1/2),
head 0 with A1 and head 1 with A2 (the plugin's `heads` factorization). Written from the
paper, not from the plugin. Run: /usr/bin/python3 tools/parity/attn-sparse-transformer.py
"""
import json, math, os
import torch

torch.manual_seed(0)
B, H, L, D = 2, 2, 13, 4
q, k, v = torch.randn(B, H, L, D), torch.randn(B, H, L, D), torch.randn(B, H, L, D)
i = torch.arange(L)[:, None]
j = torch.arange(L)[None, :]
causal = j <= i


def masks(pattern, l, c):
    if pattern == 'strided':
        return [(j >= (i - l).clamp(min=0)) & causal, ((i - j) % l == 0) & causal]
    return [(j // l == i // l) & causal, (j % l >= l - c) & causal]


def attend(pattern, l, c):
    m = torch.stack(masks(pattern, l, c))                # (H, L, L)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    s = s.masked_fill(~m[None], float('-inf'))
    # Fully masked rows (fixed A2 before the first summary column) output 0 (CONVENTIONS).
    return torch.nan_to_num(torch.softmax(s, -1), nan=0.0) @ v


fixture = {'shape': [B, H, L, D], 'q': q.flatten().tolist(), 'k': k.flatten().tolist(), 'v': v.flatten().tolist(), 'cases': []}
for pattern, l, c in [('strided', 4, 1), ('fixed', 4, 2)]:
    fixture['cases'].append({'pattern': pattern, 'stride': l, 'c': c, 'out': attend(pattern, l, c).flatten().tolist()})
out = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-sparse-transformer', 'test', 'fixtures', 'sparse-transformer.json')
with open(out, 'w') as f:
    json.dump(fixture, f)
print('wrote', out)
