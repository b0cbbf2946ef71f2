/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON header
 * ({ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }),
 * then the raw little-endian tensor bytes, offsets relative to the end of the header.
 *
 * The reader trusts nothing: the header length is capped, the JSON must be an object of
 * well-formed entries, every dtype is known, every byte range lies inside the file, ranges do
 * not overlap, and each range's length equals prod(shape) × sizeof(dtype). Any violation is a
 * CheckpointError; nothing is partially loaded.
 */
import { CheckpointError } from '../errors.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A decoded tensor: float dtypes become Float32Array, integer ones Int32Array, U8/BOOL Uint8Array. */
export interface TensorRecord {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface Safetensors {
  tensors: Record<string, TensorRecord>;
  metadata: Record<string, string>;
}

export const DEFAULT_MAX_HEADER_BYTES = 100 * 1024 * 1024;

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialise tensors (float32 -> F32, int32 -> I32, uint8 -> U8) and string metadata. */
export function encodeSafetensors(tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array | Uint8Array; dtype?: SafetensorsDtype }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name];
    const dtype: SafetensorsDtype = t.dtype ?? (t.data instanceof Float32Array ? 'F32' : t.data instanceof Int32Array ? 'I32' : 'U8');
    if (t.data.length !== product(t.shape)) {
      throw new CheckpointError(`Tensor "${name}" has ${t.data.length} values but shape [${t.shape}] needs ${product(t.shape)}`);
    }
    const bytes = t.data.length * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces to an 8-byte boundary, as the reference writer does.
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (isLittleEndian) out.set(src, at);
    else writeSwapped(out, at, t.data);
    at += src.length;
  }
  return out;
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function writeSwapped(out: Uint8Array, at: number, data: Float32Array | Int32Array | Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset);
  if (data instanceof Uint8Array) out.set(data, at);
  else if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(at + 4 * i, v, true));
  else data.forEach((v, i) => view.setInt32(at + 4 * i, v, true));
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decodeData(dtype: SafetensorsDtype, bytes: Uint8Array, count: number, name: string): TensorRecord['data'] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        tmp.setUint32(0, view.getUint16(2 * i, true) << 16);
        out[i] = tmp.getFloat32(0);
      }
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) throw new CheckpointError(`Tensor "${name}" holds int64 value ${v}, outside the int32 range tfjs supports`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case 'I16': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    }
    case 'I8': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return Uint8Array.from(bytes);
  }
}

/** Parse and check a safetensors file. Throws CheckpointError on anything malformed. */
export function decodeSafetensors(bytes: Uint8Array, options: { maxHeaderBytes?: number; source?: string } = {}): Safetensors {
  const where = options.source ? ` (${options.source})` : '';
  const maxHeader = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (bytes.length < 8) throw new CheckpointError(`Not a safetensors file${where}: ${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(maxHeader)) {
    throw new CheckpointError(`Corrupt safetensors file${where}: header length ${headerLength} exceeds the ${maxHeader}-byte limit`);
  }
  const n = Number(headerLength);
  if (8 + n > bytes.length) {
    throw new CheckpointError(`Truncated safetensors file${where}: header claims ${n} bytes but only ${bytes.length - 8} follow`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (cause) {
    throw new CheckpointError(`Corrupt safetensors file${where}: the header is not valid UTF-8 JSON`, { cause });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new CheckpointError(`Corrupt safetensors file${where}: the header must be a JSON object`);
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError(`Corrupt safetensors file${where}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new CheckpointError(`Corrupt safetensors file${where}: __metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw new CheckpointError(`Corrupt safetensors file${where}: entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw new CheckpointError(`Unsupported dtype ${JSON.stringify(e.dtype)} for tensor "${name}"${where} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointError(`Corrupt safetensors file${where}: tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new CheckpointError(`Corrupt safetensors file${where}: tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      throw new CheckpointError(`Truncated safetensors file${where}: tensor "${name}" ends at byte ${end} but the data section has ${dataLength} bytes`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    const expected = product(e.shape as number[]) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new CheckpointError(
        `Corrupt safetensors file${where}: tensor "${name}" is ${dtype} [${e.shape}] (${expected} bytes) but its data_offsets span ${end - begin} bytes`,
      );
    }
    entries.push({ name, dtype, shape: e.shape as number[], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      throw new CheckpointError(`Corrupt safetensors file${where}: tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap`);
    }
  }
  const tensors: Record<string, TensorRecord> = {};
  for (const e of entries) {
    const slice = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: decodeData(e.dtype, slice, product(e.shape), e.name) };
  }
  return { tensors, metadata };
}
