import { Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { balancedAssign, RoutingAttention, RoutingOptions } from '@weft/attn-routing';

const make = (opts: Partial<RoutingOptions>, H: number, Dh: number, seed = 1) => new RoutingAttention(RoutingOptions.parse(opts), H, Dh, new Rng(seed));

/** Independent reference: dense softmax attention of one head under an explicit boolean mask. */
function maskedDense(q: number[][], k: number[][], v: number[][], scale: number, allowed: (i: number, j: number) => boolean): number[][] {
  return q.map((qi, i) => {
    const logits = k.map((kj, j) => (allowed(i, j) ? scale * qi.reduce((s, x, d) => s + x * kj[d], 0) : -Infinity));
    const m = Math.max(...logits);
    if (m === -Infinity) return v[0].map(() => 0);
    const e = logits.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    return v[0].map((_, d) => e.reduce((s, p, j) => s + (p / z) * v[j][d], 0));
  });
}
const norm = (x: number[]) => {
  const n = Math.sqrt(x.reduce((s, a) => s + a * a, 0));
  return x.map((a) => a / n);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, d) => s + x * b[d], 0);

describeWithBackends('routing attention', () => {
  it('one cluster, all heads routing = dense causal shared-QK attention (keys := queries)', () => {
    const rng = new Rng(3);
    const [B, H, L, D] = [2, 2, 8, 4];
    const q = rng.normalTensor([B, H, L, D]);
    const k = rng.normalTensor([B, H, L, D]);
    const v = rng.normalTensor([B, H, L, D]);
    const out = make({ clusters: 1, routingHeads: H }, H, D).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5 }));
    const qa = q.arraySync() as number[][][][];
    const va = v.arraySync() as number[][][][];
    const ref = qa.map((qb, b) => qb.map((qh, h) => maskedDense(qh, qh, va[b][h], 0.5, (i, j) => j <= i)));
    expectTensorsClose(out, tf.tensor(ref), { atol: 1e-5 });
    tf.dispose([q, k, v, out]);
  });

  it('several clusters: equals dense attention masked to same-cluster, causal pairs, and differs from dense', () => {
    const rng = new Rng(4);
    const [B, H, L, D, C] = [1, 2, 16, 4, 4];
    const q = rng.normalTensor([B, H, L, D]);
    const k = rng.normalTensor([B, H, L, D]);
    const v = rng.normalTensor([B, H, L, D]);
    const kernel = make({ clusters: C, routingHeads: 1, window: 2 }, H, D);
    const mu = kernel.centroids.arraySync() as number[][][];
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5 }));
    const qa = (q.arraySync() as number[][][][])[0];
    const ka = (k.arraySync() as number[][][][])[0];
    const va = (v.arraySync() as number[][][][])[0];
    // Head 0 routes (keys := queries): the cluster of each token from its own balanced assignment.
    const sim = qa[0].flatMap((x) => mu[0].map((m) => dot(norm(x), m)));
    const cl = balancedAssign(sim, L, C);
    const ref0 = maskedDense(qa[0], qa[0], va[0], 0.5, (i, j) => j <= i && cl[i] === cl[j]);
    // Head 1 is local: |i - j| <= 2, causal.
    const ref1 = maskedDense(qa[1], ka[1], va[1], 0.5, (i, j) => j <= i && i - j <= 2);
    expectTensorsClose(out, tf.tensor([[ref0, ref1]]), { atol: 1e-5 });
    const dense = [maskedDense(qa[0], qa[0], va[0], 0.5, (i, j) => j <= i), maskedDense(qa[1], ka[1], va[1], 0.5, (i, j) => j <= i)];
    const diff = tf.max(tf.abs(tf.sub(out, tf.tensor([dense])))).dataSync()[0];
    expect(diff).toBeGreaterThan(1e-2);
    tf.dispose([q, k, v, out]);
  });

  it('without shared QK, queries and keys are routed separately (bidirectional)', () => {
    const rng = new Rng(6);
    const [L, D, C] = [8, 4, 2];
    const q = rng.normalTensor([1, 1, L, D]);
    const k = rng.normalTensor([1, 1, L, D]);
    const v = rng.normalTensor([1, 1, L, D]);
    const kernel = make({ clusters: C, routingHeads: 1, sharedQK: false }, 1, D);
    const mu = (kernel.centroids.arraySync() as number[][][])[0];
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    const [qa, ka, va] = [q, k, v].map((t) => (t.arraySync() as number[][][][])[0][0]);
    const cq = balancedAssign(qa.flatMap((x) => mu.map((m) => dot(norm(x), m))), L, C);
    const ck = balancedAssign(ka.flatMap((x) => mu.map((m) => dot(norm(x), m))), L, C);
    expectTensorsClose(out, tf.tensor([[maskedDense(qa, ka, va, 0.5, (i, j) => cq[i] === ck[j])]]), { atol: 1e-5 });
    tf.dispose([q, k, v, out]);
  });

  it('training updates the centroids by the EMA of the assigned normalised queries (naive formula)', () => {
    const rng = new Rng(8);
    const [B, H, L, D, C, decay] = [2, 1, 8, 3, 2, 0.9];
    const q = rng.normalTensor([B, H, L, D]);
    const v = rng.normalTensor([B, H, L, D]);
    const kernel = make({ clusters: C, routingHeads: 1, decay }, H, D);
    const mu = (kernel.centroids.arraySync() as number[][][])[0];
    const qa = q.arraySync() as number[][][][];
    // Naive: per batch row, balanced assignment of the normalised queries; then per cluster the mean.
    const sums = mu.map(() => [0, 0, 0]);
    const counts = mu.map(() => 0);
    for (let b = 0; b < B; b++) {
      const xs = qa[b][0].map(norm);
      const cl = balancedAssign(xs.flatMap((x) => mu.map((m) => dot(x, m))), L, C);
      xs.forEach((x, i) => {
        counts[cl[i]]++;
        x.forEach((a, d) => (sums[cl[i]][d] += a));
      });
    }
    const expected = mu.map((m, c) => m.map((a, d) => decay * a + (1 - decay) * (sums[c][d] / counts[c])));
    const out = kernel.attend(q, q, v, makeAttentionContext({ causal: true, scale: 0.5, training: true }));
    expectTensorsClose(kernel.centroids, tf.tensor([expected]), { atol: 1e-6 });
    // Inference leaves them alone.
    const before = kernel.centroids.arraySync();
    tf.dispose(kernel.attend(q, q, v, makeAttentionContext({ causal: true, scale: 0.5 })));
    expect(kernel.centroids.arraySync()).toEqual(before);
    tf.dispose([q, v, out]);
    kernel.dispose();
  });

  it('forward has gradients for q, k, v and does not leak', () => {
    const rng = new Rng(9);
    const q = rng.normalTensor([1, 2, 8, 4]);
    const k = rng.normalTensor([1, 2, 8, 4]);
    const v = rng.normalTensor([1, 2, 8, 4]);
    const kernel = make({ clusters: 2, window: 2 }, 2, 4);
    const before = tf.memory().numTensors;
    const grads = tf.grads((a: Tensor, b: Tensor, c: Tensor) => tf.sum(kernel.attend(a, b, c, makeAttentionContext({ causal: true, scale: 0.5 }))))([q, k, v]);
    const sums = tf.tidy(() => grads.map((g) => tf.sum(tf.abs(g)).dataSync()[0]));
    sums.forEach((s) => expect(Number.isFinite(s) && s > 0).toBe(true));
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([q, k, v]);
    kernel.dispose();
  });
});

