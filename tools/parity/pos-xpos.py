"""Parity fixture for @weft/pos-xpos: an independent PyTorch port of xPos
(Sun et al. 2022, arXiv 2212.10554, eqs. 9-10) following torchscale's conventions:
interleaved planes, zeta_i = (2i + 0.4d)/(1.4d), q *= zeta^(n_hat/512), k *= zeta^(-n_hat/512),
centred n_hat in [-(L)//2, L - L//2) (Python floor division), rotation angles on positions 0..L-1.
Run once: /usr/bin/python3 tools/parity/pos-xpos.py  -> plugins/pos-xpos/test/fixtures/xpos.json
"""
import json
import os
import torch

torch.manual_seed(2212)
B, H, L, D = 2, 2, 7, 8
SCALE_BASE = 512.0


def xpos(x, downscale):
    # x [B, H, L, D]; returns the rotated and scaled tensor
    half = D // 2
    zeta = (torch.arange(0, D, 2, dtype=torch.float64) + 0.4 * D) / (1.4 * D)  # [D/2]
    min_pos = (-L) // 2
    n_hat = torch.arange(min_pos, min_pos + L, dtype=torch.float64)  # centred positions
    scale = zeta[None, :] ** (n_hat[:, None] / SCALE_BASE)  # [L, D/2]
    if downscale:
        scale = 1.0 / scale
    theta = 1.0 / (10000.0 ** (torch.arange(0, half, dtype=torch.float64) / half))  # = 10000^(-2i/D)
    ang = torch.arange(0, L, dtype=torch.float64)[:, None] * theta[None, :]  # [L, D/2]
    xa = x.double()[..., 0::2]
    xb = x.double()[..., 1::2]
    ya = (xa * ang.cos() - xb * ang.sin()) * scale
    yb = (xa * ang.sin() + xb * ang.cos()) * scale
    return torch.stack([ya, yb], -1).reshape(x.shape).float()


q = torch.randn(B, H, L, D)
k = torch.randn(B, H, L, D)
qx, kx = xpos(q, False), xpos(k, True)
scores = qx @ kx.transpose(-1, -2)
out = {
    "source": "tools/parity/pos-xpos.py (torch %s)" % torch.__version__,
    "shape": [B, H, L, D],
    "centre": -((-L) // 2),
    "scaleBase": SCALE_BASE,
    "q": q.flatten().tolist(),
    "k": k.flatten().tolist(),
    "qOut": qx.flatten().tolist(),
    "kOut": kx.flatten().tolist(),
    "scores": scores.flatten().tolist(),
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "pos-xpos", "test", "fixtures", "xpos.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
