/**
 * The "moe" layer against independent references written in ./naive.ts from the papers:
 *  - E = 1, k = 1, no capacity == @weft/nn's dense MLP with the same weights;
 *  - sparse dispatch == the dense gated mixture Σ_e g_e · FFN_e(x) (all experts evaluated,
 *    gates zero outside the top-k), for Switch top-1 (with and without capacity) and
 *    Mixtral top-2 (renormalised, SwiGLU experts);
 *  - routing counts and capacity dropping on hand-made router logits;
 *  - the balance loss and router z-loss against loops, and through a model's aux losses;
 *  - gradients against finite differences.
 */
import { createRegistry, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, makeForwardContext } from '@weft/core/testing';
import { AuxLossCollector, buildModel, MLP, standard, type CausalLM } from '@weft/nn';
import moe, { expertCapacity, expertCounts, loadBalancingLoss, MoEFeedForward, MoeOptions, routerZLoss, routeTokens } from '../src/index.js';
import { naiveLosses, naiveMoe, naiveRouter, weightsOf } from './naive.js';

function makeMoe(options: Partial<MoeOptions>, D: number, seed = 3): MoEFeedForward {
  return createRegistry().use(moe).create('feedforward', { kind: 'moe', ...options }, { dims: { dModel: D, layers: 1 }, rng: new Rng(seed) }) as MoEFeedForward;
}

/** Sharper router than the 0.02 init, so no two experts are near a tie. */
function sharpen(m: MoEFeedForward, by = 60): void {
  tf.tidy(() => m.router.assign(tf.mul(m.router, by)));
}

