import { CheckpointError, ConfigError, init, Module, Rng, tf, useBackend } from '@weft/core';
import type { Variable } from '@weft/core';
import { expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { AdamW } from '../src/index.js';

/** PyTorch's AdamW update written out in float64, one parameter at a time. */
function referenceAdamW(
  params: Record<string, number[]>,
  grads: Array<Record<string, number[]>>,
  lrs: number[],
  o: { beta1: number; beta2: number; eps: number; wd: number; decayed: Set<string> },
) {
  const p = Object.fromEntries(Object.entries(params).map(([n, v]) => [n, [...v]]));
  const m = Object.fromEntries(Object.entries(params).map(([n, v]) => [n, v.map(() => 0)]));
  const v = Object.fromEntries(Object.entries(params).map(([n, x]) => [n, x.map(() => 0)]));
  grads.forEach((g, index) => {
    const t = index + 1;
    const lr = lrs[index];
    for (const name of Object.keys(p)) {
      for (let i = 0; i < p[name].length; i++) {
        if (o.decayed.has(name)) p[name][i] -= lr * o.wd * p[name][i];
        m[name][i] = o.beta1 * m[name][i] + (1 - o.beta1) * g[name][i];
        v[name][i] = o.beta2 * v[name][i] + (1 - o.beta2) * g[name][i] ** 2;
        const mHat = m[name][i] / (1 - o.beta1 ** t);
        const vHat = v[name][i] / (1 - o.beta2 ** t);
        p[name][i] -= (lr * mHat) / (Math.sqrt(vHat) + o.eps);
      }
    }
  });
  return { p, m, v };
}

class Pair extends Module {
  readonly w: Variable;
  readonly b: Variable;
  constructor(w: number[], b: number[]) {
    super();
    this.w = this.addParameter('w', [2, 3], init.values(w), new Rng(0));
    this.b = this.addParameter('b', [3], init.values(b), new Rng(0));
  }
}

describe('AdamW', () => {
  beforeAll(() => useBackend('cpu'));

  const w0 = [0.5, -1.2, 2.0, 0.1, -0.3, 0.8];
  const b0 = [0.05, -0.4, 1.5];
  const gradAt = (step: number, n: number, phase: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(1.3 * step + 0.7 * i + phase) * (1 + i));

  it('matches a float64 loop of the PyTorch formula over several steps, decaying only matrices', () => {
    const params = new Pair(w0, b0);
    const opt = new AdamW(params, { weightDecay: 0.1, betas: [0.8, 0.95], eps: 1e-6 });
    expect(opt.decayedParameters()).toEqual(['w']);
    const grads: Array<Record<string, number[]>> = [];
    const lrs = [0.1, 0.05, 0.02, 0.08, 0.01, 0.03];
    lrs.forEach((lr, s) => {
      const g = { w: gradAt(s, 6, 0), b: gradAt(s, 3, 2) };
      grads.push(g);
      const tensors = { w: tf.tensor2d(g.w, [2, 3]), b: tf.tensor1d(g.b) };
      opt.step(tensors, lr);
      tf.dispose(Object.values(tensors));
    });
    const ref = referenceAdamW({ w: w0, b: b0 }, grads, lrs, {
      beta1: 0.8,
      beta2: 0.95,
      eps: 1e-6,
      wd: 0.1,
      decayed: new Set(['w']),
    });
    expectTensorsClose(params.w, ref.p.w, { atol: 1e-6, rtol: 1e-5 });
    expectTensorsClose(params.b, ref.p.b, { atol: 1e-6, rtol: 1e-5 });
    const state = opt.state();
    expect(state.step.dataSync()[0]).toBe(6);
    expectTensorsClose(state['m.w'], ref.m.w, { atol: 1e-7, rtol: 1e-5 });
    expectTensorsClose(state['v.b'], ref.v.b, { atol: 1e-7, rtol: 1e-5 });
    tf.dispose(Object.values(state));
    opt.dispose();
    params.dispose();
  });

  it('follows a custom decay predicate and leaves parameters without a gradient alone', () => {
    const params = new Pair(w0, b0);
    const opt = new AdamW(params, { lr: 0.1, weightDecay: 0.5, decay: (name) => name === 'b' });
    const g = { b: gradAt(0, 3, 1) };
    const gb = tf.tensor1d(g.b);
    opt.step({ b: gb });
    gb.dispose();
    const ref = referenceAdamW({ b: b0 }, [g], [0.1], {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      wd: 0.5,
      decayed: new Set(['b']),
    });
    expectTensorsClose(params.b, ref.p.b, { atol: 1e-6, rtol: 1e-5 });
    expect(Array.from(params.w.dataSync())).toEqual(Array.from(Float32Array.from(w0)));
    opt.dispose();
    params.dispose();
  });

  it('continues identically after state() is loaded into a fresh optimizer', () => {
    const run = (split: boolean) => {
      const params = new Pair(w0, b0);
      let opt = new AdamW(params, { lr: 0.05 });
      for (let s = 0; s < 6; s++) {
        if (split && s === 3) {
          const state = opt.state();
          opt.dispose();
          opt = new AdamW(params, { lr: 0.05 });
          opt.loadState(state);
          tf.dispose(Object.values(state));
        }
        const g = { w: tf.tensor2d(gradAt(s, 6, 0), [2, 3]), b: tf.tensor1d(gradAt(s, 3, 2)) };
        opt.step(g);
        tf.dispose(Object.values(g));
      }
      const out = [...params.w.dataSync(), ...params.b.dataSync()];
      opt.dispose();
      params.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it('refuses a state for other parameters without changing anything', () => {
    const params = new Pair(w0, b0);
    const opt = new AdamW(params);
    const wrong = {
      step: tf.scalar(3, 'int32'),
      'm.w': tf.zeros([3, 2]),
      'v.w': tf.zeros([2, 3]),
      'm.b': tf.zeros([3]),
      'v.b': tf.zeros([3]),
    };
    expect(() => opt.loadState(wrong)).toThrow(
      /"m\.w" has shape \[3,2\] but the parameter has shape \[2,3\]/,
    );
    const missing = { step: tf.scalar(3, 'int32'), 'm.w': tf.zeros([2, 3]) };
    let caught: unknown;
    try {
      opt.loadState(missing);
    } catch (e) {
      caught = e;
    }
    expect(CheckpointError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/missing \[v\.w, m\.b, v\.b\]/);
    expect(opt.stepCount).toBe(0);
    tf.dispose([...Object.values(wrong), ...Object.values(missing)]);
    opt.dispose();
    params.dispose();
  });

  it('rejects bad hyperparameters with the field and the fix', () => {
    const params = new Pair(w0, b0);
    expect(() => new AdamW(params, { betas: [0.9, 1] })).toThrow(ConfigError);
    expect(() => new AdamW(params, { betas: [0.9, 1] })).toThrow(
      /adamw\.betas\[1\]: got 1 \(number\); each beta must be in \[0, 1\)/,
    );
    expect(() => new AdamW(params, { eps: 0 })).toThrow(/adamw\.eps/);
    params.dispose();
  });

  it('does not leak tensors across steps', async () => {
    const params = new Pair(w0, b0);
    const opt = new AdamW(params);
    const g = { w: tf.ones([2, 3]), b: tf.ones([3]) };
    await expectNoLeaks(() => opt.step(g), 50);
    tf.dispose(Object.values(g));
    opt.dispose();
    params.dispose();
  });
});
