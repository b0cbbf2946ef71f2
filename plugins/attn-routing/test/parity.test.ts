import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { RoutingAttention, RoutingOptions } from '@weft/attn-routing';

// Fixture from tools/parity/attn-routing.py (an independent PyTorch port; never produced by the plugin).
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'routing.json'), 'utf8'));

describeWithBackends('routing: parity with the PyTorch port', () => {
  it('outputs (routing + local heads) and the EMA centroid update match', () => {
    const { B, H, L, D } = fx;
    const kernel = new RoutingAttention(RoutingOptions.parse({ clusters: fx.clusters, routingHeads: fx.routingHeads, window: fx.window, decay: fx.decay }), H, D, new Rng(0));
    tf.tidy(() => kernel.centroids.assign(tf.tensor(fx.centroids, [fx.routingHeads, fx.clusters, D])));
    const [q, k, v] = [fx.q, fx.k, fx.v].map((x: number[]) => tf.tensor(x, [B, H, L, D]));
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: fx.scale, training: true }));
    expectTensorsClose(out, tf.tensor(fx.out, [B, H, L, D]), { atol: 1e-5 });
    expectTensorsClose(kernel.centroids, tf.tensor(fx.centroidsNext, [fx.routingHeads, fx.clusters, D]), { atol: 1e-6 });
    tf.dispose([q, k, v, out]);
    kernel.dispose();
  });
});
