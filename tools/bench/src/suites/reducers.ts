/**
 * Suite `reducers`: what a token reducer saves in one training step (forward + backward,
 * tf.variableGrads of the loss; no optimizer update) against the same model without it.
 *
 * Model: 4 layers, d = 128, 4 heads, vocab 256, B = 1, L = 512; the reducer shortens the
 * sequence before layer 1 and restores it after layer 2 (reducers: [{ at: 1, span: 2 }]).
 * Reducers that work in causal models (hourglass, random-LTD, dynamic pooling) run in the
 * causal LM; those refused there (funnel, ToMe, LTP: capability causal: false) run in the
 * same-shaped bidirectional classifier (task 'classifier', mean pooling). Each is compared
 * with the unreduced model of its own task.
 *
 * FLOP estimate (forward; forward + backward = 3×), per layer that sees n tokens:
 *   projections and MLP  24·B·n·d²   (q, k, v, o: 4·2·n·d²; MLP ×4: 2·2·n·4d²)
 *   attention scores      4·B·n²·d   (QKᵀ and AV, 2·n²·d each; ×½ when causal)
 * plus the output projection 2·B·L·d·V in the LM. The n of the reduced layers is the length
 * the reducer actually returned in the timed step (recorded by wrapping its `reduce`); the
 * reducer's own work is not counted.
 */
import { Rng, tf, type Batch, type Registry, type Tensor, type TokenReducer } from '@weft/core';
import { buildModel, type CausalLM } from '@weft/nn';
import { restartBackend } from '../backend.js';
import { measure } from '../measure.js';
import type { BenchOptions, BenchRow } from '../options.js';
import { pickLabel } from './decode.js';
import { REDUCER_VARIANTS, resolveVariants, type ReducerSpec } from '../variants.js';

export interface ReducerShape {
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  L: number;
  B: number;
  /** First reduced layer and how many layers run shortened. */
  at: number;
  span: number;
}

export const REDUCER_SHAPE: ReducerShape = {
  vocab: 256,
  dModel: 128,
  layers: 4,
  heads: 4,
  L: 512,
  B: 1,
  at: 1,
  span: 2,
};

const TINY: ReducerShape = {
  vocab: 32,
  dModel: 16,
  layers: 3,
  heads: 2,
  L: 16,
  B: 2,
  at: 1,
  span: 1,
};

type Task = 'causal-lm' | 'classifier';

/** Estimated forward FLOPs of the model when the reduced layers see `reducedLength` tokens. */
export function stepForwardFlops(shape: ReducerShape, task: Task, reducedLength?: number): number {
  const { B, L, dModel: d, vocab, layers, at, span } = shape;
  const causalFactor = task === 'causal-lm' ? 0.5 : 1;
  let flops = 0;
  for (let i = 0; i < layers; i++) {
    const n = reducedLength !== undefined && i >= at && i < at + span ? reducedLength : L;
    flops += 24 * B * n * d * d + 4 * B * n * n * d * causalFactor;
  }
  return flops + (task === 'causal-lm' ? 2 * B * L * d * vocab : 0);
}

export function reducerKey(task: Task, shape: ReducerShape): string {
  return `reducers/${task}/B${shape.B}/L${shape.L}/d${shape.dModel}/n${shape.layers}`;
}

function modelConfig(shape: ReducerShape, task: Task, reducer?: Record<string, unknown>): object {
  return {
    vocab: shape.vocab,
    dModel: shape.dModel,
    layers: shape.layers,
    heads: shape.heads,
    maxLen: shape.L,
    seed: 0,
    ...(task === 'classifier' ? { task, classes: 2, pooling: 'mean' } : {}),
    ...(reducer ? { reducers: [{ at: shape.at, span: shape.span, reducer }] } : {}),
  };
}

function batchFor(shape: ReducerShape, task: Task): Batch {
  const rng = new Rng(11);
  const ids = () =>
    tf.tensor2d(
      Array.from({ length: shape.B * shape.L }, () => Math.floor(rng.uniform() * shape.vocab)),
      [shape.B, shape.L],
      'int32',
    );
  const inputs = ids();
  const targets =
    task === 'classifier'
      ? tf.tensor1d(
          Array.from({ length: shape.B }, (_, i) => i % 2),
          'int32',
        )
      : ids();
  return { inputs, targets };
}

/** Wrap the model's reducers' `reduce` to record the length they return. */
function recordReducedLengths(model: CausalLM): number[] {
  const seen: number[] = [];
  for (const [name, module] of model.namedModules()) {
    if (!/(^|\.)reducers\.\d+$/.test(name)) continue;
    const reducer = module as unknown as TokenReducer;
    const reduce = reducer.reduce.bind(reducer);
    reducer.reduce = (x, ctx) => {
      const out = reduce(x, ctx);
      seen.push((out.x.shape as number[])[1]);
      return out;
    };
  }
  return seen;
}

/** Whether the reducer kind may run in a causal model. */
function reducerIsCausal(registry: Registry, reducer: Record<string, unknown>): boolean {
  return registry.capabilities('reducer', registry.validate('reducer', reducer)).causal;
}

