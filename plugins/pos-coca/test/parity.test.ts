/** Parity with an independent PyTorch port (tools/parity/pos-coca.py -> fixtures/coca.json). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DIMS, createRegistry, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import coca from '../src/index.js';

type Name = 'q' | 'k' | 'qPositions' | 'kPositions';
interface Fixture {
  shapes: Record<Name | 'scores', number[]>;
  inputs: Record<Name, number[]>;
  cases: Array<{ options: Record<string, unknown>; scores: number[] }>;
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'coca.json'), 'utf8'));

describeWithBackends('pos-coca parity with PyTorch', () => {
  const registry = createRegistry().use(coca);
  for (const c of fixture.cases) {
    it(`scores match torch's explicit collinear keys for ${JSON.stringify(c.options)}`, () => {
      const { shapes, inputs } = fixture;
      const enc = registry.create('positional', { kind: 'coca', ...c.options }, { dims: { ...DEFAULT_DIMS, headDim: shapes.q[3] } });
      const q = tf.tensor(inputs.q, shapes.q);
      const k = tf.tensor(inputs.k, shapes.k);
      const qp = tf.tensor(inputs.qPositions, shapes.qPositions, 'int32');
      const kp = tf.tensor(inputs.kPositions, shapes.kPositions, 'int32');
      const scores = tf.tidy(() => {
        const [qf, kf] = enc.rotate!(q, k, qp, kp, undefined as never);
        const H = shapes.q[1];
        const Hkv = shapes.k[1];
        const kRep = tf.gather(kf, tf.tensor1d(Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hkv))), 'int32'), 1);
        return tf.matMul(qf, kRep, false, true);
      });
      expectTensorsClose(scores, c.scores, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([q, k, qp, kp, scores]);
    });
  }
});
