/**
 * A learned logit bias gets its gradient through flash: the gradients w.r.t. the bias
 * parameters (T5's bucket table, FIRE's MLP and c, L) equal those of dense attention written
 * with plain tfjs ops (the bias materialised as one L×L tensor, tfjs's own autodiff), for both
 * implementations; and a tiny model with t5-bias + flash trains its bias table.
 */
import { DEFAULT_DIMS, Rng, createRegistry, tf, type PositionalEncoding, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import fire from '@weft/pos-fire';
import t5Bias from '@weft/pos-t5-bias';
import flash from '../src/index.js';
import { ctx, inputs, makeKernel, weightedSum } from './helpers.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };
const B = 2;
const H = 2;
const L = 11;

/** softmax(scale·QKᵀ + bias + causal mask)V, dense, with the whole bias [B, H, L, L] as a tensor. */
function denseWithBias(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, scale: number): Tensor {
  const mask = tf.tensor2d(Array.from({ length: L * L }, (_, x) => (x % L <= Math.floor(x / L) ? 0 : -1e9)), [L, L]); // causal
  return tf.matMul(tf.softmax(tf.matMul(q, k, false, true).mul(scale).add(bias).add(mask)), v);
}

describeWithBackends('flash: gradients of a learned logit bias', () => {
  const positionals = [
    ['t5-bias', t5Bias, { kind: 't5-bias', numBuckets: 8, maxDistance: 16 }],
    ['fire', fire, { kind: 'fire', mlpWidth: 8, initL: 4 }],
  ] as const;
  for (const [name, plugin, config] of positionals) {
    for (const implementation of ['tiled', 'fused'] as const) {
      it(`${name}, ${implementation}: d(loss)/d(bias parameters) and d(loss)/d(q, k, v) equal dense attention's`, () => {
        const enc = createRegistry().use(plugin).create('positional', config, { dims: { ...DEFAULT_DIMS, heads: H, headDim: 4, dModel: 8 }, rng: new Rng(3) }) as PositionalEncoding & {
          parameters(): tf.Variable[];
        };
        const params = enc.parameters();
        expect(params.length).toBeGreaterThan(0);
        const pos = tf.tensor2d(Array.from({ length: B * L }, (_, x) => (x % L) + 3 * Math.floor(x / L)), [B, L], 'int32'); // batch 1 shifted by 3
        const lazy = (qr: { start: number; end: number }, kr: { start: number; end: number }) =>
          enc.bias!(tf.slice(pos, [0, qr.start], [-1, qr.end - qr.start]), tf.slice(pos, [0, kr.start], [-1, kr.end - kr.start]), undefined as never);
        const { q, k, v } = inputs(21, { B, H, Lq: L, Lk: L, Dh: 4 });
        const w = new Rng(22).normalTensor([B, H, L, 4]);
        const kernel = makeKernel({ blockQ: 4, blockK: 3, implementation });
        const c = ctx({ causal: true, scale: 0.5, queryOffset: 0, logitBias: lazy });

        const before = tf.memory().numTensors;
        const flashG = tf.variableGrads(() => weightedSum(kernel.attend(q, k, v, c), w), params);
        const flashQ = tf.grads((a: Tensor, b: Tensor, d: Tensor) => weightedSum(kernel.attend(a, b, d, c), w))([q, k, v]);
        expect(tf.memory().numTensors - before).toBe(1 + params.length + 3); // value, one gradient per parameter, dq dk dv
        const denseG = tf.variableGrads(() => weightedSum(denseWithBias(q, k, v, enc.bias!(pos, pos, undefined as never), 0.5), w), params);
        const denseQ = tf.grads((a: Tensor, b: Tensor, d: Tensor) => weightedSum(denseWithBias(a, b, d, enc.bias!(pos, pos, undefined as never), 0.5), w))([q, k, v]);

        expectTensorsClose(flashG.value, denseG.value, TOL);
        let total = 0;
        for (const p of params) {
          const g = flashG.grads[p.name];
          expect(g).toBeDefined();
          expectTensorsClose(g, denseG.grads[p.name], TOL);
          total += tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]);
        }
        // real gradients, not zeros (a per-head constant, like FIRE's output bias, has an exactly zero one)
        expect(total).toBeGreaterThan(1e-2);
        flashQ.forEach((g, n) => expectTensorsClose(g, denseQ[n], TOL));
        tf.dispose([q, k, v, w, pos, flashG.value, denseG.value, ...Object.values(flashG.grads), ...Object.values(denseG.grads), ...flashQ, ...denseQ]);
        (enc as unknown as { dispose(): void }).dispose();
      });
    }
  }

  it('without a recorded gradient (inference) the forward takes no extra work and leaks nothing', () => {
    const enc = createRegistry().use(t5Bias).create('positional', { kind: 't5-bias', numBuckets: 8, maxDistance: 16 }, { dims: { ...DEFAULT_DIMS, heads: H, headDim: 4, dModel: 8 }, rng: new Rng(4) }) as PositionalEncoding;
    const pos = tf.tensor2d(Array.from({ length: B * L }, (_, x) => x % L), [B, L], 'int32');
    let calls = 0;
    const lazy = (qr: { start: number; end: number }, kr: { start: number; end: number }) => {
      calls++;
      return enc.bias!(tf.slice(pos, [0, qr.start], [-1, qr.end - qr.start]), tf.slice(pos, [0, kr.start], [-1, kr.end - kr.start]), undefined as never);
    };
    const { q, k, v } = inputs(23, { B, H, Lq: L, Lk: L, Dh: 4 });
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => makeKernel({ blockQ: 4, blockK: 4, implementation: 'tiled' }).attend(q, k, v, ctx({ causal: true, scale: 0.5, queryOffset: 0, logitBias: lazy })));
    expect(tf.memory().numTensors - before).toBe(1);
    expect(calls).toBe(6); // the computed tiles of a causal 3 × 3 grid, no extra parameter probe
    tf.dispose([out, q, k, v, pos]);
    (enc as unknown as { dispose(): void }).dispose();
  });
}, ['wasm']); // the tfjs ops are backend-independent here; gradients.test.ts covers cpu vs wasm

