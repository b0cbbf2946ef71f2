"""Parity fixture for @weft/attn-taylorshift: a PyTorch port of TaylorShift attention
(Nauen et al. 2024, arXiv 2403.02920), following the reference code's conventions:

  normalize_input: q <- F.normalize(q) * temperature_h, k <- F.normalize(k)
  direct:    A = 1/2 x^2 + x + 1 with x = q k^T (the reference divides each row by its max value
             first, which cancels in the row normalisation), rows normalised, Y = A V
  efficient: Y = [ 1/2 (q(x)q)(k(x)k)^T V + s^2 q (k^T V) + s^4 sum V ] / (same with V := 1),
             with the reference's stabilising scalings q, k *= s = d^(1/4), V /= N
  causal (direct form only; the reference code is bidirectional): mask before normalising.

Run once: /usr/bin/python3 tools/parity/attn-taylorshift.py
(writes plugins/attn-taylorshift/test/fixtures/taylorshift.json)
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2403)
B, H, N, d = 2, 2, 9, 3
a, b, c = 0.5, 1.0, 1.0
q = torch.randn(B, H, N, d, dtype=torch.float64)
k = torch.randn(B, H, N, d, dtype=torch.float64)
v = torch.randn(B, H, N, d, dtype=torch.float64)
temperature = (1 + 0.5 * torch.rand(H, dtype=torch.float64)).view(1, H, 1, 1)


def box(x, y):
    return (x.unsqueeze(-1) * y.unsqueeze(-2)).reshape(*x.shape[:-1], -1)


def direct(q, k, v, causal=False):
    q = F.normalize(q, dim=-1) * temperature
    k = F.normalize(k, dim=-1)
    attn = q @ k.transpose(-1, -2)
    m = attn.abs().max(dim=-1, keepdim=True).values
    mv = a * m ** 2 + b * m + c
    attn = a * (attn / mv.sqrt()) ** 2 + b * attn / mv + c / mv
    if causal:
        attn = attn * torch.tril(torch.ones(N, N, dtype=attn.dtype))
    return (attn / attn.sum(-1, keepdim=True)) @ v


def efficient(q, k, v):
    s = d ** 0.25
    v1 = torch.cat([torch.ones(*v.shape[:-1], 1, dtype=v.dtype), v], dim=-1)
    q = F.normalize(q, dim=-1) * s * temperature
    k = F.normalize(k, dim=-1) * s
    v1 = v1 / N
    y = a * box(q, q) @ (box(k, k).transpose(-1, -2) @ v1) + s ** 2 * b * q @ (k.transpose(-1, -2) @ v1) + s ** 4 * c * v1.sum(-2, keepdim=True)
    return y[..., 1:] / y[..., :1]


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-taylorshift.py (PyTorch %s, float64)' % torch.__version__,
    'shape': [B, H, N, d],
    'q': flat(q), 'k': flat(k), 'v': flat(v), 'temperature': flat(temperature),
    'direct': flat(direct(q, k, v)),
    'efficient': flat(efficient(q, k, v)),
    'causal': flat(direct(q, k, v, causal=True)),
}
out_path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-taylorshift', 'test', 'fixtures', 'taylorshift.json')
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out_path))
