/**
 * Reformer LSH attention — Kitaev, Kaiser & Levskaya, "Reformer: The Efficient Transformer"
 * (arXiv 2001.04451), §2 (LSH attention), with CONVENTIONS.md's Reformer rules.
 *
 * Notation (paper → code):
 *   x      shared query/key vectors (shared-QK: keys are the queries, L2-normalised)    q
 *   R      random rotations [Dh, n_rounds, n_buckets/2]                                  `rotations`
 *   h(x)   bucket = argmax([xR; −xR]) (§2, "angular LSH")                                 per round
 *   m      chunk length (HF lsh_attn_chunk_length)                                        `bucketSize`
 *   n_r    hash rounds                                                                    `numHashes`
 *
 * Per round r (eq. 3–4 and Fig. 2): sort the positions stably by (bucket, position); cut the
 * sorted sequence into chunks of m; each chunk attends to itself and the previous chunk
 * (wrapping around); keys are x/‖x‖, scale Dh^-1/2; a token may attend to itself only when
 * nothing else is available (its own logit is replaced by −5·10⁴, finite); causal masking uses
 * the original positions. The rounds' outputs are merged with softmax weights from their
 * logsumexps (eq. 6 in App., as trax/HF): O = Σ_r exp(lse_r − logsumexp_r lse_r) O_r.
 *
 * Memory: per round [B, H, L/m, m, 2m] scores — O(L·m), never L×L. With one chunk (L ≤ m) a chunk
 * is its own "previous" chunk and is gathered once (so keys are not counted twice).
 */
