/**
 * Exact causal long convolution y = K ∗ u, per channel, as a lower-triangular Toeplitz matmul:
 * the "convolution mode" of S4 / S4D (Gu et al., arXiv 2111.00396 Eq. 4–5; arXiv 2206.11893)
 * and the long filters of H3 (arXiv 2212.14052) and Hyena (arXiv 2302.10866 Def. 3.1).
 *
 * Notation: B batch, L length, H channels, Lk kernel length.
 *   y[b, t, h] = Σ_{s=0}^{t} K[h, t − s] · u[b, s, h]              (causal, no wrap-around)
 *   T_h[t, s]  = K[h, t − s] if t ≥ s else 0                       ([H, L, L] Toeplitz)
 *   y[:, :, h] = T_h · u[:, :, h]                                   (batched matmul over h)
 *
 * Why a Toeplitz product: the reference implementations compute this as irfft(rfft(u, 2L) ·
 * rfft(K, 2L))[:L], but tfjs-core 4.22 registers no gradient for FFT / IFFT / RFFT / IRFFT /
 * Complex / Real / Imag (and the wasm backend has no FFT kernels). The Toeplitz product is the
 * same linear map, exact in fp32 and differentiable (gather + batched matmul), at O(H · L²)
 * memory and O(B · H · L²) time — the fastest choice for short sequences. ./fft-conv.ts computes
 * the same map by a DFT written as matmuls in O(B · H · L^1.5); longConv picks between the two.
 * Kernels shorter than L are zero-padded; longer ones are cut to their first L taps.
 *
 * Decoding: a long filter spans the whole history, so its state is the input history itself;
 * the outputs of the T newest tokens are the last T rows of causalLongConv(history, K).
 */
import { tf, type Tensor } from '@weft/core';

/** Index map of the Toeplitz matrix: idx[t, s] = t − s for t ≥ s, else L (a zero column). */
function toeplitzIndex(L: number): Tensor {
  const idx = new Int32Array(L * L);
  for (let t = 0; t < L; t++) for (let s = 0; s < L; s++) idx[t * L + s] = t >= s ? t - s : L;
  return tf.tensor(idx, [L * L], 'int32');
}

/** The per-channel causal Toeplitz matrices T [H, L, L] of a kernel K [H, Lk]. */
export function causalToeplitz(K: Tensor, L: number): Tensor {
  const [H, Lk] = K.shape as [number, number];
  return tf.tidy(() => {
    const k = Lk >= L ? tf.slice(K, [0, 0], [H, L]) : tf.concat([K, tf.zeros([H, L - Lk])], 1); // [H, L]
    const padded = tf.concat([k, tf.zeros([H, 1])], 1); // [H, L + 1], column L is the zero above the diagonal
    return tf.reshape(tf.gather(padded, toeplitzIndex(L), 1), [H, L, L]); // [H, L, L]
  });
}

/**
 * u [B, L, H], K [H, Lk] -> y [B, L, H] with y[b, t, h] = Σ_{s ≤ t} K[h, t − s] u[b, s, h].
 */
export function causalLongConv(u: Tensor, K: Tensor): Tensor {
  if (u.rank !== 3 || K.rank !== 2 || K.shape[0] !== u.shape[2]) {
    throw new RangeError(`causalLongConv: u must be [B, L, H] and K [H, Lk]; got u [${u.shape}], K [${K.shape}]`);
  }
  const [B, L, H] = u.shape as [number, number, number];
  return tf.tidy(() => {
    const T = causalToeplitz(K, L); // [H, L, L]
    const uh = tf.transpose(u, [2, 1, 0]); // [H, L, B]
    const y = tf.matMul(T, uh); // [H, L, B]
    return tf.reshape(tf.transpose(y, [2, 1, 0]), [B, L, H]); // [B, L, H]
  });
}
