/**
 * Segment recurrence: with `segmentLength`, the model runs long inputs segment by segment,
 * carrying each stateful mixer's state (forwardSegment) and the model-level memory.
 * Test mixer: a causal running sum y_t = Σ_{s<=t} x_s, whose carried state is the sum so far —
 * so the segmented model must equal the unsegmented one exactly.
 */
import { ConfigError, createRegistry, definePlugin, memory, Module, mixer, init, tf, useBackend, type ForwardContext, type LayerState, type Rng, type SegmentMemory, type Tensor } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';

class SumState implements LayerState {
  constructor(readonly sum: Tensor) {}
  bytes(): number {
    return this.sum.size * 4;
  }
  dispose(): void {
    this.sum.dispose();
  }
}

class RunningSum extends Module {
  forward(x: Tensor): Tensor {
    return tf.cumsum(x, 1);
  }
  initState(batch: number): LayerState {
    return new SumState(tf.keep(tf.zeros([batch, 1, 0])));
  }
  forwardSegment(x: Tensor, state: LayerState): [Tensor, LayerState] {
    const prev = (state as SumState).sum;
    const carried = prev.shape[2] === 0 ? tf.zerosLike(tf.slice(x, [0, 0, 0], [-1, 1, -1])) : prev;
    const y = tf.add(tf.cumsum(x, 1), carried);
    const next = new SumState(tf.keep(tf.slice(y, [0, x.shape[1]! - 1, 0], [-1, 1, -1])));
    return [y, next];
  }
}

/** One memory token holding the mean of the previous segment's outputs, prepended to each segment. */
class MeanMemory extends Module implements SegmentMemory {
  readonly start: tf.Variable;
  constructor(dModel: number, rng: Rng) {
    super();
    this.start = this.addParameter('start', [1, 1, dModel], init.normal(0.5), rng);
  }
  init(batch: number): LayerState {
    return new SumState(tf.keep(tf.tile(this.start, [batch, 1, 1])));
  }
  read(x: Tensor, state: LayerState, _ctx: ForwardContext): Tensor {
    return tf.concat([(state as SumState).sum, x], 1);
  }
  write(h: Tensor, state: LayerState): [Tensor, LayerState] {
    const body = tf.slice(h, [0, 1, 0], [-1, -1, -1]);
    state.dispose();
    return [body, new SumState(tf.keep(tf.mean(body, 1, true)))];
  }
}

const plugin = definePlugin({
  name: '@weft/test-segments',
  version: '0.0.1',
  paper: { title: 'Test', year: 2026 },
  provides: [
    mixer('running-sum', { capabilities: { causal: true, bidirectional: false, decode: false, segments: false, padding: false }, create: () => new RunningSum() as never }),
    memory('mean-token', { capabilities: { causal: true }, create: (_o, ctx) => new MeanMemory(ctx.dims.dModel, ctx.rng) }),
  ],
});

const base = { vocab: 9, dModel: 8, layers: 2, heads: 2, positional: 'none', seed: 5, layout: [{ mixer: 'running-sum' }, null] };

describe('segment recurrence', () => {
  beforeAll(() => useBackend('cpu'));
  const registry = createRegistry().use(standard, plugin);

  it('carries mixer state across segments: segmented == whole for a state-exact mixer', () => {
    const whole = buildModel(registry, { ...base, layout: [{ mixer: 'running-sum' }, { mixer: 'running-sum' }] }) as CausalLM;
    const segmented = buildModel(registry, { ...base, layout: [{ mixer: 'running-sum' }, { mixer: 'running-sum' }], segmentLength: 3 }) as CausalLM;
    const ids = tf.tensor2d([[1, 4, 2, 8, 5, 7, 3, 6]], [1, 8], 'int32');
    expectTensorsClose(segmented.forward(ids), whole.forward(ids), { atol: 1e-5 });
    expect(segmented.canDecode()).toBe(false);
    whole.dispose();
    segmented.dispose();
  });

  it('a model-level memory passes information from one segment to the next, with gradients to its parameters', () => {
    const model = buildModel(registry, { ...base, segmentLength: 4, memory: 'mean-token' }) as CausalLM;
    const a = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32');
    const b = tf.tensor2d([[8, 8, 8, 8, 5, 6, 7, 8]], [1, 8], 'int32');
    const la = model.forward(a);
    const lb = model.forward(b);
    expect(la.shape).toEqual([1, 8, 9]);
    // Segment 2 is identical in a and b, yet its outputs differ: information crossed the boundary.
    const diff = tf.max(tf.abs(tf.sub(tf.slice(la, [0, 4, 0], [1, 4, 9]), tf.slice(lb, [0, 4, 0], [1, 4, 9])))).dataSync()[0];
    expect(diff).toBeGreaterThan(1e-4);
    const memoryParam = model.namedParameters().find(([n]) => n === 'memory.start')![1];
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.forward(a), model.forward(a))) as tf.Scalar, [memoryParam]);
    const g = Object.values(grads)[0];
    expect(g.shape).toEqual([1, 1, 8]);
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    model.dispose();
  });

  it('a memory without segmentLength is a config error', () => {
    let err: unknown;
    try {
      buildModel(registry, { ...base, memory: 'mean-token' });
    } catch (e) {
      err = e;
    }
    expect(ConfigError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe('memory: a segment memory needs "segmentLength" (the length of the segments it carries state across)');
  });
});
