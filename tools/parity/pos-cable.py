"""Parity fixture for @weft/pos-cable: an independent PyTorch port of CABLE's bias
(Veisi & Mansourian 2025, arXiv 2503.08067; reference code: b = cumsum(-softplus(h_attn(x)), dim=1),
Bias = b_i - b_j), and of one causal attention layer output using it (scale 1/sqrt(hs)).
Run once with Debian's python3 (torch 1.13):  /usr/bin/python3 tools/parity/pos-cable.py
Writes plugins/pos-cable/test/fixtures/cable.json.
"""
import json
import math
import os
import torch
import torch.nn.functional as F

torch.manual_seed(2503)
B, L, D, H = 2, 6, 8, 2
x = torch.randn(B, L, D)
h_attn = torch.nn.Linear(D, H)
with torch.no_grad():
    h_attn.weight.normal_(0, 0.5)
    h_attn.bias.normal_(0, 0.5)
b = torch.cumsum(-F.softplus(h_attn(x)), dim=1).permute(0, 2, 1)  # [B, H, L]
bias = b.unsqueeze(3) - b.unsqueeze(2)  # [B, H, L, L]
q, k, v = torch.randn(B, H, L, 4), torch.randn(B, H, L, 4), torch.randn(B, H, L, 4)
mask = torch.triu(torch.full((L, L), float("-inf")), diagonal=1)
out = torch.softmax(q @ k.transpose(-1, -2) / 2.0 + bias + mask, -1) @ v
fx = {
    "source": f"tools/parity/pos-cable.py (torch {torch.__version__})",
    "B": B, "L": L, "D": D, "H": H,
    "x": x.flatten().tolist(),
    "W": h_attn.weight.detach().t().flatten().tolist(),  # stored [in, out]
    "c": h_attn.bias.detach().tolist(),
    "bias": bias.detach().flatten().tolist(),
    "q": q.flatten().tolist(), "k": k.flatten().tolist(), "v": v.flatten().tolist(),
    "out": out.detach().flatten().tolist(),
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "pos-cable", "test", "fixtures", "cable.json")
with open(path, "w") as f:
    json.dump(fx, f)
print("wrote", os.path.normpath(path))
