"""Parity fixture for @weft/attn-longformer: a PyTorch port of Longformer's banded attention.

Follows the reference implementation's layout (CONVENTIONS.md): q pre-divided by sqrt(d);
scores in a banded layout (B, L, H, 2w+1), column c <-> key i + c - w, out-of-range = -inf;
global tokens attend to all and are attended by all; a global key inside a query's window is
counted once (the reference removes it from the band). Causal: keys after the query are -inf.
Written from the paper (arXiv 2004.05150, sec. 3.1), not from the plugin.

Run: /usr/bin/python3 tools/parity/attn-longformer.py
"""
import json, math, os
import torch

torch.manual_seed(0)
B, H, L, D, W = 2, 2, 11, 4, 2
GLOBALS = [0, 6]
q = torch.randn(B, H, L, D)
k = torch.randn(B, H, L, D)
v = torch.randn(B, H, L, D)


def longformer(q, k, v, w, globals_, causal):
    qs = q / math.sqrt(q.shape[-1])                       # q pre-divided by sqrt(d)
    # Banded scores (B, L, H, 2w+1): column c <-> key i + c - w.
    band = torch.full((B, L, H, 2 * w + 1), float('-inf'))
    for c in range(2 * w + 1):
        off = c - w
        for i in range(L):
            j = i + off
            if 0 <= j < L and not (causal and j > i) and j not in globals_:
                band[:, i, :, c] = (qs[:, :, i] * k[:, :, j]).sum(-1)
    # Global key columns (B, L, H, G): every query sees every global key (causal: earlier ones).
    g = torch.tensor(globals_)
    gcols = torch.einsum('bhid,bhgd->bihg', qs, k[:, :, g])
    for gi, j in enumerate(globals_):
        for i in range(L):
            if causal and j > i:
                gcols[:, i, :, gi] = float('-inf')
    p = torch.softmax(torch.cat([gcols, band], -1), -1)
    pg, pb = p[..., : len(globals_)], p[..., len(globals_):]
    out = torch.einsum('bihg,bhgd->bhid', pg, v[:, :, g])
    for c in range(2 * w + 1):
        off = c - w
        for i in range(L):
            j = i + off
            if 0 <= j < L:
                out[:, :, i] += pb[:, i, :, c, None] * v[:, :, j]
    # Global query rows: full attention over all keys.
    for i in globals_:
        s = (qs[:, :, i, None] * k).sum(-1)              # (B, H, L)
        if causal:
            s[:, :, i + 1:] = float('-inf')
        out[:, :, i] = torch.einsum('bhj,bhjd->bhd', torch.softmax(s, -1), v)
    return out


fixture = {
    'shape': [B, H, L, D], 'window': W, 'globalTokens': GLOBALS,
    'q': q.flatten().tolist(), 'k': k.flatten().tolist(), 'v': v.flatten().tolist(),
    'bidirectional': longformer(q, k, v, W, GLOBALS, False).flatten().tolist(),
    'causal': longformer(q, k, v, W, GLOBALS, True).flatten().tolist(),
}
out = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-longformer', 'test', 'fixtures', 'longformer.json')
with open(out, 'w') as f:
    json.dump(fixture, f)
print('wrote', out)
