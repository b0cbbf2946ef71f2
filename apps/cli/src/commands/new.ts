/** weft new app <template> <dir>: start a project from one of apps/templates. */
import { newAppCommand } from '@weft/pack-test';
import { UsageError } from '../errors.js';
import type { Command } from './command.js';

export const newCommand: Command = {
  spec: {
    name: 'new',
    summary: 'Start a project from a template (node-train, web-app), with dependencies on the published packages.',
    positionals: [
      { name: 'what', description: '"app"', required: true },
      { name: 'template', description: 'node-train or web-app', required: true },
      { name: 'dir', description: 'Folder to create', required: true },
    ],
    options: [],
    examples: ['weft new app node-train my-model'],
  },

  async run({ positionals }, io) {
    if (positionals[0] !== 'app') throw new UsageError(`weft new takes "app" first: weft new app <template> <dir>; got "${positionals[0]}".`);
    try {
      for (const line of newAppCommand(positionals[1], positionals[2])) io.out(line);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return 0;
  },
};
