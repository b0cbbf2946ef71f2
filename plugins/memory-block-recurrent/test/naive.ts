/**
 * An independent, loop-by-loop reference of the Block-Recurrent layer written from the paper
 * (arXiv:2203.07852 §3), for one sequence at a time in float64 JavaScript arrays. It
 * recomputes every key/value from the raw inputs of the window instead of caching them, and
 * never calls the plugin's code: it only reads the module's weights by name.
 */
import type { tf } from '@weft/core';

export type Vec = number[];
export type Mat = number[][];

export interface NaiveConfig {
  W: number;
  S: number;
  H: number;
  Dh: number;
  gate: 'fixed' | 'lstm';
  configuration: 'skip' | 'dual' | 'single';
}

type Params = Map<string, { shape: number[]; data: number[] }>;

export function readParams(named: Array<[string, tf.Variable]>): Params {
  return new Map(named.map(([n, v]) => [n, { shape: v.shape, data: Array.from(v.dataSync()) }]));
}

const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

/** x W (+ b) with W stored [in, out] row-major. */
function linear(p: Params, name: string, x: Vec, bias: boolean): Vec {
  const w = p.get(`${name}.weight`)!;
  const [nIn, nOut] = w.shape;
  if (x.length !== nIn) throw new Error(`${name}: ${x.length} != ${nIn}`);
  const out: Vec = new Array(nOut).fill(0);
  for (let o = 0; o < nOut; o++) {
    let s = bias ? p.get(`${name}.bias`)!.data[o] : 0;
    for (let i = 0; i < nIn; i++) s += x[i] * w.data[i * nOut + o];
    out[o] = s;
  }
  return out;
}

function rms(p: Params, name: string, x: Vec): Vec {
  const g = p.get(`${name}.weight`)!.data;
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  const r = 1 / Math.sqrt(ms + 1e-6);
  return x.map((v, i) => v * r * g[i]);
}

/** Per head: softmax(q·k/√Dh) v over the given keys; heads concatenated [H·Dh]. */
function attention(q: Vec, keys: Mat, values: Mat, H: number, Dh: number): Vec {
  const out: Vec = [];
  for (let h = 0; h < H; h++) {
    const qs = q.slice(h * Dh, (h + 1) * Dh);
    const logits = keys.map((k) => qs.reduce((s, qi, d) => s + qi * k[h * Dh + d], 0) / Math.sqrt(Dh));
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const z = e.reduce((a, b) => a + b, 0);
    for (let d = 0; d < Dh; d++) out.push(e.reduce((s, w, j) => s + (w / z) * values[j][h * Dh + d], 0));
  }
  return out;
}

/** c_{t+1} from c_t, candidate z and gate input h (§3, gate type). */
function gate(p: Params, name: string, type: 'fixed' | 'lstm', c: Vec, z: Vec, h: Vec): Vec {
  if (type === 'fixed') {
    const b = p.get(`${name}.bias`)!.data;
    return c.map((ci, d) => ci * sigmoid(b[d]) + z[d] * (1 - sigmoid(b[d])));
  }
  const i = linear(p, `${name}.input`, h, true).map((a) => sigmoid(a - 1));
  const f = linear(p, `${name}.forget`, h, true).map((a) => sigmoid(a + 1));
  return c.map((ci, d) => ci * f[d] + z[d] * i[d]);
}

/**
 * The layer over one whole sequence x [L][D] from c_0 (or `c0`): token outputs [L][D] and the
 * final state. Token t attends to tokens u with t − W < u ≤ t and to the state of its block.
 */
export function naiveBlockRecurrent(p: Params, cfg: NaiveConfig, x: Mat, c0?: Mat): { y: Mat; state: Mat } {
  const { W, S, H, Dh } = cfg;
  const L = x.length;
  const D = x[0].length;
  const K = x.map((r) => linear(p, 'k_proj', r, false));
  const V = x.map((r) => linear(p, 'v_proj', r, false));
  let c: Mat = c0 ?? (S > 0 ? Array.from({ length: S }, (_, j) => p.get('state_init')!.data.slice(j * D, (j + 1) * D)) : []);
  const y: Mat = [];
  for (let start = 0; start < L; start += W) {
    const end = Math.min(L, start + W);
    // state keys/values/queries from RMSNorm(c) + state IDs
    const ids = p.get('state_ids')?.data;
    const sn = c.map((cj, j) => rms(p, 'state_norm', cj).map((v, d) => v + ids![j * D + d]));
    const Ks = sn.map((r) => linear(p, 'state_k_proj', r, false));
    const Vs = sn.map((r) => linear(p, 'state_v_proj', r, false));
    for (let t = start; t < end; t++) {
      const lo = Math.max(0, t - W + 1);
      const q = linear(p, 'q_proj', x[t], false);
      let o = attention(q, K.slice(lo, t + 1), V.slice(lo, t + 1), H, Dh);
      if (S > 0) o = [...o, ...attention(linear(p, 'q2_proj', x[t], false), Ks, Vs, H, Dh)];
      y.push(linear(p, 'o_proj', o, false));
    }
    if (S === 0) continue;
    const next: Mat = [];
    for (let j = 0; j < S; j++) {
      const selfPart = attention(linear(p, 'state_q_proj', sn[j], false), Ks, Vs, H, Dh);
      const crossPart = attention(linear(p, 'state_q2_proj', sn[j], false), K.slice(start, end), V.slice(start, end), H, Dh);
      const h = [...selfPart, ...crossPart];
      if (cfg.configuration === 'single') {
        const u = linear(p, 'state_ffn_in', h, true).map((a) => Math.max(0, a));
        next.push(gate(p, 'state_gate', cfg.gate, c[j], linear(p, 'state_ffn_out', u, true).map(Math.tanh), u));
        continue;
      }
      let cj = gate(p, 'state_gate', cfg.gate, c[j], linear(p, 'state_proj', h, true), h);
      if (cfg.configuration === 'dual') {
        const u = linear(p, 'state_ffn_in', rms(p, 'state_ffn_norm', cj), true).map((a) => Math.max(0, a));
        cj = gate(p, 'state_ffn_gate', cfg.gate, cj, linear(p, 'state_ffn_out', u, true), u);
      }
      next.push(cj);
    }
    c = next;
  }
  return { y, state: c };
}
