"""Parity fixture for @weft/attn-linear: a PyTorch port of linear attention
(Katharopoulos et al. 2020, "Transformers are RNNs", arXiv 2006.16236).

Follows the reference implementation's conventions (fast-transformers):
  phi(x) = elu(x) + 1, no 1/sqrt(d) scaling, eps = 1e-6 ADDED to the denominator,
  padded keys are zeroed after the feature map.
The causal output is computed with the RNN form of the paper (eq. 18-20): a loop that updates
S_i = S_{i-1} + phi(k_i) v_i^T and z_i = z_{i-1} + phi(k_i) and reads phi(q_i)^T S_i / (phi(q_i)^T z_i + eps).
The bidirectional output uses eq. 6 with sums over all (unpadded) keys.

Run once: /usr/bin/python3 tools/parity/attn-linear.py  (writes plugins/attn-linear/test/fixtures/linear.json)
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2006)
EPS = 1e-6


def phi(x):
    return F.elu(x) + 1


def causal_rnn(q, k, v):
    B, H, L, D = q.shape
    Dv = v.shape[-1]
    fq, fk = phi(q), phi(k)
    S = torch.zeros(B, H, D, Dv, dtype=q.dtype)
    z = torch.zeros(B, H, D, dtype=q.dtype)
    out = torch.zeros(B, H, L, Dv, dtype=q.dtype)
    for i in range(L):
        S = S + fk[:, :, i, :, None] * v[:, :, i, None, :]
        z = z + fk[:, :, i]
        num = torch.einsum('bhd,bhde->bhe', fq[:, :, i], S)
        den = torch.einsum('bhd,bhd->bh', fq[:, :, i], z) + EPS
        out[:, :, i] = num / den[..., None]
    return out, S, z


def bidirectional(q, k, v, key_mask=None):
    fq, fk = phi(q), phi(k)
    if key_mask is not None:
        fk = fk * key_mask[:, None, :, None]
    kv = torch.einsum('bhld,bhle->bhde', fk, v)
    den = torch.einsum('bhld,bhd->bhl', fq, fk.sum(dim=2)) + EPS
    return torch.einsum('bhld,bhde->bhle', fq, kv) / den[..., None]


B, H, L, D, Dv = 2, 3, 11, 4, 5
q = torch.randn(B, H, L, D, dtype=torch.float64)
k = torch.randn(B, H, L, D, dtype=torch.float64)
v = torch.randn(B, H, L, Dv, dtype=torch.float64)
key_mask = torch.ones(B, L, dtype=torch.float64)
key_mask[0, 8:] = 0
key_mask[1, 5:] = 0

causal_out, S, z = causal_rnn(q, k, v)
bidi_out = bidirectional(q, k, v)
bidi_masked = bidirectional(q, k, v, key_mask)


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-linear.py (PyTorch %s, float64)' % torch.__version__,
    'eps': EPS,
    'shape': [B, H, L, D],
    'valueDim': Dv,
    'q': flat(q), 'k': flat(k), 'v': flat(v),
    'keyMask': flat(key_mask),
    'causal': flat(causal_out),
    'finalState': flat(S), 'finalNormaliser': flat(z),
    'bidirectional': flat(bidi_out),
    'bidirectionalMasked': flat(bidi_masked),
}
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
path = os.path.join(root, 'plugins', 'attn-linear', 'test', 'fixtures', 'linear.json')
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path, os.path.getsize(path), 'bytes')
