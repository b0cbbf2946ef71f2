/**
 * The CLI ships every Weft plugin: `weft plugins --all` loads each one by name and lists its
 * providers with their papers, and `weft train` accepts a config that combines plugins.
 */
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledPluginPackages } from '../src/plugins/plugin-candidates.js';
import { runWeft } from './helpers.js';

test('weft plugins --all lists every bundled plugin with its paper', async () => {
  const result = await runWeft('plugins', '--all', '--json');
  expect(result.err).toEqual([]);
  expect(result.code).toBe(0);
  const rows = JSON.parse(result.out.join('')) as Array<{ slot: string; kind: string; package: string; paper: { arxiv: string | null } | null }>;
  const packages = new Set(rows.map((r) => r.package));
  for (const name of bundledPluginPackages()) expect(packages).toContain(name);
  expect(bundledPluginPackages().length).toBeGreaterThan(40);
  expect(rows.find((r) => r.kind === 'rope')).toMatchObject({ slot: 'positional', package: '@weft/pos-rope', paper: { arxiv: '2104.09864' } });
});

test('weft train accepts a config combining plugins (rope + a mamba layer + MoE)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-plugins-'));
  const data = join(dir, 'text.txt');
  writeFileSync(data, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      plugins: ['@weft/pos-rope', '@weft/mixer-mamba', '@weft/moe-ffn'],
      model: {
        vocab: 259,
        dModel: 16,
        layers: 2,
        heads: 2,
        maxLen: 32,
        positional: { kind: 'rope' },
        layout: [{ mixer: { kind: 'mamba', d_state: 4 } }, { feedforward: { kind: 'moe', experts: 2 } }],
      },
      train: { steps: 2, batch: 2, seq: 16, backend: 'cpu', evalBatches: 1 },
      data: { path: data },
      sample: { maxTokens: 4 },
    }),
  );
  const out = join(dir, 'run');
  const result = await runWeft('train', config, '--out', out, '--json');
  expect(result.err.filter((l) => l.startsWith('weft:'))).toEqual([]);
  expect(result.code).toBe(0);
  const summary = JSON.parse(result.out[result.out.length - 1]);
  expect(summary.steps).toBe(2);
  expect(existsSync(join(out, 'metrics.jsonl'))).toBe(true);
});
