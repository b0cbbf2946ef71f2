/**
 * The Moore-Penrose pseudo-inverse by the iterative method of Nyströmformer (Xiong et al.
 * 2021, arXiv 2102.03902, eq. (16), after Razavi et al. 2014):
 *
 *   Z₀ = Aᵀ / c
 *   Z_{j+1} = ¼ Z_j (13 I − A Z_j (15 I − A Z_j (7 I − A Z_j)))
 *
 * written as the reference code does: AZ = A Z; Z ← ¼ Z (13I − AZ(15I − AZ(7I − AZ))). At the
 * fixed point AZ = I the bracket is 13 − (15 − 6) = 4, so Z is unchanged.
 *
 * Init c (option `init`):
 *   'original' — c = max column-sum of A over the WHOLE batch tensor [B, H, m, m] (the reference
 *                code's default; batch-dependent: other sequences in the batch change c)
 *   'exact'    — c = max column-sum per matrix, ‖A‖₁ of each (b, h)
 * For a softmax matrix (rows sum to 1, entries > 0) ‖A‖_∞ = 1, so Z₀ = Aᵀ/‖A‖₁ starts the
 * iteration inside its convergence region. Six iterations (the paper's default) are not always
 * converged; the result is matched, not improved.
 *
 * Notation: A [B, H, m, m] (the landmark kernel softmax(Q̃ K̃ᵀ)), Z ≈ A⁺ [B, H, m, m].
 */
import { tf, type Tensor } from '@weft/core';

export type PinvInit = 'original' | 'exact';

export function iterativePinv(A: Tensor, iterations: number, init: PinvInit = 'original'): Tensor {
  return tf.tidy(() => {
    const shape = A.shape as number[];
    const m = shape[shape.length - 1];
    const I = tf.eye(m); // [m, m]
    const colSums = tf.sum(A, -2); // [B, H, m]: Σ_i A_ij
    const c = init === 'original' ? tf.max(colSums) : tf.expandDims(tf.max(colSums, -1, true), -1); // [] or [B, H, 1, 1]
    const rank = A.rank;
    const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
    let Z = tf.div(tf.transpose(A, perm), c); // [B, H, m, m]
    for (let j = 0; j < iterations; j++) {
      const AZ = tf.matMul(A, Z); // [B, H, m, m]
      const inner = tf.sub(tf.mul(I, 7), AZ); //            7I − AZ
      const mid = tf.sub(tf.mul(I, 15), tf.matMul(AZ, inner)); // 15I − AZ(7I − AZ)
      const outer = tf.sub(tf.mul(I, 13), tf.matMul(AZ, mid)); // 13I − AZ(15I − AZ(7I − AZ))
      Z = tf.matMul(tf.mul(Z, 0.25), outer); // eq. (16)
    }
    return Z;
  });
}
