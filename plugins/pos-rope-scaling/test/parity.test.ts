/** Parity with an independent PyTorch port (tools/parity/pos-rope-scaling.py -> fixtures/rope-scaling.json). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DIMS, createRegistry, tf, type PositionalEncoding } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import scaling from '../src/index.js';

interface Fixture {
  shapes: Record<'q' | 'k' | 'qPositions' | 'kPositions', number[]>;
  inputs: Record<'q' | 'k' | 'qPositions' | 'kPositions', number[]>;
  cases: Array<{ options: Record<string, unknown>; q: number[]; k: number[] }>;
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'rope-scaling.json'), 'utf8'));

describeWithBackends('pos-rope-scaling parity with PyTorch', () => {
  const registry = createRegistry().use(scaling);
  for (const c of fixture.cases) {
    it(`matches torch for ${JSON.stringify(c.options)}`, () => {
      const { shapes, inputs } = fixture;
      const dims = { ...DEFAULT_DIMS, headDim: shapes.q[3] };
      const enc = registry.create('positional', { kind: 'rope-scaling', ...c.options }, { dims }) as PositionalEncoding;
      const q = tf.tensor(inputs.q, shapes.q);
      const k = tf.tensor(inputs.k, shapes.k);
      const qp = tf.tensor(inputs.qPositions, shapes.qPositions, 'int32');
      const kp = tf.tensor(inputs.kPositions, shapes.kPositions, 'int32');
      const [q2, k2] = enc.rotate!(q, k, qp, kp, undefined as never);
      expectTensorsClose(q2, c.q, { atol: 1e-5, rtol: 1e-5 });
      expectTensorsClose(k2, c.k, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([q, k, qp, kp, q2, k2]);
    });
  }
});
