/**
 * BatchMatMul with batch dimensions that broadcast one by one. tfjs 4.22's cpu and wasm
 * kernels index the flattened batch modulo each operand's batch size, which is right only
 * when the batch shapes are equal or one operand has no batch (size 1 overall): for
 * a [2, 1, M, K] · b [1, 3, K, N] they return wrong numbers without an error. This wrapper
 * tiles such operands to the common batch shape (Tile kernel) before the product; every other
 * call goes to the wrapped kernel unchanged. (The gradient sums the tiles back: see
 * gradients/BatchMatMul_grad.ts.)
 */
import { getKernel, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** Marks the wrapper so a second copy of core does not wrap it again. */
const WRAPPED = Symbol.for('weft.BroadcastBatchMatMul.wrapped');

interface KernelBackend {
  disposeData(dataId: object): void;
}

type Args = { inputs: { a: TensorInfo; b: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap };

const product = (dims: readonly number[]) => dims.reduce((x, y) => x * y, 1);

/** Whether the batch shapes broadcast dimension by dimension (the case tfjs gets wrong). */
export function needsBatchTiling(a: readonly number[], b: readonly number[]): boolean {
  const outerA = a.slice(0, -2);
  const outerB = b.slice(0, -2);
  if (product(outerA) === 1 || product(outerB) === 1) return false;
  const rank = Math.max(outerA.length, outerB.length);
  const padA = [...Array(rank - outerA.length).fill(1), ...outerA];
  const padB = [...Array(rank - outerB.length).fill(1), ...outerB];
  return padA.some((d, i) => d !== padB[i]);
}

export function wrapBroadcastBatchMatMul(original: KernelFunc, backendName: string): KernelFunc {
  const run = (name: string, inputs: unknown, backend: KernelBackend, attrs: NamedAttrMap): TensorInfo => {
    const kernel = getKernel(name, backendName);
    if (!kernel) throw new Error(`${backendName} kernel ${name} is not registered`);
    return kernel.kernelFunc({ inputs, backend, attrs } as Parameters<KernelFunc>[0]) as TensorInfo;
  };
  const wrapped = (args: Args): TensorInfo => {
    const { backend, attrs } = args;
    const { a, b } = args.inputs;
    if (!needsBatchTiling(a.shape, b.shape)) return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const rank = Math.max(a.shape.length, b.shape.length);
    const padded = (x: TensorInfo) => [...Array(rank - x.shape.length).fill(1), ...x.shape];
    const [shapeA, shapeB] = [padded(a), padded(b)];
    const batch = shapeA.slice(0, -2).map((d, i) => Math.max(d, shapeB[i]));
    const temporaries: TensorInfo[] = [];
    const keep = (t: TensorInfo) => (temporaries.push(t), t);
    const full = (x: TensorInfo, shape: number[]) => {
      const reps = [...batch.map((d, i) => d / shape[i]), 1, 1];
      const r = keep(run('Reshape', { x }, backend, { shape }));
      return reps.every((n) => n === 1) ? r : keep(run('Tile', { x: r }, backend, { reps }));
    };
    try {
      const inputs = { a: full(a, shapeA), b: full(b, shapeB) };
      return original({ inputs, backend, attrs } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
  // Keep the wrapped kernel's marks (e.g. the fast wasm wrapper's) visible on the outside.
  const marks = Object.fromEntries(Object.getOwnPropertySymbols(original).map((s) => [s, (original as unknown as Record<symbol, unknown>)[s]]));
  return Object.assign(wrapped as unknown as KernelFunc, marks, { [WRAPPED]: true });
}

/** Wrapped configs for the cpu and wasm BatchMatMul kernels registered and not wrapped yet. */
export function broadcastBatchMatMulConfigs(): KernelConfig[] {
  return ['cpu', 'wasm'].flatMap((backendName) => {
    const existing = getKernel('BatchMatMul', backendName);
    if (!existing || (existing.kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED] === true) return [];
    return [{ ...existing, kernelFunc: wrapBroadcastBatchMatMul(existing.kernelFunc, backendName) }];
  });
}
