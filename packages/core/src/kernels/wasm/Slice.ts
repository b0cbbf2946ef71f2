/**
 * Slice on the wasm backend without reading the whole input. tfjs 4.22's wasm Slice starts with
 * `backend.readSync(x)`, which copies the entire input out of the heap, so every slice costs
 * the size of its input rather than of its output: slicing a block of rows out of a long
 * sequence, tile by tile, becomes quadratic. This kernel allocates the output first, then
 * copies the selected runs (the innermost sliced dimension is contiguous) between views of
 * the heap. Views are taken after the allocation, since growing the heap detaches older ones.
 */
import { getKernel, slice_util, util, type KernelConfig, type KernelFunc, type SliceAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Marks the wrapper so a second copy of core does not wrap it again. */
const WRAPPED = Symbol.for('weft.wasm.Slice.wrapped');

type Args = { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SliceAttrs };

/** Copy the block `size` at `begin` of x (strides xStrides) into out, row-major, one innermost run at a time. */
function copyRuns(xv: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }, out: { set(a: ArrayLike<number>, o: number): void }, xStrides: number[], begin: number[], size: number[]): void {
  const rank = size.length;
  const run = size[rank - 1];
  const runs = util.sizeFromShape(size) / run;
  const index = new Array<number>(rank - 1).fill(0); // position among the outer dims of the block
  for (let r = 0; r < runs; r++) {
    let offset = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) offset += (begin[d] + index[d]) * xStrides[d];
    out.set(xv.subarray(offset, offset + run), r * run);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
}

export function wrapSlice(original: KernelFunc): KernelFunc {
  const fast = (args: Args): TensorInfo => {
    const { backend, attrs } = args;
    const { x } = args.inputs;
    if (x.dtype === 'string' || x.shape.length === 0) return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size);
    const out = backend.makeOutput(size, x.dtype);
    if (util.sizeFromShape(size) === 0) return out;
    const outVals = backend.typedArrayFromHeap(out);
    const xVals = backend.typedArrayFromHeap(x); // after makeOutput: a heap growth would detach it
    const xStrides = util.computeStrides(x.shape);
    if (slice_util.isSliceContinous(x.shape, begin, size)) {
      const start = slice_util.computeFlatOffset(begin, xStrides);
      outVals.set(xVals.subarray(start, start + util.sizeFromShape(size)));
    } else {
      copyRuns(xVals, outVals, xStrides, begin, size);
    }
    return out;
  };
  return Object.assign(fast as unknown as KernelFunc, { [WRAPPED]: true });
}

/** The wrapped kernel config, or undefined when tfjs has no wasm Slice or it is wrapped already. */
export function fastSliceConfig(): KernelConfig | undefined {
  const existing = getKernel('Slice', 'wasm');
  if (!existing || (existing.kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED] === true) return undefined;
  return { ...existing, kernelFunc: wrapSlice(existing.kernelFunc) };
}
