"""Parity fixture for @weft/mixer-h3: our own PyTorch port of the H3 layer (arXiv 2212.14052, Alg. 1,
head_dim 1): shift SSM kernel = its N taps, diagonal SSM kernel (S4D, ZOH, complex tensors), both
applied with the FFT convolution (fftconv) of the reference, float64.
Run once: /usr/bin/python3 tools/parity/mixer-h3.py  -> plugins/mixer-h3/test/fixtures/h3.json
"""
import json, math, os
import torch

torch.manual_seed(1)
B, H, N, L = 2, 4, 6, 10
N2 = N // 2
f64 = torch.float64

lin = lambda: (torch.randn(H, H, dtype=f64) / math.sqrt(H), 0.1 * torch.randn(H, dtype=f64))  # torch Linear [out, in]
q_w, q_b = lin(); k_w, k_b = lin(); v_w, v_b = lin(); o_w, o_b = lin()
shift_C = torch.randn(H, N, dtype=f64)
shift_D = torch.randn(H, dtype=f64)
log_dt = torch.rand(H, dtype=f64) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)
C = torch.randn(H, N2, dtype=torch.complex128)
log_A_real = torch.log(0.5 * torch.ones(H, N2, dtype=f64))
A_imag = math.pi * torch.arange(N2, dtype=f64).repeat(H, 1)
D = torch.randn(H, dtype=f64)
u = torch.randn(B, L, H, dtype=f64)


def fftconv(x, k, Dskip):  # x (B, H, L), k (H, L): causal conv + D x
    n = 2 * x.shape[-1]
    y = torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(k, n=n), n=n)[..., : x.shape[-1]]
    return y + x * Dskip.unsqueeze(-1)


def diag_kernel(L):
    A = -torch.exp(log_A_real) + 1j * A_imag
    dtA = A * torch.exp(log_dt).unsqueeze(-1)
    Cb = C * (torch.exp(dtA) - 1.0) / A
    return 2 * torch.einsum('hn,hnl->hl', Cb, torch.exp(dtA.unsqueeze(-1) * torch.arange(L, dtype=f64))).real


q = (u @ q_w.T + q_b).transpose(1, 2)  # (B, H, L)
k = (u @ k_w.T + k_b).transpose(1, 2)
v = (u @ v_w.T + v_b).transpose(1, 2)
shift_k = torch.nn.functional.pad(shift_C, (0, L - N))  # shift SSM kernel: K_l = C_l for l < N
k = fftconv(k, shift_k, shift_D)
y = fftconv(k * v, diag_kernel(L), D)
y = (q * y).transpose(1, 2)  # (B, L, H)
out = y @ o_w.T + o_b

fl = lambda t: [float(x) for x in t.reshape(-1).tolist()]
fx = {'B': B, 'H': H, 'N': N, 'L': L, 'u': fl(u), 'y': fl(out),
      'q_proj.weight': fl(q_w), 'q_proj.bias': fl(q_b), 'k_proj.weight': fl(k_w), 'k_proj.bias': fl(k_b),
      'v_proj.weight': fl(v_w), 'v_proj.bias': fl(v_b), 'output_linear.weight': fl(o_w), 'output_linear.bias': fl(o_b),
      'shift_C': fl(shift_C), 'shift_D': fl(shift_D), 'log_dt': fl(log_dt), 'C': fl(torch.view_as_real(C)),
      'log_A_real': fl(log_A_real), 'A_imag': fl(A_imag), 'D': fl(D)}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'mixer-h3', 'test', 'fixtures', 'h3.json')
with open(path, 'w') as f:
    json.dump(fx, f)
print('wrote', path)
