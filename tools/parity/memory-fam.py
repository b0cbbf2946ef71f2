"""Parity fixture for @weft/memory-fam: an independent PyTorch port of TransformerFAM's attention
(Hwang et al. 2024, arXiv:2404.09173, Algorithm 1), batch-first, run block by block:

  for each block tau (length N) of the input:
    block queries  -> keys/values [FAM_{tau-1} ; previous `window` blocks ; block], causal within the block
    FAM queries    -> keys/values [FAM_{tau-1} ; block] (the whole block)
    o = softmax(q k^T / sqrt(d) + mask) v W_O
    FAM_tau = FAM_{tau-1} + o_FAM          (FAM_0 = the learned init, tiled over the batch)

Run once: /usr/bin/python3 tools/parity/memory-fam.py
"""
import json
import os

import torch

torch.manual_seed(0)
D, H, DH, B, N, BLOCKS, F, WINDOW = 8, 2, 4, 2, 3, 4, 2, 1


def attend(q_in, kv_in, allowed, W):
    # q_in (B, Lq, D), kv_in (B, Lk, D), allowed (Lq, Lk) bool
    split = lambda t: t.view(B, t.size(1), H, DH).transpose(1, 2)
    q, k, v = split(q_in @ W['wq'].t()), split(kv_in @ W['wk'].t()), split(kv_in @ W['wv'].t())
    score = (q @ k.transpose(-1, -2)) / DH ** 0.5
    prob = torch.softmax(score.masked_fill(~allowed, float('-inf')), dim=-1)
    return (prob @ v).transpose(1, 2).reshape(B, q_in.size(1), H * DH) @ W['wo'].t()


W = {
    'wq': torch.randn(H * DH, D) * 0.5,  # torch Linear weights (out, in), no bias
    'wk': torch.randn(H * DH, D) * 0.5,
    'wv': torch.randn(H * DH, D) * 0.5,
    'wo': torch.randn(D, H * DH) * 0.5,
    'fam_init': torch.randn(F, D),
}
x = torch.randn(B, BLOCKS * N, D)
fam = W['fam_init'].unsqueeze(0).expand(B, F, D)
outs = []
for t in range(BLOCKS):
    block = x[:, t * N:(t + 1) * N]
    look = x[:, max(0, (t - WINDOW) * N):t * N]
    Lm = look.size(1)
    # block queries
    allowed = torch.cat([torch.ones(N, F + Lm), torch.tril(torch.ones(N, N))], 1).bool()
    outs.append(attend(block, torch.cat([fam, look, block], 1), allowed, W))
    # FAM queries
    fam = fam + attend(fam, torch.cat([fam, block], 1), torch.ones(F, F + N).bool(), W)
y = torch.cat(outs, 1)

fixture = {
    'dModel': D, 'heads': H, 'headDim': DH, 'segmentLength': N, 'memoryTokens': F, 'window': WINDOW,
    # Linear weights transposed to [in, out] (x @ W)
    'q_proj': W['wq'].t().tolist(), 'k_proj': W['wk'].t().tolist(), 'v_proj': W['wv'].t().tolist(), 'o_proj': W['wo'].t().tolist(),
    'fam_init': W['fam_init'].tolist(), 'x': x.tolist(), 'y': y.tolist(), 'fam': fam.tolist(),
}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'memory-fam', 'test', 'fixtures', 'fam.json')
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path, os.path.getsize(path), 'bytes')
