/**
 * Parity with tools/parity/memory-block-recurrent.py — an own PyTorch port of the layer
 * (arXiv:2203.07852 §3) run on fixed random weights and inputs — for three gate ×
 * configuration cases: outputs of the whole sequence and the state after the last block.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type ForwardContext } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { BlockRecurrentMixer, type BlockRecurrentState, type GateConfiguration, type GateType } from '../src/index.js';

interface Case {
  gate: GateType;
  configuration: GateConfiguration;
  params: Record<string, number[] | number[][]>;
  x: number[][][];
  y: number[][][];
  state: number[][][];
}
const f = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'block-recurrent.json'), 'utf8')) as {
  dModel: number;
  heads: number;
  headDim: number;
  blockLength: number;
  stateSize: number;
  ffnHidden: number;
  cases: Case[];
};
const ctx = {} as ForwardContext;

describe('parity with the PyTorch port', () => {
  for (const c of f.cases) {
    it(`gate ${c.gate}, configuration ${c.configuration}: outputs and final state`, () => {
      const m = new BlockRecurrentMixer(
        { blockLength: f.blockLength, stateSize: f.stateSize, gate: c.gate, configuration: c.configuration, ffnHidden: f.ffnHidden },
        { dModel: f.dModel, heads: f.heads, headDim: f.headDim },
        new Rng(0),
      );
      const named = new Map(m.namedParameters());
      expect([...named.keys()].sort()).toEqual(Object.keys(c.params).sort());
      for (const [name, value] of Object.entries(c.params)) named.get(name)!.assign(tf.tensor(value));
      const x = tf.tensor3d(c.x);
      const y = m.forward(x, ctx);
      expectTensorsClose(y, tf.tensor3d(c.y), { atol: 1e-4, rtol: 1e-4 });
      const [y2, state] = m.forwardSegment(x, m.initState(x.shape[0]), ctx);
      expectTensorsClose((state as BlockRecurrentState).state!, tf.tensor3d(c.state), { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([x, y, y2]);
      state.dispose();
      m.dispose();
    });
  }
});
