"""Parity fixtures for @weft/mixer-longhorn (arXiv 2407.14207).

Our own PyTorch port of Longhorn's math, as the reference `models/longhorn.py` (Cranial-XIX/longhorn)
writes it in its decoding `step`:
    beta = sigmoid(dt_head(dt)),  eps = beta / (1 + beta * sum(k^2)),
    S = S * (1 - eps (x) k^2) + (eps * x) (x) k,   y = S q + D x,   y * silu(z),
run as a plain loop over L in float64 with the reference layout x, z (b, d, l) and k, q (b, n, l):
  - scan.json: the recurrence alone on random inputs, with an initial state h0;
  - block.json: a whole Longhorn block (in_proj, causal depthwise conv + SiLU, x_proj split
    [dt_rank, d_state, d_state] = (dt, k, q), dt_head, the scan, gate, out_proj).
Writes plugins/mixer-longhorn/test/fixtures/{scan,block}.json.
Run: /usr/bin/python3 tools/parity/mixer-longhorn.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2407)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-longhorn', 'test', 'fixtures')


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def longhorn_ref(x, beta, k, q, D=None, z=None, h0=None):
    """x, beta, z: (b, d, l); k, q: (b, n, l); D: (d,); h0: (b, d, n). float64 loop."""
    x, beta, k, q = (t.double() for t in (x, beta, k, q))
    b, d, l = x.shape
    n = k.shape[1]
    S = torch.zeros(b, d, n, dtype=torch.float64) if h0 is None else h0.double().clone()
    ys = []
    for t in range(l):
        kt, qt = k[:, :, t], q[:, :, t]  # (b, n)
        eps = beta[:, :, t] / (1 + beta[:, :, t] * kt.pow(2).sum(-1, keepdim=True))  # (b, d)
        dA = 1 - torch.einsum('bd,bn->bdn', eps, kt.pow(2))
        dB = torch.einsum('bd,bn->bdn', eps, kt)
        S = S * dA + x[:, :, t, None] * dB
        ys.append(torch.einsum('bdn,bn->bd', S, qt))
    y = torch.stack(ys, dim=2)  # (b, d, l)
    if D is not None:
        y = y + x * D.double()[None, :, None]
    if z is not None:
        y = y * F.silu(z.double())
    return y, S


def scan_fixture():
    b, d, n, l = 2, 4, 8, 13
    x = torch.randn(b, d, l)
    beta = torch.sigmoid(torch.randn(b, d, l))
    k = torch.randn(b, n, l)
    q = torch.randn(b, n, l)
    D = torch.randn(d)
    z = torch.randn(b, d, l)
    h0 = torch.randn(b, d, n)
    y, last = longhorn_ref(x, beta, k, q, D, z, h0)
    return {
        'description': 'Longhorn recurrence, layout (b, d, l) / (b, n, l), float64 loop, from h0',
        'b': b, 'd': d, 'n': n, 'l': l,
        'x': flat(x), 'beta': flat(beta), 'k': flat(k), 'q': flat(q), 'D': flat(D), 'z': flat(z), 'h0': flat(h0),
        'y': flat(y), 'last_state': flat(last),
    }


def block_fixture():
    bsz, L, d_model, d_state, d_conv, expand = 2, 9, 4, 4, 4, 2
    d_inner, dt_rank = expand * d_model, math.ceil(d_model / 16)
    in_proj = torch.nn.Linear(d_model, 2 * d_inner, bias=False)
    conv1d = torch.nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1, bias=True)
    x_proj = torch.nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
    dt_head = torch.nn.Linear(dt_rank, d_inner, bias=True)  # keep torch's random bias: a stronger test than 0
    Dp = torch.ones(d_inner) + 0.1 * torch.randn(d_inner)
    out_proj = torch.nn.Linear(d_inner, d_model, bias=False)
    hs = torch.randn(bsz, L, d_model)
    with torch.no_grad():
        xz = (hs.double() @ in_proj.weight.double().T).transpose(1, 2)  # (b, 2E, l)
        x, z = xz.chunk(2, dim=1)
        x = F.silu(F.conv1d(x, conv1d.weight.double(), conv1d.bias.double(), padding=d_conv - 1, groups=d_inner)[..., :L])
        x_dbl = x.transpose(1, 2) @ x_proj.weight.double().T  # (b, l, R + 2N)
        dt, k, q = torch.split(x_dbl, [dt_rank, d_state, d_state], dim=-1)
        beta = torch.sigmoid(dt @ dt_head.weight.double().T + dt_head.bias.double()).transpose(1, 2)  # (b, E, l)
        y, _ = longhorn_ref(x, beta, k.transpose(1, 2), q.transpose(1, 2), Dp, z)
        out = y.transpose(1, 2) @ out_proj.weight.double().T  # (b, l, D)
    return {
        'description': 'whole Longhorn block (models/longhorn.py layout), float64',
        'B': bsz, 'L': L, 'd_model': d_model, 'd_state': d_state, 'd_conv': d_conv, 'expand': expand, 'dt_rank': dt_rank,
        'x': flat(hs),
        'in_proj.weight': flat(in_proj.weight), 'conv1d.weight': flat(conv1d.weight), 'conv1d.bias': flat(conv1d.bias),
        'x_proj.weight': flat(x_proj.weight), 'dt_head.weight': flat(dt_head.weight), 'dt_head.bias': flat(dt_head.bias),
        'D': flat(Dp), 'out_proj.weight': flat(out_proj.weight),
        'y': flat(out),
    }


os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'scan.json'), 'w') as fh:
    json.dump(scan_fixture(), fh)
with open(os.path.join(OUT, 'block.json'), 'w') as fh:
    json.dump(block_fixture(), fh)
