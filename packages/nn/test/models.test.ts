import { createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectNoLeaks, expectTensorsClose, gradCheck, mixerConformance, naiveAttention } from '@weft/core/testing';
import { buildModel, CausalLM, DenseAttention, EncoderClassifier, EncoderDecoder, generate, maskedCrossEntropy, RECORD_ATTENTION, standard } from '@weft/nn';

const registry = createRegistry().use(standard);

attentionKernelConformance('dense', () => registry.create('attention', 'dense'), { exact: true });

describe('dense attention extras', () => {
  beforeAll(() => useBackend('cpu'));
  it('grouped-query: query head h reads kv head floor(h / (H/Hkv)); decode alignment; segments', () => {
    const rng = new Rng(3);
    const [B, H, Hkv, Lq, Lk, Dh] = [1, 4, 2, 3, 5, 4];
    const q = rng.normalTensor([B, H, Lq, Dh]);
    const k = rng.normalTensor([B, Hkv, Lk, Dh]);
    const v = rng.normalTensor([B, Hkv, Lk, Dh]);
    const seg = tf.tensor2d([[0, 0, 1, 1, 1]], [1, 5], 'int32');
    const out = new DenseAttention().attend(q, k, v, {
      causal: true,
      scale: 0.5,
      queryOffset: Lk - Lq,
      querySegmentIds: tf.tensor2d([[0, 1, 1]], [1, 3], 'int32'),
      keySegmentIds: seg,
      training: false,
      rng,
      layerIndex: 0,
    });
    const qSeg = [0, 1, 1];
    const kSeg = [0, 0, 1, 1, 1];
    const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Hkv, Lq, Lk, Dh }, { causal: true, scale: 0.5, allowed: (_b, i, j) => qSeg[i] === kSeg[j] });
    expectTensorsClose(out, ref, { atol: 1e-5 });
    tf.dispose([q, k, v, seg, out]);
  });
});

