"""Parity fixture for @weft/attn-blockwise-parallel: our own PyTorch port of the Blockwise
Parallel Transformer block (arXiv 2305.19370, Algorithm 1): for each query chunk, online-softmax
attention over key/value chunks (running max m, denominator l, accumulator acc), then
h = x + attn W_o, out = h + FFN(LN2(h)); the fixture stores y = out - x (the mixer's residual branch).
Weights are stored [in, out] (Weft's Linear layout). Run: /usr/bin/python3 tools/parity/attn-blockwise-parallel.py
"""
import json, math, os
import torch
import torch.nn.functional as F

torch.manual_seed(0)
B, L, D, H = 2, 10, 16, 2
Dh, hidden, qc, kc = D // H, 4 * D, 4, 3
x = torch.randn(B, L, D)
W = {}
for name, shape in [('ln1.weight', (D,)), ('ln1.bias', (D,)), ('ln2.weight', (D,)), ('ln2.bias', (D,))]:
    W[name] = (1.0 if name.endswith('weight') else 0.0) + 0.3 * torch.randn(shape)
for name, (i, o) in {'wq': (D, D), 'wk': (D, D), 'wv': (D, D), 'wo': (D, D), 'up': (D, hidden), 'down': (hidden, D)}.items():
    W[name + '.weight'] = torch.randn(i, o) / math.sqrt(i)
    W[name + '.bias'] = 0.1 * torch.randn(o)

def lin(t, n): return t @ W[n + '.weight'] + W[n + '.bias']
def ln(t, n): return F.layer_norm(t, (D,), W[n + '.weight'], W[n + '.bias'], 1e-5)
def gelu(t): return 0.5 * t * (1 + torch.tanh(math.sqrt(2 / math.pi) * (t + 0.044715 * t ** 3)))

def bpt(causal):
    u = ln(x, 'ln1')
    heads = lambda t: t.view(B, L, H, Dh).transpose(1, 2)
    q, k, v = heads(lin(u, 'wq')) / math.sqrt(Dh), heads(lin(u, 'wk')), heads(lin(u, 'wv'))
    out = []
    for q0 in range(0, L, qc):
        q1 = min(L, q0 + qc)
        Qi = q[:, :, q0:q1]
        m = torch.full((B, H, q1 - q0, 1), float('-inf'))
        l = torch.zeros(B, H, q1 - q0, 1)
        acc = torch.zeros(B, H, q1 - q0, Dh)
        for k0 in range(0, q1 if causal else L, kc):
            k1 = min(q1 if causal else L, k0 + kc)
            s = Qi @ k[:, :, k0:k1].transpose(-1, -2)
            if causal:
                qi = torch.arange(q0, q1)[:, None]; kj = torch.arange(k0, k1)[None, :]
                s = s.masked_fill(kj > qi, float('-inf'))
            m_new = torch.maximum(m, s.max(-1, keepdim=True).values)
            p = torch.exp(s - m_new)
            corr = torch.exp(m - m_new)
            l = l * corr + p.sum(-1, keepdim=True)
            acc = acc * corr + p @ v[:, :, k0:k1]
            m = m_new
        o = (acc / l).transpose(1, 2).reshape(B, q1 - q0, D)
        a = lin(o, 'wo')
        h = x[:, q0:q1] + a
        out.append(a + lin(gelu(lin(ln(h, 'ln2'), 'up')), 'down'))
    return torch.cat(out, 1)

fl = lambda t: [round(v, 7) for v in t.reshape(-1).tolist()]
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-blockwise-parallel', 'test', 'fixtures', 'bpt.json')
json.dump({'B': B, 'L': L, 'D': D, 'H': H, 'queryChunkSize': qc, 'keyChunkSize': kc, 'x': fl(x),
           'weights': {n: {'shape': list(t.shape), 'data': fl(t)} for n, t in W.items()},
           'causal': fl(bpt(True)), 'bidirectional': fl(bpt(False))}, open(path, 'w'))
print('wrote', path)
