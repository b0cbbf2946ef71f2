/** Decoding with MQA/GQA: cached step == full forward, the cache's size, and training. */
import { createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import mqa from '../src/index.js';

beforeAll(() => useBackend('cpu'));

const LAYERS = 2, H = 4, D = 16, Dh = D / H;
const model = (headLayout: unknown, seed = 1) =>
  buildModel(createRegistry().use(standard, mqa), { vocab: 11, dModel: D, layers: LAYERS, heads: H, headLayout, seed }) as CausalLM;

it.each([
  ['mqa', { kind: 'mqa' }],
  ['gqa, kvHeads 1', { kind: 'gqa', kvHeads: 1 }],
  ['gqa, kvHeads 2', { kind: 'gqa', kvHeads: 2 }],
  ['gqa, kvHeads H', { kind: 'gqa', kvHeads: H }],
])('%s: a prompt prefilled then decoded (1 and 2 tokens per step) gives the full forward logits', (_n, headLayout) => {
  const m = model(headLayout);
  const ids = [[1, 4, 2, 8, 5, 7, 3, 0, 9], [6, 6, 1, 10, 2, 3, 4, 5, 1]];
  const input = tf.tensor2d(ids, [2, 9], 'int32');
  const full = m.forward(input); // recomputation over the whole sequence
  const cache = m.initCache(2);
  // Chunks [0, 4), [4, 5), [5, 7), [7, 8), [8, 9): the 2-token step checks the causal offset.
  const outs = [[0, 4], [4, 5], [5, 7], [7, 8], [8, 9]].map(([a, b]) => {
    const x = tf.tensor2d(ids.map((r) => r.slice(a, b)), [2, b - a], 'int32');
    const y = m.step(x, cache);
    x.dispose();
    return y;
  });
  const stepped = tf.concat(outs, 1);
  expectTensorsClose(stepped, full, { atol: 1e-5, rtol: 1e-4 });
  tf.dispose([input, full, stepped, ...outs]);
  cache.dispose();
  m.dispose();
});

it.each([1, 2, H])('gqa kvHeads %i: greedy generation with the KV cache == recomputing the prefix at every token', (kvHeads) => {
  const m = model({ kind: 'gqa', kvHeads }, 5);
  const prompts = [[3, 1, 4], [1, 5, 9]];
  const cached = generate(m, prompts, { maxNewTokens: 6, temperature: 0 });
  expect(cached).toEqual(generate(m, prompts, { maxNewTokens: 6, temperature: 0, useCache: false }));
  m.dispose();
});

it.each([
  ['mha', { kind: 'mha' }, H],
  ['gqa', { kind: 'gqa', kvHeads: 2 }, 2],
  ['mqa', { kind: 'mqa' }, 1],
])('%s: the KV cache holds layers·(2·B·Hkv·L·Dh + B·L) float32/int32 values', (_n, headLayout, Hkv) => {
  const m = model(headLayout);
  const B = 3, L = 7;
  const cache = m.initCache(B);
  tf.dispose(m.step(tf.zeros([B, L], 'int32'), cache));
  // keys + values [B, Hkv, L, Dh] per layer, plus the cached positions [B, L] (int32).
  expect(cache.bytes()).toBe(LAYERS * (2 * B * Hkv * L * Dh + B * L) * 4);
  cache.dispose();
  m.dispose();
});

it('the key/value part of the cache shrinks by exactly heads / kvHeads', () => {
  const B = 2, L = 5;
  const kvBytes = (headLayout: unknown) => {
    const m = model(headLayout);
    const cache = m.initCache(B);
    tf.dispose(m.step(tf.ones([B, L], 'int32'), cache));
    const positions = LAYERS * B * L * 4; // int32 positions are the same for every layout
    const bytes = cache.bytes() - positions;
    cache.dispose();
    m.dispose();
    return bytes;
  };
  const mha = kvBytes({ kind: 'mha' });
  expect(mha / kvBytes({ kind: 'gqa', kvHeads: 2 })).toBe(H / 2);
  expect(mha / kvBytes({ kind: 'mqa' })).toBe(H);
});

it('a tiny MQA language model learns (loss falls) without leaking, and cached generation == recomputation', async () => {
  const m = buildModel(createRegistry().use(standard, mqa), { vocab: 8, dModel: 16, layers: 1, heads: 4, headLayout: 'mqa', seed: 2 }) as CausalLM;
  const opt = tf.train.adam(0.03);
  const rng = new Rng(3);
  const losses: number[] = [];
  const batch = (): Batch => {
    // Counting mod 8 from a random start: every next token is predictable.
    const rows = Array.from({ length: 8 }, () => {
      const s = rng.int(8);
      return Array.from({ length: 9 }, (_, t) => (s + t) % 8);
    });
    return { inputs: tf.tensor2d(rows.map((r) => r.slice(0, 8)), [8, 8], 'int32'), targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 8], 'int32') };
  };
  await expectNoLeaks(() => {
    const b = batch();
    const loss = opt.minimize(() => m.loss(b, { training: true, rng }) as tf.Scalar, true)!;
    losses.push(loss.dataSync()[0]);
    tf.dispose([loss, b.inputs, b.targets]);
  }, 30);
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.6 * losses[0]);
  const cached = generate(m, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0 });
  expect(cached).toEqual(generate(m, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0, useCache: false }));
  opt.dispose();
  m.dispose();
});

it('a training forward (kv heads expanded by gather for the gradient) equals the eval forward', () => {
  const m = model({ kind: 'gqa', kvHeads: 2 });
  const ids = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2]], [1, 7], 'int32');
  const [a, b] = [m.forward(ids, { training: true, rng: new Rng(0) }), m.forward(ids)];
  expectTensorsClose(a, b, { atol: 1e-6, rtol: 1e-6 });
  tf.dispose([ids, a, b]);
  m.dispose();
});
