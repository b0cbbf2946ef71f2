"""Parity fixture for @weft/pos-alibi: a PyTorch port of ALiBi (Press et al. 2022, arXiv 2108.12409).

Follows the paper's reference (fairseq) form: under a causal mask the bias for query i and key j is
+m_h * j (a per-row constant away from -m_h (i - j), which softmax ignores). The plugin uses the
symmetric form -m_h |i - j|; the attention outputs must agree.

Run once: /usr/bin/python3 tools/parity/pos-alibi.py  (writes plugins/pos-alibi/test/fixtures/alibi.json)
"""
import json
import math
import os

import torch

torch.manual_seed(0)


def slopes(n):
    """Head slopes: geometric 2^(-8/n) ratio for powers of two; otherwise the lower power of two's
    slopes followed by every other slope of twice that power."""
    def power_of_two(p):
        first = 2.0 ** (-8.0 / p)
        return [first ** (h + 1) for h in range(p)]

    p = 2 ** int(math.floor(math.log2(n)))
    if p == n:
        return power_of_two(n)
    return power_of_two(p) + power_of_two(2 * p)[0::2][: n - p]


def alibi_attention(q, k, v, m):
    """Causal softmax(q k^T / sqrt(d) + m_h * j) v, fairseq style (bias grows with key index)."""
    B, H, L, D = q.shape
    logits = q @ k.transpose(-1, -2) / math.sqrt(D)  # [B, H, L, L]
    j = torch.arange(L, dtype=torch.float64)
    logits = logits + m.view(1, H, 1, 1) * j.view(1, 1, 1, L)
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    logits = logits.masked_fill(causal, float('-inf'))
    return torch.softmax(logits, dim=-1) @ v


B, H, L, D = 2, 6, 10, 8
q = torch.randn(B, H, L, D, dtype=torch.float64)
k = torch.randn(B, H, L, D, dtype=torch.float64)
v = torch.randn(B, H, L, D, dtype=torch.float64)
m = torch.tensor(slopes(H), dtype=torch.float64)
out = alibi_attention(q, k, v, m)

# The symmetric bias -m_h |i - j| on an offset tile (queries 3..9, keys 0..9).
i = torch.arange(3, L, dtype=torch.float64).view(-1, 1)
jj = torch.arange(0, L, dtype=torch.float64).view(1, -1)
bias_tile = -m.view(H, 1, 1) * (i - jj).abs()  # [H, 7, L]


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/pos-alibi.py (PyTorch %s, float64)' % torch.__version__,
    'dims': {'B': B, 'H': H, 'L': L, 'D': D},
    'slopes': flat(m),
    'q': flat(q), 'k': flat(k), 'v': flat(v),
    'out': {'shape': [B, H, L, D], 'data': flat(out)},
    'biasTile': {'queries': [3, L], 'keys': [0, L], 'shape': [1, H, L - 3, L], 'data': flat(bias_tile)},
    'slopesByHeads': {str(n): slopes(n) for n in [1, 2, 3, 4, 5, 6, 8, 12, 16]},
}
here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, '..', '..', 'plugins', 'pos-alibi', 'test', 'fixtures', 'alibi.json')
with open(target, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(target), os.path.getsize(target), 'bytes')
