"""Parity fixture for @weft/attn-bigbird: our own PyTorch port of Big Bird ITC (arXiv 2007.14062, §2, App. D).

Blocked computation as in the paper's Appendix D: query blocks 0 and nb-1 attend all keys; each
middle query block i gathers key blocks [i-1, i, i+1] + [0, nb-1] (a global block already in the
window is not gathered twice) + its r random blocks R[h][i-1], and takes a softmax over those keys.
The random table is an explicit, fixed input (written below, legal for ITC).
Run: /usr/bin/python3 tools/parity/attn-bigbird.py
"""
import json, os
import torch

torch.manual_seed(0)
B, H, b, nb, r, D = 2, 2, 4, 10, 2, 8
L = nb * b
q, k, v = (torch.randn(B, H, L, D) for _ in range(3))
scale = D ** -0.5

def legal(i, J):
    bad = {0, nb - 1, i - 1, i, i + 1}
    if i == 1: bad.add(nb - 2)
    if i == nb - 2: bad.add(1)
    return J not in bad

g = torch.Generator().manual_seed(1)
table = []
for h in range(H):
    rows = []
    for i in range(1, nb - 1):
        cand = [J for J in range(nb) if legal(i, J)]
        perm = torch.randperm(len(cand), generator=g)[:r].tolist()
        rows.append([cand[p] for p in perm])
    table.append(rows)

out = torch.zeros(B, H, L, D)
qb, kb, vb = (x.view(B, H, nb, b, D) for x in (q, k, v))
for h in range(H):
    for I in (0, nb - 1):
        s = qb[:, h, I] @ k[:, h].transpose(-1, -2) * scale  # [B, b, L]
        out[:, h, I * b:(I + 1) * b] = s.softmax(-1) @ v[:, h]
    for i in range(1, nb - 1):
        blocks = []
        for J in [i - 1, i, i + 1, 0, nb - 1] + table[h][i - 1]:
            if J not in blocks: blocks.append(J)
        kk = torch.cat([kb[:, h, J] for J in blocks], 1)  # [B, |blocks|·b, D]
        vv = torch.cat([vb[:, h, J] for J in blocks], 1)
        s = qb[:, h, i] @ kk.transpose(-1, -2) * scale
        out[:, h, i * b:(i + 1) * b] = s.softmax(-1) @ vv

path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-bigbird', 'test', 'fixtures', 'bigbird.json')
fl = lambda t: [round(x, 7) for x in t.reshape(-1).tolist()]
json.dump({'shape': [B, H, L, D], 'blockSize': b, 'numRandomBlocks': r, 'table': table,
           'q': fl(q), 'k': fl(k), 'v': fl(v), 'out': fl(out)}, open(path, 'w'))
print('wrote', path)
