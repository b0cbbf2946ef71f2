"""Parity fixture for @weft/attn-routing: a PyTorch port of Routing Transformer attention.

Written from the paper (arXiv 2003.05997, sec. 4), not from the plugin:
- routing heads share queries and keys (keys := queries); tokens are routed by the
  L2-normalised query against the centroids mu; balanced assignment: (token, centroid) pairs by
  descending similarity (ties: lower token, then lower centroid), each centroid takes w = L / C
  tokens; attention within a cluster, causal (j <= i), scale as given;
- local heads: sliding window |i - j| <= window, causal;
- training step: mu_c <- decay * mu_c + (1 - decay) * mean of the normalised vectors assigned
  to c (over the batch).
Head layout: the first `routing_heads` heads route, the rest are local.

Run: /usr/bin/python3 tools/parity/attn-routing.py
"""
import json, os
import torch

torch.manual_seed(0)
B, H, L, D, C, HR, WINDOW, DECAY, SCALE = 2, 3, 12, 4, 3, 2, 3, 0.9, 0.5
q = torch.randn(B, H, L, D)
k = torch.randn(B, H, L, D)
v = torch.randn(B, H, L, D)
mu = torch.nn.functional.normalize(torch.randn(HR, C, D), dim=-1)


def balanced(sim):
    Lx, Cx = sim.shape
    w = Lx // Cx
    pairs = sorted(((-float(sim[i, c]), i, c) for i in range(Lx) for c in range(Cx)))
    assign = [-1] * Lx
    room = [w] * Cx
    for _, i, c in pairs:
        if assign[i] < 0 and room[c] > 0:
            assign[i] = c
            room[c] -= 1
    return torch.tensor(assign)


def masked_attention(qh, kh, vh, allowed):
    s = SCALE * qh @ kh.T
    s = s.masked_fill(~allowed, float('-inf'))
    p = torch.softmax(s, dim=-1)
    return torch.nan_to_num(p) @ vh


out = torch.zeros(B, H, L, D)
idx = torch.arange(L)
causal = idx[None, :] <= idx[:, None]
sums = torch.zeros(HR, C, D, dtype=torch.float64)
counts = torch.zeros(HR, C)
for b in range(B):
    for h in range(H):
        if h < HR:
            qn = torch.nn.functional.normalize(q[b, h], dim=-1)
            a = balanced(qn @ mu[h].T)
            allowed = causal & (a[:, None] == a[None, :])
            out[b, h] = masked_attention(q[b, h], q[b, h], v[b, h], allowed)
            for i in range(L):
                sums[h, a[i]] += qn[i].double()
                counts[h, a[i]] += 1
        else:
            allowed = causal & ((idx[:, None] - idx[None, :]).abs() <= WINDOW)
            out[b, h] = masked_attention(q[b, h], k[b, h], v[b, h], allowed)
mu_next = DECAY * mu + (1 - DECAY) * (sums / counts[..., None]).float()

fx = dict(B=B, H=H, L=L, D=D, clusters=C, routingHeads=HR, window=WINDOW, decay=DECAY, scale=SCALE,
          q=q.flatten().tolist(), k=k.flatten().tolist(), v=v.flatten().tolist(),
          centroids=mu.flatten().tolist(), out=out.flatten().tolist(), centroidsNext=mu_next.flatten().tolist())
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-routing', 'test', 'fixtures', 'routing.json')
with open(path, 'w') as f:
    json.dump(fx, f)
print('wrote', path)
