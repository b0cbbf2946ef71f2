"""Parity fixture for @weft/kv-tova: TOVA (Oren et al. 2024, arXiv 2401.06104, Sec. 4 / Alg. 1).

Our own PyTorch port: one multi-head attention layer (no biases, no positional encoding,
scale Dh^-1/2) decoded token by token with a KV cache of at most `budget` tokens. Each step
appends the new key/value, attends the query over the cache, then, while the cache is over
budget, drops the token with the lowest attention weight averaged over heads (ties: oldest).
The prompt is fed as one chunk of P tokens (causal), cut using the last prompt token's weights.
Float64, fixed seed. Writes plugins/kv-tova/test/fixtures/tova.json (weights in nn.Linear
[out, in] layout; the jest test transposes them).
Run: /usr/bin/python3 tools/parity/kv-tova.py
"""
import json
import math
import os

import torch

torch.manual_seed(2401)
B, P, L, D, H, BUDGET = 2, 5, 12, 8, 2, 4
DH = D // H
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'kv-tova', 'test', 'fixtures')


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


x = torch.randn(B, L, D, dtype=torch.float64)
w = {n: torch.randn(D, D, dtype=torch.float64) * (1.5 if n in ('wq', 'wk') else 0.5) for n in ('wq', 'wk', 'wv', 'wo')}


def heads(t):  # [B, T, D] -> [B, H, T, Dh]
    return t.view(t.shape[0], t.shape[1], H, DH).transpose(1, 2)


K = torch.zeros(B, H, 0, DH, dtype=torch.float64)
V = torch.zeros(B, H, 0, DH, dtype=torch.float64)
POS = torch.zeros(B, 0, dtype=torch.long)
ys = []
chunks = [(0, P)] + [(t, t + 1) for t in range(P, L)]
for start, end in chunks:
    T = end - start
    xt = x[:, start:end]
    q, k, v = heads(xt @ w['wq'].T), heads(xt @ w['wk'].T), heads(xt @ w['wv'].T)
    K, V = torch.cat([K, k], 2), torch.cat([V, v], 2)
    POS = torch.cat([POS, torch.arange(start, end).expand(B, T)], 1)
    Lc = K.shape[2]
    scores = q @ K.transpose(-1, -2) / math.sqrt(DH)  # [B, H, T, Lc]
    i = torch.arange(T).view(T, 1)
    j = torch.arange(Lc).view(1, Lc)
    scores = scores.masked_fill(j > i + (Lc - T), float('-inf'))
    A = torch.softmax(scores, -1)
    o = A @ V  # [B, H, T, Dh]
    ys.append(o.transpose(1, 2).reshape(B, T, D) @ w['wo'].T)
    if Lc > BUDGET:
        s = A[:, :, -1, :].mean(1)  # [B, Lc] head-averaged weights of the latest query
        keep = []
        for b in range(B):
            order = sorted(range(Lc), key=lambda jj: (float(s[b, jj]), jj))
            dropped = set(order[: Lc - BUDGET])
            keep.append([jj for jj in range(Lc) if jj not in dropped])
        idx = torch.tensor(keep)  # [B, budget]
        K = torch.stack([K[b, :, idx[b]] for b in range(B)])
        V = torch.stack([V[b, :, idx[b]] for b in range(B)])
        POS = torch.stack([POS[b, idx[b]] for b in range(B)])

y = torch.cat(ys, 1)
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'tova.json'), 'w') as f:
    json.dump({
        'B': B, 'P': P, 'L': L, 'D': D, 'H': H, 'budget': BUDGET,
        'x': flat(x), 'y': flat(y), 'keptPositions': [int(p) for p in POS.reshape(-1).tolist()],
        'weights': {n: flat(t) for n, t in w.items()},
    }, f)
