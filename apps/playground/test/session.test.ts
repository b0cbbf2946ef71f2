/**
 * The playground's Session in Node (no browser): every slot choice builds and trains, the
 * attention maps are causal probability rows, and generation returns text.
 */
import { tf, useBackend } from '@weft/core';
import { ATTENTION_CHOICES, DEFAULT_SELECTION, FEEDFORWARD_CHOICES, MIXER_CHOICES, POSITIONAL_CHOICES } from '../src/choices.js';
import { Session } from '../src/session.js';

const TEXT = 'the cat sat on the mat. the dog sat on the log. '.repeat(20);
const tiny = { ...DEFAULT_SELECTION, dModel: 16, layers: 1, heads: 2, seqLen: 16 };

beforeAll(async () => {
  await useBackend('wasm');
});

test('training on text lowers the loss and leaks no tensors', async () => {
  const before = tf.memory().numTensors;
  const session = new Session(tiny, { kind: 'text', text: TEXT }, { batchSize: 4, lr: 1e-2 });
  for (let i = 0; i < 15; i++) await session.trainStep();
  const { losses } = session;
  expect(losses).toHaveLength(15);
  expect(losses[14]).toBeLessThan(losses[0] - 0.5);
  session.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('generation continues a prompt with text', () => {
  const session = new Session(tiny, { kind: 'text', text: TEXT });
  // @weft/nn's cached generate() currently leaves about one tensor per new token behind
  // (reported to the lead), so this test does not count tensors.
  expect(typeof session.generateText('the ', 8)).toBe('string');
  session.dispose();
});

test('attention maps are causal rows of probabilities, one per head', () => {
  const session = new Session(tiny, { kind: 'text', text: TEXT });
  const maps = session.attentionMaps();
  expect(maps).toHaveLength(tiny.layers * tiny.heads);
  for (const { size, weights } of maps) {
    expect(size).toBe(tiny.seqLen);
    for (let q = 0; q < size; q++) {
      let sum = 0;
      for (let k = 0; k < size; k++) {
        const w = weights[q * size + k];
        if (k > q) expect(w).toBeCloseTo(0, 6);
        sum += w;
      }
      expect(sum).toBeCloseTo(1, 4);
    }
  }
  session.dispose();
});

test('kernels that never form the weight matrix report no maps', () => {
  const session = new Session({ ...tiny, attention: 'linear', positional: 'none' }, { kind: 'text', text: TEXT });
  expect(session.attentionMaps()).toEqual([]);
  session.dispose();
});

test.each([
  ...POSITIONAL_CHOICES.map((c) => ({ ...tiny, positional: c.kind })),
  ...ATTENTION_CHOICES.map((c) => ({ ...tiny, attention: c.kind, positional: 'none' })),
  ...MIXER_CHOICES.map((c) => ({ ...tiny, mixer: c.kind, positional: 'none' })),
  ...FEEDFORWARD_CHOICES.map((c) => ({ ...tiny, feedforward: c.kind })),
])('every offered choice builds and takes a finite step: %o', async (selection) => {
  const session = new Session(selection, { kind: 'text', text: TEXT }, { batchSize: 2 });
  const { loss, tokensPerSecond } = await session.trainStep();
  expect(Number.isFinite(loss)).toBe(true);
  expect(tokensPerSecond).toBeGreaterThan(0);
  session.dispose();
});

test('a synthetic task trains and scores', async () => {
  const session = new Session(tiny, { kind: 'task', task: 'copy' }, { batchSize: 4 });
  expect(session.seqLen).toBe(16);
  await session.trainStep();
  const { accuracy, exactMatch } = session.taskAccuracy(4);
  expect(accuracy).toBeGreaterThanOrEqual(0);
  expect(accuracy).toBeLessThanOrEqual(1);
  expect(exactMatch).toBeLessThanOrEqual(accuracy);
  session.dispose();
});

test('readbackCheck: the synchronous and asynchronous reads of the logits agree, and nothing leaks', async () => {
  const session = new Session(tiny, { kind: 'text', text: TEXT });
  const before = tf.memory().numTensors;
  const ids = session.sampleIds();
  const check = await session.readbackCheck(ids);
  expect(check.size).toBe(ids.length * session.tokenizer.vocabSize); // logits [1, L, vocab]
  expect(check.maxAbs).toBeGreaterThan(0);
  expect(check.maxAbsDiff).toBe(0); // same kernels on the same input: bit-identical on wasm
  expect(tf.memory().numTensors).toBe(before);
  session.dispose();
});
