/**
 * Reversible residual blocks — Reformer (Kitaev et al. 2020, arXiv 2001.04451) §3, after RevNet
 * (Gomez et al. 2017). The model config's `residual: "reversible"` runs the block stack as
 *
 *   x1 = x2 = h                                  the embeddings, duplicated (Reformer: "Dup")
 *   y1 = x1 + F(x2),   y2 = x2 + G(y1)           §3; F = mixer branch, G = feed-forward branch
 *   out = (y1 + y2) / 2                          Weft: back to width D for the final norm and head
 *
 * and the backward pass recomputes each block's inputs from its outputs instead of storing them:
 *
 *   x2 = y2 − G(y1),   x1 = y1 − F(x2)
 *   dz1 = dy1 + (∂G/∂y1)ᵀ dy2,    dθ_G += (∂G/∂θ_G)ᵀ dy2
 *   dx2 = dy2 + (∂F/∂x2)ᵀ dz1,    dθ_F += (∂F/∂θ_F)ᵀ dz1,    dx1 = dz1
 *
 * Notation: F(x) = dropout(mixer(norm1(x))), G(x) = dropout(ffn(norm2(x))) (G = 0 for a layer
 * without a feed-forward); θ_F, θ_G their parameters; dy1, dy2 the gradients reaching a block's
 * outputs; B batch, L length, D model width.
 *
 * The whole stack is ONE tf.customGrad node: its forward keeps only the current (x1, x2) pair and
 * the final (y1, y2), so the activations kept for the backward pass do not grow with depth; the
 * backward walks the blocks in reverse, recomputing one block at a time with a local tape.
 *
 * Exact recomputation needs the same randomness: every block's F and G get their own Rng, seeded
 * from the forward's rng before the stack runs, both in the forward and in the recomputation
 * (dropout masks, LSH rotations, ...). Not supported, refused with a StateError when it happens:
 * layers sharing tensors through the forward scratch (cross-layer K/V or value sharing) and
 * auxiliary losses (their gradients would bypass the recomputation). The builder refuses the
 * configurations with no reversible form (post-norm, reducers, segments, encoder-decoder).
 */
import { Rng, StateError, tf, type AuxLosses, type ForwardContext, type LayerState, type ModuleList, type StepContext, type Tensor } from '@weft/core';
import type { TransformerBlock } from './block.js';

type GradSaveFunc = (tensors: Tensor[]) => void;

const FIX = 'or set "residual": "standard"';

/**
 * A layer's view of the forward scratch: reads what the caller put there (e.g. an attention
 * recorder), refuses writes (cross-layer sharing would bypass the recomputed gradients).
 */
class LayerScratch extends Map<string, unknown> {
  private sealed = false;

  constructor(
    entries: Iterable<[string, unknown]>,
    private readonly layer: number,
  ) {
    super();
    for (const [key, value] of entries) super.set(key, value);
    this.sealed = true;
  }

  override set(key: string, value: unknown): this {
    if (!this.sealed) return super.set(key, value);
    throw new StateError(
      `Layer ${this.layer} shares "${key}" with later layers through the forward scratch (cross-layer K/V or value sharing), but with "residual": "reversible" each layer is recomputed on its own in the backward pass, so the sharing would get no gradient. Use layers that do not share tensors, ${FIX}.`,
    );
  }
}

function refuseAuxLosses(layer: number): AuxLosses {
  return {
    add(name: string) {
      throw new StateError(
        `Layer ${layer} adds the auxiliary loss "${name}", but with "residual": "reversible" activations are recomputed in the backward pass and the loss's gradient cannot reach the layer. Use a mixer/feed-forward without auxiliary losses (e.g. no MoE balance loss), ${FIX}.`,
      );
    },
  };
}

/**
 * f's value and its vector-Jacobian products with `dy` for each of `xs` (undefined where f does not
 * depend on it), run from inside another gradient's backward pass. tfjs 4.22's
 * engine.gradients() sets the engine's active tape to null when it ends — the tape of the
 * backward pass we are inside of, which still has to dispose its saved tensors — so keep it.
 */
function vjp(f: () => Tensor, xs: Tensor[], dy: Tensor): { value: Tensor; grads: Array<Tensor | undefined> } {
  const engine = tf.engine();
  const state = engine.state as unknown as { activeTape: unknown };
  const outer = state.activeTape;
  try {
    const { value, grads } = engine.gradients(f, xs, dy, true);
    return { value, grads: grads as Array<Tensor | undefined> };
  } finally {
    state.activeTape = outer;
  }
}

function uniqueById<T extends Tensor>(tensors: T[]): T[] {
  const seen = new Set<number>();
  return tensors.filter((t) => !seen.has(t.id) && Boolean(seen.add(t.id)));
}

/**
 * Run `blocks` as reversible residual blocks on x [B, L, D] -> [B, L, D]. `shared`: trainable
 * parameters the blocks use without owning them (the model-level positional encoding's).
 */
