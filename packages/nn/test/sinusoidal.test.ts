import { createRegistry, tf, useBackend } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { SinusoidalEncoding, standard } from '@weft/nn';

describe('sinusoidal encoding', () => {
  beforeAll(() => useBackend('cpu'));
  it('interleaves sin/cos of p / base^(2i/D) and scales by D^-1/2 by default', () => {
    const D = 6;
    const enc = createRegistry().use(standard).create('positional', 'sinusoidal', { dims: { dModel: D } }) as SinusoidalEncoding;
    const positions = tf.tensor2d([[0, 3]], [1, 2], 'int32');
    const table = enc.table(positions);
    const expected: number[] = [];
    for (const p of [0, 3]) {
      for (let i = 0; i < D / 2; i++) {
        const angle = p / Math.pow(10000, (2 * i) / D);
        expected.push(Math.sin(angle) / Math.sqrt(D), Math.cos(angle) / Math.sqrt(D));
      }
    }
    expectTensorsClose(table, expected, { atol: 1e-6 });
    const full = new SinusoidalEncoding(D, 10000, 1).table(positions);
    expectTensorsClose(full, expected.map((v) => v * Math.sqrt(D)), { atol: 1e-6 });
    tf.dispose([positions, table, full]);
  });
});
