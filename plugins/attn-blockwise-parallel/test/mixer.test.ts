import { Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { BlockwiseParallelMixer } from '@weft/attn-blockwise-parallel';

const D = 16, H = 2, Dh = 8;
const make = (queryChunkSize: number, keyChunkSize: number, seed = 3) =>
  new BlockwiseParallelMixer({ queryChunkSize, keyChunkSize, mult: 4, activation: 'gelu' }, { dModel: D, heads: H, headDim: Dh, layers: 2 }, new Rng(seed));

/** Give a mixer non-trivial norm gains/biases and linear biases (the init has ones/zeros). */
function perturb(m: BlockwiseParallelMixer, seed: number): void {
  const rng = new Rng(seed);
  for (const [, p] of m.namedParameters()) p.assign(tf.add(p, rng.normalTensor(p.shape as number[], 0, 0.3)));
}

/**
 * The standard pre-norm block's residual branch, computed densely here with the mixer's weights:
 *   a = softmax(scale · Q Kᵀ + mask) V W_o + b_o,  Q, K, V = LN1(x) W_{q,k,v} + b
 *   y = a + W2 gelu(W1 LN2(x + a) + b1) + b2
 */
function denseBlock(m: BlockwiseParallelMixer, x: Tensor, causal: boolean, allowed?: (b: number, i: number, j: number) => boolean): Tensor {
  return tf.tidy(() => {
    const [B, L] = x.shape as number[];
    const ln = (t: Tensor, g: Tensor, b: Tensor) => {
      const mean = tf.mean(t, -1, true);
      const c = tf.sub(t, mean);
      const variance = tf.mean(tf.square(c), -1, true);
      return tf.add(tf.mul(tf.div(c, tf.sqrt(tf.add(variance, 1e-5))), g), b);
    };
    const lin = (t: Tensor, w: Tensor, b: Tensor) => tf.add(tf.matMul(tf.reshape(t, [-1, (w.shape as number[])[0]]), w), b).reshape([B, L, -1]);
    const heads = (t: Tensor) => tf.transpose(tf.reshape(t, [B, L, H, Dh]), [0, 2, 1, 3]);
    const u = ln(x, m.ln1.gamma, m.ln1.beta);
    const q = heads(lin(u, m.wq.weight, m.wq.bias!));
    const k = heads(lin(u, m.wk.weight, m.wk.bias!));
    const v = heads(lin(u, m.wv.weight, m.wv.bias!));
    const mask = new Float32Array(B * L * L);
    const anyRow = new Float32Array(B * L);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          const ok = (!causal || j <= i) && (!allowed || allowed(b, i, j));
          mask[(b * L + i) * L + j] = ok ? 0 : -1e9;
          if (ok) anyRow[b * L + i] = 1;
        }
      }
    }
    const logits = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh)), tf.tensor(mask, [B, 1, L, L]));
    const o = tf.mul(tf.matMul(tf.softmax(logits), v), tf.tensor(anyRow, [B, 1, L, 1])); // [B, H, L, Dh]
    const a = lin(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, L, H * Dh]), m.wo.weight, m.wo.bias!);
    const hid = lin(ln(tf.add(x, a), m.ln2.gamma, m.ln2.beta), m.up.weight, m.up.bias!);
    const gelu = tf.mul(tf.mul(hid, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(hid, tf.mul(0.044715, tf.pow(hid, 3)))))));
    return tf.add(a, lin(gelu, m.down.weight, m.down.bias!));
  });
}

mixerConformance('blockwise-parallel (chunks 3 / 4)', () => make(3, 4), { causal: true, decode: false }, { dModel: D });

