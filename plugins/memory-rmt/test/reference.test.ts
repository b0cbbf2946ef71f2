/**
 * Reference tests: the RMT model equals the paper's recurrence written out by hand over the
 * model's own layers, and m = 0 is a plain segment-wise transformer (segments run independently).
 */
import { Rng, tf, useBackend, type Tensor } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { defaultPositions, type CausalLM } from '@weft/nn';
import { build, copyWeights, ids, maxAbs } from './helpers.js';

const base = { vocab: 11, dModel: 16, layers: 2, heads: 2, seed: 3, tieEmbeddings: false };
const input = [
  [1, 4, 2, 8, 5, 7, 3, 6, 9, 10],
  [3, 3, 1, 0, 2, 9, 9, 4, 5, 1],
];

/** Layers run on an embedded sequence [B, L', D] with positions 0..L'-1 (no segmenting). */
function runLayers(model: CausalLM, x: Tensor): Tensor {
  const [B, L] = x.shape as number[];
  let h = x;
  const positions = defaultPositions(B, L);
  for (let i = 0; i < model.blocks.length; i++) {
    h = model.blocks.at(i).forward(h, { causal: true, training: false, positions, rng: new Rng(0), layerIndex: i, scratch: new Map(), embeddings: x });
  }
  return h;
}

/** Logits of the paper's recurrence, written from Fig. 1c: [mem; H_τ; mem] -> write tokens become the next memory. */
function naiveRmt(model: CausalLM, tokens: Tensor, segmentLength: number, m: number, memory0: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, L] = tokens.shape as number[];
    let mem = tf.tile(memory0, [B, 1, 1]); // [B, m, D]
    const outs: Tensor[] = [];
    for (let start = 0; start < L; start += segmentLength) {
      const len = Math.min(segmentLength, L - start);
      const seg = tf.slice(tokens, [0, start], [B, len]);
      const e = model.positional.embed!(model.embedding.embed(seg), defaultPositions(B, len), {} as never); // [B, len, D]
      const h = runLayers(model, tf.concat([mem, e, mem], 1)); // [B, m + len + m, D]
      outs.push(tf.slice(h, [0, m, 0], [B, len, -1]));
      mem = tf.slice(h, [0, m + len, 0], [B, m, -1]); // H^mem_τ+1 := H^write_τ
    }
    const hidden = tf.concat(outs, 1); // [B, L, D]
    return model.lmHead!.forward(model.finalNorm.forward(hidden));
  });
}

describe('memory-rmt reference', () => {
  beforeAll(() => useBackend('cpu'));

  it('equals the hand-written recurrence [mem_read; segment; mem_write] over the same layers', () => {
    const model = build({ ...base, segmentLength: 4, memory: { kind: 'rmt', tokens: 3 } });
    const x = ids(input);
    const memory0 = model.namedParameters().find(([n]) => n === 'memory.memory')![1];
    expect(memory0.shape).toEqual([1, 3, 16]);
    memory0.assign(tf.randomNormal([1, 3, 16], 0, 1, 'float32', 7)); // make the memory matter
    expectTensorsClose(model.forward(x), naiveRmt(model, x, 4, 3, memory0), { atol: 1e-5 });
    model.dispose();
  });

  it('m = 0 is a segment-wise transformer: each segment run independently by the same model without memory', () => {
    const segmented = build({ ...base, segmentLength: 4, memory: { kind: 'rmt', tokens: 0 } });
    const plain = build(base);
    copyWeights(plain, segmented);
    const x = ids(input);
    const reference = tf.concat(
      [0, 4, 8].map((start) => plain.forward(tf.slice(x, [0, start], [2, Math.min(4, 10 - start)]))),
      1,
    );
    expectTensorsClose(segmented.forward(x), reference, { atol: 1e-5 });
    // ...and it is not the whole-sequence model (segments really are cut).
    expect(maxAbs(tf.sub(segmented.forward(x), plain.forward(x)))).toBeGreaterThan(1e-4);
    segmented.dispose();
    plain.dispose();
  });

  it('with m >= 1, information crosses the segment boundary (same segment 2, different segment 1)', () => {
    const model = build({ ...base, segmentLength: 4, memory: { kind: 'rmt', tokens: 2 } });
    const a = model.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8]]));
    const b = model.forward(ids([[9, 9, 9, 9, 5, 6, 7, 8]]));
    expect(maxAbs(tf.sub(tf.slice(a, [0, 4, 0], [1, 4, -1]), tf.slice(b, [0, 4, 0], [1, 4, -1])))).toBeGreaterThan(1e-5);
    model.dispose();
  });

  it('is causal across segments: changing token t+1.. leaves logits up to t unchanged', () => {
    const model = build({ ...base, segmentLength: 3, memory: { kind: 'rmt', tokens: 2 } });
    const a = model.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8]]));
    const b = model.forward(ids([[1, 2, 3, 4, 5, 0, 0, 0]]));
    expectTensorsClose(tf.slice(a, [0, 0, 0], [1, 5, -1]), tf.slice(b, [0, 0, 0], [1, 5, -1]), { atol: 1e-6 });
    model.dispose();
  });
});
