/**
 * Kernels core supplies where a tfjs backend lacks them. Registration is idempotent:
 * a kernel tfjs (or an earlier copy of core) already provides is left alone.
 */
import { getKernel, registerKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { unsortedSegmentSumConfig } from './wasm/UnsortedSegmentSum.js';

export const coreKernels: readonly KernelConfig[] = [unsortedSegmentSumConfig];

export function registerCoreKernels(): void {
  for (const config of coreKernels) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
}
