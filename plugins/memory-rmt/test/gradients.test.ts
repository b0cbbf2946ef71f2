/**
 * BPTT across segments (§3): the loss on segment 2 has a gradient w.r.t. segment 1's input
 * embeddings and the initial memory; `bpttSegments: 1` stops it at the segment boundary.
 */
import { Rng, tf, useBackend, type Tensor } from '@weft/core';
import type { CausalLM } from '@weft/nn';
import { build, ids, maxAbs } from './helpers.js';

const base = { vocab: 12, dModel: 16, layers: 2, heads: 2, seed: 4, tieEmbeddings: false, segmentLength: 4 };
// Tokens 10 and 11 appear only in segment 1; segment 2 uses 1..4.
const x = [[10, 11, 10, 11, 1, 2, 3, 4]];

/** Gradients of Σ(logits of segment 2)² w.r.t. the embedding table and the initial memory. */
function segment2Grads(model: CausalLM): { embedding: Tensor; memory: Tensor | null } {
  const table = model.namedParameters().find(([n]) => n === 'embedding.weight')![1];
  const memory = model.namedParameters().find(([n]) => n === 'memory.memory')?.[1];
  const vars = memory ? [table, memory] : [table];
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.forward(ids(x), { training: true, rng: new Rng(1) });
    return tf.sum(tf.square(tf.slice(logits, [0, 4, 0], [1, 4, -1]))) as tf.Scalar;
  }, vars);
  value.dispose();
  return { embedding: grads[table.name], memory: memory ? (grads[memory.name] ?? null) : null };
}

const rowsOfSegment1 = (g: Tensor) => tf.gather(g, [10, 11]);

describe('memory-rmt gradients', () => {
  beforeAll(() => useBackend('cpu'));

  it('full BPTT: the loss on segment 2 reaches segment 1’s input embeddings and the memory parameters', () => {
    const model = build({ ...base, memory: { kind: 'rmt', tokens: 2 } });
    const g = segment2Grads(model);
    expect(maxAbs(rowsOfSegment1(g.embedding))).toBeGreaterThan(1e-7);
    expect(g.memory).not.toBeNull();
    expect(maxAbs(g.memory!)).toBeGreaterThan(1e-7);
    model.dispose();
  });

  it('bpttSegments: 1 stops the gradient at the boundary (segment 1 rows and the initial memory get none)', () => {
    const model = build({ ...base, memory: { kind: 'rmt', tokens: 2, bpttSegments: 1 } });
    const g = segment2Grads(model);
    expect(maxAbs(rowsOfSegment1(g.embedding))).toBe(0);
    expect(g.memory === null || maxAbs(g.memory) === 0).toBe(true);
    // Segment 2's own tokens still get gradients.
    expect(maxAbs(tf.gather(g.embedding, [1, 2, 3]))).toBeGreaterThan(0);
    model.dispose();
  });

  it('bpttSegments: 2 keeps the gradient across one boundary', () => {
    const model = build({ ...base, memory: { kind: 'rmt', tokens: 2, bpttSegments: 2 } });
    expect(maxAbs(rowsOfSegment1(segment2Grads(model).embedding))).toBeGreaterThan(1e-7);
    model.dispose();
  });

  it('without memory (m = 0) segment 2’s loss never reaches segment 1', () => {
    const model = build({ ...base, memory: { kind: 'rmt', tokens: 0 } });
    expect(maxAbs(rowsOfSegment1(segment2Grads(model).embedding))).toBe(0);
    model.dispose();
  });
});
