/**
 * Tiny runs of the model-level suites on wasm (fast; no timing assertions): decode with head
 * layouts and KV caches, reducers against their baselines, segment memories as T grows.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench } from '../src/run-bench.js';
import { REDUCER_SHAPE, stepForwardFlops } from '../src/suites/reducers.js';

const outDir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-models-'));
const quiet = {
  backend: 'wasm' as const,
  tiny: true,
  python: false as const,
  outDir,
  log: () => {},
};

describe('decode with head layouts and KV caches', () => {
  it('records cache bytes; MQA keeps fewer bytes than dense; head variants run cache only', async () => {
    const results = await runBench('decode', {
      ...quiet,
      kinds: ['dense', 'mqa', 'tova-256', 'mingru'],
    });
    const byKind = (kind: string, mode = 'cache') =>
      results.rows.find((r) => r.kind === kind && r.shape.mode === mode)!;
    for (const kind of ['dense', 'heads:mqa', 'kv:tova-256', 'mixer:mingru']) {
      const row = byKind(kind);
      expect(row.status).toBe('ok');
      expect(row.metrics.cacheBytes).toBeGreaterThan(0);
    }
    expect(byKind('heads:mqa').plugin).toBe('@weft/heads-mqa');
    expect(byKind('heads:mqa').metrics.cacheBytes).toBeLessThan(byKind('dense').metrics.cacheBytes);
    expect(results.rows.filter((r) => r.kind === 'heads:mqa').map((r) => r.shape.mode)).toEqual([
      'cache',
    ]);
    expect(byKind('dense', 'recompute').status).toBe('ok');
  });
});

describe('reducers suite', () => {
  it("estimates FLOPs per layer: the reduced layers at L', the rest at L", () => {
    const s = { ...REDUCER_SHAPE, B: 1, L: 8, dModel: 2, vocab: 3, layers: 2, at: 1, span: 1 };
    // layer: 24·n·d² + 4·n²·d·½ (causal); LM head 2·L·d·V.
    const layer = (n: number) => 24 * n * 4 + 4 * n * n * 2 * 0.5;
    expect(stepForwardFlops(s, 'causal-lm')).toBe(2 * layer(8) + 2 * 8 * 2 * 3);
    expect(stepForwardFlops(s, 'causal-lm', 4)).toBe(layer(8) + layer(4) + 2 * 8 * 2 * 3);
    expect(stepForwardFlops(s, 'classifier', 4)).toBe(
      24 * 8 * 4 + 4 * 64 * 2 + 24 * 4 * 4 + 4 * 16 * 2,
    );
  });

  it('runs each reducer against the unreduced model of its task', async () => {
    const results = await runBench('reducers', {
      ...quiet,
      kinds: ['hourglass-k2', 'funnel-s2'],
    });
    const kinds = results.rows.map((r) => [r.kind, r.shape.task, r.status]);
    expect(kinds).toEqual([
      ['baseline:causal-lm', 'causal-lm', 'ok'],
      ['reduce:hourglass-k2', 'causal-lm', 'ok'],
      ['baseline:classifier', 'classifier', 'ok'],
      ['reduce:funnel-s2', 'classifier', 'ok'],
    ]);
    const funnel = results.rows.find((r) => r.kind === 'reduce:funnel-s2')!;
    expect(funnel.metrics.reducedLength).toBe(8); // stride 2 on L = 16
    expect(funnel.metrics.flopRatio).toBeLessThan(1);
    expect(funnel.metrics.timeRatio).toBeGreaterThan(0);
    const hourglass = results.rows.find((r) => r.kind === 'reduce:hourglass-k2')!;
    expect(hourglass.metrics.reducedLength).toBe(8);
  });
});

describe('memory suite', () => {
  it('reports ms/token per input length and a carried state that does not grow', async () => {
    const results = await runBench('memory', {
      ...quiet,
      kinds: ['segments-only', 'rmt', 'infini'],
    });
    expect(results.rows.map((r) => [r.kind, r.shape.T])).toEqual([
      ['memory:segments-only', 16],
      ['memory:segments-only', 32],
      ['memory:rmt', 16],
      ['memory:rmt', 32],
      ['memory:infini', 16],
      ['memory:infini', 32],
    ]);
    for (const row of results.rows) {
      expect(row.status).toBe('ok');
      expect(row.metrics.msPerToken).toBeCloseTo(row.metrics.ms / Number(row.shape.T));
    }
    const state = (kind: string, T: number) =>
      results.rows.find((r) => r.kind === kind && r.shape.T === T)!.metrics.stateBytes;
    expect(state('memory:segments-only', 32)).toBe(0);
    for (const kind of ['memory:rmt', 'memory:infini']) {
      expect(state(kind, 16)).toBeGreaterThan(0);
      expect(state(kind, 32)).toBe(state(kind, 16));
    }
  });
});
