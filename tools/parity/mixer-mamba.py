"""Parity fixtures for @weft/mixer-mamba (arXiv 2312.00752).

Our own PyTorch port of the selective-scan reference math (CONVENTIONS.md, Mamba: mixed
discretisation dA = exp(delta*A), dB*u = delta*B*u; delta <- softplus(delta + delta_bias);
y = C.h + D*u, then y*silu(z)), in the reference layout u, delta, z (B, D, L), B, C (B, N, L),
run as a plain loop over L in float64, with the upstream test's shapes/inits (batch 2, dim 4,
dstate 8, A = -0.5*rand, delta = 0.5*rand, delta_bias = 0.5*rand), and a whole Mamba block
(in_proj, causal depthwise conv + SiLU, x_proj, dt_proj, scan, gate, out_proj).
Writes plugins/mixer-mamba/test/fixtures/{scan,block}.json.
Run: /usr/bin/python3 tools/parity/mixer-mamba.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2312)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-mamba', 'test', 'fixtures')


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """u, delta, z: (b, d, l); A: (d, n); B, C: (b, n, l); D, delta_bias: (d,). float64 loop."""
    u, delta, A, B, C = (t.double() for t in (u, delta, A, B, C))
    if delta_bias is not None:
        delta = delta + delta_bias.double()[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)
    b, d, l = u.shape
    n = A.shape[1]
    x = torch.zeros(b, d, n, dtype=torch.float64)
    ys = []
    for i in range(l):
        dA = torch.exp(delta[:, :, i, None] * A[None])  # (b, d, n)
        dBu = delta[:, :, i, None] * B[:, None, :, i] * u[:, :, i, None]  # (b, d, n)
        x = dA * x + dBu
        ys.append((x * C[:, None, :, i]).sum(-1))  # (b, d)
    y = torch.stack(ys, dim=2)  # (b, d, l)
    if D is not None:
        y = y + u * D.double()[None, :, None]
    if z is not None:
        y = y * F.silu(z.double())
    return y, x


def scan_fixture():
    b, d, n, l = 2, 4, 8, 16
    u = torch.randn(b, d, l)
    delta = 0.5 * torch.rand(b, d, l)
    A = -0.5 * torch.rand(d, n)
    B = torch.randn(b, n, l)
    C = torch.randn(b, n, l)
    D = torch.randn(d)
    z = torch.randn(b, d, l)
    delta_bias = 0.5 * torch.rand(d)
    y, last = scan_ref(u, delta, A, B, C, D, z, delta_bias, True)
    return {
        'description': 'selective_scan reference math, layout (b, d, l) / (b, n, l), float64 loop',
        'b': b, 'd': d, 'n': n, 'l': l,
        'u': flat(u), 'delta': flat(delta), 'A': flat(A), 'B': flat(B), 'C': flat(C), 'D': flat(D), 'z': flat(z),
        'delta_bias': flat(delta_bias), 'y': flat(y), 'last_state': flat(last),
    }


def block_fixture():
    bsz, L, d_model, d_state, d_conv, expand = 2, 7, 4, 4, 4, 2
    d_inner, dt_rank = expand * d_model, math.ceil(d_model / 16)
    in_proj = torch.nn.Linear(d_model, 2 * d_inner, bias=False)
    conv1d = torch.nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1, bias=True)
    x_proj = torch.nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
    dt_proj = torch.nn.Linear(dt_rank, d_inner, bias=True)
    torch.nn.init.uniform_(dt_proj.weight, -dt_rank ** -0.5, dt_rank ** -0.5)
    dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)).clamp(min=1e-4)
    with torch.no_grad():
        dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
    A_log = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d_inner, 1)) + 0.1 * torch.randn(d_inner, d_state)
    Dp = torch.ones(d_inner) + 0.1 * torch.randn(d_inner)
    out_proj = torch.nn.Linear(d_inner, d_model, bias=False)
    hs = torch.randn(bsz, L, d_model)
    with torch.no_grad():
        xz = (hs.double() @ in_proj.weight.double().T).transpose(1, 2)  # (b, 2E, l)
        x, z = xz.chunk(2, dim=1)
        x = F.silu(F.conv1d(x, conv1d.weight.double(), conv1d.bias.double(), padding=d_conv - 1, groups=d_inner)[..., :L])
        x_dbl = x.transpose(1, 2) @ x_proj.weight.double().T  # (b, l, R + 2N)
        dtl, Bm, Cm = torch.split(x_dbl, [dt_rank, d_state, d_state], dim=-1)
        delta = (dtl @ dt_proj.weight.double().T).transpose(1, 2)  # (b, E, l)
        A = -torch.exp(A_log.double())
        y, _ = scan_ref(x, delta, A, Bm.transpose(1, 2), Cm.transpose(1, 2), Dp, z, dt_proj.bias, True)
        out = y.transpose(1, 2) @ out_proj.weight.double().T  # (b, l, D)
    return {
        'description': 'whole Mamba block (mamba_simple layout), float64',
        'B': bsz, 'L': L, 'd_model': d_model, 'd_state': d_state, 'd_conv': d_conv, 'expand': expand, 'dt_rank': dt_rank,
        'x': flat(hs),
        'in_proj.weight': flat(in_proj.weight), 'conv1d.weight': flat(conv1d.weight), 'conv1d.bias': flat(conv1d.bias),
        'x_proj.weight': flat(x_proj.weight), 'dt_proj.weight': flat(dt_proj.weight), 'dt_proj.bias': flat(dt_proj.bias),
        'A_log': flat(A_log), 'D': flat(Dp), 'out_proj.weight': flat(out_proj.weight),
        'y': flat(out),
    }


os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'scan.json'), 'w') as fh:
    json.dump(scan_fixture(), fh)
with open(os.path.join(OUT, 'block.json'), 'w') as fh:
    json.dump(block_fixture(), fh)
