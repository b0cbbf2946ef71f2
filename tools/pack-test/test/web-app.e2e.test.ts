/**
 * The web-app template in a browser, end to end:
 *
 * 1. Trains a tiny RoPE language model in Node with @weft/train's Trainer on a short repeated
 *    text, which writes a real checkpoint (`<outDir>/checkpoints/step-…/model.safetensors`,
 *    its metadata holding the model config) — the file a user would pick.
 * 2. Builds apps/templates/web-app with Vite (its own vite.config.ts; @weft/* from sources),
 *    serves dist/ on 127.0.0.1 and opens it in headless Chromium (playwright-core).
 * 3. Picks the checkpoint in the file input: the page must report it loaded with the model's
 *    parameter count on wasm (no WebGPU adapter without a GPU or the SwiftShader flags);
 *    then generates from a prompt: the text must continue the prompt, in the training text's
 *    alphabet (a model with random weights would emit arbitrary bytes). Screenshot:
 *    tools/pack-test/test-artifacts/web-app.png.
 * 4. The same with WebGPU: Chromium with the SwiftShader flags the playground's e2e test
 *    explains (WEFT_WEBGPU_ARGS overrides them). When an adapter comes up the page must load
 *    the model on webgpu and generate in the same alphabet (web-app-webgpu.png); when none
 *    does, the test logs why and passes.
 *
 * Needs a Chromium: /usr/bin/chromium, or the path in WEFT_CHROMIUM; skipped with a message
 * without one.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createRegistry, useBackend } from '@weft/core';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import rope from '@weft/pos-rope';
import { ByteTokenizer, LanguageModelingSource } from '@weft/tasks';
import { Trainer } from '@weft/train';
import { serveDirectory } from './support/serve.js';

const CHROMIUM = process.env.WEFT_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update'];
const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
const TEXT = 'the cat sat on the mat. the dog sat on the log. '.repeat(40);
const PROMPT = 'the ';
const WEBGPU_ARGS = process.env.WEFT_WEBGPU_ARGS?.split(/\s+/).filter(Boolean) ?? [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`web-app e2e skipped: no Chromium at ${CHROMIUM} (set WEFT_CHROMIUM to one).`);
const maybe = haveChromium ? describe : describe.skip;

maybe('web-app template in headless Chromium', () => {
  let tmp: string;
  let checkpoint: string;
  let parameters: number;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'weft-web-app-'));
    execFileSync(process.execPath, [join(__dirname, 'support', 'build-web-app.mjs'), join(tmp, 'dist')], { stdio: 'inherit' });
    expect(existsSync(join(tmp, 'dist', 'index.html'))).toBe(true);
    expect(readdirSync(join(tmp, 'dist', 'tfjs-wasm')).some((f) => f.endsWith('.wasm'))).toBe(true);

    await useBackend('wasm');
    const config = { vocab: 259, dModel: 32, layers: 1, heads: 2, positional: { kind: 'rope' }, plugins: ['@weft/pos-rope'] };
    const model = buildModel(createRegistry().use(standard, rope), config) as CausalLM;
    parameters = model.numParameters();
    const trainer = new Trainer(model, { lr: 1e-2, warmupSteps: 0, outDir: join(tmp, 'run') });
    const tokens = new ByteTokenizer().encode(TEXT);
    const summary = await trainer.train(new LanguageModelingSource(tokens, { batchSize: 8, seqLen: 128, seed: 0 }), { steps: 300 });
    expect(summary.lastLoss).toBeLessThan(summary.firstLoss - 2);
    checkpoint = join(summary.checkpoint!, 'model.safetensors');
    expect(existsSync(checkpoint)).toBe(true);
    model.dispose();

    ({ url, server } = await serveDirectory(join(tmp, 'dist')));
  }, 180_000);

  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * Opens the page, picks the checkpoint, generates `tokens` tokens. Returns what the page
   * showed, or the reason WebGPU is unavailable when `requireAdapter` and there is none.
   */
  type Outcome = { skipped: string } | { status: string; count: string; output: string; errors: string[] };

  async function run(browser: Browser, options: { tokens: number; screenshot: string; requireAdapter?: boolean }): Promise<Outcome> {
    const errors: string[] = [];
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`HTTP ${r.status()}: ${r.url()}`));
    await page.goto(url);
    if (options.requireAdapter) {
      const reason = await page.evaluate(async () => {
        const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
        if (!gpu) return 'navigator.gpu is missing';
        return (await gpu.requestAdapter()) ? undefined : 'navigator.gpu.requestAdapter() returned null (no GPU, and no SwiftShader Vulkan in this Chromium)';
      });
      if (reason) return { skipped: reason };
    }
    expect(await page.textContent('#status')).toBe('No model loaded.');
    expect(await page.isDisabled('#generate')).toBe(true);

    await page.setInputFiles('#checkpoint', checkpoint);
    await page.waitForFunction(() => document.getElementById('status')!.textContent !== 'No model loaded.', undefined, { timeout: 120_000 });
    const status = (await page.textContent('#status'))!;
    const count = await page.evaluate((n) => n.toLocaleString(), parameters); // in the page's own locale

    await page.fill('#prompt', PROMPT);
    await page.fill('#max-tokens', String(options.tokens));
    // generate() runs synchronously; on a software GPU that blocks the page for a while, so
    // click from a timer (Playwright's click would wait for the page to answer), then wait.
    await page.evaluate(() => void setTimeout(() => document.getElementById('generate')!.click(), 0));
    await page.waitForFunction(() => (document.getElementById('output')!.textContent ?? '').length > 0, undefined, { timeout: 300_000, polling: 500 });
    const output = (await page.textContent('#output'))!;
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, options.screenshot), fullPage: true });
    return { status, count, output, errors };
  }

  /** The generated part must continue the prompt in the training text's alphabet. */
  function expectTrainedText(output: string, minChars: number): void {
    expect(output.startsWith(PROMPT)).toBe(true);
    const generated = [...output.slice(PROMPT.length)];
    expect(generated.length).toBeGreaterThanOrEqual(minChars);
    const alphabet = new Set(TEXT);
    expect(generated.filter((c) => alphabet.has(c)).length / generated.length).toBeGreaterThan(0.9);
  }

  test('loads a checkpoint written by @weft/train and generates text on wasm', async () => {
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const result = await run(browser, { tokens: 120, screenshot: 'web-app.png' });
      if ('skipped' in result) throw new Error(result.skipped); // never: no adapter is required here
      console.log(`web-app on wasm: ${result.status} Generated: ${JSON.stringify(result.output)}`);
      expect(result.status).toBe(`Loaded model.safetensors (${result.count} parameters) on wasm.`);
      expectTrainedText(result.output, 60); // 120 new byte tokens; a stray special id decodes to nothing
      expect(result.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);

  test('WebGPU (SwiftShader): loads and generates on webgpu when an adapter comes up', async () => {
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...WEBGPU_ARGS] });
    const started = Date.now();
    try {
      const result = await run(browser, { tokens: 16, screenshot: 'web-app-webgpu.png', requireAdapter: true });
      if ('skipped' in result) {
        console.warn(`web-app WebGPU test skipped: ${result.skipped} (Chromium flags: ${WEBGPU_ARGS.join(' ')})`);
        return;
      }
      console.log(`web-app on WebGPU: ${result.status} Generated: ${JSON.stringify(result.output)} (${Math.round((Date.now() - started) / 1000)} s)`);
      expect(result.status).toBe(`Loaded model.safetensors (${result.count} parameters) on webgpu.`);
      expectTrainedText(result.output, 8);
      expect(result.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);
});
