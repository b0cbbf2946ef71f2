/**
 * Train a byte-level Weft language model on a text file, then sample from it.
 *
 *   npm run build
 *   node dist/train.js my-text.txt [--config config.json] [--steps 300] [--out runs/my-model]
 *
 * The model, training and sampling settings live in config.json. To try another technique,
 * install its package (npm install @weft/attn-flash), list it in model.plugins and set its
 * slot, e.g. "attention": { "kind": "flash" }.
 */
import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createRegistry, isPlugin, useBackend, type Plugin } from '@weft/core';
import { buildModel, generate, standard, type CausalLM, type ModelConfigInput } from '@weft/nn';
import { ByteTokenizer, LanguageModelingSource, splitTrainValidation } from '@weft/tasks';
import { Trainer } from '@weft/train';

interface Config {
  model: ModelConfigInput & { plugins?: string[] };
  train: { steps: number; batchSize: number; seqLen: number; lr: number; warmupSteps?: number; validationFraction?: number };
  generate?: { prompt: string; maxNewTokens: number; temperature?: number };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'config.json' },
    steps: { type: 'string' },
    out: { type: 'string', default: 'runs/latest' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const textFile = positionals[0];
if (!textFile) {
  console.error('Usage: node dist/train.js <text-file> [--config config.json] [--steps N] [--out runs/name] [--backend wasm|cpu]');
  process.exit(2);
}

const config = JSON.parse(await readFile(values.config!, 'utf8')) as Config;
const steps = values.steps ? Number(values.steps) : config.train.steps;

await useBackend(values.backend as 'wasm' | 'cpu');

// Each package named in model.plugins provides slot kinds (e.g. @weft/pos-rope -> "rope").
const plugins: Plugin[] = [];
for (const name of config.model.plugins ?? []) {
  const loaded = (await import(name)) as { default?: unknown };
  if (!isPlugin(loaded.default)) throw new Error(`${name} does not export a Weft plugin as its default export.`);
  plugins.push(loaded.default);
}
const registry = createRegistry().use(standard, ...plugins);
const model = buildModel(registry, config.model) as CausalLM;
console.log(model.summary());

const tokenizer = new ByteTokenizer();
const tokens = tokenizer.encode(await readFile(textFile, 'utf8'));
const { train, validation } = splitTrainValidation(tokens, config.train.validationFraction ?? 0.1);
const { batchSize, seqLen } = config.train;
if (validation.length <= seqLen + 1) throw new Error(`${textFile} is too short: the validation part needs more than ${seqLen + 1} bytes. Use a longer text or a smaller train.seqLen.`);

const trainer = new Trainer(model, {
  lr: config.train.lr,
  warmupSteps: config.train.warmupSteps ?? 0,
  outDir: values.out,
  evalEvery: Math.max(1, Math.floor(steps / 4)),
  evalSource: new LanguageModelingSource(validation, { batchSize, seqLen, shuffle: false }),
  evalBatches: 4,
});
const summary = await trainer.train(new LanguageModelingSource(train, { batchSize, seqLen, seed: 0 }), { steps });
console.log(
  `trained ${summary.steps} steps: loss ${summary.firstLoss.toFixed(3)} -> ${summary.lastLoss.toFixed(3)}` +
    (summary.evalLoss !== undefined ? `, validation ${summary.evalLoss.toFixed(3)}` : '') +
    `, ${Math.round(summary.tokensPerSecond)} tokens/s`,
);
if (summary.checkpoint) console.log(`checkpoint: ${summary.checkpoint}/model.safetensors`);

if (config.generate) {
  const { prompt, maxNewTokens, temperature } = config.generate;
  const [ids] = generate(model, [Array.from(tokenizer.encode(prompt))], { maxNewTokens, temperature, seed: 0 });
  console.log(`sample: ${prompt}${tokenizer.decode(ids)}`);
}
model.dispose();
