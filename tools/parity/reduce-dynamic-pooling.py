"""Parity fixture for @weft/reduce-dynamic-pooling: a PyTorch port of dynamic token pooling
at inference (Nawrot et al. 2023, arXiv:2211.09761, §3.1 boundary predictor, §3.2 pooling and
upsampling), written from the paper. Run once with /usr/bin/python3 (torch + numpy).

  p_t = sigmoid(Linear2(GELU_tanh(Linear1(x_t))))     b_t = [p_t > 0.5]
  segments end at tokens with b_t = 1; x'_s = mean of the segment's vectors
  out_t = x_t + y[done(t) - 1], done(t) = sum_{u <= t} b_u (0 when done(t) = 0)
"""
import json, os
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
B, L, D, W = 2, 9, 4, 6
x = torch.randn(B, L, D)
hidden = nn.Linear(D, W)
out = nn.Linear(W, 1)
with torch.no_grad():
    out.weight.mul_(4.0)  # spread the logits so the boundaries depend on the tokens

with torch.no_grad():
    p = torch.sigmoid(out(F.gelu(hidden(x), approximate='tanh'))).squeeze(-1)  # [B, L]
    bnd = (p > 0.5).float()
    seg = torch.cumsum(bnd, 1) - bnd                                          # segment of each token
    n = (seg[:, -1] + 1).long()                                               # segments per row
    S = int(n.max())
    short = torch.zeros(B, S, D)
    for b in range(B):
        for s in range(int(n[b])):
            short[b, s] = x[b][seg[b] == s].mean(0)
    y = torch.randn(B, S, D)
    done = torch.cumsum(bnd, 1).long()
    restored = x.clone()
    for b in range(B):
        for t in range(L):
            if done[b, t] >= 1:
                restored[b, t] += y[b, done[b, t] - 1]

res = {
    'B': B, 'L': L, 'D': D, 'W': W, 'S': S,
    'x': x.flatten().tolist(), 'y': y.flatten().tolist(),
    'hidden_weight': hidden.weight.detach().flatten().tolist(), 'hidden_bias': hidden.bias.detach().tolist(),
    'out_weight': out.weight.detach().flatten().tolist(), 'out_bias': out.bias.detach().tolist(),
    'boundaries': bnd.tolist(), 'segments': n.tolist(),
    'shortened': short.flatten().tolist(), 'restored': restored.flatten().tolist(),
}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'reduce-dynamic-pooling', 'test', 'fixtures', 'dynamic-pooling.json')
with open(path, 'w') as f:
    json.dump(res, f)
print('wrote', path, 'boundaries', bnd.tolist(), 'segments', n.tolist())
