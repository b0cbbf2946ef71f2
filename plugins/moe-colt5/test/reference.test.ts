/**
 * CoLT5's conditional feed-forward against references written here:
 *  - loops: s = x·w, the coordinate-descent soft top-k, top-k tokens, light + λ · heavy;
 *  - the soft top-k's defining properties (Σλ = k, 0 < λ ≤ 1, order-preserving);
 *  - k = 0 equals the light FFN alone (a @weft/nn model with the light weights as its MLP);
 *  - the heavy FFN runs on exactly B·k rows (its cost ∝ k);
 *  - gradients, conformance (not position-wise), config errors, and the causal refusal.
 */
import { createRegistry, IncompatibleError, Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, feedForwardConformance, gradCheck, makeForwardContext } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier, type MLP } from '@weft/nn';
import colt5, { Colt5FeedForward, Colt5Options, softTopK } from '../src/index.js';

function make(options: Partial<Colt5Options>, D: number, seed = 3): Colt5FeedForward {
  return createRegistry().use(colt5).create('feedforward', { kind: 'colt5', ...options }, { dims: { dModel: D, layers: 1 }, rng: new Rng(seed) }) as Colt5FeedForward;
}

const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** W2 gelu(W1 x + b1) + b2 by loops, weights [in, out]. */
function naiveMlp(x: number[], m: MLP): number[] {
  const [w1, b1, w2, b2] = [m.up.weight, m.up.bias!, m.down.weight, m.down.bias!].map((t) => t.dataSync());
  const [D, Hd] = m.up.weight.shape;
  const h = Array.from({ length: Hd }, (_, j) => gelu(x.reduce((a, xi, i) => a + xi * w1[i * Hd + j], b1[j])));
  return Array.from({ length: D }, (_, o) => h.reduce((a, hj, j) => a + hj * w2[j * D + o], b2[o]));
}

/** Soft top-k by the dual coordinate descent, float64. */
function naiveSoftTopK(s: number[], k: number, eps: number, iters: number): number[] {
  let b = s.map(() => 0);
  let a = 0;
  for (let t = 0; t < iters; t++) {
    const z = s.map((si, i) => (si + b[i]) / eps);
    const m = Math.max(...z);
    a = eps * Math.log(k) - eps * (m + Math.log(z.reduce((acc, v) => acc + Math.exp(v - m), 0)));
    b = s.map((si) => -Math.max(0, si + a));
  }
  return s.map((si, i) => Math.exp((si + a + b[i]) / eps));
}

function naiveColt5(m: Colt5FeedForward, xAll: Float32Array, B: number, L: number, D: number): Float64Array {
  const w = m.router.dataSync();
  const k = m.routedTokens(L);
  const y = new Float64Array(B * L * D);
  for (let b = 0; b < B; b++) {
    const xs = Array.from({ length: L }, (_, t) => Array.from(xAll.subarray((b * L + t) * D, (b * L + t + 1) * D)));
    const s = xs.map((x) => x.reduce((acc, xi, i) => acc + xi * w[i], 0));
    const lam = naiveSoftTopK(s, k, m.options.epsilon, m.options.iterations);
    const routed = s.map((v, t) => [v, t]).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, k).map(([, t]) => t);
    xs.forEach((x, t) => {
      const light = naiveMlp(x, m.light);
      const heavy = routed.includes(t) ? naiveMlp(x, m.heavy) : null;
      for (let d = 0; d < D; d++) y[(b * L + t) * D + d] = light[d] + (heavy ? lam[t] * heavy[d] : 0);
    });
  }
  return y;
}

