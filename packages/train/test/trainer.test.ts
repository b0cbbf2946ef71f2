import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, Rng, silentProgress, tf, TrainingError, useBackend } from '@weft/core';
import type { Batch, Tensor } from '@weft/core';
import { expectNoLeaks } from '@weft/core/testing';
import {
  cosineSchedule,
  createProgress,
  learningRateAt,
  meanEvalLoss,
  Trainer,
} from '../src/index.js';
import type { MetricsRecord } from '../src/index.js';
import {
  silentLogger,
  snapshot,
  TOY,
  toyModel,
  toySource,
  ToyLM,
  type ToyConfig,
  removeTempDirs,
  tempDir,
} from './toy.js';

afterAll(removeTempDirs);

const quiet = { progress: silentProgress, logger: silentLogger };

/** A toy model whose loss is NaN on the chosen (1-based) training calls. */
class FlakyLM extends ToyLM {
  calls = 0;
  constructor(
    config: ToyConfig,
    readonly nanCalls: (call: number) => boolean,
  ) {
    super(config, new Rng(1));
  }
  override loss(batch: Batch, options: { training: boolean; rng: Rng }): Tensor {
    const loss = super.loss(batch, options);
    if (!options.training || !this.nanCalls(++this.calls)) return loss;
    return tf.tidy(() => tf.mul(loss, NaN));
  }
}

