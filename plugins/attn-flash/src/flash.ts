/**
 * The `flash` attention kernel: exact softmax attention computed tile by tile with an
 * online softmax (FlashAttention, Dao et al. 2022; FlashAttention-2, Dao 2023), so no
 * Lq×Lk tensor exists in the forward or the backward pass.
 *
 *   O = softmax(scale · Q Kᵀ + bias + mask) V        Q [B, H, Lq, Dh], K [B, Hkv, Lk, Dh], V [B, Hkv, Lk, Dv]
 *   lse = logsumexp_j(scale · Q Kᵀ + bias + mask)    [B, H, Lq]
 *
 * The gradient is a `tf.customGrad` that recomputes the attention probabilities tile by
 * tile from Q, K, V and the saved lse (FA2 Algorithm 2). Gradients flow to q, k, v, to a
 * per-head scale tensor and to the trainable variables of a learned logit bias (bias-grad.ts:
 * per tile, ∂loss/∂b_ij = dS_ij, pulled back through the bias function).
 */
import { tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type Tensor } from '@weft/core';
import { BiasGradAccumulator, keepAlive, probeBias } from './bias-grad.js';
import { makePlan, type FlashPlan } from './plan.js';
import type { FlashOptions } from './options.js';
import { tiledBackward, tiledForward } from './tiled.js';
import { fusedFlashBackward, fusedFlashForward } from './kernels/wasm/FlashAttention.js';
import { webgpuFlashBackward, webgpuFlashForward, webgpuSupports } from './kernels/webgpu/FlashAttention.js';

export const FLASH_CAPABILITIES: AttentionCapabilities = Object.freeze({
  causal: true,
  bidirectional: true,
  bias: true,
  padding: true,
  segments: true,
  decode: true,
  weights: false,
});

interface Implementation {
  forward(plan: FlashPlan, q: Tensor, k: Tensor, v: Tensor): { out: Tensor; lse: Tensor };
  backward(plan: FlashPlan, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, dO: Tensor): { dq: Tensor; dk: Tensor; dv: Tensor; dscale?: Tensor };
}

type ImplementationName = 'tiled' | 'fused' | 'webgpu';

const IMPLEMENTATIONS: Record<ImplementationName, Implementation> = {
  tiled: { forward: tiledForward, backward: tiledBackward },
  fused: { forward: fusedFlashForward, backward: fusedFlashBackward },
  webgpu: { forward: webgpuFlashForward, backward: webgpuFlashBackward },
};

type Save = (tensors: Tensor[]) => void;

export class FlashAttention implements AttentionKernel {
  readonly supports = FLASH_CAPABILITIES;

  constructor(readonly options: FlashOptions) {}

  /**
   * The implementation `attend` uses on the current backend (for `plan`, when given: the
   * WebGPU kernels leave a per-head scale tensor, a logit bias and a block-sparse table to
   * the tiled implementation).
   */
  implementation(plan?: FlashPlan): ImplementationName {
    const choice = this.options.implementation;
    const backend = tf.getBackend();
    if (choice === 'webgpu') {
      if (backend !== 'webgpu') {
        throw new Error(`flash attention: implementation 'webgpu' needs the webgpu backend, but the backend is '${backend}'; call useBackend('webgpu') first or use implementation 'auto'.`);
      }
      return !plan || webgpuSupports(plan) ? 'webgpu' : 'tiled';
    }
    if (choice !== 'auto') return choice;
    if (backend === 'wasm') return 'fused';
    if (backend === 'webgpu' && (!plan || webgpuSupports(plan))) return 'webgpu';
    return 'tiled';
  }

  /**
   * softmax attention, [B, H, Lq, Dv]; differentiable in q, k, v, a per-head scale tensor and
   * the trainable variables of `ctx.logitBias` (found by `probeBias`, passed as extra inputs
   * of the custom gradient).
   */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const plan = makePlan(q, k, v, ctx, this.options);
    const impl = IMPLEMENTATIONS[this.implementation(plan)];
    const scaleInput = typeof plan.scale === 'number' ? [] : [plan.scale];
    const probe = probeBias(plan); // empty unless a gradient is recorded and there is a bias
    const biasVars = probe.vars;
    const release = keepAlive(probe.inputs); // the bias's positions etc., read again by the backward
    const op = tf.customGrad((...args: (Tensor | Save)[]) => {
      const save = args[args.length - 1] as Save;
      const [qq, kk, vv, ...rest] = args.slice(0, -1) as Tensor[];
      const { out, lse } = impl.forward(plan, qq, kk, vv);
      save([qq, kk, vv, out, lse, ...rest.slice(0, scaleInput.length)]); // the bias variables are read from the closure
      return {
        value: out,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [sq, sk, sv, so, slse] = saved;
          const sscale = scaleInput.length ? saved[5] : undefined;
          const p: FlashPlan = sscale ? { ...plan, scale: sscale } : plan;
          try {
            if (biasVars.length === 0) {
              const g = impl.backward(p, sq, sk, sv, so, slse, dy);
              return g.dscale ? [g.dq, g.dk, g.dv, g.dscale] : [g.dq, g.dk, g.dv];
            }
            // A learned bias needs dS per tile: the tiled backward provides it (on every
            // backend; the fused WASM kernel does not expose dS).
            const acc = new BiasGradAccumulator(p, plan.logitBias!, biasVars);
            const g = tiledBackward(p, sq, sk, sv, so, slse, dy, acc);
            return [g.dq, g.dk, g.dv, ...(g.dscale ? [g.dscale] : []), ...acc.result()];
          } finally {
            release();
          }
        },
      };
    });
    return op(q, k, v, ...scaleInput, ...biasVars);
  }

  /** Output and logsumexp lse [B, H, Lq] (+inf on fully masked rows), without a gradient. */
  attendWithLse(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): { out: Tensor; lse: Tensor } {
    const plan = makePlan(q, k, v, ctx, this.options);
    return IMPLEMENTATIONS[this.implementation(plan)].forward(plan, q, k, v);
  }
}
