/**
 * The attention mixer decodes through a kernel's own recurrent state when the kernel has
 * initState/attendStep (the linear-attention family), instead of a KV cache.
 * Test kernel: causal running mean of v (out_i = mean_{j<=i} v_j), state = (Σ v, count).
 */
import { attention, createRegistry, definePlugin, IncompatibleError, kvCache, tf, useBackend, type AttentionContext, type LayerState, type Tensor } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';

class MeanState implements LayerState {
  constructor(readonly sum: Tensor, readonly count: number) {}
  bytes(): number {
    return this.sum.size * 4;
  }
  dispose(): void {
    this.sum.dispose();
  }
}

const runningMean = {
  supports: { causal: true, bidirectional: false, bias: false, padding: false, segments: false, decode: true, weights: false, state: true },
  attend(_q: Tensor, _k: Tensor, v: Tensor, _ctx: AttentionContext): Tensor {
    return tf.tidy(() => {
      const L = v.shape[2]!;
      const counts = tf.reshape(tf.range(1, L + 1), [1, 1, L, 1]);
      return tf.div(tf.cumsum(v, 2), counts);
    });
  },
  initState(batch: number, dims: { kvHeads: number; headDim: number }): LayerState {
    return new MeanState(tf.keep(tf.zeros([batch, dims.kvHeads, 1, dims.headDim])), 0);
  },
  attendStep(_q: Tensor, _k: Tensor, v: Tensor, state: LayerState): [Tensor, LayerState] {
    const s = state as MeanState;
    const T = v.shape[2]!;
    const outs: Tensor[] = [];
    let sum = s.sum;
    for (let t = 0; t < T; t++) {
      sum = tf.add(sum, tf.slice(v, [0, 0, t, 0], [-1, -1, 1, -1]));
      outs.push(tf.div(sum, s.count + t + 1));
    }
    const next = new MeanState(tf.keep(sum.clone()), s.count + T);
    s.dispose();
    return [tf.concat(outs, 2), next];
  },
};

const plugin = definePlugin({
  name: '@weft/test-running-mean',
  version: '0.0.1',
  paper: { title: 'Test', year: 2026 },
  provides: [
    attention('running-mean', { capabilities: runningMean.supports, create: () => runningMean }),
    kvCache('lossy-test', { capabilities: { lossy: true }, create: () => ({ needsWeights: false, create: () => null as never }) }),
  ],
});

test('a stateful kernel decodes from its own state: step == forward, constant state size', async () => {
  await useBackend('cpu');
  const model = buildModel(createRegistry().use(standard, plugin), { vocab: 10, dModel: 8, layers: 2, heads: 2, attention: 'running-mean', seed: 3 }) as CausalLM;
  const ids = tf.tensor2d([[1, 4, 2, 8, 5, 7]], [1, 6], 'int32');
  const full = model.forward(ids);
  const cache = model.initCache(1);
  const bytes0 = cache.bytes();
  const parts = [model.step(tf.slice(ids, [0, 0], [1, 2]), cache)];
  for (let t = 2; t < 6; t++) parts.push(model.step(tf.slice(ids, [0, t], [1, 1]), cache));
  expect(cache.bytes()).toBe(bytes0);
  expectTensorsClose(tf.concat(parts, 1), full, { atol: 1e-5 });
  cache.dispose();
  model.dispose();
});

test('a cache policy paired with a state kernel is refused at config time', () => {
  let err: unknown;
  try {
    buildModel(createRegistry().use(standard, plugin), { vocab: 10, dModel: 8, layers: 1, heads: 2, attention: 'running-mean', kvCache: 'lossy-test' });
  } catch (e) {
    err = e;
  }
  expect(IncompatibleError.isInstance(err)).toBe(true);
  expect((err as Error).message).toMatch(/^mixer\.kvCache: attention kernel "running-mean" decodes from its own fixed-size state, so cache policy "lossy-test" would be ignored/);
});
