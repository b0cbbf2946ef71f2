/**
 * Parity with tools/parity/moe-ffn.py, a PyTorch port of Hugging Face-style Switch (top-1,
 * capacity, ReLU experts) and Mixtral (top-2, renormalised, SwiGLU experts) layers, and of
 * the balance loss and router z-loss. The fixture holds PyTorch-layout weights ([out, in]),
 * transposed here into Weft's [in, out].
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import moe, { loadBalancingLoss, MoEFeedForward, routerZLoss } from '../src/index.js';

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'moe.json'), 'utf8'));
const { B, L, D, hidden: Hd, experts: E } = fx;

/** torch [E, out, in] (or [out, in] with E = 1) -> Weft [E, in, out]. */
function stackedT(values: number[], outDim: number, inDim: number): tf.Tensor {
  return tf.tidy(() => tf.transpose(tf.tensor(values, [values.length / (outDim * inDim), outDim, inDim]), [0, 2, 1]));
}

function build(options: Record<string, unknown>): MoEFeedForward {
  return createRegistry().use(moe).create('feedforward', { kind: 'moe', experts: E, mult: Hd / D, ...options }, { dims: { dModel: D, layers: 1 }, rng: new Rng(0) }) as MoEFeedForward;
}

function run(m: MoEFeedForward): { y: tf.Tensor; balance: number; zloss: number } {
  const x = tf.tensor(fx.x, [B, L, D]);
  const ctx = makeForwardContext(B, L);
  const y = m.forward(x, ctx);
  const { logits, probs, routing } = m.route(x, ctx);
  const [bal, z] = [loadBalancingLoss(probs, routing), routerZLoss(logits)];
  const out = { y, balance: bal.dataSync()[0], zloss: z.dataSync()[0] };
  tf.dispose([x, ctx.positions, logits, probs, bal, z]);
  return out;
}

describeWithBackends('moe-ffn parity with the PyTorch port', () => {
  it('Switch top-1 with capacity (drops overflow, gate = router prob)', () => {
    const s = fx.switch;
    const m = build({ topK: 1, capacityFactor: s.capacityFactor, activation: 'relu' });
    tf.tidy(() => {
      m.router.assign(tf.transpose(tf.tensor(s.router, [E, D])));
      m.experts.up.assign(stackedT(s.wi, Hd, D));
      m.experts.down.assign(stackedT(s.wo, D, Hd));
    });
    const { y, balance, zloss } = run(m);
    expectTensorsClose(y, s.y, { atol: 1e-5, rtol: 1e-4 });
    expect(s.dropped).toBeGreaterThan(0); // the fixture exercises dropping
    expect(balance).toBeCloseTo(s.balance, 5);
    expect(zloss).toBeCloseTo(s.zloss, 4);
    y.dispose();
    m.dispose();
  });

  it('Mixtral top-2 SwiGLU (renormalised gates)', () => {
    const s = fx.mixtral;
    const m = build({ topK: 2, activation: 'swiglu' });
    tf.tidy(() => {
      m.router.assign(tf.transpose(tf.tensor(s.router, [E, D])));
      m.experts.gate!.assign(stackedT(s.w1, Hd, D));
      m.experts.up.assign(stackedT(s.w3, Hd, D));
      m.experts.down.assign(stackedT(s.w2, D, Hd));
    });
    const { y, balance, zloss } = run(m);
    expectTensorsClose(y, s.y, { atol: 1e-5, rtol: 1e-4 });
    expect(balance).toBeCloseTo(s.balance, 5);
    expect(zloss).toBeCloseTo(s.zloss, 4);
    y.dispose();
    m.dispose();
  });
});
