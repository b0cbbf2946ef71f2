/**
 * Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_`: with
 * ‖g‖ = sqrt(Σ_i Σ g_i²) over every gradient, each gradient is scaled by
 * min(1, maxNorm / (‖g‖ + 1e-6)).
 */
import { ConfigError, describeValue, tf } from '@weft/core';
import type { Tensor } from '@weft/core';

/** sqrt of the sum of squares of every element of every tensor, as a float32 scalar. */
export function globalNorm(tensors: Tensor[]): Tensor {
  return tf.tidy(() => {
    if (tensors.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(tensors.map((t) => tf.sum(tf.square(t)))));
  });
}

/**
 * Scale `grads` so their global norm is at most `maxNorm`. Returns new gradient tensors and
 * the norm before clipping (a scalar tensor); the caller owns and disposes both, and keeps
 * ownership of the inputs.
 */
export function clipByGlobalNorm(
  grads: Record<string, Tensor>,
  maxNorm: number,
): { grads: Record<string, Tensor>; norm: Tensor } {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new ConfigError(
      'clipNorm',
      `got ${describeValue(maxNorm)}; use a positive number such as 1.0 (or null to turn clipping off)`,
    );
  }
  return tf.tidy(() => {
    const norm = globalNorm(Object.values(grads));
    const scale = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    const clipped: Record<string, Tensor> = {};
    for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, scale);
    return { grads: clipped, norm };
  });
}
