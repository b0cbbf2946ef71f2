/**
 * Gradients for a learned logit bias (T5 buckets, FIRE's MLP, learned ALiBi slopes) through
 * the flash kernel, without an L×L tensor.
 *
 * The bias reaches the kernel as a function of a tile, `logitBias(qRange, kRange)` → b_ij
 * [Bb, Hb, B_r, B_c], whose parameters θ (tf.Variables) are hidden in its closure. Since
 * S_ij = scale·Q_i K_jᵀ + b_ij + mask_ij, the logit gradient dS_ij = P_ij ∘ (dP_ij − D_i)
 * that the tiled backward already forms (FA2 Algorithm 2, line 14) is also ∂loss/∂b_ij, so
 *
 *   ∂loss/∂θ = Σ_{tiles ij} J_θ(b_ij)ᵀ dS_ij = Σ_ij ∂/∂θ ⟨b_ij(θ), dS_ij⟩      (dS_ij held constant)
 *
 * one vector–Jacobian product per tile, on a tape of its own (a B_r × B_c bias tile and dS_ij;
 * tfjs reduces dS_ij over the axes b_ij broadcasts on). The parameters are found once per
 * forward call by taping the first tile's bias (`probeBias`) and keeping the trainable
 * variables among its inputs; they become extra inputs of the kernel's custom gradient,
 * which returns ∂loss/∂θ for them.
 *
 * Notation: θ the bias parameters (tf.Variable), b_ij / dS_ij / P_ij the bias / logit-gradient
 * / probability tile (query tile i, key tile j), D_i = rowsum(dO_i ∘ O_i).
 *
 * Limitation: only variables are found. A bias computed from other tensors that need a
 * gradient (a content-dependent bias built from the layer input x) still gets none through
 * this kernel; the LogitBias type (a bare function) cannot say what it depends on.
 */
import { tf, withOwnTape, type LogitBias, type Tensor } from '@weft/core';
import { tileRange, type FlashPlan } from './plan.js';

/** `engine.gradients(f, xs)` on a private tape (see withOwnTape); null where xs[n] is unreached. */
function isolatedGradients(f: () => Tensor, xs: tf.Variable[]): { value: Tensor; grads: (Tensor | null)[] } {
  return withOwnTape(() => {
    const { value, grads } = tf.engine().gradients(f, xs, undefined, true);
    return { value, grads: grads as (Tensor | null)[] };
  });
}

/** What the logit bias reads, found by taping one tile (see `probeBias`). */
export interface BiasProbe {
  /** Trainable variables among the bias's inputs: they receive ∂loss/∂θ. */
  vars: tf.Variable[];
  /** The other tensors it reads (positions, the layer input, constants): kept alive for the backward. */
  inputs: Tensor[];
}

const NO_PROBE: BiasProbe = { vars: [], inputs: [] };

/**
 * Tapes the bias of the first tile and returns the tensors it reads from outside (the leaves
 * of that small graph). Done only while a gradient is being recorded (the only case with a
 * backward pass); otherwise, or without a bias, returns no tensors and costs nothing.
 *
 * Why the non-variable inputs matter: the backward evaluates the bias again, tile by tile,
 * after the model's forward has ended, and a model frees tensors such as the positions the
 * bias closure slices when its forward scope closes. `keepAlive` holds their data until the
 * kernel's backward is done.
 */
export function probeBias(plan: FlashPlan): BiasProbe {
  const bias = plan.logitBias;
  if (!bias || !tf.engine().isTapeOn()) return NO_PROBE;
  const { qa, qe, ka, ke } = tileRange(plan, 0, 0);
  const nodes = withOwnTape((state) => {
    state.activeTape = [];
    state.gradientDepth = 1; // record
    tf.tidy(() => {
      bias({ start: qa, end: qe }, { start: ka, end: ke });
    });
    return state.activeTape;
  });
  const produced = new Set<number>();
  for (const node of nodes) for (const t of node.outputs) produced.add(t.id);
  const leaves = new Map<number, Tensor>();
  for (const node of nodes) for (const t of Object.values(node.inputs)) if (t && !produced.has(t.id)) leaves.set(t.id, t);
  for (const node of nodes) for (const t of node.saved ?? []) t.dispose(); // what the probe's tape kept for a backward
  const all = [...leaves.values()];
  return {
    vars: all.filter((t): t is tf.Variable => t instanceof tf.Variable && t.trainable),
    inputs: all.filter((t) => !(t instanceof tf.Variable) && !t.isDisposed),
  };
}

/**
 * Keeps the data of `tensors` alive until the returned release() runs: each gets a reshaped
 * alias (tfjs shares the data buffer and counts references on every backend), kept out of
 * the caller's tidy scopes. The original tensor objects may be disposed meanwhile; the bias
 * closure still reads them, which tfjs permits as long as their data exists.
 */
export function keepAlive(tensors: Tensor[]): () => void {
  const aliases = tensors.map((t) => tf.keep(tf.reshape(t, t.shape)));
  return () => tf.dispose(aliases);
}

/** Accumulates ∂loss/∂θ over tiles: `add(i, j, dS_ij)`, then `result()` (one tensor per θ). */
export class BiasGradAccumulator {
  private readonly sums: (Tensor | null)[];

  constructor(
    private readonly plan: FlashPlan,
    private readonly bias: LogitBias,
    readonly vars: tf.Variable[],
  ) {
    this.sums = vars.map(() => null);
  }

  /** Adds J_θ(b_ij)ᵀ dS_ij for tile (i, j); dS [B, H, B_r, B_c] is not disposed. */
  add(i: number, j: number, dS: Tensor): void {
    const { qa, qe, ka, ke } = tileRange(this.plan, i, j);
    const { value, grads } = isolatedGradients(() => tf.sum(tf.mul(this.bias({ start: qa, end: qe }, { start: ka, end: ke }), dS)), this.vars);
    value.dispose();
    grads.forEach((g, n) => {
      if (!g) return;
      const old = this.sums[n];
      this.sums[n] = old ? tf.add(old, g) : g;
      if (old) tf.dispose([old, g]);
    });
  }

  /** ∂loss/∂θ for each variable (zeros where no computed tile reached it). */
  result(): Tensor[] {
    return this.sums.map((s, n) => s ?? tf.zerosLike(this.vars[n]));
  }
}
