"""Parity fixture for @weft/pos-rope: an independent PyTorch port of RoFormer's rotary
embedding (arXiv 2104.09864, eqs. 15-16, 34).

Interleaved layout: pairs (2i, 2i+1) viewed as complex numbers and multiplied by e^{i m theta_i}
(the complex form of eq. 15). Half-split layout: GPT-NeoX's rotate_half form.
Run once with Debian's python3 (torch 1.13):  /usr/bin/python3 tools/parity/pos-rope.py
Writes plugins/pos-rope/test/fixtures/rope.json.
"""
import json
import os
import torch

torch.manual_seed(2104)
B, H, HKV, LQ, LK, DH = 2, 3, 1, 5, 4, 8


def inv_freq(d, base):
    return 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float64) / d))


def rope_interleaved(x, pos, d, base):
    # x [B, H, L, Dh], pos [B, L]
    rot, rest = x[..., :d], x[..., d:]
    ang = pos.double()[:, None, :, None] * inv_freq(d, base)  # [B, 1, L, d/2]
    z = torch.view_as_complex(rot.double().reshape(*rot.shape[:-1], d // 2, 2).contiguous())
    out = torch.view_as_real(z * torch.polar(torch.ones_like(ang), ang)).reshape(rot.shape)
    return torch.cat([out.float(), rest], -1)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], -1)


def rope_half_split(x, pos, d, base):
    rot, rest = x[..., :d], x[..., d:]
    ang = pos.double()[:, None, :, None] * inv_freq(d, base)
    ang = torch.cat([ang, ang], -1)  # [B, 1, L, d]
    out = rot.double() * ang.cos() + rotate_half(rot.double()) * ang.sin()
    return torch.cat([out.float(), rest], -1)


q = torch.randn(B, H, LQ, DH)
k = torch.randn(B, HKV, LK, DH)
q_pos = torch.randint(0, 60, (B, LQ))
k_pos = torch.randint(0, 60, (B, LK))

cases = []
for layout, fraction, base in [("interleaved", 1.0, 10000.0), ("half-split", 1.0, 10000.0), ("interleaved", 0.5, 500.0), ("half-split", 0.5, 500.0)]:
    d = int(fraction * DH)
    fn = rope_interleaved if layout == "interleaved" else rope_half_split
    cases.append({
        "options": {"layout": layout, "fraction": fraction, "base": base},
        "q": fn(q, q_pos, d, base).flatten().tolist(),
        "k": fn(k, k_pos, d, base).flatten().tolist(),
    })

out = {
    "source": "tools/parity/pos-rope.py (torch %s)" % torch.__version__,
    "shapes": {"q": [B, H, LQ, DH], "k": [B, HKV, LK, DH], "qPositions": [B, LQ], "kPositions": [B, LK]},
    "inputs": {"q": q.flatten().tolist(), "k": k.flatten().tolist(), "qPositions": q_pos.flatten().tolist(), "kPositions": k_pos.flatten().tolist()},
    "cases": cases,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "pos-rope", "test", "fixtures", "rope.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
