"""Parity fixture for @weft/pos-rope-scaling: an independent PyTorch port of the RoPE bases
in Giraffe (Pal et al. 2023, arXiv 2308.10882, Sec. 3): linear scaling / position
interpolation, the power basis and the truncated basis.

  linear:     angle_i(m) = (m / s) * theta_i
  power:      angle_i(m) = (m / s) * theta_i * (1 - 2i/d)^k
  truncated:  u_i = theta_i / s;  w_i = u_i (u_i >= b), rho (a <= u_i < b), 0 (u_i < a);
              angle_i(m) = m * w_i
with theta_i = base^(-2i/d). Interleaved layout: pairs (2i, 2i+1) as complex numbers times
e^{i angle}; half-split layout: GPT-NeoX rotate_half. Computed in float64.
Run once with Debian's python3 (torch 1.13):  /usr/bin/python3 tools/parity/pos-rope-scaling.py
Writes plugins/pos-rope-scaling/test/fixtures/rope-scaling.json.
"""
import json
import os
import torch

torch.manual_seed(2308)
B, H, HKV, LQ, LK, DH = 2, 2, 1, 5, 6, 8


def angles(pos, d, base, method, scale, power=None, a=None, b=None, rho=None):
    i = torch.arange(d // 2, dtype=torch.float64)
    theta = base ** (-2.0 * i / d)
    m = pos.double()[:, None, :, None]  # [B, 1, L, 1]
    if method == "linear":
        return (m / scale) * theta
    if method == "power":
        return (m / scale) * (theta * (1.0 - 2.0 * i / d) ** power)
    if method == "truncated":
        u = theta / scale
        w = torch.where(u >= b, u, torch.where(u >= a, torch.full_like(u, rho), torch.zeros_like(u)))
        return m * w
    raise ValueError(method)


def rotate(x, ang, d, layout):
    rot, rest = x[..., :d].double(), x[..., d:]
    if layout == "interleaved":
        z = torch.view_as_complex(rot.reshape(*rot.shape[:-1], d // 2, 2).contiguous())
        out = torch.view_as_real(z * torch.polar(torch.ones_like(ang), ang)).reshape(rot.shape)
    else:
        a2 = torch.cat([ang, ang], -1)
        lo, hi = rot.chunk(2, dim=-1)
        out = rot * a2.cos() + torch.cat([-hi, lo], -1) * a2.sin()
    return torch.cat([out.float(), rest], -1)


q = torch.randn(B, H, LQ, DH)
k = torch.randn(B, HKV, LK, DH)
q_pos = torch.randint(0, 400, (B, LQ))
k_pos = torch.randint(0, 400, (B, LK))

CASES = [
    {"method": "linear", "scale": 4.0, "layout": "interleaved"},
    {"method": "linear", "scale": 2.5, "layout": "half-split", "fraction": 0.5},
    {"method": "power", "power": 2.0, "layout": "interleaved"},
    {"method": "power", "power": 0.5, "scale": 2.0, "layout": "half-split"},
    # base 10000, d = 8: theta = 1, 0.1, 0.01, 0.001
    {"method": "truncated", "a": 0.005, "b": 0.05, "rho": 0.002, "layout": "interleaved"},
    # s = 4: u = 0.25, 0.025, 0.0025, 0.00025 -> kept, rho, rho, 0
    {"method": "truncated", "a": 0.001, "b": 0.05, "rho": 0.0004, "scale": 4.0, "layout": "half-split"},
]

cases = []
for c in CASES:
    frac = c.get("fraction", 1.0)
    d = int(frac * DH)
    kw = dict(method=c["method"], scale=c.get("scale", 1.0), power=c.get("power"), a=c.get("a"), b=c.get("b"), rho=c.get("rho"))
    cases.append({
        "options": c,
        "q": rotate(q, angles(q_pos, d, 10000.0, **kw), d, c["layout"]).flatten().tolist(),
        "k": rotate(k, angles(k_pos, d, 10000.0, **kw), d, c["layout"]).flatten().tolist(),
    })

out = {
    "source": "tools/parity/pos-rope-scaling.py (torch %s)" % torch.__version__,
    "shapes": {"q": [B, H, LQ, DH], "k": [B, HKV, LK, DH], "qPositions": [B, LQ], "kPositions": [B, LK]},
    "inputs": {"q": q.flatten().tolist(), "k": k.flatten().tolist(), "qPositions": q_pos.flatten().tolist(), "kPositions": k_pos.flatten().tolist()},
    "cases": cases,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "pos-rope-scaling", "test", "fixtures", "rope-scaling.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