describeWithBackends('moe-colt5 reference', () => {
  const B = 2, L = 8, D = 6;

  it.each([
    ['k = 3', { k: 3 }],
    ['fraction 0.25 (k = 2)', { fraction: 0.25 }],
    ['k = L (every token heavy)', { k: 8, iterations: 30 }],
  ])('%s: light + λ · heavy on the routed tokens equals the loops', (_name, options) => {
    const m = make({ lightMult: 2, heavyMult: 3, ...options }, D);
    tf.tidy(() => {
      m.router.assign(tf.mul(m.router, 10)); // scores ~ N(0, 0.5): a spread of λ values
      [m.light.up.bias!, m.heavy.up.bias!, m.light.down.bias!, m.heavy.down.bias!].forEach((p, i) => p.assign(tf.randomNormal(p.shape, 0, 0.3, 'float32', i)));
      [m.light.down.weight, m.heavy.down.weight].forEach((p) => p.assign(tf.mul(p, 20)));
    });
    const x = new Rng(4).normalTensor([B, L, D]);
    const y = m.forward(x, makeForwardContext(B, L));
    expectTensorsClose(y, naiveColt5(m, x.dataSync() as Float32Array, B, L, D), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y]);
    m.dispose();
  });

  it('soft top-k: Σλ = k, 0 < λ ≤ 1, larger score ⇒ larger weight', () => {
    const s = new Rng(5).normalTensor([3, 10], 0, 0.3);
    for (const k of [1, 4, 9]) {
      const lam = softTopK(s, k, 0.1, 200);
      const rows = lam.arraySync() as number[][];
      const scores = s.arraySync() as number[][];
      rows.forEach((r, b) => {
        expect(r.reduce((a, v) => a + v, 0)).toBeCloseTo(k, 3);
        r.forEach((v) => expect(v > 0 && v <= 1 + 1e-6).toBe(true));
        for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) if (scores[b][i] > scores[b][j]) expect(r[i]).toBeGreaterThanOrEqual(r[j] - 1e-6);
      });
      lam.dispose();
    }
    s.dispose();
  });

  it('the heavy FFN processes exactly B·k rows (heavy cost ∝ k)', () => {
    const m = make({ lightMult: 1, heavyMult: 4 }, D);
    const rows: number[] = [];
    const original = m.heavy.forward.bind(m.heavy);
    m.heavy.forward = (x) => {
      rows.push(x.shape[0]);
      return original(x);
    };
    const x = new Rng(6).normalTensor([B, L, D]);
    for (const k of [1, 2, 5]) {
      (m.options as { k: number | null }).k = k;
      tf.dispose(m.forward(x, makeForwardContext(B, L)));
    }
    expect(rows).toEqual([B * 1, B * 2, B * 5]);
    (m.options as { k: number | null }).k = 0;
    tf.dispose(m.forward(x, makeForwardContext(B, L)));
    expect(rows.length).toBe(3); // k = 0: the heavy FFN never runs
    x.dispose();
    m.dispose();
  });

  it('gradients through the light, heavy and soft top-k paths match finite differences', () => {
    const m = make({ k: 2, lightMult: 1, heavyMult: 2, iterations: 10 }, 4);
    tf.tidy(() => m.router.assign(tf.mul(m.router, 10)));
    const x = new Rng(7).normalTensor([1, 5, 4]);
    const r = new Rng(8).normalTensor([1, 5, 4]);
    const f = (xi: tf.Tensor) => tf.sum(tf.mul(m.forward(xi), r)) as tf.Scalar;
    const result = gradCheck(f, [x], { eps: 1e-3, atol: 2e-3, rtol: 2e-2 });
    expect(result.maxAbsError).toBeLessThan(2e-3);
    tf.dispose([x, r]);
    m.dispose();
  });
});

describe('moe-colt5 in a model', () => {
  const registry = createRegistry().use(standard, colt5);
  const base = { task: 'classifier' as const, classes: 2, vocab: 10, dModel: 8, layers: 1, heads: 2, seed: 2 };

  it('k = 0 equals the light model (an MLP model with the light weights)', () => {
    const routed = buildModel(registry, { ...base, feedforward: { kind: 'colt5', k: 0, lightMult: 2 } }) as unknown as EncoderClassifier;
    const dense = buildModel(registry, { ...base, feedforward: { kind: 'mlp', mult: 2 } }) as unknown as EncoderClassifier;
    const state: Record<string, tf.Tensor> = {};
    for (const [name, p] of routed.namedParameters()) {
      if (/heavy\.|\.router$/.test(name)) continue;
      state[name.replace('.light.', '.')] = p;
    }
    dense.loadStateDict(state);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]], [2, 6], 'int32');
    const [a, b] = [routed.forward(ids), dense.forward(ids)];
    expectTensorsClose(a, b, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([ids, a, b]);
    routed.dispose();
    dense.dispose();
  });

  it('refuses causal models and bad options with the field, the value and the fix', () => {
    const validated = registry.validate('feedforward', { kind: 'colt5' }, 'feedforward');
    expect(validated).toMatchObject({ k: null, fraction: 0.125, lightMult: 2, heavyMult: 8, epsilon: 0.1, iterations: 20 });
    expect(() => registry.check('feedforward', validated, { path: 'feedforward', causal: true })).toThrow(IncompatibleError);
    expect(() => registry.check('feedforward', validated, { path: 'feedforward', causal: true })).toThrow(/feedforward: feed-forward "colt5" routes the top-k tokens of the whole sequence.*Use it in a bidirectional model/);
    expect(() => registry.check('feedforward', validated, { path: 'feedforward', causal: false })).not.toThrow();
    const v = (o: Record<string, unknown>) => () => registry.validate('feedforward', { kind: 'colt5', ...o }, 'feedforward');
    expect(v({ k: -1 })).toThrow(/feedforward\.k: k must be ≥ 0 \(0 = light branch only\); got -1/);
    expect(v({ k: 1.5 })).toThrow(/feedforward\.k: k must be an integer/);
    expect(v({ fraction: 2 })).toThrow(/feedforward\.fraction: fraction must be ≤ 1/);
    expect(v({ epsilon: 0 })).toThrow(/feedforward\.epsilon: epsilon must be > 0/);
    expect(v({ heavymult: 4 })).toThrow(/has no option "heavymult".*Did you mean "heavyMult"/);
  });
});

// Routing compares tokens of the same sequence: not position-wise.
feedForwardConformance('colt5', () => make({ k: 2 }, 8), { dModel: 8, positionWise: false });
