/**
 * Latte — Dolga, Cobzarenco, Barber, "Latent Attention for Linear Time Transformers" (2024,
 * arXiv 2402.17512): each token attends to L latent states instead of to every other token.
 *
 * Notation (paper → code), per head:
 *   q_t, k_s ∈ R^L    latent logits of token t / s: the head's q, k [B, H, N, Dh] (L = Dh), or,
 *                     with the `latents` option, q W_q, k W_k with W_q, W_k [H, Dh, L] (kernel
 *                     parameters)                                               `ql`, `kl`
 *   p(l | t) = softmax_l(q_t)_l                   [B, H, N, L]                  `pq`
 *   p(s | l) = softmax_s(k_{s,l})  over s ≤ t (causal) or over all s (bidirectional)
 *   out_t = Σ_l p(l | t) · Σ_s p(s | l) v_s       [B, H, N, Dv]
 * Causal (the recurrence of the paper's §3): with m_l the max of k_{·,l},
 *   α_{t,l} = Σ_{s≤t} exp(k_{s,l} − m_l) v_s,  β_{t,l} = Σ_{s≤t} exp(k_{s,l} − m_l),
 *   out_t = Σ_l p(l | t) α_{t,l} / β_{t,l}
 * computed in parallel by cumulative sums (`latteCausal`) chunk by chunk (`chunkSize` C): each
 * chunk subtracts max(its own max, the carried max) and rescales the carried sums, so exp only
 * underflows if one latent's logits span more than ~80 within a chunk (C = 1 is the exact
 * recurrence). Decoding continues the same recurrence from a LatteState (`attendStep`,
 * constant memory). No 1/√d: the mixer's scale is not used.
 */
import { init, Module, ShapeError, StateError, tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type AttentionStateDims, type LayerState, type Rng, type Tensor } from '@weft/core';
import { LatteState } from './latte-state.js';

export const LATTE_CAPABILITIES: AttentionCapabilities = {
  causal: true,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: true,
  weights: false,
  state: true,
};

/** Bidirectional Latte: out = softmax_l(Q) · (softmax_s(K)ᵀ V). ql [B, H, N, L], kl [B, H, M, L], v [B, H, M, Dv]. */
export function latteBidirectional(ql: Tensor, kl: Tensor, v: Tensor): Tensor {
  return tf.tidy(() => {
    const pk = tf.softmax(tf.transpose(kl, [0, 1, 3, 2])); // [B, H, L, M]: softmax over positions s
    return tf.matMul(tf.softmax(ql), tf.matMul(pk, v)); // [B, H, N, Dv]
  });
}

/**
 * Causal Latte by cumulative sums over positions, optionally continuing from a state
 * (m0, α0, β0). Returns the output and the state after the last position.
 */
export function latteCausal(ql: Tensor, kl: Tensor, v: Tensor, start?: { m: Tensor; alpha: Tensor; beta: Tensor }): { out: Tensor; m: Tensor; alpha: Tensor; beta: Tensor } {
  return tf.tidy(() => {
    const [B, H, N, L] = kl.shape as number[];
    const Dv = (v.shape as number[])[3];
    let m = tf.max(kl, 2, true); // [B, H, 1, L]
    if (start) m = tf.maximum(m, tf.reshape(start.m, [B, H, 1, L]));
    const e = tf.exp(tf.sub(kl, m)); // [B, H, N, L]
    const ev = tf.mul(tf.reshape(e, [B, H, N, L, 1]), tf.reshape(v, [B, H, N, 1, Dv])); // [B, H, N, L, Dv]
    let alpha = tf.cumsum(ev, 2); // [B, H, N, L, Dv]
    let beta = tf.cumsum(e, 2); // [B, H, N, L]
    if (start) {
      const decay = tf.exp(tf.sub(tf.reshape(start.m, [B, H, 1, L]), m)); // [B, H, 1, L]: rescale the old sums to the new max
      alpha = tf.add(alpha, tf.reshape(tf.mul(start.alpha, tf.reshape(decay, [B, H, L, 1])), [B, H, 1, L, Dv]));
      beta = tf.add(beta, tf.mul(tf.reshape(start.beta, [B, H, 1, L]), decay));
    }
    const summary = tf.div(alpha, tf.reshape(beta, [B, H, N, L, 1])); // [B, H, N, L, Dv]: Σ_{s≤t} p(s|l) v_s
    const pq = tf.softmax(ql); // [B, H, N, L]
    const out = tf.reshape(tf.matMul(tf.reshape(pq, [B * H * N, 1, L]), tf.reshape(summary, [B * H * N, L, Dv])), [B, H, N, Dv]); // [B, H, N, Dv]
    const last = (x: Tensor, shape: number[]) => tf.reshape(tf.slice(x, [0, 0, N - 1], [B, H, 1, ...shape]), [B, H, ...shape]);
    return { out, m: tf.reshape(m, [B, H, L]), alpha: last(alpha, [L, Dv]), beta: last(beta, [L]) };
  });
}

