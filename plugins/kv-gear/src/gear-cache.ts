/**
 * GEAR's KV cache (Kang et al. 2024, arXiv 2403.05527, §3.2 "streaming buffer"): the newest
 * tokens wait in a full-precision buffer of `buffer` (n_b) tokens; whenever it is full, those
 * n_b tokens are compressed with ./gear-compress.ts (per batch row and key/value head, keys and
 * values separately: an [n_b, Dh] matrix each) and the buffer empties. keys()/values() return
 * the reconstruction X̂ = D̂ + L + S of every compressed chunk followed by the buffer.
 *
 * Notation:
 *   B batch, Hkv key/value heads, Dh head width, n_b buffer size, C compressed chunks,
 *   Lc = C·n_b + (tokens in the buffer) tokens held.
 *   Keys, values [B, Hkv, Lc, Dh]; positions [B, Lc] int32 (kept exactly).
 *
 * The reconstruction is materialised lazily (once after each append) for the attention mixer and
 * freed at the next append; bytes() counts what is stored: compressed chunks, the buffer and
 * positions.
 */
import { tf, type KVCache, type KVCacheFactory, type Tensor } from '@weft/core';
import { compressedBytes, gearCompress, gearReconstruct, type GearCompressed, type GearSettings } from './gear-compress.js';

export interface GearCacheSettings extends GearSettings {
  /** n_b: tokens kept in full precision before a chunk is compressed. */
  buffer: number;
}

export class GearKVCache implements KVCache {
  /** chunks[c][kv][b·Hkv + h]: kv 0 keys, 1 values. */
  private readonly chunks: GearCompressed[][][] = [];
  private kBuf?: Tensor; // [B, Hkv, nbuf, Dh]
  private vBuf?: Tensor; // [B, Hkv, nbuf, Dh]
  private pos?: Tensor; // [B, Lc] int32
  private view?: { k: Tensor; v: Tensor };

  constructor(
    readonly batch: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly settings: GearCacheSettings,
  ) {}

  get length(): number {
    return this.pos ? (this.pos.shape[1] as number) : 0;
  }
  /** Tokens held in compressed chunks. */
  get compressedLength(): number {
    return this.chunks.length * this.settings.buffer;
  }

  append(k: Tensor, v: Tensor, positions: Tensor): void {
    this.dropView();
    const grow = (old: Tensor | undefined, add: Tensor, axis: number) => {
      const next = tf.keep(old ? tf.concat([old, add], axis) : tf.clone(add));
      old?.dispose();
      return next;
    };
    this.kBuf = grow(this.kBuf, k, 2); // [B, Hkv, nbuf + T, Dh]
    this.vBuf = grow(this.vBuf, v, 2);
    this.pos = grow(this.pos, positions, 1); // [B, Lc + T]
    const nb = this.settings.buffer;
    while ((this.kBuf.shape[2] as number) >= nb) {
      const [B, Hkv, nbuf, Dh] = this.kBuf.shape as number[];
      const compressBuffer = (buf: Tensor) => {
        const head = tf.slice(buf, [0, 0, 0, 0], [B, Hkv, nb, Dh]); // [B, Hkv, n_b, Dh]
        const data = head.dataSync();
        head.dispose();
        return Array.from({ length: B * Hkv }, (_, bh) => gearCompress(data.subarray(bh * nb * Dh, (bh + 1) * nb * Dh), nb, Dh, this.settings));
      };
      this.chunks.push([compressBuffer(this.kBuf), compressBuffer(this.vBuf)]);
      const rest = (buf: Tensor) => {
        const next = tf.keep(tf.slice(buf, [0, 0, nb, 0], [B, Hkv, nbuf - nb, Dh])); // [B, Hkv, nbuf − n_b, Dh]
        buf.dispose();
        return next;
      };
      this.kBuf = rest(this.kBuf);
      this.vBuf = rest(this.vBuf);
    }
  }

  /** Reconstructed chunks [B, Hkv, C·n_b, Dh] followed by the buffer. */
  private materialize(): { k: Tensor; v: Tensor } {
    if (!this.view) {
      const { batch: B, kvHeads: Hkv, headDim: Dh } = this;
      const nb = this.settings.buffer;
      const C = this.chunks.length;
      const build = (kv: 0 | 1, buf: Tensor | undefined) =>
        tf.tidy(() => {
          const out = new Float32Array(B * Hkv * C * nb * Dh);
          for (let c = 0; c < C; c++)
            for (let bh = 0; bh < B * Hkv; bh++) out.set(gearReconstruct(this.chunks[c][kv][bh]), (bh * C + c) * nb * Dh);
          const rec = tf.tensor4d(out, [B, Hkv, C * nb, Dh]);
          return tf.keep(buf ? tf.concat([rec, buf], 2) : rec); // [B, Hkv, Lc, Dh]
        });
      this.view = { k: build(0, this.kBuf), v: build(1, this.vBuf) };
    }
    return this.view;
  }

  private dropView(): void {
    if (this.view) tf.dispose([this.view.k, this.view.v]);
    this.view = undefined;
  }

  keys(): Tensor {
    return this.materialize().k;
  }
  values(): Tensor {
    return this.materialize().v;
  }
  positions(): Tensor {
    return this.pos ?? tf.zeros([this.batch, 0], 'int32');
  }

  /** Σ compressed chunk bytes (keys and values) + buffer 2·B·Hkv·nbuf·Dh·4 + positions B·Lc·4. */
  bytes(): number {
    const compressed = this.chunks.reduce((n, chunk) => n + chunk.flat().reduce((m, c) => m + compressedBytes(c), 0), 0);
    return compressed + [this.kBuf, this.vBuf, this.pos].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    this.dropView();
    tf.dispose([this.kBuf, this.vBuf, this.pos].filter((t): t is Tensor => !!t));
    this.kBuf = this.vBuf = this.pos = undefined;
    this.chunks.length = 0;
  }
}

export class GearKVCacheFactory implements KVCacheFactory {
  readonly needsWeights = false;
  constructor(readonly settings: GearCacheSettings) {}
  create(batch: number, dims: { kvHeads: number; headDim: number }): GearKVCache {
    return new GearKVCache(batch, dims.kvHeads, dims.headDim, this.settings);
  }
}
