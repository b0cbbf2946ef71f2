"""Parity fixtures for @weft/mixer-rwkv: our own PyTorch (float64) port of RWKV-4's math.

- wkv: the numerically stable recurrence of the reference CUDA kernel_forward (running max pp),
  with w = -exp(time_decay), u = time_first, including keys near +60 (naive exp overflows fp32).
- mixer: time-mix (token shift, time_mix_k/v/r, key/value/receptance/output, sigmoid(r) * wkv)
  then channel-mix on ln2(x + a) (token shift, square(relu(key)), sigmoid(receptance) gate);
  output a + c. nn.Linear weights are written [out, in] (PyTorch layout).

Run once: /usr/bin/python3 tools/parity/mixer-rwkv.py
"""
import json
import os

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-rwkv', 'test', 'fixtures')


def kernel_forward(w, u, k, v):
    """w, u: [C]; k, v: [B, T, C] -> y [B, T, C] (port of wkv_cuda.cu kernel_forward)."""
    B, T, C = k.shape
    y = torch.empty_like(k)
    aa = torch.zeros(B, C)
    bb = torch.zeros(B, C)
    pp = torch.full((B, C), -1e38)
    for t in range(T):
        kk, vv = k[:, t], v[:, t]
        ww = u + kk
        p = torch.maximum(pp, ww)
        e1, e2 = torch.exp(pp - p), torch.exp(ww - p)
        y[:, t] = (e1 * aa + e2 * vv) / (e1 * bb + e2)
        ww = w + pp
        p = torch.maximum(ww, kk)
        e1, e2 = torch.exp(ww - p), torch.exp(kk - p)
        aa = e1 * aa + e2 * vv
        bb = e1 * bb + e2
        pp = p
    return y


def time_shift(x):
    return torch.nn.functional.pad(x, (0, 0, 1, -1))  # ZeroPad2d((0, 0, 1, -1))


def rwkv_mixer(x, P):
    xx = time_shift(x)
    xk = x * P['att.time_mix_k'] + xx * (1 - P['att.time_mix_k'])
    xv = x * P['att.time_mix_v'] + xx * (1 - P['att.time_mix_v'])
    xr = x * P['att.time_mix_r'] + xx * (1 - P['att.time_mix_r'])
    k = xk @ P['att.key.weight'].T
    v = xv @ P['att.value.weight'].T
    r = xr @ P['att.receptance.weight'].T
    w = -torch.exp(P['att.time_decay'])
    a = (torch.sigmoid(r) * kernel_forward(w, P['att.time_first'], k, v)) @ P['att.output.weight'].T
    h = torch.nn.functional.layer_norm(x + a, (x.shape[-1],), P['ln2.weight'], P['ln2.bias'], 1e-5)
    hh = time_shift(h)
    hk = h * P['ffn.time_mix_k'] + hh * (1 - P['ffn.time_mix_k'])
    hr = h * P['ffn.time_mix_r'] + hh * (1 - P['ffn.time_mix_r'])
    kf = torch.square(torch.relu(hk @ P['ffn.key.weight'].T))
    c = torch.sigmoid(hr @ P['ffn.receptance.weight'].T) * (kf @ P['ffn.value.weight'].T)
    return a + c


def flat(t):
    return [round(float(v), 12) for v in t.reshape(-1).tolist()]


os.makedirs(OUT, exist_ok=True)

# 1) the WKV operator alone, with large keys (up to +60).
B, T, C = 2, 12, 4
time_decay = torch.randn(C)
w = -torch.exp(time_decay)
u = torch.randn(C)
k = torch.randn(B, T, C) * 3
k[0, 3, 1] = 60.0
k[1, 7, :] = 59.0
k[0, 9, 2] = -60.0
v = torch.randn(B, T, C)
y = kernel_forward(w, u, k, v)
json.dump({'B': B, 'T': T, 'C': C, 'time_decay': flat(time_decay), 'time_first': flat(u), 'k': flat(k), 'v': flat(v), 'y': flat(y)},
          open(os.path.join(OUT, 'wkv.json'), 'w'))

# 2) the whole mixer (time-mix + channel-mix).
B, T, D, F = 2, 10, 8, 16
P = {
    'att.time_decay': torch.randn(D) * 0.5,
    'att.time_first': torch.randn(D) * 0.5,
    'att.time_mix_k': torch.rand(D),
    'att.time_mix_v': torch.rand(D),
    'att.time_mix_r': torch.rand(D),
    'att.key.weight': torch.randn(D, D) / D ** 0.5,
    'att.value.weight': torch.randn(D, D) / D ** 0.5,
    'att.receptance.weight': torch.randn(D, D) / D ** 0.5,
    'att.output.weight': torch.randn(D, D) / D ** 0.5,
    'ln2.weight': 1 + 0.1 * torch.randn(D),
    'ln2.bias': 0.1 * torch.randn(D),
    'ffn.time_mix_k': torch.rand(D),
    'ffn.time_mix_r': torch.rand(D),
    'ffn.key.weight': torch.randn(F, D) / D ** 0.5,
    'ffn.receptance.weight': torch.randn(D, D) / D ** 0.5,
    'ffn.value.weight': torch.randn(D, F) / F ** 0.5,
}
x = torch.randn(B, T, D)
y = rwkv_mixer(x, P)
json.dump({'B': B, 'T': T, 'D': D, 'F': F, 'x': flat(x), 'y': flat(y),
           'params': {name: {'shape': list(t.shape), 'values': flat(t)} for name, t in P.items()}},
          open(os.path.join(OUT, 'mixer.json'), 'w'))
print('wrote', OUT)