describe('grouped-query gradients', () => {
  beforeAll(() => useBackend('cpu'));
  it('flow to shared key/value heads (finite differences)', () => {
    const rng = new Rng(11);
    const q = rng.normalTensor([1, 4, 3, 2]);
    const k = rng.normalTensor([1, 2, 3, 2]);
    const v = rng.normalTensor([1, 2, 3, 2]);
    const kernel = new DenseAttention();
    const ctx = { causal: true, scale: 0.7, queryOffset: 0, training: false, rng, layerIndex: 0 };
    gradCheck((qq, kk, vv) => tf.sum(tf.square(kernel.attend(qq, kk, vv, ctx))) as tf.Scalar, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([q, k, v]);
  });
});

describe('attention mixer', () => {
  beforeAll(() => useBackend('cpu'));
  mixerConformance(
    'attention (dense, sinusoidal)',
    () => (buildModel(registry, { vocab: 8, dModel: 16, layers: 1, heads: 2, seed: 4 }) as CausalLM).blocks.at(0).mixer,
    { causal: true, decode: true },
    { dModel: 16 },
  );
});

const lmConfig = { vocab: 12, dModel: 16, layers: 2, heads: 2, maxLen: 64, seed: 7 };

describeWithBackends('causal LM', () => {
  it('cached decoding gives the same logits as recomputing the full prefix', () => {
    const model = buildModel(registry, { ...lmConfig, positional: { kind: 'learned' } }) as CausalLM;
    const seq = [[1, 5, 3, 7, 2, 9, 4, 4], [0, 2, 2, 6, 11, 3, 1, 8]];
    const ids = tf.tensor2d(seq.flat(), [2, 8], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(2);
    const prefill = model.step(tf.slice(ids, [0, 0], [2, 3]), cache);
    const pieces = [prefill];
    for (let t = 3; t < 8; t++) pieces.push(model.step(tf.slice(ids, [0, t], [2, 1]), cache));
    expect(cache.position).toBe(8);
    expect(cache.bytes()).toBe(2 /*layers*/ * (2 * 2 * 2 * 8 * 8 /*k,v [B,H,L,Dh]*/ * 4 + 2 * 8 * 4 /*positions*/));
    const stepped = tf.concat(pieces, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([ids, full, stepped, ...pieces]);
    model.dispose();
  });

  it('generate() with and without the cache agree (greedy)', () => {
    const model = buildModel(registry, lmConfig) as CausalLM;
    const a = generate(model, [[1, 2, 3]], { maxNewTokens: 6, temperature: 0 });
    const b = generate(model, [[1, 2, 3]], { maxNewTokens: 6, temperature: 0, useCache: false });
    expect(a).toEqual(b);
    const s1 = generate(model, [[1, 2, 3]], { maxNewTokens: 6, temperature: 1, topK: 5, topP: 0.9, seed: 3 });
    const s2 = generate(model, [[1, 2, 3]], { maxNewTokens: 6, temperature: 1, topK: 5, topP: 0.9, seed: 3 });
    expect(s1).toEqual(s2);
    expect(() => generate(model, [[1]], { maxNewTokens: -1 })).toThrow(/maxNewTokens: must be a non-negative integer; got -1/);
    model.dispose();
  });

  it('learns to continue a repeating pattern, without leaking tensors', async () => {
    const model = buildModel(registry, lmConfig) as CausalLM;
    const seq = Array.from({ length: 17 }, (_, i) => (i * 5) % 12);
    const batch: Batch = {
      inputs: tf.tensor2d([seq.slice(0, 16)], [1, 16], 'int32'),
      targets: tf.tensor2d([seq.slice(1, 17)], [1, 16], 'int32'),
    };
    const opt = tf.train.adam(0.02);
    const losses: number[] = [];
    await expectNoLeaks((i) => {
      const loss = opt.minimize(() => model.loss(batch, { training: true, rng: new Rng(i) }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }, 60);
    expect(losses[59]).toBeLessThan(0.3 * losses[0]);
    opt.dispose();
    tf.dispose([batch.inputs, batch.targets]);
    model.dispose();
  });
});

describe('loss and recording', () => {
  beforeAll(() => useBackend('cpu'));
  it('masked cross-entropy equals -log softmax at the target, averaged over the mask', () => {
    const logits = tf.tensor3d([[[1, 2, 0], [0, 0, 3]]]);
    const targets = tf.tensor2d([[1, 0]], [1, 2], 'int32');
    const lse = (r: number[]) => Math.log(r.reduce((s, x) => s + Math.exp(x), 0));
    const nll0 = lse([1, 2, 0]) - 2;
    const nll1 = lse([0, 0, 3]) - 0;
    expectTensorsClose(maskedCrossEntropy(logits, targets), [(nll0 + nll1) / 2], { atol: 1e-6 });
    expectTensorsClose(maskedCrossEntropy(logits, targets, tf.tensor2d([[0, 1]])), [nll1], { atol: 1e-6 });
  });

  it('records attention weights per layer when asked (rows sum to 1, causal zeros)', () => {
    const model = buildModel(registry, lmConfig) as CausalLM;
    const seen: Array<[number, number[]]> = [];
    const scratch = new Map<string, unknown>([[RECORD_ATTENTION, (layer: number, w: tf.Tensor) => seen.push([layer, Array.from(w.dataSync())])]]);
    tf.dispose(model.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), { scratch }));
    expect(seen.map(([l]) => l)).toEqual([0, 1]);
    const w = seen[0][1]; // [1, 2, 3, 3]
    expect(w[1]).toBe(0);
    expect(w[0] + w[1] + w[2]).toBeCloseTo(1, 5);
    model.dispose();
  });
});

describe('encoder models', () => {
  beforeAll(() => useBackend('wasm'));
  it('a classifier learns a token-presence rule', () => {
    const model = buildModel(registry, { vocab: 6, dModel: 16, layers: 1, heads: 2, task: 'classifier', classes: 2, seed: 2 }) as EncoderClassifier;
    const rng = new Rng(1);
    const rows = Array.from({ length: 16 }, () => Array.from({ length: 6 }, () => 1 + rng.int(5)));
    const labels = rows.map((r) => (r.includes(5) ? 1 : 0));
    const batch: Batch = { inputs: tf.tensor2d(rows.flat(), [16, 6], 'int32'), targets: tf.tensor1d(labels, 'int32') };
    const opt = tf.train.adam(0.02);
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const l = opt.minimize(() => model.loss(batch, { training: true, rng: new Rng(i) }) as tf.Scalar, true)!;
      losses.push(l.dataSync()[0]);
      l.dispose();
    }
    expect(losses[59]).toBeLessThan(0.5 * losses[0]);
    const logits = model.forward(batch.inputs, { paddingMask: tf.ones([16, 6]) });
    expect(logits.shape).toEqual([16, 2]);
    tf.dispose([batch.inputs, batch.targets, logits]);
    model.dispose();
  });

  it('an encoder-decoder learns to copy its source through cross-attention', () => {
    const model = buildModel(registry, { vocab: 8, dModel: 16, layers: 1, encoderLayers: 1, heads: 2, task: 'encoder-decoder', positional: { kind: 'sinusoidal', scale: 1 }, seed: 5 }) as EncoderDecoder;
    const rng = new Rng(4);
    const src = Array.from({ length: 8 }, () => Array.from({ length: 5 }, () => 2 + rng.int(6)));
    const inputs = src.map((r) => [1, ...r.slice(0, 4)]);
    const batch: Batch = {
      sources: tf.tensor2d(src.flat(), [8, 5], 'int32'),
      inputs: tf.tensor2d(inputs.flat(), [8, 5], 'int32'),
      targets: tf.tensor2d(src.flat(), [8, 5], 'int32'),
    };
    const opt = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let i = 0; i < 120; i++) {
      const l = opt.minimize(() => model.loss(batch, { training: true, rng: new Rng(i) }) as tf.Scalar, true)!;
      losses.push(l.dataSync()[0]);
      l.dispose();
    }
    expect(losses[119]).toBeLessThan(0.4 * losses[0]);
    expect(() => model.loss({ inputs: batch.inputs, targets: batch.targets }, { training: false, rng })).toThrow(/needs "sources"/);
    tf.dispose([batch.sources!, batch.inputs, batch.targets]);
    model.dispose();
  });
});

describe('generation', () => {
  beforeAll(() => useBackend('cpu'));
  it('leaves no tensors behind, with or without the cache', () => {
    const model = buildModel(registry, lmConfig) as CausalLM;
    for (const useCache of [true, false]) {
      const before = tf.memory().numTensors;
      generate(model, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0, useCache });
      expect(tf.memory().numTensors).toBe(before);
    }
    model.dispose();
  });
});