describe('balanced assignment', () => {
  it('gives every centroid exactly w = L / C tokens and every token one centroid', () => {
    const rng = new Rng(11);
    for (const [L, C] of [[16, 4], [12, 3], [9, 1]]) {
      const sim = Float32Array.from({ length: L * C }, () => rng.normal());
      const a = balancedAssign(sim, L, C);
      expect(a.every((c) => c >= 0 && c < C)).toBe(true);
      for (let c = 0; c < C; c++) expect(a.filter((x) => x === c).length).toBe(L / C);
    }
  });
  it('is the nearest centroid when that is already balanced', () => {
    // Tokens 0,1 near centroid 1, tokens 2,3 near centroid 0.
    const sim = [0.1, 0.9, 0.2, 0.8, 0.7, 0.3, 0.95, 0.0];
    expect(Array.from(balancedAssign(sim, 4, 2))).toEqual([1, 1, 0, 0]);
  });
  it('refuses a length that is not a multiple of the clusters', () => {
    expect(() => balancedAssign([0, 0, 0, 0, 0, 0], 3, 2)).toThrow(/length 3 is not a multiple of clusters 2/);
  });
});

describeWithBackends('routing attention memory', () => {
  it('is sub-quadratic at L = 2048: no L×L tensor', async () => {
    const rng = new Rng(12);
    const L = 2048;
    const D = 8;
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 2, L, D]));
    const kernel = make({ clusters: 32, window: 32 }, 2, D);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.3 })));
    const out = info.result as Tensor;
    const LxL = L * L * 4; // 16 MiB for one head
    expect(info.peakBytes - before).toBeLessThan(LxL / 4);
    expect(tf.memory().numBytes - before).toBe(2 * L * D * 4); // only the output survives
    tf.dispose([q, k, v, out]);
    kernel.dispose();
  });
}, ['wasm']);
