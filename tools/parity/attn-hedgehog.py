"""Parity fixture for @weft/attn-hedgehog: a PyTorch port of Hedgehog linear attention
(Zhang et al. 2024, "The Hedgehog & the Porcupine", arXiv 2402.04347):

  phi(x) = [exp(x W_h + b_h), exp(-x W_h - b_h)]            (per head; W_h [d, d], b_h [d])
  y_i    = sum_j phi(q_i).phi(k_j) v_j / sum_j phi(q_i).phi(k_j)   (j <= i when causal)
  KL     = mean_i KL( softmax_j(q_i.k_j / sqrt(d)) || normalised phi(q_i).phi(k_j) )

computed here in the quadratic order (the N x N weights first), in float64.

Run once: /usr/bin/python3 tools/parity/attn-hedgehog.py
(writes plugins/attn-hedgehog/test/fixtures/hedgehog.json)
"""
import json
import os

import torch

torch.manual_seed(2402)
B, H, N, d = 2, 2, 7, 3
q = torch.randn(B, H, N, d, dtype=torch.float64)
k = torch.randn(B, H, N, d, dtype=torch.float64)
v = torch.randn(B, H, N, d, dtype=torch.float64)
W = torch.eye(d, dtype=torch.float64).repeat(H, 1, 1) + 0.3 * torch.randn(H, d, d, dtype=torch.float64)
b = 0.2 * torch.randn(H, d, dtype=torch.float64)


def phi(x):
    z = torch.einsum('bhnd,hde->bhne', x, W) + b[None, :, None, :]
    return torch.cat([torch.exp(z), torch.exp(-z)], dim=-1)


def weights(causal):
    a = phi(q) @ phi(k).transpose(-1, -2)
    if causal:
        a = a * torch.tril(torch.ones(N, N, dtype=a.dtype))
    return a / a.sum(-1, keepdim=True)


def kl(causal):
    logits = q @ k.transpose(-1, -2) / d ** 0.5
    if causal:
        logits = logits.masked_fill(torch.triu(torch.ones(N, N, dtype=torch.bool), 1), float('-inf'))
    p = torch.softmax(logits, -1)
    a = weights(causal)
    terms = torch.where(p > 0, p * (torch.log(p) - torch.log(a)), torch.zeros_like(p))
    return terms.sum(-1).mean()


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-hedgehog.py (PyTorch %s, float64)' % torch.__version__,
    'shape': [B, H, N, d],
    'q': flat(q), 'k': flat(k), 'v': flat(v), 'W': flat(W), 'b': flat(b),
    'bidirectional': flat(weights(False) @ v), 'causal': flat(weights(True) @ v),
    'klBidirectional': float(kl(False)), 'klCausal': float(kl(True)),
}
out_path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-hedgehog', 'test', 'fixtures', 'hedgehog.json')
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out_path))
