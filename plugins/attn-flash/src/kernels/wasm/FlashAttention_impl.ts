/**
 * Host side of the fused WASM SIMD FlashAttention kernel (source: assembly/flash.ts, built
 * into generated/flash-wasm.js by scripts/generate.mjs). Works on host arrays: it copies
 * the inputs once into the module's linear memory, runs the kernel over query tiles (one
 * call for everything, or one call per query tile when a lazy logit bias supplies a
 * [.., B_r, Lk] strip per tile), and copies the results out.
 *
 * Memory: O((B·H·(Lq + Lk))·D) for the tensors plus B·H·B_r·Lk floats for a bias strip;
 * never Lq×Lk.
 */
import { FLASH_WASM_BASE64 } from '../../../generated/flash-wasm.js';

interface FlashExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  setScratch(ptr: number): void;
  setProblem(
    B: number, H: number, Hkv: number, Lq: number, Lk: number, Dh: number, Dv: number,
    causal: number, queryOffset: number, blockQ: number, blockK: number,
    scale: number, keyBias: number, qSeg: number, kSeg: number, table: number,
  ): void;
  setBias(ptr: number, bStride: number, hStride: number, row0: number): void;
  forward(q: number, k: number, v: number, out: number, lse: number, state: number, i0: number, i1: number): void;
  backward(
    q: number, k: number, v: number, o: number, dO: number, lse: number,
    dq: number, dk: number, dv: number, dscale: number, state: number, i0: number, i1: number,
  ): void;
}

/** The problem, as host arrays. */
export interface FusedProblem {
  B: number;
  H: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  Dh: number;
  Dv: number;
  causal: boolean;
  queryOffset: number;
  blockQ: number;
  blockK: number;
  /** [H] */
  scale: Float32Array;
  /** [B, Lk] additive 0 / -inf */
  keyBias?: Float32Array;
  qSeg?: Int32Array;
  kSeg?: Int32Array;
  /** [nQB, nKB] 0/1 */
  table?: Uint8Array;
  /**
   * The logit bias strip for query rows [qa, qe) and all keys, [Bb, Hb, qe - qa, Lk] with
   * Bb ∈ {1, B}, Hb ∈ {1, H}; absent when there is no bias.
   */
  biasStrip?: (qa: number, qe: number) => { data: Float32Array; batch: number; heads: number };
}

/** Memory that stays mapped after a call; above this the instance is dropped and rebuilt. */
const KEEP_BYTES = 256 * 1024 * 1024;
const PAGE = 65536;

let cached: FlashExports | null = null;

