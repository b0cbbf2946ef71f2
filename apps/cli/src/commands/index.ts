/** Every `weft` subcommand, in the order --help lists them. */
import type { Command } from './command.js';
import { doctorCommand } from './doctor.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { benchCommand } from './bench.js';
import { initCommand } from './init.js';
import { newCommand } from './new.js';
import { pluginsCommand } from './plugins.js';
import { trainCommand } from './train.js';

export const COMMANDS: readonly Command[] = [trainCommand, evalCommand, generateCommand, pluginsCommand, doctorCommand, initCommand, newCommand, benchCommand];
