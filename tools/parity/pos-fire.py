"""Parity fixture for @weft/pos-fire: a PyTorch port of FIRE (Li et al., arXiv 2310.04418, §3: the final bias with threshold).

    b(i, j) = MLP( log(|c (i - j)| + 1) / (log(|c max(i, L)| + 1) + eps) ),  L = |L_multiplier * init_L|

MLP: Linear(1, W) -> ReLU -> Linear(W, H). c and L_multiplier are learned. Also records the
gradients of sum(G * bias) with respect to c, L_multiplier and the MLP (autograd), for random G.

Run once: /usr/bin/python3 tools/parity/pos-fire.py  (writes plugins/pos-fire/test/fixtures/fire.json)
"""
import json
import os

import torch

torch.manual_seed(0)


class FirePort(torch.nn.Module):
    def __init__(self, heads, width, init_c, init_L, eps):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(1, width), torch.nn.ReLU(), torch.nn.Linear(width, heads))
        self.c = torch.nn.Parameter(torch.tensor(init_c))
        self.L_multiplier = torch.nn.Parameter(torch.tensor(1.0))
        self.init_L = init_L
        self.eps = eps

    def forward(self, q_pos, k_pos):
        """q_pos [B, Lq], k_pos [B, Lk] (float) -> bias [B, H, Lq, Lk]."""
        i = q_pos[:, :, None]
        rel = i - k_pos[:, None, :]
        threshold = (self.L_multiplier * self.init_L).abs()
        num = torch.log((self.c * rel).abs() + 1)
        den = torch.log((self.c * torch.maximum(i, threshold)).abs() + 1) + self.eps
        x = num / den
        return self.mlp(x[..., None]).permute(0, 3, 1, 2), x


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


cases = []
for name, init_L, init_c, q, k in [
    # short threshold so both branches of max(i, L) occur; c moved off its init
    ('short-threshold', 8.0, 0.37, [[0, 3, 7, 8, 12, 19], [2, 4, 6, 8, 10, 30]], [list(range(0, 20)), list(range(10, 30))]),
    # the paper's defaults, far positions (no query exactly at L: max(i, L) has no gradient at a tie)
    ('defaults', 512.0, 0.1, [[100, 511, 513, 700, 4095, 4096]], [[0, 1, 50, 99, 100, 300, 511, 512, 1000, 4000, 4095, 4096]]),
]:
    H, W = 3, 32
    port = FirePort(H, W, init_c, init_L, 1e-6)
    with torch.no_grad():
        port.L_multiplier.fill_(1.0 if name == 'defaults' else 1.3)
    qp = torch.tensor(q, dtype=torch.float32)
    kp = torch.tensor(k, dtype=torch.float32)
    bias, x = port(qp, kp)
    G = torch.randn(bias.shape)
    (bias * G).sum().backward()
    cases.append({
        'name': name, 'heads': H, 'mlpWidth': W, 'initL': init_L, 'eps': 1e-6,
        'c': float(port.c), 'L_multiplier': float(port.L_multiplier),
        # stored [in, out] (x @ W), the transpose of nn.Linear.weight
        'w1': flat(port.mlp[0].weight.t()), 'b1': flat(port.mlp[0].bias),
        'w2': flat(port.mlp[2].weight.t()), 'b2': flat(port.mlp[2].bias),
        'qPos': q, 'kPos': k,
        'x': flat(x), 'shape': list(bias.shape), 'bias': flat(bias), 'G': flat(G),
        'grad': {
            'c': float(port.c.grad), 'L_multiplier': float(port.L_multiplier.grad),
            'w1': flat(port.mlp[0].weight.grad.t()), 'b1': flat(port.mlp[0].bias.grad),
            'w2': flat(port.mlp[2].weight.grad.t()), 'b2': flat(port.mlp[2].bias.grad),
        },
    })

fixture = {'source': 'tools/parity/pos-fire.py (PyTorch %s, float32)' % torch.__version__, 'cases': cases}
here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, '..', '..', 'plugins', 'pos-fire', 'test', 'fixtures', 'fire.json')
with open(target, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(target), os.path.getsize(target), 'bytes')
for c in cases:
    print(c['name'], 'grad c', c['grad']['c'], 'grad L_multiplier', c['grad']['L_multiplier'])
