/** weft init [dir]: a starter config.json and a README.md explaining every field. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@weft/core/node';
import { UsageError } from '../errors.js';
import { CONFIG_GUIDE_PATH, DEFAULT_CONFIG_PATH } from '../paths.js';
import type { Command } from './command.js';

export const initCommand: Command = {
  spec: {
    name: 'init',
    summary: 'Write a starter config.json and a README.md explaining each field.',
    positionals: [{ name: 'dir', description: 'Folder to write into (default: the current folder).' }],
    options: [{ name: 'force', type: 'boolean', description: 'Overwrite existing files.' }],
    examples: ['weft init my-run && weft train my-run/config.json'],
  },

  async run({ positionals, options }, io) {
    const dir = positionals[0] ?? '.';
    const files = { 'config.json': readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), 'README.md': readFileSync(CONFIG_GUIDE_PATH, 'utf8') };
    const existing = Object.keys(files).filter((f) => existsSync(join(dir, f)));
    if (existing.length && !options.force) {
      throw new UsageError(`${existing.map((f) => join(dir, f)).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; pass --force to overwrite, or choose another folder.`);
    }
    for (const [name, text] of Object.entries(files)) await writeFileAtomic(join(dir, name), text);
    io.out(`Wrote ${join(dir, 'config.json')} and ${join(dir, 'README.md')}. Train it with: weft train ${join(dir, 'config.json')}`);
    return 0;
  },
};
