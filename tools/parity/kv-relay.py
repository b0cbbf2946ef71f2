"""Parity fixture for @weft/kv-relay: RelayAttention (Zhu et al. 2024, arXiv 2402.14808, Sec. 3.2, Eq. 4-6).

Our own PyTorch port: queries of B requests attend to a system prompt shared by all rows
(keys/values with batch 1) and, causally, to their own request keys. Each part's output and
log-sum-exp come from plain softmax attention; the relay output is the Eq. 6 merge
(e^{lse_s} O_s + e^{lse_r} O_r) / (e^{lse_s} + e^{lse_r}). Float64, fixed seed. Writes
plugins/kv-relay/test/fixtures/relay.json.
Run: /usr/bin/python3 tools/parity/kv-relay.py
"""
import json
import math
import os

import torch

torch.manual_seed(2402)
B, H, LS, LR, T, DH = 2, 2, 5, 4, 2, 4  # the T queries are the last T request tokens
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'kv-relay', 'test', 'fixtures')


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


q = torch.randn(B, H, T, DH, dtype=torch.float64)
ks = torch.randn(1, H, LS, DH, dtype=torch.float64)
vs = torch.randn(1, H, LS, DH, dtype=torch.float64)
kr = torch.randn(B, H, LR, DH, dtype=torch.float64)
vr = torch.randn(B, H, LR, DH, dtype=torch.float64)
scale = 1 / math.sqrt(DH)

# System part: no mask (every system token precedes every request token).
s_logits = torch.einsum('bhtd,hld->bhtl', q, ks[0]) * scale
lse_s = torch.logsumexp(s_logits, dim=-1)
o_s = torch.einsum('bhtl,hld->bhtd', torch.softmax(s_logits, dim=-1), vs[0])

# Request part: causal, query i (the (LR - T + i)-th request token) sees request tokens j <= LR - T + i.
r_logits = torch.einsum('bhtd,bhld->bhtl', q, kr) * scale
mask = torch.arange(LR)[None, :] <= (torch.arange(T)[:, None] + LR - T)
r_logits = r_logits.masked_fill(~mask, float('-inf'))
lse_r = torch.logsumexp(r_logits, dim=-1)
o_r = torch.einsum('bhtl,bhld->bhtd', torch.softmax(r_logits, dim=-1), vr)

w_s = torch.exp(lse_s)[..., None]
w_r = torch.exp(lse_r)[..., None]
o = (w_s * o_s + w_r * o_r) / (w_s + w_r)  # Eq. 6

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'relay.json'), 'w') as f:
    json.dump({'B': B, 'H': H, 'Ls': LS, 'Lr': LR, 'T': T, 'Dh': DH,
               'q': flat(q), 'ks': flat(ks), 'vs': flat(vs), 'kr': flat(kr), 'vr': flat(vr),
               'lseSys': flat(lse_s), 'lseReq': flat(lse_r), 'out': flat(o)}, f)
print('wrote relay.json')
