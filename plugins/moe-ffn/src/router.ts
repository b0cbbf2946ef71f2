/**
 * Token routing (host side): top-k expert choice and Switch capacity.
 *
 * Notation (Switch Transformers §2.1; Mixtral §2.1):
 *   N = B·L tokens, E experts, k choices per token, p [N, E] router probabilities
 *   (softmax of the router logits, fp32), C expert capacity per sequence.
 *
 *   top-k:     T_n = the k experts with the largest p_n,e (ties: lower index first)
 *   capacity:  C = ceil(capacityFactor · L / E)                      (Switch eq. 3, per sequence)
 *   priority:  choices are served choice by choice (every token's first choice, then every
 *              token's second, ...), tokens in sequence order; an expert that already holds
 *              C tokens of this sequence drops the rest (their contribution is 0).
 *
 * Routing decisions are discrete, so they are made on the host from the probabilities; the
 * gate values stay on the tape (see moe-ffn.ts).
 */

export interface Routing {
  /** Experts per token: expert[n·k + j] is token n's j-th choice, [N·k]. */
  readonly expert: Int32Array;
  /** 1 where that choice survived the capacity limit, else 0, [N·k]. */
  readonly kept: Uint8Array;
  /** Tokens per expert per sequence, or null without a capacity. */
  readonly capacity: number | null;
  readonly topK: number;
  readonly experts: number;
}

/** Expert capacity C = ceil(capacityFactor · L / E) for sequences of length L. */
export function expertCapacity(capacityFactor: number, L: number, E: number): number {
  // Round away the float error of e.g. 1.1 · 10 / 11 before taking the ceiling.
  return Math.max(1, Math.ceil(Number(((capacityFactor * L) / E).toFixed(9))));
}

/**
 * Route B sequences of L tokens given their router probabilities `p` ([B·L, E] row-major).
 */
export function routeTokens(p: ArrayLike<number>, B: number, L: number, E: number, topK: number, capacityFactor: number | null): Routing {
  const N = B * L;
  const expert = new Int32Array(N * topK);
  const order = Array.from({ length: E }, (_, e) => e);
  for (let n = 0; n < N; n++) {
    const row = (e: number) => p[n * E + e];
    const ranked = order.slice().sort((a, b) => row(b) - row(a) || a - b);
    for (let j = 0; j < topK; j++) expert[n * topK + j] = ranked[j];
  }
  const kept = new Uint8Array(N * topK).fill(1);
  if (capacityFactor === null) return { expert, kept, capacity: null, topK, experts: E };
  const C = expertCapacity(capacityFactor, L, E);
  for (let b = 0; b < B; b++) {
    const load = new Int32Array(E);
    for (let j = 0; j < topK; j++) {
      for (let t = 0; t < L; t++) {
        const slot = (b * L + t) * topK + j;
        const e = expert[slot];
        if (load[e] < C) load[e]++;
        else kept[slot] = 0;
      }
    }
  }
  return { expert, kept, capacity: C, topK, experts: E };
}

/** Tokens each expert processes (kept assignments), [E]. */
export function expertCounts(r: Routing): number[] {
  const counts = new Array<number>(r.experts).fill(0);
  r.expert.forEach((e, i) => {
    if (r.kept[i]) counts[e]++;
  });
  return counts;
}
