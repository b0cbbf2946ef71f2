/**
 * Kernels core supplies where a tfjs backend lacks them (or where its own is far too slow),
 * and gradients it corrects.
 * Kernel registration is idempotent: a kernel tfjs (or an earlier copy of core) already
 * provides is left alone.
 */
import {
  getKernel,
  registerGradient,
  registerKernel,
  unregisterKernel,
  type GradConfig,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { batchMatMulGradConfig } from './gradients/BatchMatMul_grad.js';
import { cumsumGradConfig } from './gradients/Cumsum_grad.js';
import { broadcastBatchMatMulConfigs } from './BroadcastBatchMatMul.js';
import { fastBatchMatMulConfig } from './wasm/BatchMatMul.js';
import { shareDataConfigs } from './wasm/ShareData.js';
import { fastSliceConfig } from './wasm/Slice.js';
import { fastSumConfig } from './wasm/Sum.js';
import { unsortedSegmentSumConfig } from './wasm/UnsortedSegmentSum.js';

export const coreKernels: readonly KernelConfig[] = [unsortedSegmentSumConfig];

/** Gradients core replaces because tfjs's are wrong (each file says how). */
export const coreGradients: readonly GradConfig[] = [cumsumGradConfig, batchMatMulGradConfig];

export function registerCoreKernels(): void {
  for (const config of coreKernels) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
  // Replaces tfjs's registration (tfjs only warns on an override, and PROD silences that).
  for (const config of coreGradients) registerGradient(config);
  // Wraps tfjs's wasm BatchMatMul so every product takes XNNPACK's fast path (see the file).
  const batchMatMul = fastBatchMatMulConfig();
  if (batchMatMul) {
    unregisterKernel('BatchMatMul', 'wasm');
    registerKernel(batchMatMul);
  }
  // Batch dimensions that broadcast one by one are tiled first (tfjs gets them wrong). After
  // the fast wasm wrapper, so it wraps that one.
  for (const config of broadcastBatchMatMulConfigs()) {
    unregisterKernel('BatchMatMul', config.backendName);
    registerKernel(config);
  }
  // Sums over leading axes (every bias gradient) as a product with ones (see the file).
  const sum = fastSumConfig();
  if (sum) {
    unregisterKernel('Sum', 'wasm');
    registerKernel(sum);
  }
  // Slice copies only what it selects (tfjs's read the whole input first).
  const slice = fastSliceConfig();
  if (slice) {
    unregisterKernel('Slice', 'wasm');
    registerKernel(slice);
  }
  // Identity and same-dtype Cast reference their input's data instead of copying it.
  for (const config of shareDataConfigs()) {
    unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
}
