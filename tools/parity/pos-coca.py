"""Parity fixture for @weft/pos-coca: an independent PyTorch port of CoCA's collinear
constrained attention score (Zhu et al. 2023, arXiv 2309.08646).

Each rotary plane i of a head is treated as a complex number z = x_a + i x_b. The slack T (the
key projection) gives t_n^i = relu((T_a + T_b) / 2) (reference code: t_states halves averaged,
then F.relu). The key scored against query m is k_{m,n}^i = t_n^i q_m^i (collinear constraint),
rotated at its own position: score(m, n) = sum_i Re(conj(q_m^i e^{i m th_i}) * k_{m,n}^i e^{i n th_i}).
This materialises every constrained key ([B, H, Lq, Lk, P] complex), the quadratic form the
plugin avoids. GQA: query head h uses key head h // (H / Hkv).
Run once with Debian's python3 (torch 1.13):  /usr/bin/python3 tools/parity/pos-coca.py
Writes plugins/pos-coca/test/fixtures/coca.json.
"""
import json
import os
import torch

torch.manual_seed(2309)
B, H, HKV, LQ, LK, DH, BASE = 2, 4, 2, 4, 6, 8, 10000.0
P = DH // 2


def planes(x, layout):
    # x [..., Dh] -> complex [..., P]
    if layout == "interleaved":
        a, b = x[..., 0::2], x[..., 1::2]
    else:
        a, b = x[..., :P], x[..., P:]
    return torch.complex(a.double(), b.double())


def coca_scores(q, k, qpos, kpos, layout):
    th = 1.0 / (BASE ** (torch.arange(0, DH, 2, dtype=torch.float64) / DH))  # [P]
    qc = planes(q, layout)  # [B, H, Lq, P]
    tc = planes(k, layout)  # [B, Hkv, Lk, P]
    t = torch.relu((tc.real + tc.imag) / 2)  # [B, Hkv, Lk, P]
    t = t.repeat_interleave(H // HKV, dim=1)  # [B, H, Lk, P]
    keys = t[:, :, None, :, :] * qc[:, :, :, None, :]  # [B, H, Lq, Lk, P] constrained keys
    qrot = qc * torch.polar(torch.ones(1, dtype=torch.float64), qpos.double()[:, None, :, None] * th)  # [B, H, Lq, P]
    krot = keys * torch.polar(torch.ones(1, dtype=torch.float64), kpos.double()[:, None, None, :, None] * th)
    return (qrot.conj()[:, :, :, None, :] * krot).real.sum(-1)  # [B, H, Lq, Lk]


q = torch.randn(B, H, LQ, DH)
k = torch.randn(B, HKV, LK, DH)
qpos = torch.tensor([[5, 6, 7, 8], [20, 21, 22, 23]])
kpos = torch.tensor([[3, 4, 5, 6, 7, 8], [18, 19, 20, 21, 22, 23]])
cases = [{"options": {"layout": lay}, "scores": coca_scores(q, k, qpos, kpos, lay).float().flatten().tolist()} for lay in ("half-split", "interleaved")]
out = {
    "source": f"tools/parity/pos-coca.py (torch {torch.__version__})",
    "shapes": {"q": list(q.shape), "k": list(k.shape), "qPositions": list(qpos.shape), "kPositions": list(kpos.shape), "scores": [B, H, LQ, LK]},
    "inputs": {"q": q.flatten().tolist(), "k": k.flatten().tolist(), "qPositions": qpos.flatten().tolist(), "kPositions": kpos.flatten().tolist()},
    "cases": cases,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "pos-coca", "test", "fixtures", "coca.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
