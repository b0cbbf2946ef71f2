/**
 * Test fixtures: a tiny next-token model (embedding → dropout drawn from the step's rng → linear) and a deterministic,
 * resumable data source of sequences that follow x_{t+1} = (a·x_t + 1) mod vocab.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, Module, Rng, tf } from '@weft/core';
import type { Batch, DataSource, Tensor, TrainableModel } from '@weft/core';

export interface ToyConfig {
  vocab: number;
  dim: number;
  dropout: number;
}

export class ToyLM extends Module implements TrainableModel {
  readonly config: ToyConfig;
  readonly embedding: tf.Variable;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(config: ToyConfig, rng: Rng) {
    super();
    this.config = config;
    this.embedding = this.addParameter(
      'embedding',
      [config.vocab, config.dim],
      init.normal(0.5),
      rng.fork('embedding'),
    );
    this.weight = this.addParameter(
      'head.weight',
      [config.dim, config.vocab],
      init.torchLinear(),
      rng.fork('head'),
    );
    this.bias = this.addParameter('head.bias', [config.vocab], init.zeros(), rng.fork('bias'));
  }

  logits(ids: Tensor, training: boolean, rng: Rng): Tensor {
    const { vocab, dropout } = this.config;
    // Embedding lookup as one-hot @ table: the same values as gather, with a cheaper gradient on cpu.
    let h = tf.matMul(tf.oneHot(tf.reshape(ids, [-1]), vocab), this.embedding); // [B·L, D]
    if (training && dropout > 0) {
      const keep = tf.cast(tf.greaterEqual(rng.uniformTensor(h.shape), dropout), 'float32');
      h = tf.div(tf.mul(h, keep), 1 - dropout);
    }
    return tf.add(tf.matMul(h, this.weight), this.bias); // [B·L, V]
  }

  loss(batch: Batch, options: { training: boolean; rng: Rng }): Tensor {
    return tf.tidy(() => {
      const logits = this.logits(batch.inputs, options.training, options.rng);
      const targets = tf.oneHot(tf.reshape(batch.targets, [-1]), this.config.vocab); // [B·L, V]
      const nll = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1)); // [B·L]
      return tf.mean(nll);
    });
  }
}

export interface SequenceSourceOptions {
  vocab: number;
  batch: number;
  length: number;
  seed: number;
}

export class SequenceSource implements DataSource {
  cursor = 0;
  constructor(readonly options: SequenceSourceOptions) {}

  /** The token ids of batch number `index`, [batch, length + 1]. */
  sequences(index: number): number[][] {
    const { vocab, batch, length, seed } = this.options;
    const rng = new Rng(seed).fork(index);
    return Array.from({ length: batch }, () => {
      const row = [rng.int(vocab)];
      for (let t = 0; t < length; t++) row.push((3 * row[t] + 1) % vocab);
      return row;
    });
  }

  next(): Batch {
    const rows = this.sequences(this.cursor++);
    const { batch, length } = this.options;
    return {
      inputs: tf.tensor2d(
        rows.map((r) => r.slice(0, length)),
        [batch, length],
        'int32',
      ),
      targets: tf.tensor2d(
        rows.map((r) => r.slice(1)),
        [batch, length],
        'int32',
      ),
    };
  }

  state(): unknown {
    return { cursor: this.cursor };
  }

  restore(state: unknown): void {
    this.cursor = (state as { cursor: number }).cursor;
  }
}

export const TOY: ToyConfig = { vocab: 16, dim: 16, dropout: 0.1 };

export function toyModel(seed = 1, config: ToyConfig = TOY): ToyLM {
  return new ToyLM(config, new Rng(seed));
}

export function toySource(seed = 7): SequenceSource {
  return new SequenceSource({ vocab: TOY.vocab, batch: 4, length: 8, seed });
}

/** Parameter values by name, as plain arrays. */
export function snapshot(model: Module): Record<string, number[]> {
  return Object.fromEntries(model.namedParameters().map(([n, p]) => [n, Array.from(p.dataSync())]));
}

export const silentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};

const tempDirs: string[] = [];

/** A fresh directory under the OS temp dir, removed by removeTempDirs(). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-train-'));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