interface StepResult {
  ms: number;
  peakBytes: number;
  reducedLength?: number;
  reps: number;
}

async function timeStep(
  registry: Registry,
  shape: ReducerShape,
  task: Task,
  options: BenchOptions,
  reducer?: Record<string, unknown>,
): Promise<StepResult> {
  const model = buildModel(registry, modelConfig(shape, task, reducer)) as CausalLM;
  const batch = batchFor(shape, task);
  const lengths = recordReducedLengths(model);
  let step = 0;
  const run = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => model.loss(batch, { training: true, rng: new Rng(step++) }) as tf.Scalar,
      );
      value.dataSync();
      for (const g of Object.values(grads)) (g as Tensor).dataSync();
    });
  try {
    const m = await measure(run, options.tiny ? 1 : options.reps);
    const reducedLength = lengths.length
      ? lengths.reduce((a, b) => a + b, 0) / lengths.length
      : undefined;
    return { ms: m.ms, peakBytes: m.peakBytes, reducedLength, reps: m.samples.length };
  } finally {
    tf.dispose([batch.inputs, batch.targets]);
    model.dispose();
  }
}

function failure(error: unknown): string {
  return `failed: ${((error as Error)?.message ?? String(error)).split('\n')[0].slice(0, 200)}`;
}

export async function reducersSuite(
  registry: Registry,
  options: BenchOptions,
): Promise<BenchRow[]> {
  const shape = options.tiny ? TINY : REDUCER_SHAPE;
  const rows: BenchRow[] = [];
  const baselines = new Map<Task, StepResult | string>();
  const shapeFields = (task: Task) => ({ task, ...shape });
  const baseline = async (task: Task): Promise<StepResult | string> => {
    if (!baselines.has(task)) {
      const label = `baseline:${task}`;
      try {
        const r = await timeStep(registry, shape, task, options);
        baselines.set(task, r);
        const flops = 3 * stepForwardFlops(shape, task);
        rows.push({
          suite: 'reducers',
          key: reducerKey(task, shape),
          kind: label,
          plugin: '@weft/nn',
          status: 'ok',
          shape: shapeFields(task),
          metrics: {
            ms: r.ms,
            peakBytes: r.peakBytes,
            flops,
            tokensPerSec: (shape.B * shape.L * 1000) / r.ms,
            reps: r.reps,
          },
        });
        options.log(`reducers ${label}: ${r.ms.toFixed(0)} ms/step`);
      } catch (error) {
        baselines.set(task, failure(error));
        rows.push({
          suite: 'reducers',
          key: reducerKey(task, shape),
          kind: label,
          plugin: '@weft/nn',
          status: 'failed',
          note: failure(error),
          shape: shapeFields(task),
          metrics: {},
        });
        await restartBackend();
      }
    }
    return baselines.get(task)!;
  };
  const variants = resolveVariants(registry, REDUCER_VARIANTS).filter((v) =>
    pickLabel(options.kinds, v.label),
  );
  for (const variant of variants) {
    options.checkpoint?.(rows);
    const spec = REDUCER_VARIANTS.find((s) => s.label === variant.label) as ReducerSpec;
    const empty = { suite: 'reducers' as const, kind: variant.label, plugin: variant.plugin };
    if (variant.skip) {
      rows.push({
        ...empty,
        key: `reducers/${variant.label}`,
        status: 'skipped',
        note: variant.skip,
        shape: {},
        metrics: {},
      });
      continue;
    }
    const task: Task = reducerIsCausal(registry, spec.reducer) ? 'causal-lm' : 'classifier';
    const base = await baseline(task);
    const rowBase = { ...empty, key: reducerKey(task, shape), shape: shapeFields(task) };
    try {
      const r = await timeStep(registry, shape, task, options, spec.reducer);
      const flops =
        r.reducedLength !== undefined
          ? 3 * stepForwardFlops(shape, task, r.reducedLength)
          : undefined;
      const metrics: Record<string, number> = {
        ms: r.ms,
        peakBytes: r.peakBytes,
        tokensPerSec: (shape.B * shape.L * 1000) / r.ms,
        reps: r.reps,
      };
      if (r.reducedLength !== undefined) metrics.reducedLength = r.reducedLength;
      if (flops !== undefined) metrics.flops = flops;
      if (typeof base !== 'string') {
        metrics.timeRatio = r.ms / base.ms;
        if (flops !== undefined) metrics.flopRatio = flops / (3 * stepForwardFlops(shape, task));
      }
      rows.push({ ...rowBase, status: 'ok', metrics });
      options.log(
        `reducers ${variant.label} (${task}): ${r.ms.toFixed(0)} ms/step, L' = ${r.reducedLength ?? '?'}${metrics.timeRatio ? `, ${metrics.timeRatio.toFixed(2)}× baseline time` : ''}`,
      );
    } catch (error) {
      rows.push({ ...rowBase, status: 'failed', note: failure(error), metrics: {} });
      options.log(`reducers ${variant.label}: ${failure(error)}`);
      await restartBackend();
    }
  }
  return rows;
}
