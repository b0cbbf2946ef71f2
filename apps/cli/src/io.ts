/** Where a command writes: `out` is the result (stdout), `err` is the running commentary (stderr). */
import type { Progress } from '@weft/core';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Training progress display; default: @weft/train's bar on a terminal, lines elsewhere. */
  progress?: Progress;
  /** The current time (for run folder names); default new Date(). */
  now?: () => Date;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** With --json, human-readable lines go to stderr so stdout holds only the JSON result. */
export function reportStream(io: Io, json: boolean): (line: string) => void {
  return json ? io.err : io.out;
}
