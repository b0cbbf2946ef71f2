/**
 * Gradient of Cumsum. tfjs 4.22's registered gradient scans along axis 0 whatever `axis` is,
 * so backprop through a cumulative sum over any other axis fails or is wrong. The adjoint
 * of a cumulative sum is the cumulative sum in the opposite direction along the same axis:
 *   y = cumsum(x, axis, exclusive, reverse)  =>  dx = cumsum(dy, axis, exclusive, !reverse).
 */
import { cumsum, type CumsumAttrs, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';

export const cumsumGradConfig: GradConfig = {
  kernelName: 'Cumsum',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], _saved: Tensor[], attrs: NamedAttrMap) => {
    const { axis, exclusive, reverse } = attrs as unknown as CumsumAttrs;
    return { x: () => cumsum(dy as Tensor, axis, exclusive, !reverse) };
  },
};
