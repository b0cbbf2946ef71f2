"""Parity fixture for @weft/memory-block-recurrent: an independent PyTorch port of the
Block-Recurrent Transformer layer (Hutchins et al. 2022, arXiv:2203.07852, section 3),
batch-first, block by block:

  for each block tau of W tokens (the last one may be shorter):
    sn = RMSNorm(c_tau) + state_ids                        state keys/values/queries from sn
    token t: [softmax(q K^T/sqrt(d) + sliding mask (t-W < u <= t)) V ; softmax(q2 Ks^T/sqrt(d)) Vs] @ W_o
    h = [softmax(qs Ks^T/sqrt(d)) Vs ; softmax(qs2 K_tau^T/sqrt(d)) V_tau]      (per state vector)
    skip:   c' = gate(c, h @ W_z + b_z, h)
    dual:   c1 = gate(c, h @ W_z + b_z, h); u = relu(RMSNorm(c1) @ W1 + b1); c' = gate2(c1, u @ W2 + b2, u)
    single: u = relu(h @ W1 + b1); c' = gate(c, tanh(u @ W2 + b2), u)
    fixed gate: g = sigmoid(b_g); c' = c*g + z*(1-g)
    lstm gate:  i = sigmoid(h W_i + b_i - 1); f = sigmoid(h W_f + b_f + 1); c' = c*f + z*i

Run once: /usr/bin/python3 tools/parity/memory-block-recurrent.py
"""
import json
import os

import torch

torch.manual_seed(0)
D, H, DH, B, W, S, L, F = 8, 2, 4, 2, 3, 3, 8, 12


def linear_params(name, n_in, n_out, bias):
    # torch layout (out, in); exported transposed as [in, out]
    p = {name + '.weight': torch.randn(n_out, n_in) * 0.5}
    if bias:
        p[name + '.bias'] = torch.randn(n_out) * 0.3
    return p


def make_params(gate, configuration):
    p = {}
    for n in ['q_proj', 'k_proj', 'v_proj', 'q2_proj']:
        p.update(linear_params(n, D, H * DH, False))
    p.update(linear_params('o_proj', 2 * H * DH, D, False))
    p['state_init'] = torch.randn(S, D)
    p['state_ids'] = torch.randn(S, D)
    p['state_norm.weight'] = 1 + 0.1 * torch.randn(D)
    for n in ['state_q_proj', 'state_k_proj', 'state_v_proj', 'state_q2_proj']:
        p.update(linear_params(n, D, H * DH, False))

    def gate_params(name, hidden):
        if gate == 'fixed':
            p[name + '.bias'] = torch.randn(D) * 0.3
        else:
            p.update(linear_params(name + '.input', hidden, D, True))
            p.update(linear_params(name + '.forget', hidden, D, True))

    if configuration == 'single':
        p.update(linear_params('state_ffn_in', 2 * H * DH, F, True))
        p.update(linear_params('state_ffn_out', F, D, True))
        gate_params('state_gate', F)
    else:
        p.update(linear_params('state_proj', 2 * H * DH, D, True))
        gate_params('state_gate', 2 * H * DH)
        if configuration == 'dual':
            p['state_ffn_norm.weight'] = 1 + 0.1 * torch.randn(D)
            p.update(linear_params('state_ffn_in', D, F, True))
            p.update(linear_params('state_ffn_out', F, D, True))
            gate_params('state_ffn_gate', F)
    return p


def lin(p, name, x, bias):
    y = x @ p[name + '.weight'].t()
    return y + p[name + '.bias'] if bias else y


def rms(p, name, x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * p[name + '.weight']


def heads(t):  # (B, n, H*DH) -> (B, H, n, DH)
    return t.view(t.size(0), t.size(1), H, DH).transpose(1, 2)


def merge(t):  # (B, H, n, DH) -> (B, n, H*DH)
    return t.transpose(1, 2).reshape(t.size(0), t.size(2), H * DH)


def attend(q, k, v, allowed=None):
    score = q @ k.transpose(-1, -2) / DH ** 0.5
    if allowed is not None:
        score = score.masked_fill(~allowed, float('-inf'))
    return torch.softmax(score, -1) @ v


def gate_apply(p, name, kind, c, z, h):
    if kind == 'fixed':
        g = torch.sigmoid(p[name + '.bias'])
        return c * g + z * (1 - g)
    i = torch.sigmoid(lin(p, name + '.input', h, True) - 1)
    f = torch.sigmoid(lin(p, name + '.forget', h, True) + 1)
    return c * f + z * i


def layer(p, gate, configuration, x):
    q, q2 = heads(lin(p, 'q_proj', x, False)), heads(lin(p, 'q2_proj', x, False))
    k, v = heads(lin(p, 'k_proj', x, False)), heads(lin(p, 'v_proj', x, False))
    pos = torch.arange(L)
    window = (pos[None, :] <= pos[:, None]) & (pos[None, :] > pos[:, None] - W)  # (L, L)
    c = p['state_init'].unsqueeze(0).expand(B, S, D)
    ys = []
    for start in range(0, L, W):
        end = min(L, start + W)
        sn = rms(p, 'state_norm', c) + p['state_ids']
        ks, vs = heads(lin(p, 'state_k_proj', sn, False)), heads(lin(p, 'state_v_proj', sn, False))
        self_out = attend(q[:, :, start:end], k, v, window[start:end])  # full-length keys, masked
        cross_out = attend(q2[:, :, start:end], ks, vs)
        ys.append(torch.cat([merge(self_out), merge(cross_out)], -1) @ p['o_proj.weight'].t())
        qs, qs2 = heads(lin(p, 'state_q_proj', sn, False)), heads(lin(p, 'state_q2_proj', sn, False))
        h = torch.cat([merge(attend(qs, ks, vs)), merge(attend(qs2, k[:, :, start:end], v[:, :, start:end]))], -1)
        if configuration == 'single':
            u = torch.relu(lin(p, 'state_ffn_in', h, True))
            c = gate_apply(p, 'state_gate', gate, c, torch.tanh(lin(p, 'state_ffn_out', u, True)), u)
            continue
        c = gate_apply(p, 'state_gate', gate, c, lin(p, 'state_proj', h, True), h)
        if configuration == 'dual':
            u = torch.relu(lin(p, 'state_ffn_in', rms(p, 'state_ffn_norm', c), True))
            c = gate_apply(p, 'state_ffn_gate', gate, c, lin(p, 'state_ffn_out', u, True), u)
    return torch.cat(ys, 1), c


cases = []
for gate, configuration in [('fixed', 'skip'), ('lstm', 'dual'), ('lstm', 'single')]:
    p = make_params(gate, configuration)
    x = torch.randn(B, L, D)
    y, c = layer(p, gate, configuration, x)
    params = {n: (t.t() if t.dim() == 2 and n.endswith('.weight') else t).tolist() for n, t in p.items()}
    cases.append({'gate': gate, 'configuration': configuration, 'params': params, 'x': x.tolist(), 'y': y.tolist(), 'state': c.tolist()})

fixture = {'dModel': D, 'heads': H, 'headDim': DH, 'blockLength': W, 'stateSize': S, 'ffnHidden': F, 'cases': cases}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'memory-block-recurrent', 'test', 'fixtures', 'block-recurrent.json')
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path, os.path.getsize(path), 'bytes')
