/**
 * Options of the feedforward kind "moe", with the names of the papers' reference code
 * (Hugging Face SwitchTransformers / Mixtral) where they have one.
 */
import { z } from '@weft/core';

export const MoeOptions = z
  .object({
    /** E: number of experts (Switch `num_experts`, Mixtral `num_local_experts`). */
    experts: z.number({ error: 'experts must be an integer ≥ 1, e.g. 8' }).int({ error: 'experts must be an integer, e.g. 8' }).min(1, { error: 'experts must be ≥ 1 (1 is a dense MLP)' }).default(8),
    /** k: experts each token is sent to (Switch: 1; Mixtral `num_experts_per_tok`: 2). */
    topK: z.number({ error: 'topK must be an integer ≥ 1, e.g. 1 (Switch) or 2 (Mixtral)' }).int({ error: 'topK must be an integer, e.g. 2' }).min(1, { error: 'topK must be ≥ 1 (1 = Switch, 2 = Mixtral)' }).default(1),
    /**
     * Switch capacity factor: each expert takes at most ceil(capacityFactor · L / E) tokens of
     * a sequence (in sequence order); overflow tokens are dropped. null = no capacity (Mixtral).
     */
    capacityFactor: z.union([z.number().positive({ error: 'capacityFactor must be > 0 (Switch uses 1.0–1.25) or null for no capacity' }), z.null()]).default(null),
    /**
     * Renormalise the k selected router probabilities to sum to 1 (Mixtral). Default: true
     * when topK > 1, false for top-1 (Switch: the gate is the router probability itself).
     */
    renormalize: z.boolean({ error: 'renormalize must be true or false' }).optional(),
    /** Expert hidden width = round(mult · D). */
    mult: z.number({ error: 'mult must be a positive number, e.g. 4' }).positive({ error: 'mult must be > 0 (expert hidden width = mult · dModel)' }).default(4),
    /** Expert activation; "swiglu" is Mixtral's expert W2 (silu(W1 x) ⊙ W3 x). */
    activation: z.enum(['gelu', 'relu', 'silu', 'swiglu'], { error: 'activation must be one of gelu, relu, silu, swiglu' }).default('gelu'),
    /** Biases in the expert projections (Switch/T5 and Mixtral have none). */
    bias: z.boolean({ error: 'bias must be true or false' }).default(false),
    /**
     * Switch router jitter ε (HF `router_jitter_noise`): while training, the router input is
     * multiplied by U(1-ε, 1+ε) drawn from the forward's seeded rng. 0 = off.
     */
    routerJitter: z.number({ error: 'routerJitter must be a number in [0, 1), e.g. 0.01' }).min(0, { error: 'routerJitter must be ≥ 0' }).lt(1, { error: 'routerJitter must be < 1' }).default(0),
    /** α of the load-balancing loss (Switch §2.2 uses 0.01; HF `router_aux_loss_coef`). */
    auxLossWeight: z.number({ error: 'auxLossWeight must be a number ≥ 0, e.g. 0.01' }).min(0, { error: 'auxLossWeight must be ≥ 0 (0 turns the balance loss off)' }).default(0.01),
    /** Weight of the router z-loss (ST-MoE uses 0.001; HF `router_z_loss_coef`). */
    zLossWeight: z.number({ error: 'zLossWeight must be a number ≥ 0, e.g. 0.001' }).min(0, { error: 'zLossWeight must be ≥ 0 (0 turns the z-loss off)' }).default(0.001),
  })
  .superRefine((o, ctx) => {
    if (o.topK > o.experts) {
      ctx.addIssue({
        code: 'custom',
        path: ['topK'],
        input: o.topK,
        message: `topK (${o.topK}) cannot exceed experts (${o.experts}): each token picks topK distinct experts. Lower topK or raise experts`,
      });
    }
    if (o.renormalize === true && o.topK === 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['renormalize'],
        input: o.renormalize,
        message: 'renormalize with topK 1 makes every gate 1, so the router gets no gradient. Leave renormalize unset (Switch uses the raw router probability) or use topK ≥ 2',
      });
    }
  });
export type MoeOptions = z.output<typeof MoeOptions>;
