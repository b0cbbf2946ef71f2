"""Parity fixture for @weft/attn-latte: a PyTorch port of Latte latent attention
(Dolga et al. 2024, "Latent Attention for Linear Time Transformers", arXiv 2402.17512):

  p(l|t) = softmax_l(q_t),  q_t = q_t^head W_q  (W_q [H, Dh, L])
  bidirectional: out_t = sum_l p(l|t) sum_s softmax_s(k_{s,l}) v_s
  causal:        out_t = sum_l p(l|t) sum_{s<=t} exp(k_{s,l}) v_s / sum_{s<=t} exp(k_{s,l})
                 (computed here token by token, as the recurrence, in float64)

Run once: /usr/bin/python3 tools/parity/attn-latte.py
(writes plugins/attn-latte/test/fixtures/latte.json)
"""
import json
import os

import torch

torch.manual_seed(2402)
B, H, N, Dh, L = 2, 2, 7, 3, 5
q = torch.randn(B, H, N, Dh, dtype=torch.float64)
k = torch.randn(B, H, N, Dh, dtype=torch.float64)
v = torch.randn(B, H, N, Dh, dtype=torch.float64)
Wq = torch.randn(H, Dh, L, dtype=torch.float64) / Dh ** 0.5
Wk = torch.randn(H, Dh, L, dtype=torch.float64) / Dh ** 0.5

ql = torch.einsum('bhnd,hdl->bhnl', q, Wq)
kl = torch.einsum('bhnd,hdl->bhnl', k, Wk)
pq = torch.softmax(ql, dim=-1)

bidirectional = torch.einsum('bhnl,bhld->bhnd', pq, torch.einsum('bhsl,bhsd->bhld', torch.softmax(kl, dim=2), v))

causal = torch.zeros(B, H, N, Dh, dtype=torch.float64)
alpha = torch.zeros(B, H, L, Dh, dtype=torch.float64)
beta = torch.zeros(B, H, L, dtype=torch.float64)
for t in range(N):
    w = torch.exp(kl[:, :, t])                      # [B, H, L]
    alpha = alpha + w[..., None] * v[:, :, t, None, :]
    beta = beta + w
    causal[:, :, t] = torch.einsum('bhl,bhld->bhd', pq[:, :, t], alpha / beta[..., None])


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-latte.py (PyTorch %s, float64)' % torch.__version__,
    'shape': [B, H, N, Dh], 'latents': L,
    'q': flat(q), 'k': flat(k), 'v': flat(v), 'Wq': flat(Wq), 'Wk': flat(Wk),
    'bidirectional': flat(bidirectional), 'causal': flat(causal),
}
out_path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-latte', 'test', 'fixtures', 'latte.json')
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out_path))
