/** weft doctor: what works on this machine — Node, each backend, threads, package versions. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BACKEND_NAMES, tf, WeftError, type BackendName } from '@weft/core';
import { describeBackend, formatBackend, selectBackend } from '../backend.js';
import { PACKAGE_JSON_PATH } from '../paths.js';
import type { Command } from './command.js';

const PACKAGES = ['@weft/core', '@weft/nn', '@weft/train', '@weft/tasks', '@tensorflow/tfjs-core'];
/** Dawn can take a while to look for adapters; give up after this long. */
const BACKEND_TIMEOUT_MS = 30_000;

function packageVersion(name: string): string {
  try {
    const require = createRequire(PACKAGE_JSON_PATH);
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'not found';
  }
}

async function tryBackend(name: BackendName): Promise<{ ok: boolean; detail: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not start within ${BACKEND_TIMEOUT_MS / 1000}s`)), BACKEND_TIMEOUT_MS);
  });
  try {
    await Promise.race([selectBackend(name), timeout]);
    const total = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])));
    const sum = (await total.data())[0];
    total.dispose();
    if (sum !== 6) return { ok: false, detail: `started but computed 1+2+3 = ${sum}` };
    return { ok: true, detail: formatBackend(await describeBackend()) };
  } catch (error) {
    return { ok: false, detail: WeftError.isInstance(error) ? error.message : (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export const doctorCommand: Command = {
  spec: {
    name: 'doctor',
    summary: 'Check this machine: Node, which backends start, threads, package versions.',
    positionals: [],
    options: [{ name: 'json', type: 'boolean', description: 'Print one JSON object.' }],
  },

  async run({ options }, io) {
    const backends: Record<string, { ok: boolean; detail: string }> = {};
    for (const name of BACKEND_NAMES) backends[name] = await tryBackend(name);
    if (backends.wasm.ok) await selectBackend('wasm');
    const versions = Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)]));
    const report = { node: process.version, platform: `${process.platform} ${process.arch}`, backends, versions };
    if (options.json) {
      io.out(JSON.stringify(report));
    } else {
      io.out(`node      ${report.node} (${report.platform})`);
      for (const [name, r] of Object.entries(backends)) io.out(`${name.padEnd(9)} ${r.ok ? 'ok' : 'unavailable'}: ${r.detail}`);
      for (const [name, v] of Object.entries(versions)) io.out(`${name.padEnd(22)} ${v}`);
    }
    return backends.wasm.ok || backends.cpu.ok ? 0 : 1;
  },
};
