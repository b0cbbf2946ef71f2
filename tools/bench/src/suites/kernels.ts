/**
 * Suite `kernels`: every installed attention kernel, forward and forward+backward, over
 * L = minLen … maxLen (causal; B = 1, H = 8, Dh = 64; H = 1 beyond 16k), and every installed
 * mixer's forward over the same lengths (D = H·Dh = 512).
 *
 * GFLOP/s uses the causal attention count for every kernel (flops.ts), so a sub-quadratic
 * kernel's number is "dense-equivalent GFLOP/s", comparable across kernels at one length.
 */
import {
  Rng,
  tf,
  type AttentionContext,
  type AttentionKernel,
  type ForwardContext,
  type Registry,
  type SequenceMixer,
  type Tensor,
} from '@weft/core';
import { attentionForwardBackwardFlops, attentionForwardFlops, gflopsPerSecond } from '../flops.js';
import { effectiveMemoryBudget, restartBackend } from '../backend.js';
import { measure } from '../measure.js';
import type { BenchOptions, BenchRow } from '../options.js';
import { benchVariants, providerOf } from '../plugins.js';
import { shouldStop, sweepShapes, type MeasuredPoint, type SweepShape } from '../sweep.js';

type Pass = 'fwd' | 'fwd+bwd';

/** Key shared with torch_baseline.py: the same shape and pass of dense causal attention. */
export function kernelKey(pass: Pass, s: SweepShape, causal = true): string {
  return `${causal ? 'attention' : 'attention-bidir'}/${pass}/B${s.B}/H${s.H}/L${s.L}/D${s.Dh}`;
}

function attentionContext(Dh: number, causal: boolean): AttentionContext {
  return {
    causal,
    scale: 1 / Math.sqrt(Dh),
    queryOffset: 0,
    training: true,
    rng: new Rng(0),
    layerIndex: 0,
  };
}

/** One run of the pass, reading the results back; disposes everything it makes. */
function attentionRun(
  kernel: AttentionKernel,
  pass: Pass,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  ctx: AttentionContext,
): () => void {
  if (pass === 'fwd') return () => tf.tidy(() => void kernel.attend(q, k, v, ctx).dataSync());
  const grads = tf.grads((a: Tensor, b: Tensor, c: Tensor) => tf.sum(kernel.attend(a, b, c, ctx)));
  // A shared-QK kernel (Reformer) never reads k: differentiate with respect to q and v only.
  const sharedQK = tf.grads((a: Tensor, c: Tensor) => tf.sum(kernel.attend(a, a, c, ctx)));
  let keysUnused = false;
  return () =>
    tf.tidy(() => {
      if (!keysUnused) {
        try {
          grads([q, k, v]).forEach((g) => g.dataSync());
          return;
        } catch (error) {
          if (!/Cannot compute gradient/.test((error as Error).message)) throw error;
          keysUnused = true;
        }
      }
      sharedQK([q, v]).forEach((g) => g.dataSync());
    });
}

function mixerContext(B: number, L: number): ForwardContext {
  return {
    causal: true,
    training: false,
    positions: tf.tile(tf.reshape(tf.range(0, L, 1, 'int32'), [1, L]), [B, 1]),
    rng: new Rng(0),
    layerIndex: 0,
    scratch: new Map(),
  };
}

/** Reps per point: the configured number while a run is short, one once runs take seconds. */
function repsFor(options: BenchOptions, points: readonly MeasuredPoint[]): number {
  const last = points[points.length - 1];
  return last && last.ms > 2000 ? 1 : options.reps;
}

interface Target {
  slot: 'attention' | 'mixer';
  kind: string;
  pass: Pass;
  /** False for a bidirectional-only kernel, which runs without the causal mask. */
  causal: boolean;
  /** Why this target cannot run here. */
  skip?: string;
  /** Builds the timed function for one shape; returns it and a disposer for its inputs. */
  prepare(shape: SweepShape): { run: () => void; dispose: () => void };
}

function attentionTargets(registry: Registry, options: BenchOptions): Target[] {
  const targets: Target[] = [];
  for (const { kind, bidirectional } of benchVariants(registry, options.kinds).filter(
    (v) => v.slot === 'attention',
  )) {
    const causal = !bidirectional;
    for (const pass of options.passes) {
      targets.push({
        slot: 'attention',
        kind,
        pass,
        causal,
        prepare: (s) => {
          const kernel = registry.create(
            'attention',
            { kind },
            { dims: { heads: s.H, headDim: s.Dh, dModel: s.H * s.Dh, maxLen: s.L } },
          );
          const rng = new Rng(s.L);
          const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([s.B, s.H, s.L, s.Dh])); // [B, H, L, Dh]
          return {
            run: attentionRun(kernel, pass, q, k, v, attentionContext(s.Dh, causal)),
            dispose: () => tf.dispose([q, k, v]),
          };
        },
      });
    }
  }
  return targets;
}

