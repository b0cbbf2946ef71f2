/** RelayAttention: the Eq. 6 merge against naive attention, the efficient path, bytes, decoding in a model. */
import { createRegistry, Rng, StateError, tf, useBackend } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose, kvCacheConformance, naiveAttention } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import relay, { attentionWithLse, prefillSystemPrompt, relayAttend, relayMerge, RelayKVCache, RelayKVCacheFactory, setSystemPrompt } from '../src/index.js';

const registry = () => createRegistry().use(standard, relay);

/** Hand-written log-sum-exp of scaled logits over keys [from, to) of a [B, Hkv, Lk, Dh] array. */
function naiveLse(q: Float32Array, k: Float32Array, d: { B: number; H: number; Hkv: number; T: number; Lk: number; Dh: number }, from: number, to: number, visible: (i: number, j: number) => boolean): number[] {
  const out: number[] = [];
  for (let b = 0; b < d.B; b++)
    for (let h = 0; h < d.H; h++)
      for (let i = 0; i < d.T; i++) {
        let s = 0;
        for (let j = from; j < to; j++) {
          if (!visible(i, j)) continue;
          let dot = 0;
          const hk = Math.floor(h / (d.H / d.Hkv));
          for (let e = 0; e < d.Dh; e++) dot += q[((b * d.H + h) * d.T + i) * d.Dh + e] * k[((b * d.Hkv + hk) * d.Lk + j) * d.Dh + e];
          s += Math.exp(dot / Math.sqrt(d.Dh));
        }
        out.push(Math.log(s));
      }
  return out;
}

describeWithBackends('relayMerge (Eq. 6)', () => {
  const B = 2, H = 4, Hkv = 2, Ls = 5, T = 3, Lr = 4, Dh = 4; // the T queries are the last T of the Lr request tokens
  const Lk = Ls + Lr;

  it('merging attention over the system keys and over the request keys equals causal attention over [system; request]', () => {
    const rng = new Rng(11);
    const q = rng.normalTensor([B, H, T, Dh]);
    const k = rng.normalTensor([B, Hkv, Lk, Dh]);
    const v = rng.normalTensor([B, Hkv, Lk, Dh]);
    const ks = tf.slice(k, [0, 0, 0, 0], [B, Hkv, Ls, Dh]);
    const vs = tf.slice(v, [0, 0, 0, 0], [B, Hkv, Ls, Dh]);
    const kr = tf.slice(k, [0, 0, Ls, 0], [B, Hkv, Lr, Dh]);
    const vr = tf.slice(v, [0, 0, Ls, 0], [B, Hkv, Lr, Dh]);
    const sys = attentionWithLse(q, ks, vs);
    const req = attentionWithLse(q, kr, vr, { causal: true });
    const merged = relayMerge(sys.out, sys.lse, req.out, req.lse);
    const [qa, ka, va] = [q, k, v].map((t) => t.dataSync() as Float32Array);
    const ref = naiveAttention(qa, ka, va, { B, H, Hkv, Lq: T, Lk, Dh }, { causal: true });
    expectTensorsClose(merged, ref, { atol: 1e-5, rtol: 1e-4 });
    // The lse each part reports is the log-sum-exp of its visible logits, computed by hand.
    const dims = { B, H, Hkv, T, Lk, Dh };
    expectTensorsClose(sys.lse, naiveLse(qa, ka, dims, 0, Ls, () => true), { atol: 1e-4, rtol: 1e-4 });
    expectTensorsClose(req.lse, naiveLse(qa, ka, dims, Ls, Lk, (i, j) => j - Ls <= i + Lr - T), { atol: 1e-4, rtol: 1e-4 });
    // And the merge is not a plain average: dropping either part changes the result.
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(merged, req.out))).dataSync()[0])).toBeGreaterThan(1e-3);
    tf.dispose([q, k, v, ks, vs, kr, vr, sys.out, sys.lse, req.out, req.lse, merged]);
  });

  it('an empty side (lse = −∞) contributes nothing', () => {
    const rng = new Rng(12);
    const q = rng.normalTensor([1, 2, 2, 4]);
    const k = rng.normalTensor([1, 2, 3, 4]);
    const v = rng.normalTensor([1, 2, 3, 4]);
    const empty = attentionWithLse(q, tf.zeros([1, 2, 0, 4]), tf.zeros([1, 2, 0, 4]));
    expect(Array.from(empty.lse.dataSync())).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
    const full = attentionWithLse(q, k, v);
    const merged = relayMerge(empty.out, empty.lse, full.out, full.lse);
    const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B: 1, H: 2, Lq: 2, Lk: 3, Dh: 4 });
    expectTensorsClose(merged, ref, { atol: 1e-5 });
    tf.dispose([q, k, v, empty.out, empty.lse, full.out, full.lse, merged]);
  });
});

