"""Parity fixture for @weft/reduce-hourglass: a PyTorch port of Hourglass's shortening and
upsampling (Nawrot et al. 2021, arXiv:2110.13711, Algorithm 1, §3.2 linear pooling, §3.3
linear upsampling), written from the paper. Run once with /usr/bin/python3 (torch + numpy).

  x' = LinearPool(ShiftRight(x, k-1))      x'' = given (what the shortened layers return)
  out = x + LinearUpsample(x'')
"""
import json, os
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
B, L, D, k = 2, 7, 4, 3
Ls = -(-L // k)
x = torch.randn(B, L, D)
y = torch.randn(B, Ls, D)
pool = nn.Linear(k * D, D)
up = nn.Linear(D, k * D)

with torch.no_grad():
    shifted = F.pad(x, (0, 0, k - 1, 0))[:, :L]              # shift right by k-1
    shifted = F.pad(shifted, (0, 0, 0, Ls * k - L))           # pad the end to a multiple of k
    short = pool(shifted.reshape(B, Ls, k * D))               # [B, L', D]
    upsampled = up(y).reshape(B, Ls * k, D)[:, :L]            # [B, L, D]
    restored = x + upsampled

out = {
    'B': B, 'L': L, 'D': D, 'k': k,
    'x': x.flatten().tolist(), 'y': y.flatten().tolist(),
    'pool_weight': pool.weight.detach().flatten().tolist(), 'pool_bias': pool.bias.detach().tolist(),
    'up_weight': up.weight.detach().flatten().tolist(), 'up_bias': up.bias.detach().tolist(),
    'shortened': short.flatten().tolist(), 'restored': restored.flatten().tolist(),
}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'reduce-hourglass', 'test', 'fixtures', 'hourglass.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', path)