function mixerTargets(registry: Registry, options: BenchOptions): Target[] {
  return benchVariants(registry, options.kinds)
    .filter((v) => v.slot === 'mixer')
    .map(({ kind }) => ({
      slot: 'mixer' as const,
      kind,
      pass: 'fwd' as const,
      causal: true,
      prepare: (s: SweepShape) => {
        const D = s.H * s.Dh;
        const mixer = registry.create(
          'mixer',
          { kind },
          { dims: { heads: s.H, headDim: s.Dh, dModel: D, maxLen: s.L } },
        ) as SequenceMixer;
        const x = new Rng(s.L).normalTensor([s.B, s.L, D]); // [B, L, D]
        const ctx = mixerContext(s.B, s.L);
        return {
          run: () => tf.tidy(() => void mixer.forward(x, ctx).dataSync()),
          dispose: () => {
            tf.dispose([x, ctx.positions]);
            mixer.dispose?.();
          },
        };
      },
    }));
}

function row(
  target: Target,
  registry: Registry,
  shape: SweepShape,
  status: BenchRow['status'],
  metrics: Record<string, number>,
  note?: string,
  sweep?: string,
): BenchRow {
  const flops =
    target.pass === 'fwd'
      ? attentionForwardFlops(shape.B, shape.H, shape.L, shape.Dh)
      : attentionForwardBackwardFlops(shape.B, shape.H, shape.L, shape.Dh);
  return {
    suite: 'kernels',
    key:
      target.slot === 'attention'
        ? kernelKey(target.pass, shape, target.causal)
        : `mixer/${target.pass}/B${shape.B}/L${shape.L}/D${shape.H * shape.Dh}`,
    kind: target.slot === 'mixer' ? `mixer:${target.kind}` : target.kind,
    plugin: providerOf(registry, target.slot, target.kind),
    status,
    ...(note ? { note } : {}),
    shape: {
      pass: target.pass,
      B: shape.B,
      H: shape.H,
      L: shape.L,
      Dh: shape.Dh,
      ...(target.causal ? {} : { mask: 'bidirectional' }),
      ...(sweep ? { sweep } : {}),
    },
    // GFLOP/s only for attention: a mixer does other work than the attention count.
    metrics:
      metrics.ms !== undefined && target.slot === 'attention'
        ? { ...metrics, gflops: gflopsPerSecond(flops, metrics.ms) }
        : metrics,
  };
}

/**
 * After a stop at shapes[i], the first later shape with fewer heads (H = 1 past 16k), whose
 * run is about H times cheaper and may still fit; -1 when there is none.
 */
export function resumeIndex(shapes: readonly SweepShape[], i: number): number {
  return shapes.findIndex((s, j) => j > i && s.H < shapes[i].H);
}

export async function kernelsSuite(registry: Registry, options: BenchOptions): Promise<BenchRow[]> {
  const shapes = options.tiny
    ? [{ B: 1, H: 2, L: 64, Dh: 16 }]
    : sweepShapes(options.minLen, options.maxLen, options.sweepHeads);
  const sweep = options.sweepHeads !== undefined ? `H${options.sweepHeads}` : undefined;
  const rows: BenchRow[] = [];
  for (const target of [
    ...attentionTargets(registry, options),
    ...mixerTargets(registry, options),
  ]) {
    const points: MeasuredPoint[] = [];
    options.checkpoint?.(rows);
    if (target.skip) {
      rows.push(row(target, registry, shapes[0], 'skipped', {}, target.skip, sweep));
      continue;
    }
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i];
      const verdict = shouldStop(points, shape, {
        memoryBudget: effectiveMemoryBudget(options.memoryBudget),
        maxPointSeconds: options.maxPointSeconds,
        backward: target.pass !== 'fwd',
      });
      if (verdict.stop) {
        rows.push(row(target, registry, shape, 'skipped', {}, verdict.reason, sweep));
        options.log(`kernels ${target.kind} ${target.pass} L=${shape.L}: ${verdict.reason}`);
        const at = resumeIndex(shapes, i);
        if (at < 0) break;
        i = at - 1;
        continue;
      }
      let prepared: ReturnType<Target['prepare']> | undefined;
      try {
        prepared = target.prepare(shape);
        const m = await measure(prepared.run, options.tiny ? 1 : repsFor(options, points));
        points.push({ shape, peakBytes: m.peakBytes, ms: m.ms });
        rows.push(
          row(
            target,
            registry,
            shape,
            'ok',
            {
              ms: m.ms,
              peakBytes: m.peakBytes,
              leakedTensors: m.leakedTensors,
              reps: m.samples.length,
            },
            undefined,
            sweep,
          ),
        );
        options.log(
          `kernels ${target.kind} ${target.pass} L=${shape.L} H=${shape.H}: ${m.ms.toFixed(1)} ms, peak ${(m.peakBytes / 2 ** 20).toFixed(0)} MiB`,
        );
      } catch (error) {
        const reason = `failed: ${((error as Error)?.message ?? String(error)).split('\n')[0].slice(0, 200)}`;
        rows.push(row(target, registry, shape, 'failed', {}, reason, sweep));
        options.log(`kernels ${target.kind} ${target.pass} L=${shape.L}: ${reason}`);
        prepared = undefined; // the restart disposes its tensors (disposing on a broken heap can throw)
        await restartBackend(); // a failed allocation can leave the wasm heap unusable
        const at = resumeIndex(shapes, i);
        if (at < 0) break;
        i = at - 1;
        continue;
      } finally {
        prepared?.dispose();
      }
    }
  }
  return rows;
}