/** Causal Latte over chunks of C positions, carrying (m, α, β) from chunk to chunk. */
export function latteChunked(ql: Tensor, kl: Tensor, v: Tensor, C: number): Tensor {
  return tf.tidy(() => {
    const [B, H, N, L] = kl.shape as number[];
    const Dv = (v.shape as number[])[3];
    if (C >= N) return latteCausal(ql, kl, v).out;
    const outs: Tensor[] = [];
    let state: { m: Tensor; alpha: Tensor; beta: Tensor } | undefined;
    for (let s = 0; s < N; s += C) {
      const n = Math.min(C, N - s);
      const r = latteCausal(tf.slice(ql, [0, 0, s, 0], [B, H, n, L]), tf.slice(kl, [0, 0, s, 0], [B, H, n, L]), tf.slice(v, [0, 0, s, 0], [B, H, n, Dv]), state);
      outs.push(r.out);
      state = r;
    }
    return tf.concat(outs, 2); // [B, H, N, Dv]
  });
}

function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]); // [B, H, L, D]
}

/** The kernel: a core Module; with `latents` it holds W_q, W_k [H, Dh, L] (init U(±1/√Dh)). */
export class LatteAttention extends Module implements AttentionKernel {
  readonly supports = LATTE_CAPABILITIES;
  readonly Wq?: tf.Variable;
  readonly Wk?: tf.Variable;

  constructor(readonly heads: number, readonly headDim: number, readonly latents: number | undefined, rng: Rng, readonly chunkSize = 64) {
    super();
    if (latents !== undefined) {
      this.Wq = this.addParameter('Wq', [heads, headDim, latents], init.torchLinear(headDim), rng);
      this.Wk = this.addParameter('Wk', [heads, headDim, latents], init.torchLinear(headDim), rng);
    }
  }

  /** Number of latent states L. */
  get L(): number {
    return this.latents ?? this.headDim;
  }

  /** Latent logits: x [B, H, N, Dh] → [B, H, N, L]. */
  private toLatent(x: Tensor, W?: Tensor): Tensor {
    if (!W) return x;
    const [B, H, N, D] = x.shape as number[];
    const L = (W.shape as number[])[2];
    const xh = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [H, B * N, D]); // [H, B·N, Dh]
    return tf.transpose(tf.reshape(tf.matMul(xh, W), [H, B, N, L]), [1, 0, 2, 3]); // [B, H, N, L]
  }

  private check(q: Tensor, ctx: AttentionContext): void {
    const [, H, , D] = q.shape as number[];
    if (ctx.keyPaddingMask) throw new ShapeError('latte attention: key padding is not supported; use inputs of equal length');
    if (ctx.logitBias) throw new ShapeError('latte attention: an additive logit bias is not supported (there are no token-to-token logits)');
    if (H !== this.heads || D !== this.headDim) throw new ShapeError(`latte attention: built for ${this.heads} heads of width ${this.headDim}, got q [${q.shape}]`);
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    this.check(q, ctx);
    const H = (q.shape as number[])[1];
    const [Lq, Lk] = [(q.shape as number[])[2], (k.shape as number[])[2]];
    if (ctx.causal && (Lq !== Lk || ctx.queryOffset !== 0)) {
      throw new ShapeError(`latte attention: causal attend needs as many queries as keys (got ${Lq} and ${Lk}); decode through the kernel state (model.initCache / model.step)`);
    }
    return tf.tidy(() => {
      const ql = this.toLatent(q, this.Wq);
      const kl = this.toLatent(repeatHeads(k, H), this.Wk);
      const vh = repeatHeads(v, H);
      return ctx.causal ? latteChunked(ql, kl, vh, this.chunkSize) : latteBidirectional(ql, kl, vh);
    });
  }

  initState(batch: number, dims: AttentionStateDims): LatteState {
    const L = this.L;
    const H = dims.heads;
    return new LatteState(tf.keep(tf.fill([batch, H, L], -1e30)), tf.keep(tf.zeros([batch, H, L, dims.headDim])), tf.keep(tf.zeros([batch, H, L])), 0);
  }

  /** Causal decoding of T new tokens from the state; consumes `state`. */
  attendStep(q: Tensor, k: Tensor, v: Tensor, state: LayerState, ctx: AttentionContext): [Tensor, LayerState] {
    if (!(state instanceof LatteState)) throw new StateError("latte attention: attendStep needs the state from this kernel's initState (a LatteState); create the cache with model.initCache(batch)");
    if (!ctx.causal) throw new ShapeError('latte attention: attendStep decodes causally; a bidirectional model has no decoding state');
    this.check(q, ctx);
    const [B, H] = q.shape as number[];
    const [Bs, Hs] = state.m.shape as number[];
    if (Bs !== B || Hs !== H) throw new StateError(`latte attention: the state holds m [${state.m.shape}] but the queries are [${q.shape}]; the state belongs to another batch size or layer`);
    const r = tf.tidy(() => {
      const ql = this.toLatent(q, this.Wq);
      const kl = this.toLatent(repeatHeads(k, H), this.Wk);
      return latteCausal(ql, kl, repeatHeads(v, H), state);
    });
    const next = new LatteState(tf.keep(r.m), tf.keep(r.alpha), tf.keep(r.beta), state.tokens + (q.shape as number[])[2]);
    state.dispose();
    return [r.out, next];
  }
}