describeWithBackends('blockwise-parallel equals the standard block computed densely', () => {
  const B = 2, L = 11;
  let x: Tensor;
  let mixer: BlockwiseParallelMixer;
  beforeAll(() => {
    x = new Rng(7).normalTensor([B, L, D]);
    mixer = make(4, 3);
    perturb(mixer, 1);
  });
  afterAll(() => {
    x.dispose();
    mixer.dispose();
  });

  for (const causal of [true, false]) {
    it(`${causal ? 'causal' : 'bidirectional'}: output, for query/key chunk sizes that do and do not divide L`, () => {
      const ref = denseBlock(mixer, x, causal);
      for (const [qc, kc] of [[4, 3], [1, 1], [5, 11], [11, 2], [64, 64]]) {
        const m = make(qc, kc);
        for (const [name, p] of m.namedParameters()) p.assign(mixer.namedParameters().find(([n]) => n === name)![1]);
        const ctx = makeForwardContext(B, L, { causal });
        const y = m.forward(x, ctx);
        expectTensorsClose(y, ref, { atol: 1e-5, rtol: 1e-4 });
        tf.dispose([y, ctx.positions]);
        m.dispose();
      }
      ref.dispose();
    });
  }

  it('with key padding and segment ids', () => {
    const keep = Array.from({ length: B * L }, (_, t) => (t % 4 === 1 ? 0 : 1));
    const seg = Array.from({ length: B * L }, (_, t) => (t % L < 6 ? 0 : 1));
    const paddingMask = tf.tensor2d(keep, [B, L]);
    const segmentIds = tf.tensor2d(seg, [B, L], 'int32');
    for (const causal of [true, false]) {
      const ctx = makeForwardContext(B, L, { causal, paddingMask, segmentIds });
      const y = mixer.forward(x, ctx);
      const ref = denseBlock(mixer, x, causal, (b, i, j) => keep[b * L + j] === 1 && seg[b * L + i] === seg[b * L + j]);
      expectTensorsClose(y, ref, { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([y, ref, ctx.positions]);
    }
    tf.dispose([paddingMask, segmentIds]);
  });

  it('gradients (input and every parameter) equal those of the dense block', () => {
    const r = new Rng(2).normalTensor([B, L, D]);
    const params = mixer.namedParameters();
    for (const causal of [true, false]) {
      const ctx = makeForwardContext(B, L, { causal });
      const lossOf = (f: (xx: Tensor) => Tensor) => (xx: Tensor) => tf.sum(tf.mul(f(xx), r)) as tf.Scalar;
      const gx = tf.grad(lossOf((xx) => mixer.forward(xx, ctx)))(x);
      const gxRef = tf.grad(lossOf((xx) => denseBlock(mixer, xx, causal)))(x);
      expectTensorsClose(gx, gxRef, { atol: 1e-5, rtol: 1e-4 });
      const vars = params.map(([, p]) => p);
      const gp = tf.variableGrads(() => lossOf((xx) => mixer.forward(xx, ctx))(x), vars);
      const gpRef = tf.variableGrads(() => lossOf((xx) => denseBlock(mixer, xx, causal))(x), vars);
      expect(params).toHaveLength(16); // ln1, q, k, v, o, ln2, up, down: weight + bias each
      for (const [, p] of params) {
        expect(gp.grads[p.name]).toBeDefined();
        expectTensorsClose(gp.grads[p.name], gpRef.grads[p.name], { atol: 1e-5, rtol: 1e-4 });
      }
      tf.dispose([gx, gxRef, gp.value, gpRef.value, ctx.positions, ...Object.values(gp.grads), ...Object.values(gpRef.grads)]);
    }
    r.dispose();
  });
});

describeWithBackends('blockwise-parallel memory (forward)', () => {
  async function peak(L: number, chunk: number): Promise<number> {
    const m = make(chunk, chunk);
    const x = new Rng(1).normalTensor([1, L, D]);
    const ctx = makeForwardContext(1, L, { causal: true });
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => m.forward(x, ctx));
    const bytes = info.peakBytes - before;
    tf.dispose([info.result as Tensor, x, ctx.positions]);
    m.dispose();
    return bytes;
  }
  it('peak tracks the chunk size and grows linearly in L, not as L²', async () => {
    const p1 = await peak(1024, 32);
    const p2 = await peak(2048, 32);
    const big = await peak(1024, 256);
    const scoresLxL = H * 1024 * 1024 * 4; // one dense [H, L, L] score tensor: 8 MiB
    const ffnFull = 1024 * 4 * D * 4; // the whole [L, 4D] FFN hidden: 256 KiB
    expect(p1).toBeLessThan(scoresLxL / 8);
    expect(p2 / p1).toBeLessThan(2.6); // dense would be ~4x
    expect(big).toBeGreaterThan(p1 + H * (256 * 256 - 32 * 32) * 4); // bigger chunks: bigger score tiles
    // The per-block FFN hidden is [32, 4D]; the block never holds the whole [L, 4D] one beyond the O(L·D) activations.
    expect(p1).toBeLessThan(12 * 1024 * D * 4 + ffnFull);
  });
}, ['wasm']);
