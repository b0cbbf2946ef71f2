"""Parity fixture for @weft/attn-nystrom: a PyTorch port of Nystromformer attention
(Xiong et al. 2021, arXiv 2102.03902, eq. 14-16), following the reference code's conventions:

  Q, K scaled by d^-1/4 each; landmarks = means of n/m consecutive rows;
  out = softmax(Q K_l^T) @ pinv(softmax(Q_l K_l^T)) @ (softmax(Q_l K^T) @ V)
  pinv: 6 iterations Z <- 0.25 Z (13I - AZ(15I - AZ(7I - AZ))), Z0 = A^T / c with
        c = max column-sum over the WHOLE [B, H, m, m] tensor ('original') or per matrix ('exact')
  optional skip: + Conv2d(H, H, (ks, 1), padding=(ks//2, 0), groups=H, bias=False)(V)

Run once: /usr/bin/python3 tools/parity/attn-nystrom.py
(writes plugins/attn-nystrom/test/fixtures/nystrom.json)
"""
import json
import os

import torch
import torch.nn.functional as Fn

torch.manual_seed(2102)

B, H, n, d, m, ks = 2, 2, 12, 4, 4, 3
q = torch.randn(B, H, n, d, dtype=torch.float64)
k = torch.randn(B, H, n, d, dtype=torch.float64)
v = torch.randn(B, H, n, d, dtype=torch.float64)
conv_w = 0.5 * torch.randn(H, 1, ks, 1, dtype=torch.float64)


def iterative_inv(mat, n_iter=6, init='original'):
    I = torch.eye(mat.size(-1), dtype=mat.dtype)
    K = mat
    if init == 'original':
        V = 1 / torch.max(torch.sum(K, dim=-2)) * K.transpose(-1, -2)
    else:
        V = 1 / torch.max(torch.sum(K, dim=-2), dim=-1).values[:, :, None, None] * K.transpose(-1, -2)
    for _ in range(n_iter):
        KV = K @ V
        V = (0.25 * V) @ (13 * I - KV @ (15 * I - KV @ (7 * I - KV)))
    return V


def nystrom(q, k, v, m, init='original', conv=None):
    Q = q / d ** 0.25
    K = k / d ** 0.25
    if m == n:
        out = torch.softmax(Q @ K.transpose(-1, -2), dim=-1) @ v
    else:
        Ql = Q.reshape(B, H, m, n // m, d).mean(dim=-2)
        Kl = K.reshape(B, H, m, n // m, d).mean(dim=-2)
        k1 = torch.softmax(Q @ Kl.transpose(-1, -2), dim=-1)
        k2 = torch.softmax(Ql @ Kl.transpose(-1, -2), dim=-1)
        k3 = torch.softmax(Ql @ K.transpose(-1, -2), dim=-1)
        out = (k1 @ iterative_inv(k2, 6, init)) @ (k3 @ v)
    if conv is not None:
        out = out + Fn.conv2d(v, conv, padding=(ks // 2, 0), groups=H)
    return out


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-nystrom.py (PyTorch %s, float64)' % torch.__version__,
    'shape': [B, H, n, d], 'landmarks': m, 'convKernelSize': ks,
    'q': flat(q), 'k': flat(k), 'v': flat(v), 'convWeight': flat(conv_w),
    'original': flat(nystrom(q, k, v, m, 'original')),
    'exact': flat(nystrom(q, k, v, m, 'exact')),
    'originalConv': flat(nystrom(q, k, v, m, 'original', conv_w)),
    'dense': flat(nystrom(q, k, v, n)),
}
out_path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-nystrom', 'test', 'fixtures', 'nystrom.json')
os.makedirs(os.path.dirname(out_path), exist_ok=True)
with open(out_path, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out_path))
