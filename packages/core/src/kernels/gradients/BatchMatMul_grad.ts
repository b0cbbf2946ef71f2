/**
 * Gradient of BatchMatMul that handles broadcast batch dimensions. tfjs 4.22's gradient
 * returns the product-shaped gradient for both operands, so when one operand's batch
 * dimensions broadcast (x [B, M, K] · w [K, N], or [2, 1, M, K] · [1, 3, K, N]) its gradient
 * comes back with the other's batch shape ([B, K, N] for w) and backprop fails or is wrong.
 *
 *   C = A B (batched)  =>  dA = dC Bᵀ,  dB = Aᵀ dC  (per batch entry, with the transposes of
 *   the forward attributes), then summed over every batch dimension the operand broadcast.
 */
import {
  matMul,
  reshape,
  sum,
  type BatchMatMulAttrs,
  type GradConfig,
  type NamedAttrMap,
  type Tensor,
} from '@tensorflow/tfjs-core';

/** g summed over the leading dims it has beyond `shape` and over dims where `shape` is 1. */
function reduceToShape(g: Tensor, shape: readonly number[]): Tensor {
  const extra = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank - 2; i++) {
    if (i < extra || (shape[i - extra] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return g;
  return reshape(sum(g, axes), shape as number[]);
}

export const batchMatMulGradConfig: GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dyIn: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = dyIn as Tensor;
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
    // C = op(A) op(B), op = transpose where the attribute says so:
    //   A B:    dA = dC Bᵀ,   dB = Aᵀ dC        A Bᵀ:   dA = dC B,     dB = dCᵀ A
    //   Aᵀ B:   dA = B dCᵀ,   dB = A dC         Aᵀ Bᵀ:  dA = Bᵀ dCᵀ,   dB = dCᵀ Aᵀ
    const da = () =>
      !transposeA ? matMul(dy, b, false, !transposeB) : transposeB ? matMul(b, dy, true, true) : matMul(b, dy, false, true);
    const db = () =>
      !transposeB ? matMul(a, dy, !transposeA, false) : transposeA ? matMul(dy, a, true, true) : matMul(dy, a, true, false);
    return { a: () => reduceToShape(da(), a.shape), b: () => reduceToShape(db(), b.shape) };
  },
};
