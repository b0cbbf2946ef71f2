/**
 * What the three FlashAttention WGSL programs share: the program object tfjs-backend-webgpu
 * 4.22 runs (`backend.runWebGPUProgram(program, inputs, dtype, uniforms)`), the tile sizes
 * chosen to fit the device's workgroup memory, and the WGSL mask test.
 *
 * Notation (see plan.ts): B batch, H query heads, Hkv kv heads, G = H / Hkv (GQA group),
 * Lq / Lk query / key lengths, Dh q·k width, Dv value width. A workgroup has 64 invocations
 * laid out as R "owner" rows × T = 64 / R lanes: the rows are query rows in the forward and
 * dQ programs and key rows in the dK/dV program; C is the length of the tile streamed through
 * workgroup memory along the other axis (key tile B_c, or query tile B_r for dK/dV). Lane t of
 * a row owns the output columns t, t + T, t + 2T, … of that row (private accumulators).
 */

/**
 * The part of tfjs-backend-webgpu's `WebGPUProgram` interface these programs fill in. They
 * all use a flat `dispatchLayout` (tfjs then calls `main(index)`) and ignore the index: a
 * workgroup finds its tile in workgroupId.x and its batch·head in workgroupId.y.
 */
export interface WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  getUserCode(): string;
}

/** A uniform value as `runWebGPUProgram` takes it (appended after the shape uniforms). */
export interface ProgramUniform {
  type: 'float32' | 'int32';
  data: number[];
}

/**
 * The masks a program is compiled for. Padding and segments share one int32 input `Mask`
 * (WebGPU guarantees only 8 storage buffers per shader; the dQ and dK/dV programs use
 * Q, K, V, Mask, DO, Lse, Dd and the output): Keep [B, Lk] (1 keep, 0 padding) if padding,
 * then QSeg [B, Lq] and KSeg [B, Lk] if segments (query i sees key j iff the ids are equal).
 */
export interface MaskFlags {
  causal: boolean;
  padding: boolean;
  segments: boolean;
}

/** Invocations per workgroup (all three programs). */
export const WORKGROUP = 64;

export interface Tiles {
  /** Owner rows per workgroup (query rows; key rows for dK/dV). */
  R: number;
  /** Rows of the streamed tile (keys; queries for dK/dV). */
  C: number;
  /** Lanes per owner row, 64 / R. */
  T: number;
}

/** Floats of workgroup memory a program needs for tiles R × C. */
export type SharedFloats = (R: number, C: number) => number;

/**
 * The largest tiles whose workgroup arrays fit in `limitBytes` (the device's
 * maxComputeWorkgroupStorageSize): R = 16 first with the longest streamed tile C ≤ 64, then
 * smaller R. Null when even R = 4, C = 4 does not fit (very wide heads).
 */
export function chooseTiles(shared: SharedFloats, limitBytes: number): Tiles | null {
  for (const R of [16, 8, 4]) {
    for (const C of [64, 32, 16, 8, 4]) {
      if (shared(R, C) * 4 <= limitBytes) return { R, C, T: WORKGROUP / R };
    }
  }
  return null;
}

/**
 * WGSL that copies rows [first, first + rows) of a [.., n, width] buffer (row `base + first`
 * onwards) into a workgroup tile with row stride width + 1; rows at or past `limit` read 0.
 */
export function loadRows(o: {
  dst: string;
  src: string;
  base: string;
  first: string;
  rows: string;
  limit: string;
  width: 'DH' | 'DV';
}): string {
  const { dst, src, base, first, rows, limit, width } = o;
  return `
    for (var x = tid; x < ${rows} * ${width}; x += WG) {
      let row = x / ${width};
      let col = x % ${width};
      var value = 0.0;
      if (${first} + row < ${limit}) { value = ${src}[(${base} + ${first} + row) * ${width} + col]; }
      ${dst}[row * ${width}1 + col] = value;
    }`;
}

/** Shader-key suffix for the compile-time constants (tfjs adds only input ranks and dtypes). */
export function constantsKey(t: Tiles, Dh: number, Dv: number, m: MaskFlags): string {
  return `${t.R}_${t.C}_${Dh}_${Dv}_${m.causal ? 'c' : 'b'}${m.padding ? 'p' : ''}${m.segments ? 's' : ''}`;
}

/** The extra input the masks need, in program order after Q, K, V (and before the rest). */
export function maskVariables(m: MaskFlags): string[] {
  return m.padding || m.segments ? ['Mask'] : [];
}

/** Uniforms the programs declare after tfjs's shapes: the scalar scale and the causal offset. */
export const FLASH_UNIFORMS = 'scale : f32, queryOffset : i32,';

export function flashUniforms(scale: number, queryOffset: number): ProgramUniform[] {
  return [
    { type: 'float32', data: [scale] },
    { type: 'int32', data: [queryOffset] },
  ];
}

/**
 * WGSL constants and `visible(b, i, j)`: whether query row i of batch b may attend to key j
 * (in range, causal `j <= i + queryOffset`, key not padding, same segment). MASKED stands in
 * for -inf in scores: exp is never taken of it (it is selected away), so no inf - inf = NaN.
 */
export function commonWgsl(t: Tiles, Dh: number, Dv: number, m: MaskFlags): string {
  return `
  const R = ${t.R};
  const C = ${t.C};
  const T = ${t.T};
  const WG = ${WORKGROUP};
  const DH = ${Dh};
  const DV = ${Dv};
  const DH1 = ${Dh + 1}; // row strides of the tiles in workgroup memory: one float of padding
  const DV1 = ${Dv + 1}; // keeps lanes that read different rows off the same memory bank
  const MASKED = -3.4e38;

  fn visible(b : i32, i : i32, j : i32) -> bool {
    let Lq = uniforms.qShape[2];
    let Lk = uniforms.kShape[2];
    if (i >= Lq || j >= Lk) { return false; }
    ${m.causal ? 'if (j > i + uniforms.queryOffset) { return false; }' : ''}
    ${m.padding ? 'if (Mask[b * Lk + j] == 0) { return false; }' : ''}
    ${
      m.segments
        ? `let qSeg = ${m.padding ? 'uniforms.qShape[0] * Lk' : '0'};
    let kSeg = qSeg + uniforms.qShape[0] * Lq;
    if (Mask[qSeg + b * Lq + i] != Mask[kSeg + b * Lk + j]) { return false; }`
        : ''
    }
    return true;
  }
  `;
}

/**
 * What the three flash programs share: one workgroup of WORKGROUP lanes per tile of `rows`
 * rows (query rows for the forward and dQ, key rows for dK/dV) of each (batch, head) pair.
 */
export abstract class FlashProgram implements WebGPUProgramLike {
  readonly dispatchLayout = { x: [0, 1, 2, 3] };
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly uniforms = FLASH_UNIFORMS;
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    name: string,
    readonly variableNames: string[],
    readonly outputShape: number[],
    rows: number,
    pairs: number,
    protected readonly dh: number,
    protected readonly dv: number,
    protected readonly tiles: Tiles,
    protected readonly masks: MaskFlags,
  ) {
    this.dispatch = [Math.ceil(rows / tiles.R), pairs, 1];
    this.shaderKey = `${name}_${constantsKey(tiles, dh, dv, masks)}`;
  }

  abstract getUserCode(): string;
}
