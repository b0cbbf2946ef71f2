"""Parity fixture for @weft/mixer-s4: our own PyTorch port of the S4D block (arXiv 2111.00396,
diagonal form 2206.11893) with complex tensors and the FFT convolution the reference uses.
Run once: /usr/bin/python3 tools/parity/mixer-s4.py  -> plugins/mixer-s4/test/fixtures/s4d.json
"""
import json, math, os
import torch

torch.manual_seed(0)
B, H, N, L = 2, 4, 8, 12
N2 = N // 2
dt_min, dt_max = 1e-3, 1e-1
dt = torch.float64

log_dt = torch.rand(H, dtype=dt) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
C = torch.randn(H, N2, dtype=torch.complex128)
log_A_real = torch.log(0.5 * torch.ones(H, N2, dtype=dt)) + 0.1 * torch.randn(H, N2, dtype=dt)  # perturbed from S4D-Lin
A_imag = math.pi * torch.arange(N2, dtype=dt).repeat(H, 1) + 0.1 * torch.randn(H, N2, dtype=dt)
D = torch.randn(H, dtype=dt)
W_out = torch.randn(2 * H, H, dtype=dt) / math.sqrt(H)  # Conv1d(H, 2H, 1).weight[:, :, 0]
b_out = torch.randn(2 * H, dtype=dt) * 0.1
u = torch.randn(B, H, L, dtype=dt)  # reference layout (B, H, L)


def kernel(L):
    dtv = torch.exp(log_dt)
    A = -torch.exp(log_A_real) + 1j * A_imag
    dtA = A * dtv.unsqueeze(-1)
    K = dtA.unsqueeze(-1) * torch.arange(L, dtype=dt)
    Cb = C * (torch.exp(dtA) - 1.0) / A
    return 2 * torch.einsum('hn,hnl->hl', Cb, torch.exp(K)).real


k = kernel(L)
k_f = torch.fft.rfft(k, n=2 * L)
u_f = torch.fft.rfft(u, n=2 * L)
y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
y = y + u * D.unsqueeze(-1)
y = torch.nn.functional.gelu(y)
y = torch.einsum('oh,bhl->bol', W_out, y) + b_out[None, :, None]
y = torch.nn.functional.glu(y, dim=-2)  # (B, H, L)

fl = lambda t: [float(v) for v in t.reshape(-1).tolist()]
out = {
    'B': B, 'H': H, 'N': N, 'L': L,
    'log_dt': fl(log_dt), 'C': fl(torch.view_as_real(C)), 'log_A_real': fl(log_A_real), 'A_imag': fl(A_imag), 'D': fl(D),
    'output_linear.weight': fl(W_out), 'output_linear.bias': fl(b_out),
    'u': fl(u), 'K': fl(k), 'y': fl(y),
}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-s4', 'test', 'fixtures', 's4d.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', path)
