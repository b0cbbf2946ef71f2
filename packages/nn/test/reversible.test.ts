import { createRegistry, definePlugin, feedforward, mixer, Module, Rng, tf, useBackend, type Batch, type ForwardContext, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, EncoderClassifier, generate, maskedCrossEntropy, standard, type TransformerBlock } from '@weft/nn';

const registry = createRegistry().use(standard);
const base = { vocab: 12, dModel: 16, layers: 3, heads: 2, maxLen: 32, seed: 3, residual: 'reversible' };

function batchOf(rows: number[][]): Batch {
  const L = rows[0].length - 1;
  return {
    inputs: tf.tensor2d(rows.map((r) => r.slice(0, L)), [rows.length, L], 'int32'),
    targets: tf.tensor2d(rows.map((r) => r.slice(1)), [rows.length, L], 'int32'),
  };
}
const rows = [
  [1, 4, 2, 7, 7, 3, 0, 9, 11, 5, 6],
  [3, 3, 8, 1, 0, 10, 2, 2, 4, 6, 1],
];

/**
 * The reversible network written out from the equations (Reformer §3) with the model's own
 * sublayers and plain autodiff: x1 = x2 = embed(ids) + sinusoidal positions,
 * y1 = x1 + mixer(norm1(x2)), y2 = x2 + ffn(norm2(y1)), logits = head(finalNorm((y1 + y2) / 2)).
 */
function naiveLogits(model: CausalLM, ids: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, L] = ids.shape;
    const positions = tf.tile(tf.range(0, L, 1, 'int32').reshape([1, L]), [B, 1]);
    const ctx: ForwardContext = { causal: true, training: false, positions, rng: new Rng(0), layerIndex: 0, scratch: new Map() };
    const h = model.positional.embed!(model.embedding.embed(ids), positions, ctx);
    let x1 = h;
    let x2 = h;
    for (let i = 0; i < model.blocks.length; i++) {
      const b: TransformerBlock = model.blocks.at(i);
      const lctx = { ...ctx, layerIndex: i, embeddings: h };
      const y1 = tf.add(x1, b.mixer.forward(b.norm1.forward(x2), lctx));
      const y2 = b.feedforward ? tf.add(x2, b.feedforward.forward(b.norm2!.forward(y1), lctx)) : x2;
      [x1, x2] = [y1, y2];
    }
    return model.embedding.logits!(model.finalNorm.forward(tf.mul(tf.add(x1, x2), 0.5)));
  });
}

const varGrads = (f: () => Tensor) => tf.variableGrads(f as () => tf.Scalar);

