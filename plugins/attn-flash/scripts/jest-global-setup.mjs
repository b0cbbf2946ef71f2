// `npx jest` skips the package's pretest script: build generated/ here too (a no-op when fresh).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalSetup() {
  const script = fileURLToPath(new URL('./generate.mjs', import.meta.url));
  const run = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error('attn-flash: scripts/generate.mjs failed; see the output above.');
}
