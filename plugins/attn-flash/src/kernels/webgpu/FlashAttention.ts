/**
 * The WebGPU FlashAttention path: three WGSL programs registered as tfjs kernels on the
 * `webgpu` backend and run through the backend's own `runWebGPUProgram`, so inputs and
 * outputs stay on the GPU (no read-back; the masks are uploaded once per call).
 *
 *   WeftFlashAttentionForward     Q, K, V, masks            -> [B, H, Lq, Dv + 1]  (O | L)
 *   WeftFlashAttentionBackwardQ   … + dO, L, D              -> dQ [B, H, Lq, Dh]
 *   WeftFlashAttentionBackwardKV  … + dO, L, D              -> [B, Hkv, Lk, Dh + Dv] (dK | dV)
 *
 * D = rowsum(dO ∘ O) is formed with tfjs ops before the two backward passes (FA2 Algorithm
 * 2, line 4). The kernels have no registered gradient: flash.ts wraps them in tf.customGrad.
 *
 * Not covered here (flash.ts falls back to the tiled implementation): a per-head scale
 * tensor, a logit bias, a block-sparse table, heads too wide for the device's workgroup
 * memory (Dh = Dv = 128 fits in 16 KiB), and grids past the device's dispatch limit.
 * The backend package is not imported: the kernel functions use the backend object tfjs
 * hands them (the support check reads tf.backend()), and the programs are plain objects with
 * the fields `runWebGPUProgram` reads.
 */
import { tf, type Tensor } from '@weft/core';
import type { FlashPlan } from '../../plan.js';
import { FlashBackwardKVProgram, backwardKVShared } from './FlashBackwardKVProgram.js';
import { FlashBackwardQProgram, backwardQShared } from './FlashBackwardQProgram.js';
import { FlashForwardProgram, forwardShared } from './FlashForwardProgram.js';
import {
  chooseTiles,
  flashUniforms,
  type MaskFlags,
  type ProgramUniform,
  type Tiles,
  type WebGPUProgramLike,
} from './program.js';

interface WebGPUBackendLike {
  device: {
    limits: { maxComputeWorkgroupStorageSize: number; maxComputeWorkgroupsPerDimension: number };
  };
  runWebGPUProgram(
    program: WebGPUProgramLike,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
}

const FORWARD = 'WeftFlashAttentionForward';
const BACKWARD_Q = 'WeftFlashAttentionBackwardQ';
const BACKWARD_KV = 'WeftFlashAttentionBackwardKV';

/** Kernel attributes: the masks compiled in, and the uniforms. */
interface FlashAttrs extends MaskFlags {
  scale: number;
  queryOffset: number;
}

function tilesOrThrow(
  shared: typeof forwardShared,
  Dh: number,
  Dv: number,
  backend: unknown,
): Tiles {
  const tiles = chooseTiles(
    shared(Dh, Dv),
    (backend as WebGPUBackendLike).device.limits.maxComputeWorkgroupStorageSize,
  );
  if (!tiles) {
    throw new Error(
      `flash attention (webgpu): heads of width Dh = ${Dh}, Dv = ${Dv} do not fit in this device's workgroup memory; use implementation 'tiled'.`,
    );
  }
  return tiles;
}

type MakeProgram = (
  shapes: { q: number[]; k: number[]; v: number[] },
  attrs: FlashAttrs,
  backend: unknown,
) => WebGPUProgramLike;

function kernelConfig(kernelName: string, make: MakeProgram): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as FlashAttrs;
      const input = (name: string): tf.TensorInfo => {
        const t = inputs[name];
        if (!t)
          throw new Error(`flash attention (webgpu): kernel ${kernelName} got no input '${name}'.`);
        return t;
      };
      const shapes = { q: input('Q').shape, k: input('K').shape, v: input('V').shape };
      const program = make(shapes, a, backend);
      const ordered = program.variableNames.map(input);
      return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(
        program,
        ordered,
        'float32',
        flashUniforms(a.scale, a.queryOffset),
      );
    },
  };
}

const KERNELS: tf.KernelConfig[] = [
  kernelConfig(FORWARD, ({ q, v }, a, backend) => {
    const [B, H, Lq, Dh] = q;
    const Dv = v[3];
    return new FlashForwardProgram(
      { B, H, Lq, Dh, Dv },
      tilesOrThrow(forwardShared, Dh, Dv, backend),
      a,
    );
  }),
  kernelConfig(BACKWARD_Q, ({ q, v }, a, backend) => {
    const [B, H, Lq, Dh] = q;
    const Dv = v[3];
    return new FlashBackwardQProgram(
      { B, H, Lq, Dh, Dv },
      tilesOrThrow(backwardQShared, Dh, Dv, backend),
      a,
    );
  }),
  kernelConfig(BACKWARD_KV, ({ k, v }, a, backend) => {
    const [B, Hkv, Lk, Dh] = k;
    const Dv = v[3];
    return new FlashBackwardKVProgram(
      { B, Hkv, Lk, Dh, Dv },
      tilesOrThrow(backwardKVShared, Dh, Dv, backend),
      a,
    );
  }),
];

