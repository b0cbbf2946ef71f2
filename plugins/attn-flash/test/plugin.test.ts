/** The manifest, config validation (errors name the path, the value and the fix), and training. */
import { ConfigError, createRegistry, ensureBackend, Rng, tf, type Tensor } from '@weft/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import flash, { FlashAttention } from '../src/index.js';
import { ctx, makeKernel } from './helpers.js';

beforeAll(async () => {
  await ensureBackend(); // wasm, Weft's default in Node
});

describe('@weft/attn-flash plugin', () => {
  it('manifest: name, package.json version, both papers, provides attention "flash"', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(flash.name).toBe('@weft/attn-flash');
    expect(flash.version).toBe(pkg.version);
    expect(flash.papers?.map((p) => p.arxiv)).toEqual(['2205.14135', '2307.08691']);
    const registry = createRegistry().use(flash);
    expect(registry.kinds('attention')).toContain('flash');
    const config = registry.validate('attention', { kind: 'flash' });
    expect(config).toEqual({ kind: 'flash', blockQ: 64, blockK: 64, implementation: 'auto' });
    expect(registry.capabilities('attention', config)).toMatchObject({ causal: true, bias: true, padding: true, segments: true, decode: true, weights: false });
    expect(registry.create('attention', 'flash')).toBeInstanceOf(FlashAttention);
  });

  it.each([
    [{ blockQ: 0 }, 'attention.blockQ', '0'],
    [{ blockK: 2.5 }, 'attention.blockK', '2.5'],
    [{ implementation: 'gpu' }, 'attention.implementation', '"gpu"'],
    [{ blockMask: { kind: 'local', windowBlocks: -1 } }, 'attention.blockMask.windowBlocks', '-1'],
    [{ blockMask: { kind: 'stripes' } }, 'attention.blockMask', 'stripes'],
  ])('bad options %j fail at config time with the path and the value', (opts, path, value) => {
    const registry = createRegistry().use(flash);
    let error: unknown;
    try {
      registry.create('attention', { kind: 'flash', ...opts });
    } catch (e) {
      error = e;
    }
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(value);
  });

  it('an unknown option names the valid ones', () => {
    expect(() => createRegistry().use(flash).create('attention', { kind: 'flash', block: 128 })).toThrow(/no option "block".*blockQ, blockK/);
  });

  it('shape errors name the tensor, its shape and what to pass', () => {
    const kernel = makeKernel();
    const q = tf.zeros([1, 3, 4, 8]);
    const k = tf.zeros([1, 2, 4, 8]);
    expect(() => kernel.attend(q, k, k, ctx({ causal: true, scale: 1, queryOffset: 0 }))).toThrow(/k has shape \[1, 2, 4, 8\].*dividing the 3 query heads/);
    const mask = tf.ones([1, 5]);
    const k3 = tf.zeros([1, 3, 4, 8]);
    expect(() => kernel.attend(q, k3, k3, ctx({ causal: false, scale: 1, keyPaddingMask: mask }))).toThrow(/keyPaddingMask has shape \[1, 5\], expected \[1, 4\]/);
    tf.dispose([q, k, mask, k3]);
  });
});

describe('it trains', () => {
  for (const implementation of ['tiled', 'fused']) {
    it(`${implementation}: a few Adam steps on a toy objective through the kernel reduce the loss`, () => {
      // Learn q, k so that causal attention over fixed values reproduces a target mix of them.
      const rng = new Rng(41);
      const kernel = makeKernel({ blockQ: 4, blockK: 4, implementation });
      const [B, H, L, D] = [1, 2, 9, 4];
      const q = tf.variable(rng.normalTensor([B, H, L, D]));
      const k = tf.variable(rng.normalTensor([B, H, L, D]));
      const v = rng.normalTensor([B, H, L, D]);
      const target = tf.tidy(() => tf.cumsum(v, 2).div(tf.range(1, L + 1).reshape([1, 1, L, 1]))); // uniform causal average
      const c = ctx({ causal: true, scale: 0.5, queryOffset: 0 });
      const opt = tf.train.adam(0.05);
      const losses: number[] = [];
      for (let step = 0; step < 30; step++) {
        const loss = opt.minimize(() => tf.mean(tf.square(kernel.attend(q, k, v, c).sub(target))) as tf.Scalar, true)!;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      expect(losses[29]).toBeLessThan(losses[0] * 0.5);
      opt.dispose();
      tf.dispose([q, k, v, target] as Tensor[]);
    });
  }
});
