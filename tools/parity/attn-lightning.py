"""Parity fixture for @weft/attn-lightning: a PyTorch port of Lightning Attention
(TransNormerLLM, Qin et al. 2023, "Scaling TransNormer to 175 Billion Parameters", arXiv 2307.14995).

Math ported (the reference code's conventions):
  slopes s_h: ALiBi-style 2^(-8h/H) (h = 1..H, H a power of two), scaled per layer by
  (1 - l/(N-1) + 1e-5); decay lambda_h = exp(-s_h).
  Recurrent form (Sec. 3.3): kv_t = lambda * kv_{t-1} + k_t^T v_t, o_t = q_t kv_t.
  TransNormerLLM's wrapper: q, k <- SiLU(q), SiLU(k); output <- x / sqrt(mean(x^2) + eps) over the
  concatenated heads of each token (simple RMS norm, no gain; eps 1e-6 here).
The parallel check uses the quadratic form (Q K^T * M) V with M[i,j] = lambda^(i-j), i >= j.

Run once: /usr/bin/python3 tools/parity/attn-lightning.py  (writes plugins/attn-lightning/test/fixtures/lightning.json)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2307)


def slopes(n):
    def power_of_two(p):
        return [2.0 ** (-8.0 * (i + 1) / p) for i in range(p)]
    p = 2 ** int(math.floor(math.log2(n)))
    if p == n:
        return power_of_two(n)
    return power_of_two(p) + power_of_two(2 * p)[0::2][: n - p]


def recurrent(q, k, v, lam):
    B, H, L, D = q.shape
    kv = torch.zeros(B, H, D, v.shape[-1], dtype=q.dtype)
    out = torch.zeros(B, H, L, v.shape[-1], dtype=q.dtype)
    for t in range(L):
        kv = lam.view(1, H, 1, 1) * kv + k[:, :, t, :, None] * v[:, :, t, None, :]
        out[:, :, t] = torch.einsum('bhd,bhde->bhe', q[:, :, t], kv)
    return out, kv


def quadratic(q, k, v, lam):
    L = q.shape[2]
    i = torch.arange(L, dtype=q.dtype).view(-1, 1)
    j = torch.arange(L, dtype=q.dtype).view(1, -1)
    M = torch.where(i >= j, lam.view(-1, 1, 1) ** (i - j).clamp(min=0), torch.zeros((), dtype=q.dtype))
    return ((q @ k.transpose(-1, -2)) * M.unsqueeze(0)) @ v


def srms(o, eps=1e-6):
    return o / torch.sqrt(o.pow(2).mean(dim=(1, 3), keepdim=True) + eps)


B, H, L, D, Dv = 2, 4, 10, 4, 3
layer, layers = 1, 3
s = torch.tensor(slopes(H), dtype=torch.float64) * (1 - layer / (layers - 1) + 1e-5)
lam = torch.exp(-s)
q = torch.randn(B, H, L, D, dtype=torch.float64)
k = torch.randn(B, H, L, D, dtype=torch.float64)
v = torch.randn(B, H, L, Dv, dtype=torch.float64)

bare, state = recurrent(q, k, v, lam)
assert torch.allclose(bare, quadratic(q, k, v, lam), atol=1e-10)
full, _ = recurrent(F.silu(q), F.silu(k), v, lam)
full = srms(full)


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-lightning.py (PyTorch %s, float64)' % torch.__version__,
    'shape': [B, H, L, D], 'valueDim': Dv, 'layer': layer, 'layers': layers,
    'decay': flat(lam),
    'q': flat(q), 'k': flat(k), 'v': flat(v),
    'bare': flat(bare), 'finalState': flat(state),
    'transnormer': flat(full),
}
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
path = os.path.join(root, 'plugins', 'attn-lightning', 'test', 'fixtures', 'lightning.json')
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path, os.path.getsize(path), 'bytes')
