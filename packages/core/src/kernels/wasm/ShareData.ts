/**
 * Identity, and Cast to the same dtype, without a copy on the wasm backend. tfjs 4.22's wasm
 * kernels copy the whole buffer for both (the cpu and webgpu backends share it, as wasm's own
 * Reshape does): tensors are immutable, so an output can reference its input's data with one
 * more reference count. Gradients call them a lot — a reference training step ran ~440
 * Identity and ~110 same-dtype Cast kernels, each a full copy (~5 % of the step).
 */
import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Marks the wrapper so a second copy of core does not wrap it again. */
const WRAPPED = Symbol.for('weft.wasm.ShareData.wrapped');

type Args = { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: { dtype?: string } };

function wrap(original: KernelFunc): KernelFunc {
  const shared = (args: Args): TensorInfo => {
    const { x } = args.inputs;
    const dtype = args.attrs?.dtype ?? x.dtype;
    if (dtype !== x.dtype || x.dtype === 'string') return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return Object.assign(shared as unknown as KernelFunc, { [WRAPPED]: true });
}

/** Wrapped Identity and Cast configs for the kernels tfjs registered and core has not wrapped yet. */
export function shareDataConfigs(): KernelConfig[] {
  return ['Identity', 'Cast'].flatMap((name) => {
    const existing = getKernel(name, 'wasm');
    if (!existing || (existing.kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED] === true) return [];
    return [{ ...existing, kernelFunc: wrap(existing.kernelFunc) }];
  });
}
