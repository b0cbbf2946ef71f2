/**
 * Command-line arguments of `weft-bench <suite> [options]` (also `weft bench`). Parsing is
 * separate from running so the CLI and tests can reuse it.
 */
import { BACKEND_NAMES, type BackendName } from '@weft/core';
import { GiB, SUITES, type BenchOptions, type SuiteSelection } from './options.js';

export const USAGE = `Usage: weft-bench <kernels|train|decode|reducers|memory|all> [options]

  --backend <wasm|cpu|webgpu>   compute backend (default wasm)
  --max-len <n>                 longest kernel sequence (default 65536; e.g. 4096 for a quick run)
  --min-len <n>                 shortest kernel sequence (default 512)
  --passes <fwd,fwd+bwd>        attention passes of the kernel sweep (default both)
  --sweep-heads <n>             one head count at every length (e.g. 1 with --min-len 4096: exponents)
  --memory-budget <GiB>         stop a kernel when its estimated peak memory exceeds this (default 4)
  --max-point-seconds <s>       stop a kernel when one run is estimated to take longer (default 120)
  --reps <n>                    timed repetitions per point after a warm-up (default 3)
  --threads <n>                 wasm pool threads, and PyTorch's thread count (default 1)
  --contexts <a,b,...>          decode context lengths (default 128,512,2048)
  --decode-tokens <n>           tokens generated per decode measurement (default 16)
  --decode-modes <a,b>          cache,recompute (default both)
  --memory-lengths <a,b,...>    memory suite input lengths (default 1024,4096,16384)
  --train-steps <n>             timed training steps (default 3)
  --train-configs <a,b>         reference,long (default both)
  --no-isolate                  train each variant in this process (default: one process per variant,
                                so a variant that aborts the wasm heap fails only its own row)
  --kinds <a,b,...>             only these attention / mixer kinds
  --python <path>               Python with torch for the baseline (default /usr/bin/python3)
  --no-torch                    skip the PyTorch baseline
  --torch-only                  measure nothing: re-run only the PyTorch baseline for the rows of the
                                existing results file (of the chosen suites) and recompute the ratios
  --out <dir>                   results directory (default bench-results)
  --markdown <file>             BENCHMARKS.md to regenerate (default: the repo root's)
  --no-markdown                 write only the JSON
  --plots <dir>                 SVG directory (default docs/bench next to BENCHMARKS.md)
  --merge                       keep other suites' rows from the previous results file (run suites one at a time)
  --tiny                        smallest sizes (smoke test)
  --json                        print the results JSON on stdout`;

export interface ParsedArgs {
  suite: SuiteSelection;
  options: Partial<BenchOptions>;
  json: boolean;
  help: boolean;
  noMarkdown: boolean;
}

function positiveNumber(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0)
    throw new Error(
      `${flag} needs a positive number; got ${value === undefined ? 'nothing' : `"${value}"`}.`,
    );
  return n;
}

function list(flag: string, value: string | undefined): string[] {
  if (!value) throw new Error(`${flag} needs a comma-separated list.`);
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = {
    suite: 'all',
    options: {},
    json: false,
    help: false,
    noMarkdown: false,
  };
  const o = parsed.options;
  let suiteSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i];
    switch (arg) {
      case '--help':
      case '-h':
        parsed.help = true;
        break;
      case '--backend': {
        const name = next();
        if (!BACKEND_NAMES.includes(name as BackendName))
          throw new Error(`--backend must be one of ${BACKEND_NAMES.join(', ')}; got "${name}".`);
        o.backend = name as BackendName;
        break;
      }
      case '--max-len':
        o.maxLen = positiveNumber(arg, next());
        break;
      case '--min-len':
        o.minLen = positiveNumber(arg, next());
        break;
      case '--memory-budget':
        o.memoryBudget = positiveNumber(arg, next()) * GiB;
        break;
      case '--passes': {
        const passes = list(arg, next());
        const bad = passes.filter((p) => p !== 'fwd' && p !== 'fwd+bwd');
        if (bad.length)
          throw new Error(`--passes takes fwd and/or fwd+bwd; got "${bad.join(',')}".`);
        o.passes = passes as Array<'fwd' | 'fwd+bwd'>;
        break;
      }
      case '--sweep-heads':
        o.sweepHeads = positiveNumber(arg, next());
        break;
      case '--max-point-seconds':
        o.maxPointSeconds = positiveNumber(arg, next());
        break;
      case '--reps':
        o.reps = positiveNumber(arg, next());
        break;
      case '--threads':
        o.threads = positiveNumber(arg, next());
        break;
      case '--contexts':
        o.contexts = list(arg, next()).map((s) => positiveNumber(arg, s));
        break;
      case '--decode-tokens':
        o.decodeTokens = positiveNumber(arg, next());
        break;
      case '--decode-modes': {
        const modes = list(arg, next());
        const bad = modes.filter((m) => m !== 'cache' && m !== 'recompute');
        if (bad.length)
          throw new Error(`--decode-modes takes cache and/or recompute; got "${bad.join(',')}".`);
        o.decodeModes = modes as Array<'cache' | 'recompute'>;
        break;
      }
      case '--memory-lengths':
        o.memoryLengths = list(arg, next()).map((s) => positiveNumber(arg, s));
        break;
      case '--train-steps':
        o.trainSteps = positiveNumber(arg, next());
        break;
      case '--train-configs':
        o.trainConfigs = list(arg, next());
        break;
      case '--kinds':
        o.kinds = list(arg, next());
        break;
      case '--python':
        o.python = next();
        break;
      case '--no-torch':
        o.python = false;
        break;
      case '--out':
        o.outDir = next();
        break;
      case '--markdown':
        o.markdownPath = next();
        break;
      case '--no-markdown':
        parsed.noMarkdown = true;
        break;
      case '--plots':
        o.plotDir = next();
        break;
      case '--merge':
        o.merge = true;
        break;
      case '--torch-only':
        o.torchOnly = true;
        break;
      case '--no-isolate':
        o.isolateTrain = false;
        break;
      case '--tiny':
        o.tiny = true;
        break;
      case '--json':
        parsed.json = true;
        break;
      default:
        if (arg.startsWith('-') || suiteSeen)
          throw new Error(`Unknown argument "${arg}".\n\n${USAGE}`);
        if (![...SUITES, 'all'].includes(arg))
          throw new Error(
            `Unknown suite "${arg}" (choose one of ${[...SUITES, 'all'].join(', ')}).`,
          );
        parsed.suite = arg as SuiteSelection;
        suiteSeen = true;
    }
  }
  return parsed;
}
