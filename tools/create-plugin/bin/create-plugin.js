#!/usr/bin/env node
/**
 * pnpm create-plugin <family>-<technique> --slot <slot>
 *     [--paper-title "..."] [--arxiv 2104.09864] [--year 2021] [--description "..."]
 *     [--dir plugins] [--changeset-dir .changeset]
 *
 * Writes plugins/<family>-<technique>/ (package.json, tsconfigs, jest config, src/index.ts
 * with the definePlugin manifest, a stub of the technique, a test that fails until real
 * tests are written, the README template) and .changeset/<family>-<technique>-initial.md.
 */
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreatePluginError, createPlugin } from '../src/index.js';

const USAGE = `Usage: pnpm create-plugin <family>-<technique> --slot <slot> [options]

Options:
  --slot <slot>            the core slot it fills (positional, attention, mixer, ...)
  --paper-title <title>    the paper's title
  --arxiv <id>             its arXiv id, e.g. 2104.09864
  --year <year>            its publication year
  --description <text>     package.json description (default: from the paper and slot)
  --dir <path>             parent folder of the new package (default: plugins)
  --changeset-dir <path>   where the changeset goes (default: .changeset beside --dir)
  -h, --help               this text`;

function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        slot: { type: 'string' },
        'paper-title': { type: 'string' },
        arxiv: { type: 'string' },
        year: { type: 'string' },
        description: { type: 'string' },
        dir: { type: 'string' },
        'changeset-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`create-plugin: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(
      `create-plugin: expected one plugin name, got ${positionals.length ? positionals.map((p) => `"${p}"`).join(' ') : 'none'}.\n\n${USAGE}`,
    );
    return 2;
  }

  const workspaceRoot = fileURLToPath(new URL('../../..', import.meta.url));
  // pnpm runs root scripts from the root; resolve user paths against where they typed the command.
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const dir = values.dir ? resolve(cwd, values.dir) : resolve(workspaceRoot, 'plugins');
  const changesetDir = values['changeset-dir']
    ? resolve(cwd, values['changeset-dir'])
    : resolve(dirname(dir), '.changeset');

  try {
    const result = createPlugin(
      {
        name: positionals[0],
        slot: values.slot,
        paperTitle: values['paper-title'],
        arxiv: values.arxiv,
        year: values.year,
        description: values.description,
      },
      { workspaceRoot, dir, changesetDir },
    );
    for (const warning of result.warnings) console.warn(`warning: ${warning}`);
    const show = (path) => relative(cwd, path) || '.';
    console.log(
      `Created ${result.plan.packageName} (${result.plan.slot} kind "${result.plan.kind}") in ${show(result.dir)}/:`,
    );
    for (const file of result.files) console.log(`  ${file}`);
    console.log(`  + changeset ${show(result.changeset)}`);
    console.log(
      [
        '',
        'Next:',
        '  pnpm install                      # link the new package into the workspace',
        `  pnpm --filter ${result.plan.packageName} test   # fails until the real tests are written`,
        '  then implement the technique and its tests (PLUGIN-DONE.md), and fill in the README TODOs.',
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (error instanceof CreatePluginError) {
      console.error(`create-plugin: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = main();
