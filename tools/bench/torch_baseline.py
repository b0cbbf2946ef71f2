#!/usr/bin/env python3
"""PyTorch baseline for Weft's benchmark harness (tools/bench).

Reads {"tasks": [{key, suite, shape, reps}, ...]} on stdin -- the rows Weft measured -- runs
the same work in PyTorch on the CPU and prints {"torch", "threads", "rows": {key: metrics}}:

  kernels  dense causal attention, plain matmul + softmax (torch 1.13 has no
           scaled_dot_product_attention); "fwd" or "fwd+bwd" (grads of sum(out) w.r.t. q, k, v)
  train    one AdamW step of a port of Weft's default causal LM: learned embedding + sinusoidal
           positions, pre-norm LayerNorm blocks with bias-free multi-head attention and a GELU MLP
           (x4, with biases), final LayerNorm, output tied to the embedding
  decode   greedy decoding of the same LM after a prompt, with a KV cache or recomputing the
           prefix for every token

Timing: one warm-up, then the median of `reps` runs (decode: median per-token latency).
Run standalone: echo '{"tasks": [...]}' | /usr/bin/python3 tools/bench/torch_baseline.py
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, reps):
    fn()  # warm-up
    samples = []
    for _ in range(max(1, reps)):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


# --- kernels ---------------------------------------------------------------------------------

def dense_causal_attention(q, k, v):
    L = q.shape[-2]
    logits = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])  # [B, H, L, L]
    mask = torch.ones(L, L, dtype=torch.bool).triu(1)
    return torch.softmax(logits.masked_fill(mask, float("-inf")), dim=-1) @ v  # [B, H, L, Dh]


def dense_attention_bytes(shape):
    """Rough peak of dense attention: L x L float32 logits, mask, softmax (+ their gradients)."""
    B, H, L = (int(shape[n]) for n in ("B", "H", "L"))
    return B * H * L * L * 4 * (4 if shape["pass"] == "fwd" else 6)


def kernel_task(shape, reps):
    B, H, L, Dh = (int(shape[n]) for n in ("B", "H", "L", "Dh"))
    g = torch.Generator().manual_seed(L)
    q, k, v = (torch.randn(B, H, L, Dh, generator=g) for _ in range(3))
    if shape["pass"] == "fwd":
        def run():
            with torch.no_grad():
                dense_causal_attention(q, k, v)
    else:
        q.requires_grad_(True), k.requires_grad_(True), v.requires_grad_(True)

        def run():
            torch.autograd.grad(dense_causal_attention(q, k, v).sum(), (q, k, v))
    return {"ms": timed(run, reps)}


# --- the LM (a port of Weft's default causal-LM config) ---------------------------------------

def sinusoidal(positions, d, base=10000.0):
    half = (d + 1) // 2
    inv = base ** (-2 * torch.arange(half, dtype=torch.float32) / d)
    angles = positions.float()[..., None] * inv  # [B, L, D/2]
    return torch.stack([angles.sin(), angles.cos()], -1).flatten(-2)[..., :d]  # interleaved, [B, L, D]


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(d)
        self.wq, self.wk, self.wv, self.wo = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
        self.norm2 = torch.nn.LayerNorm(d)
        self.up = torch.nn.Linear(d, 4 * d)
        self.down = torch.nn.Linear(4 * d, d)

    def split(self, x):  # [B, L, D] -> [B, H, L, Dh]
        B, L, D = x.shape
        return x.view(B, L, self.heads, D // self.heads).transpose(1, 2)

    def forward(self, x, cache=None):
        h = self.norm1(x)
        q, k, v = self.split(self.wq(h)), self.split(self.wk(h)), self.split(self.wv(h))
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        Lq, Lk = q.shape[2], k.shape[2]
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # [B, H, Lq, Lk]
        mask = torch.ones(Lq, Lk, dtype=torch.bool).triu(Lk - Lq + 1)
        att = torch.softmax(logits.masked_fill(mask, float("-inf")), -1) @ v  # [B, H, Lq, Dh]
        B, H, L, Dh = att.shape
        x = x + self.wo(att.transpose(1, 2).reshape(B, L, H * Dh))
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class CausalLM(torch.nn.Module):
    def __init__(self, vocab, d, layers, heads):
        super().__init__()
        self.d = d
        self.embed = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.norm = torch.nn.LayerNorm(d)

    def forward(self, ids, caches=None, start=0):
        B, L = ids.shape
        positions = torch.arange(start, start + L).expand(B, L)
        x = self.embed(ids) + sinusoidal(positions, self.d)
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.norm(x) @ self.embed.weight.t()  # tied output, [B, L, vocab]


def lm_from(shape):
    torch.manual_seed(0)
    return CausalLM(int(shape["vocab"]), int(shape["dModel"]), int(shape["layers"]), int(shape["heads"]))


def train_task(shape, reps):
    model = lm_from(shape)
    B, L, V = int(shape["B"]), int(shape["L"]), int(shape["vocab"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    ids = torch.randint(0, V, (B, L + 1), generator=torch.Generator().manual_seed(1))
    inputs, targets = ids[:, :-1], ids[:, 1:]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(inputs).reshape(-1, V), targets.reshape(-1))
        loss.backward()
        opt.step()
        loss.item()

    ms = timed(step, reps)
    return {"ms": ms, "tokensPerSec": B * L / (ms / 1000)}


def decode_task(shape, _reps):
    model = lm_from(shape).eval()
    context, tokens = int(shape["context"]), int(shape["tokens"])
    prompt = torch.randint(0, int(shape["vocab"]), (1, context), generator=torch.Generator().manual_seed(7))
    per_token = []
    prefill = None
    with torch.no_grad():
        if shape["mode"] == "cache":
            caches = [dict() for _ in model.blocks]
            t0 = time.perf_counter()
            token = model(prompt, caches)[:, -1].argmax(-1, keepdim=True)
            prefill = (time.perf_counter() - t0) * 1000
            for i in range(tokens):
                t0 = time.perf_counter()
                token = model(token, caches, start=context + i)[:, -1].argmax(-1, keepdim=True)
                per_token.append((time.perf_counter() - t0) * 1000)
        else:
            ids = prompt
            for _ in range(min(tokens, 4)):
                t0 = time.perf_counter()
                token = model(ids)[:, -1].argmax(-1, keepdim=True)
                ids = torch.cat([ids, token], 1)
                per_token.append((time.perf_counter() - t0) * 1000)
    latency = statistics.median(per_token[1:] if len(per_token) > 2 else per_token)
    out = {"msPerToken": latency, "tokensPerSec": 1000 / latency}
    if prefill is not None:
        out["prefillMs"] = prefill
    return out


TASKS = {"kernels": kernel_task, "train": train_task, "decode": decode_task}


def blas_library():
    """Which BLAS torch's matmuls run on: Debian's torch uses whatever libblas.so.3 points to
    (the reference BLAS, ~6 GFLOP/s here, unless libopenblas0 is installed)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as maps:
        text = maps.read()
    for name in ("openblas", "mkl", "blis"):
        if name in text:
            return name
    return "reference"


def main():
    spec = json.load(sys.stdin)
    budget = float(spec.get("memoryBudget", 4 * 1024**3))
    torch.set_num_threads(int(spec.get("threads", 1)))  # as many threads as the Weft run
    rows = {}
    for task in spec["tasks"]:
        if task["suite"] == "kernels" and dense_attention_bytes(task["shape"]) > budget:
            # Dense attention at this shape would not fit the budget (a shared machine can OOM).
            print(f"torch_baseline: {task['key']}: skipped, dense attention needs more than the memory budget", file=sys.stderr)
            continue
        try:
            rows[task["key"]] = TASKS[task["suite"]](task["shape"], int(task.get("reps", 1)))
        except Exception as error:  # a failing row must not lose the others
            print(f"torch_baseline: {task['key']}: {error}", file=sys.stderr)
        print(f"torch_baseline: {task['key']} {rows.get(task['key'])}", file=sys.stderr)
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(), "rows": rows}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
