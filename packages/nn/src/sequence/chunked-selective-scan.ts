/**
 * A memory-lean selective scan: the diagonal state-space recurrence of Mamba (Gu & Dao, arXiv
 * 2312.00752, Alg. 2 / Eq. 2a–2b, 4) and Longhorn (Liu et al., arXiv 2407.14207) computed chunk
 * by chunk along the sequence, so that no [B, L, E, N] tensor ever exists.
 *
 * Notation (B batch, L length, E channels, N state size per channel, T chunk length):
 *   v_t   per-channel input scale                 [B, L, E]   (Mamba Δ_t ⊙ u_t, Longhorn ε_t ⊙ x_t)
 *   k_t   input key                               [B, L, N]   (Mamba B_t, Longhorn k_t)
 *   q_t   readout query                           [B, L, N]   (Mamba C_t, Longhorn q_t)
 *   a_t   decay, built inside a chunk from small per-step factors (`decay`)   [B, T, E, N]
 *           kind 'exp':      a_t = exp(Δ_t ⊗ A),  Δ [B, L, E], A [E, N]   (Mamba, zero-order hold)
 *           kind 'oneMinus': a_t = 1 − ε_t ⊗ κ_t, ε [B, L, E], κ [B, L, N] (Longhorn, κ = k²)
 *   r_t   segment reset [B, L], 1 where a packed sequence starts: a_t := 0 (./segment-resets.ts)
 *   h_t = a_t ⊙ h_{t−1} + v_t ⊗ k_t,   h_{−1} = h0 (zeros when omitted)        [B, E, N]
 *   y_t = h_t q_t  (+ D ⊙ u_t when `skip` is given)                            [B, E]
 *
 * Forward: the L steps are cut into ⌈L/T⌉ chunks. Each chunk builds its (a, b = v ⊗ k)
 * [B, T, E, N], scans them step by step from the state carried out of the previous chunk
 * (`scanChunk`), reads y out and keeps only the chunk's last state. Results do not depend on T (up to
 * float32 rounding).
 *
 * Backward (a tf.customGrad): only the inputs and the chunk-boundary states H_c = h_{cT−1}
 * (⌈L/T⌉ tensors [B, E, N], i.e. [B, ⌈L/T⌉, E, N] kept as a list) are saved. Chunks are walked in reverse; each recomputes its states from
 * H_c and runs the adjoint recurrence backwards in time,
 *   g_t = a_{t+1} ⊙ g_{t+1} + q_t ⊗ dy_t,    g = ∂loss/∂h (total),
 * with g_{cT+T−1} receiving a_{(c+1)T} ⊙ g_{(c+1)T} from the chunk after it (∂loss/∂last for the
 * final chunk). The per-step gradients then follow elementwise:
 *   ∂a_t = g_t ⊙ h_{t−1} ⊙ (1 − r_t)    ∂v_t = g_t k_t     ∂k_t = g_tᵀ v_t     ∂q_t = h_tᵀ dy_t
 *   'exp':      ∂Δ_t = Σ_n ∂a_t ⊙ a_t ⊙ A         ∂A = Σ_{b,t} ∂a_t ⊙ a_t ⊙ Δ_t
 *   'oneMinus': ∂ε_t = −Σ_n ∂a_t ⊙ κ_t           ∂κ_t = −Σ_e ∂a_t ⊙ ε_t
 *   ∂h0 = a_0 ⊙ g_0
 * Memory O(B · T · E · N) inside a chunk plus O(B · L/T · E · N) saved, instead of the
 * O(B · L · log L · E · N) the whole-sequence Hillis–Steele (./linear-scan.ts) keeps for
 * autodiff. Work O(L · E · N) each way (the backward recomputes the forward once).
 */
import { tf, type Tensor } from '@weft/core';

/** Chunk length T when `chunk` is omitted. */
export const SELECTIVE_SCAN_CHUNK = 64;

