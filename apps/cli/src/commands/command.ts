/** A `weft` subcommand: its flags (for parsing and --help) and what it does. */
import type { CommandSpec, ParsedArgs } from '../args.js';
import type { Io } from '../io.js';

export interface Command {
  spec: CommandSpec;
  /** Returns the exit status; throws for errors (main prints them). */
  run(args: ParsedArgs, io: Io): Promise<number>;
  /** Commands that parse their own arguments (e.g. bench) receive them unparsed. */
  runRaw?(argv: readonly string[], io: Io): Promise<number>;
}