describeWithBackends('moe-ffn reference', () => {
  const B = 2, L = 6, D = 8;

  it('one expert (E = 1, k = 1, no capacity) equals a dense MLP with the same weights', () => {
    const m = makeMoe({ experts: 1, topK: 1, activation: 'gelu', bias: true, mult: 2 }, D);
    const mlp = new MLP(D, 16, 'gelu', new Rng(9));
    tf.tidy(() => {
      // Non-zero biases so they are checked too.
      m.experts.upBias!.assign(tf.randomNormal([1, 16], 0, 0.5, 'float32', 1));
      m.experts.downBias!.assign(tf.randomNormal([1, D], 0, 0.5, 'float32', 2));
    });
    const bank = m.experts;
    const state = {
      'up.weight': bank.up.reshape([D, 16]),
      'up.bias': bank.upBias!.reshape([16]),
      'down.weight': bank.down.reshape([16, D]),
      'down.bias': bank.downBias!.reshape([D]),
    };
    mlp.loadStateDict(state);
    tf.dispose(Object.values(state));
    const x = new Rng(4).normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const [a, b] = [m.forward(x, ctx), mlp.forward(x)];
    expectTensorsClose(a, b, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([x, a, b, ctx.positions]);
    m.dispose();
    mlp.dispose();
  });

  it.each([
    ['Switch top-1, no capacity', { experts: 4, topK: 1, activation: 'gelu' as const }],
    ['Switch top-1, capacityFactor 1 (drops)', { experts: 4, topK: 1, capacityFactor: 1, activation: 'relu' as const }],
    ['Mixtral top-2 SwiGLU (renormalised)', { experts: 4, topK: 2, activation: 'swiglu' as const }],
    ['top-2 not renormalised, with capacity', { experts: 3, topK: 2, renormalize: false, capacityFactor: 1.5, activation: 'silu' as const, bias: true }],
  ])('%s: sparse dispatch equals the dense gated mixture', (_name, options) => {
    const m = makeMoe({ mult: 2, ...options }, D);
    sharpen(m);
    const x = new Rng(5).normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const y = m.forward(x, ctx);
    const expected = naiveMoe(x.dataSync(), weightsOf(m), B, L, D, {
      E: m.numExperts,
      k: m.topK,
      capacityFactor: m.capacityFactor,
      renormalize: m.renormalize,
      activation: options.activation,
      Hd: 16,
    });
    expectTensorsClose(y, expected, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y, ctx.positions]);
    m.dispose();
  });

  it('capacity drops overflow tokens in sequence order (hand-made router logits)', () => {
    // x = identity rows, so the router logits are the router weight's rows.
    const m = makeMoe({ experts: 2, topK: 1, capacityFactor: 1, activation: 'relu', mult: 2 }, 6);
    // Tokens 0-4 prefer expert 0, token 5 prefers expert 1; C = ceil(1 · 6 / 2) = 3.
    const logits = [[2, 0], [1, 0], [3, 0], [2, 1], [0.5, 0], [0, 4]];
    tf.tidy(() => m.router.assign(tf.tensor2d(logits)));
    const x = tf.eye(6).reshape([1, 6, 6]);
    const ctx = makeForwardContext(1, 6);
    const { logits: z, probs, routing } = m.route(x, ctx);
    expect(routing.capacity).toBe(3);
    expect(Array.from(routing.expert)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(Array.from(routing.kept)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(expertCounts(routing)).toEqual([3, 1]);
    const y = m.forward(x, ctx);
    const rows = y.reshape([6, 6]).arraySync() as number[][];
    // Dropped tokens (3 and 4) get exactly 0 from the layer (the residual carries them).
    expect(rows[3].every((v) => v === 0) && rows[4].every((v) => v === 0)).toBe(true);
    for (const t of [0, 1, 2, 5]) expect(Math.max(...rows[t].map(Math.abs))).toBeGreaterThan(0);
    // Without a capacity nothing is dropped.
    const free = routeTokens(probs.dataSync(), 1, 6, 2, 1, null);
    expect(expertCounts(free)).toEqual([5, 1]);
    tf.dispose([x, y, z, probs, ctx.positions]);
    m.dispose();
  });

  it('top-2 capacity serves every first choice before any second choice', () => {
    // 4 tokens, E = 2, C = ceil(1 · 4 / 2) = 2. First choices: e0, e0, e1, e0 -> e0 is full after
    // tokens 0, 1, so token 3's first choice is dropped; second choices then fill what is left.
    const p = [0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4];
    const r = routeTokens(p, 1, 4, 2, 2, 1);
    expect(Array.from(r.expert)).toEqual([0, 1, 0, 1, 1, 0, 0, 1]);
    // first choices: t0 e0 keep, t1 e0 keep, t2 e1 keep, t3 e0 drop (e0 full);
    // second choices: t0 e1 keep (e1: 2), t1 e1 drop, t2 e0 drop, t3 e1 drop.
    expect(Array.from(r.kept)).toEqual([1, 1, 1, 0, 1, 0, 0, 0]);
    expect(expertCapacity(1.25, 8, 4)).toBe(3);
    expect(expertCapacity(1.1, 10, 11)).toBe(1);
  });

  it('balance loss and z-loss equal the hand computation; uniform top-1 routing gives exactly 1', () => {
    const N = 8, E = 4;
    // Balanced, symmetric routing: token n prefers expert n mod 4 by the same margin.
    const logits = tf.tensor2d(Array.from({ length: N }, (_, n) => Array.from({ length: E }, (_, e) => (e === n % E ? 2 : 0))));
    const probs = tf.softmax(logits);
    const routing = routeTokens(probs.dataSync(), 1, N, E, 1, null);
    const uniform = loadBalancingLoss(probs, routing);
    expect(uniform.dataSync()[0]).toBeCloseTo(1, 6);
    // Top-2 on the same routing gives k = 2 only when P is uniform too: check the loops instead.
    const x = new Rng(7).normalTensor([N, 5]);
    const w = new Rng(8).normalTensor([5, E], 0, 1.5);
    const z = tf.matMul(x, w);
    const p = tf.softmax(z);
    for (const k of [1, 2]) {
      const r = routeTokens(p.dataSync(), 1, N, E, k, null);
      const ref = naiveLosses(x.dataSync(), w.dataSync(), N, 5, E, k);
      expect(loadBalancingLoss(p, r).dataSync()[0]).toBeCloseTo(ref.balance, 5);
    }
    expect(routerZLoss(z).dataSync()[0]).toBeCloseTo(naiveLosses(x.dataSync(), w.dataSync(), N, 5, E, 1).z, 4);
    tf.dispose([logits, probs, uniform, x, w, z, p]);
  });

  it('reports both losses through ctx.auxLosses, and a model loss adds them with their weights', () => {
    const m = makeMoe({ experts: 4, topK: 2, auxLossWeight: 0.5, zLossWeight: 0.25 }, D);
    sharpen(m, 20);
    const x = new Rng(10).normalTensor([B, L, D]);
    const aux = new AuxLossCollector();
    const y = m.forward(x, { ...makeForwardContext(B, L), auxLosses: aux });
    expect(aux.names).toEqual(['moe.balance', 'moe.zloss']);
    const ref = naiveLosses(x.dataSync(), m.router.dataSync(), B * L, D, 4, 2);
    const total = aux.total();
    expect(total.dataSync()[0]).toBeCloseTo(0.5 * ref.balance + 0.25 * ref.z, 4);
    tf.dispose([x, y, total]);
    m.dispose();

    // In a model: loss = cross-entropy + Σ weight · aux.
    const registry = createRegistry().use(standard, moe);
    const base = { vocab: 11, dModel: 8, layers: 1, heads: 2, seed: 1 };
    const withAux = buildModel(registry, { ...base, feedforward: { kind: 'moe', experts: 4, auxLossWeight: 1, zLossWeight: 1 } }) as CausalLM;
    const batch = { inputs: tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32'), targets: tf.tensor2d([[2, 3, 4, 5]], [1, 4], 'int32') };
    const full = withAux.loss(batch, { training: false, rng: new Rng(0) });
    const collector = new AuxLossCollector();
    const logits = withAux.forward(batch.inputs, { auxLosses: collector });
    const auxTotal = collector.total();
    const ce = tf.tidy(() => tf.mean(tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(batch.targets, [-1]), 11), tf.reshape(logits, [-1, 11]))));
    expect(auxTotal.dataSync()[0]).toBeGreaterThan(1); // balance ≥ 1-ish plus z-loss > 0
    expect(full.dataSync()[0]).toBeCloseTo(ce.dataSync()[0] + auxTotal.dataSync()[0], 4);
    tf.dispose([full, logits, auxTotal, ce, batch.inputs, batch.targets]);
    withAux.dispose();
  });

  it('the layer is leak-free with aux losses and its gradients match finite differences', () => {
    const m = makeMoe({ experts: 3, topK: 2, activation: 'swiglu', mult: 1 }, 4);
    sharpen(m, 30);
    const x = new Rng(11).normalTensor([1, 3, 4]);
    const r = new Rng(12).normalTensor([1, 3, 4]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const aux = new AuxLossCollector();
      m.forward(x, { ...makeForwardContext(1, 3), auxLosses: aux });
      aux.total();
    });
    // Nothing survives the tidy: the kept aux-loss tensors are released by total().
    expect(tf.memory().numTensors - before).toBe(0);
    const ctx = makeForwardContext(1, 3);
    // Throws on a mismatch; routing stays fixed under the ±eps perturbations.
    const result = gradCheck((xi) => tf.sum(tf.mul(m.forward(xi, ctx), r)) as tf.Scalar, [x], { eps: 1e-3, atol: 2e-3, rtol: 2e-2 });
    expect(result.maxAbsError).toBeLessThan(2e-3);
    ctx.positions.dispose();
    tf.dispose([x, r]);
    m.dispose();
  });
});

