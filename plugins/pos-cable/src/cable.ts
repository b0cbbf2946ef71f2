/**
 * CABLE — Context-aware Biases for Length Extrapolation (Veisi & Mansourian 2025,
 * arXiv 2503.08067). ALiBi adds −m_h (i − j), a fixed slope per head. CABLE learns a
 * non-negative "step" for every token and head from the layer input, and the bias between query
 * i and key j is minus the sum of the steps of the tokens after j up to i:
 *
 *   s_t^h = softplus(W_h · x_t + c_h) ≥ 0                  per token and head
 *   b_t^h = Σ_{u ≤ t} −s_u^h                               cumulative, decreasing in t
 *   bias^h(i, j) = b_i^h − b_j^h = −Σ_{j < u ≤ i} s_u^h     ≤ 0 for j ≤ i, more negative with distance
 *
 * added to the causal logits (after the 1/sqrt(Dh) scaling). With a constant step s_u^h = m_h it
 * is exactly ALiBi's −m_h (i − j). W ([D, H]) and c ([H]) are the only parameters, one set per
 * layer (the reference code's `h_attn = nn.Linear(n_embd, n_head)`, init N(0, 0.02), bias 0).
 *
 * Notation (paper → code):
 *   x        the attention layer's input [B, L, D] (ctx.x)
 *   W, c     h_attn.weight [D, H] (stored [in, out]), h_attn.bias [H]
 *   s        softplus(x W + c) [B, L, H];  b = −cumsum(s) over L [B, L, H]
 *   i, j     query and key positions; row index = position − (first position of the row)
 *
 * Decoding: b_i needs the steps of ALL tokens before i, but during cached decoding the layer
 * input ctx.x holds only the new tokens. The bias hook detects a key position outside the rows of
 * ctx.x and throws (generate with { useCache: false } recomputes the prefix).
 */
import { Module, StateError, init, tf, type ForwardContext, type PositionalEncoding, type Rng, type Tensor } from '@weft/core';

export class CableBias extends Module implements PositionalEncoding {
  readonly W: tf.Variable;
  readonly c: tf.Variable;

  constructor(readonly dModel: number, readonly heads: number, rng: Rng) {
    super();
    this.W = this.addParameter('h_attn.weight', [dModel, heads], init.normal(0.02), rng.fork('W'));
    this.c = this.addParameter('h_attn.bias', [heads], init.zeros(), rng.fork('c'));
  }

  /** b = −cumsum(softplus(x W + c)) over the sequence: x [B, L, D] -> [B, L, H]. */
  cumulativeBias(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [B, L, D] = x.shape as [number, number, number];
      const logits = tf.add(tf.reshape(tf.matMul(tf.reshape(x, [B * L, D]), this.W), [B, L, this.heads]), this.c); // [B, L, H]
      return tf.neg(tf.cumsum(tf.softplus(logits), 1)); // [B, L, H]
    });
  }

  /** Rows of ctx.x for the given positions [B, L'] (row = position − first position of the row), checked. */
  private rowsOf(positions: Tensor, first: Int32Array | Float32Array, L: number): number[][] {
    const [B, Lp] = positions.shape as [number, number];
    const data = positions.dataSync();
    const rows: number[][] = [];
    for (let b = 0; b < B; b++) {
      const row: number[] = [];
      for (let t = 0; t < Lp; t++) {
        const r = data[b * Lp + t] - first[b];
        if (r < 0 || r >= L) {
          throw new StateError(
            `CABLE needs the layer input of every token up to the query (its bias b_i − b_j sums per-token steps over the whole prefix), but this call only has ${L} token(s) from position ${first[b]} while a key sits at position ${data[b * Lp + t]}: this is a cached decoding step. Generation with CABLE recomputes the prefix: pass { useCache: false } to generate().`,
          );
        }
        row.push(r);
      }
      rows.push(row);
    }
    return rows;
  }

  /**
   * bias(i, j) = b_i − b_j for query positions [B, Lq'] and key positions [B, Lk'] ->
   * [B, H, Lq', Lk']; ctx.x [B, L, D] is the layer input and ctx.positions [B, L] its positions.
   */
  bias(qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext & { x?: Tensor }): Tensor {
    const x = ctx.x;
    if (!x) throw new StateError('CABLE computes its bias from the layer input: call bias() with ctx.x = the attention layer input [B, L, D].');
    const [B, L] = x.shape as [number, number];
    const first = tf.tidy(() => tf.slice(ctx.positions, [0, 0], [B, 1])).dataSync() as Int32Array; // first position per row
    const qRows = this.rowsOf(qPositions, first, L);
    const kRows = this.rowsOf(kPositions, first, L);
    return tf.tidy(() => {
      const b = this.cumulativeBias(x); // [B, L, H]
      const pick = (rows: number[][]) => tf.matMul(tf.oneHot(tf.tensor2d(rows, [B, rows[0].length], 'int32'), L), b); // [B, L', H]
      const bi = tf.transpose(pick(qRows), [0, 2, 1]); // [B, H, Lq']
      const bj = tf.transpose(pick(kRows), [0, 2, 1]); // [B, H, Lk']
      return tf.sub(tf.expandDims(bi, 3), tf.expandDims(bj, 2)); // [B, H, Lq', Lk']
    });
  }
}
