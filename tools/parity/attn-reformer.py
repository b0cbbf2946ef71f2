"""Parity fixture for @weft/attn-reformer: our own PyTorch port of Reformer LSH attention
(arXiv 2001.04451 §2; CONVENTIONS.md Reformer): shared QK, keys L2-normalised, queries not;
scale d^-1/2; buckets = argmax([xR, -xR]) per round; stable sort by bucket*L + pos; chunks of
bucket_size attend to self + previous chunk (wrapping); own logit = -5e4; rounds merged with a
softmax of their logsumexps. Rotations R (d, n_hashes, n_buckets/2) are a fixed input.
Run: /usr/bin/python3 tools/parity/attn-reformer.py
"""
import json, os
import torch

torch.manual_seed(0)
B, H, L, D = 2, 2, 16, 8
n_hashes, n_buckets, m = 2, 4, 4
qk = torch.randn(B, H, L, D)
v = torch.randn(B, H, L, D)
R = torch.randn(D, n_hashes, n_buckets // 2)
scale = D ** -0.5

def lsh(causal):
    nC = L // m
    outs, lses = [], []
    keys = qk / (qk.norm(dim=-1, keepdim=True) + 1e-6)
    pos = torch.arange(L)
    for r in range(n_hashes):
        rot = torch.einsum('bhld,dk->bhlk', qk, R[:, r])
        buckets = torch.cat([rot, -rot], -1).argmax(-1)  # (B, H, L)
        sort_key = buckets * L + pos
        perm = sort_key.argsort(-1)  # keys are distinct, so this is the stable order
        undo = perm.argsort(-1)
        g = lambda t: t.gather(2, perm[..., None].expand(-1, -1, -1, t.shape[-1]))
        sq, sk, sv, sp = g(qk), g(keys), g(v), perm
        cq = sq.view(B, H, nC, m, D)
        ck, cv, cp = sk.view(B, H, nC, m, D), sv.view(B, H, nC, m, D), sp.view(B, H, nC, m)
        look = lambda t: torch.cat([t, t.roll(1, dims=2)], 3)
        kk, vv, kp = look(ck), look(cv), look(cp)
        s = torch.einsum('bhcid,bhcjd->bhcij', cq, kk) * scale
        qp = cp[..., :, None]
        kpp = kp[..., None, :]
        s = torch.where(qp == kpp, torch.full_like(s, -5e4), s)
        if causal:
            s = s.masked_fill(kpp > qp, -1e9)
        lse = torch.logsumexp(s, -1, keepdim=True)
        o = torch.einsum('bhcij,bhcjd->bhcid', torch.exp(s - lse), vv).reshape(B, H, L, D)
        lse = lse.reshape(B, H, L, 1)
        outs.append(o.gather(2, undo[..., None].expand(-1, -1, -1, D)))
        lses.append(lse.gather(2, undo[..., None]))
    w = torch.softmax(torch.stack(lses, 0), 0)
    return (w * torch.stack(outs, 0)).sum(0)

fl = lambda t: [round(x, 7) for x in t.reshape(-1).tolist()]
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-reformer', 'test', 'fixtures', 'reformer.json')
json.dump({'shape': [B, H, L, D], 'numHashes': n_hashes, 'numBuckets': n_buckets, 'bucketSize': m,
           'qk': fl(qk), 'v': fl(v), 'R': fl(R), 'bidirectional': fl(lsh(False)), 'causal': fl(lsh(True))}, open(path, 'w'))
print('wrote', path)
