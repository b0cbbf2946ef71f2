import { init, Module, ModuleList, Rng, tf, useBackend } from '@weft/core';
import { expectNoLeaks } from '@weft/core/testing';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42).normalArray(5);
    expect(Array.from(new Rng(42).normalArray(5))).toEqual(Array.from(a));
    expect(Array.from(new Rng(43).normalArray(5))).not.toEqual(Array.from(a));
  });

  it('forks independent streams without advancing the parent', () => {
    const parent = new Rng(1);
    const before = parent.state();
    const x = parent.fork('layer0').uniformArray(4);
    const y = parent.fork('layer1').uniformArray(4);
    expect(parent.state()).toEqual(before);
    expect(Array.from(x)).not.toEqual(Array.from(y));
    expect(Array.from(parent.fork('layer0').uniformArray(4))).toEqual(Array.from(x));
  });

  it('restores exactly from its saved state', () => {
    const r = new Rng(9);
    r.normalArray(3);
    const saved = r.state();
    const next = r.uniformArray(6);
    expect(Array.from(Rng.fromState(saved).uniformArray(6))).toEqual(Array.from(next));
  });

  it('has the right moments and ranges', () => {
    const r = new Rng(123);
    const n = 20000;
    const xs = r.normalArray(n);
    const mean = xs.reduce((s, v) => s + v, 0) / n;
    const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < n; i++) counts[r.int(5)]++;
    for (const c of counts) expect(Math.abs(c - n / 5)).toBeLessThan(n / 5 * 0.06);
  });
});

class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(inDim: number, outDim: number, rng: Rng) {
    super();
    this.weight = this.addParameter('weight', [inDim, outDim], init.torchLinear(), rng);
    this.bias = this.addParameter('bias', [outDim], init.zeros(), rng);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.matMul(x, this.weight), this.bias);
  }
}

class TinyLM extends Module {
  readonly table: tf.Variable;
  readonly layers: ModuleList<Linear>;
  constructor(vocab: number, dim: number, rng: Rng) {
    super();
    this.table = this.addParameter('embed', [vocab, dim], init.normal(0.5), rng.fork('embed'));
    this.layers = this.addModule('layers', new ModuleList([new Linear(dim, dim, rng.fork('l0')), new Linear(dim, vocab, rng.fork('l1'))]));
  }
  logits(ids: tf.Tensor): tf.Tensor {
    let h: tf.Tensor = tf.gather(this.table, ids);
    h = tf.relu(this.layers.at(0).forward(h));
    return this.layers.at(1).forward(h);
  }
}

describe('Module', () => {
  beforeAll(() => useBackend('cpu'));
  it('names parameters by path, counts, freezes and disposes them', () => {
    const m = new TinyLM(10, 4, new Rng(0));
    expect(m.namedParameters().map(([n]) => n)).toEqual(['embed', 'layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    expect(m.numParameters()).toBe(10 * 4 + 4 * 4 + 4 + 4 * 10 + 10);
    m.freeze((n) => n.startsWith('layers.0'));
    expect(m.numParameters(true)).toBe(10 * 4 + 4 * 10 + 10);
    m.eval();
    expect(m.layers.at(1).training).toBe(false);
    const before = tf.memory().numTensors;
    m.dispose();
    expect(tf.memory().numTensors).toBe(before - 5);
    expect(m.isDisposed).toBe(true);
  });

  it('initialises identically on cpu and wasm for the same seed', async () => {
    await useBackend('cpu');
    const a = new TinyLM(7, 3, new Rng(11));
    const va = a.parameters().map((p) => Array.from(p.dataSync()));
    await useBackend('wasm');
    const b = new TinyLM(7, 3, new Rng(11));
    const vb = b.parameters().map((p) => Array.from(p.dataSync()));
    expect(vb).toEqual(va);
    a.dispose();
    b.dispose();
  });
});

describe('an embedding + linear model trains on wasm', () => {
  it('loss falls and the tensor count is constant over 100 steps', async () => {
    await useBackend('wasm');
    const vocab = 12;
    const model = new TinyLM(vocab, 16, new Rng(5));
    // Learn next = (id + 1) % vocab.
    const ids = tf.tensor1d(Array.from({ length: 48 }, (_, i) => i % vocab), 'int32');
    const targets = tf.oneHot(tf.tensor1d(Array.from({ length: 48 }, (_, i) => (i + 1) % vocab), 'int32'), vocab);
    const opt = tf.train.adam(0.05);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(targets, model.logits(ids)) as tf.Scalar, true, model.trainableParameters())!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }, 100);
    expect(losses[99]).toBeLessThan(losses[0] * 0.2);
    opt.dispose();
    model.dispose();
    tf.dispose([ids, targets]);
  });
});
