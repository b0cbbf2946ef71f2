"""Parity fixture for @weft/attn-galerkin: a PyTorch port of Galerkin and Fourier attention
(Cao 2021, "Choose a Transformer: Fourier or Galerkin", arXiv 2105.14995, eq. 2.3-2.4):

  Galerkin: z = Q (LN(K)^T LN(V)) / n
  Fourier:  z = (LN(Q) LN(K)^T) V / n        (computed here in this, the quadratic, order)

LN is a layer norm over each head's d features with a learned weight and bias per head
(the reference code keeps one nn.LayerNorm(d_k) per head; eps 1e-5). No softmax, no 1/sqrt(d).

Run once: /usr/bin/python3 tools/parity/attn-galerkin.py
(writes plugins/attn-galerkin/test/fixtures/galerkin.json)
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2105)
EPS = 1e-5


def head_ln(x, weight, bias):
    # x [B, H, n, d]; weight, bias [H, d]: one LayerNorm per head
    return torch.stack([F.layer_norm(x[:, h], (x.shape[-1],), weight[h], bias[h], EPS) for h in range(x.shape[1])], dim=1)


B, H, n, d = 2, 3, 9, 4
q = torch.randn(B, H, n, d, dtype=torch.float64)
k = torch.randn(B, H, n, d, dtype=torch.float64)
v = torch.randn(B, H, n, d, dtype=torch.float64)
ga, ba = 1 + 0.3 * torch.randn(H, d, dtype=torch.float64), 0.2 * torch.randn(H, d, dtype=torch.float64)
gb, bb = 1 + 0.3 * torch.randn(H, d, dtype=torch.float64), 0.2 * torch.randn(H, d, dtype=torch.float64)

galerkin = q @ (head_ln(k, ga, ba).transpose(-1, -2) @ head_ln(v, gb, bb)) / n
fourier = (head_ln(q, ga, ba) @ head_ln(k, gb, bb).transpose(-1, -2)) @ v / n


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-galerkin.py (PyTorch %s, float64)' % torch.__version__,
    'eps': EPS,
    'shape': [B, H, n, d],
    'q': flat(q), 'k': flat(k), 'v': flat(v),
    'gainA': flat(ga), 'biasA': flat(ba), 'gainB': flat(gb), 'biasB': flat(bb),
    'galerkin': flat(galerkin), 'fourier': flat(fourier),
}
out_path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-galerkin', 'test', 'fixtures', 'galerkin.json')
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out_path))
