import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, silentProgress, tf, useBackend } from '@weft/core';
import { readSafetensorsFile } from '@weft/core/node';
import { findCheckpoint, readCheckpoint, Trainer, TRAIN_VERSION } from '../src/index.js';
import type { TrainerOptions } from '../src/index.js';
import type { MetricsRecord } from '../src/index.js';
import {
  SequenceSource,
  silentLogger,
  snapshot,
  TOY,
  toyModel,
  toySource,
  removeTempDirs,
  tempDir,
} from './toy.js';

afterAll(removeTempDirs);

const quiet = { progress: silentProgress, logger: silentLogger };

function metricLines(outDir: string): MetricsRecord[] {
  return readFileSync(join(outDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsRecord);
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

/** A source whose state() misbehaves from the given cursor on. */
class BrokenStateSource extends SequenceSource {
  constructor(
    readonly brokenFrom: number,
    readonly failure: 'throws' | 'not-json',
  ) {
    super(toySource().options);
  }
  override state(): unknown {
    if (this.cursor < this.brokenFrom) return super.state();
    if (this.failure === 'throws') throw new Error('state() failed');
    return { cursor: BigInt(this.cursor) };
  }
}

describe('checkpoints and resume', () => {
  beforeAll(() => useBackend('cpu'));

  const options = (outDir: string): TrainerOptions => ({
    lr: 1e-2,
    warmupSteps: 10,
    gradAccumulation: 2,
    checkpointEvery: 25,
    evalEvery: 20,
    evalSource: toySource(42),
    evalBatches: 2,
    logEvery: 5,
    seed: 5,
    outDir,
    ...quiet,
  });

  it('a run interrupted at step 50 and resumed matches an uninterrupted one exactly', async () => {
    const straightDir = tempDir();
    const straightLosses = new Map<number, number>();
    const straightModel = toyModel(1);
    const straight = new Trainer(straightModel, {
      ...options(straightDir),
      hooks: [{ afterStep: (i) => straightLosses.set(i.step, i.loss) }],
    });
    const expected = await straight.train(toySource(), { steps: 100 });

    const dir = tempDir();
    const crashed = new Trainer(toyModel(1), {
      ...options(dir),
      hooks: [
        {
          beforeStep: (step) => {
            if (step === 51) throw new Error('simulated crash');
          },
        },
      ],
    });
    await expect(crashed.train(toySource(), { steps: 100 })).rejects.toThrow('simulated crash');
    crashed.dispose();

    // A fresh process: a model initialised differently, a source at its start.
    const resumedModel = toyModel(1234);
    const resumedLosses = new Map<number, number>();
    const resumed = new Trainer(resumedModel, {
      ...options(dir),
      hooks: [{ afterStep: (i) => resumedLosses.set(i.step, i.loss) }],
    });
    const summary = await resumed.train(toySource(), { steps: 100, resume: true });

    expect([...resumedLosses.keys()][0]).toBe(51);
    expect(resumedLosses.get(100)).toBe(straightLosses.get(100));
    for (const [step, loss] of resumedLosses) expect(loss).toBe(straightLosses.get(step));
    expect(snapshot(resumedModel)).toEqual(snapshot(straightModel));
    expect(summary.firstLoss).toBe(expected.firstLoss);
    expect(summary.lastLoss).toBe(expected.lastLoss);
    expect(summary.evalLoss).toBe(expected.evalLoss);
    const strip = (r: MetricsRecord) => ({ ...r, tokensPerSecond: undefined });
    expect(metricLines(dir).map(strip)).toEqual(metricLines(straightDir).map(strip));
    for (const t of [straight, resumed]) t.dispose();
    straightModel.dispose();
    resumedModel.dispose();
  });

  it('stores weights with the model config and versions, optimizer state and trainer state', async () => {
    const dir = tempDir();
    const model = toyModel();
    const trainer = new Trainer(model, { outDir: dir, ...quiet });
    const summary = await trainer.train(toySource(), { steps: 3 });
    expect(summary.checkpoint).toBe(join(dir, 'checkpoints', 'step-000003'));
    const weights = await readSafetensorsFile(
      join(dir, 'checkpoints', 'step-000003', 'model.safetensors'),
    );
    expect(JSON.parse(weights.metadata.config)).toEqual(TOY);
    expect(weights.metadata['@weft/train']).toBe(TRAIN_VERSION);
    expect(Object.keys(weights.tensors).sort()).toEqual(['embedding', 'head.bias', 'head.weight']);
    const { state, optimizer } = await readCheckpoint(dir);
    expect(state.step).toBe(3);
    expect(state.data).toEqual({ cursor: 3 });
    expect(state.schedule).toEqual({
      kind: 'cosine',
      lr: 3e-4,
      warmupSteps: 0,
      decaySteps: 3,
      minLrRatio: 0.1,
    });
    expect(Array.from(optimizer.tensors.step.data)).toEqual([3]);
    expect(Object.keys(optimizer.tensors)).toHaveLength(7);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8'))).toEqual({
      step: 3,
      dir: 'step-000003',
    });
    trainer.dispose();
    model.dispose();
  });

  it('keeps only the last K checkpoints', async () => {
    const dir = tempDir();
    const model = toyModel();
    const trainer = new Trainer(model, { outDir: dir, checkpointEvery: 5, keepLast: 2, ...quiet });
    await trainer.train(toySource(), { steps: 22 });
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual([
      'latest.json',
      'step-000020',
      'step-000022',
    ]);
    trainer.dispose();
    model.dispose();
  });

  it.each(['throws', 'not-json'] as const)(
    'a save that fails midway (data-source state %s) leaves the previous checkpoint as the one resume picks',
    async (failure) => {
      const dir = tempDir();
      const model = toyModel();
      const trainer = new Trainer(model, { outDir: dir, checkpointEvery: 10, ...quiet });
      const error = await caught(trainer.train(new BrokenStateSource(20, failure), { steps: 30 }));
      if (failure === 'throws') expect(error.message).toBe('state() failed');
      else {
        expect(CheckpointError.isInstance(error)).toBe(true);
        expect(error.message).toMatch(
          /^Cannot save the checkpoint for step 20: the trainer state is not JSON .*state\(\) must return plain JSON/,
        );
      }
      expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['latest.json', 'step-000010']);
      expect(await findCheckpoint(dir)).toBe(join(dir, 'checkpoints', 'step-000010'));
      const again = new Trainer(toyModel(9), { outDir: dir, ...quiet });
      expect(await again.resume()).toBe(10);
      trainer.dispose();
      again.dispose();
      model.dispose();
    },
  );

  it('ignores what a crash mid-write leaves behind: temporaries and unpublished directories', async () => {
    const dir = tempDir();
    const model = toyModel();
    const trainer = new Trainer(model, { outDir: dir, ...quiet });
    await trainer.train(toySource(), { steps: 2 });
    const checkpoints = join(dir, 'checkpoints');
    mkdirSync(join(checkpoints, '.tmp-step-000004-123-abc'));
    writeFileSync(join(checkpoints, '.tmp-step-000004-123-abc', 'model.safetensors'), 'partial');
    mkdirSync(join(checkpoints, 'step-000003'));
    writeFileSync(join(checkpoints, 'step-000003', 'model.safetensors'), 'partial');
    expect((await readCheckpoint(dir)).state.step).toBe(2);
    // The next save replaces the unpublished step-000003 and cleans the temporary.
    await trainer.train(toySource(), { steps: 3 });
    expect(readdirSync(checkpoints).sort()).toEqual(['latest.json', 'step-000002', 'step-000003']);
    expect((await readCheckpoint(dir)).state.step).toBe(3);
    trainer.dispose();
    model.dispose();
  });

  it('refuses a checkpoint from a model with another config, leaving the model untouched', async () => {
    const dir = tempDir();
    const model = toyModel();
    const trainer = new Trainer(model, { outDir: dir, ...quiet });
    await trainer.train(toySource(), { steps: 2 });
    const other = toyModel(3, { ...TOY, dim: 8 });
    const before = snapshot(other);
    const otherTrainer = new Trainer(other, quiet);
    const error = await caught(otherTrainer.resume(dir));
    expect(CheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(
      /was saved from a model with a different config \(dim: 16 in the checkpoint vs 8 now\)\. Build the model from the checkpoint's config/,
    );
    expect(snapshot(other)).toEqual(before);
    expect(otherTrainer.step).toBe(0);
    for (const t of [trainer, otherTrainer]) t.dispose();
    model.dispose();
    other.dispose();
  });

  it('refuses corrupt or missing checkpoints with a CheckpointError', async () => {
    const dir = tempDir();
    const model = toyModel();
    const trainer = new Trainer(model, { outDir: dir, ...quiet });
    await trainer.train(toySource(), { steps: 2 });
    const ckpt = join(dir, 'checkpoints', 'step-000002');
    const fresh = toyModel(5);
    const before = snapshot(fresh);
    const freshTrainer = new Trainer(fresh, quiet);
    const tensorsBefore = tf.memory().numTensors;

    const weights = readFileSync(join(ckpt, 'model.safetensors'));
    writeFileSync(join(ckpt, 'model.safetensors'), weights.subarray(0, weights.length - 10));
    const truncated = await caught(freshTrainer.resume(dir));
    expect(CheckpointError.isInstance(truncated)).toBe(true);
    expect(truncated.message).toMatch(/^Truncated safetensors file/);
    writeFileSync(join(ckpt, 'model.safetensors'), weights);

    writeFileSync(join(ckpt, 'trainer.json'), '{"step": 2,');
    await expect(freshTrainer.resume(dir)).rejects.toThrow(
      /trainer\.json is not valid JSON: the checkpoint is corrupt/,
    );
    writeFileSync(join(ckpt, 'trainer.json'), '{"format": "something else"}');
    await expect(freshTrainer.resume(dir)).rejects.toThrow(/is not a Weft trainer state/);

    const empty = tempDir();
    await expect(freshTrainer.resume(empty)).rejects.toThrow(
      /^No checkpoint at .*: expected a checkpoint directory with trainer\.json/,
    );
    expect(snapshot(fresh)).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    for (const t of [trainer, freshTrainer]) t.dispose();
    model.dispose();
    fresh.dispose();
  });

  it('resume: true starts afresh when the run directory has no checkpoint yet', async () => {
    const dir = tempDir();
    const model = toyModel();
    const notes: string[] = [];
    const trainer = new Trainer(model, {
      outDir: dir,
      progress: silentProgress,
      logger: { ...silentLogger, info: (m) => notes.push(m) },
    });
    const summary = await trainer.train(toySource(), { steps: 2, resume: true });
    expect(summary.steps).toBe(2);
    expect(notes[0]).toBe(`No checkpoint in ${dir}; starting from step 0.`);
    trainer.dispose();
    model.dispose();
  });

  it('saving a checkpoint does not leak tensors', async () => {
    const dir = tempDir();
    const model = toyModel();
    const trainer = new Trainer(model, { outDir: dir, checkpointEvery: 1, keepLast: 1, ...quiet });
    const source = toySource();
    await trainer.train(source, { steps: 1 });
    const before = tf.memory().numTensors;
    await trainer.train(source, { steps: 5 });
    await trainer.resume(dir);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    model.dispose();
  });
});

describe('a fresh run', () => {
  beforeAll(() => useBackend('cpu'));

  it("refuses an outDir that holds another run's checkpoints unless asked to resume", async () => {
    const dir = tempDir();
    const first = toyModel();
    const trainer = new Trainer(first, { outDir: dir, ...quiet });
    await trainer.train(toySource(), { steps: 2 });
    const second = toyModel(2);
    const fresh = new Trainer(second, { outDir: dir, ...quiet });
    await expect(fresh.train(toySource(), { steps: 4 })).rejects.toThrow(
      /already holds checkpoints of another run\. Pass resume: true to continue it/,
    );
    expect((await fresh.train(toySource(), { steps: 4, resume: true })).steps).toBe(4);
    for (const t of [trainer, fresh]) t.dispose();
    first.dispose();
    second.dispose();
  });
});
