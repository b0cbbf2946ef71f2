/**
 * Block-Recurrent Transformer layer (Hutchins, Schlag, Wu, Dyer, Neyshabur, 2022,
 * arXiv:2203.07852, §3 "Method"). The input is processed in blocks of W tokens. A recurrent layer keeps
 * S state vectors; per block it runs two directions in parallel:
 *
 *   vertical (tokens; §3 "sliding window attention", "recurrent cell"): token queries self-attend over a causal sliding window of the
 *     W most recent tokens (the current block plus the cached keys/values of the previous one)
 *     and cross-attend to the current state; both results go through one output projection
 *     and the block's residual (the Weft block owns norm, residual and feed-forward).
 *   horizontal (state; §3 "recurrent cell"): state queries self-attend over the state and cross-attend to the
 *     block's tokens; the result is projected and *gated* into the state (§3 "gate type"), optionally
 *     followed by a state MLP and a second gate ("dual") — the next block's state.
 *
 * Notation (paper → code):
 *   W            block length = sliding-window length                      blockLength
 *   S            number of state vectors                                    stateSize
 *   x_τ          block τ's tokens (the layer input after the block's norm)  x    [B, N, D], N ≤ W
 *   c_τ          the state before block τ                                   s    [B, S, D]
 *   c_0          learned initial state                                      state_init [S, D]
 *   state IDs    learned per-state-vector embedding added before the
 *                state's keys/values/queries (like position embeddings)    state_ids [S, D]
 *   K, V, Q, Q₂  token keys/values/self-queries/cross-queries (no bias)     [B, H, ·, Dh]
 *   K_s, V_s, Q_s, Q_s₂  the same from the state: RMSNorm(c_τ) + state IDs [B, H, S, Dh]
 *   y   = [softmax(Q Kᵀ/√Dh + M_W) V ; softmax(Q₂ K_sᵀ/√Dh) V_s] W_o       token output [B, N, D]
 *   h_t = [softmax(Q_s K_sᵀ/√Dh) V_s ; softmax(Q_s₂ K_τᵀ/√Dh) V_τ]          state attention [B, S, 2·H·Dh]
 *   M_W          query at position p sees keys at p−W < q ≤ p
 *   Gates (§3 "gate type"), ⊙ elementwise, σ the logistic sigmoid:
 *     fixed:  z_t = W_z h_t + b_z;  g = σ(b_g);  c_{t+1} = c_t ⊙ g + z_t ⊙ (1 − g)
 *     lstm:   z_t = W_z h_t + b_z;  i_t = σ(W_i h_t + b_i − 1);  f_t = σ(W_f h_t + b_f + 1);
 *             c_{t+1} = c_t ⊙ f_t + z_t ⊙ i_t
 *   Gate configurations (§3 "gate configuration"): skip = projection + gate (no state MLP);
 *     dual = projection + gate, then MLP(RMSNorm(·)) + a second gate of the same type;
 *     single = no projection: MLP on h_t with a tanh output, one gate.
 *
 * Training: gradients flow through the state from block to block inside a segment;
 * at a segment boundary the carried state and window are detached (truncated BPTT).
 *
 * Shapes: B batch, N block length (≤ W), D width, H heads, Dh head width, P cached tokens (≤ W).
 */
