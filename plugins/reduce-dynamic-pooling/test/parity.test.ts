import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { DynamicPoolingOptions, DynamicPoolingReducer } from '../src/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'dynamic-pooling.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('matches the PyTorch port of boundary prediction, segment pooling and upsampling (tools/parity/reduce-dynamic-pooling.py)', () => {
  const { B, L, D, W, S } = fixture;
  const r = new DynamicPoolingReducer(DynamicPoolingOptions.parse({ predictorWidth: W }), { dModel: D }, new Rng(0));
  // torch.nn.Linear.weight is [out, in]; Weft stores [in, out].
  r.hidden.weight.assign(tf.transpose(tf.tensor2d(fixture.hidden_weight, [W, D])));
  r.hidden.bias!.assign(tf.tensor1d(fixture.hidden_bias));
  r.out.weight.assign(tf.transpose(tf.tensor2d(fixture.out_weight, [1, W])));
  r.out.bias!.assign(tf.tensor1d(fixture.out_bias));
  const x = tf.tensor3d(fixture.x, [B, L, D]);
  const red = r.reduce(x, makeForwardContext(B, L));
  expect(red.x.shape).toEqual([B, S, D]);
  const valid = (fixture.segments as number[]).map((n) => Array.from({ length: S }, (_, s) => (s < n ? 1 : 0)));
  expect(red.ctx.paddingMask!.arraySync()).toEqual(valid);
  // compare the real segments (the port leaves padding segments at zero; Weft's are zero too)
  expectTensorsClose(red.x, fixture.shortened, { atol: 1e-5 });
  expectTensorsClose(red.restore(tf.tensor3d(fixture.y, [B, S, D])), fixture.restored, { atol: 1e-5 });
});
