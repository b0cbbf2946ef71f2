"""Parity fixture for @weft/mixer-hyena: our own PyTorch port of the Hyena operator (arXiv 2302.10866,
Alg. 1-3, order 2) following the reference HyenaOperator/HyenaFilter conventions (positional features
[t, cos, -sin] of exp(-i f w) over l_max, Sin activation with one shared learned frequency,
exponential modulation, '(o d)' filter split, short depthwise Conv1d k=3 padding 2, FFT long conv
with a per-channel bias skip), float64.
Run once: /usr/bin/python3 tools/parity/mixer-hyena.py -> plugins/mixer-hyena/test/fixtures/hyena.json
"""
import json, math, os
import torch

torch.manual_seed(2)
f64 = torch.float64
B, d, L, l_max, order, F, E, inner_mlps = 2, 4, 10, 16, 2, 8, 3, 2
C = d * (order - 1)
inner = d * (order + 1)


def lin(i, o, bias=True):
    w = torch.randn(o, i, dtype=f64) / math.sqrt(i)
    return (w, 0.1 * torch.randn(o, dtype=f64) if bias else None)


in_w, in_b = lin(d, inner)
out_w, out_b = lin(d, d)
short_w = torch.randn(inner, 1, 3, dtype=f64) * 0.5
short_b = torch.randn(inner, dtype=f64) * 0.1
mlp = [lin(E, F)] + [lin(F, F) for _ in range(inner_mlps)] + [lin(F, C, bias=False)]
freq = 1.0 + 0.2 * torch.randn(1, F, dtype=f64)
fbias = torch.randn(C, dtype=f64)
u = torch.randn(B, L, d, dtype=f64)

# PositionalEmbedding(emb_dim, l_max)
t = torch.linspace(0, 1, l_max, dtype=f64)[None, :, None]
bands = (E - 1) // 2
t_rescaled = torch.linspace(0, l_max - 1, l_max, dtype=f64)[None, :, None]
w = 2 * math.pi * t_rescaled / l_max
f = torch.linspace(1e-4, bands - 1, bands, dtype=f64)[None, None]
zc = torch.exp(-1j * f * w)
z = torch.cat([t, zc.real, zc.imag], dim=-1)[:, :L]
t = t[:, :L]

h = z
for i, (W, b) in enumerate(mlp):
    h = h @ W.T + (b if b is not None else 0)
    if i < len(mlp) - 1:
        h = torch.sin(freq * h)
max_decay = math.log(1e-2) / 0.3
min_decay = math.log(1e-2) / 1.5
deltas = torch.linspace(min_decay, max_decay, C, dtype=f64)[None, None]
h = h * torch.exp(-t * deltas.abs())  # (1, L, C)
k = h[0].T.reshape(order - 1, d, L)  # 'l (o d) -> o d l'
bias = fbias.reshape(order - 1, d)


def fftconv(x, kk, D):
    n = 2 * x.shape[-1]
    y = torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(kk, n=n) / n, n=n, norm='forward')[..., : x.shape[-1]]
    return y + x * D.unsqueeze(-1)


x = (u @ in_w.T + in_b).transpose(1, 2)  # (B, inner, L)
uc = torch.nn.functional.conv1d(x, short_w, short_b, padding=2, groups=inner)[..., :L]
*xs, v = uc.split(d, dim=1)
for o, x_i in enumerate(reversed(xs[1:])):
    v = fftconv(v * x_i, k[o], bias[o])
y = (v * xs[0]).transpose(1, 2) @ out_w.T + out_b

fl = lambda a: [float(q) for q in a.reshape(-1).tolist()]
fx = {'B': B, 'd': d, 'L': L, 'l_max': l_max, 'order': order, 'filter_order': F, 'emb_dim': E, 'num_inner_mlps': inner_mlps,
      'in_proj.weight': fl(in_w), 'in_proj.bias': fl(in_b), 'out_proj.weight': fl(out_w), 'out_proj.bias': fl(out_b),
      'short_filter.weight': fl(short_w), 'short_filter.bias': fl(short_b), 'freq': fl(freq), 'bias': fl(fbias),
      'mlp': [{'weight': fl(W), 'bias': fl(b) if b is not None else None} for W, b in mlp],
      'z': fl(z), 'h': fl(h[0]), 'u': fl(u), 'y': fl(y)}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-hyena', 'test', 'fixtures', 'hyena.json')
with open(path, 'w') as fp:
    json.dump(fx, fp)
print('wrote', path)
