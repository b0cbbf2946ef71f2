/**
 * End to end: build the playground with Vite, serve dist/ on 127.0.0.1, open it in headless
 * Chromium (playwright-core), train 20 steps on WASM and check the loss fell, the attention
 * heatmap has pixels and generation produced text; save a screenshot to
 * test-artifacts/playground.png. Then the same on WebGPU: Debian's Chromium ships SwiftShader
 * (a CPU Vulkan), which gives headless Chromium a WebGPU adapter with WEBGPU_ARGS. When an
 * adapter and device come up, training, the synchronous read-back generation relies on, and
 * generation itself must all work (screenshot test-artifacts/playground-webgpu.png); when none
 * does, the test logs why and passes (a Chromium build without SwiftShader is not a failure).
 *
 * Why these flags: `--enable-unsafe-webgpu` alone already yields the SwiftShader adapter, and
 * training works, but tfjs reads tensors synchronously (`dataSync`, once per generated token)
 * by drawing a WebGPU canvas onto a 2D canvas, and with ANGLE on its default GL backend that
 * copy loses the device ("Device was destroyed", then every createBuffer fails). With ANGLE on
 * Vulkan (`--use-angle=vulkan`, `--enable-features=Vulkan`, `--use-vulkan=swiftshader`) both
 * sides share SwiftShader's Vulkan and the copy works. `--disable-vulkan-surface` must NOT be
 * added: the device then survives but the copy reads zeros. Override with WEFT_WEBGPU_ARGS
 * (space-separated) on a machine with a real GPU.
 *
 * Needs a Chromium: /usr/bin/chromium, or the path in WEFT_CHROMIUM. Without one the test
 * is skipped with a printed reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveDirectory } from './serve-dist.js';

const APP = join(__dirname, '..');
const DIST = join(APP, 'dist');
const ARTIFACTS = join(APP, 'test-artifacts');
const CHROMIUM = process.env.WEFT_CHROMIUM ?? '/usr/bin/chromium';
const BASE_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update'];
const WEBGPU_ARGS = process.env.WEFT_WEBGPU_ARGS?.split(/\s+/).filter(Boolean) ?? [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`playground e2e skipped: no Chromium at ${CHROMIUM} (set WEFT_CHROMIUM to one).`);
const maybe = haveChromium ? describe : describe.skip;

/** Vite 7 is ESM-only and jest runs CommonJS here, so build in a child Node process. */
function buildApp(): void {
  const vitePackage = createRequire(join(APP, 'package.json')).resolve('vite/package.json');
  execFileSync(process.execPath, [join(dirname(vitePackage), 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: APP, stdio: 'inherit' });
}

async function openPage(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
  return page;
}

async function train(page: Page, backend: string, steps: number, timeout = 90_000): Promise<string> {
  await page.selectOption('#backend', backend);
  await page.fill('#steps', String(steps));
  await page.click('#train');
  await page.waitForSelector('body[data-state="trained"], body[data-state="error"]', { timeout });
  return (await page.getAttribute('body', 'data-state'))!;
}

/** Non-white pixels of a canvas, counted in the page. */
function inkedPixels(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (canvas) => {
    const c = canvas as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let count = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) count++;
    return count;
  });
}

interface WebGPUProbe {
  available: boolean;
  reason?: string;
  adapter?: { vendor: string; architecture: string; isFallbackAdapter?: boolean };
}

/** Runs in the page: is there an adapter, and does it give a device? */
async function probeWebGPU(): Promise<WebGPUProbe> {
  type Adapter = { info?: { vendor: string; architecture: string; isFallbackAdapter?: boolean }; requestDevice(): Promise<{ destroy(): void }> };
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
  if (!gpu) return { available: false, reason: `navigator.gpu is missing (secure context: ${isSecureContext}); is --enable-unsafe-webgpu set?` };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { available: false, reason: 'navigator.gpu.requestAdapter() returned null: no WebGPU adapter (no GPU, and no SwiftShader Vulkan in this Chromium)' };
  const info = { vendor: adapter.info?.vendor ?? '?', architecture: adapter.info?.architecture ?? '?', isFallbackAdapter: adapter.info?.isFallbackAdapter };
  try {
    (await adapter.requestDevice()).destroy();
  } catch (error) {
    return { available: false, reason: `requestDevice() failed on ${JSON.stringify(info)}: ${(error as Error).message}`, adapter: info };
  }
  return { available: true, adapter: info };
}

