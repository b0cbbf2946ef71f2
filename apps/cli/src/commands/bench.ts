/** weft bench <suite> [options]: the benchmark harness of tools/bench (kernels, train, decode, reducers, memory, all). */
import { UsageError } from '../errors.js';
import type { Command } from './command.js';

export const benchCommand: Command = {
  spec: {
    name: 'bench',
    summary: 'Run the benchmark suites (kernels, train, decode, reducers, memory, all) and write BENCHMARKS.md with PyTorch ratios.',
    positionals: [{ name: 'suite', description: 'kernels, train, decode, reducers, memory or all', required: true }],
    options: [],
    examples: ['weft bench kernels --max-len 4096 --json', 'weft bench --help'],
  },

  async run() {
    throw new UsageError('weft bench parses its own options; run "weft bench --help".');
  },

  async runRaw(argv) {
    const { main } = await import('@weft/bench');
    return main(argv);
  },
};
