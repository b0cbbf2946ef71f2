/**
 * Recurrent Memory Transformer (Bulatov, Kuratov, Burtsev, NeurIPS 2022, arXiv:2207.06881):
 * the memory kind "rmt".
 *
 * A long input is split into segments H_1, H_2, ... (the model's `segmentLength`). m memory
 * tokens are read at the start of each segment and written at its end (decoder-only layout,
 * §3 and Fig. 1c):
 *
 *   H̃⁰_τ     = [H^mem_τ ; H⁰_τ ; H^mem_τ]                    (read tokens · segment · write tokens)
 *   H̄^N_τ    = Transformer(H̃⁰_τ)                             (the model's N layers, causal)
 *   [H^read_τ ; H^N_τ ; H^write_τ] := H̄^N_τ
 *   H^mem_τ+1 := H^write_τ                                   (the write tokens' outputs are the next memory)
 *
 * H^mem_1 is a learned parameter (the memory's initial embeddings). With the causal mask the
 * read tokens (first) are visible to every segment token, and the write tokens (last) see the
 * whole segment, so information flows segment -> write tokens -> next segment's read tokens.
 * Training is backpropagation through time across segments (§3: "gradients flow through the
 * memory"). `bpttSegments` = k truncates it: the memory handed to segment τ is detached
 * (stop-gradient) whenever τ is a multiple of k, so no loss reaches back more than k segments.
 *
 * Notation: B batch, Ls segment length, m memory tokens (`tokens`), D model width.
 */
import { init, Module, tf, z, type ForwardContext, type LayerState, type ModelDims, type Rng, type SegmentMemory, type SlotCapabilities, type Tensor } from '@weft/core';

/** Options with the paper's meaning: `tokens` is the memory size m. */
export const RmtOptions = z.object({
  tokens: z
    .number({ message: 'tokens is the memory size m: a whole number >= 0 (the paper uses 1 to 10; 0 turns the memory off)' })
    .int({ message: 'tokens is the memory size m: a whole number >= 0 (the paper uses 1 to 10; 0 turns the memory off)' })
    .min(0, { message: 'tokens is the memory size m: a whole number >= 0 (the paper uses 1 to 10; 0 turns the memory off)' })
    .default(10),
  bpttSegments: z
    .number()
    .int({ message: 'bpttSegments is how many segments gradients may reach back: a whole number >= 1 (omit it for full BPTT)' })
    .min(1, { message: 'bpttSegments is how many segments gradients may reach back: a whole number >= 1 (omit it for full BPTT)' })
    .optional(),
});
export type RmtOptions = z.output<typeof RmtOptions>;

/** Read tokens come first and write tokens last, so the memory keeps a causal model causal. */
export const rmtCapabilities: SlotCapabilities['memory'] = { causal: true };

/** The memory carried between segments: H^mem_τ [B, m, D] (undefined before segment 1) and τ. */
export class RmtState implements LayerState {
  constructor(
    /** [B, m, D]; undefined = the learned initial memory (tiled on read, so gradients reach it). */
    readonly memory: Tensor | undefined,
    /** 0-based index of the next segment to read. */
    readonly segment: number,
  ) {}
  bytes(): number {
    return this.memory ? this.memory.size * 4 : 0;
  }
  dispose(): void {
    this.memory?.dispose();
  }
}

/** A stop-gradient copy that survives tf.tidy: fresh values outside the tape. */
function detached(x: Tensor): Tensor {
  return tf.keep(tf.tensor(x.dataSync(), x.shape, x.dtype));
}

export class RmtMemory extends Module implements SegmentMemory {
  /** H^mem_1: the m learned memory embeddings [1, m, D]. */
  readonly memoryInit?: tf.Variable;
  readonly tokens: number;
  readonly bpttSegments?: number;

  constructor(options: RmtOptions, readonly dims: ModelDims, rng: Rng) {
    super();
    this.tokens = options.tokens;
    this.bpttSegments = options.bpttSegments;
    if (this.tokens > 0) this.memoryInit = this.addParameter('memory', [1, this.tokens, dims.dModel], init.normal(0.02), rng.fork('memory'));
  }

  init(_batch: number): LayerState {
    return new RmtState(undefined, 0);
  }

  /** H̃⁰_τ = [H^mem_τ ; x ; H^mem_τ]: [B, Ls, D] -> [B, m + Ls + m, D]. */
  read(x: Tensor, state: LayerState, _ctx: ForwardContext): Tensor {
    if (this.tokens === 0) return x;
    return tf.tidy(() => {
      const B = (x.shape as number[])[0];
      const mem = (state as RmtState).memory ?? tf.tile(this.memoryInit!, [B, 1, 1]); // [B, m, D]
      return tf.concat([mem, x, mem], 1); // [B, m + Ls + m, D]
    });
  }

  /** [H^read ; H^N ; H^write] -> H^N [B, Ls, D], and H^mem_τ+1 = H^write [B, m, D]. */
  write(h: Tensor, state: LayerState, _ctx: ForwardContext): [Tensor, LayerState] {
    const previous = state as RmtState;
    const segment = previous.segment + 1;
    if (this.tokens === 0) return [h, new RmtState(undefined, segment)];
    const m = this.tokens;
    const [B, total, D] = h.shape as [number, number, number];
    const body = tf.slice(h, [0, m, 0], [B, total - 2 * m, D]); // [B, Ls, D]
    const written = tf.slice(h, [0, total - m, 0], [B, m, D]); // [B, m, D]
    // Truncated BPTT: the memory entering segment τ (0-based) is cut from the graph when τ % k == 0.
    const cut = this.bpttSegments !== undefined && segment % this.bpttSegments === 0;
    const next = cut ? detached(written) : tf.keep(written);
    if (cut) written.dispose();
    // The old memory fed only a concat, whose gradient needs shapes, not values: safe to free.
    previous.dispose();
    return [body, new RmtState(next, segment)];
  }
}
