/**
 * The `weft` command: `main(argv)` parses the subcommand and its flags, runs it, and turns
 * any error into one line on stderr (the stack only with --verbose). Returns the exit status.
 */
import 'reflect-metadata';
import { didYouMean } from '@weft/core';
import { parseArgs } from './args.js';
import { COMMANDS } from './commands/index.js';
import { exitCodeFor, formatError, UsageError } from './errors.js';
import { commandHelp, mainHelp } from './help.js';
import { processIo, type Io } from './io.js';

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.out(mainHelp(COMMANDS.map((c) => c.spec)));
      return name === undefined ? 2 : 0;
    }
    if (name === '--version') {
      io.out('weft 0.1.0');
      return 0;
    }
    const command = COMMANDS.find((c) => c.spec.name === name);
    if (!command) {
      const names = COMMANDS.map((c) => c.spec.name);
      throw new UsageError(`Unknown command "${name}" (commands: ${names.join(', ')}).${didYouMean(name, names)} Run "weft --help" for usage.`);
    }
    if (command.runRaw) return await command.runRaw(rest, io);
    const args = parseArgs(command.spec, rest);
    if (args.options.help) {
      io.out(commandHelp(command.spec));
      return 0;
    }
    return await command.run(args, io);
  } catch (error) {
    io.err(`weft: ${formatError(error, verbose)}`);
    return exitCodeFor(error);
  }
}
