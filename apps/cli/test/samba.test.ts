/**
 * The Samba example config (configs/samba.json; Ren et al., 2024, "Samba: Simple Hybrid State
 * Space Models for Efficient Unlimited Context Language Modeling"): layers alternate a Mamba
 * mixer and sliding-window (Longformer, no global tokens) attention, each followed by its MLP.
 * The test loads the shipped file through the CLI's loader, trains it for 2 steps at a tiny
 * size with flags, and checks that cached decoding (Mamba state + windowed KV cache) gives the
 * same greedy tokens as recomputing the whole prefix.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, useBackend } from '@weft/core';
import { generate } from '@weft/nn';
import { loadRunConfig } from '../src/config/load-run-config.js';
import { asCausalLM, buildModelFromConfig } from '../src/model/build-model.js';
import { createModelRegistry } from '../src/model/model-registry.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { runWeft } from './helpers.js';

const SAMBA = join(PACKAGE_ROOT, 'configs', 'samba.json');
const dir = mkdtempSync(join(tmpdir(), 'weft-samba-'));
const text = join(dir, 'text.txt');
writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(200));

type Layer = { mixer: { kind: string; attention?: { kind: string; window: number } } };

describe('configs/samba.json (Samba: Mamba + sliding-window attention, each with an MLP)', () => {
  beforeAll(() => useBackend('wasm'));

  it('loads through the CLI loader: alternating mamba / longformer layers, flags override train', () => {
    const { config } = loadRunConfig(SAMBA, { steps: 2, batch: 2, seq: 16, data: text });
    expect(config.plugins).toEqual(['@weft/mixer-mamba', '@weft/attn-longformer']);
    expect(config.train).toMatchObject({ steps: 2, batch: 2, seq: 16 });
    const layout = config.model.layout as Layer[];
    expect(layout).toHaveLength(config.model.layers as number);
    layout.forEach((layer, i) => {
      if (i % 2 === 0) expect(layer.mixer.kind).toBe('mamba');
      else expect(layer.mixer).toMatchObject({ kind: 'attention', attention: { kind: 'longformer' } });
    });
    // Sliding window: shorter than the shipped training sequence, so it really restricts attention.
    const window = layout[1].mixer.attention!.window;
    expect(window).toBeLessThan(loadRunConfig(SAMBA).config.train.seq);
    expect(config.model.feedforward).not.toBeNull();
  });

  it('weft train runs it for 2 steps (seq 48, past the window): finite loss, a run folder', async () => {
    const out = join(dir, 'run');
    const result = await runWeft('train', SAMBA, '--steps', '2', '--batch', '2', '--seq', '48', '--backend', 'wasm', '--data', text, '--out', out, '--json');
    expect(result.err.filter((l) => l.startsWith('weft:'))).toEqual([]);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.out[result.out.length - 1]) as Record<string, unknown>;
    expect(summary.steps).toBe(2);
    for (const key of ['firstLoss', 'lastLoss', 'evalLoss']) expect(Number.isFinite(summary[key])).toBe(true);
    expect(existsSync(join(out, 'metrics.jsonl'))).toBe(true);
    expect(existsSync(join(out, 'checkpoints', 'step-000002', 'model.safetensors'))).toBe(true);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.model.layout).toEqual(loadRunConfig(SAMBA).config.model.layout);
  }, 120_000);

  it('decodes with a cache: the kernels support it, and cached greedy tokens equal recomputation', async () => {
    const { config } = loadRunConfig(SAMBA);
    const registry = await createModelRegistry(config.plugins);
    // Preconditions: the longformer kernel declares decode, the mamba mixer has step().
    const layout = config.model.layout as Layer[];
    const longformer = registry.provider('attention', 'longformer');
    const mambaProvider = registry.provider('mixer', 'mamba');
    const longformerOptions = longformer.options.parse(layout[1].mixer.attention) as Record<string, unknown>;
    const mambaOptions = mambaProvider.options.parse(layout[0].mixer) as Record<string, unknown>;
    expect(longformer.capabilities(longformerOptions, registry)).toMatchObject({ causal: true, decode: true });
    expect(mambaProvider.capabilities(mambaOptions, registry)).toMatchObject({ causal: true, decode: true });
    const model = asCausalLM(buildModelFromConfig(registry, config.model, SAMBA), SAMBA);
    try {
      expect(model.canDecode()).toBe(true);
      expect(typeof model.blocks.at(0).mixer.step).toBe('function');
      expect(typeof model.blocks.at(0).mixer.initState).toBe('function');
      const window = layout[1].mixer.attention!.window;
      // The prompt plus new tokens run past the window, so the windowed cache must drop old keys.
      const prompts = [Array.from({ length: window + 4 }, (_, i) => (i * 37 + 11) % 256), Array.from({ length: window + 4 }, (_, i) => (i * 53 + 7) % 256)];
      const before = tf.memory().numTensors;
      const cached = generate(model, prompts, { maxNewTokens: 6, temperature: 0, useCache: true });
      const recomputed = generate(model, prompts, { maxNewTokens: 6, temperature: 0, useCache: false });
      expect(cached).toEqual(recomputed);
      expect(cached.map((r) => r.length)).toEqual([6, 6]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  }, 120_000);
});