function decodeBase64(b64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function instance(): FlashExports {
  if (!cached) {
    const module = new WebAssembly.Module(decodeBase64(FLASH_WASM_BASE64) as BufferSource);
    cached = new WebAssembly.Instance(module, {}).exports as unknown as FlashExports;
  }
  return cached;
}

/** Whether this runtime can run the kernel (WebAssembly with SIMD). */
export function fusedAvailable(): boolean {
  try {
    instance();
    return true;
  } catch {
    return false;
  }
}

/** Bytes of linear memory the kernel instance holds now (0 before first use). */
export function fusedMemoryBytes(): number {
  return cached ? cached.memory.buffer.byteLength : 0;
}

/** A bump allocator over the module memory; offsets are 16-byte aligned. */
class Arena {
  private top: number;
  constructor(private readonly wasm: FlashExports) {
    this.top = (wasm.heapBase() + 15) & ~15;
  }
  alloc(bytes: number): number {
    const ptr = this.top;
    this.top = (ptr + bytes + 15) & ~15;
    const need = this.top - this.wasm.memory.buffer.byteLength;
    if (need > 0) this.wasm.memory.grow(Math.ceil(need / PAGE));
    return ptr;
  }
  f32(data: Float32Array | number): number {
    const n = typeof data === 'number' ? data : data.length;
    const ptr = this.alloc(n * 4);
    if (typeof data !== 'number') new Float32Array(this.wasm.memory.buffer, ptr, n).set(data);
    else new Float32Array(this.wasm.memory.buffer, ptr, n).fill(0);
    return ptr;
  }
  i32(data: Int32Array): number {
    const ptr = this.alloc(data.length * 4);
    new Int32Array(this.wasm.memory.buffer, ptr, data.length).set(data);
    return ptr;
  }
  u8(data: Uint8Array): number {
    const ptr = this.alloc(data.length);
    new Uint8Array(this.wasm.memory.buffer, ptr, data.length).set(data);
    return ptr;
  }
  read(ptr: number, n: number): Float32Array {
    return new Float32Array(this.wasm.memory.buffer, ptr, n).slice();
  }
}

function release(wasm: FlashExports): void {
  if (wasm.memory.buffer.byteLength > KEEP_BYTES) cached = null;
}

/** Upload the problem description and masks; returns the arena for the tensors. */
function setup(wasm: FlashExports, p: FusedProblem): Arena {
  const arena = new Arena(wasm);
  const scale = arena.f32(p.scale);
  const keyBias = p.keyBias ? arena.f32(p.keyBias) : 0;
  const qSeg = p.qSeg ? arena.i32(p.qSeg) : 0;
  const kSeg = p.kSeg ? arena.i32(p.kSeg) : 0;
  const table = p.table ? arena.u8(p.table) : 0;
  wasm.setScratch(arena.f32(p.blockK));
  wasm.setProblem(p.B, p.H, p.Hkv, p.Lq, p.Lk, p.Dh, p.Dv, p.causal ? 1 : 0, p.queryOffset, p.blockQ, p.blockK, scale, keyBias, qSeg, kSeg, table);
  return arena;
}

/**
 * Run `body(i0, i1)` over all query rows: once, or once per query tile with that tile's
 * bias strip uploaded into `stripPtr`.
 */
function overRows(wasm: FlashExports, arena: Arena, p: FusedProblem, body: (i0: number, i1: number) => void): void {
  if (!p.biasStrip) {
    body(0, p.Lq);
    return;
  }
  const strip = arena.f32(p.B * p.H * p.blockQ * p.Lk);
  for (let qa = 0; qa < p.Lq; qa += p.blockQ) {
    const qe = Math.min(qa + p.blockQ, p.Lq);
    const { data, batch, heads } = p.biasStrip(qa, qe);
    new Float32Array(wasm.memory.buffer, strip, data.length).set(data);
    const rows = qe - qa;
    wasm.setBias(strip, batch === 1 ? 0 : heads * rows * p.Lk, heads === 1 ? 0 : rows * p.Lk, qa);
    body(qa, qe);
  }
}

/** Forward: O [B, H, Lq, Dv] and lse [B, H, Lq] (+inf on fully masked rows). */
export function fusedForward(p: FusedProblem, q: Float32Array, k: Float32Array, v: Float32Array): { out: Float32Array; lse: Float32Array } {
  const wasm = instance();
  const arena = setup(wasm, p);
  const qPtr = arena.f32(q);
  const kPtr = arena.f32(k);
  const vPtr = arena.f32(v);
  const nOut = p.B * p.H * p.Lq * p.Dv;
  const nLse = p.B * p.H * p.Lq;
  const outPtr = arena.f32(nOut);
  const lsePtr = arena.f32(nLse);
  const state = arena.f32(2 * p.blockQ);
  overRows(wasm, arena, p, (i0, i1) => wasm.forward(qPtr, kPtr, vPtr, outPtr, lsePtr, state, i0, i1));
  const result = { out: arena.read(outPtr, nOut), lse: arena.read(lsePtr, nLse) };
  release(wasm);
  return result;
}

/** Backward: dQ [B, H, Lq, Dh], dK [B, Hkv, Lk, Dh], dV [B, Hkv, Lk, Dv], dscale [H]. */
export function fusedBackward(
  p: FusedProblem,
  t: { q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array; lse: Float32Array; dO: Float32Array },
  wantScale: boolean,
): { dq: Float32Array; dk: Float32Array; dv: Float32Array; dscale?: Float32Array } {
  const wasm = instance();
  const arena = setup(wasm, p);
  const ptr = {
    q: arena.f32(t.q),
    k: arena.f32(t.k),
    v: arena.f32(t.v),
    o: arena.f32(t.o),
    lse: arena.f32(t.lse),
    dO: arena.f32(t.dO),
  };
  const nQ = p.B * p.H * p.Lq * p.Dh;
  const nK = p.B * p.Hkv * p.Lk * p.Dh;
  const nV = p.B * p.Hkv * p.Lk * p.Dv;
  const dq = arena.f32(nQ);
  const dk = arena.f32(nK);
  const dv = arena.f32(nV);
  const dscale = wantScale ? arena.f32(p.H) : 0;
  const state = arena.f32(p.blockQ);
  overRows(wasm, arena, p, (i0, i1) => wasm.backward(ptr.q, ptr.k, ptr.v, ptr.o, ptr.dO, ptr.lse, dq, dk, dv, dscale, state, i0, i1));
  const result = {
    dq: arena.read(dq, nQ),
    dk: arena.read(dk, nK),
    dv: arena.read(dv, nV),
    dscale: wantScale ? arena.read(dscale, p.H) : undefined,
  };
  release(wasm);
  return result;
}
