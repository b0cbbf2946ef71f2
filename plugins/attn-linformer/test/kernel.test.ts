import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { linformerAttention, LinformerAttention, VERSION, type LinformerSharing } from '@weft/attn-linformer';
import { naiveLinformer } from './naive.js';

const make = (sharing: LinformerSharing = 'headwise', k = 6, seqLen = 12, H = 2) => new LinformerAttention({ k, seqLen, sharing }, H, new Rng(0));

attentionKernelConformance('linformer', () => make(), { exact: false });

describeWithBackends('linformer vs eq. (7) written naively', () => {
  const B = 2, H = 3, L = 10, D = 4, n = 14, kProj = 5;
  const rng = new Rng(7);
  let q: Tensor, k: Tensor, v: Tensor;
  beforeAll(() => {
    q = rng.normalTensor([B, H, L, D]);
    k = rng.normalTensor([B, H, L, D]);
    v = rng.normalTensor([B, H, L, D]);
  });
  afterAll(() => tf.dispose([q, k, v]));

  for (const sharing of ['none', 'headwise', 'key-value'] as LinformerSharing[]) {
    it(`sharing "${sharing}": equals the loop reference with the first L rows of E, F (L=${L} < seqLen=${n})`, () => {
      const kernel = make(sharing, kProj, n, H);
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.4 }));
      const ref = naiveLinformer(q.dataSync(), k.dataSync(), v.dataSync(), kernel.E.dataSync(), kernel.F.dataSync(), { B, H, L, D, n, kProj, perHead: sharing === 'none' }, 0.4);
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    });
  }

  it('k = n with E = F = I is exactly softmax attention (the degenerate setting)', () => {
    const kernel = make('headwise', L, L, H);
    const eye = tf.eye(L);
    kernel.E.assign(eye);
    kernel.F.assign(eye);
    const scale = 1 / Math.sqrt(D);
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale }));
    expectTensorsClose(out, naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh: D }, { causal: false, scale }), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([out, eye]);
    kernel.dispose();
  });

  it('differs from softmax attention on random inputs with random E, F', () => {
    const kernel = make('headwise', 4, n, H);
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh: D }, { causal: false, scale: 0.5 });
    const o = out.dataSync();
    expect(Math.max(...Array.from(o, (x, i) => Math.abs(x - soft[i])))).toBeGreaterThan(0.1);
    out.dispose();
    kernel.dispose();
  });

  it('a per-head [H] scale tensor scales each head', () => {
    const kernel = make('headwise', kProj, n, H);
    const scales = [0.2, 0.5, 1.1];
    const st = tf.tensor1d(scales);
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: st }));
    const E = kernel.E.dataSync(), F = kernel.F.dataSync();
    const o = out.dataSync();
    for (let h = 0; h < H; h++) {
      const ref = naiveLinformer(q.dataSync(), k.dataSync(), v.dataSync(), E, F, { B, H, L, D, n, kProj, perHead: false }, scales[h]);
      for (let b = 0; b < B; b++)
        for (let i = (b * H + h) * L * D; i < (b * H + h + 1) * L * D; i++) expect(Math.abs(o[i] - ref[i])).toBeLessThan(1e-4);
    }
    tf.dispose([out, st]);
    kernel.dispose();
  });

  it('parameters: E, F (seqLen, k) by default, per head with "none", only E with "key-value"; init U(±1/√k)', () => {
    const hw = make('headwise', 9, 20, 2);
    expect(hw.namedParameters().map(([name, p]) => [name, p.shape])).toEqual([['E', [20, 9]], ['F', [20, 9]]]);
    const e = hw.E.dataSync();
    expect(Math.max(...Array.from(e, Math.abs))).toBeLessThanOrEqual(1 / 3 + 1e-7);
    expect(Math.max(...Array.from(e, Math.abs))).toBeGreaterThan(0.25);
    const none = make('none', 9, 20, 2);
    expect(none.namedParameters().map(([name, p]) => [name, p.shape])).toEqual([['E', [2, 20, 9]], ['F', [2, 20, 9]]]);
    const kv = make('key-value', 9, 20, 2);
    expect(kv.namedParameters().map(([name]) => name)).toEqual(['E']);
    expect(kv.F).toBe(kv.E);
    [hw, none, kv].forEach((m) => m.dispose());
  });

  it('refuses causal use, key padding and inputs longer than seqLen, saying what to do', () => {
    const kernel = make('headwise', 4, 8, H);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false }))).toThrow(/input has 10 positions but E, F were built for seqLen=8; set the attention option seqLen \(or the model's maxLen\) to at least 10/);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: true }))).toThrow(/bidirectional only.*use a causal kernel/);
    const mask = tf.ones([B, L]);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }))).toThrow(/key padding is not supported/);
    mask.dispose();
    kernel.dispose();
  });
});

describeWithBackends('linformer memory', () => {
  it('L = 2048, k = 32: the forward never holds anything near an L×L float32 tensor (O(n·k))', async () => {
    const L = 2048, D = 16;
    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = make('headwise', 32, L, 1);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.25 })));
    const LxL = L * L * 4; // 16 MiB
    expect(info.peakBytes - before).toBeLessThan(LxL / 8); // scores are L × k = 2048 × 32 floats (256 KiB)
    expect(tf.memory().numBytes - before).toBe(L * D * 4); // only the output survives
    tf.dispose([q, k, v, info.result as Tensor]);
    kernel.dispose();
  });
}, ['wasm']);

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'linformer.json'), 'utf8'));

describeWithBackends('linformer: parity with the PyTorch port (tools/parity/attn-linformer.py)', () => {
  it('sharing "headwise" and "none", input shorter than seqLen', () => {
    const [B, H, n, D] = fixture.shape as number[];
    const [q, k, v] = [tf.tensor4d(fixture.q, [B, H, n, D]), tf.tensor4d(fixture.key, [B, H, n, D]), tf.tensor4d(fixture.v, [B, H, n, D])];
    for (const sharing of ['headwise', 'none'] as const) {
      const kernel = make(sharing, fixture.k, fixture.seqLen, H);
      const shape = sharing === 'none' ? [H, fixture.seqLen, fixture.k] : [fixture.seqLen, fixture.k];
      kernel.E.assign(tf.tensor(sharing === 'none' ? fixture.Eh : fixture.E, shape));
      kernel.F.assign(tf.tensor(sharing === 'none' ? fixture.Fh : fixture.F, shape));
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) }));
      expectTensorsClose(out, fixture[sharing], { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    }
    tf.dispose([q, k, v]);
  });
});

describeWithBackends('linformer: gradients', () => {
  it('d(loss)/d(q, k, v, E, F) match finite differences', () => {
    const rng = new Rng(5);
    const [q, k, v, w] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 5, 3]));
    const [E, F] = [rng.normalTensor([6, 4], 0, 0.5), rng.normalTensor([6, 4], 0, 0.5)];
    const f = (a: Tensor, b: Tensor, c: Tensor, e: Tensor, g: Tensor) => tf.sum(tf.mul(linformerAttention(a, b, c, e, g, 0.6), w)) as tf.Scalar;
    expect(gradCheck(f, [q, k, v, E, F], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    tf.dispose([q, k, v, w, E, F]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
