"""Parity fixture for @weft/memory-transformer-xl: an independent PyTorch port of Transformer-XL's
relative multi-head attention with segment memory (Dai et al. 2019, arXiv:1901.02860), written
in the reference layout (len, batch, heads, d):

  pos_seq = klen-1 .. 0; R = [sin | cos](pos_seq * inv_freq), inv_freq = 1 / 10000^(arange(0, d, 2)/d)
  AC = (q + r_w_bias) . k_j ; BD = rel_shift((q + r_r_bias) . r_net(R))
  score = (AC + BD) / sqrt(d_head), masked by triu(ones(qlen, klen), 1 + mlen); softmax over j
  out = o_net(prob . v); new mems = cat(mems, w)[-mem_len:].detach()

Run once: /usr/bin/python3 tools/parity/memory-transformer-xl.py
"""
import json
import os

import torch

torch.manual_seed(0)
D, H, DH, B, QLEN, MEM_LEN, SEGMENTS = 16, 2, 8, 2, 4, 6, 3


def rel_shift(x):
    # x: (qlen, klen, B, H)
    zero_pad = torch.zeros((x.size(0), 1) + x.size()[2:], dtype=x.dtype)
    x_padded = torch.cat([zero_pad, x], dim=1)
    x_padded = x_padded.view(x.size(1) + 1, x.size(0), *x.size()[2:])
    return x_padded[1:].view_as(x)


def rel_attn(w, mems, W):
    # w: (qlen, B, D); mems: (mlen, B, D) or None
    qlen = w.size(0)
    cat = torch.cat([mems, w], 0) if mems is not None else w
    klen = cat.size(0)
    mlen = klen - qlen
    heads = cat @ W['qkv_net'].t()  # (klen, B, 3 H DH)
    q, k, v = torch.chunk(heads, 3, dim=-1)
    q = q[-qlen:].view(qlen, B, H, DH)
    k = k.view(klen, B, H, DH)
    v = v.view(klen, B, H, DH)
    pos_seq = torch.arange(klen - 1, -1, -1.0)
    inv_freq = 1 / (10000 ** (torch.arange(0.0, D, 2.0) / D))
    sinusoid = torch.ger(pos_seq, inv_freq)
    R = torch.cat([sinusoid.sin(), sinusoid.cos()], dim=-1)  # (klen, D)
    r_head_k = (R @ W['r_net'].t()).view(klen, H, DH)
    AC = torch.einsum('ibnd,jbnd->ijbn', q + W['r_w_bias'], k)
    BD = rel_shift(torch.einsum('ibnd,jnd->ijbn', q + W['r_r_bias'], r_head_k))
    score = (AC + BD) * (1 / DH ** 0.5)
    mask = torch.triu(torch.ones(qlen, klen), diagonal=1 + mlen).bool()[:, :, None, None]
    score = score.masked_fill(mask, float('-inf'))
    prob = torch.softmax(score, dim=1)
    vec = torch.einsum('ijbn,jbnd->ibnd', prob, v).contiguous().view(qlen, B, H * DH)
    return vec @ W['o_net'].t()


W = {
    'qkv_net': torch.randn(3 * H * DH, D) * 0.3,  # torch Linear weight (out, in)
    'r_net': torch.randn(H * DH, D) * 0.3,
    'o_net': torch.randn(D, H * DH) * 0.3,
    'r_w_bias': torch.randn(H, DH) * 0.3,
    'r_r_bias': torch.randn(H, DH) * 0.3,
}
x = torch.randn(SEGMENTS * QLEN, B, D)
mems = None
outs = []
for s in range(SEGMENTS):
    w = x[s * QLEN:(s + 1) * QLEN]
    outs.append(rel_attn(w, mems, W))
    cat = torch.cat([mems, w], 0) if mems is not None else w
    mems = cat[-MEM_LEN:].detach()
out = torch.cat(outs, 0)

to_blh = lambda t: t.permute(1, 0, 2).tolist()  # (len, B, D) -> [B, len, D]
fixture = {
    'dModel': D, 'heads': H, 'headDim': DH, 'segmentLength': QLEN, 'memLength': MEM_LEN,
    # Linear weights transposed to [in, out] (x @ W)
    'qkv_net': W['qkv_net'].t().tolist(), 'r_net': W['r_net'].t().tolist(), 'o_net': W['o_net'].t().tolist(),
    'r_w_bias': W['r_w_bias'].tolist(), 'r_r_bias': W['r_r_bias'].tolist(),
    'x': to_blh(x), 'y': to_blh(out),
}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'memory-transformer-xl', 'test', 'fixtures', 'transformer-xl.json')
with open(path, 'w') as f:
    json.dump(fixture, f)
print('wrote', path, os.path.getsize(path), 'bytes')
