#!/usr/bin/env node
/**
 * pnpm publint-all: run publint (packaging lint: exports map, files, types resolution) on every
 * publishable workspace package — packages/* and plugins/* that are not private. Packages
 * must be built first (dist/ is what gets published). Exit 1 when any package has an error.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = fileURLToPath(new URL('../../..', import.meta.url));
let failed = 0;
let checked = 0;
for (const group of ['packages', 'plugins']) {
  for (const name of readdirSync(join(root, group)).sort()) {
    const dir = join(root, group, name);
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    if (pkg.private) continue;
    const { messages } = await publint({ pkgDir: dir, pack: 'pnpm', level: 'warning' });
    checked++;
    const errors = messages.filter((m) => m.type === 'error');
    for (const m of messages) console.log(`${pkg.name}: ${m.type}: ${formatMessage(m, pkg) ?? m.code}`);
    if (errors.length) failed++;
  }
}
console.log(failed ? `publint: ${failed} of ${checked} packages have errors` : `publint: ${checked} packages OK`);
process.exit(failed ? 1 : 0);
