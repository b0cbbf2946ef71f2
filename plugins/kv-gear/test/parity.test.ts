/** Parity with tools/parity/kv-gear.py (our PyTorch port of GEAR's Algorithm 1 on one chunk). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectTensorsClose } from '@weft/core/testing';
import { gearCompress, gearReconstruct, type QuantAxis } from '../src/index.js';

interface Fixture {
  n: number; d: number; x: number[];
  cases: Array<{ bits: number; rank: number; outlierPercent: number; axis: QuantAxis; xHat: number[] }>;
}

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gear.json'), 'utf8')) as Fixture;

it.each(fx.cases.map((c) => [`b=${c.bits} r=${c.rank} s=${c.outlierPercent}% per ${c.axis}`, c] as const))(
  'X̂ = D̂ + L + S matches the PyTorch port (%s; low rank by truncated SVD, reached by 60 power iterations)',
  (_, c) => {
    const x = Float32Array.from(fx.x);
    const rec = gearReconstruct(gearCompress(x, fx.n, fx.d, { ...c, iters: 60, seed: 1 }));
    expectTensorsClose(rec, c.xHat, { atol: 1e-4, rtol: 1e-4 });
  },
);
