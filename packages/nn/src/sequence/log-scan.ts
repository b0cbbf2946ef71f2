/**
 * A numerically stable log-space linear scan, and logcumsumexp as its special case.
 *
 * tfjs has no logcumsumexp (nor a cumulative max), which Heinsen's log-space parallel scan
 * (arXiv 2311.06281, used by minGRU/minLSTM, arXiv 2410.01201 §3.1 / App. B) needs.
 *
 * Notation (B batch, time axis t of length L, channels c; everything in log space):
 *   la_t = log a_t   log of the coefficient (decay) at step t         [B, L, C]
 *   lb_t = log b_t   log of the (positive) value added at step t       [B, L, C]
 *   h_t  = a_t h_{t-1} + b_t,   h_{-1} = exp(lh0) (0 when omitted),   returns lh_t = log h_t   [B, L, C]
 *   logcumsumexp(x)_t = log sum_{s<=t} exp(x_s)  (a_t = 1, b_t = exp(x_t))
 *
 * Heinsen's closed form lh_t = a*_t + logcumsumexp(lb - a*)_t, a*_t = sum_{s<=t} la_s, loses
 * float32 precision once a*_t reaches the thousands (errors ~1e-3 at L = 16k: lb - a* and the
 * final + a*_t cancel). Instead we scan the pairs (A, Bv) = (log a, log b) with the
 * associative operator of the recurrence, in log space,
 *   (A1, B1) ∘ (A2, B2) = (A1 + A2, logaddexp(B1 + A2, B2)),
 * with a Hillis–Steele prefix scan: ceil(log2 L) rounds, each combining step t with step
 * t − 2^k. No large cumulative sum is ever subtracted, each output is log2 L logaddexps
 * deep, and every round is elementwise on [B, L, C] (no broadcasting, no L×L tensor).
 * Work O(L log L · C), memory O(L · C) per round (kept for the backward pass). Gradients
 * are those of the plain tfjs ops used (checked against finite differences in tests).
 *
 * Optional `resets` [B, L] (1 where a new segment starts, ./segment-resets.ts) cut the
 * recurrence: the coefficient a_t becomes 0 (log a_t = LOG_ZERO), so h_{t−1} does not reach h_t.
 * Optional `lh0` [B, C], the log of a carried state, is folded into the first step:
 * lb_0 ← logaddexp(lb_0, la_0 + lh0). Its step form (decoding) is `logScanStep`.
 */
import { tf, type Tensor } from '@weft/core';

/** A finite stand-in for log 0 (finite so that gradients never see inf − inf). */
export const LOG_ZERO = -1e30;

export interface LogScanOptions {
  /** [B, L] float32/int32, 1 where a new segment starts (its state restarts at 0). */
  resets?: Tensor;
  /** log of the state before the first step [B, C]; h_{−1} = 0 when omitted. */
  lh0?: Tensor;
}

/** log(exp(a) + exp(b)), stable; exact gradients (the max's own gradient cancels out). */
export function logAddExp(a: Tensor, b: Tensor): Tensor {
  return tf.tidy(() => {
    const m = tf.maximum(a, b);
    return tf.add(m, tf.log(tf.add(tf.exp(tf.sub(a, m)), tf.exp(tf.sub(b, m)))));
  });
}

/** x shifted d steps later along axis 1 ([B, L, C]); the first d steps are `fill`. */
function shiftRight(x: Tensor, d: number, fill: number): Tensor {
  const [B, L, C] = x.shape as [number, number, number];
  return tf.concat([tf.fill([B, d, C], fill), tf.slice(x, [0, 0, 0], [B, L - d, C])], 1); // [B, L, C]
}

/** Stable log-space scan: la, lb [B, L, C] -> log h [B, L, C] with h_t = a_t h_{t−1} + b_t. */
export function logScan(la: Tensor, lb: Tensor, options: LogScanOptions = {}): Tensor {
  if (la.rank !== 3 || lb.shape.join(',') !== la.shape.join(',')) {
    throw new RangeError(`logScan: log coefficients [${la.shape}] and log values [${lb.shape}] must both be [B, L, C]`);
  }
  const [B, L, C] = la.shape as [number, number, number];
  if (options.lh0 && options.lh0.shape.join(',') !== [B, C].join(',')) {
    throw new RangeError(`logScan: lh0 (log initial state) must be [B, C] = [${[B, C]}]; got [${options.lh0.shape}]`);
  }
  return tf.tidy(() => {
    let A = la; // log of the product of coefficients over the span each element covers
    if (options.resets) {
      const cut = tf.greater(tf.reshape(options.resets, [B, L, 1]), 0); // [B, L, 1]
      A = tf.where(tf.broadcastTo(cut, [B, L, C]), tf.fill([B, L, C], LOG_ZERO), la);
    }
    let Bv = lb; // log h over that span, from a zero state
    if (options.lh0) {
      // Fold the carried state into the first step: lb_0 ← logaddexp(lb_0, la_0 + lh0).
      const first = logAddExp(tf.slice(Bv, [0, 0, 0], [B, 1, C]), tf.add(tf.slice(A, [0, 0, 0], [B, 1, C]), tf.reshape(options.lh0, [B, 1, C]))); // [B, 1, C]
      Bv = L > 1 ? tf.concat([first, tf.slice(Bv, [0, 1, 0], [B, L - 1, C])], 1) : first; // [B, L, C]
    }
    for (let d = 1; d < L; d *= 2) {
      // Combine step t − d (earlier span, comes first) with step t.
      const Aprev = shiftRight(A, d, 0);
      const Bprev = shiftRight(Bv, d, LOG_ZERO);
      Bv = logAddExp(tf.add(Bprev, A), Bv); // B1 + A2 ⊕ B2
      A = tf.maximum(tf.add(Aprev, A), LOG_ZERO); // A1 + A2, kept finite
    }
    return Bv === lb ? tf.clone(lb) : Bv; // [B, L, C] (never the caller's own tensor, L = 1)
  });
}

/** One step of the recurrence in log space (decoding): log h_t = logaddexp(la_t + lh_{t−1}, lb_t), each [B, C]. */
export function logScanStep(la: Tensor, lb: Tensor, lh: Tensor): Tensor {
  return tf.tidy(() => logAddExp(tf.add(la, lh), lb));
}

/** log sum_{s<=t} exp(x_s) along axis 1 of [B, L, C], stable for any L and any magnitude. */
export function logcumsumexp(x: Tensor, options: LogScanOptions = {}): Tensor {
  return tf.tidy(() => logScan(tf.zerosLike(x), x, options));
}
