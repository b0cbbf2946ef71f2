"""Parity fixture for @weft/pos-music-relative: a PyTorch port of Music Transformer's relative
attention (Huang et al., arXiv:1809.04281, Sec. 3.4.1) with the skewing trick, checked here
against Shaw et al.'s explicit gather. E_r[d] embeds distance d = i - j (clipped to M - 1),
shared across heads. Run: /usr/bin/python3 tools/parity/pos-music-relative.py"""
import json, math, os
import torch

torch.manual_seed(0)
B, H, L, Dh, M = 2, 2, 6, 4, 4
q, k, v = torch.randn(B, H, L, Dh), torch.randn(B, H, L, Dh), torch.randn(B, H, L, Dh)
E = torch.randn(M, Dh)

# Skewing: embeddings by descending distance, pad left, reshape, drop the first row.
idx = torch.tensor([min(L - 1 - c, M - 1) for c in range(L)])
R = q @ E[idx].t()                                  # [B, H, L, L]
P = torch.nn.functional.pad(R, (1, 0))              # [B, H, L, L + 1]
S_rel = P.reshape(B, H, L + 1, L)[:, :, 1:, :]      # [B, H, L, L]

# Shaw et al.'s gather, L x L x Dh
dist = (torch.arange(L)[:, None] - torch.arange(L)[None, :]).clamp(0, M - 1)
S_shaw = torch.einsum('bhid,ijd->bhij', q, E[dist])
mask = torch.tril(torch.ones(L, L, dtype=torch.bool))
assert torch.allclose(S_rel[..., mask], S_shaw[..., mask], atol=1e-5)

logits = (q @ k.transpose(-1, -2) + S_rel) / math.sqrt(Dh)
logits = logits.masked_fill(~mask, float('-inf'))
out = torch.softmax(logits, -1) @ v

res = dict(B=B, H=H, L=L, Dh=Dh, M=M, q=q.flatten().tolist(), k=k.flatten().tolist(), v=v.flatten().tolist(),
           E=E.flatten().tolist(), out=out.flatten().tolist(), s_rel_lower=S_shaw.masked_fill(~mask, 0).flatten().tolist())
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'pos-music-relative', 'test', 'fixtures', 'music-relative.json')
with open(path, 'w') as f:
    json.dump(res, f)
print('wrote', path)
