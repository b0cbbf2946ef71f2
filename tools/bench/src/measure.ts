/**
 * Timing and memory of one benchmark point.
 *
 * Time: one untimed warm-up run, then `reps` timed runs; we report the median. Each run
 * ends by reading its outputs back (dataSync), so asynchronous backends are timed to
 * completion. Memory: tfjs cannot be polled inside an op, so the warm-up runs under
 * tfjs's profiler (one timed run only when it took over 10 s), whose per-kernel byte snapshots
 * give the high-water mark of tf.memory().numBytes across the kernels it ran; we subtract the
 * bytes alive before it. (Not `tf.profile()` itself: it takes that maximum with
 * `Math.max(...snapshots)`, which overflows the call stack past ~100k kernels — a step-loop scan
 * at L = 32k runs more.) Memory a custom kernel keeps
 * outside tfjs tensors (e.g. scratch in its own WASM heap) is not seen.
 */
import { tf } from '@weft/core';

/** Runs longer than this (ms) are timed once. */
export const LONG_RUN_MS = 10_000;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface Measurement {
  /** Median ms of the timed runs. */
  ms: number;
  /** Every timed run (ms). */
  samples: number[];
  /** Peak tensor bytes allocated beyond what was alive before (warm-up run). */
  peakBytes: number;
  /** Tensors left behind by one run (should be 0). */
  leakedTensors: number;
}

/** Run `fn` (which must dispose what it makes and read its results) under tf.profile, then time it. */
export async function measure(fn: () => void, reps: number): Promise<Measurement> {
  const before = tf.memory();
  const t0 = performance.now();
  const profiledPeak = await withoutErrorChecks(() => peakBytesOf(fn));
  // A warm-up that took seconds gets one timed run: more would add minutes, not precision.
  if (performance.now() - t0 > LONG_RUN_MS) reps = Math.min(reps, 1);
  const peakBytes = Math.max(0, profiledPeak - before.numBytes);
  const leakedTensors = tf.memory().numTensors - before.numTensors;
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), samples, peakBytes, leakedTensors };
}

/** The fields of tfjs's engine state its profiler uses (tfjs-core 4.22). */
interface ProfilerState {
  profiling: boolean;
  activeProfile: { kernels: Array<{ totalBytesSnapshot: number }> };
}

/** Run fn with tfjs's profiler on (as tf.profile does) and return the largest byte snapshot. */
async function peakBytesOf(fn: () => void): Promise<number> {
  const state = tf.engine().state as unknown as ProfilerState;
  state.profiling = true;
  state.activeProfile.kernels = [];
  try {
    fn();
  } finally {
    state.profiling = false;
  }
  let peak = tf.memory().numBytes;
  for (const kernel of state.activeProfile.kernels) peak = Math.max(peak, kernel.totalBytesSnapshot);
  state.activeProfile.kernels = [];
  return peak;
}

/** tf.profile reads every kernel output to check for NaN unless this flag is off. */
async function withoutErrorChecks<T>(run: () => Promise<T>): Promise<T> {
  const env = tf.env();
  const previous = env.getBool('CHECK_COMPUTATION_FOR_ERRORS');
  env.set('CHECK_COMPUTATION_FOR_ERRORS', false);
  try {
    return await run();
  } finally {
    env.set('CHECK_COMPUTATION_FOR_ERRORS', previous);
  }
}