describe('Trainer', () => {
  beforeAll(() => useBackend('cpu'));

  it('makes the toy model learn its sequences', async () => {
    const model = toyModel();
    const trainer = new Trainer(model, { lr: 1e-2, warmupSteps: 10, ...quiet });
    const summary = await trainer.train(toySource(), { steps: 150 });
    expect(summary.steps).toBe(150);
    expect(summary.firstLoss).toBeGreaterThan(2); // about ln(16) = 2.77 at initialisation
    expect(summary.lastLoss).toBeLessThan(summary.firstLoss / 3);
    expect(summary.skippedSteps).toBe(0);
    expect(summary.tokensPerSecond).toBeGreaterThan(0);
    trainer.dispose();
    model.dispose();
  });

  it('calls hooks in order, evaluates, and writes metrics.jsonl, loss.svg and a final checkpoint', async () => {
    const outDir = tempDir();
    const model = toyModel();
    const events: string[] = [];
    const losses = new Map<number, number>();
    const evals = new Map<number, number>();
    const evalSource = toySource(99);
    const trainer = new Trainer(model, {
      lr: 5e-3,
      warmupSteps: 4,
      logEvery: 5,
      evalEvery: 10,
      evalSource,
      evalBatches: 3,
      outDir,
      ...quiet,
      hooks: [
        {
          transformBatch: (batch, step) => {
            events.push(`transform ${step}`);
            return batch;
          },
          beforeStep: (step) => events.push(`before ${step}`),
          afterStep: (info) => {
            events.push(`after ${info.step}`);
            losses.set(info.step, info.loss);
          },
          onEval: (info) => evals.set(info.step, info.evalLoss),
        },
      ],
    });
    const summary = await trainer.train(toySource(), { steps: 20 });
    expect(events.slice(0, 6)).toEqual([
      'before 1',
      'transform 1',
      'after 1',
      'before 2',
      'transform 2',
      'after 2',
    ]);
    expect(events).toHaveLength(60);

    const lines = readFileSync(join(outDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as MetricsRecord);
    expect(lines.map((l) => l.step)).toEqual([5, 10, 15, 20]);
    const schedule = cosineSchedule({ lr: 5e-3, warmupSteps: 4, decaySteps: 20, minLrRatio: 0.1 });
    for (const line of lines) {
      expect(line.loss).toBe(losses.get(line.step));
      expect(line.lr).toBeCloseTo(learningRateAt(schedule, line.step - 1), 12);
      expect(line.gradNorm).toBeGreaterThan(0);
      expect(line.tokensPerSecond).toBeGreaterThan(0);
    }
    expect(lines.filter((l) => l.evalLoss !== undefined).map((l) => [l.step, l.evalLoss])).toEqual([
      ...evals.entries(),
    ]);
    expect([...evals.keys()]).toEqual([10, 20]);

    // The last evaluation is the mean loss over the same 3 held-out batches, computed here independently.
    const fresh = toySource(99);
    const expected = await meanEvalLoss(model, fresh, 3, new Rng(0));
    expect(summary.evalLoss).toBeCloseTo(expected, 6);
    expect(evalSource.cursor).toBe(3);

    expect(summary.checkpoint).toBe(join(outDir, 'checkpoints', 'step-000020'));
    const svg = readFileSync(join(outDir, 'loss.svg'), 'utf8');
    expect(svg).toContain('class="series-train"');
    expect(svg).toContain('class="series-eval"');
    trainer.dispose();
    model.dispose();
  });

  it('skips a step whose loss is NaN, leaving the parameters and optimizer untouched', async () => {
    const outDir = tempDir();
    const model = new FlakyLM(TOY, (call) => call === 3);
    const warnings: string[] = [];
    const trainer = new Trainer(model, {
      lr: 1e-2,
      logEvery: 100,
      outDir,
      progress: silentProgress,
      logger: { ...silentLogger, warn: (m) => warnings.push(m) },
    });
    const source = toySource();
    await trainer.train(source, { steps: 2 });
    const before = snapshot(model);
    const summary = await trainer.train(source, { steps: 3 });
    expect(summary.skippedSteps).toBe(1);
    expect(snapshot(model)).toEqual(before);
    expect(trainer.optimizer.stepCount).toBe(2);
    expect(trainer.step).toBe(3);
    expect(warnings[0]).toMatch(
      /^step 3: skipped \(loss NaN, gradient norm NaN\); parameters unchanged, 1 in a row\.$/,
    );
    await trainer.train(source, { steps: 4 });
    expect(snapshot(model)).not.toEqual(before);
    expect(trainer.optimizer.stepCount).toBe(3);
    const lines = readFileSync(join(outDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as MetricsRecord);
    expect(lines.find((l) => l.step === 3)).toEqual({
      step: 3,
      skipped: 'loss NaN, gradient norm NaN',
    });
    trainer.dispose();
    model.dispose();
  });

  it('stops with a TrainingError after maxNonFiniteSteps non-finite steps in a row', async () => {
    const model = new FlakyLM(TOY, (call) => call >= 2);
    const trainer = new Trainer(model, { maxNonFiniteSteps: 3, ...quiet });
    const run = trainer.train(toySource(), { steps: 50 });
    await expect(run).rejects.toThrow(TrainingError);
    await expect(run).rejects.toThrow(
      /^Training stopped at step 4: the loss or gradient norm was not finite \(NaN or Infinity\) for 3 steps in a row/,
    );
    expect(trainer.step).toBe(4);
    trainer.dispose();
    model.dispose();
  });

  it('keeps the tensor count constant over 200 steps (accumulation, clipping, evaluation)', async () => {
    const model = toyModel();
    const trainer = new Trainer(model, {
      gradAccumulation: 2,
      clipNorm: 0.5,
      evalEvery: 50,
      evalSource: toySource(3),
      evalBatches: 2,
      ...quiet,
    });
    const source = toySource();
    await expectNoLeaks(async (i) => {
      await trainer.train(source, { steps: i + 1 });
    }, 200);
    expect(trainer.step).toBe(200);
    trainer.dispose();
    model.dispose();
  });

  it('prints plain progress lines when not on a terminal', async () => {
    const written: string[] = [];
    const stream = {
      write: (s: string) => written.push(s) > 0,
      isTTY: false,
    } as unknown as NodeJS.WritableStream;
    const model = toyModel();
    const trainer = new Trainer(model, {
      progress: createProgress({ stream, intervalMs: 0 }),
      logger: silentLogger,
    });
    await trainer.train(toySource(), { steps: 3 });
    expect(written).toHaveLength(3);
    expect(written[2]).toMatch(/^step 3\/3 loss \d\.\d{3} [\d,]+ tok\/s ETA 0s\n$/);
    trainer.dispose();
    model.dispose();
  });

  it('refuses bad options with the field, the value and the fix', () => {
    const model = toyModel();
    expect(() => new Trainer(model, { gradAccumulations: 2 } as never)).toThrow(
      /^trainer\.gradAccumulations: unknown option\. Did you mean "gradAccumulation"\?/,
    );
    expect(() => new Trainer(model, { lr: -1 })).toThrow(
      /^trainer\.lr: expected a positive number such as 3e-4; got -1 \(number\)$/,
    );
    expect(() => new Trainer(model, { gradAccumulation: 1.5 })).toThrow(ConfigError);
    expect(() => new Trainer(model, { evalEvery: 10 })).toThrow(
      /evalEvery: 10 needs something to evaluate on: pass evalSource/,
    );
    expect(() => new Trainer(model, { checkpointEvery: 10 })).toThrow(/needs outDir/);
    const trainer = new Trainer(model, quiet);
    return expect(trainer.train(toySource(), { steps: 0 })).rejects.toThrow(
      /^train\.steps: expected a whole number of steps >= 1; got 0 \(number\)$/,
    );
  });

  it('writes nothing without outDir', async () => {
    const model = toyModel();
    const cwdBefore = existsSync('metrics.jsonl');
    const trainer = new Trainer(model, quiet);
    const summary = await trainer.train(toySource(), { steps: 2 });
    expect(summary.checkpoint).toBeUndefined();
    expect(existsSync('metrics.jsonl')).toBe(cwdBefore);
    trainer.dispose();
    model.dispose();
  });
});
