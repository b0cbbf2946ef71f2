/**
 * A faster Sum over leading axes for the wasm backend. tfjs 4.22's wasm Sum reduces only the
 * innermost axes: any other reduction first transposes the input, then sums. The gradient of
 * every bias (and of every broadcast add) is such a sum — x [B·L, C] summed over rows — and
 * measured on this project's 2-core machine, 1 thread, [2048, 512] summed over axis 0 took
 * 10.7 ms, against 0.67 ms for the same sum written as the product ones[1, R] · x[R, C].
 *
 * So a float32 sum whose axes are exactly the leading ones is computed as that product
 * (through the BatchMatMul kernel, i.e. XNNPACK); anything else runs tfjs's kernel unchanged.
 * The two differ only in the order of the float32 additions.
 */
import { getKernel, type KernelConfig, type KernelFunc, type NamedAttrMap, type SumAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Inputs smaller than this many elements keep tfjs's kernel (its per-call cost is lower). */
const SMALL_INPUT = 16 * 1024;
/** Marks the wrapper so a second copy of core does not wrap it again. */
const WRAPPED = Symbol.for('weft.wasm.Sum.wrapped');

type Args = { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SumAttrs };

function run(name: string, inputs: unknown, backend: BackendWasm, attrs: NamedAttrMap): TensorInfo {
  const kernel = getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, backend, attrs } as Parameters<KernelFunc>[0]) as TensorInfo;
}

const product = (dims: readonly number[]) => dims.reduce((x, y) => x * y, 1);

/** The reduced axes in [0, rank), sorted, without repeats. */
function normaliseAxes(axis: number | number[] | undefined, rank: number): number[] {
  const list = axis === undefined ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

export function wrapSum(original: KernelFunc): KernelFunc {
  const fast = (args: Args): TensorInfo => {
    const { backend, attrs } = args;
    const { x } = args.inputs;
    const rank = x.shape.length;
    const axes = normaliseAxes(attrs.axis, rank);
    const k = axes.length;
    const leading = k > 0 && k < rank && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading || product(x.shape) < SMALL_INPUT)
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const R = product(x.shape.slice(0, k));
    const C = product(x.shape.slice(k));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);

    const temporaries: TensorInfo[] = [];
    const keep = (t: TensorInfo) => (temporaries.push(t), t);
    try {
      const ones = keep(backend.makeOutput([1, 1, R], 'float32'));
      (backend.typedArrayFromHeap(ones) as Float32Array).fill(1);
      const rows = keep(run('Reshape', { x }, backend, { shape: [1, R, C] }));
      const sum = keep(run('BatchMatMul', { a: ones, b: rows }, backend, { transposeA: false, transposeB: false })); // [1, 1, C]
      return run('Reshape', { x: sum }, backend, { shape: outShape });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
  return Object.assign(fast as unknown as KernelFunc, { [WRAPPED]: true });
}

/** The wrapped kernel config, or undefined when tfjs has no wasm Sum or it is wrapped already. */
export function fastSumConfig(): KernelConfig | undefined {
  const existing = getKernel('Sum', 'wasm');
  if (!existing || (existing.kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED] === true) return undefined;
  return { ...existing, kernelFunc: wrapSum(existing.kernelFunc) };
}