/** How the decay a_t [B, T, E, N] is built from small per-step factors. */
export type SelectiveDecay =
  /** a_t = exp(Δ_t ⊗ A): Δ [B, L, E] > 0, A [E, N] < 0 (Mamba's zero-order hold, Eq. 4). */
  | { kind: 'exp'; delta: Tensor; A: Tensor }
  /** a_t = 1 − ε_t ⊗ κ_t: ε [B, L, E], κ [B, L, N] (Longhorn's diagonalised online update). */
  | { kind: 'oneMinus'; eps: Tensor; kappa: Tensor };

export interface ChunkedSelectiveScanInputs {
  decay: SelectiveDecay;
  /** Per-channel input scale v [B, L, E]: the input added at step t is v_t ⊗ k_t. */
  v: Tensor;
  /** Input key k [B, L, N]. */
  k: Tensor;
  /** Readout query q [B, L, N]: y_t = h_t q_t. */
  q: Tensor;
  /** Skip y_t += D ⊙ u_t, with D [E] and u [B, L, E]. */
  skip?: { D: Tensor; u: Tensor };
  /** State before the first step [B, E, N]; zeros when omitted. */
  h0?: Tensor;
  /** [B, L] float32/int32, 1 where a new segment starts: the state restarts from zero there. */
  resets?: Tensor;
  /** Chunk length T (positive integer; default SELECTIVE_SCAN_CHUNK). */
  chunk?: number;
}

export interface ChunkedSelectiveScanResult {
  /** Every step's readout y [B, L, E]. */
  y: Tensor;
  /** The state after the last step [B, E, N], differentiable (carry it into the next segment). */
  last: Tensor;
}

function checkInputs(inp: ChunkedSelectiveScanInputs): [number, number, number, number, number] {
  const [B, L, E] = inp.v.shape as [number, number, number];
  const N = inp.k.shape[2] as number;
  const expect = (field: string, t: Tensor | undefined, shape: number[]) => {
    if (t && t.shape.join(',') !== shape.join(',')) {
      throw new RangeError(`chunkedSelectiveScan: ${field} must be [${shape}] (B ${B}, L ${L}, E ${E}, N ${N} from v [B, L, E] and k [B, L, N]); got [${t.shape}]`);
    }
  };
  if (inp.v.rank !== 3 || inp.k.rank !== 3) {
    throw new RangeError(`chunkedSelectiveScan: v must be [B, L, E] and k [B, L, N]; got v [${inp.v.shape}], k [${inp.k.shape}]`);
  }
  expect('k', inp.k, [B, L, N]);
  expect('q', inp.q, [B, L, N]);
  if (inp.decay.kind === 'exp') {
    expect('decay.delta', inp.decay.delta, [B, L, E]);
    expect('decay.A', inp.decay.A, [E, N]);
  } else {
    expect('decay.eps', inp.decay.eps, [B, L, E]);
    expect('decay.kappa', inp.decay.kappa, [B, L, N]);
  }
  expect('h0', inp.h0, [B, E, N]);
  expect('resets', inp.resets, [B, L]);
  expect('skip.D', inp.skip?.D, [E]);
  expect('skip.u', inp.skip?.u, [B, L, E]);
  const T = inp.chunk ?? SELECTIVE_SCAN_CHUNK;
  if (!Number.isInteger(T) || T < 1) {
    throw new RangeError(`chunkedSelectiveScan: chunk must be a positive integer (steps per chunk); got ${T}. Use e.g. ${SELECTIVE_SCAN_CHUNK}.`);
  }
  return [B, L, E, N, Math.min(T, L)];
}

/** Steps [s, s + n) of [B, L, X] as [B, n, X]. */
function steps(x: Tensor, s: number, n: number): Tensor {
  return tf.slice(x, [0, s, 0], [x.shape[0]!, n, x.shape[2]!]);
}

/** One chunk's tensors: the per-step factors of steps [s, s + n) and the built (a, b). */
interface Chunk {
  rate: Tensor; // Δ or ε  [B, n, E, 1]
  kappa?: Tensor; // κ  [B, n, 1, N] ('oneMinus')
  keep?: Tensor; // 1 − r  [B, n, 1, 1]
  aRaw: Tensor; // the decay before resets  [B, n, E, N]
  a: Tensor; // the decay after resets  [B, n, E, N]
  b: Tensor; // v ⊗ k  [B, n, E, N]
}

