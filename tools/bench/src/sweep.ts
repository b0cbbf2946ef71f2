/**
 * The kernel length sweep and when to stop it.
 *
 * Shapes follow the issue: B = 1, Dh = 64, H = 8 up to 16k and H = 1 beyond (so the longest
 * points fit in memory at all). Before each point we extrapolate the previous points' peak
 * memory and time to the next length: when the estimate exceeds the budget the kernel stops
 * there and the row says why. Growth is the power fitted to the last two points (2 when only
 * one point exists: attention's quadratic worst case), scaled by the change in heads.
 */
import { fitPowerLaw } from './fit.js';

export interface SweepShape {
  B: number;
  H: number;
  L: number;
  Dh: number;
}

/** L = minLen, 2·minLen, … up to maxLen, with the head counts. */
export function sweepShapes(minLen: number, maxLen: number, heads?: number): SweepShape[] {
  const shapes: SweepShape[] = [];
  for (let L = minLen; L <= maxLen; L *= 2)
    shapes.push({ B: 1, H: heads ?? (L <= 16384 ? 8 : 1), L, Dh: 64 });
  return shapes;
}

export interface MeasuredPoint {
  shape: SweepShape;
  /** Peak bytes the measurement allocated beyond its inputs. */
  peakBytes: number;
  /** Time of one run (ms). */
  ms: number;
}

/**
 * Estimate `value` at `next` from earlier points, per (batch × head) so a change in H is
 * accounted for: value/(B·H) grows as L^p, p fitted to the last two points (default 2).
 */
export function extrapolate(
  points: readonly MeasuredPoint[],
  next: SweepShape,
  value: (p: MeasuredPoint) => number,
): number {
  if (!points.length) return 0;
  const perHead = points.map((p) => ({
    x: p.shape.L,
    y: Math.max(value(p), 1e-9) / (p.shape.B * p.shape.H),
  }));
  const last = perHead[perHead.length - 1];
  const fitted = perHead.length >= 2 ? fitPowerLaw(perHead.slice(-2)).exponent : NaN;
  const growth = Number.isFinite(fitted) ? Math.max(fitted, 1) : 2;
  return last.y * (next.L / last.x) ** growth * next.B * next.H;
}

/** Bytes of q, k, v and the output (and their gradients when `backward`): the floor of any kernel. */
export function ioBytes(shape: SweepShape, backward: boolean): number {
  const one = shape.B * shape.H * shape.L * shape.Dh * 4;
  return one * (backward ? 7 : 4);
}

export type StopReason = { stop: false } | { stop: true; reason: string };

/** Whether to measure `next`, given the points measured so far and the limits. */
export function shouldStop(
  points: readonly MeasuredPoint[],
  next: SweepShape,
  limits: { memoryBudget: number; maxPointSeconds: number; backward: boolean },
): StopReason {
  const memory = Math.max(
    extrapolate(points, next, (p) => p.peakBytes),
    ioBytes(next, limits.backward),
  );
  if (memory > limits.memoryBudget) {
    return {
      stop: true,
      reason: `stopped: estimated peak memory ${formatBytes(memory)} > budget ${formatBytes(limits.memoryBudget)}`,
    };
  }
  const seconds = extrapolate(points, next, (p) => p.ms) / 1000;
  if (seconds > limits.maxPointSeconds) {
    return {
      stop: true,
      reason: `stopped: estimated ${seconds.toFixed(0)} s per run > limit ${limits.maxPointSeconds} s`,
    };
  }
  return { stop: false };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
