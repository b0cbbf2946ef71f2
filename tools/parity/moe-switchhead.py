"""Parity fixture for @weft/moe-switchhead: a PyTorch port of SwitchHead attention
(Csordas, Piekos, Irie & Schmidhuber 2023, arXiv 2312.07987), written from the paper's §3:

  s^S_h = sigmoid(x W^S_h), s^D_h = sigmoid(x W^D_h)           [T, E] per head
  E^S_h = topk(s^S_h, k), E^D_h = topk(s^D_h, k)
  V_h = sum_{e in E^S_h} s^S_h,e x W^V_h,e                      (source side)
  Q_h = x W^Q_h, K_h = x W^K_h                                   (dense)
  A_h = softmax(Q_h K_h^T / sqrt(Dh)) with a causal mask
  y = sum_h sum_{e in E^D_h} s^D_h,e (A_h V_h) W^O_h,e           (destination side)

Parameter layout follows the authors' public code (RobertCsordas/moe_attention): expert
projections stacked as [H*E, D, Dh] (values) and [H*E, Dh, D] (outputs), selection weights
[H*E, D], q/k as nn.Linear weights [H*Dh, D]. The jest test maps them into Weft's [in, out].

Run once: /usr/bin/python3 tools/parity/moe-switchhead.py
(writes plugins/moe-switchhead/test/fixtures/switchhead.json)
"""
import json
import math
import os

import torch

torch.manual_seed(2312)
B, L, D, H, Dh, E, K = 2, 5, 8, 2, 4, 4, 2


def sigma_moe_gates(x, sel):
    s = torch.sigmoid(x @ sel.T).view(B, L, H, E)           # [B, L, H, E]
    top = s.topk(K, dim=-1).indices
    mask = torch.zeros_like(s).scatter_(-1, top, 1.0)
    return s * mask


def switchhead(x, wq, wk, wv, wo, sel_v, sel_o):
    q = (x @ wq.T).view(B, L, H, Dh).transpose(1, 2)         # [B, H, L, Dh]
    k = (x @ wk.T).view(B, L, H, Dh).transpose(1, 2)
    gv = sigma_moe_gates(x, sel_v)                          # [B, L, H, E]
    v_all = torch.einsum('bld,ndj->blnj', x, wv).view(B, L, H, E, Dh)
    v = (v_all * gv[..., None]).sum(3).transpose(1, 2)       # [B, H, L, Dh]
    logits = q @ k.transpose(-1, -2) / math.sqrt(Dh)
    mask = torch.ones(L, L).tril().bool()
    att = torch.softmax(logits.masked_fill(~mask, float('-inf')), -1)
    o = (att @ v).transpose(1, 2)                           # [B, L, H, Dh]
    go = sigma_moe_gates(x, sel_o)                          # [B, L, H, E]
    wo_he = wo.view(H, E, Dh, D)
    return torch.einsum('blhd,blhe,hedc->blc', o, go, wo_he)


def tolist(t):
    return [round(float(v), 8) for v in t.reshape(-1)]


x = torch.randn(B, L, D)
wq = torch.randn(H * Dh, D) * 0.5
wk = torch.randn(H * Dh, D) * 0.5
wv = torch.randn(H * E, D, Dh) * 0.5
wo = torch.randn(H * E, Dh, D) * 0.5
sel_v = torch.randn(H * E, D)
sel_o = torch.randn(H * E, D)
y = switchhead(x, wq, wk, wv, wo, sel_v, sel_o)

fixture = {
    "B": B, "L": L, "D": D, "heads": H, "headDim": Dh, "experts": E, "topK": K,
    "x": tolist(x), "wq": tolist(wq), "wk": tolist(wk), "wv": tolist(wv), "wo": tolist(wo),
    "sel_v": tolist(sel_v), "sel_o": tolist(sel_o), "y": tolist(y),
}
out = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "moe-switchhead", "test", "fixtures", "switchhead.json")
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w") as f:
    json.dump(fixture, f)
print("wrote", out)
