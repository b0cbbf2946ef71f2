"""Parity fixture for @weft/reduce-funnel: a PyTorch port of Funnel-Transformer's pooling and
up-sampling (Dai et al. 2020, arXiv:2006.03236, §2.2), written from the paper with the
reference code's conventions: mean pooling as avg_pool1d(kernel=stride, stride, ceil_mode=True),
mask pooled with min, up-sampling by repeat_interleave plus the unpooled residual.
Run once with /usr/bin/python3 (torch + numpy)."""
import json, os
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for (B, L, D, S) in [(2, 7, 4, 2), (2, 9, 3, 3)]:
    x = torch.randn(B, L, D)
    mask = torch.ones(B, L)
    mask[1, L - 2:] = 0
    Lp = -(-L // S)
    y = torch.randn(B, Lp, D)
    pooled = F.avg_pool1d(x.transpose(1, 2), S, S, ceil_mode=True).transpose(1, 2)        # [B, L', D]
    pooled_mask = -F.max_pool1d(-mask[:, None], S, S, ceil_mode=True)[:, 0]                # min pooling
    restored = torch.repeat_interleave(y, S, dim=1)[:, :L] + x                            # decoder input
    cases.append({'B': B, 'L': L, 'D': D, 'S': S, 'x': x.flatten().tolist(), 'mask': mask.flatten().tolist(),
                  'y': y.flatten().tolist(), 'pooled': pooled.flatten().tolist(),
                  'pooled_mask': pooled_mask.flatten().tolist(), 'restored': restored.flatten().tolist()})
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'reduce-funnel', 'test', 'fixtures', 'funnel.json')
with open(path, 'w') as f:
    json.dump(cases, f)
print('wrote', path)
