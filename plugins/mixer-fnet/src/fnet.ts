/**
 * FNet token mixing (Lee-Thorp, Ainslie, Eckstein, Ontañón, "FNet: Mixing Tokens with
 * Fourier Transforms", arXiv 2105.03824, §3.2 Eq. 3): the attention sublayer is replaced by a
 * parameter-free 2-D discrete Fourier transform, keeping only the real part,
 *   y = Re(FFT_seq(FFT_hidden(x))) = Re(F_L X F_d).
 *
 * Notation (B batch, L length, d model width):
 *   F_n[j, m] = e^{−2πi jm/n} = C_n[j, m] − i S_n[j, m],  C_n = cos(2π jm/n), S_n = sin(2π jm/n)
 *   Re(F_L X F_d) = Re((C_L − iS_L) X (C_d − iS_d)) = C_L X C_d − S_L X S_d   (X real)
 *
 * tfjs 4.22 registers no gradient for FFT, Complex, Real or Imag, so the transform is computed
 * with the real DFT matrices above (exact and differentiable). The paper uses the same
 * "DFT matrix multiplication" route on TPUs for sequences up to 4096 (§3.2, §4.3).
 * C and S are symmetric, so right- and left-multiplication use the same matrices.
 */
import { Module, tf, type ForwardContext, type SequenceMixer, type SlotCapabilities, type Tensor } from '@weft/core';

/** Bidirectional only: every output mixes every token. */
export const fnetCapabilities: SlotCapabilities['mixer'] = { causal: false, bidirectional: true, decode: false, segments: false, padding: false };

/** The real DFT matrices C_n = cos(2π jm/n), S_n = sin(2π jm/n), each [n, n]. */
export function dftMatrices(n: number): { C: Tensor; S: Tensor } {
  const c = new Float32Array(n * n);
  const s = new Float32Array(n * n);
  for (let j = 0; j < n; j++)
    for (let m = 0; m < n; m++) {
      const angle = (2 * Math.PI * ((j * m) % n)) / n; // reduce jm mod n first: exact angles for large n
      c[j * n + m] = Math.cos(angle);
      s[j * n + m] = Math.sin(angle);
    }
  return { C: tf.tensor(c, [n, n]), S: tf.tensor(s, [n, n]) };
}

/** Re(FFT2(x)) over the last two axes of x [B, L, d]: C_L X C_d − S_L X S_d. */
export function fourierMix(x: Tensor): Tensor {
  if (x.rank !== 3) throw new RangeError(`fourierMix: x must be [B, L, d]; got [${x.shape}]`);
  const [B, L, d] = x.shape as [number, number, number];
  return tf.tidy(() => {
    const hid = dftMatrices(d);
    const seq = dftMatrices(L);
    const x2 = tf.reshape(x, [B * L, d]); // [B·L, d]
    // Along the sequence: move L last, multiply by the (symmetric) L×L matrix, move it back.
    const alongSeq = (t: Tensor, M: Tensor) =>
      tf.transpose(tf.reshape(tf.matMul(tf.reshape(tf.transpose(tf.reshape(t, [B, L, d]), [0, 2, 1]), [B * d, L]), M), [B, d, L]), [0, 2, 1]); // [B, L, d]
    return tf.sub(alongSeq(tf.matMul(x2, hid.C), seq.C), alongSeq(tf.matMul(x2, hid.S), seq.S)); // [B, L, d]
  });
}

/** The 'fnet' mixer: no parameters. */
export class FNetMixer extends Module implements SequenceMixer {
  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return fourierMix(x);
  }
}
