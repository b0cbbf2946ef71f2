"""Parity fixture for @weft/memory-infini: an independent PyTorch port of Infini-attention
(Munkhdalai, Faruqui, Gopal 2024, arXiv:2404.07143, eq. 2-7), batch-first (B, H, N, d):

  sigma(x) = elu(x) + 1
  A_dot = softmax(Q K^T / sqrt(d_key) + causal) V                         (eq. 2)
  A_mem = sigma(Q) M_{s-1} / (sigma(Q) z_{s-1} + eps)                      (eq. 3; eps = 1e-6, M_0 = 0, z_0 = 0)
  linear: M_s = M_{s-1} + sigma(K)^T V                                     (eq. 4)
  delta:  M_s = M_{s-1} + sigma(K)^T (V - sigma(K) M_{s-1} / (sigma(K) z_{s-1} + eps))   (eq. 5)
  z_s = z_{s-1} + sum_t sigma(K_t)
  A = sigmoid(beta) A_mem + (1 - sigmoid(beta)) A_dot                      (eq. 6)
  O = concat_heads(A) W_O                                                  (eq. 7)

Run once: /usr/bin/python3 tools/parity/memory-infini.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
D, H, DH, B, N, SEGMENTS, EPS = 8, 2, 4, 2, 4, 3, 1e-6


def infini(x, W, update):
    # x: (B, S*N, D)
    sig = lambda t: F.elu(t) + 1
    split = lambda t: t.view(B, -1, H, DH).transpose(1, 2)  # (B, H, N, DH)
    M = torch.zeros(B, H, DH, DH)
    z = torch.zeros(B, H, DH)
    outs = []
    causal = torch.triu(torch.ones(N, N), diagonal=1).bool()
    g = torch.sigmoid(W['beta']).view(1, H, 1, 1)
    for s in range(SEGMENTS):
        seg = x[:, s * N:(s + 1) * N]
        q, k, v = split(seg @ W['wq'].t()), split(seg @ W['wk'].t()), split(seg @ W['wv'].t())
        score = (q @ k.transpose(-1, -2)) / DH ** 0.5
        a_dot = torch.softmax(score.masked_fill(causal, float('-inf')), dim=-1) @ v
        sq, sk = sig(q), sig(k)
        a_mem = (sq @ M) / ((sq @ z.unsqueeze(-1)) + EPS)
        a = g * a_mem + (1 - g) * a_dot
        if update == 'delta':
            retrieved = (sk @ M) / ((sk @ z.unsqueeze(-1)) + EPS)
            M = M + sk.transpose(-1, -2) @ (v - retrieved)
        else:
            M = M + sk.transpose(-1, -2) @ v
        z = z + sk.sum(dim=2)
        outs.append(a.transpose(1, 2).reshape(B, N, H * DH) @ W['wo'].t())
    return torch.cat(outs, 1)


W = {
    'wq': torch.randn(H * DH, D) * 0.5,  # torch Linear weights (out, in), no bias
    'wk': torch.randn(H * DH, D) * 0.5,
    'wv': torch.randn(H * DH, D) * 0.5,
    'wo': torch.randn(D, H * DH) * 0.5,
    'beta': torch.randn(H),
}
x = torch.randn(B, SEGMENTS * N, D)
fixture = {
    'dModel': D, 'heads': H, 'headDim': DH, 'segmentLength': N,
    # Linear weights transposed to [in, out] (x @ W)
    'q_proj': W['wq'].t().tolist(), 'k_proj': W['wk'].t().tolist(), 'v_proj': W['wv'].t().tolist(), 'o_proj': W['wo'].t().tolist(),
    'beta': W['beta'].tolist(),
    'x': x.tolist(), 'y_linear': infini(x, W, 'linear').tolist(), 'y_delta': infini(x, W, 'delta').tolist(),
}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'memory-infini', 'test', 'fixtures', 'infini.json')
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path, os.path.getsize(path), 'bytes')
