"""Parity fixture for @weft/attn-longnet: our own PyTorch port of LongNet dilated attention
(arXiv 2307.02486, §2.2-2.3), following torchscale's layout (CONVENTIONS.md, LongNet):
per (w, r): split into segments of w, heads (padded to a multiple of r) split into r groups,
group g keeps in-segment offsets p % r == g (rearrange 'b (l r1) (r2 h) d -> ...' + diagonal),
attention within kept rows (causal optional), scatter back; merge configs by softmax of lse.
L is a multiple of every w here (torchscale's zero padding never triggers).
Run: /usr/bin/python3 tools/parity/attn-longnet.py
"""
import json, os
import torch

torch.manual_seed(0)
B, H, L, D = 2, 4, 16, 8
ws, rs = [4, 8, 16], [1, 2, 4]
q, k, v = (torch.randn(B, L, H, D) for _ in range(3))  # torchscale layout (b, l, h, d)
scale = D ** -0.5

def dense_to_sparse(x, r):
    # x: (b', g, h, d) -> (b', g/r, H_pad... ) keep head group r2 at offset r2
    hp = (-H) % r
    if hp: x = torch.nn.functional.pad(x, (0, 0, 0, hp))
    b_, g, hh, d = x.shape
    x = x.view(b_, g // r, r, r, hh // r, d)  # (b, l, r1, r2, h, d)
    x = torch.diagonal(x, dim1=2, dim2=3)  # (b, l, h, d, r)
    x = x.permute(0, 1, 4, 2, 3).reshape(b_, g // r, hh, d)  # (b, l, (r h), d)
    return x[:, :, :H]

def sparse_to_dense(o, lse, r, g):
    # o: (b', g/r, H, d), lse: (b', g/r, H) -> (b', g, H, d), (b', g, H) with -inf elsewhere
    b_ = o.shape[0]
    out = torch.zeros(b_, g, H, o.shape[-1])
    l = torch.full((b_, g, H), float('-inf'))
    Hp = H + ((-H) % r)
    per = Hp // r
    for h in range(H):
        s = h // per
        out[:, s::r, h] = o[:, :, h]
        l[:, s::r, h] = lse[:, :, h]
    return out, l

def config(w, r, causal):
    n = L // w
    qs, ks, vs = (x.reshape(B * n, w, H, D) for x in (q, k, v))
    qs, ks, vs = (dense_to_sparse(x, r) for x in (qs, ks, vs))  # (b n, w/r, H, D)
    s = torch.einsum('bihd,bjhd->bhij', qs, ks) * scale
    if causal:
        m = w // r
        s = s.masked_fill(torch.ones(m, m).triu(1).bool(), float('-inf'))
    lse = torch.logsumexp(s, -1)  # (b n, H, w/r)
    o = torch.einsum('bhij,bjhd->bihd', s.softmax(-1), vs)
    o, l = sparse_to_dense(o, lse.transpose(1, 2), r, w)
    return o.reshape(B, L, H, D), l.reshape(B, L, H)

res = {}
for causal in (False, True):
    outs = [config(w, r, causal) for w, r in zip(ws, rs)]
    lse = torch.stack([l for _, l in outs], 0)  # (k, B, L, H)
    a = torch.softmax(lse, 0).unsqueeze(-1)
    o = sum(a[i] * outs[i][0] for i in range(len(outs)))
    res['causal' if causal else 'bidirectional'] = o.permute(0, 2, 1, 3)  # (B, H, L, D)

fl = lambda t: [round(x, 7) for x in t.reshape(-1).tolist()]
bhld = lambda t: t.permute(0, 2, 1, 3)
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-longnet', 'test', 'fixtures', 'longnet.json')
json.dump({'shape': [B, H, L, D], 'segmentLengths': ws, 'dilations': rs,
           'q': fl(bhld(q)), 'k': fl(bhld(k)), 'v': fl(bhld(v)),
           'bidirectional': fl(res['bidirectional']), 'causal': fl(res['causal'])}, open(path, 'w'))
print('wrote', path)
