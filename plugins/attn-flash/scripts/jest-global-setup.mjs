// `npx jest` skips the package's pretest script: build generated/ here too (a no-op when fresh).
// This file replaces the preset's global setup, so it also runs that one (the SwiftShader
// environment the WebGPU tests need; see jest.global-setup.cjs at the repository root).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const presetSetup = createRequire(import.meta.url)('../../../jest.global-setup.cjs');

export default async function globalSetup() {
  const script = fileURLToPath(new URL('./generate.mjs', import.meta.url));
  const run = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error('attn-flash: scripts/generate.mjs failed; see the output above.');
  await presetSetup();
}
