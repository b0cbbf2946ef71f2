import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { FunnelOptions, FunnelReducer } from '../src/index.js';

const cases = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'funnel.json'), 'utf8')) as Array<Record<string, number & number[]>>;

beforeAll(() => useBackend('cpu'));

it.each(cases.map((c) => [c.L, c.S, c] as const))('matches the PyTorch port (avg_pool1d ceil_mode, min-pooled mask, repeat_interleave + residual), L = %i, S = %i', (_L, _S, c) => {
  const { B, L, D, S } = c;
  const r = new FunnelReducer(FunnelOptions.parse({ stride: S }));
  const red = r.reduce(tf.tensor3d(c.x, [B, L, D]), makeForwardContext(B, L, { causal: false, paddingMask: tf.tensor2d(c.mask, [B, L]) }));
  expectTensorsClose(red.x, c.pooled, { atol: 1e-5 });
  expectTensorsClose(red.ctx.paddingMask!, c.pooled_mask, { atol: 0 });
  expectTensorsClose(red.restore(tf.tensor3d(c.y, [B, Math.ceil(L / S), D])), c.restored, { atol: 1e-5 });
});