/** Register the three kernels on the webgpu backend (idempotent). */
function ensureRegistered(): void {
  for (const config of KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) == null) tf.registerKernel(config);
  }
}

/**
 * Whether the WebGPU kernels compute this plan on the current backend: the backend is
 * webgpu, the scale is a number, there is no logit bias and no block-sparse table, no length
 * is 0, the head widths fit the device's workgroup memory, and the workgroup grid (tiles ×
 * batch·heads) fits its dispatch limit.
 */
export function webgpuSupports(plan: FlashPlan): boolean {
  if (tf.getBackend() !== 'webgpu') return false;
  if (
    typeof plan.scale !== 'number' ||
    plan.logitBias ||
    plan.table ||
    plan.Lq === 0 ||
    plan.Lk === 0
  )
    return false;
  const { limits } = (tf.backend() as unknown as WebGPUBackendLike).device;
  const fits = (shared: typeof forwardShared, rows: number, heads: number) => {
    const tiles = chooseTiles(shared(plan.Dh, plan.Dv), limits.maxComputeWorkgroupStorageSize);
    return (
      tiles != null &&
      Math.ceil(rows / tiles.R) <= limits.maxComputeWorkgroupsPerDimension &&
      heads <= limits.maxComputeWorkgroupsPerDimension
    );
  };
  return (
    fits(forwardShared, plan.Lq, plan.B * plan.H) &&
    fits(backwardQShared, plan.Lq, plan.B * plan.H) &&
    fits(backwardKVShared, plan.Lk, plan.B * plan.Hkv)
  );
}

function attrsOf(plan: FlashPlan): FlashAttrs {
  return {
    causal: plan.causal,
    padding: plan.keyBias != null,
    segments: plan.qSeg != null,
    scale: plan.scale as number,
    queryOffset: plan.queryOffset,
  };
}

/** The `Mask` input (program.ts): Keep [B, Lk], QSeg [B, Lq], KSeg [B, Lk] as present, flattened. */
function maskInputs(plan: FlashPlan): Record<string, Tensor> {
  const parts: ArrayLike<number>[] = [];
  if (plan.keyBias) parts.push(Int32Array.from(plan.keyBias, (x) => (x === 0 ? 1 : 0)));
  if (plan.qSeg && plan.kSeg) parts.push(plan.qSeg, plan.kSeg);
  if (parts.length === 0) return {};
  const mask = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    mask.set(p, at);
    at += p.length;
  }
  return { Mask: tf.tensor1d(mask, 'int32') };
}

function run(name: string, inputs: Record<string, Tensor>, plan: FlashPlan): Tensor {
  return tf.engine().runKernel(name, inputs, attrsOf(plan) as unknown as tf.NamedAttrMap) as Tensor;
}

/** Forward: O [B, H, Lq, Dv] and lse [B, H, Lq] (+inf on fully masked rows). */
export function webgpuFlashForward(
  plan: FlashPlan,
  q: Tensor,
  k: Tensor,
  v: Tensor,
): { out: Tensor; lse: Tensor } {
  ensureRegistered();
  const { B, H, Lq, Dv } = plan;
  return tf.tidy(() => {
    const packed = run(FORWARD, { Q: q, K: k, V: v, ...maskInputs(plan) }, plan); // [B, H, Lq, Dv + 1]
    return {
      out: packed.slice([0, 0, 0, 0], [B, H, Lq, Dv]),
      lse: packed.slice([0, 0, 0, Dv], [B, H, Lq, 1]).reshape([B, H, Lq]),
    };
  });
}

/** Backward: dQ [B, H, Lq, Dh], dK [B, Hkv, Lk, Dh], dV [B, Hkv, Lk, Dv]. */
export function webgpuFlashBackward(
  plan: FlashPlan,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  lse: Tensor,
  dO: Tensor,
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  ensureRegistered();
  const { B, Hkv, Lk, Dh, Dv } = plan;
  return tf.tidy(() => {
    const D = tf.sum(tf.mul(dO, o), -1); // line 4: D = rowsum(dO ∘ O)  [B, H, Lq]
    const inputs = { Q: q, K: k, V: v, ...maskInputs(plan), DO: dO, Lse: lse, Dd: D };
    const dq = run(BACKWARD_Q, inputs, plan); // [B, H, Lq, Dh]
    const dkv = run(BACKWARD_KV, inputs, plan); // [B, Hkv, Lk, Dh + Dv]
    return {
      dq,
      dk: dkv.slice([0, 0, 0, 0], [B, Hkv, Lk, Dh]),
      dv: dkv.slice([0, 0, 0, Dh], [B, Hkv, Lk, Dv]),
    };
  });
}
