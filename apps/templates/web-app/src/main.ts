/**
 * Load a checkpoint and generate text, all in the browser.
 *
 * A checkpoint's safetensors `__metadata__.config` holds the model config that built it, so
 * the page rebuilds the same model, copies the weights in with loadModuleState, and samples
 * with generate(). Plugins a config names must be imported below (install their packages).
 */
import 'reflect-metadata';
import { createRegistry, decodeSafetensors, loadModuleState, useBackend, type Plugin } from '@weft/core';
import { buildModel, generate, standard, type CausalLM, type ModelConfigInput } from '@weft/nn';
import { ByteTokenizer } from '@weft/tasks';
import rope from '@weft/pos-rope';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

/** Every plugin package this page can rebuild models with, by package name. */
const PLUGINS: Record<string, Plugin> = { '@weft/pos-rope': rope };

setWasmPaths(new URL('tfjs-wasm/', document.baseURI).href);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const tokenizer = new ByteTokenizer();
let model: CausalLM | undefined;

/** WebGPU when the browser has it, otherwise WASM. */
async function startBackend(): Promise<string> {
  if ('gpu' in navigator) {
    try {
      return await useBackend('webgpu');
    } catch {
      // No adapter (e.g. blocklisted GPU): fall through to wasm.
    }
  }
  return useBackend('wasm');
}

async function load(file: File): Promise<void> {
  const backend = await startBackend();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const { metadata } = decodeSafetensors(bytes, { source: file.name });
  if (!metadata.config) throw new Error(`${file.name} has no model config in its metadata; was it written by @weft/train?`);
  const config = JSON.parse(metadata.config) as ModelConfigInput;
  const missing = (config.plugins ?? []).filter((name) => !PLUGINS[name]);
  if (missing.length) throw new Error(`This model needs ${missing.join(', ')}: npm install it and add it to PLUGINS in src/main.ts.`);
  model?.dispose();
  model = buildModel(createRegistry().use(standard, ...(config.plugins ?? []).map((name) => PLUGINS[name])), config) as CausalLM;
  loadModuleState(model, bytes, file.name);
  $('status').textContent = `Loaded ${file.name} (${model.numParameters().toLocaleString()} parameters) on ${backend}.`;
  $<HTMLButtonElement>('generate').disabled = false;
}

$<HTMLInputElement>('checkpoint').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file) load(file).catch((error: Error) => ($('status').textContent = error.message));
});

$('generate').addEventListener('click', () => {
  if (!model) return;
  const prompt = $<HTMLInputElement>('prompt').value || ' ';
  const maxNewTokens = Math.max(1, Math.round(Number($<HTMLInputElement>('max-tokens').value) || 120));
  const [ids] = generate(model, [Array.from(tokenizer.encode(prompt))], { maxNewTokens, temperature: 0.8, seed: Date.now() % 1e6 });
  $('output').textContent = prompt + tokenizer.decode(ids);
});
