#!/usr/bin/env node
// `weft-bench <suite> [options]`. After a build it runs dist/run.js; in a source checkout
// without a build it runs src/run.ts through tsx, resolving @weft/* packages to their sources.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/main.js', import.meta.url);

if (existsSync(fileURLToPath(built))) {
  await import('reflect-metadata');
  const { main } = await import(built.href);
  process.exitCode = await main(process.argv.slice(2));
} else {
  let tsx;
  try {
    tsx = createRequire(import.meta.url).resolve('tsx');
  } catch {
    console.error(
      'weft-bench: not built (no dist/main.js) and tsx is not installed to run it from source. Run `pnpm build` first.',
    );
    process.exit(1);
  }
  // The `source` condition makes @weft/* imports resolve to src/ (see each package's exports map).
  const entry = fileURLToPath(new URL('../src/run.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', tsx, entry, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
  });
}
