"""Parity fixture for @weft/pos-randomized: a PyTorch port of randomized positional encodings
(Ruoss et al. 2023, arXiv 2305.16843) around sin/cos and RoPE.

    s = sort(randperm(L)[:n])           (n distinct positions from [0, L), ordered)
    sin/cos:  x_t + PE(s_t)             (Weft's standard layout: sin at even dims, cos at odd)
    RoPE:     rotate plane i of q_t, k_t by s_t * base^(-2i/d)  (interleaved planes, RoFormer eq. 34)

The sample s is stored in the fixture: the jest test injects it (randomness as an input).

Run once: /usr/bin/python3 tools/parity/pos-randomized.py
(writes plugins/pos-randomized/test/fixtures/randomized.json)
"""
import json
import os

import torch

torch.manual_seed(0)
B, n, D, H, Lmax = 2, 6, 8, 2, 64
Dh = D // H
s = torch.sort(torch.randperm(Lmax)[:n]).values  # [n]


def sincos(pos, dim, base=10000.0):
    i = torch.arange(dim // 2, dtype=torch.float64)
    angle = pos.double().view(-1, 1) * base ** (-2 * i / dim)  # [n, dim/2]
    pe = torch.zeros(pos.numel(), dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


def rope(x, pos, base=10000.0):
    """x [B, H, n, Dh]: complex-multiplication form over interleaved pairs."""
    d = x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # [d/2]
    angle = pos.double().view(-1, 1) * theta  # [n, d/2]
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(xc * torch.polar(torch.ones_like(angle), angle)).reshape(x.shape)


x = torch.randn(B, n, D, dtype=torch.float64)
q = torch.randn(B, H, n, Dh, dtype=torch.float64)
k = torch.randn(B, H, n, Dh, dtype=torch.float64)


def flat(t):
    return [float(v) for v in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/pos-randomized.py (PyTorch %s, float64)' % torch.__version__,
    'dims': {'B': B, 'n': n, 'D': D, 'H': H, 'Dh': Dh, 'maxLength': Lmax},
    'positions': [int(v) for v in s.tolist()],
    'x': flat(x), 'q': flat(q), 'k': flat(k),
    'sinusoidal': flat(x + sincos(s, D).unsqueeze(0)),
    'ropeQ': flat(rope(q, s)), 'ropeK': flat(rope(k, s)),
}
here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, '..', '..', 'plugins', 'pos-randomized', 'test', 'fixtures', 'randomized.json')
with open(target, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(target), os.path.getsize(target), 'bytes')
