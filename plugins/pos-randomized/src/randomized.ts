/**
 * Randomized positional encodings (Ruoss et al., ACL 2023, arXiv 2305.16843).
 *
 * A model trained on sequences of length ≤ M only ever sees positions 0..M−1, so at test
 * length N > M its positional encoding is out of distribution. Instead, for a sequence of n
 * tokens, sample n distinct positions uniformly from [0, L) with L ≫ N, sort them, and give
 * token t the t-th smallest one:
 *
 *   s = sort(sample_without_replacement({0, ..., L−1}, n)),   token t ↦ position s_t
 *
 * then apply any positional encoding (sin/cos, learned, RoPE, ALiBi, ...) at the positions s.
 * Order is kept, the positions of long sequences are seen in training. The reference code
 * (google-deepmind/randomized_positional_encodings) samples one s per forward, shared by the
 * batch, during training *and* at test time; `evalPositions: 'contiguous'` instead uses
 * s_t = t in eval mode (needed for exact cached decoding).
 *
 * Notation (paper → code):
 *   L       maximum simulated length (the paper's L; the reference's noise_max_length)  maxLength
 *   n       sequence length (1 + the largest position in the batch)
 *   s       sorted sampled positions, s_0 < s_1 < ... < s_{n−1} < L                    table [n]
 *   p       Weft's absolute position of a token ([B, L] int32; restarts at 0 per packed
 *           sequence); the inner encoding sees s_p
 *
 * All hooks of one forward (embedding and every layer) must see the same s: it is drawn once
 * per forward with the forward's rng and kept in `ctx.scratch` under RANDOMIZED_POSITIONS.
 * Setting that entry yourself injects s (tests, or a fixed draw).
 */
import { Module, Rng, ShapeError, tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';

/** Scratch key holding the sorted positions s (number[]) of the current forward. */
export const RANDOMIZED_POSITIONS = 'weft.pos-randomized.positions';

export type EvalPositions = 'sampled' | 'contiguous';

/**
 * n distinct integers drawn uniformly from [0, L), sorted increasing (Floyd's algorithm:
 * every n-subset equally likely, O(n) draws).
 */
export function samplePositions(rng: Rng, n: number, L: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`samplePositions: n must be a non-negative integer; got ${n}`);
  if (n > L) {
    throw new ShapeError(`Randomized positions: a sequence of ${n} tokens needs ${n} distinct positions, but maxLength is ${L}. Raise "maxLength" to at least ${n} (the paper uses L much larger than any test length).`);
  }
  const chosen = new Set<number>();
  for (let j = L - n; j < L; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

export interface RandomizedParams {
  maxLength: number;
  evalPositions: EvalPositions;
}

export class RandomizedEncoding extends Module implements PositionalEncoding {
  readonly inner: PositionalEncoding;
  readonly maxLength: number;
  readonly evalPositions: EvalPositions;
  embed?: (x: Tensor, positions: Tensor, ctx: ForwardContext) => Tensor;
  rotate?: (q: Tensor, k: Tensor, qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext) => [Tensor, Tensor];
  bias?: (qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext & { x?: Tensor }) => Tensor;
  logitScale?: (ctx: ForwardContext, queryLength: number) => Tensor | number;

  constructor(inner: PositionalEncoding, params: RandomizedParams) {
    super();
    this.inner = this.adopt('inner', inner);
    this.maxLength = params.maxLength;
    this.evalPositions = params.evalPositions;
    // Expose exactly the hooks the inner encoding has, each at the transformed positions.
    if (inner.embed) this.embed = (x, positions, ctx) => tf.tidy(() => inner.embed!(x, this.map(positions, ctx), ctx));
    if (inner.rotate) {
      this.rotate = (q, k, qPositions, kPositions, ctx) => {
        const [qs, ks] = [this.map(qPositions, ctx), this.map(kPositions, ctx)];
        const out = inner.rotate!(q, k, qs, ks, ctx);
        tf.dispose([qs, ks]);
        return out;
      };
    }
    if (inner.bias) this.bias = (qPositions, kPositions, ctx) => tf.tidy(() => inner.bias!(this.map(qPositions, ctx), this.map(kPositions, ctx), ctx));
    if (inner.logitScale) this.logitScale = (ctx, queryLength) => inner.logitScale!(ctx, queryLength);
  }

  /** Whether this forward uses sampled positions (training, or eval with 'sampled'). */
  randomizes(ctx: Pick<ForwardContext, 'training'>): boolean {
    return ctx.training || this.evalPositions === 'sampled';
  }

  /**
   * s for this forward: the scratch entry if present, else a fresh draw of n positions
   * (n = 1 + largest position) from an rng seeded by the forward's rng.
   */
  positionsFor(n: number, ctx: ForwardContext): number[] {
    let s = ctx.scratch.get(RANDOMIZED_POSITIONS) as number[] | undefined;
    if (!s) {
      s = samplePositions(new Rng(ctx.rng.nextUint32()), n, this.maxLength);
      ctx.scratch.set(RANDOMIZED_POSITIONS, s);
    }
    if (s.length < n) {
      throw new ShapeError(`Randomized positions: this forward drew ${s.length} positions but a hook asked for position ${n - 1}. Give every hook of one forward the same positions.`);
    }
    return s;
  }

  /** p ↦ s_p for positions [B, L'] int32 -> [B, L'] int32 (identity when not randomizing). */
  map(positions: Tensor, ctx: ForwardContext): Tensor {
    if (!this.randomizes(ctx)) return tf.clone(positions);
    const n = (positions.max().dataSync()[0] as number) + 1;
    const s = this.positionsFor(n, ctx);
    return tf.tidy(() => tf.gather(tf.tensor1d(s, 'int32'), positions)); // [B, L']
  }
}
