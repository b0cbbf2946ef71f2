/** Builds one attention layer (standard MHA + dense kernel) around a positional encoding. */
import { Rng, tf, type PositionalEncoding } from '@weft/core';
import { AttentionMixer, DenseAttention, fullKVCacheFactory, MultiHeadLayout } from '@weft/nn';
import type { LayerWeights } from './naive.js';

export function attentionLayer(positional: PositionalEncoding, dims: { D: number; H: number }, weights?: LayerWeights, seed = 3): AttentionMixer {
  const heads = new MultiHeadLayout(dims.D, dims.H, dims.D / dims.H, new Rng(seed), { bias: false, outStd: 0.2 });
  if (weights) {
    const t = (a: ArrayLike<number>) => tf.tensor2d(Float32Array.from(a), [dims.D, dims.D]);
    const values = { 'wq.weight': t(weights.wq), 'wk.weight': t(weights.wk), 'wv.weight': t(weights.wv), 'wo.weight': t(weights.wo) };
    heads.loadStateDict(values);
    tf.dispose(Object.values(values));
  }
  return new AttentionMixer({ heads, kernel: new DenseAttention(), positional, ownsPositional: true, kvCache: fullKVCacheFactory, layerIndex: 0 });
}

export function randomWeights(D: number, rng: Rng, std = 0.4): LayerWeights {
  return { wq: rng.normalArray(D * D, 0, std), wk: rng.normalArray(D * D, 0, std), wv: rng.normalArray(D * D, 0, std), wo: rng.normalArray(D * D, 0, std) };
}
