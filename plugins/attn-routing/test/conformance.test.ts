import { Rng } from '@weft/core';
import { attentionKernelConformance } from '@weft/core/testing';
import { RoutingAttention, RoutingOptions } from '@weft/attn-routing';

// Degenerate setting where routing attention is exact: one cluster (shared QK off, so keys are
// the given keys) and a local window covering the whole sequence.
attentionKernelConformance('routing (one cluster, window ≥ L)', () => new RoutingAttention(RoutingOptions.parse({ clusters: 1, window: 12, sharedQK: false }), 2, 8, new Rng(1)), { exact: true });
