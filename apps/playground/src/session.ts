/**
 * One playground run: a model built from a Selection, its data (the bundled text or a
 * synthetic task), an Adam optimizer, and the things the page shows — loss per step,
 * tokens/s, attention maps and generated text. Browser-safe; the page drives it.
 */
import { Rng, tf, type Batch } from '@weft/core';
import { buildModel, generate, RECORD_ATTENTION, type AttentionRecorder, type CausalLM } from '@weft/nn';
import { ByteTokenizer, createTask, LanguageModelingSource, type SyntheticTask } from '@weft/tasks';
import { modelConfig, playgroundRegistry, type Selection } from './choices.js';

export type DataChoice = { kind: 'text'; text: string } | { kind: 'task'; task: string };

export interface StepResult {
  step: number;
  loss: number;
  /** Tokens (batch × sequence) per second over this step, including the loss read-back. */
  tokensPerSecond: number;
}

/** Softmax weights of one head: rows = queries, columns = keys, row-major. */
export interface AttentionMap {
  layer: number;
  head: number;
  size: number;
  weights: Float32Array;
}

export interface SessionOptions {
  batchSize?: number;
  lr?: number;
  seed?: number;
}

export class Session {
  readonly model: CausalLM;
  readonly tokenizer = new ByteTokenizer();
  readonly task: SyntheticTask | undefined;
  readonly losses: number[] = [];
  private readonly source: LanguageModelingSource | undefined;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly rng: Rng;
  private readonly batchSize: number;

  constructor(
    readonly selection: Selection,
    readonly data: DataChoice,
    options: SessionOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 8;
    this.rng = new Rng(options.seed ?? 0);
    if (data.kind === 'task') {
      // Tasks set their own sequence length from their options; copy's is 2 × length.
      this.task = createTask(data.task, taskOptions(data.task, selection.seqLen));
    } else {
      const tokens = this.tokenizer.encode(data.text);
      this.source = new LanguageModelingSource(tokens, { batchSize: this.batchSize, seqLen: selection.seqLen, seed: options.seed ?? 0 });
    }
    const vocab = this.task ? this.task.vocabSize : this.tokenizer.vocabSize;
    this.model = buildModel(playgroundRegistry(), modelConfig(selection, vocab)) as CausalLM;
    this.optimizer = tf.train.adam(options.lr ?? 3e-3);
  }

  get seqLen(): number {
    return this.task ? this.task.seqLen : this.selection.seqLen;
  }

  private nextBatch(): Batch {
    return this.task ? this.task.batch(this.rng.fork(`batch${this.losses.length}`), this.batchSize) : this.source!.next();
  }

  /** One optimizer step. */
  async trainStep(): Promise<StepResult> {
    const started = performance.now();
    const batch = this.nextBatch();
    const step = this.losses.length;
    const lossTensor = this.optimizer.minimize(() => this.model.loss(batch, { training: true, rng: new Rng(step) }) as tf.Scalar, true)!;
    const loss = (await lossTensor.data())[0];
    lossTensor.dispose();
    disposeBatch(batch);
    this.losses.push(loss);
    const seconds = Math.max(performance.now() - started, 1e-3) / 1000;
    return { step: step + 1, loss, tokensPerSecond: (this.batchSize * this.seqLen) / seconds };
  }

  /** A sample input row for the attention map: the start of the text, or one task row. */
  sampleIds(): number[] {
    if (this.task) return Array.from(this.task.sample(new Rng(12345), 1).inputs);
    return Array.from(this.source!.dataset.tokens.subarray(0, this.seqLen));
  }

  /** Tokens of `ids` as short labels (characters for text, ids for tasks). */
  labels(ids: number[]): string[] {
    return ids.map((id) => (this.task ? String(id) : this.tokenizer.decode([id]) || '·'));
  }

