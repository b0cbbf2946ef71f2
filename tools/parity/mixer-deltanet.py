"""Parity fixtures for @weft/mixer-deltanet: our own PyTorch (float64) port of DeltaNet.

- op: the delta-rule recurrence in fla's layout (B, H, T, D): v~_t = beta_t (v_t - S^T k_t),
  S += k_t v~_t^T, o_t = S^T q_t, with fla's test inputs (randn q, k, v; beta = sigmoid(randn);
  F.normalize(q), F.normalize(k)), q scaled D^-1/2; plus autograd gradients of sum(o * g).
- layer: q = normalize(silu(x Wq)) D^-1/2, k = normalize(silu(x Wk)), v = x Wv,
  beta = sigmoid(x Wb + bb), o -> merge heads -> Wo. nn.Linear weights are [out, in].

Run once: /usr/bin/python3 tools/parity/mixer-deltanet.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-deltanet', 'test', 'fixtures')


def delta_rule(q, k, v, beta):
    B, H, T, Dk = q.shape
    S = torch.zeros(B, H, Dk, v.shape[-1])
    o = []
    for t in range(T):
        kt, vt, qt, bt = k[:, :, t], v[:, :, t], q[:, :, t], beta[:, :, t, None]
        v_new = bt * (vt - torch.einsum('bhkv,bhk->bhv', S, kt))
        S = S + torch.einsum('bhk,bhv->bhkv', kt, v_new)
        o.append(torch.einsum('bhkv,bhk->bhv', S, qt))
    return torch.stack(o, 2)


def flat(t):
    return [round(float(v), 12) for v in t.detach().reshape(-1).tolist()]


os.makedirs(OUT, exist_ok=True)

B, H, T, D = 2, 2, 9, 4
q = F.normalize(torch.randn(B, H, T, D), p=2, dim=-1) * D ** -0.5
k = F.normalize(torch.randn(B, H, T, D), p=2, dim=-1)
v = torch.randn(B, H, T, D)
beta = torch.sigmoid(torch.randn(B, H, T))
g = torch.randn(B, H, T, D)
for t in (q, k, v, beta):
    t.requires_grad_(True)
o = delta_rule(q, k, v, beta)
(o * g).sum().backward()
json.dump({'B': B, 'H': H, 'T': T, 'D': D, 'q': flat(q), 'k': flat(k), 'v': flat(v), 'beta': flat(beta), 'g': flat(g), 'o': flat(o),
           'dq': flat(q.grad), 'dk': flat(k.grad), 'dv': flat(v.grad), 'dbeta': flat(beta.grad)},
          open(os.path.join(OUT, 'delta-rule.json'), 'w'))

B, T, Dm, H = 2, 10, 8, 2
Dh = Dm // H
P = {
    'q_proj.weight': torch.randn(Dm, Dm) / Dm ** 0.5,
    'k_proj.weight': torch.randn(Dm, Dm) / Dm ** 0.5,
    'v_proj.weight': torch.randn(Dm, Dm) / Dm ** 0.5,
    'b_proj.weight': torch.randn(H, Dm) / Dm ** 0.5,
    'b_proj.bias': torch.randn(H) * 0.5,
    'o_proj.weight': torch.randn(Dm, Dm) / Dm ** 0.5,
}
x = torch.randn(B, T, Dm)
heads = lambda t: t.reshape(B, T, H, Dh).transpose(1, 2)
qq = F.normalize(heads(F.silu(x @ P['q_proj.weight'].T)), p=2, dim=-1) * Dh ** -0.5
kk = F.normalize(heads(F.silu(x @ P['k_proj.weight'].T)), p=2, dim=-1)
vv = heads(x @ P['v_proj.weight'].T)
bb = torch.sigmoid(x @ P['b_proj.weight'].T + P['b_proj.bias']).transpose(1, 2)
oo = delta_rule(qq, kk, vv, bb).transpose(1, 2).reshape(B, T, Dm)
y = oo @ P['o_proj.weight'].T
json.dump({'B': B, 'T': T, 'D': Dm, 'H': H, 'x': flat(x), 'y': flat(y),
           'params': {n: {'shape': list(t.shape), 'values': flat(t)} for n, t in P.items()}},
          open(os.path.join(OUT, 'layer.json'), 'w'))
print('wrote', OUT)
