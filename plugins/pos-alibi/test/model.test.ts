import { attention, createRegistry, definePlugin, IncompatibleError, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { buildModel, CausalLM, DenseAttention, generate, standard } from '@weft/nn';
import alibi, { AlibiBias } from '@weft/pos-alibi';

const SLOPES_4 = [1 / 4, 1 / 16, 1 / 64, 1 / 256]; // hand-written, H = 4

describeWithBackends('ALiBi inside attention', () => {
  const B = 2, H = 4, Dh = 8;
  const rng = new Rng(11);

  for (const causal of [true, false]) {
    it(`dense attention + alibi == naive softmax(qk/sqrt(d) - m|i-j|) v (${causal ? 'causal' : 'bidirectional'})`, () => {
      const L = 9;
      const [q, k, v] = [rng.normalTensor([B, H, L, Dh]), rng.normalTensor([B, H, L, Dh]), rng.normalTensor([B, H, L, Dh])];
      const enc = new AlibiBias(H);
      const pos = tf.tidy(() => tf.tile(tf.range(0, L, 1, 'int32').expandDims(0), [B, 1]));
      const out = tf.tidy(() =>
        new DenseAttention().attend(q, k, v, makeAttentionContext({
          causal, scale: 1 / Math.sqrt(Dh), queryOffset: 0,
          logitBias: (qr, kr) => enc.bias(pos.slice([0, qr.start], [-1, qr.end - qr.start]), pos.slice([0, kr.start], [-1, kr.end - kr.start])),
        })),
      );
      const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh }, {
        causal, queryOffset: 0, bias: (_b, h, i, j) => -SLOPES_4[h] * Math.abs(i - j),
      });
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([q, k, v, pos, out]);
    });
  }

  it('decoding shape: 3 new queries at positions 7..9 against 10 cached keys', () => {
    const [Lq, Lk] = [3, 10];
    const [q, k, v] = [rng.normalTensor([1, H, Lq, Dh]), rng.normalTensor([1, H, Lk, Dh]), rng.normalTensor([1, H, Lk, Dh])];
    const enc = new AlibiBias(H);
    const qPos = tf.tensor2d([[7, 8, 9]], [1, 3], 'int32');
    const kPos = tf.range(0, Lk, 1, 'int32').expandDims(0);
    const out = tf.tidy(() =>
      new DenseAttention().attend(q, k, v, makeAttentionContext({
        causal: true, scale: 1 / Math.sqrt(Dh), queryOffset: Lk - Lq,
        logitBias: (qr, kr) => enc.bias(qPos.slice([0, qr.start], [-1, qr.end - qr.start]), kPos.slice([0, kr.start], [-1, kr.end - kr.start])),
      })),
    );
    const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B: 1, H, Lq, Lk, Dh }, {
      causal: true, bias: (_b, h, i, j) => -SLOPES_4[h] * Math.abs(7 + i - j),
    });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([q, k, v, qPos, kPos, out]);
  });
});

describeWithBackends('ALiBi in a causal LM', () => {
  const config = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 16, positional: { kind: 'alibi' } };

  it('adds no parameters: same count as a model without positional encoding', () => {
    const withAlibi = buildModel(createRegistry().use(standard, alibi), config);
    const without = buildModel(createRegistry().use(standard), { ...config, positional: { kind: 'none' } });
    expect(withAlibi.numParameters()).toBe(without.numParameters());
    withAlibi.dispose();
    without.dispose();
  });

  it('cached decoding (model.step) gives the same logits as recomputation (model.forward), and greedy generate agrees', () => {
    const model = buildModel(createRegistry().use(standard, alibi), { ...config, seed: 3 }) as CausalLM;
    const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12], [3, 3, 8, 1, 0, 6, 2, 15, 5, 5]];
    const ids = tf.tensor2d(seq, [2, 10], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(2);
    const parts: Tensor[] = [];
    const prompt = ids.slice([0, 0], [2, 4]);
    parts.push(model.step(prompt, cache));
    for (let t = 4; t < 10; t++) {
      const tok = ids.slice([0, t], [2, 1]);
      parts.push(model.step(tok, cache));
      tok.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([ids, full, prompt, stepped, ...parts]);

    const prompts = [[1, 5, 2, 9], [3, 3, 8, 1]];
    const cached = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: true });
    const recomputed = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });

  it('extrapolates: a model with maxLen 16 runs on 64 tokens with finite logits', () => {
    const model = buildModel(createRegistry().use(standard, alibi), config) as CausalLM;
    const ids = tf.tidy(() => tf.cast(tf.mod(tf.range(0, 64), 16), 'int32').expandDims(0));
    const logits = model.forward(ids);
    expect(logits.shape).toEqual([1, 64, 16]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([ids, logits]);
    model.dispose();
  });

  it('trains: learns to copy the previous token (needs position), without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, alibi), { ...config, dModel: 32, layers: 1 }) as CausalLM;
    const data = new Rng(5);
    const [B, L] = [8, 12];
    const batch = () => {
      const rows = Array.from({ length: B }, () => Array.from({ length: L }, () => Math.floor(data.uniform() * 16)));
      return {
        inputs: tf.tensor2d(rows, [B, L], 'int32'),
        // target at t is the input at t - 1 (t = 0 is masked out): random tokens, so only
        // attention to the previous position can beat chance (ln 16 = 2.77).
        targets: tf.tensor2d(rows.map((r) => [0, ...r.slice(0, L - 1)]), [B, L], 'int32'),
        lossMask: tf.tensor2d(rows.map(() => [0, ...new Array(L - 1).fill(1)]), [B, L], 'float32'),
      };
    };
    const opt = tf.train.adam(3e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets, b.lossMask]);
    }, 100);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(losses[0]).toBeGreaterThan(2.4); // chance
    expect(mean(losses.slice(-10))).toBeLessThan(2.2); // well below chance after 100 steps
    opt.dispose();
    model.dispose();
  });

  it('refuses, at config time, an attention kernel that cannot add a logit bias', () => {
    const noBias = definePlugin({
      name: '@weft/test-nobias',
      version: '0.0.0',
      provides: [
        attention('nobias', {
          capabilities: { causal: true, bidirectional: true, bias: false, padding: true, segments: true, decode: true, weights: false },
          create: () => new DenseAttention(),
        }),
      ],
    });
    const registry = createRegistry().use(standard, alibi, noBias);
    const build = () => buildModel(registry, { ...config, attention: { kind: 'nobias' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/positional encoding "alibi" adds a logit bias, but attention kernel "nobias" cannot apply one/);
    expect(build).toThrow(/Use a kernel that supports a bias \(dense, flash\)/);
  });
}, ['wasm']); // model-level tests on one backend: the pieces underneath are covered on cpu and wasm above
