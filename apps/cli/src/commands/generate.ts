/** weft generate <checkpoint-or-run-dir> --prompt TEXT: sample a continuation. */
import { BACKEND_NAMES, type BackendName } from '@weft/core';
import { ByteTokenizer } from '@weft/tasks';
import { selectBackend, THREADS_OPTION } from '../backend.js';
import { loadCheckpointModel } from '../model/load-checkpoint.js';
import { sampleText } from '../sample-text.js';
import type { Command } from './command.js';

export const generateCommand: Command = {
  spec: {
    name: 'generate',
    summary: 'Continue a prompt with a trained checkpoint.',
    positionals: [{ name: 'checkpoint', description: 'A run folder or a checkpoint folder.', required: true }],
    options: [
      { name: 'prompt', type: 'string', value: 'TEXT', description: 'The text to continue (default: the run\'s sample prompt).' },
      { name: 'max-tokens', type: 'int', min: 0, value: 'N', description: 'Bytes to generate (default 200, capped by the model\'s maxLen).' },
      { name: 'temperature', type: 'number', min: 0, value: 'T', description: '0 is greedy (default 0.8).' },
      { name: 'top-k', type: 'int', min: 1, value: 'K', description: 'Sample among the K likeliest tokens.' },
      { name: 'top-p', type: 'number', min: 0, exclusiveMin: true, max: 1, value: 'P', description: 'Nucleus sampling mass.' },
      { name: 'seed', type: 'int', min: 0, value: 'S', description: 'Sampling seed (default 0).' },
      { name: 'backend', type: 'string', choices: BACKEND_NAMES, value: 'NAME', description: 'Compute backend (default wasm).' },
      THREADS_OPTION,
      { name: 'json', type: 'boolean', description: 'Print { prompt, text } as one JSON line.' },
    ],
    examples: ['weft generate runs/2025-01-31-120000 --prompt "The jury said" --temperature 0.7'],
  },

  async run({ positionals, options }, io) {
    await selectBackend(((options.backend as string) ?? 'wasm') as BackendName, options.threads as number | undefined);
    const { model, runConfig } = await loadCheckpointModel(positionals[0]);
    try {
      const prompt = (options.prompt as string | undefined) ?? runConfig?.sample.prompt ?? 'The jury said';
      const text = sampleText(model, new ByteTokenizer(), {
        prompt,
        maxTokens: (options.maxTokens as number | undefined) ?? 200,
        temperature: (options.temperature as number | undefined) ?? 0.8,
        topK: options.topK as number | undefined,
        topP: options.topP as number | undefined,
        seed: (options.seed as number | undefined) ?? 0,
      });
      io.out(options.json ? JSON.stringify({ prompt, text }) : prompt + text);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
