"""Parity fixture for @weft/moe-ffn: a PyTorch port of two routed MoE feed-forward layers,
written from the papers and shared/CONVENTIONS.md (MoE section), following the structure of
Hugging Face's SwitchTransformersSparseMLP and MixtralSparseMoeBlock:

  Switch (Fedus et al. 2021, arXiv 2101.03961), top-1, T5 ReLU experts wo(relu(wi x)), no bias:
    p = softmax(x W_r) (fp32); e_n = argmax p_n; capacity C = ceil(cf * L / E) per sequence:
    token_priority = cumsum(one_hot(e), dim=seq); keep iff priority <= C; y_n = p_n,e_n * FFN_e_n(x_n)
    for kept tokens, 0 for dropped ones (gate = router prob, not renormalised).
  Mixtral (Jiang et al. 2024, arXiv 2401.04088), top-2, SwiGLU experts w2(silu(w1 x) * w3 x):
    p = softmax(x W_r) in fp32; top-2; g = p_top / sum(p_top); y_n = sum_j g_n,j FFN_e_n,j(x_n).
  Losses: balance = E * sum_{j,e} f_{j,e} P_e (HF load_balancing_loss_func: one_hot of the top-k
    choices, mean over tokens, times mean router prob, summed, times E); z = mean(logsumexp(z)^2).

Weights are written in PyTorch layout (nn.Linear.weight is [out, in]); the jest test
transposes them into Weft's [in, out].

Run once: /usr/bin/python3 tools/parity/moe-ffn.py
(writes plugins/moe-ffn/test/fixtures/moe.json)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2101)
B, L, D, Hd, E = 2, 5, 6, 8, 4


def balance_loss(probs, top_idx, E):
    mask = F.one_hot(top_idx, E).float()           # [N, k, E]
    tokens_per_expert = mask.mean(0)               # [k, E]
    prob_per_expert = probs.mean(0)                # [E]
    return (tokens_per_expert * prob_per_expert[None]).sum() * E


def z_loss(logits):
    return (torch.logsumexp(logits, -1) ** 2).mean()


def switch(x, w_router, wi, wo, cf):
    logits = x @ w_router.T                        # [B, L, E]
    probs = torch.softmax(logits.float(), -1)
    top = probs.argmax(-1)                         # [B, L]
    one_hot = F.one_hot(top, E)                    # [B, L, E]
    priority = torch.cumsum(one_hot, dim=-2)       # per sequence, in sequence order
    C = math.ceil(cf * L / E)
    keep = (priority <= C) * one_hot               # [B, L, E]
    gate = probs.max(-1).values                    # [B, L]
    y = torch.zeros_like(x)
    for e in range(E):
        sel = keep[..., e].bool()
        h = F.relu(x[sel] @ wi[e].T) @ wo[e].T
        y[sel] = h * gate[sel][:, None]
    flat_p = probs.reshape(-1, E)
    return y, logits, balance_loss(flat_p, top.reshape(-1, 1), E), z_loss(logits.reshape(-1, E)), C


def mixtral(x, w_router, w1, w2, w3, k=2):
    xf = x.reshape(-1, D)
    logits = xf @ w_router.T                       # [N, E]
    probs = torch.softmax(logits, dim=1, dtype=torch.float)
    weights, idx = torch.topk(probs, k, dim=-1)
    weights = weights / weights.sum(-1, keepdim=True)
    y = torch.zeros_like(xf)
    for e in range(E):
        rows, slot = torch.where(idx == e)
        h = (F.silu(xf[rows] @ w1[e].T) * (xf[rows] @ w3[e].T)) @ w2[e].T
        y.index_add_(0, rows, h * weights[rows, slot, None])
    return y.reshape(B, L, D), balance_loss(probs, idx, E), z_loss(logits)


def tolist(t):
    return [round(float(v), 8) for v in t.reshape(-1)]


x = torch.randn(B, L, D)
# Switch: router scaled up so routing is decisive and capacity drops some tokens.
ws_router = torch.randn(E, D) * 1.5
wi = torch.randn(E, Hd, D) * 0.4
wo = torch.randn(E, D, Hd) * 0.4
cf = 0.5
ys, _, s_bal, s_z, C = switch(x, ws_router, wi, wo, cf)
# Mixtral
wm_router = torch.randn(E, D) * 1.5
w1 = torch.randn(E, Hd, D) * 0.4
w2 = torch.randn(E, D, Hd) * 0.4
w3 = torch.randn(E, Hd, D) * 0.4
ym, m_bal, m_z = mixtral(x, wm_router, w1, w2, w3)

fixture = {
    "B": B, "L": L, "D": D, "hidden": Hd, "experts": E,
    "x": tolist(x),
    "switch": {
        "capacityFactor": cf, "capacity": C,
        "router": tolist(ws_router), "wi": tolist(wi), "wo": tolist(wo),
        "y": tolist(ys), "balance": float(s_bal), "zloss": float(s_z),
        "dropped": int((ys.abs().sum(-1) == 0).sum()),
    },
    "mixtral": {
        "router": tolist(wm_router), "w1": tolist(w1), "w2": tolist(w2), "w3": tolist(w3),
        "y": tolist(ym), "balance": float(m_bal), "zloss": float(m_z),
    },
}
out = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "moe-ffn", "test", "fixtures", "moe.json")
with open(out, "w") as f:
    json.dump(fixture, f)
print("wrote", out, "switch dropped", fixture["switch"]["dropped"], "capacity", C)