function buildChunk(kind: SelectiveDecay['kind'], rate: Tensor, mat: Tensor, v: Tensor, k: Tensor, resets: Tensor | undefined, s: number, n: number): Chunk {
  const [B, , E] = rate.shape as [number, number, number];
  const N = k.shape[2] as number;
  const r = tf.reshape(steps(rate, s, n), [B, n, E, 1]); // [B, n, E, 1]
  let kappa: Tensor | undefined;
  let aRaw: Tensor;
  if (kind === 'exp') {
    aRaw = tf.tidy(() => tf.exp(tf.mul(r, mat))); // exp(Δ_t ⊗ A)  [B, n, E, N]
  } else {
    kappa = tf.reshape(steps(mat, s, n), [B, n, 1, N]); // [B, n, 1, N]
    aRaw = tf.tidy(() => tf.sub(1, tf.mul(r, kappa!))); // 1 − ε_t ⊗ κ_t  [B, n, E, N]
  }
  const keep = resets ? tf.reshape(tf.sub(1, steps(tf.reshape(resets, [B, -1, 1]), s, n)), [B, n, 1, 1]) : undefined; // [B, n, 1, 1]
  const a = keep ? tf.mul(aRaw, keep) : aRaw;
  const b = tf.mul(tf.reshape(steps(v, s, n), [B, n, E, 1]), tf.reshape(steps(k, s, n), [B, n, 1, N])); // v_t ⊗ k_t  [B, n, E, N]
  return { rate: r, kappa, keep, aRaw, a, b };
}

/** Steps of x [B, n, E, N] moved d later (`later`) or d earlier along axis 1; vacated steps hold `fill`. */
function shift(x: Tensor, d: number, later: boolean, fill: number): Tensor {
  const [B, n, E, N] = x.shape as [number, number, number, number];
  const kept = tf.slice(x, [0, later ? 0 : d, 0, 0], [B, n - d, E, N]); // [B, n − d, E, N]
  return tf.pad(kept, [[0, 0], later ? [d, 0] : [0, d], [0, 0], [0, 0]], fill); // [B, n, E, N]
}

/**
 * Every state of one chunk, h_t = a_t ⊙ h_{t∓1} + b_t from `h0` (forwards in time, or
 * backwards when `backwards`), one step at a time: n multiply-adds on [B, E, N]. (A parallel
 * prefix scan does O(n log n) work in ~6·log n passes over [B, n, E, N]; on wasm, where each
 * op runs on one core, the step loop was ~10× faster at n = 64.) Consumes `b`.
 */
function scanChunk(a: Tensor, b: Tensor, h0: Tensor, backwards: boolean): Tensor {
  const [B, n, E, N] = a.shape as [number, number, number, number];
  const step = (x: Tensor, t: number) => tf.reshape(tf.slice(x, [0, t, 0, 0], [B, 1, E, N]), [B, E, N]); // [B, E, N]
  const hs: Tensor[] = new Array<Tensor>(n);
  let h = h0;
  for (let i = 0; i < n; i++) {
    const t = backwards ? n - 1 - i : i;
    const prev = h;
    h = tf.tidy(() => tf.add(tf.mul(step(a, t), prev), step(b, t))); // [B, E, N]
    hs[t] = h;
  }
  b.dispose();
  const all = tf.stack(hs, 1); // [B, n, E, N]
  tf.dispose(hs);
  return all;
}

/** y_t = h_t q_t for states h [B, n, E, N] and queries q [B, n, N]: [B, n, E]. */
function readout(h: Tensor, q: Tensor): Tensor {
  const [B, n, E, N] = h.shape as [number, number, number, number];
  return tf.reshape(tf.matMul(tf.reshape(h, [B * n, E, N]), tf.reshape(q, [B * n, N, 1])), [B, n, E]); // [B, n, E]
}

