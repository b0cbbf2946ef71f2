/**
 * The S4D convolution kernel (Gu et al., "On the Parameterization and Initialization of
 * Diagonal State Space Models", arXiv 2206.11893, Eq. 5–6 / Listing 1; the diagonal form of S4,
 * arXiv 2111.00396 §2) with ZOH discretisation, in real arithmetic on real/imag pairs.
 *
 * Notation: H channels, N2 = N/2 complex modes per channel (conjugate pairs are implied), L length.
 *   A_n   = −exp(log_A_real) + i · A_imag                   [H, N2] complex
 *   Δ     = exp(log_dt)                                      [H]
 *   Ā_n   = exp(Δ A_n)                                       (ZOH, S4 Eq. 3)
 *   C̃_n   = C_n · (exp(Δ A_n) − 1) / A_n                    (C · B̄ with B = 1)
 *   K_l   = 2 Re( Σ_n C̃_n Ā_n^l ),  l = 0..L−1               [H, L]  (S4 Eq. 4–5)
 * The recurrent view of the same SSM (S4 Eq. 2): x_k = Ā x_{k−1} + u_k, y_k = 2 Re(Σ_n C̃_n x_k,n).
 */
import { tf, type Tensor } from '@weft/core';

/** S4D parameters, PyTorch layout: C is `view_as_real` of the complex C, [H, N2, 2]. */
export interface S4DParams {
  log_dt: Tensor; // [H]
  log_A_real: Tensor; // [H, N2]
  A_imag: Tensor; // [H, N2]
  C: Tensor; // [H, N2, 2] (real, imag)
}

/** Ā = exp(ΔA) and C̃ = C (exp(ΔA) − 1)/A as real/imag pairs, each [H, N2]. */
export function s4dDiscretize(p: S4DParams): { dA_re: Tensor; dA_im: Tensor; C_re: Tensor; C_im: Tensor } {
  const [H, N2] = p.A_imag.shape as [number, number];
  return tf.tidy(() => {
    const dt = tf.reshape(tf.exp(p.log_dt), [H, 1]); // Δ  [H, 1]
    const aRe = tf.neg(tf.exp(p.log_A_real)); // Re A  [H, N2]
    const aIm = p.A_imag; // Im A
    const mag = tf.exp(tf.mul(aRe, dt)); // |exp(ΔA)|
    const ang = tf.mul(aIm, dt); // arg exp(ΔA)
    const dA_re = tf.mul(mag, tf.cos(ang));
    const dA_im = tf.mul(mag, tf.sin(ang));
    // (exp(ΔA) − 1) / A = (e − 1) · conj(A) / |A|²
    const nRe = tf.sub(dA_re, 1);
    const nIm = dA_im;
    const den = tf.add(tf.square(aRe), tf.square(aIm));
    const bRe = tf.div(tf.add(tf.mul(nRe, aRe), tf.mul(nIm, aIm)), den);
    const bIm = tf.div(tf.sub(tf.mul(nIm, aRe), tf.mul(nRe, aIm)), den);
    const cRe = tf.reshape(tf.slice(p.C, [0, 0, 0], [H, N2, 1]), [H, N2]); // [H, N2]
    const cIm = tf.reshape(tf.slice(p.C, [0, 0, 1], [H, N2, 1]), [H, N2]); // [H, N2]
    const C_re = tf.sub(tf.mul(cRe, bRe), tf.mul(cIm, bIm));
    const C_im = tf.add(tf.mul(cRe, bIm), tf.mul(cIm, bRe));
    return { dA_re, dA_im, C_re, C_im };
  });
}

/** K [H, L]: K_l = 2 Re(Σ_n C̃_n exp(Δ A_n l)), Vandermonde in closed form (no powers). */
export function s4dKernel(p: S4DParams, L: number): Tensor {
  const [H, N2] = p.A_imag.shape as [number, number];
  return tf.tidy(() => {
    const { C_re, C_im } = s4dDiscretize(p);
    const dt = tf.reshape(tf.exp(p.log_dt), [H, 1]);
    const re = tf.reshape(tf.mul(tf.neg(tf.exp(p.log_A_real)), dt), [H, N2, 1]); // Re ΔA  [H, N2, 1]
    const im = tf.reshape(tf.mul(p.A_imag, dt), [H, N2, 1]); // Im ΔA  [H, N2, 1]
    const l = tf.reshape(tf.range(0, L, 1, 'float32'), [1, 1, L]); // [1, 1, L]
    const mag = tf.exp(tf.mul(re, l)); // [H, N2, L]
    const ang = tf.mul(im, l); // [H, N2, L]
    const term = tf.sub(tf.mul(tf.reshape(C_re, [H, N2, 1]), tf.mul(mag, tf.cos(ang))), tf.mul(tf.reshape(C_im, [H, N2, 1]), tf.mul(mag, tf.sin(ang)))); // Re(C̃ Ā^l)
    return tf.mul(tf.sum(term, 1), 2); // [H, L]
  });
}
