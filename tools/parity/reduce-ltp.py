"""Parity fixture for @weft/reduce-ltp: a PyTorch port of Learned Token Pruning's importance
score, soft mask and hard mask (Kim et al., arXiv:2107.00910, Eqs. 2-4), with the attention
probabilities computed by scoring projections Wq, Wk (x @ W, H heads, scale Dh^-1/2).
Run: /usr/bin/python3 tools/parity/reduce-ltp.py"""
import json, math, os
import torch

torch.manual_seed(0)
B, L, D, H = 2, 7, 8, 2
Dh = D // H
x = torch.randn(B, L, D)
wq = torch.randn(D, D) * 0.5
wk = torch.randn(D, D) * 0.5
theta, T = 0.14, 0.01

q = (x @ wq).view(B, L, H, Dh).transpose(1, 2)
k = (x @ wk).view(B, L, H, Dh).transpose(1, 2)
A = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(Dh), dim=-1)  # [B, H, L, L]
s = A.mean(dim=1).mean(dim=1)  # Eq. 2: [B, L]
m = torch.sigmoid((s - theta) / T)  # Eq. 4
keep = (s >= theta)  # Eq. 3

out = dict(B=B, L=L, D=D, H=H, theta=theta, T=T, x=x.flatten().tolist(), wq=wq.flatten().tolist(), wk=wk.flatten().tolist(),
           scores=s.flatten().tolist(), soft=(x * m[..., None]).flatten().tolist(), keep=keep.int().tolist())
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'reduce-ltp', 'test', 'fixtures', 'ltp.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', path, 'kept per row', keep.sum(1).tolist())