it('uses the router jitter only while training, from the forward rng', () => {
  const m = makeMoe({ experts: 4, topK: 1, routerJitter: 0.5 }, 8);
  const x = new Rng(13).normalTensor([1, 5, 8]);
  const logitsOf = (training: boolean, seed: number): Tensor => {
    const { logits, probs } = m.route(x, { training, rng: new Rng(seed) });
    probs.dispose();
    return logits;
  };
  const [e1, e2, t1, t1b, t2] = [logitsOf(false, 1), logitsOf(false, 2), logitsOf(true, 1), logitsOf(true, 1), logitsOf(true, 2)];
  expectTensorsClose(e1, e2, { atol: 0, rtol: 0 });
  expectTensorsClose(t1, t1b, { atol: 0, rtol: 0 }); // seeded: reproducible
  expect(tf.tidy(() => tf.max(tf.abs(tf.sub(t1, t2))).dataSync()[0])).toBeGreaterThan(1e-4);
  expect(tf.tidy(() => tf.max(tf.abs(tf.sub(t1, e1))).dataSync()[0])).toBeGreaterThan(1e-4);
  // Jitter multiplies the router input by U(1 - ε, 1 + ε): |Δz| ≤ ε Σ_d |x_d W_de|.
  const bound = naiveRouter(tf.abs(x).dataSync(), tf.abs(m.router).dataSync(), 5, 8, 4).z.flat();
  const diff = tf.tidy(() => tf.abs(tf.sub(t1, e1)).dataSync());
  diff.forEach((d, i) => expect(d).toBeLessThanOrEqual(0.5 * bound[i] + 1e-6));
  tf.dispose([x, e1, e2, t1, t1b, t2]);
  m.dispose();
});