export function runReversible(blocks: ModuleList<TransformerBlock>, x: Tensor, ctx: ForwardContext, shared: readonly tf.Variable[] = []): Tensor {
  const n = blocks.length;
  const seeds = Array.from({ length: n }, () => [ctx.rng.nextSeed(), ctx.rng.nextSeed()] as const);
  const emb = ctx.embeddings;
  const params = uniqueById([...blocks.trainableParameters(), ...shared]);
  // What the recomputation differentiates besides a branch's input; the embeddings first.
  const wrt: Tensor[] = [...(emb ? [emb] : []), ...params];
  const embIsInput = emb === x;

  const branchCtx = (i: number, branch: 0 | 1, recompute: boolean): ForwardContext => ({
    ...ctx,
    layerIndex: i,
    rng: new Rng(seeds[i][branch]),
    // The recomputation must not report attention weights a second time.
    scratch: new LayerScratch(recompute ? [] : ctx.scratch, i),
    auxLosses: ctx.auxLosses && refuseAuxLosses(i),
  });
  const F = (i: number, u: Tensor, recompute: boolean) => blocks.at(i).mixerBranch(u, branchCtx(i, 0, recompute));
  const G = (i: number, u: Tensor, recompute: boolean) => blocks.at(i).feedForwardBranch(u, branchCtx(i, 1, recompute));

  const backward = (dy: Tensor, saved: Tensor[]): Tensor[] => {
    let [y1, y2] = saved;
    let dy1 = tf.mul(dy, 0.5); // ∂out/∂y1 = ∂out/∂y2 = 1/2
    let dy2 = tf.mul(dy, 0.5);
    const acc: Array<Tensor | undefined> = wrt.map(() => undefined);
    const accumulate = (grads: Array<Tensor | undefined>) =>
      grads.forEach((g, t) => {
        if (!g) return;
        const old = acc[t];
        acc[t] = old ? tf.add(old, g) : g;
        if (old) tf.dispose([old, g]);
      });
    for (let i = n - 1; i >= 0; i--) {
      const previous = [y1, y2, dy1, dy2];
      let x2: Tensor, dz1: Tensor;
      if (blocks.at(i).feedforward) {
        const { value: g, grads } = vjp(() => G(i, y1, true)!, [y1, ...wrt], dy2);
        x2 = tf.sub(y2, g); // x2 = y2 − G(y1)
        dz1 = grads[0] ? tf.add(dy1, grads[0]) : tf.clone(dy1);
        tf.dispose([g, grads[0]].filter((t): t is Tensor => Boolean(t)));
        accumulate(grads.slice(1));
      } else {
        x2 = tf.clone(y2);
        dz1 = tf.clone(dy1);
      }
      const { value: f, grads } = vjp(() => F(i, x2, true), [x2, ...wrt], dz1);
      const x1 = tf.sub(y1, f); // x1 = y1 − F(x2)
      const dx2 = grads[0] ? tf.add(dy2, grads[0]) : tf.clone(dy2);
      tf.dispose([f, grads[0]].filter((t): t is Tensor => Boolean(t)));
      accumulate(grads.slice(1));
      tf.dispose(previous.filter((t) => !saved.includes(t)));
      [y1, y2, dy1, dy2] = [x1, x2, dz1, dx2];
    }
    // x1 = x2 = x: both streams' gradients reach the input.
    let dx = tf.add(dy1, dy2);
    tf.dispose([y1, y2, dy1, dy2]);
    const out: Tensor[] = [];
    let t0 = 0;
    if (emb) {
      t0 = 1;
      if (embIsInput) {
        if (acc[0]) dx = tf.add(dx, acc[0]);
      } else out.push(acc[0] ?? tf.zerosLike(emb));
    }
    params.forEach((p, t) => out.push(acc[t0 + t] ?? tf.zerosLike(p)));
    return [dx, ...out];
  };

  const stack = tf.customGrad(((...args: Array<Tensor | GradSaveFunc>) => {
    const save = args[args.length - 1] as GradSaveFunc;
    const input = args[0] as Tensor;
    let x1 = input;
    let x2 = input;
    for (let i = 0; i < n; i++) {
      const [y1, y2] = tf.tidy(() => {
        const y1 = tf.add(x1, F(i, x2, false)); // [B, L, D]
        const g = G(i, y1, false);
        return [y1, g ? tf.add(x2, g) : tf.clone(x2)];
      });
      if (x1 !== input) tf.dispose([x1, x2]);
      [x1, x2] = [y1, y2];
    }
    save([x1, x2]);
    return { value: tf.mul(tf.add(x1, x2), 0.5), gradFunc: (dy: Tensor, saved: Tensor[]) => backward(dy, saved) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return stack(x, ...(emb && !embIsInput ? [emb] : []), ...params);
}

/**
 * Decode T new tokens [B, T, D] through reversible blocks: the same equations, each mixer
 * stepping from its layer state. `states[i]` is consumed and `setState(i, next)` receives the next.
 */
export function stepReversible(
  blocks: ModuleList<TransformerBlock>,
  x: Tensor,
  states: readonly LayerState[],
  setState: (i: number, next: LayerState) => void,
  ctxFor: (i: number) => StepContext,
): Tensor {
  return tf.tidy(() => {
    let x1 = x;
    let x2 = x;
    for (let i = 0; i < blocks.length; i++) {
      const ctx = ctxFor(i);
      const [f, next] = blocks.at(i).mixerBranchStep(x2, states[i], ctx);
      setState(i, next);
      const y1 = tf.add(x1, f); // [B, T, D]
      const g = blocks.at(i).feedForwardBranch(y1, { ...ctx, causal: true, training: false });
      [x1, x2] = [y1, g ? tf.add(x2, g) : x2];
    }
    return tf.mul(tf.add(x1, x2), 0.5);
  });
}
