"""Parity fixture for @weft/attn-linformer: a PyTorch port of Linformer attention
(Wang et al. 2020, "Linformer: Self-Attention with Linear Complexity", arXiv 2006.04768, eq. 7):

  K_bar = einsum('bhnd,nk->bhkd', K, E[:n])     (E, F stored as (seq_len, k), sliced to n rows)
  V_bar = einsum('bhnd,nk->bhkd', V, F[:n])
  out   = softmax(Q K_bar^T / sqrt(d), over k) V_bar

Cases: sharing 'headwise' (E, F (seq_len, k)) and 'none' (E, F (H, seq_len, k)), with an input
shorter than seq_len (n = 10 < 12) so the row slicing is exercised.

Run once: /usr/bin/python3 tools/parity/attn-linformer.py
(writes plugins/attn-linformer/test/fixtures/linformer.json)
"""
import json
import math
import os

import torch

torch.manual_seed(2006)

B, H, n, d, seq_len, k = 2, 3, 10, 4, 12, 5
q = torch.randn(B, H, n, d, dtype=torch.float64)
kk = torch.randn(B, H, n, d, dtype=torch.float64)
v = torch.randn(B, H, n, d, dtype=torch.float64)
bound = 1 / math.sqrt(k)
E = torch.empty(seq_len, k, dtype=torch.float64).uniform_(-bound, bound)
F = torch.empty(seq_len, k, dtype=torch.float64).uniform_(-bound, bound)
Eh = torch.empty(H, seq_len, k, dtype=torch.float64).uniform_(-bound, bound)
Fh = torch.empty(H, seq_len, k, dtype=torch.float64).uniform_(-bound, bound)


def linformer(q, k_, v, E, F):
    if E.dim() == 2:
        kb = torch.einsum('bhnd,nk->bhkd', k_, E[:n])
        vb = torch.einsum('bhnd,nk->bhkd', v, F[:n])
    else:
        kb = torch.einsum('bhnd,hnk->bhkd', k_, E[:, :n])
        vb = torch.einsum('bhnd,hnk->bhkd', v, F[:, :n])
    attn = torch.softmax(q @ kb.transpose(-1, -2) / math.sqrt(d), dim=-1)
    return attn @ vb


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-linformer.py (PyTorch %s, float64)' % torch.__version__,
    'shape': [B, H, n, d], 'seqLen': seq_len, 'k': k,
    'q': flat(q), 'key': flat(kk), 'v': flat(v),
    'E': flat(E), 'F': flat(F), 'Eh': flat(Eh), 'Fh': flat(Fh),
    'headwise': flat(linformer(q, kk, v, E, F)),
    'none': flat(linformer(q, kk, v, Eh, Fh)),
}
out_path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-linformer', 'test', 'fixtures', 'linformer.json')
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out_path))
