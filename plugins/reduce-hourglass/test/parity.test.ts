import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { HourglassOptions, HourglassReducer } from '../src/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'hourglass.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('matches the PyTorch port of linear pooling + linear upsampling (tools/parity/reduce-hourglass.py)', () => {
  const { B, L, D, k } = fixture;
  const r = new HourglassReducer(HourglassOptions.parse({ factor: k }), { dModel: D }, new Rng(0));
  // torch.nn.Linear.weight is [out, in]; Weft stores [in, out].
  r.pool!.weight.assign(tf.transpose(tf.tensor2d(fixture.pool_weight, [D, k * D])));
  r.pool!.bias!.assign(tf.tensor1d(fixture.pool_bias));
  r.upsample!.weight.assign(tf.transpose(tf.tensor2d(fixture.up_weight, [k * D, D])));
  r.upsample!.bias!.assign(tf.tensor1d(fixture.up_bias));
  const x = tf.tensor3d(fixture.x, [B, L, D]);
  const red = r.reduce(x, makeForwardContext(B, L));
  expectTensorsClose(red.x, fixture.shortened, { atol: 1e-5 });
  expectTensorsClose(red.restore(tf.tensor3d(fixture.y, [B, Math.ceil(L / k), D])), fixture.restored, { atol: 1e-5 });
});
