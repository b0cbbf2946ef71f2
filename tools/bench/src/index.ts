/**
 * @weft/bench — Weft's benchmark harness.
 *
 *   import { runBench } from '@weft/bench';
 *   const results = await runBench('kernels', { backend: 'wasm', maxLen: 4096 });
 */
export { runBench, writeReport, suitesOf } from './run-bench.js';
export { main } from './main.js';
export { parseArgs, USAGE, type ParsedArgs } from './args.js';
export {
  DEFAULT_OPTIONS,
  SUITES,
  GiB,
  type BenchOptions,
  type BenchResults,
  type BenchRow,
  type SuiteName,
  type SuiteSelection,
  type TorchInfo,
} from './options.js';
export { attentionForwardFlops, attentionForwardBackwardFlops, gflopsPerSecond } from './flops.js';
export { fitPowerLaw, scalingExponent } from './fit.js';
export { sweepShapes, shouldStop, extrapolate } from './sweep.js';
export { renderMarkdown } from './report/markdown.js';
export { logLogSvg } from './report/svg.js';
export { machineInfo, type MachineInfo } from './environment.js';
