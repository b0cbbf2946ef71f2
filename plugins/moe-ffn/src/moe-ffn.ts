/**
 * Routed mixture-of-experts feed-forward layer: Switch Transformer top-1 with expert capacity
 * (Fedus et al. 2021, arXiv:2101.03961) and Mixtral-style top-k (Jiang et al. 2024,
 * arXiv:2401.04088), with the load-balancing and router z-losses.
 *
 * Notation: B batch, L length, D width, N = B·L tokens, E experts, k = topK,
 *   W_r [D, E] router, FFN_e expert e, p [N, E] router probabilities.
 *
 *   z   = x W_r                         router logits (x jittered by U(1-ε, 1+ε) while training)
 *   p   = softmax(z)                    fp32, over all E experts          (Switch eq. 1)
 *   T_n = top-k of p_n                  (router.ts; capacity may drop choices)
 *   g_n,e = p_n,e                       Switch (top-1, not renormalised)  (Switch eq. 2)
 *   g_n,e = p_n,e / Σ_{e'∈T_n} p_n,e'   Mixtral (renormalised over the k chosen)
 *   y_n = Σ_{e ∈ T_n, kept} g_n,e · FFN_e(x_n)                              (Switch eq. 2)
 *
 * Sparse dispatch: every expert gathers only its own tokens, runs on them, and the gated
 * outputs are scattered back with a segment sum, so the FFN cost is k experts per token, not E.
 */
import { Module, tf, type FeedForward, type ForwardContext, type ModelDims, type Rng, type Tensor } from '@weft/core';
import { ExpertBank } from './expert.js';
import { loadBalancingLoss, routerZLoss } from './losses.js';
import type { MoeOptions } from './options.js';
import { routeTokens, type Routing } from './router.js';

/** Router output of one forward: logits/probabilities [N, E] (on the tape) and the routing. */
export interface RouterOutput {
  logits: Tensor;
  probs: Tensor;
  routing: Routing;
}

export class MoEFeedForward extends Module implements FeedForward {
  readonly experts: ExpertBank;
  readonly router: tf.Variable;
  readonly numExperts: number;
  readonly topK: number;
  readonly capacityFactor: number | null;
  readonly renormalize: boolean;
  readonly hidden: number;

  constructor(readonly options: MoeOptions, readonly dModel: number, rng: Rng, outStd = 0.02) {
    super();
    this.numExperts = options.experts;
    this.topK = options.topK;
    this.capacityFactor = options.capacityFactor;
    this.renormalize = options.renormalize ?? options.topK > 1;
    this.hidden = Math.max(1, Math.round(options.mult * dModel));
    // W_r [D, E], no bias (Switch "router", Mixtral "gate").
    this.router = this.addParameter('router', [dModel, this.numExperts], (s, r) => r.normalArray(s[0] * s[1], 0, 0.02), rng.fork('router'));
    this.experts = this.addModule('experts', new ExpertBank(this.numExperts, dModel, this.hidden, options.activation, options.bias, rng.fork('experts'), outStd));
  }

  /** The model-config constructor: dims from the model, residual-branch init like @weft/nn. */
  static fromDims(options: MoeOptions, dims: ModelDims, rng: Rng): MoEFeedForward {
    return new MoEFeedForward(options, dims.dModel, rng, 0.02 / Math.sqrt(2 * dims.layers));
  }

  /** Router logits and probabilities for x [B, L, D], and the routing they give. */
  route(x: Tensor, ctx: Pick<ForwardContext, 'training' | 'rng'>): RouterOutput {
    const [B, L, D] = x.shape as [number, number, number];
    const E = this.numExperts;
    const { logits, probs } = tf.tidy(() => {
      let xr = tf.reshape(x, [B * L, D]); // [N, D]
      if (ctx.training && this.options.routerJitter > 0) {
        const eps = this.options.routerJitter;
        xr = tf.mul(xr, ctx.rng.uniformTensor([B * L, D], 1 - eps, 1 + eps));
      }
      const z = tf.matMul(xr, this.router); // [N, E]
      return { logits: z, probs: tf.softmax(z) };
    });
    const routing = routeTokens(probs.dataSync(), B, L, E, this.topK, this.capacityFactor);
    return { logits, probs, routing };
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const [B, L, D] = x.shape as [number, number, number];
      const N = B * L;
      const E = this.numExperts;
      const k = this.topK;
      const { logits, probs, routing } = this.route(x, ctx);
      const xf = tf.reshape(x, [N, D]); // [N, D]
      const pFlat = tf.reshape(probs, [N * E]); // [N·E]
      // Σ_{e∈T_n} p_n,e for Mixtral's renormalisation (over the k chosen, before dropping).
      const chosen = Int32Array.from(routing.expert, (e, i) => Math.floor(i / k) * E + e);
      const denom = this.renormalize ? tf.sum(tf.reshape(tf.gather(pFlat, tf.tensor1d(chosen, 'int32')), [N, k]), 1) : undefined; // [N]

      // Dispatch lists: the tokens each expert keeps, in sequence order.
      const tokens: number[][] = Array.from({ length: E }, () => []);
      routing.expert.forEach((e, i) => {
        if (routing.kept[i]) tokens[e].push(Math.floor(i / k));
      });
      const outputs: Tensor[] = [];
      const segments: number[] = [];
      for (let e = 0; e < E; e++) {
        if (tokens[e].length === 0) continue;
        const idx = tf.tensor1d(tokens[e], 'int32'); // [M_e]
        let gate = tf.gather(pFlat, tf.tensor1d(tokens[e].map((n) => n * E + e), 'int32')); // [M_e]
        if (denom) gate = tf.div(gate, tf.gather(denom, idx));
        const ye = this.experts.forward(e, tf.gather(xf, idx)); // [M_e, D]
        outputs.push(tf.mul(ye, tf.expandDims(gate, 1)));
        segments.push(...tokens[e]);
      }
      const y = outputs.length ? tf.unsortedSegmentSum(tf.concat(outputs, 0), tf.tensor1d(segments, 'int32'), N) : tf.zeros([N, D]); // [N, D]

      if (ctx.auxLosses) {
        if (this.options.auxLossWeight > 0) ctx.auxLosses.add('moe.balance', loadBalancingLoss(probs, routing), this.options.auxLossWeight);
        if (this.options.zLossWeight > 0) ctx.auxLosses.add('moe.zloss', routerZLoss(logits), this.options.zLossWeight);
      }
      return tf.reshape(y, [B, L, D]);
    });
  }
}