describeWithBackends('reversible residual (residual: "reversible")', () => {
  it('the block inverts: x1, x2 recovered from y1, y2 through a 6-layer stack (dropout masks replayed)', () => {
    const model = buildModel(registry, { ...base, layers: 6, dropout: 0.2 }) as CausalLM;
    const rng = new Rng(5);
    const L = 7;
    const positions = tf.range(0, L, 1, 'int32').reshape([1, L]);
    const ctx = (i: number, branch: number): ForwardContext => ({ causal: true, training: true, positions, rng: new Rng(100 * i + branch), layerIndex: i, scratch: new Map() });
    const x0 = rng.normalTensor([1, L, 16]);
    let [x1, x2] = [x0, x0];
    for (let i = 0; i < 6; i++) {
      const b = model.blocks.at(i);
      const y1 = tf.add(x1, b.mixerBranch(x2, ctx(i, 0)));
      [x1, x2] = [y1, tf.add(x2, b.feedForwardBranch(y1, ctx(i, 1))!)];
    }
    for (let i = 5; i >= 0; i--) {
      const b = model.blocks.at(i);
      const r2 = tf.sub(x2, b.feedForwardBranch(x1, ctx(i, 1))!); // x2 = y2 − G(y1)
      [x1, x2] = [tf.sub(x1, b.mixerBranch(r2, ctx(i, 0))), r2]; // x1 = y1 − F(x2)
    }
    expectTensorsClose(x1, x0.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(x2, x0.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    model.dispose();
  });

  it('forward equals the reversible equations computed naively; gradients equal plain autodiff of them (1e-4)', () => {
    // The middle layer has no feed-forward (G = 0: y2 = x2).
    const model = buildModel(registry, { ...base, layout: [null, { feedforward: null }, null] }) as CausalLM;
    // Sharper weights than the 0.02 init, so attention is far from uniform and gradients are not tiny.
    for (const p of model.parameters()) p.assign(tf.tidy(() => tf.mul(p, 6)));
    const batch = batchOf(rows);
    const logits = model.forward(batch.inputs);
    const naive = naiveLogits(model, batch.inputs);
    expectTensorsClose(logits, naive.dataSync(), { atol: 1e-5, rtol: 1e-4 });
    const rev = varGrads(() => model.loss(batch, { training: true, rng: new Rng(1) }));
    const ref = varGrads(() => maskedCrossEntropy(naiveLogits(model, batch.inputs), batch.targets));
    expect(Object.keys(rev.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    expectTensorsClose(rev.value, ref.value.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    let largest = 0;
    for (const [name, g] of Object.entries(ref.grads)) {
      expectTensorsClose(rev.grads[name], g.dataSync(), { atol: 1e-4, rtol: 1e-3 });
      largest = Math.max(largest, tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]));
    }
    expect(largest).toBeGreaterThan(1e-2);
    tf.dispose([logits, naive, batch.inputs, batch.targets, rev.value, ref.value, ...Object.values(rev.grads), ...Object.values(ref.grads)]);
    model.dispose();
  });

  it('with dropout, the recomputation replays the forward masks (gradients match finite differences)', () => {
    const model = buildModel(registry, { ...base, layers: 2, dropout: 0.3 }) as CausalLM;
    for (const p of model.parameters()) p.assign(tf.tidy(() => tf.mul(p, 4)));
    const batch = batchOf(rows);
    const loss = () => model.loss(batch, { training: true, rng: new Rng(9) }) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss);
    const named = new Map(model.namedParameters());
    const probes: Array<[string, number]> = [['blocks.0.mixer.heads.wq.weight', 3], ['blocks.1.feedforward.up.weight', 17], ['blocks.0.norm1.weight', 2]];
    for (const [name, index] of probes) {
      const p = named.get(name);
      expect(p).toBeDefined();
      const g = grads[p!.name].dataSync()[index];
      const at = (delta: number) => {
        const values = p!.dataSync().slice();
        values[index] += delta;
        const old = p!.clone();
        p!.assign(tf.tensor(values, p!.shape));
        const l = tf.tidy(() => loss().dataSync()[0]);
        p!.assign(old);
        old.dispose();
        return l;
      };
      const eps = 1e-2;
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(g - fd)).toBeLessThan(2e-2 + 2e-2 * Math.abs(fd));
    }
    tf.dispose([value, ...Object.values(grads), batch.inputs, batch.targets]);
    model.dispose();
  });

  it('cached decoding (model.step) equals model.forward, and generate() works', () => {
    const model = buildModel(registry, { ...base, positional: 'none' }) as CausalLM;
    for (const p of model.parameters()) p.assign(tf.tidy(() => tf.mul(p, 4)));
    const ids = tf.tensor2d([rows[0]], [1, rows[0].length], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(1);
    const parts: Tensor[] = [];
    for (const [start, n] of [[0, 4], [4, 3], [7, 1], [8, 1], [9, 1], [10, 1]]) {
      const chunk = ids.slice([0, start], [1, n]);
      parts.push(model.step(chunk, cache));
      chunk.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full.dataSync(), { atol: 1e-4, rtol: 1e-4 });
    const out = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
    expect(out[0]).toHaveLength(4);
    cache.dispose();
    tf.dispose([ids, full, stepped, ...parts]);
    model.dispose();
  });

  it('a bidirectional classifier runs reversible too (gradients reach every parameter)', () => {
    const model = buildModel(registry, { ...base, task: 'classifier', classes: 3 }) as EncoderClassifier;
    const batch = { inputs: tf.tensor2d(rows.map((r) => r.slice(0, 6)), [2, 6], 'int32'), targets: tf.tensor1d([0, 2], 'int32') };
    const { value, grads } = varGrads(() => model.loss(batch as Batch, { training: true, rng: new Rng(0) }));
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const zero = Object.entries(grads).filter(([, g]) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0).map(([n]) => n);
    expect(zero.filter((n) => !n.includes('bias'))).toEqual([]);
    tf.dispose([value, ...Object.values(grads), batch.inputs, batch.targets]);
    model.dispose();
  });
});

describeWithBackends(
  'reversible residual: memory and training',
  () => {
    it('peak memory of loss + gradients grows much less with depth than with standard residuals', async () => {
      const peak = async (layers: number, residual: string) => {
        const model = buildModel(registry, { vocab: 12, dModel: 16, heads: 2, maxLen: 64, layers, residual }) as CausalLM;
        const batch = batchOf(Array.from({ length: 4 }, (_, b) => Array.from({ length: 65 }, (_, t) => (t * (b + 1)) % 12)));
        const before = tf.memory().numBytes;
        const info = await tf.profile(() => {
          const { value, grads } = varGrads(() => model.loss(batch, { training: true, rng: new Rng(0) }));
          tf.dispose([value, ...Object.values(grads)]);
        });
        tf.dispose([batch.inputs, batch.targets]);
        model.dispose();
        return info.peakBytes - before;
      };
      const std = (await peak(8, 'standard')) - (await peak(2, 'standard'));
      const rev = (await peak(8, 'reversible')) - (await peak(2, 'reversible'));
      expect(std).toBeGreaterThan(0);
      expect(rev).toBeLessThan(0.05 * std);
    });

    it('a tiny reversible LM learns (loss falls), without leaking tensors', async () => {
      const model = buildModel(registry, { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 32, residual: 'reversible', dropout: 0.1 }) as CausalLM;
      const data = new Rng(5);
      const batch = () => {
        const rs = Array.from({ length: 8 }, () => {
          const start = Math.floor(data.uniform() * 16);
          return Array.from({ length: 17 }, (_, t) => (start + 3 * t) % 16);
        });
        return batchOf(rs);
      };
      const opt = tf.train.adam(1e-2);
      const rng = new Rng(0);
      const losses: number[] = [];
      await expectNoLeaks(() => {
        const b = batch();
        const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
        losses.push(loss.dataSync()[0]);
        tf.dispose([loss, b.inputs, b.targets]);
      }, 40);
      expect(Math.min(...losses.slice(-5))).toBeLessThan(0.5 * losses[0]);
      opt.dispose();
      model.dispose();
    });
  },
  ['wasm'],
);

describe('reversible residual: errors name the field, the value and the fix', () => {
  beforeAll(() => useBackend('cpu'));
  const cfg = { vocab: 12, dModel: 16, layers: 2, heads: 2, residual: 'reversible' };
  it('refuses configurations with no reversible form at build time', () => {
    expect(() => buildModel(registry, { ...cfg, residual: 'revnet' })).toThrow(/residual: residual must be "standard" \(x \+ branch\(x\)\) or "reversible".*got "revnet"/);
    expect(() => buildModel(registry, { ...cfg, postNorm: true })).toThrow(/residual: "reversible" cannot be combined with "postNorm": true: .* Set "postNorm": false, or set "residual": "standard"\./);
    expect(() => buildModel(registry, { ...cfg, reducers: [{ at: 0, span: 1, reducer: 'x' }] })).toThrow(/residual: "reversible" cannot be combined with "reducers": .* Remove "reducers", or set "residual": "standard"\./);
    expect(() => buildModel(registry, { ...cfg, segmentLength: 8 })).toThrow(/residual: "reversible" cannot be combined with "segmentLength": 8: .* or set "residual": "standard"\./);
    expect(() => buildModel(registry, { ...cfg, task: 'encoder-decoder', encoderLayers: 1 })).toThrow(/residual: "reversible" cannot be combined with task "encoder-decoder": .* Use task "causal-lm" or "classifier", or set "residual": "standard"\./);
  });

  it('refuses auxiliary losses and cross-layer scratch sharing when they happen, saying what to change', () => {
    class AuxFFN extends Module {
      forward(x: Tensor, ctx: ForwardContext): Tensor {
        ctx.auxLosses?.add('balance', tf.scalar(0.1));
        return tf.clone(x);
      }
    }
    class SharingMixer extends Module {
      forward(x: Tensor, ctx: ForwardContext): Tensor {
        ctx.scratch.set('shared.kv', x);
        return tf.clone(x);
      }
    }
    const plugin = definePlugin({
      name: 'test-reversible-refusals',
      version: '0.0.0',
      provides: [
        feedforward('aux-ffn', { create: () => new AuxFFN() }),
        mixer('sharing', { capabilities: { causal: true, bidirectional: true, decode: false, segments: false, padding: false }, create: () => new SharingMixer() }),
      ],
    });
    const reg = createRegistry().use(standard, plugin);
    const batch = batchOf(rows);
    const aux = buildModel(reg, { ...cfg, feedforward: 'aux-ffn' }) as CausalLM;
    expect(() => aux.loss(batch, { training: true, rng: new Rng(0) })).toThrow(/Layer 0 adds the auxiliary loss "balance", but with "residual": "reversible" .* or set "residual": "standard"/);
    const sharing = buildModel(reg, { ...cfg, mixer: 'sharing' }) as CausalLM;
    expect(() => sharing.forward(batch.inputs)).toThrow(/Layer 0 shares "shared\.kv" with later layers through the forward scratch .* or set "residual": "standard"/);
    tf.dispose([batch.inputs, batch.targets]);
    aux.dispose();
    sharing.dispose();
  });
});
