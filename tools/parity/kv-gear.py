"""Parity fixture for @weft/kv-gear: GEAR (Kang et al. 2024, arXiv 2403.05527, Sec. 3, Eq. 2-5, Alg. 1).

Our own PyTorch port of one chunk's compression, X (n x d):
  S = the top s% entries of |X| (kept exactly), D = Quant_b(X - S) with per-group min/max
  uniform quantisation (groups = token rows or channel columns; min and step stored as float32,
  as the plugin stores them), L = the best rank-r approximation of R = X - D - S (here by a
  truncated SVD: the plugin's power iteration converges to it), X_hat = D + L + S.
Fixed seed. Writes plugins/kv-gear/test/fixtures/gear.json.
Run: /usr/bin/python3 tools/parity/kv-gear.py
"""
import json
import os

import torch

torch.manual_seed(2403)
N, D = 12, 8
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'kv-gear', 'test', 'fixtures')


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def quant(x, bits, axis):
    levels = 2 ** bits - 1
    dim = 1 if axis == 'token' else 0
    lo = x.amin(dim=dim, keepdim=True)
    hi = x.amax(dim=dim, keepdim=True)
    lo32 = lo.float().double()
    step32 = ((hi - lo) / levels).float().double()
    safe = torch.where(step32 > 0, step32, torch.ones_like(step32))
    code = torch.where(step32 > 0, torch.clamp(torch.floor((x - lo32) / safe + 0.5), 0, levels), torch.zeros_like(x))
    return lo32 + code * step32


def gear(x, bits, rank, s, axis):
    k = int(s * x.numel() // 100)
    idx = torch.topk(x.abs().reshape(-1), k).indices
    sparse = torch.zeros(x.numel(), dtype=x.dtype)
    sparse[idx] = x.reshape(-1)[idx]
    sparse = sparse.reshape(x.shape)
    d_hat = quant(x - sparse, bits, axis)
    res = x - d_hat - sparse
    u, sv, vh = torch.linalg.svd(res, full_matrices=False)
    low = (u[:, :rank] * sv[:rank]) @ vh[:rank]
    return d_hat + low + sparse


x = torch.randn(N, D, dtype=torch.float32).double()
x[2, 3] = 9.0
x[7, 1] = -8.0
cases = [
    {'bits': 2, 'rank': 0, 'outlierPercent': 0, 'axis': 'token'},
    {'bits': 3, 'rank': 0, 'outlierPercent': 5, 'axis': 'channel'},
    {'bits': 4, 'rank': 2, 'outlierPercent': 3, 'axis': 'token'},
    {'bits': 2, 'rank': 1, 'outlierPercent': 5, 'axis': 'channel'},
]
for c in cases:
    c['xHat'] = flat(gear(x, c['bits'], c['rank'], c['outlierPercent'], c['axis']))

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'gear.json'), 'w') as f:
    json.dump({'n': N, 'd': D, 'x': flat(x), 'cases': cases}, f)
print('wrote gear.json')