describeWithBackends('relay cache', () => {
  const B = 3, H = 4, Hkv = 2, Ls = 6, Dh = 4;

  function filled(seed: number, Lr: number) {
    const rng = new Rng(seed);
    const cache = new RelayKVCacheFactory().create(B, { kvHeads: Hkv, headDim: Dh });
    const ks = rng.normalTensor([1, Hkv, Ls, Dh]);
    const vs = rng.normalTensor([1, Hkv, Ls, Dh]);
    const ps = tf.tensor2d([Array.from({ length: Ls }, (_, i) => i)], [1, Ls], 'int32');
    setSystemPrompt(cache, ks, vs, ps);
    const kr = rng.normalTensor([B, Hkv, Lr, Dh]);
    const vr = rng.normalTensor([B, Hkv, Lr, Dh]);
    const pr = tf.tidy(() => tf.add(tf.zeros([B, Lr], 'int32'), tf.range(Ls, Ls + Lr, 1, 'int32')));
    cache.append(kr, vr, pr);
    return { cache, ks, vs, ps, kr, vr, pr };
  }

  it('stores the system KV once: bytes = (2·Hkv·Ls·Dh + Ls)·4 + (2·B·Hkv·Lr·Dh + B·Lr)·4 for any batch', () => {
    const { cache, ks, vs, ps, kr, vr, pr } = filled(1, 2);
    expect(cache.length).toBe(Ls + 2);
    expect(cache.bytes()).toBe((2 * Hkv * Ls * Dh + Ls) * 4 + (2 * B * Hkv * 2 * Dh + B * 2) * 4);
    // A standard cache would hold B copies of the system prompt: B·(2·Hkv·Ls·Dh + Ls)·4 bytes for it.
    expect(cache.bytes()).toBeLessThan(B * (2 * Hkv * (Ls + 2) * Dh + Ls + 2) * 4);
    // keys() is the concatenation [broadcast(system); request] for the standard mixer.
    const row = (t: tf.Tensor, b: number) => tf.tidy(() => Array.from(tf.slice(t, [b, 0, 0, 0], [1, Hkv, -1, Dh]).dataSync()));
    const expected = tf.concat([ks, tf.slice(kr, [1, 0, 0, 0], [1, Hkv, 2, Dh])], 2);
    expect(row(cache.keys(), 1)).toEqual(Array.from(expected.dataSync()));
    expect(Array.from(cache.positions().dataSync())).toEqual([0, 1, 2, 3, 4, 5, 6, 7].flatMap((p) => p).concat([0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 6, 7]));
    tf.dispose([ks, vs, ps, kr, vr, pr, expected]);
    cache.dispose();
  });

  it('relayAttend (system KV read once as a [1, H, B·T, Dh] query matrix) equals causal attention over the concatenation', () => {
    const Lr = 4, T = 2;
    const { cache, ks, vs, ps, kr, vr, pr } = filled(2, Lr);
    const q = new Rng(3).normalTensor([B, H, T, Dh]);
    const before = tf.memory().numTensors;
    const y = relayAttend(q, cache);
    expect(tf.memory().numTensors).toBe(before + 1);
    const ref = naiveAttention(q.dataSync(), cache.keys().dataSync(), cache.values().dataSync(), { B, H, Hkv, Lq: T, Lk: Ls + Lr, Dh }, { causal: true });
    expectTensorsClose(y, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([ks, vs, ps, kr, vr, pr, q, y]);
    cache.dispose();
  });

  it('refuses a batched system KV, or a system prompt after request tokens', () => {
    const { cache, ks, vs, ps, kr, vr, pr } = filled(4, 1);
    expect(() => setSystemPrompt(cache, ks, vs, ps)).toThrow(StateError);
    const fresh = new RelayKVCache(B, Hkv, Dh);
    expect(() => fresh.setSystem(kr, vr, pr)).toThrow(/batch must be 1/);
    tf.dispose([ks, vs, ps, kr, vr, pr]);
    cache.dispose();
  });
});

kvCacheConformance('relay', () => new RelayKVCacheFactory(), { lossy: false });

describe('relay in a model', () => {
  beforeAll(() => useBackend('wasm'));
  const config = { vocab: 13, dModel: 16, layers: 2, heads: 4, kvCache: { kind: 'relay' }, seed: 7 };
  const system = [1, 5, 9, 2, 6];
  const requests = [[3, 7, 4], [10, 2, 8]];

  it('system prompt prefilled once + per-request steps == model.forward on [system; request]', async () => {
    const model = buildModel(registry(), config) as CausalLM;
    const ids = requests.map((r) => [...system, ...r]);
    const full = model.forward(tf.tensor2d(ids, [2, ids[0].length], 'int32'));
    const cache = model.initCache(2);
    prefillSystemPrompt(model, cache, system);
    expect(cache.position).toBe(system.length);
    expect(cache.layers.map((c) => (c as RelayKVCache).systemLength)).toEqual([5, 5]);
    const stepIds = [0, 1, 2].map((t) => tf.tensor2d(requests.map((r) => [r[t]]), [2, 1], 'int32'));
    const outs = stepIds.map((x) => model.step(x, cache));
    const fromStep = tf.concat(outs, 1); // [2, 3, vocab]
    const tail = tf.slice(full, [0, system.length, 0], [2, 3, -1]);
    expectTensorsClose(fromStep, tail, { atol: 1e-5, rtol: 1e-4 });
    // Stored bytes per layer: the system KV once + 3 request tokens per row (Hkv 4, Dh 4).
    expect(cache.bytes()).toBe(2 * ((2 * 4 * 5 * 4 + 5) * 4 + (2 * 2 * 4 * 3 * 4 + 2 * 3) * 4));
    await expectNoLeaks(() => {
      const next = tf.tensor2d([[1], [2]], [2, 1], 'int32');
      tf.dispose([model.step(next, cache), next]);
    }, 8);
    tf.dispose([full, fromStep, tail, ...outs, ...stepIds]);
    cache.dispose();
    model.dispose();
  });

  it('has no options to misconfigure, and refuses to prefill a used cache', () => {
    expect(registry().validate('kvCache', { kind: 'relay' }, 'kvCache')).toMatchObject({ kind: 'relay' });
    const model = buildModel(registry(), config) as CausalLM;
    const cache = model.initCache(1);
    tf.dispose(model.step(tf.tensor2d([[1]], [1, 1], 'int32'), cache));
    expect(() => prefillSystemPrompt(model, cache, system)).toThrow(/fresh cache/);
    cache.dispose();
    model.dispose();
  });
});
