"""Parity fixture for @weft/attn-cottention: a PyTorch port of Cottention
(Mongaras, Dohm & Larson 2024, "Cottention: Linear Transformers With Cosine Attention",
arXiv 2409.15358), written from the paper and the conventions in shared/CONVENTIONS.md:

  q, k <- F.normalize(., dim=-1)          (L2, eps 1e-12), no softmax, no 1/sqrt(d)
  sigma_h = sigmoid(m_h)                  (m_h learned per head; GPT code init 0.5)
  causal (GPT code):   counts = causal_mask.sum(-1) = (1, 2, ..., L); V is divided by
                       counts[j] ** sigma_h, i.e. VALUE row j by (j+1)^sigma_h, then
                       out = (Qn Kn^T * mask) @ V'
  bidirectional:       out = (Qn Kn^T) @ V / L^sigma_h
  RNN form:            S_i = S_{i-1} + kn_i^T v_i / (i+1)^sigma_h,  o_i = qn_i S_i  (checked
                       here against the quadratic causal form)

Run once: /usr/bin/python3 tools/parity/attn-cottention.py
(writes plugins/attn-cottention/test/fixtures/cottention.json)
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2409)


def causal_quadratic(q, k, v, m):
    B, H, L, D = q.shape
    qn, kn = F.normalize(q, p=2, dim=-1), F.normalize(k, p=2, dim=-1)
    mask = torch.tril(torch.ones(L, L, dtype=q.dtype))
    counts = mask.sum(-1)  # (1, 2, ..., L): row counts of the mask
    norm = counts[None, None, :, None] ** torch.sigmoid(m)[None, :, None, None]  # [1, H, L, 1], indexed by the VALUE row
    scores = (qn @ kn.transpose(-1, -2)) * mask
    return scores @ (v / norm)


def causal_rnn(q, k, v, m):
    B, H, L, D = q.shape
    Dv = v.shape[-1]
    qn, kn = F.normalize(q, p=2, dim=-1), F.normalize(k, p=2, dim=-1)
    sig = torch.sigmoid(m)[None, :, None, None]
    S = torch.zeros(B, H, D, Dv, dtype=q.dtype)
    out = torch.zeros(B, H, L, Dv, dtype=q.dtype)
    for i in range(L):
        vt = v[:, :, i, None, :] / (i + 1.0) ** sig
        S = S + kn[:, :, i, :, None] * vt
        out[:, :, i] = torch.einsum('bhd,bhde->bhe', qn[:, :, i], S)
    return out, S


def bidirectional(q, k, v, m):
    L = k.shape[2]
    qn, kn = F.normalize(q, p=2, dim=-1), F.normalize(k, p=2, dim=-1)
    return (qn @ kn.transpose(-1, -2)) @ v / (float(L) ** torch.sigmoid(m))[None, :, None, None]


B, H, L, D, Dv = 2, 3, 11, 4, 5
q = torch.randn(B, H, L, D, dtype=torch.float64)
k = torch.randn(B, H, L, D, dtype=torch.float64)
v = torch.randn(B, H, L, Dv, dtype=torch.float64)
m = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)

causal = causal_quadratic(q, k, v, m)
rnn, S = causal_rnn(q, k, v, m)
assert torch.allclose(causal, rnn, atol=1e-12), 'RNN form != quadratic causal form'
bidi = bidirectional(q, k, v, m)

# d(sum(out * w))/dm for the causal and bidirectional forms (autograd), so the jest test can
# compare the plugin's gradient with respect to m_h.
w = torch.randn(B, H, L, Dv, dtype=torch.float64)
mg = m.clone().requires_grad_(True)
(causal_quadratic(q, k, v, mg) * w).sum().backward()
grad_causal = mg.grad.clone()
mg.grad = None
(bidirectional(q, k, v, mg) * w).sum().backward()
grad_bidi = mg.grad.clone()


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


fixture = {
    'source': 'tools/parity/attn-cottention.py (PyTorch %s, float64)' % torch.__version__,
    'shape': [B, H, L, D],
    'valueDim': Dv,
    'q': flat(q), 'k': flat(k), 'v': flat(v), 'm': flat(m), 'w': flat(w),
    'causal': flat(causal),
    'finalState': flat(S),
    'bidirectional': flat(bidi),
    'gradMCausal': flat(grad_causal),
    'gradMBidirectional': flat(grad_bidi),
}
out_path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'attn-cottention', 'test', 'fixtures', 'cottention.json')
with open(out_path, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(out_path))
