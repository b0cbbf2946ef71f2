"""Parity fixture for @weft/pos-t5-bias: a PyTorch port of T5's relative position bias
(Raffel et al. 2020, arXiv 1910.10683, section 2.1; Mesh TensorFlow's _relative_position_bucket),
computed the way the reference code does it: in float32 tensors with a log, then truncation.

Run once: /usr/bin/python3 tools/parity/pos-t5-bias.py  (writes plugins/pos-t5-bias/test/fixtures/t5-bias.json)
"""
import json
import math
import os

import torch

torch.manual_seed(0)


def bucket(relative_position, bidirectional, num_buckets, max_distance):
    """relative_position = key - query (long tensor) -> bucket ids (long tensor)."""
    n = -relative_position
    result = torch.zeros_like(n)
    if bidirectional:
        num_buckets = num_buckets // 2
        result = result + (n < 0).long() * num_buckets  # keys after the query go to the upper half
        n = n.abs()
    else:
        n = n.clamp(min=0)
    max_exact = num_buckets // 2
    small = n < max_exact
    large = max_exact + (
        torch.log(n.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).long()
    large = torch.minimum(large, torch.full_like(large, num_buckets - 1))
    return result + torch.where(small, n, large)


def t5_bias(q_pos, k_pos, table, bidirectional, num_buckets, max_distance):
    """q_pos [B, Lq], k_pos [B, Lk], table [N, H] -> [B, H, Lq, Lk]."""
    rel = k_pos[:, None, :] - q_pos[:, :, None]
    ids = bucket(rel, bidirectional, num_buckets, max_distance)
    return table[ids].permute(0, 3, 1, 2)


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


configs = [
    {'numBuckets': 32, 'maxDistance': 128, 'bidirectional': False},
    {'numBuckets': 32, 'maxDistance': 128, 'bidirectional': True},
    {'numBuckets': 16, 'maxDistance': 40, 'bidirectional': True},
    {'numBuckets': 10, 'maxDistance': 30, 'bidirectional': False},
]
r = torch.arange(-300, 301)
buckets = []
for c in configs:
    ids = bucket(r, c['bidirectional'], c['numBuckets'], c['maxDistance'])
    buckets.append({**c, 'relative': r.tolist(), 'bucket': ids.tolist()})

H = 3
q_pos = torch.tensor([[0, 5, 37, 130, 400], [3, 4, 5, 6, 7]])
k_pos = torch.stack([torch.arange(0, 420, 7), torch.arange(0, 60)])
biases = []
for c in configs[:2]:
    table = torch.randn(c['numBuckets'], H)
    out = t5_bias(q_pos, k_pos, table, c['bidirectional'], c['numBuckets'], c['maxDistance'])
    biases.append({**c, 'heads': H, 'table': flat(table), 'qPos': q_pos.tolist(), 'kPos': k_pos.tolist(),
                   'shape': list(out.shape), 'bias': flat(out)})

fixture = {'source': 'tools/parity/pos-t5-bias.py (PyTorch %s)' % torch.__version__, 'buckets': buckets, 'biases': biases}
here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, '..', '..', 'plugins', 'pos-t5-bias', 'test', 'fixtures', 't5-bias.json')
with open(target, 'w') as f:
    json.dump(fixture, f)
print('wrote', os.path.normpath(target), os.path.getsize(target), 'bytes')