import {
  Rng,
  ShapeError,
  tf,
  z,
  type AttentionContext,
  type AttentionKernel,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';

const MASKED = -1e9;
/** The self-attention logit (CONVENTIONS: finite −5e4). */
export const SELF_LOGIT = -5e4;

/** Options: HF ReformerConfig names (num_hashes, num_buckets, lsh_attn_chunk_length). */
export const ReformerOptions = z.object({
  /** Hash rounds n_r. */
  numHashes: z.number({ message: 'numHashes must be a whole number ≥ 1, e.g. 1' }).int({ message: 'numHashes must be a whole number ≥ 1, e.g. 1' }).positive({ message: 'numHashes must be ≥ 1, e.g. 1' }).default(1),
  /** Buckets per round: 1, or an even number (angular LSH uses ±R). */
  numBuckets: z
    .number({ message: 'numBuckets must be 1 or an even whole number, e.g. 32' })
    .int({ message: 'numBuckets must be 1 or an even whole number, e.g. 32' })
    .positive({ message: 'numBuckets must be ≥ 1, e.g. 32' })
    .refine((n) => n === 1 || n % 2 === 0, { message: 'numBuckets must be 1 or even (buckets come in ±R pairs), e.g. 32' })
    .default(32),
  /** Chunk length m (HF lsh_attn_chunk_length). */
  bucketSize: z.number({ message: 'bucketSize must be a whole number ≥ 1, e.g. 64' }).int({ message: 'bucketSize must be a whole number ≥ 1, e.g. 64' }).positive({ message: 'bucketSize must be ≥ 1, e.g. 64' }).default(64),
  /** Seed for the rotations (per layer); without it, fresh rotations come from ctx.rng each call (as HF without hash_seed). */
  seed: z.number({ message: 'seed must be a whole number, e.g. 0' }).int({ message: 'seed must be a whole number, e.g. 0' }).optional(),
});
export type ReformerOptions = z.output<typeof ReformerOptions>;

/**
 * causal: false — the causal mask is applied (ctx.causal), but which earlier keys share a query's
 * chunk depends on the buckets of LATER tokens (they shift the sort), so outputs at t are not
 * independent of tokens after t: not causal in Weft's strict sense.
 */
export const reformerCapabilities: SlotCapabilities['attention'] = {
  causal: false,
  bidirectional: true,
  bias: false,
  padding: true,
  segments: true,
  decode: false,
  weights: false,
};

/** Random rotations R [Dh, numHashes, numBuckets/2] (standard normal), from `rng`. */
export function lshRotations(Dh: number, numHashes: number, numBuckets: number, rng: Rng): Tensor {
  return rng.normalTensor([Dh, numHashes, Math.max(1, numBuckets / 2)]);
}

/** Buckets [B, H, L] of round r: argmax([xR_r, −xR_r]) (all 0 with one bucket). */
export function lshBuckets(x: Tensor, R: Tensor, round: number, numBuckets: number): Int32Array {
  const [B, H, L] = x.shape as number[];
  if (numBuckets === 1) return new Int32Array(B * H * L);
  return tf.tidy(() => {
    const Dh = (R.shape as number[])[0];
    const Rr = tf.reshape(tf.slice(R, [0, round, 0], [Dh, 1, -1]), [Dh, -1]); // [Dh, nb/2]
    const rot = tf.reshape(tf.matMul(tf.reshape(x, [-1, Dh]), Rr), [B, H, L, -1]); // [B, H, L, nb/2]
    return tf.argMax(tf.concat([rot, tf.neg(rot)], -1), -1).dataSync() as Int32Array; // [B, H, L]
  });
}

export class ReformerAttention implements AttentionKernel {
  readonly supports = reformerCapabilities;

  constructor(readonly options: ReformerOptions) {}

  /** q [B, H, L, Dh] (shared QK: k is not used), v [B, Hkv, L, Dv] -> [B, H, L, Dv]. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const Dh = (q.shape as number[])[3];
    const { numHashes, numBuckets, seed } = this.options;
    const rng = seed === undefined ? ctx.rng.fork('reformer-lsh') : new Rng(seed).fork(ctx.layerIndex);
    const R = lshRotations(Dh, numHashes, numBuckets, rng);
    try {
      return this.attendWithRotations(q, k, v, ctx, R);
    } finally {
      R.dispose();
    }
  }

  /** Every round's output [B, H, L, Dv] and logsumexp [B, H, L, 1], for explicit rotations R. */
  rounds(q: Tensor, _k: Tensor, v: Tensor, ctx: AttentionContext, R: Tensor): Array<[Tensor, Tensor]> {
    const [B, H, L, Dh] = q.shape as number[];
    const [, Hkv, Lk, Dv] = v.shape as number[];
    if (Lk !== L) throw new ShapeError(`reformer: query length ${L} ≠ key length ${Lk}; LSH attention is shared-QK self-attention without decoding (decode: false)`);
    const m = Math.min(this.options.bucketSize, L);
    if (L % m !== 0) throw new ShapeError(`reformer: sequence length ${L} is not a multiple of bucketSize ${m}; pad the input to a multiple of ${m} (with a padding mask)`);
    const nC = L / m;
    const scale = typeof ctx.scale === 'number' ? ctx.scale : undefined;
    if (scale === undefined) throw new ShapeError('reformer: a per-head scale tensor is not supported; LSH attention uses the scalar Dh^-1/2');
    return tf.tidy(() => {
      const vv = Hkv === H ? v : tf.reshape(tf.tile(tf.reshape(v, [B, Hkv, 1, L, Dv]), [1, 1, H / Hkv, 1, 1]), [B, H, L, Dv]); // [B, H, L, Dv]
      const keys = tf.div(q, tf.add(tf.norm(q, 'euclidean', -1, true), 1e-6)); // [B, H, L, Dh] (shared QK, L2-normalised)
      const qFlat = tf.reshape(q, [B * H * L, Dh]);
      const kFlat = tf.reshape(keys, [B * H * L, Dh]);
      const vFlat = tf.reshape(vv, [B * H * L, Dv]);
      const keep = ctx.keyPaddingMask ? (tf.cast(ctx.keyPaddingMask, 'float32').dataSync() as Float32Array) : undefined;
      const seg = ctx.querySegmentIds && ctx.keySegmentIds ? (ctx.keySegmentIds.dataSync() as Int32Array) : undefined;
      const out: Array<[Tensor, Tensor]> = [];
      for (let r = 0; r < this.options.numHashes; r++) {
        const buckets = lshBuckets(q, R, r, this.options.numBuckets);
        // Stable sort of each (b, h) row by bucket·L + position.
        const perm = new Int32Array(B * H * L); // sorted slot -> flat row index
        const inv = new Int32Array(B * H * L); // flat row -> flat sorted slot
        for (let bh = 0; bh < B * H; bh++) {
          const order = Array.from({ length: L }, (_, i) => i).sort((a, c) => buckets[bh * L + a] * L + a - (buckets[bh * L + c] * L + c));
          order.forEach((i, s) => {
            perm[bh * L + s] = bh * L + i;
            inv[bh * L + i] = bh * L + s;
          });
        }
        // Key slots of each chunk: itself, then the previous chunk (wrapping); one chunk: itself only.
        const Kc = nC > 1 ? 2 * m : m;
        const kSlot = new Int32Array(B * H * nC * Kc); // flat sorted slot of each key slot
        const mask = new Float32Array(B * H * nC * m * Kc);
        for (let bh = 0; bh < B * H; bh++) {
          const b = Math.floor(bh / H);
          for (let c = 0; c < nC; c++) {
            const prev = (c - 1 + nC) % nC;
            for (let t = 0; t < Kc; t++) kSlot[(bh * nC + c) * Kc + t] = bh * L + (t < m ? c * m + t : prev * m + (t - m));
            for (let a = 0; a < m; a++) {
              const i = perm[bh * L + c * m + a] - bh * L; // original query position
              for (let t = 0; t < Kc; t++) {
                const j = perm[kSlot[(bh * nC + c) * Kc + t]] - bh * L; // original key position
                let logit = 0;
                if (ctx.causal && j > i + ctx.queryOffset) logit = MASKED;
                else if (keep && keep[b * L + j] === 0) logit = MASKED;
                else if (seg && seg[b * L + i] !== seg[b * L + j]) logit = MASKED;
                else if (i === j) logit = Number.NaN; // marks "self": the logit is replaced below
                mask[((bh * nC + c) * m + a) * Kc + t] = logit;
              }
            }
          }
        }
        // Self-attention rule folded into two per-slot tables: logit·factor + offset, with
        // factor = scale (0 on the own key) and offset = the mask (SELF_LOGIT on the own key).
        const factor = new Float32Array(mask.length);
        const offset = new Float32Array(mask.length);
        const anyAllowed = new Float32Array(B * H * nC * m); // rows with at least one usable key
        mask.forEach((x, t) => {
          if (Number.isNaN(x)) offset[t] = SELF_LOGIT;
          else {
            factor[t] = scale;
            offset[t] = x;
          }
          if (!(x <= MASKED / 2)) anyAllowed[Math.floor(t / Kc)] = 1;
        });
        const permT = tf.tensor1d(perm, 'int32');
        const Qs = tf.reshape(tf.gather(qFlat, permT), [B * H * nC, m, Dh]); // [B·H·nC, m, Dh] sorted queries
        const slotRows = tf.gather(permT, tf.tensor1d(kSlot, 'int32')); // flat row of each key slot
        const Ks = tf.reshape(tf.gather(kFlat, slotRows), [B * H * nC, Kc, Dh]); // [B·H·nC, Kc, Dh]
        const Vs = tf.reshape(tf.gather(vFlat, slotRows), [B * H * nC, Kc, Dv]); // [B·H·nC, Kc, Dv]
        // Score-sized tensors ([B·H·nC, m, Kc]) are freed as soon as the next one exists.
        const logits = tf.tidy(() => {
          const raw = tf.matMul(Qs, Ks, false, true); // [B·H·nC, m, Kc]
          const f = tf.tensor(factor, [B * H * nC, m, Kc]);
          const scaled = tf.mul(raw, f);
          tf.dispose([raw, f]);
          const off = tf.tensor(offset, [B * H * nC, m, Kc]);
          return tf.add(scaled, off);
        });
        const lse = tf.logSumExp(logits, -1, true); // [B·H·nC, m, 1]
        const o = tf.tidy(() => tf.matMul(tf.exp(tf.sub(logits, lse)), Vs)); // [B·H·nC, m, Dv]
        logits.dispose();
        // A row whose keys are all masked (not just "self") outputs 0 and gets no merge weight.
        const any = tf.tensor(anyAllowed, [B * H * nC, m, 1]);
        const invT = tf.tensor1d(inv, 'int32');
        const oRows = tf.gather(tf.reshape(tf.mul(o, any), [B * H * L, Dv]), invT); // unsorted
        const lRows = tf.gather(tf.reshape(tf.add(tf.mul(lse, any), tf.mul(tf.sub(1, any), -1e30)), [B * H * L, 1]), invT);
        out.push([tf.reshape(oRows, [B, H, L, Dv]), tf.reshape(lRows, [B, H, L, 1])]);
      }
      return out;
    });
  }

  /** LSH attention with explicit rotations R [Dh, numHashes, numBuckets/2]. */
  attendWithRotations(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, R: Tensor): Tensor {
    checkRotations(R, (q.shape as number[])[3], this.options);
    return tf.tidy(() => {
      const parts = this.rounds(q, k, v, ctx, R);
      if (parts.length === 1) return parts[0][0];
      const w = tf.softmax(tf.stack(parts.map(([, l]) => l), -1)); // [B, H, L, 1, n_r]
      return tf.sum(tf.mul(tf.stack(parts.map(([o]) => o), -1), w), -1); // [B, H, L, Dv]
    });
  }
}

/** The rotation table must be [Dh, numHashes, numBuckets/2]. */
export function checkRotations(R: Tensor, Dh: number, options: ReformerOptions): void {
  const want = [Dh, options.numHashes, Math.max(1, options.numBuckets / 2)];
  if ((R.shape as number[]).join() !== want.join()) throw new ShapeError(`reformer: rotations have shape [${R.shape.join(', ')}], expected [${want.join(', ')}] (Dh, numHashes, numBuckets/2)`);
}
