import { createRegistry, useBackend } from '@weft/core';
import { trainOnCounting } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import s4 from '../src/index.js';

beforeAll(() => useBackend('cpu'));

it.each(['s4'])('a tiny %s LM learns (loss falls) without leaking, and decodes with its state', async (kind) => {
  const model = buildModel(createRegistry().use(standard).use(s4), {
    vocab: 8, dModel: 12, layers: 1, positional: 'none', mixer: { kind, d_state: 8 }, feedforward: null, seed: 1,
  }) as CausalLM;
  const losses = await trainOnCounting(model, { steps: 20, lr: 0.03, seed: 2, batch: 6, length: 8, vocab: 8 });
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 = 2.08 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  expect(model.canDecode()).toBe(true);
  const cached = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
  const recomputed = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false });
  expect(cached).toEqual(recomputed); // recurrent-state decoding == full recomputation
  model.dispose();
});