/** y [B, L, E] and the last state [B, E, N] of the chunked selective scan. */
export function chunkedSelectiveScan(inp: ChunkedSelectiveScanInputs): ChunkedSelectiveScanResult {
  const [B, L, E, N, T] = checkInputs(inp);
  const kind = inp.decay.kind;
  const [rate, mat] = inp.decay.kind === 'exp' ? [inp.decay.delta, inp.decay.A] : [inp.decay.eps, inp.decay.kappa];
  let resets: Tensor | undefined; // [B, L] float32, set inside the tidy below
  const hasH0 = inp.h0 !== undefined;
  const chunks: [number, number][] = [];
  for (let s = 0; s < L; s += T) chunks.push([s, Math.min(T, L - s)]);

  const scan = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as (tensors: Tensor[]) => void;
    const [rt, mt, v, k, q, h0In] = args as Tensor[];
    let h = h0In ?? tf.zeros([B, E, N]); // the state carried between chunks  [B, E, N]
    const starts: Tensor[] = []; // H_c, the state before each chunk
    const ys: Tensor[] = [];
    for (const [s, n] of chunks) {
      starts.push(h);
      const [y, last] = tf.tidy(() => {
        const c = buildChunk(kind, rt!, mt!, v!, k!, resets, s, n);
        const hs = scanChunk(c.a, c.b, h, false); // the chunk's states  [B, n, E, N]
        tf.dispose([c.a, c.aRaw]);
        return [readout(hs, steps(q!, s, n)), tf.reshape(tf.slice(hs, [0, n - 1, 0, 0], [B, 1, E, N]), [B, E, N])]; // [B, n, E], [B, E, N]
      });
      ys.push(y!);
      h = last!;
    }
    // Saved: the inputs, the resets and the ⌈L/T⌉ boundary states H_c [B, E, N] (kept as a list, not stacked, to avoid a copy).
    save([rt!, mt!, v!, k!, q!, resets ?? tf.zeros([0]), ...starts]);
    // One output tensor (customGrad's contract): y and the last state side by side.
    const value = tf.concat([...ys.map((y) => tf.reshape(y, [B, -1])), tf.reshape(h, [B, E * N])], 1); // [B, L·E + E·N]
    const gradFunc = (dOut: Tensor, saved: Tensor[]): Tensor[] => {
      const [rS, mS, vS, kS, qS, rsSaved, ...bounds] = saved as Tensor[];
      const rsS = resets ? rsSaved : undefined;
      let gCarry = tf.reshape(tf.slice(dOut, [0, L * E], [B, E * N]), [B, E, N]); // ∂loss/∂h at the chunk's end from later steps
      const dRate: Tensor[] = [];
      const dKappa: Tensor[] = []; // 'oneMinus'
      let dA: Tensor | undefined; // 'exp', summed over the chunks
      const dv: Tensor[] = [];
      const dk: Tensor[] = [];
      const dq: Tensor[] = [];
      for (let ci = chunks.length - 1; ci >= 0; ci--) {
        const [s, n] = chunks[ci]!;
        // Each [B, n, E, N] tensor is freed as soon as it is used up (nested tidies), to keep a chunk's peak low.
        const out = tf.tidy(() => {
          const c = buildChunk(kind, rS, mS, vS, kS, rsS, s, n);
          const hStart = bounds[ci]!; // H_c  [B, E, N]
          const hs = scanChunk(c.a, c.b, hStart, false); // the chunk's states, recomputed  [B, n, E, N]
          const dyc = tf.reshape(tf.slice(dOut, [0, s * E], [B, n * E]), [B, n, E]); // ∂loss/∂y of the chunk  [B, n, E]
          const dqC = tf.reshape(tf.matMul(tf.reshape(dyc, [B * n, 1, E]), tf.reshape(hs, [B * n, E, N])), [B, n, N]); // h_tᵀ dy_t  [B, n, N]
          const hPrev = tf.tidy(() => tf.add(shift(hs, 1, true, 0), tf.pad(tf.reshape(hStart, [B, 1, E, N]), [[0, 0], [0, n - 1], [0, 0], [0, 0]]))); // h_{t−1}  [B, n, E, N]
          hs.dispose();
          // Adjoint, backwards in time: g_t = a_{t+1} ⊙ g_{t+1} + q_t ⊗ dy_t; the last step takes gCarry.
          const g = tf.tidy(() => {
            const e = tf.mul(tf.reshape(dyc, [B, n, E, 1]), tf.reshape(steps(qS, s, n), [B, n, 1, N])); // q_t ⊗ dy_t  [B, n, E, N]
            const aNext = shift(c.a, 1, false, 1); // a_{t+1}, 1 after the chunk's end  [B, n, E, N]
            return scanChunk(aNext, e, gCarry, true); // ∂loss/∂h_t  [B, n, E, N]
          });
          const carry = tf.tidy(() => tf.reshape(tf.mul(tf.slice(c.a, [0, 0, 0, 0], [B, 1, E, N]), tf.slice(g, [0, 0, 0, 0], [B, 1, E, N])), [B, E, N])); // ∂loss/∂h before the chunk  [B, E, N]
          if (c.a !== c.aRaw) c.a.dispose(); // 'exp' still needs the decay before resets
          const da = tf.tidy(() => (c.keep ? tf.mul(tf.mul(g, hPrev), c.keep) : tf.mul(g, hPrev))); // ∂a_t before resets  [B, n, E, N]
          hPrev.dispose();
          const gFlat = tf.reshape(g, [B * n, E, N]); // [B·n, E, N]
          const dvC = tf.reshape(tf.matMul(gFlat, tf.reshape(steps(kS, s, n), [B * n, N, 1])), [B, n, E]); // g_t k_t  [B, n, E]
          const dkC = tf.reshape(tf.matMul(tf.reshape(steps(vS, s, n), [B * n, 1, E]), gFlat), [B, n, N]); // g_tᵀ v_t  [B, n, N]
          tf.dispose([g, gFlat]);
          let dRateC: Tensor;
          let dMatC: Tensor;
          if (kind === 'exp') {
            const dx = tf.mul(da, c.aRaw); // ∂(Δ_t ⊗ A)  [B, n, E, N]
            tf.dispose([da, c.aRaw]);
            dRateC = tf.sum(tf.mul(dx, mS), 3); // [B, n, E]
            dMatC = tf.sum(tf.reshape(tf.mul(dx, c.rate), [B * n, E, N]), 0); // [E, N]
          } else {
            const dxFlat = tf.reshape(tf.neg(da), [B * n, E, N]); // ∂(ε_t ⊗ κ_t)  [B·n, E, N]
            da.dispose();
            dRateC = tf.reshape(tf.matMul(dxFlat, tf.reshape(c.kappa!, [B * n, N, 1])), [B, n, E]); // [B, n, E]
            dMatC = tf.reshape(tf.matMul(tf.reshape(c.rate, [B * n, 1, E]), dxFlat), [B, n, N]); // [B, n, N]
          }
          return { carry, dRateC, dMatC, dvC, dkC, dqC };
        });
        gCarry.dispose();
        gCarry = out.carry;
        dRate.push(out.dRateC);
        if (kind === 'exp') {
          const sum: Tensor = dA ? tf.add(dA, out.dMatC) : out.dMatC; // [E, N]
          if (dA) tf.dispose([dA, out.dMatC]);
          dA = sum;
        } else dKappa.push(out.dMatC);
        dv.push(out.dvC);
        dk.push(out.dkC);
        dq.push(out.dqC);
      }
      const inTime = (parts: Tensor[]) => (parts.length === 1 ? parts[0]! : tf.concat(parts.reverse(), 1)); // chunks back in order  [B, L, X]
      const grads = [inTime(dRate), dA ?? inTime(dKappa), inTime(dv), inTime(dk), inTime(dq)];
      if (hasH0) grads.push(gCarry);
      else gCarry.dispose();
      return grads;
    };
    return { value, gradFunc };
  });

  return tf.tidy(() => {
    resets = inp.resets ? tf.cast(inp.resets, 'float32') : undefined;
    const packed = scan(rate, mat, inp.v, inp.k, inp.q, ...(inp.h0 ? [inp.h0] : [])); // [B, L·E + E·N]
    let y = tf.reshape(tf.slice(packed, [0, 0], [B, L * E]), [B, L, E]); // [B, L, E]
    const last = tf.reshape(tf.slice(packed, [0, L * E], [B, E * N]), [B, E, N]); // [B, E, N]
    if (inp.skip) y = tf.add(y, tf.mul(inp.skip.u, inp.skip.D));
    return { y, last };
  });
}
