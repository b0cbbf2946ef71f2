"""Parity fixture for @weft/mixer-mingru: minGRU / minLSTM (arXiv 2410.01201), sequential form.

Our own PyTorch port of the paper's recurrences (Sec. 3.1.3 / 3.2.3, h_0 = 0,
g(x) = x + 0.5 for x >= 0 else sigmoid(x)), run step by step in float64 on fixed random
inputs and weights. Writes plugins/mixer-mingru/test/fixtures/{mingru,minlstm}.json.
Weights are nn.Linear layout ([out, in]); the jest test transposes them to Weft's [in, out].
Run: /usr/bin/python3 tools/parity/mixer-mingru.py
"""
import json
import os

import torch

torch.manual_seed(20241002)
B, L, D, EXPANSION = 2, 12, 4, 2
H = D * EXPANSION
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-mingru', 'test', 'fixtures')


def g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def linear(out_f, in_f, bias=True):
    lin = torch.nn.Linear(in_f, out_f, bias=bias)
    return lin


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def run(kind):
    x = torch.randn(B, L, D)
    names = ['linear_z', 'linear_h'] if kind == 'mingru' else ['linear_f', 'linear_i', 'linear_h']
    lins = {n: linear(H, D) for n in names}
    out = linear(D, H, bias=False)
    x64 = x.double()
    W = {n: (l.weight.detach().double(), l.bias.detach().double()) for n, l in lins.items()}
    Wout = out.weight.detach().double()
    h = torch.zeros(B, H, dtype=torch.float64)
    hs = []
    for t in range(L):
        xt = x64[:, t]
        k = {n: xt @ w.T + b for n, (w, b) in W.items()}
        if kind == 'mingru':
            z = torch.sigmoid(k['linear_z'])
            h = (1 - z) * h + z * g(k['linear_h'])
        else:
            f = torch.sigmoid(k['linear_f'])
            i = torch.sigmoid(k['linear_i'])
            fn, iN = f / (f + i), i / (f + i)
            h = fn * h + iN * g(k['linear_h'])
        hs.append(h)
    hs = torch.stack(hs, 1)
    y = hs @ Wout.T
    fixture = {
        'description': f'{kind} sequential recurrence (tools/parity/mixer-mingru.py), float64 reference',
        'B': B, 'L': L, 'D': D, 'expansion': EXPANSION, 'hidden': H,
        'x': flat(x),
        'weights': {n: {'weight': flat(l.weight), 'bias': flat(l.bias), 'shape': [H, D]} for n, l in lins.items()},
        'out': {'weight': flat(out.weight), 'shape': [D, H]},
        'h': flat(hs), 'y': flat(y),
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f'{kind}.json'), 'w') as fh:
        json.dump(fixture, fh)


run('mingru')
run('minlstm')
