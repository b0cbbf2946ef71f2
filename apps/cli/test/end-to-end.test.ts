/**
 * A whole run through `main`: train a tiny model for 5 steps on tiny text, check the run
 * folder and the --json line, then eval, generate and resume from its checkpoint.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWeft } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cli-e2e-'));
const run = join(dir, 'run');
const text = Array.from({ length: 400 }, (_, i) => ['the jury said', 'a man and his dog', 'went to town'][i % 3]).join(' ');
writeFileSync(join(dir, 'tiny.txt'), text);
const config = {
  model: { vocab: 259, dModel: 16, layers: 1, heads: 2, maxLen: 32 },
  train: { steps: 20, batch: 4, seq: 16, lr: 0.01, warmupSteps: 1, evalBatches: 2, backend: 'cpu' },
  data: { path: join(dir, 'tiny.txt'), validationFraction: 0.1 },
  sample: { prompt: 'the jury', maxTokens: 8 },
};
writeFileSync(join(dir, 'tiny.json'), JSON.stringify(config));

function jsonLine(out: string[]): Record<string, unknown> {
  expect(out).toHaveLength(1);
  return JSON.parse(out[0]) as Record<string, unknown>;
}

describe('weft train / eval / generate on a tiny model', () => {
  let trained: Record<string, unknown>;

  beforeAll(async () => {
    const r = await runWeft('train', join(dir, 'tiny.json'), '--steps', '5', '--out', run, '--json');
    expect(r.err.filter((l) => l.startsWith('weft:'))).toEqual([]);
    expect(r.code).toBe(0);
    trained = jsonLine(r.out);
  });

  it('prints one JSON line with the results', () => {
    expect(trained).toMatchObject({ steps: 5, backend: 'cpu', runDir: run, checkpoint: join(run, 'checkpoints', 'step-000005') });
    for (const key of ['firstLoss', 'lastLoss', 'evalLoss', 'evalLossBefore', 'bitsPerByte', 'tokensPerSecond']) {
      expect(Number.isFinite(trained[key])).toBe(true);
    }
    // An untrained byte model is near uniform: ln(259) nats = log2(259) ≈ 8 bits per byte.
    expect(trained.bitsPerByteBefore as number).toBeGreaterThan(7);
    expect(trained.bitsPerByte as number).toBeCloseTo((trained.evalLoss as number) / Math.LN2, 6);
    expect(trained.lastLoss as number).toBeLessThan(trained.firstLoss as number);
  });

  it('writes the run folder: checkpoint, metrics.jsonl, loss-curve.svg, config.json', () => {
    expect(readdirSync(join(run, 'checkpoints', 'step-000005')).sort()).toEqual(['model.safetensors', 'optimizer.safetensors', 'trainer.json']);
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics[0]).toEqual({ step: 0, evalLoss: trained.evalLossBefore });
    expect(metrics.filter((m) => m.loss !== undefined).map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    expect(metrics[metrics.length - 1]).toEqual({ step: 5, evalLoss: trained.evalLoss });
    expect(readFileSync(join(run, 'loss-curve.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const saved = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(saved.train).toMatchObject({ steps: 5, batch: 4, seq: 16 });
    expect(saved.model).toEqual(config.model);
  });

  it('eval rebuilds the model from the checkpoint and reproduces the final validation loss', async () => {
    const r = await runWeft('eval', run, '--backend', 'cpu', '--json');
    expect(r.code).toBe(0);
    const result = jsonLine(r.out);
    expect(result.step).toBe(5);
    expect(result.evalLoss as number).toBeCloseTo(trained.evalLoss as number, 5);
  });

  it('generate continues a prompt, the same way for the same seed', async () => {
    const a = await runWeft('generate', run, '--prompt', 'the', '--max-tokens', '6', '--seed', '3', '--backend', 'cpu', '--json');
    const b = await runWeft('generate', join(run, 'checkpoints', 'step-000005'), '--prompt', 'the', '--max-tokens', '6', '--seed', '3', '--backend', 'cpu', '--json');
    expect(a.code).toBe(0);
    const out = jsonLine(a.out);
    expect(out.prompt).toBe('the');
    expect(typeof out.text).toBe('string');
    expect(b.out).toEqual(a.out);
  });

  it('resumes from the checkpoint up to a larger step count', async () => {
    const r = await runWeft('train', '--resume', run, '--steps', '7', '--json');
    expect(r.code).toBe(0);
    const resumed = jsonLine(r.out);
    expect(resumed).toMatchObject({ steps: 7, firstLoss: trained.firstLoss, checkpoint: join(run, 'checkpoints', 'step-000007') });
    expect(resumed.evalLossBefore as number).toBeCloseTo(trained.evalLoss as number, 5);
    expect(r.err).toContain(`Resumed from ${join(run, 'checkpoints', 'step-000005')} at step 5.`);
  });

  it('refuses to resume a checkpoint of a different config, writing nothing', async () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...config, model: { ...config.model, dModel: 32 } }));
    const r = await runWeft('train', other, '--resume', run, '--steps', '9');
    expect(r.code).toBe(1);
    expect(r.err[r.err.length - 1]).toMatch(/^weft: Checkpoint .*step-000007 was saved from a model with a different config \(dModel: 16 in the checkpoint vs 32 now\)\./);
    expect(existsSync(join(run, 'checkpoints', 'step-000009'))).toBe(false);
  });

  it('says when a run is already at the requested step', async () => {
    const r = await runWeft('train', '--resume', run, '--steps', '7');
    expect(r.code).toBe(2);
    expect(r.err[r.err.length - 1]).toBe(`weft: ${run} is already at step 7; pass --steps with a larger total (e.g. --steps 14) to train further.`);
  });

  it('rejects eval of a folder without a checkpoint', async () => {
    const r = await runWeft('eval', dir, '--backend', 'cpu');
    expect(r.code).toBe(1);
    expect(r.err).toEqual([`weft: No checkpoint at ${dir}: expected a checkpoint directory with trainer.json, or a run directory with checkpoints/latest.json.`]);
  });
});
