/** A tiny causal LM with SwitchHead attention learns, without leaking tensors. */
import { createRegistry, useBackend } from '@weft/core';
import { trainOnCounting } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import switchhead, { SwitchHeadLayout } from '../src/index.js';

beforeAll(() => useBackend('wasm'));

it('a tiny SwitchHead LM learns (loss falls) without leaks', async () => {
  const model = buildModel(createRegistry().use(standard, switchhead), {
    vocab: 8, dModel: 16, layers: 1, heads: 2, headDim: 8, maxLen: 16, headLayout: { kind: 'switchhead', experts: 4, topK: 2 }, seed: 1,
  }) as CausalLM;
  expect(Array.from(model.blocks).every((b) => (b.mixer as unknown as { heads: unknown }).heads instanceof SwitchHeadLayout)).toBe(true);
  const losses = await trainOnCounting(model, { steps: 25, lr: 0.03, seed: 2, batch: 6, length: 8, vocab: 8 });
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  model.dispose();
});
