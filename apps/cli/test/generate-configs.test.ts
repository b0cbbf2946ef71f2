/**
 * `weft generate` with a config for each head-layout / KV-cache plugin of issue #8: MQA, GQA, CLA,
 * MLKV, SwitchHead, value residual (SVFormer), InAttention, TOVA, GEAR, RelayAttention. Each is
 * trained for one step by `weft train` (tiny dims, wasm), then sampled through `weft generate`,
 * and the checkpoint's model decodes with its KV cache exactly as it does by recomputing the whole
 * prefix at every token (greedy), except GEAR, which is lossy by design once it compresses.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '@weft/core';
import { generate } from '@weft/nn';
import { ByteTokenizer } from '@weft/tasks';
import { loadCheckpointModel } from '../src/model/load-checkpoint.js';
import { runWeft } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cli-generate-'));
const data = join(dir, 'tiny.txt');
writeFileSync(data, Array.from({ length: 200 }, (_, i) => ['the jury said', 'a man and his dog', 'went to town'][i % 3]).join(' '));

/** Prompt + generated tokens stay under maxLen (48); long enough for GEAR (buffer 4) to compress. */
const PROMPT = 'the jury said a man';
const NEW_TOKENS = 8;

interface Case {
  plugin: string;
  model: Record<string, unknown>;
  /** The cache keeps every key/value exactly, so cached decoding must equal recomputation. */
  lossless: boolean;
}

const CASES: Record<string, Case> = {
  mqa: { plugin: '@weft/heads-mqa', model: { headLayout: { kind: 'mqa' } }, lossless: true },
  gqa: { plugin: '@weft/heads-mqa', model: { headLayout: { kind: 'gqa', kvHeads: 2 } }, lossless: true },
  cla: { plugin: '@weft/heads-cla', model: { headLayout: { kind: 'cla', sharing: 2 }, kvCache: { kind: 'cla' } }, lossless: true },
  mlkv: { plugin: '@weft/heads-mlkv', model: { headLayout: { kind: 'mlkv', groups: 2, kvHeads: 1 }, kvCache: { kind: 'mlkv' } }, lossless: true },
  switchhead: { plugin: '@weft/moe-switchhead', model: { headLayout: { kind: 'switchhead', experts: 2, topK: 1 } }, lossless: true },
  'value residual (svformer)': { plugin: '@weft/heads-value-residual', model: { headLayout: { kind: 'svformer' }, kvCache: { kind: 'svformer' } }, lossless: true },
  inattention: { plugin: '@weft/heads-inattention', model: { headLayout: { kind: 'inattention' } }, lossless: true },
  // A budget above prompt + generation: nothing is evicted, so decoding is exact.
  tova: { plugin: '@weft/kv-tova', model: { kvCache: { kind: 'tova', budget: 64 } }, lossless: true },
  // buffer 4: the 19-byte prompt is compressed in 4-token chunks, so decoding is approximate.
  gear: { plugin: '@weft/kv-gear', model: { kvCache: { kind: 'gear', bits: 4, rank: 1, outlierPercent: 2, buffer: 4 } }, lossless: false },
  relay: { plugin: '@weft/kv-relay', model: { kvCache: { kind: 'relay' } }, lossless: true },
};

describe.each(Object.entries(CASES))('weft generate with %s', (name, { plugin, model, lossless }) => {
  const run = join(dir, name.replace(/\W+/g, '-'));

  beforeAll(async () => {
    const config = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        plugins: [plugin],
        model: { vocab: 259, dModel: 16, layers: 2, heads: 4, maxLen: 48, ...model },
        train: { steps: 1, batch: 2, seq: 16, warmupSteps: 0, evalBatches: 1, backend: 'wasm' },
        data: { path: data, validationFraction: 0.1 },
        sample: { maxTokens: 0 },
      }),
    );
    const trained = await runWeft('train', config, '--out', run, '--json');
    expect(trained.err.filter((l) => l.startsWith('weft:'))).toEqual([]);
    expect(trained.code).toBe(0);
  });

  it('samples a continuation from the checkpoint', async () => {
    const r = await runWeft('generate', run, '--prompt', PROMPT, '--max-tokens', String(NEW_TOKENS), '--temperature', '0', '--backend', 'wasm', '--json');
    expect(r.err.filter((l) => l.startsWith('weft:'))).toEqual([]);
    expect(r.code).toBe(0);
    const { prompt, text } = JSON.parse(r.out[r.out.length - 1]) as { prompt: string; text: string };
    expect(prompt).toBe(PROMPT);
    expect(typeof text).toBe('string');
    expect(text.length).toBeGreaterThan(0);
  });

  it(lossless ? 'decodes with its KV cache exactly as by recomputing the prefix' : 'decodes with its (lossy) KV cache to valid tokens', async () => {
    const { model: m } = await loadCheckpointModel(run);
    try {
      expect(m.canDecode()).toBe(true); // else generate() would silently recompute
      const before = tf.memory().numTensors;
      const prompt = Array.from(new ByteTokenizer().encode(PROMPT));
      const [cached] = generate(m, [prompt], { maxNewTokens: NEW_TOKENS, temperature: 0 });
      expect(cached).toHaveLength(NEW_TOKENS);
      for (const t of cached) expect(Number.isInteger(t) && t >= 0 && t < 259).toBe(true);
      if (lossless) expect(cached).toEqual(generate(m, [prompt], { maxNewTokens: NEW_TOKENS, temperature: 0, useCache: false })[0]);
      // Logits too: prefill the prompt, then step the generated tokens one by one, against one
      // forward over the whole sequence.
      const gap = tf.tidy(() => {
        const all = [...prompt, ...cached];
        const cache = m.initCache(1);
        const outs = [m.step(tf.tensor2d([prompt], [1, prompt.length], 'int32'), cache)];
        for (const t of cached) outs.push(m.step(tf.tensor2d([[t]], [1, 1], 'int32'), cache));
        cache.dispose();
        const stepped = tf.concat(outs, 1); // [1, L, V]
        const full = m.forward(tf.tensor2d([all], [1, all.length], 'int32')); // [1, L, V]
        // [largest |cached − recomputed| logit gap, largest |logit|]
        return [tf.max(tf.abs(tf.sub(stepped, full))).dataSync()[0], tf.max(tf.abs(full)).dataSync()[0]];
      });
      if (lossless) expect(gap[0]).toBeLessThan(1e-4);
      else {
        expect(gap[0]).toBeGreaterThan(1e-7); // the prompt was compressed, so decoding is approximate...
        expect(gap[0]).toBeLessThan(0.1 * gap[1]); // ...but close to exact
      }
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  });
});
