import { readFileSync, readdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, decodeSafetensors, encodeSafetensors, init, Module, Rng, tf, WeftError } from '@weft/core';
import { loadSafetensorsFile, saveSafetensorsFile, writeFileAtomic } from '@weft/core/node';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';

function header(json: object, dataBytes = 0): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  let caught: unknown;
  try {
    decodeSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(CheckpointError.isInstance(caught)).toBe(true);
  expect(WeftError.isInstance(caught)).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('safetensors', () => {
  it('round-trips float32, int32 and metadata', () => {
    const bytes = encodeSafetensors(
      { a: { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4.5) }, b: { shape: [3], data: Int32Array.of(-1, 0, 7) } },
      { config: '{"x":1}' },
    );
    expect(new DataView(bytes.buffer).getBigUint64(0, true) % 8n).toBe(0n);
    const file = decodeSafetensors(bytes);
    expect(file.metadata).toEqual({ config: '{"x":1}' });
    expect(Array.from(file.tensors.a.data)).toEqual([1, 2, 3, 4.5]);
    expect(file.tensors.a.shape).toEqual([2, 2]);
    expect(Array.from(file.tensors.b.data)).toEqual([-1, 0, 7]);
    expect(file.tensors.b.dtype).toBe('I32');
  });

  it('loads a fixture written by an independent Python writer', () => {
    const bytes = new Uint8Array(readFileSync(join(__dirname, 'fixtures', 'independent.safetensors')));
    const file = decodeSafetensors(bytes);
    expect(JSON.parse(file.metadata.config)).toEqual({ dModel: 3 });
    expect(file.tensors['embed.weight'].shape).toEqual([2, 3]);
    expectTensorsClose(file.tensors['embed.weight'].data, [0.5, -1.25, 3.0, 1e-3, -2.5e4, 7.0], { atol: 0, rtol: 1e-7 });
    expect(Array.from(file.tensors.ids.data)).toEqual([1, -2, 2147483647, -2147483648]);
    expectTensorsClose(file.tensors.half.data, [1, -2, 0.333251953125, 0], { atol: 0, rtol: 0 });
    expect(Array.from(file.tensors.long.data)).toEqual([5, -7]);
  });

  it('rejects a file shorter than the length prefix', () => rejects(new Uint8Array(5), /shorter than the 8-byte header/));

  it('rejects a truncated file', () => {
    const good = encodeSafetensors({ a: { shape: [4], data: Float32Array.of(1, 2, 3, 4) } });
    rejects(good.subarray(0, good.length - 3), /Truncated.*"a" ends at byte 16/);
    rejects(good.subarray(0, 20), /Truncated.*header claims/);
  });

  it('rejects an oversized header length without allocating it', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 60n, true);
    rejects(bytes, /exceeds the \d+-byte limit/);
  });

  it('rejects overlapping data offsets', () => {
    const bytes = header(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      12,
    );
    rejects(bytes, /"a" and "b" overlap/);
  });

  it('rejects an unknown dtype and a dtype/shape/byte-length mismatch', () => {
    rejects(header({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, 8), /Unsupported dtype "Q4" for tensor "a"/);
    rejects(header({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /F32 \[3\] \(12 bytes\) but its data_offsets span 8/);
  });

  it('rejects malformed JSON and malformed entries', () => {
    const bad = new Uint8Array(8 + 3);
    new DataView(bad.buffer).setBigUint64(0, 3n, true);
    bad.set(new TextEncoder().encode('{x}'), 8);
    rejects(bad, /not valid UTF-8 JSON/);
    rejects(header({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /invalid shape/);
    rejects(header({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /invalid data_offsets/);
  });
});

class Tiny extends Module {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(rng: Rng, out = 3) {
    super();
    this.w = this.addParameter('w', [2, out], init.normal(1), rng);
    this.b = this.addParameter('b', [out], init.zeros(), rng);
  }
}

describeWithBackends('checkpoint files', () => {
  it('saves atomically and loads back exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-ckpt-'));
    const path = join(dir, 'model.safetensors');
    const a = new Tiny(new Rng(1));
    await saveSafetensorsFile(path, a, { config: 'tiny' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const b = new Tiny(new Rng(2));
    const file = await loadSafetensorsFile(path, b);
    expect(file.metadata.config).toBe('tiny');
    expectTensorsClose(b.w, a.w, { atol: 0, rtol: 0 });
    a.dispose();
    b.dispose();
  });

  it('refuses a checkpoint of a different model and leaves the model untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-ckpt-'));
    const path = join(dir, 'model.safetensors');
    const small = new Tiny(new Rng(1), 3);
    await saveSafetensorsFile(path, small);
    const other = new Tiny(new Rng(2), 4);
    const before = Array.from(other.w.dataSync());
    await expect(loadSafetensorsFile(path, other)).rejects.toThrow(/shape \[2,4\] but the checkpoint holds \[2,3\]/);
    expect(Array.from(other.w.dataSync())).toEqual(before);
    await expect(loadSafetensorsFile(join(dir, 'missing.safetensors'), other)).rejects.toThrow(/No checkpoint at/);
    small.dispose();
    other.dispose();
  });
});

describe('writeFileAtomic', () => {
  it('replaces the target in one step and leaves no temp files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-atomic-'));
    const path = join(dir, 'f.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, 'new contents');
    expect(readFileSync(path, 'utf8')).toBe('new contents');
    expect(readdirSync(dir)).toEqual(['f.bin']);
  });

  it('keeps the old file when writing fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-atomic-'));
    const path = join(dir, 'f.bin');
    writeFileSync(path, 'old');
    const failing = { [Symbol.iterator]: () => { throw new Error('disk full'); } } as unknown as Uint8Array;
    await expect(writeFileAtomic(path, failing)).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['f.bin']);
    expect(existsSync(path)).toBe(true);
  });
});
