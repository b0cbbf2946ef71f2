#!/usr/bin/env node
/**
 * pnpm check-packages [--root <dir>] [--fix]
 *
 * Checks every workspace package against the standard layout. Exit 0 with a one-line
 * summary when all is well; exit 1 with one "problem / fix" pair per deviation otherwise.
 * --fix only rewrites what is mechanical: a plugin's src/version.ts to package.json's version.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkPackages, formatReport, syncVersionFiles } from '../src/index.js';

const USAGE = 'Usage: pnpm check-packages [--root <repository root>] [--fix]';

function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        root: { type: 'string' },
        fix: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const root = values.root
    ? resolve(process.env.INIT_CWD ?? process.cwd(), values.root)
    : fileURLToPath(new URL('../../..', import.meta.url));

  if (values.fix) {
    const changed = syncVersionFiles({ root, write: (file, text) => writeFileSync(file, text) });
    for (const file of changed) console.log(`fixed ${file}`);
  }
  const result = checkPackages({ root });
  const text = formatReport(result);
  if (result.problems.length) {
    console.error(text);
    return 1;
  }
  console.log(text);
  return 0;
}

process.exitCode = main();