  /**
   * Attention weights of every head of every attention layer whose kernel can report them
   * (dense softmax does; flash and linear kernels never build the L × L matrix).
   */
  attentionMaps(ids: number[] = this.sampleIds()): AttentionMap[] {
    const maps: AttentionMap[] = [];
    const recorder: AttentionRecorder = (layer, weights) => {
      const [, H, Lq, Lk] = weights.shape as number[];
      // Row 0 of the batch; the tensor is freed after the call, so copy now.
      const data = weights.dataSync() as Float32Array;
      for (let h = 0; h < H; h++) maps.push({ layer, head: h, size: Lk, weights: data.slice(h * Lq * Lk, (h + 1) * Lq * Lk) });
    };
    const scratch = new Map<string, unknown>([[RECORD_ATTENTION, recorder]]);
    tf.tidy(() => {
      this.model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), { scratch });
    });
    return maps;
  }

  /** Continue a text prompt (text mode). */
  generateText(prompt: string, maxNewTokens = 48, temperature = 0.8, seed = 0): string {
    const ids = Array.from(this.tokenizer.encode(prompt || ' '));
    const [out] = generate(this.model, [ids], { maxNewTokens, temperature, seed });
    return this.tokenizer.decode(out);
  }

  /**
   * Reads the same logits back both ways tfjs offers and compares them: synchronously
   * (`dataSync`, which generation uses; on WebGPU it goes through a canvas) and asynchronously
   * (`data()`, a mapped buffer). Two forwards of one input, so neither read sees the other's
   * CPU copy. A backend whose synchronous path returns wrong bytes shows a large difference.
   */
  async readbackCheck(ids: number[] = this.sampleIds()): Promise<{ size: number; maxAbsDiff: number; maxAbs: number }> {
    const forward = () => tf.tidy(() => this.model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')));
    const [a, b] = [forward(), forward()];
    try {
      const asyncValues = (await a.data()) as Float32Array;
      const syncValues = b.dataSync() as Float32Array;
      let maxAbsDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < asyncValues.length; i++) {
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(asyncValues[i] - syncValues[i]));
        maxAbs = Math.max(maxAbs, Math.abs(asyncValues[i]));
      }
      return { size: asyncValues.length, maxAbsDiff, maxAbs };
    } finally {
      a.dispose();
      b.dispose();
    }
  }

  /** Exact-match accuracy of greedy predictions on fresh task rows (task mode). */
  taskAccuracy(rows = 16): { accuracy: number; exactMatch: number } {
    const task = this.task!;
    const sample = task.sample(new Rng(999), rows);
    const predicted = tf.tidy(() => {
      const logits = this.model.forward(tf.tensor2d(sample.inputs, [rows, sample.seqLen], 'int32'));
      return tf.argMax(logits, -1).dataSync();
    });
    const score = task.score(predicted, sample);
    return { accuracy: score.accuracy, exactMatch: score.exactMatch };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

function disposeBatch(batch: Batch): void {
  for (const t of Object.values(batch)) if (t && typeof (t as tf.Tensor).dispose === 'function') (t as tf.Tensor).dispose();
}

/** Task options sized to the chosen sequence length. */
function taskOptions(task: string, seqLen: number): Record<string, unknown> {
  switch (task) {
    case 'copy':
      return { length: Math.max(2, Math.floor(seqLen / 2)) };
    case 'sorting':
      return { length: Math.max(2, Math.floor(seqLen / 2)) };
    case 'induction-heads':
      return { seqLen: Math.max(3, seqLen) };
    case 'associative-recall': {
      // seqLen = 2·pairs + 2·queries − 1 with queries = pairs / 2.
      const pairs = Math.max(2, Math.floor((seqLen + 1) / 3));
      return { pairs, queries: Math.max(1, Math.floor(pairs / 2)) };
    }
    default:
      return {};
  }
}

/** The synthetic tasks offered in the page. */
export const PLAYGROUND_TASKS = ['copy', 'sorting', 'induction-heads', 'associative-recall'] as const;
