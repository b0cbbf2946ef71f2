"""Parity fixture for @weft/reduce-tome: a PyTorch port of ToMe's bipartite soft matching
(Bolya et al., arXiv:2210.09461, Alg. 1, no class token) with size-weighted merging
(merge_wavg) and unmerge, as TinyChart (arXiv:2404.16635, Sec. 3.2) uses it. Similarity metric:
the token vectors themselves (cosine). Run: /usr/bin/python3 tools/parity/reduce-tome.py"""
import json, os
import torch

torch.manual_seed(0)
B, L, D, r = 2, 9, 6, 3
x = torch.randn(B, L, D)
size = torch.randint(1, 4, (B, L)).float()  # incoming token sizes


def bipartite_soft_matching(metric, r):
    metric = metric / metric.norm(dim=-1, keepdim=True)
    a, b = metric[..., ::2, :], metric[..., 1::2, :]
    scores = a @ b.transpose(-1, -2)
    node_max, node_idx = scores.max(dim=-1)
    edge_idx = node_max.argsort(dim=-1, descending=True)[..., None]
    unm_idx = edge_idx[..., r:, :]
    src_idx = edge_idx[..., :r, :]
    dst_idx = node_idx[..., None].gather(dim=-2, index=src_idx)

    def merge(x, mode):
        src, dst = x[..., ::2, :], x[..., 1::2, :]
        n, t1, c = src.shape
        unm = src.gather(dim=-2, index=unm_idx.expand(n, t1 - r, c))
        src = src.gather(dim=-2, index=src_idx.expand(n, r, c))
        dst = dst.scatter_reduce(-2, dst_idx.expand(n, r, c), src, reduce=mode)
        return torch.cat([unm, dst], dim=1)

    def unmerge(x):
        unm_len = unm_idx.shape[1]
        unm, dst = x[..., :unm_len, :], x[..., unm_len:, :]
        n, _, c = unm.shape
        src = dst.gather(dim=-2, index=dst_idx.expand(n, r, c))
        out = torch.zeros(n, metric.shape[1], c, dtype=x.dtype)
        out[..., 1::2, :] = dst
        out.scatter_(dim=-2, index=(2 * unm_idx).expand(n, unm_len, c), src=unm)
        out.scatter_(dim=-2, index=(2 * src_idx).expand(n, r, c), src=src)
        return out

    return merge, unmerge


merge, unmerge = bipartite_soft_matching(x, r)
s = size[..., None]
merged_sum = merge(x * s, 'sum')
new_size = merge(s, 'sum')
merged_mean = merged_sum / new_size
merged_plain_sum = merge(x, 'sum')
y = torch.randn(B, L - r, D)
restored = unmerge(y)

out = dict(B=B, L=L, D=D, r=r, x=x.flatten().tolist(), size=size.flatten().tolist(),
           merged_mean=merged_mean.flatten().tolist(), merged_sum=merged_plain_sum.flatten().tolist(),
           new_size=new_size.flatten().tolist(), y=y.flatten().tolist(), restored=restored.flatten().tolist())
path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'reduce-tome', 'test', 'fixtures', 'tome.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', path)
