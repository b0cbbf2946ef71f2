/** Continue a text prompt with a language model (seeded, so a run's samples are repeatable). */
import { ConfigError } from '@weft/core';
import { generate, type CausalLM } from '@weft/nn';
import type { Tokenizer } from '@weft/tasks';

export interface SampleOptions {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
}

/** The prompt's continuation (without the prompt), capped so prompt + continuation fit maxLen. */
export function sampleText(model: CausalLM, tokenizer: Tokenizer, options: SampleOptions): string {
  const prompt = Array.from(tokenizer.encode(options.prompt));
  const maxLen = model.resolved.config.maxLen;
  if (prompt.length >= maxLen) {
    throw new ConfigError('prompt', `is ${prompt.length} tokens but the model's maxLen is ${maxLen}; use a prompt shorter than ${maxLen} bytes.`);
  }
  const [tokens] = generate(model, [prompt], {
    maxNewTokens: Math.min(options.maxTokens, maxLen - prompt.length),
    temperature: options.temperature,
    topK: options.topK,
    topP: options.topP,
    seed: options.seed,
  });
  return tokenizer.decode(tokens);
}

/** One line for a terminal: newlines shown as ⏎. */
export function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '⏎');
}
