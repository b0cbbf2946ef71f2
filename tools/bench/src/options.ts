/**
 * Options of a benchmark run, with the defaults `pnpm bench` uses, and the result types every
 * suite returns. One run = one backend; every suite adds rows to one BenchResults document.
 */
import type { BackendName } from '@weft/core';
import type { MachineInfo } from './environment.js';

export type SuiteName = 'kernels' | 'train' | 'decode' | 'reducers' | 'memory';
export type SuiteSelection = SuiteName | 'all';
export const SUITES: readonly SuiteName[] = ['kernels', 'train', 'decode', 'reducers', 'memory'];

export interface BenchOptions {
  backend: BackendName;
  /** Longest sequence in the kernel sweep (L = 512, 1k, 2k, … up to this). */
  maxLen: number;
  /** Shortest sequence in the kernel sweep. */
  minLen: number;
  /**
   * Fixed head count for every length of the kernel sweep (e.g. 1: a cheap 4k–64k sweep for
   * scaling exponents); rows are marked `sweep: 'H<n>'` and kept apart from the default sweep.
   */
  sweepHeads?: number;
  /** Attention passes the kernel sweep runs (default both). */
  passes: Array<'fwd' | 'fwd+bwd'>;
  /** A kernel stops at the first length whose estimated peak memory exceeds this (bytes). */
  memoryBudget: number;
  /** A kernel also stops when the estimated time of one measurement exceeds this (seconds). */
  maxPointSeconds: number;
  /** Timed repetitions per point (after one untimed warm-up); long points use fewer. */
  reps: number;
  /** wasm pool threads (and PyTorch's thread count, so ratios compare like with like). */
  threads: number;
  /** Decode context lengths. */
  contexts: number[];
  /** New tokens generated (and timed) per decode measurement. */
  decodeTokens: number;
  /** Total input lengths of the memory suite (processed in 512-token segments). */
  memoryLengths: number[];
  /** Decode modes to run: 'cache' (model.step) and/or 'recompute' (full forward per token). */
  decodeModes: Array<'cache' | 'recompute'>;
  /** Timed training steps per config (after one warm-up step). */
  trainSteps: number;
  /** Training configs to run ('reference', 'long'); default both. */
  trainConfigs: string[];
  /**
   * Run each training variant in its own Node process, so one that aborts the wasm heap fails
   * its own row only (default true; `--no-isolate` measures in-process).
   */
  isolateTrain: boolean;
  /** Only these attention/mixer kinds (default: every installed one). */
  kinds?: string[];
  /** Run tools/bench/torch_baseline.py with this Python when it has torch; false skips it. */
  python: string | false;
  /** Directory for results.json (default bench-results/). */
  outDir: string;
  /** Regenerate this BENCHMARKS.md (and SVGs next to it); undefined writes none. */
  markdownPath?: string;
  /** Where SVG plots go (default docs/bench next to BENCHMARKS.md, or tools/bench/results). */
  plotDir?: string;
  /** Keep the other suites' rows from the previous results file of this backend (see merge.ts). */
  merge: boolean;
  /**
   * Measure nothing: re-run only the PyTorch baseline for the existing results file's rows of
   * the chosen suites and recompute their ratios (e.g. after installing a faster BLAS).
   */
  torchOnly: boolean;
  /** Smallest sizes everywhere (tests, smoke runs). */
  tiny: boolean;
  /** Progress lines go here (default stderr). */
  log: (line: string) => void;
  /**
   * Called by a suite with its rows so far before each kernel / variant (runBench writes them
   * to results-<backend>.partial.json, so an interrupted run keeps what it measured).
   */
  checkpoint?: (suiteRows: readonly BenchRow[]) => void;
}

export const GiB = 1024 ** 3;

export const DEFAULT_OPTIONS: BenchOptions = {
  backend: 'wasm',
  maxLen: 65536,
  minLen: 512,
  passes: ['fwd', 'fwd+bwd'],
  memoryBudget: 4 * GiB,
  maxPointSeconds: 120,
  reps: 3,
  threads: 1,
  contexts: [128, 512, 2048],
  decodeTokens: 16,
  decodeModes: ['cache', 'recompute'],
  memoryLengths: [1024, 4096, 16384],
  trainSteps: 3,
  trainConfigs: ['reference', 'long'],
  isolateTrain: true,
  python: '/usr/bin/python3',
  outDir: 'bench-results',
  merge: false,
  torchOnly: false,
  tiny: false,
  log: (line) => process.stderr.write(line + '\n'),
};

/** One measurement. `status` is 'ok', or why the row holds no numbers. */
export interface BenchRow {
  suite: SuiteName;
  /** Key shared with the PyTorch baseline's rows (same shapes, same work). */
  key: string;
  /** Kernel / mixer kind (or model variant). */
  kind: string;
  /** Plugin that provides the kind. */
  plugin: string;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  /** Shape and size fields (L, B, H, Dh, context, ...). */
  shape: Record<string, number | string>;
  /** Measured numbers (ms, gflops, tokensPerSec, peakBytes, ...). */
  metrics: Record<string, number>;
  /** Weft throughput / PyTorch throughput for the same key; undefined when no baseline ran. */
  torchRatio?: number;
}

export interface TorchInfo {
  available: boolean;
  note: string;
  version?: string;
  threads?: number;
  rows: Record<string, Record<string, number>>;
}

export interface BenchResults {
  date: string;
  backend: string;
  threads: number;
  machine: MachineInfo;
  /** 1/5/15-minute load averages when the run started and ended. */
  load: { start: number[]; end: number[] };
  options: Omit<BenchOptions, 'log' | 'checkpoint'>;
  plugins: Array<{ name: string; version: string; status: 'loaded' | 'failed'; note?: string }>;
  rows: BenchRow[];
  torch: TorchInfo;
  notes: string[];
}
