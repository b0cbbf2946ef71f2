/** A `weft` subcommand: its flags (for parsing and --help) and what it does. */
import type { CommandSpec, ParsedArgs } from '../args.js';
import type { Io } from '../io.js';

export interface Command {
  spec: CommandSpec;
  /** Returns the exit status; throws for errors (main prints them). */
  run(args: ParsedArgs, io: Io): Promise<number>;
}