maybe('playground in headless Chromium', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    buildApp();
    expect(existsSync(join(DIST, 'index.html'))).toBe(true);
    expect(existsSync(join(DIST, 'tfjs-wasm', 'tfjs-backend-wasm.wasm'))).toBe(true);
    ({ url, server } = await serveDirectory(DIST));
  }, 120_000);

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  test('trains on WASM, draws the loss and an attention map, generates text', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_ARGS });
    const errors: string[] = [];
    try {
      const page = await openPage(browser, url, errors);
      const state = await train(page, 'wasm', 20);
      expect({ state, status: await page.textContent('#status') }).toEqual({ state: 'trained', status: expect.stringContaining('Trained 20 steps on wasm') });
      expect(await page.getAttribute('body', 'data-backend')).toBe('wasm');

      const losses = await page.evaluate(() => (window as unknown as { weftPlayground: { losses(): number[] } }).weftPlayground.losses());
      expect(losses).toHaveLength(20);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.3);
      expect(Number((await page.textContent('#tokens-per-second'))!.replace(/,/g, ''))).toBeGreaterThan(0);

      expect(await page.getAttribute('#heatmap', 'data-drawn')).toBe('true');
      expect(await inkedPixels(page, '#heatmap')).toBeGreaterThan(100);
      expect(await inkedPixels(page, '#loss')).toBeGreaterThan(100);

      await page.fill('#prompt', 'The jury said');
      await page.click('#generate');
      await page.waitForSelector('body[data-generated="true"]', { timeout: 30_000 });
      const output = (await page.textContent('#output'))!;
      expect(output.startsWith('The jury said')).toBe(true);
      expect(output.length).toBeGreaterThan('The jury said'.length + 10);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'playground.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);

  test('WebGPU (SwiftShader): trains, reads back and generates text when an adapter comes up', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, ...WEBGPU_ARGS] });
    const errors: string[] = [];
    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 1000);
    try {
      const page = await openPage(browser, url, errors);
      const probe = await page.evaluate(probeWebGPU);
      if (!probe.available) {
        console.warn(`playground WebGPU test skipped: ${probe.reason} (Chromium flags: ${WEBGPU_ARGS.join(' ')})`);
        return;
      }

      const state = await train(page, 'webgpu', 2, 240_000);
      expect({ state, status: await page.textContent('#status') }).toEqual({ state: 'trained', status: expect.stringContaining('Trained 2 steps on webgpu') });
      expect(await page.getAttribute('body', 'data-backend')).toBe('webgpu');
      const losses = await page.evaluate(() => (window as unknown as { weftPlayground: { losses(): number[] } }).weftPlayground.losses());
      expect(losses).toHaveLength(2);
      expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      const trainedAt = seconds();

      // Generation reads logits synchronously: that path must return the bytes the GPU holds.
      const readback = await page.evaluate(() =>
        (window as unknown as { weftPlayground: { readbackCheck(): Promise<{ size: number; maxAbsDiff: number; maxAbs: number }> } }).weftPlayground.readbackCheck(),
      );
      expect(readback.maxAbs).toBeGreaterThan(0);
      expect(readback.maxAbsDiff).toBeLessThanOrEqual(1e-6 * readback.maxAbs);

      // generateText runs synchronously and blocks the page for a while on a software GPU, so
      // start it from a timer (a click would wait for the page to answer) and then wait.
      await page.fill('#max-tokens', '8');
      await page.evaluate(() => void setTimeout(() => document.getElementById('generate')!.click(), 0));
      await page.waitForSelector('body[data-generated]', { timeout: 240_000 });
      const output = (await page.textContent('#output'))!;
      expect({ generated: await page.getAttribute('body', 'data-generated'), output }).toEqual({ generated: 'true', output: expect.stringMatching(/^The jury said./s) });
      expect(await page.evaluate(() => (window as unknown as { weftPlayground: { backend(): string } }).weftPlayground.backend())).toBe('webgpu');

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'playground-webgpu.png'), fullPage: true });
      console.log(`playground on WebGPU: adapter ${JSON.stringify(probe.adapter)}; trained 2 steps in ${trainedAt} s, losses ${losses.map((l) => l.toFixed(3)).join(', ')}; ` +
        `sync/async read-back of ${readback.size} logits agree (max |diff| ${readback.maxAbsDiff}); generated ${JSON.stringify(output)}; ${seconds()} s in all.`);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);
});
