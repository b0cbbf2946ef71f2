/**
 * Naive references written from the papers' formulas, in float64 loops, independent of the
 * plugin's code: the dense gated mixture y_n = Σ_e g_n,e · FFN_e(x_n) where g is zero for
 * experts outside token n's top-k (or whose capacity was full), and the auxiliary losses.
 */
import type { MoEFeedForward } from '../src/index.js';

export interface NaiveWeights {
  router: Float32Array; // [D, E]
  experts: Array<{ up: Float32Array; upBias?: Float32Array; down: Float32Array; downBias?: Float32Array; gate?: Float32Array; gateBias?: Float32Array }>;
}

export function weightsOf(moe: MoEFeedForward): NaiveWeights {
  const bank = moe.experts;
  const E = moe.numExperts;
  // Expert e's block of a stacked [E, ...] parameter.
  const part = (t: { dataSync(): unknown; size: number } | undefined, e: number) => {
    if (!t) return undefined;
    const all = t.dataSync() as Float32Array;
    const n = t.size / E;
    return all.slice(e * n, (e + 1) * n);
  };
  return {
    router: moe.router.dataSync() as Float32Array,
    experts: Array.from({ length: E }, (_, e) => ({
      up: part(bank.up, e)!,
      upBias: part(bank.upBias, e),
      down: part(bank.down, e)!,
      downBias: part(bank.downBias, e),
      gate: part(bank.gate, e),
      gateBias: part(bank.gateBias, e),
    })),
  };
}

function linear(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | undefined, nIn: number, nOut: number): number[] {
  const y: number[] = [];
  for (let o = 0; o < nOut; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < nIn; i++) s += x[i] * w[i * nOut + o];
    y.push(s);
  }
  return y;
}

const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const silu = (v: number) => v / (1 + Math.exp(-v));

export function naiveExpert(x: ArrayLike<number>, w: NaiveWeights['experts'][number], activation: string, D: number, Hd: number): number[] {
  const u = linear(x, w.up, w.upBias, D, Hd);
  let h: number[];
  if (activation === 'swiglu') {
    const g = linear(x, w.gate!, w.gateBias, D, Hd);
    h = u.map((v, i) => silu(g[i]) * v);
  } else {
    h = u.map((v) => (activation === 'gelu' ? gelu(v) : activation === 'relu' ? Math.max(0, v) : silu(v)));
  }
  return linear(h, w.down, w.downBias, Hd, D);
}

export interface NaiveMoeConfig {
  E: number;
  k: number;
  capacityFactor: number | null;
  renormalize: boolean;
  activation: string;
  Hd: number;
}

/** Router logits z [N][E] and softmax probabilities. */
export function naiveRouter(x: ArrayLike<number>, router: ArrayLike<number>, N: number, D: number, E: number): { z: number[][]; p: number[][] } {
  const z: number[][] = [];
  const p: number[][] = [];
  for (let n = 0; n < N; n++) {
    const zn = linear(Array.from({ length: D }, (_, d) => x[n * D + d]), router, undefined, D, E);
    const m = Math.max(...zn);
    const ex = zn.map((v) => Math.exp(v - m));
    const s = ex.reduce((a, b) => a + b, 0);
    z.push(zn);
    p.push(ex.map((v) => v / s));
  }
  return { z, p };
}

/** The dense gated mixture over B sequences of L tokens: y [B·L·D]. */
export function naiveMoe(x: ArrayLike<number>, w: NaiveWeights, B: number, L: number, D: number, c: NaiveMoeConfig): Float64Array {
  const N = B * L;
  const { p } = naiveRouter(x, w.router, N, D, c.E);
  // Gate matrix g [N][E]: top-k by probability (ties: lower index), then capacity in sequence order.
  const g = Array.from({ length: N }, () => new Array<number>(c.E).fill(0));
  const choice: number[][] = p.map((pn) =>
    pn
      .map((v, e) => [v, e])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, c.k)
      .map(([, e]) => e),
  );
  const keep = choice.map((cs) => cs.map(() => true));
  if (c.capacityFactor !== null) {
    const C = Math.ceil((c.capacityFactor * L) / c.E - 1e-9);
    for (let b = 0; b < B; b++) {
      const load = new Array<number>(c.E).fill(0);
      for (let j = 0; j < c.k; j++)
        for (let t = 0; t < L; t++) {
          const e = choice[b * L + t][j];
          if (load[e] < C) load[e]++;
          else keep[b * L + t][j] = false;
        }
    }
  }
  for (let n = 0; n < N; n++) {
    const total = choice[n].reduce((a, e) => a + p[n][e], 0);
    choice[n].forEach((e, j) => {
      if (keep[n][j]) g[n][e] = c.renormalize ? p[n][e] / total : p[n][e];
    });
  }
  const y = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    const xn = Array.from({ length: D }, (_, d) => x[n * D + d]);
    for (let e = 0; e < c.E; e++) {
      // Dense: every expert is evaluated, and multiplied by its (possibly zero) gate.
      const fe = naiveExpert(xn, w.experts[e], c.activation, D, c.Hd);
      for (let d = 0; d < D; d++) y[n * D + d] += g[n][e] * fe[d];
    }
  }
  return y;
}

/** E · Σ_j Σ_e f_j,e P_e and mean (logsumexp z)², by loops. */
export function naiveLosses(x: ArrayLike<number>, router: ArrayLike<number>, N: number, D: number, E: number, k: number): { balance: number; z: number } {
  const { z, p } = naiveRouter(x, router, N, D, E);
  const f = Array.from({ length: k }, () => new Array<number>(E).fill(0));
  const P = new Array<number>(E).fill(0);
  for (let n = 0; n < N; n++) {
    const ranked = p[n].map((v, e) => [v, e]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (let j = 0; j < k; j++) f[j][ranked[j][1]] += 1 / N;
    for (let e = 0; e < E; e++) P[e] += p[n][e] / N;
  }
  let balance = 0;
  for (let j = 0; j < k; j++) for (let e = 0; e < E; e++) balance += f[j][e] * P[e];
  balance *= E;
  let zl = 0;
  for (const zn of z) {
    const m = Math.max(...zn);
    const lse = m + Math.log(zn.reduce((a, v) => a + Math.exp(v - m), 0));
    zl += lse * lse;
  }
  return { balance, z: zl / N };
}
