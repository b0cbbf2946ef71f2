import { createRegistry, Rng, tf, type ForwardContext, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { buildModel, EncoderClassifier, standard } from '@weft/nn';
import reformer, { ReversibleBlock } from '@weft/attn-reformer';

const config = {
  task: 'classifier', classes: 3, vocab: 16, dModel: 16, layers: 3, heads: 2, maxLen: 16, seed: 2,
  residual: 'reversible',
  attention: { kind: 'reformer', numHashes: 2, numBuckets: 4, bucketSize: 4, seed: 0 },
};

/**
 * The full Reformer (LSH attention + reversible layers, §3) written with this package's
 * ReversibleBlock and plain autodiff: x1 = x2 = embeddings, (y1, y2) = ReversibleBlock(F, G)
 * per layer with F = attention(norm1(·)), G = ffn(norm2(·)), then (y1 + y2)/2 -> final norm ->
 * mean pooling -> class logits.
 */
function naiveLogits(model: EncoderClassifier, ids: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, L] = ids.shape;
    const positions = tf.tile(tf.range(0, L, 1, 'int32').reshape([1, L]), [B, 1]);
    const ctx: ForwardContext = { causal: false, training: false, positions, rng: new Rng(0), layerIndex: 0, scratch: new Map() };
    const h = model.positional.embed!(model.embedding.embed(ids), positions, ctx);
    let pair: [Tensor, Tensor] = [h, h];
    for (let i = 0; i < model.blocks.length; i++) {
      const b = model.blocks.at(i);
      const lctx = { ...ctx, layerIndex: i, embeddings: h };
      const block = new ReversibleBlock(
        (u) => b.mixer.forward(b.norm1.forward(u), lctx),
        (u) => b.feedforward!.forward(b.norm2!.forward(u), lctx),
      );
      pair = block.forward(...pair);
    }
    const out = model.finalNorm.forward(tf.mul(tf.add(pair[0], pair[1]), 0.5)); // [B, L, D]
    return model.head.forward(tf.mean(out, 1)); // [B, classes]
  });
}

// A whole model: wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('reformer with reversible layers (residual: "reversible")', () => {
  it('forward equals ReversibleBlock chained by hand; gradients equal its plain autodiff (1e-4)', () => {
    const model = buildModel(createRegistry().use(standard, reformer), config) as unknown as EncoderClassifier;
    for (const p of model.parameters()) p.assign(tf.tidy(() => tf.mul(p, 5)));
    const ids = tf.tensor2d([[1, 5, 2, 9, 4, 4, 7, 3], [0, 12, 8, 1, 1, 6, 15, 2]], [2, 8], 'int32');
    const r = new Rng(3).normalTensor([2, 3]);
    const logits = model.forward(ids);
    const naive = naiveLogits(model, ids);
    expectTensorsClose(logits, naive.dataSync(), { atol: 1e-5, rtol: 1e-4 });
    const rev = tf.variableGrads(() => tf.sum(tf.mul(model.forward(ids), r)) as tf.Scalar);
    const ref = tf.variableGrads(() => tf.sum(tf.mul(naiveLogits(model, ids), r)) as tf.Scalar);
    for (const [name, g] of Object.entries(ref.grads)) expectTensorsClose(rev.grads[name], g.dataSync(), { atol: 1e-4, rtol: 1e-3 });
    // The recomputed backward's recovered inputs: the block inverts the model's own sublayers.
    const x = new Rng(4).normalTensor([2, 8, 16]);
    const b = model.blocks.at(1);
    const ctx: ForwardContext = { causal: false, training: false, positions: tf.tile(tf.range(0, 8, 1, 'int32').reshape([1, 8]), [2, 1]), rng: new Rng(0), layerIndex: 1, scratch: new Map() };
    const block = new ReversibleBlock((u) => b.mixerBranch(u, ctx), (u) => b.feedForwardBranch(u, ctx)!);
    const [y1, y2] = block.forward(x, x);
    const [r1, r2] = block.inverse(y1, y2);
    expectTensorsClose(r1, x.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(r2, x.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([ids, r, logits, naive, rev.value, ref.value, ...Object.values(rev.grads), ...Object.values(ref.grads), x, y1, y2, r1, r2, ctx.positions]);
    model.dispose();
  });
}, ['wasm']);