import { init, Module, tf, type ForwardContext, type LayerState, type ModelDims, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { Linear, mergeHeads, RMSNorm, splitHeads } from '@weft/nn';

export type GateType = 'fixed' | 'lstm';
export type GateConfiguration = 'skip' | 'dual' | 'single';

export interface BlockRecurrentConfig {
  /** W: tokens per block, also the sliding-window length. */
  blockLength: number;
  /** S: number of recurrent state vectors (0 = plain sliding-window attention). */
  stateSize: number;
  gate: GateType;
  configuration: GateConfiguration;
  /** Hidden width of the state MLP ("dual" and "single"). */
  ffnHidden: number;
}

/** Carried across segments and decoding steps: the state c [B, S, D] (undefined = c_0) and the window's last ≤ W keys/values [B, H, P, Dh]. */
export class BlockRecurrentState implements LayerState {
  constructor(
    readonly state: Tensor | undefined,
    readonly keys: Tensor | undefined,
    readonly values: Tensor | undefined,
    /** Tokens of the unfinished block (decoding only; 0 after a segment). */
    readonly pending = 0,
  ) {}
  bytes(): number {
    return ((this.state?.size ?? 0) + (this.keys?.size ?? 0) + (this.values?.size ?? 0)) * 4;
  }
  dispose(): void {
    tf.dispose([this.state, this.keys, this.values].filter((t): t is Tensor => t !== undefined));
  }
}

/** Additive sliding-window mask [N, P + N] for a block whose first query sits after P cached keys. */
export function slidingWindowMask(N: number, P: number, W: number): Tensor {
  const K = P + N;
  const values = new Float32Array(N * K);
  for (let i = 0; i < N; i++) {
    const p = P + i; // the query's index among the keys
    for (let j = 0; j < K; j++) values[i * K + j] = j <= p && j > p - W ? 0 : -1e30;
  }
  return tf.tensor2d(values, [N, K]);
}

/** One gate (§3 "gate type"): combines the old state c with the candidate z, driven by the hidden h. */
class StateGate extends Module {
  readonly bias?: tf.Variable;
  readonly inputGate?: Linear;
  readonly forgetGate?: Linear;

  constructor(readonly type: GateType, hiddenWidth: number, D: number, rng: Rng) {
    super();
    if (type === 'fixed') this.bias = this.addParameter('bias', [D], init.normal(0.1), rng.fork('bias')); // b_g
    else {
      this.inputGate = this.addModule('input', new Linear(hiddenWidth, D, rng.fork('input'))); // W_i, b_i
      this.forgetGate = this.addModule('forget', new Linear(hiddenWidth, D, rng.fork('forget'))); // W_f, b_f
    }
  }

  /** c [B, S, D], z [B, S, D], h [B, S, hidden] -> c_{t+1} [B, S, D]. */
  apply(c: Tensor, z: Tensor, h: Tensor): Tensor {
    return tf.tidy(() => {
      if (this.type === 'fixed') {
        const g = tf.sigmoid(this.bias!); // g = σ(b_g)  [D]
        return tf.add(tf.mul(c, g), tf.mul(z, tf.sub(1, g)));
      }
      const i = tf.sigmoid(tf.sub(this.inputGate!.forward(h), 1)); // i_t = σ(W_i h + b_i − 1)
      const f = tf.sigmoid(tf.add(this.forgetGate!.forward(h), 1)); // f_t = σ(W_f h + b_f + 1)
      return tf.add(tf.mul(c, f), tf.mul(z, i));
    });
  }
}

export class BlockRecurrentMixer extends Module implements SequenceMixer {
  readonly heads: number;
  readonly headDim: number;
  // vertical direction (tokens)
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wq2?: Linear;
  readonly wo: Linear;
  // horizontal direction (state)
  readonly stateInit?: tf.Variable;
  readonly stateIds?: tf.Variable;
  readonly stateNorm?: RMSNorm;
  readonly sq?: Linear;
  readonly sk?: Linear;
  readonly sv?: Linear;
  readonly sq2?: Linear;
  readonly proj?: Linear;
  readonly gate1?: StateGate;
  readonly ffnNorm?: RMSNorm;
  readonly ffnIn?: Linear;
  readonly ffnOut?: Linear;
  readonly gate2?: StateGate;

  constructor(
    readonly config: BlockRecurrentConfig,
    dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim'>,
    rng: Rng,
  ) {
    super();
    const { dModel: D, heads: H, headDim: Dh } = dims;
    const { stateSize: S, configuration, ffnHidden: F } = config;
    this.heads = H;
    this.headDim = Dh;
    const lin = (name: string, i: number, o: number, bias = false) => this.addModule(name, new Linear(i, o, rng.fork(name), { bias }));
    this.wq = lin('q_proj', D, H * Dh);
    this.wk = lin('k_proj', D, H * Dh);
    this.wv = lin('v_proj', D, H * Dh);
    if (S > 0) this.wq2 = lin('q2_proj', D, H * Dh);
    this.wo = lin('o_proj', (S > 0 ? 2 : 1) * H * Dh, D);
    if (S === 0) return;
    this.stateInit = this.addParameter('state_init', [S, D], init.normal(0.1), rng.fork('state_init'));
    this.stateIds = this.addParameter('state_ids', [S, D], init.normal(1), rng.fork('state_ids'));
    this.stateNorm = this.addModule('state_norm', new RMSNorm(D, rng.fork('state_norm')));
    this.sq = lin('state_q_proj', D, H * Dh);
    this.sk = lin('state_k_proj', D, H * Dh);
    this.sv = lin('state_v_proj', D, H * Dh);
    this.sq2 = lin('state_q2_proj', D, H * Dh);
    const A = 2 * H * Dh; // width of h_t
    if (configuration === 'single') {
      this.ffnIn = lin('state_ffn_in', A, F, true);
      this.ffnOut = lin('state_ffn_out', F, D, true);
      this.gate1 = this.addModule('state_gate', new StateGate(config.gate, F, D, rng.fork('state_gate')));
      return;
    }
    this.proj = lin('state_proj', A, D, true); // W_z, b_z
    this.gate1 = this.addModule('state_gate', new StateGate(config.gate, A, D, rng.fork('state_gate')));
    if (configuration === 'dual') {
      this.ffnNorm = this.addModule('state_ffn_norm', new RMSNorm(D, rng.fork('state_ffn_norm')));
      this.ffnIn = lin('state_ffn_in', D, F, true);
      this.ffnOut = lin('state_ffn_out', F, D, true);
      this.gate2 = this.addModule('state_ffn_gate', new StateGate(config.gate, F, D, rng.fork('state_ffn_gate')));
    }
  }

  private attend(q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): Tensor {
    return tf.tidy(() => {
      let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(this.headDim)); // [B, H, Lq, Lk]
      if (mask) scores = tf.add(scores, mask);
      return tf.matMul(tf.softmax(scores, -1), v); // [B, H, Lq, Dh]
    });
  }

  /** The state update for one block (§3 "recurrent cell", "gate type"): c_τ [B, S, D] -> c_{τ+1} [B, S, D]. */
  private updateState(c: Tensor, sk: Tensor, sv: Tensor, sq: Tensor, sq2: Tensor, k: Tensor, v: Tensor): Tensor {
    return tf.tidy(() => {
      const self = this.attend(sq, sk, sv); // state self-attention [B, H, S, Dh]
      const cross = this.attend(sq2, k, v); // state → block tokens [B, H, S, Dh]
      const h = tf.concat([mergeHeads(self), mergeHeads(cross)], -1); // h_t [B, S, 2·H·Dh]
      if (this.config.configuration === 'single') {
        const u = tf.relu(this.ffnIn!.forward(h)); // [B, S, F]
        return this.gate1!.apply(c, tf.tanh(this.ffnOut!.forward(u)), u);
      }
      const c1 = this.gate1!.apply(c, this.proj!.forward(h), h); // z_t = W_z h_t + b_z
      if (this.config.configuration === 'skip') return c1;
      const u = tf.relu(this.ffnIn!.forward(this.ffnNorm!.forward(c1))); // [B, S, F]
      return this.gate2!.apply(c1, this.ffnOut!.forward(u), u);
    });
  }

  /**
   * New tokens [B, L, D] in blocks of W, continuing `prev`: outputs [B, L, D], the next state,
   * the window's last ≤ W keys/values and the number of tokens of the unfinished block.
   * Blocks are aligned with the start of the sequence: the block under way began `pending`
   * tokens before x. A block updates the state when it is complete, or at the end of x when
   * `flush` (the end of a segment). Nothing is detached here.
   */
  private run(x: Tensor, prev: BlockRecurrentState, flush: boolean): [Tensor, Tensor | undefined, Tensor, Tensor, number] {
    return tf.tidy(() => {
      const H = this.heads;
      const { blockLength: W, stateSize: S } = this.config;
      const [B, L] = x.shape as [number, number, number];
      const q = splitHeads(this.wq.forward(x), H); // [B, H, L, Dh]
      const q2 = S > 0 ? splitHeads(this.wq2!.forward(x), H) : undefined; // [B, H, L, Dh]
      const kNew = splitHeads(this.wk.forward(x), H); // [B, H, L, Dh]
      const vNew = splitHeads(this.wv.forward(x), H); // [B, H, L, Dh]
      const P = prev.keys ? (prev.keys.shape as number[])[2] : 0;
      const kAll = prev.keys ? tf.concat([prev.keys, kNew], 2) : kNew; // [B, H, P + L, Dh]; new tokens at P..P+L−1
      const vAll = prev.values ? tf.concat([prev.values, vNew], 2) : vNew; // [B, H, P + L, Dh]
      let c = S > 0 ? (prev.state ?? tf.tile(tf.expandDims(this.stateInit!, 0), [B, 1, 1])) : undefined; // c_τ [B, S, D]
      const outputs: Tensor[] = [];
      let blockStart = P - prev.pending; // index in kAll of the current block's first token
      for (let pos = P; pos < P + L; ) {
        const blockEnd = blockStart + W;
        const end = Math.min(blockEnd, P + L);
        const N = end - pos; // queries of this block among the new tokens
        const first = Math.max(0, pos - (W - 1)); // oldest key any of these queries sees
        const Kb = end - first;
        const qb = tf.slice(q, [0, 0, pos - P, 0], [-1, -1, N, -1]); // [B, H, N, Dh]
        const kb = tf.slice(kAll, [0, 0, first, 0], [-1, -1, Kb, -1]); // [B, H, Kb, Dh]
        const vb = tf.slice(vAll, [0, 0, first, 0], [-1, -1, Kb, -1]); // [B, H, Kb, Dh]
        const selfOut = this.attend(qb, kb, vb, slidingWindowMask(N, Kb - N, W)); // [B, H, N, Dh]
        const complete = end === blockEnd || flush;
        if (!c) outputs.push(mergeHeads(selfOut)); // [B, N, H·Dh]
        else {
          const sn = tf.add(this.stateNorm!.forward(c), this.stateIds!); // RMSNorm(c_τ) + state IDs [B, S, D]
          const sk = splitHeads(this.sk!.forward(sn), H); // K_s [B, H, S, Dh]
          const sv = splitHeads(this.sv!.forward(sn), H); // V_s [B, H, S, Dh]
          const crossOut = this.attend(tf.slice(q2!, [0, 0, pos - P, 0], [-1, -1, N, -1]), sk, sv); // tokens → c_τ [B, H, N, Dh]
          outputs.push(tf.concat([mergeHeads(selfOut), mergeHeads(crossOut)], -1)); // [B, N, 2·H·Dh]
          if (complete) {
            const sq = splitHeads(this.sq!.forward(sn), H); // Q_s [B, H, S, Dh]
            const sq2 = splitHeads(this.sq2!.forward(sn), H); // Q_s₂ [B, H, S, Dh]
            const kc = tf.slice(kAll, [0, 0, blockStart, 0], [-1, -1, end - blockStart, -1]); // block τ's keys [B, H, ≤ W, Dh]
            const vc = tf.slice(vAll, [0, 0, blockStart, 0], [-1, -1, end - blockStart, -1]); // [B, H, ≤ W, Dh]
            c = this.updateState(c, sk, sv, sq, sq2, kc, vc); // c_{τ+1}
          }
        }
        if (complete) blockStart = end;
        pos = end;
      }
      const y = this.wo.forward(outputs.length === 1 ? outputs[0] : tf.concat(outputs, 1)); // [B, L, D]
      const total = P + L;
      const keep = Math.min(W, total);
      const nextK = tf.slice(kAll, [0, 0, total - keep, 0], [-1, -1, keep, -1]); // [B, H, ≤ W, Dh]
      const nextV = tf.slice(vAll, [0, 0, total - keep, 0], [-1, -1, keep, -1]); // [B, H, ≤ W, Dh]
      return [y, c, nextK, nextV, total - blockStart] as [Tensor, Tensor | undefined, Tensor, Tensor, number];
    });
  }

  /** The whole input as one segment from the initial state c_0 and an empty window. */
  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    const [y, c, k, v] = this.run(x, new BlockRecurrentState(undefined, undefined, undefined), true);
    tf.dispose([c, k, v].filter((t): t is Tensor => t !== undefined));
    return y;
  }

  initState(_batch: number): LayerState {
    return new BlockRecurrentState(undefined, undefined, undefined);
  }

  /**
   * One segment given the carried state (consumed); its last, possibly shorter block updates
   * the state. Gradients flow through the state between the blocks of this segment; the state
   * and window handed to the next segment are detached (truncated back-propagation through time, as the reference code caches the state between training steps).
   */
  forwardSegment(x: Tensor, state: LayerState, _ctx: ForwardContext): [Tensor, LayerState] {
    const s = state as BlockRecurrentState;
    const [y, c, k, v] = this.run(x, s, true);
    s.dispose();
    const next = new BlockRecurrentState(c && detached(c), detached(k), detached(v));
    tf.dispose([c, k, v].filter((t): t is Tensor => t !== undefined));
    return [y, next];
  }

  /**
   * Decoding: T new tokens continue the sequence (the state is consumed). Tokens of an
   * unfinished block read the state of its start; the state advances when the block's W-th
   * token arrives, exactly as in `forward` over the whole sequence.
   */
  step(x: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const s = state as BlockRecurrentState;
    const [y, c, k, v, pending] = this.run(x, s, false);
    const same = c === s.state;
    if (!same) s.state?.dispose();
    tf.dispose([s.keys, s.values].filter((t): t is Tensor => t !== undefined));
    return [y, new BlockRecurrentState(c && (same ? c : tf.keep(c)), tf.keep(k), tf.keep(v), pending)];
  }
}

/** A stop-gradient copy that survives an enclosing tf.tidy: fresh values outside the tape. */
function detached(x: Tensor): Tensor {
  return tf.keep(tf.tensor(x.dataSync(), x.shape, 'float32'));
}
