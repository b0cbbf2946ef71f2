/**
 * A faster BatchMatMul for the wasm backend. tfjs 4.22's wasm kernel hands a product to
 * XNNPACK only when it is one matrix (batch 1) without transposes; a transposed operand or a
 * batch > 1 runs a scalar loop 10–25× slower. Measured on this project's 2-core machine,
 * 1 thread: [2048,512]ᵀ·[2048,128] 263 ms, 17.5 ms when transposed first; [32,256,256]·
 * [32,256,32] 66 ms, 6 ms as 32 single products. Every linear layer's gradient and every
 * attention product hits the slow path, so training spent ~90% of a step there.
 *
 * This wrapper turns every product into tfjs's own fast case and calls tfjs's kernel:
 * - a transposed operand is materialised with the Transpose kernel (an O(size) copy);
 * - a right operand shared by the batch is folded into rows: [b, M, K]·[1, K, N] is
 *   [1, b·M, K]·[1, K, N];
 * - otherwise each batch entry is its own product (copy out, product, Concat).
 * Small products (under SMALL_PRODUCT multiply-adds per batch entry, e.g. one decoding
 * query) keep the scalar loop, whose per-call overhead is lower.
 *
 * Inputs have rank ≥ 2; batch dimensions that broadcast other than all-or-nothing go to tfjs.
 */
import {
  getKernel,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Multiply-adds per batch entry below which the original kernel runs unchanged. */
const SMALL_PRODUCT = 32 * 1024;
/** Marks the wrapper so a second copy of core does not wrap it again. */
const WRAPPED = Symbol.for('weft.wasm.BatchMatMul.wrapped');

type Args = { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: BatchMatMulAttrs };

function run(name: string, inputs: unknown, backend: BackendWasm, attrs: NamedAttrMap): TensorInfo {
  const kernel = getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, backend, attrs } as Parameters<KernelFunc>[0]) as TensorInfo;
}

/** Batch entry i of x [batch, rows, cols] as [1, rows, cols]: a memcpy (the Slice kernel is far slower). */
function entry(x: TensorInfo, i: number, backend: BackendWasm): TensorInfo {
  const [, rows, cols] = x.shape;
  const out = backend.makeOutput([1, rows, cols], x.dtype);
  const size = rows * cols;
  (backend.typedArrayFromHeap(out) as Float32Array).set((backend.typedArrayFromHeap(x) as Float32Array).subarray(i * size, (i + 1) * size));
  return out;
}

const product = (dims: readonly number[]) => dims.reduce((x, y) => x * y, 1);
const sameDims = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((d, i) => d === y[i]);

export function wrapBatchMatMul(original: KernelFunc): KernelFunc {
  const fast = (args: Args): TensorInfo => {
    const { backend, attrs } = args;
    const { a: a0, b: b0 } = args.inputs;
    const rankA = a0.shape.length;
    const rankB = b0.shape.length;
    const outerA = a0.shape.slice(0, -2);
    const outerB = b0.shape.slice(0, -2);
    const [rowsA, colsA] = a0.shape.slice(-2);
    const [rowsB, colsB] = b0.shape.slice(-2);
    const M = attrs.transposeA ? colsA : rowsA;
    const K = attrs.transposeA ? rowsA : colsA;
    const N = attrs.transposeB ? rowsB : colsB;
    const batchA = product(outerA);
    const batchB = product(outerB);
    const batch = Math.max(batchA, batchB);
    const alreadyFast = batch === 1 && !attrs.transposeA && !attrs.transposeB;
    // Batch dims must match, or one side must have none to share (else tfjs broadcasts them).
    const simpleBatch = batchA === 1 || batchB === 1 || sameDims(outerA, outerB);
    if (alreadyFast || !simpleBatch || rankA < 2 || rankB < 2 || M * K * N < SMALL_PRODUCT)
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const outShape = [...(batchA >= batchB ? outerA : outerB), M, N];

    const temporaries: TensorInfo[] = [];
    const keep = (t: TensorInfo) => (temporaries.push(t), t);
    const plain = (x: TensorInfo, y: TensorInfo) =>
      original({ inputs: { a: x, b: y }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    try {
      // Rank 3 [batch, rows, cols], then un-transposed: a [batchA, M, K], b [batchB, K, N].
      let a = keep(run('Reshape', { x: a0 }, backend, { shape: [batchA, rowsA, colsA] }));
      let b = keep(run('Reshape', { x: b0 }, backend, { shape: [batchB, rowsB, colsB] }));
      if (attrs.transposeA) a = keep(run('Transpose', { x: a }, backend, { perm: [0, 2, 1] }));
      if (attrs.transposeB) b = keep(run('Transpose', { x: b }, backend, { perm: [0, 2, 1] }));
      if (batchB === 1) {
        // One right operand for the whole batch: stack the batch into rows.
        const rows = keep(run('Reshape', { x: a }, backend, { shape: [1, batchA * M, K] }));
        const out = keep(plain(rows, b)); // [1, batchA·M, N]
        return run('Reshape', { x: out }, backend, { shape: outShape });
      }
      const products: TensorInfo[] = [];
      for (let i = 0; i < batch; i++) {
        const ai = batchA === 1 ? a : keep(entry(a, i, backend)); // [1, M, K]
        const bi = keep(entry(b, i, backend)); // [1, K, N]
        products.push(keep(plain(ai, bi))); // [1, M, N]
      }
      const stacked = keep(run('Concat', products, backend, { axis: 0 })); // [batch, M, N]
      return run('Reshape', { x: stacked }, backend, { shape: outShape });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
  return Object.assign(fast as unknown as KernelFunc, { [WRAPPED]: true });
}

export function isWrappedBatchMatMul(kernelFunc: KernelFunc): boolean {
  return (kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED] === true;
}

/** The wrapped kernel config, or undefined when tfjs has no wasm BatchMatMul or it is wrapped. */
export function fastBatchMatMulConfig(): KernelConfig | undefined {
  const existing = getKernel('BatchMatMul', 'wasm');
  if (!existing || isWrappedBatchMatMul(existing.kernelFunc)) return undefined;
  return { ...existing, kernelFunc: wrapBatchMatMul(existing.kernelFunc) };
}
