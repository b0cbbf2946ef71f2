"""Parity fixture for @weft/mixer-fnet: FNet's mixing, y = Re(FFT2 over (seq, hidden)), with torch.fft
(the reference implementation's jnp.fft.fftn(x, axes=(-2, -1)).real, here in PyTorch, float64).

Run once: /usr/bin/python3 tools/parity/mixer-fnet.py
"""
import json
import os

import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-fnet', 'test', 'fixtures')
os.makedirs(OUT, exist_ok=True)
B, L, D = 2, 12, 10
x = torch.randn(B, L, D, dtype=torch.float64)
y = torch.fft.fftn(x, dim=(-2, -1)).real
flat = lambda t: [round(float(v), 12) for v in t.reshape(-1).tolist()]
json.dump({'B': B, 'L': L, 'D': D, 'x': flat(x), 'y': flat(y)}, open(os.path.join(OUT, 'fnet.json'), 'w'))
print('wrote', OUT)
