/**
 * Training: a tiny transformer with "moe" feed-forward layers learns, with finite auxiliary
 * losses and no tensor leaks; and the BlackMamba example (Mamba mixers + top-1 MoE
 * feed-forward, examples/blackmamba.json) builds with both plugins and learns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, tf, useBackend } from '@weft/core';
import { trainOnCounting } from '@weft/core/testing';
import { AuxLossCollector, buildModel, resolveModelConfig, standard, type CausalLM } from '@weft/nn';
import mamba from '@weft/mixer-mamba';
import moe, { MoEFeedForward } from '../src/index.js';

beforeAll(() => useBackend('wasm'));

function train(model: CausalLM, steps: number, lr: number): Promise<number[]> {
  return trainOnCounting(model, { steps, lr, seed: 2, batch: 6, length: 8, vocab: 8 });
}

function auxValues(model: CausalLM): number[] {
  const aux = new AuxLossCollector();
  const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
  const logits = model.forward(ids, { auxLosses: aux });
  expect(aux.names.length).toBeGreaterThan(0);
  const total = aux.total();
  const v = [total.dataSync()[0]];
  tf.dispose([ids, logits, total]);
  return v;
}

it.each([
  ['Switch top-1 with capacity', { kind: 'moe', experts: 4, topK: 1, capacityFactor: 1.25, routerJitter: 0.01 }],
  ['Mixtral top-2 SwiGLU', { kind: 'moe', experts: 4, topK: 2, activation: 'swiglu' }],
])('a tiny LM with %s experts learns, with finite aux losses and no leaks', async (_name, ff) => {
  const model = buildModel(createRegistry().use(standard, moe), { vocab: 8, dModel: 16, layers: 1, heads: 2, maxLen: 16, feedforward: ff, seed: 1 }) as CausalLM;
  expect(model.blocks.at(0).feedforward).toBeInstanceOf(MoEFeedForward);
  const losses = await train(model, 25, 0.03);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 = 2.08 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  expect(auxValues(model).every(Number.isFinite)).toBe(true);
  model.dispose();
});

it('BlackMamba (examples/blackmamba.json: Mamba mixers + top-1 MoE feed-forward per layer) validates, builds and learns', async () => {
  const example = JSON.parse(readFileSync(join(__dirname, '..', 'examples', 'blackmamba.json'), 'utf8'));
  expect(example.plugins).toEqual(['@weft/mixer-mamba', '@weft/moe-ffn']);
  const registry = createRegistry().use(standard, mamba, moe);
  // The example as shipped validates completely (every layer: mamba mixer, moe feed-forward).
  const resolved = resolveModelConfig(registry, example.model);
  expect(resolved.layers.map((l) => [l.mixer.kind, l.feedforward?.kind, l.feedforward?.topK])).toEqual(Array.from({ length: 4 }, () => ['mamba', 'moe', 1]));
  // The same architecture shrunk for a fast test.
  const tiny = {
    ...example.model,
    vocab: 8, dModel: 12, layers: 2, maxLen: 16,
    layout: example.model.layout.slice(0, 2).map((l: { mixer: object; feedforward: object }) => ({
      mixer: { ...l.mixer, d_state: 4, expand: 1 },
      feedforward: { ...l.feedforward, experts: 4, mult: 2 },
    })),
  };
  const model = buildModel(registry, tiny) as CausalLM;
  expect(Array.from(model.blocks).map((b) => [b.mixer.constructor.name, b.feedforward?.constructor.name])).toEqual(
    Array.from({ length: 2 }, () => [expect.stringMatching(/Mamba/), 'MoEFeedForward']),
  );
  const losses = await train(model, 14, 0.05);
  expect(losses[0]).toBeGreaterThan(1.5);
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  expect(auxValues(model).every(Number.isFinite)).toBe(true);
  model.dispose();
});

it('without a capacity, cached decoding (step) equals the full forward', () => {
  const model = buildModel(createRegistry().use(standard, moe), { vocab: 8, dModel: 16, layers: 1, heads: 2, maxLen: 16, feedforward: { kind: 'moe', experts: 4, topK: 2 }, seed: 3 }) as CausalLM;
  tf.tidy(() => model.namedParameters().forEach(([name, p]) => name.endsWith('router') && p.assign(tf.mul(p, 50))));
  const ids = tf.tensor2d([[1, 5, 2, 7, 3]], [1, 5], 'int32');
  const full = model.forward(ids);
  const cache = model.initCache(1);
  const steps = [0, 1, 2, 3, 4].map((t) => model.step(tf.slice(ids, [0, t], [1, 1]), cache));
  const stepped = tf.concat(steps, 1);
  expect(tf.tidy(() => tf.max(tf.abs(tf.sub(full, stepped))).dataSync()[0])).toBeLessThan(1e-4);
  tf.dispose([ids, full, stepped, ...steps]);
  cache.dispose();
  model.dispose();
});
