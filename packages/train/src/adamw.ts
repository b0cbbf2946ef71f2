/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", arXiv:1711.05101)
 * with PyTorch's `torch.optim.AdamW` semantics. For a parameter θ with gradient g at step t:
 *
 *   θ ← θ − lr·λ·θ                      decoupled weight decay (only where `decay` says so)
 *   m ← β1·m + (1 − β1)·g               first moment  (PyTorch: exp_avg)
 *   v ← β2·v + (1 − β2)·g²              second moment (PyTorch: exp_avg_sq)
 *   θ ← θ − lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + ε)
 *
 * The moments live in non-trainable variables created up front, so the tensor count is the
 * same before and after every step, and `state()` / `loadState()` expose them by name for
 * checkpoints: `m.<param>`, `v.<param>` and the scalar `step`.
 */
import { CheckpointError, ConfigError, describeValue, Module, tf } from '@weft/core';
import type { Tensor, Variable } from '@weft/core';

export interface AdamWOptions {
  /** Learning rate used when `step()` is not given one (default 1e-3, as in PyTorch). */
  lr?: number;
  /** (β1, β2), default (0.9, 0.999). */
  betas?: readonly [number, number];
  /** ε added to the denominator, default 1e-8. */
  eps?: number;
  /** λ, the decoupled weight decay, default 0.01. */
  weightDecay?: number;
  /**
   * Which parameters are decayed. Default: parameters with two or more dimensions (weight
   * matrices and embeddings); 1-D parameters (biases, norm gains) are not.
   */
  decay?: (name: string, param: Variable) => boolean;
}

/** Default `decay` predicate: matrices yes, vectors (biases, norm scales) no. */
export function decayMatrices(_name: string, param: Variable): boolean {
  return param.rank >= 2;
}

interface ParamSlot {
  name: string;
  param: Variable;
  m: Variable;
  v: Variable;
  decay: boolean;
}

function checkOption(name: string, value: number, ok: boolean, fix: string): void {
  if (!ok) throw new ConfigError(`adamw.${name}`, `got ${describeValue(value)}; ${fix}`);
}

export class AdamW {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly slots: ParamSlot[];
  private t = 0;

  /** Optimise a module's trainable parameters, or an explicit list of named variables. */
  constructor(params: Module | Array<[string, Variable]>, options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    checkOption(
      'lr',
      this.lr,
      Number.isFinite(this.lr) && this.lr >= 0,
      'use a non-negative learning rate such as 1e-3',
    );
    for (const i of [0, 1]) {
      const b = this.betas[i];
      checkOption(
        `betas[${i}]`,
        b,
        Number.isFinite(b) && b >= 0 && b < 1,
        'each beta must be in [0, 1), e.g. betas: [0.9, 0.999]',
      );
    }
    checkOption(
      'eps',
      this.eps,
      Number.isFinite(this.eps) && this.eps > 0,
      'use a small positive number such as 1e-8',
    );
    checkOption(
      'weightDecay',
      this.weightDecay,
      Number.isFinite(this.weightDecay) && this.weightDecay >= 0,
      'use 0 (off) or a small positive number such as 0.01',
    );

    const named = Module.isModule(params)
      ? params.namedParameters().filter(([, p]) => p.trainable)
      : params;
    const decay = options.decay ?? decayMatrices;
    this.slots = named.map(([name, param]) => ({
      name,
      param,
      m: tf.tidy(() => tf.variable(tf.zerosLike(param), false)),
      v: tf.tidy(() => tf.variable(tf.zerosLike(param), false)),
      decay: decay(name, param),
    }));
  }

  /** Number of updates applied so far (t in the bias corrections). */
  get stepCount(): number {
    return this.t;
  }

  /** Names of the parameters that receive weight decay. */
  decayedParameters(): string[] {
    return this.slots.filter((s) => s.decay).map((s) => s.name);
  }

  /**
   * Apply one update. `grads` maps parameter names to gradients; a parameter without a
   * gradient is left alone (as PyTorch skips parameters whose `.grad` is None).
   */
  step(grads: Record<string, Tensor>, lr: number = this.lr): void {
    this.t += 1;
    const [beta1, beta2] = this.betas;
    const biasCorrection1 = 1 - beta1 ** this.t;
    const biasCorrection2 = 1 - beta2 ** this.t;
    const stepSize = lr / biasCorrection1;
    const sqrtBiasCorrection2 = Math.sqrt(biasCorrection2);
    tf.tidy(() => {
      for (const s of this.slots) {
        const g = grads[s.name];
        if (!g) continue;
        const m = tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const decayed =
          s.decay && this.weightDecay > 0 ? tf.mul(s.param, 1 - lr * this.weightDecay) : s.param;
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBiasCorrection2), this.eps);
        s.param.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
        s.m.assign(m);
        s.v.assign(v);
      }
    });
  }

  /**
   * The optimizer state as named tensors: `m.<param>`, `v.<param>` and `step` (int32
   * scalar). The tensors are new handles (no data is copied) owned by the caller: dispose them.
   */
  state(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { step: tf.scalar(this.t, 'int32') };
    for (const s of this.slots) {
      out[`m.${s.name}`] = tf.clone(s.m);
      out[`v.${s.name}`] = tf.clone(s.v);
    }
    return out;
  }

  /**
   * Restore a state saved by `state()`. Every name and shape is checked before anything is
   * assigned, so a mismatched state leaves the optimizer untouched. The caller keeps
   * ownership of `state`.
   */
  loadState(state: Record<string, Tensor>): void {
    const expected = new Map<string, number[]>([['step', []]]);
    for (const s of this.slots) {
      expected.set(`m.${s.name}`, s.param.shape);
      expected.set(`v.${s.name}`, s.param.shape);
    }
    const missing = [...expected.keys()].filter((n) => !(n in state));
    const unexpected = Object.keys(state).filter((n) => !expected.has(n));
    if (missing.length || unexpected.length) {
      throw new CheckpointError(
        `Optimizer state does not match the parameters being trained: missing [${missing.slice(0, 6).join(', ')}], ` +
          `unexpected [${unexpected.slice(0, 6).join(', ')}]. It was saved for a different model or a different set of trainable parameters.`,
      );
    }
    for (const [name, shape] of expected) {
      if (state[name].shape.join(',') !== shape.join(',')) {
        throw new CheckpointError(
          `Optimizer state "${name}" has shape [${state[name].shape}] but the parameter has shape [${shape}]`,
        );
      }
    }
    const step = state.step.dataSync()[0];
    if (!Number.isInteger(step) || step < 0)
      throw new CheckpointError(
        `Optimizer state "step" must be a non-negative integer, got ${step}`,
      );
    tf.tidy(() => {
      for (const s of this.slots) {
        s.m.assign(tf.cast(state[`m.${s.name}`], 'float32'));
        s.v.assign(tf.cast(state[`v.${s.name}`], 'float32'));
      }
    });
    this.t = step;
  }

  /** Free the moment variables. */
  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.length = 0;
  }
}
