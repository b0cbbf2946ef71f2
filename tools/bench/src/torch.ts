/**
 * The PyTorch baseline: tools/bench/torch_baseline.py runs the same shapes (dense causal
 * attention in plain matmul + softmax, the same LM training step with AdamW, the same
 * decoding) and prints JSON. We send it the keys Weft measured, so both sides do the same
 * work, and attach ratio = Weft throughput / PyTorch throughput to each row (> 1: Weft is
 * faster). Without Python or torch the ratio is "n/a".
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchRow, TorchInfo } from './options.js';

export const TORCH_SCRIPT = fileURLToPath(new URL('../torch_baseline.py', import.meta.url));

/** What the Python side needs for one key. */
export interface TorchTask {
  key: string;
  suite: BenchRow['suite'];
  shape: Record<string, number | string>;
  reps: number;
}

export function torchTasks(rows: readonly BenchRow[]): TorchTask[] {
  const seen = new Map<string, TorchTask>();
  for (const r of rows) {
    if (r.status !== 'ok' || seen.has(r.key)) continue;
    if (r.suite === 'kernels' && !r.key.startsWith('attention/')) continue; // mixers have no torch port
    if (r.suite === 'reducers' || r.suite === 'memory') continue; // no torch port (see README)
    const reps =
      r.suite === 'kernels'
        ? (r.metrics.reps ?? 1)
        : r.suite === 'train'
          ? (r.metrics.steps ?? 1)
          : 1;
    seen.set(r.key, { key: r.key, suite: r.suite, shape: r.shape, reps });
  }
  return [...seen.values()];
}

/**
 * Run the script with `python`; an unavailable interpreter or torch gives available: false and
 * the reason. Dense attention shapes whose L×L tensors would exceed `memoryBudget` are skipped
 * by the script (ratio "n/a"): on a shared machine they could exhaust memory.
 */
export function runTorchBaseline(
  python: string | false,
  tasks: readonly TorchTask[],
  memoryBudget: number,
  threads = 1,
  timeoutMs = 30 * 60 * 1000,
): TorchInfo {
  if (!python)
    return { available: false, note: 'PyTorch baseline disabled (--no-torch)', rows: {} };
  if (!existsSync(TORCH_SCRIPT))
    return { available: false, note: `missing ${TORCH_SCRIPT}`, rows: {} };
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0)
    return {
      available: false,
      note: `${python} has no torch (${(probe.error?.message ?? probe.stderr).trim().split('\n').pop()})`,
      rows: {},
    };
  if (!tasks.length)
    return { available: true, note: 'no rows to compare', version: probe.stdout.trim(), rows: {} };
  const run = spawnSync(python, [TORCH_SCRIPT], {
    input: JSON.stringify({ tasks, memoryBudget, threads }),
    // OpenBLAS keeps its own thread pool; pin it to the same count as torch's.
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    return {
      available: false,
      note: `torch_baseline.py failed: ${(run.error?.message ?? run.stderr).trim().split('\n').slice(-1)[0]}`,
      rows: {},
    };
  }
  const parsed = JSON.parse(run.stdout) as {
    torch: string;
    threads: number;
    blas?: string;
    rows: Record<string, Record<string, number>>;
  };
  return {
    available: true,
    note: `PyTorch ${parsed.torch}, ${parsed.threads} thread(s), ${parsed.blas ?? 'unknown'} BLAS`,
    version: parsed.torch,
    threads: parsed.threads,
    rows: parsed.rows,
  };
}

/** Weft / PyTorch throughput for one row, or undefined when either side has no number. */
export function torchRatio(
  row: BenchRow,
  torch: Record<string, number> | undefined,
): number | undefined {
  if (!torch || row.status !== 'ok') return undefined;
  if (row.metrics.tokensPerSec !== undefined && torch.tokensPerSec)
    return row.metrics.tokensPerSec / torch.tokensPerSec;
  if (row.metrics.ms !== undefined && torch.ms) return torch.ms / row.metrics.ms;
  return undefined;
}

export function attachRatios(rows: BenchRow[], torch: TorchInfo): void {
  for (const row of rows) row.torchRatio = torchRatio(row, torch.rows[row.key]);
}