describeWithBackends('flash + t5-bias in a model', () => {
  it('a tiny model trains: loss falls and the bias table changes', () => {
    const model = buildModel(createRegistry().use(standard, flash, t5Bias), {
      vocab: 12, dModel: 16, layers: 1, heads: 2, maxLen: 32,
      attention: { kind: 'flash', blockQ: 4, blockK: 4 },
      positional: { kind: 't5-bias', numBuckets: 8, maxDistance: 16 },
    }) as CausalLM;
    const table = model.namedParameters().find(([n]) => n.includes('relative_attention_bias'))![1];
    const start = table.clone();
    const seq = Array.from({ length: 18 }, (_, i) => [3, 7, 1, 9, 4][i % 5]);
    const inputs2 = tf.tensor2d([seq.slice(0, 16), seq.slice(1, 17)], [2, 16], 'int32');
    const targets = tf.tensor2d([seq.slice(1, 17), seq.slice(2, 18)], [2, 16], 'int32');
    const opt = tf.train.adam(2e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    for (let step = 0; step < 25; step++) {
      const loss = opt.minimize(() => model.loss({ inputs: inputs2, targets }, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    const settled = tf.memory().numTensors;
    opt.minimize(() => model.loss({ inputs: inputs2, targets }, { training: true, rng }) as tf.Scalar, true)!.dispose();
    expect(tf.memory().numTensors).toBe(settled); // no leak per step (the kept bias inputs are released)
    expect(losses[losses.length - 1]).toBeLessThan(0.6 * losses[0]);
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(table, start))).dataSync()[0]);
    expect(moved).toBeGreaterThan(1e-2); // adam at lr 2e-2 for 25 steps: the table really trains
    opt.dispose();
    tf.dispose([inputs2, targets, start]);
    model.dispose();
  });

  it('with the bias table frozen (a bias without trainable parameters) the fused backward re-reads the bias after the forward freed its positions', () => {
    const model = buildModel(createRegistry().use(standard, flash, t5Bias), {
      vocab: 12, dModel: 16, layers: 2, heads: 2, maxLen: 32,
      attention: { kind: 'flash', blockQ: 4, blockK: 4, implementation: 'fused' },
      positional: { kind: 't5-bias', numBuckets: 8, maxDistance: 16 },
    }) as CausalLM;
    model.freeze((n) => n.includes('relative_attention_bias'));
    const table = model.namedParameters().find(([n]) => n.includes('relative_attention_bias'))![1];
    const start = table.clone();
    const inputs2 = tf.tensor2d([[3, 7, 1, 9, 4, 3, 7, 1, 9, 4, 3, 7]], [1, 12], 'int32');
    const targets = tf.tensor2d([[7, 1, 9, 4, 3, 7, 1, 9, 4, 3, 7, 1]], [1, 12], 'int32');
    const opt = tf.train.adam(2e-2);
    const rng = new Rng(1);
    const losses: number[] = [];
    for (let step = 0; step < 12; step++) {
      const loss = opt.minimize(() => model.loss({ inputs: inputs2, targets }, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(table, start))).dataSync()[0])).toBe(0); // frozen: untouched
    opt.dispose();
    tf.dispose([inputs2, targets, start]);
    model.dispose();
  });
}, ['wasm']);
