/** Options of the 'mingru' and 'minlstm' mixers (the paper's names where it has them). */
import { z } from '@weft/core';

export const minRnnOptions = z.object({
  /** Hidden width = expansion · dModel: the mixer projects D -> hidden, runs the RNN, projects back. */
  expansion: z
    .number({ error: 'expansion must be a number (hidden width = expansion · dModel), e.g. 1 or 2' })
    .positive({ error: 'expansion must be > 0 (hidden width = expansion · dModel); use 1 for the paper\'s default' })
    .default(1),
  /** Biases on the gate and candidate projections (nn.Linear default in the paper's code). */
  bias: z.boolean({ error: 'bias must be true or false' }).default(true),
});

export type MinRnnOptions = z.output<typeof minRnnOptions>;
