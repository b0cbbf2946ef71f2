/**
 * BENCHMARKS.md, regenerated from a results document: the run's machine, date, backend,
 * threads and load; one table per suite with the PyTorch ratio column; the plots.
 */
import { scalingExponent } from '../fit.js';
import type { BenchResults, BenchRow } from '../options.js';
import { formatLength, formatMiB, formatNumber, formatRatio } from './format.js';
import { markdownTable } from './table.js';

const RATIO_NOTE =
  'Ratio = Weft throughput / PyTorch throughput on the same shapes (PyTorch time ÷ Weft time, or Weft tokens/s ÷ PyTorch tokens/s): ' +
  'below 1 means Weft is slower. Every row is compared with the PyTorch dense-attention version of the same work (kernel rows: dense attention at that shape; train and decode rows: the dense reference LM), so a kernel or mixer row shows its speed against the PyTorch dense baseline. ' +
  '"n/a" means no PyTorch number: Python/torch missing, no torch port (mixer kernel rows), or dense attention at that shape would exceed the memory budget.';

function status(row: BenchRow): string {
  if (row.status !== 'ok') return row.note ?? row.status;
  return row.note ? `ok (${row.note})` : 'ok';
}

export function kernelsTable(rows: readonly BenchRow[]): string {
  const kernels = rows.filter((r) => r.suite === 'kernels');
  const body = kernels.map((r) => [
    r.shape.mask === 'bidirectional' ? `${r.kind} (bidirectional)` : r.kind,
    r.shape.sweep ? `${r.shape.pass} · ${r.shape.sweep} sweep` : String(r.shape.pass),
    formatLength(r.shape.L),
    String(r.shape.H),
    formatNumber(r.metrics.ms),
    r.key.startsWith('attention/') ? formatNumber(r.metrics.gflops) : '—', // attention work only
    formatMiB(r.metrics.peakBytes),
    formatRatio(r.torchRatio),
    status(r),
  ]);
  return markdownTable(
    ['kernel', 'pass', 'L', 'H', 'ms (median)', 'GFLOP/s', 'peak MiB', 'vs PyTorch', 'status'],
    body,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

export function exponentsTable(rows: readonly BenchRow[]): string {
  const groups = new Map<string, Array<{ x: number; y: number }>>();
  for (const r of rows) {
    if (r.suite !== 'kernels' || r.status !== 'ok') continue;
    const key = `${r.kind}|${r.shape.sweep ? `${r.shape.pass} · ${r.shape.sweep} sweep` : r.shape.pass}`;
    groups.set(key, [
      ...(groups.get(key) ?? []),
      { x: Number(r.shape.L), y: r.metrics.ms / (Number(r.shape.B) * Number(r.shape.H)) },
    ]);
  }
  const body = [...groups].map(([key, points]) => {
    const [kind, pass] = key.split('|');
    const p = scalingExponent(points);
    const tail = points.filter((q) => q.x >= 4096);
    const fitted = tail.length >= 2 ? tail : points;
    const xs = fitted.map((q) => q.x);
    return [
      kind,
      pass,
      formatLength(Math.max(...points.map((q) => q.x))),
      `${formatLength(Math.min(...xs))}–${formatLength(Math.max(...xs))} (${fitted.length} pts${tail.length >= 2 ? '' : ', all'})`,
      Number.isFinite(p) ? p.toFixed(2) : '—',
    ];
  });
  return markdownTable(
    ['kernel', 'pass', 'longest L measured', 'fit range', 'fitted exponent p (t ∝ L^p)'],
    body,
    ['l', 'l', 'r', 'l', 'r'],
  );
}

export function trainTable(rows: readonly BenchRow[]): string {
  const body = rows
    .filter((r) => r.suite === 'train')
    .map((r) => [
      String(r.shape.config),
      `${r.shape.layers}×d${r.shape.dModel}, L=${r.shape.L}, B=${r.shape.B}`,
      r.kind,
      formatNumber(r.metrics.ms),
      formatNumber(r.metrics.tokensPerSec),
      formatRatio(r.torchRatio),
      status(r),
    ]);
  return markdownTable(
    ['config', 'model', 'mixer / attention', 'ms / step', 'tokens/s', 'vs PyTorch', 'status'],
    body,
    ['l', 'l', 'l', 'r', 'r', 'r', 'l'],
  );
}

export function decodeTable(rows: readonly BenchRow[]): string {
  const body = rows
    .filter((r) => r.suite === 'decode')
    .map((r) => [
      r.kind,
      r.plugin,
      String(r.shape.mode ?? ''),
      formatLength(r.shape.context),
      formatNumber(r.metrics.msPerToken),
      formatNumber(r.metrics.tokensPerSec),
      formatNumber(r.metrics.prefillMs),
      formatKiB(r.metrics.cacheBytes),
      formatRatio(r.torchRatio),
      status(r),
    ]);
  return markdownTable(
    [
      'variant',
      'plugin',
      'mode',
      'context',
      'ms / token',
      'tokens/s',
      'prefill ms',
      'cache KiB',
      'vs PyTorch',
      'status',
    ],
    body,
    ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

function formatKiB(bytes: number | undefined): string {
  return bytes === undefined ? '—' : formatNumber(bytes / 1024);
}

export function reducersTable(rows: readonly BenchRow[]): string {
  const body = rows
    .filter((r) => r.suite === 'reducers')
    .map((r) => [
      r.kind,
      r.plugin,
      String(r.shape.task ?? ''),
      r.shape.L === undefined
        ? ''
        : `${r.shape.layers}×d${r.shape.dModel}, B=${r.shape.B}, L=${r.shape.L}`,
      formatNumber(r.metrics.reducedLength),
      formatNumber(r.metrics.flops === undefined ? undefined : r.metrics.flops / 1e9),
      formatFactor(r.metrics.flopRatio),
      formatNumber(r.metrics.ms),
      formatFactor(r.metrics.timeRatio),
      formatMiB(r.metrics.peakBytes),
      status(r),
    ]);
  return markdownTable(
    [
      'reducer',
      'plugin',
      'model',
      'shape',
      "L' (reduced layers)",
      'est. GFLOP / step',
      'FLOPs vs baseline',
      'ms / step',
      'time vs baseline',
      'peak MiB',
      'status',
    ],
    body,
    ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

function formatFactor(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`;
}

export function memoryTable(rows: readonly BenchRow[]): string {
  const memory = rows.filter((r) => r.suite === 'memory');
  // Growth of ms/token from the shortest to the longest input of the same variant.
  const first = new Map<string, number>();
  for (const r of memory)
    if (r.status === 'ok' && !first.has(r.kind)) first.set(r.kind, r.metrics.msPerToken);
  const body = memory.map((r) => [
    r.kind,
    r.plugin,
    formatLength(r.shape.T),
    formatLength(r.shape.segmentLength),
    formatNumber(r.metrics.msPerToken),
    formatFactor(
      r.metrics.msPerToken === undefined ? undefined : r.metrics.msPerToken / first.get(r.kind)!,
    ),
    formatNumber(r.metrics.tokensPerSec),
    formatKiB(r.metrics.stateBytes),
    formatMiB(r.metrics.peakBytes),
    status(r),
  ]);
  return markdownTable(
    [
      'memory',
      'plugin',
      'input T',
      'segment',
      'ms / token',
      'vs shortest T',
      'tokens/s',
      'carried state KiB',
      'peak MiB',
      'status',
    ],
    body,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

export interface MarkdownExtras {
  /** Plot paths relative to BENCHMARKS.md. */
  plots: Array<{ path: string; title: string; section?: 'kernels' | 'decode' | 'memory' }>;
  /** Command that reproduces the run. */
  command: string;
}

export function renderMarkdown(results: BenchResults, extras: MarkdownExtras): string {
  const m = results.machine;
  const out: string[] = [];
  out.push('# Weft benchmarks\n');
  out.push(
    `<!-- Generated by tools/bench (${extras.command}); edit the harness, not this file. -->\n`,
  );
  out.push('## Run\n');
  out.push(
    markdownTable(
      ['', ''],
      [
        ['date', results.date],
        [
          'machine',
          `${m.cpu}, ${m.cores} cores, ${formatNumber(m.memoryBytes / 2 ** 30)} GiB RAM, ${m.os}`,
        ],
        ['Node', m.node],
        [
          'backend',
          `${results.backend} (${results.threads} thread${results.threads === 1 ? '' : 's'})`,
        ],
        [
          'load average (1/5/15 min)',
          `start ${results.load.start.join(' / ')}, end ${results.load.end.join(' / ')}`,
        ],
        ['PyTorch baseline', results.torch.note],
        [
          'plugins',
          results.plugins
            .map((p) =>
              p.status === 'loaded'
                ? `${p.name}@${p.version}`
                : `${p.name} (not loaded: ${p.note})`,
            )
            .join('; '),
        ],
        ['command', `\`${extras.command}\``],
      ],
    ),
  );
  if (results.load.start[0] > m.cores * 0.5) {
    out.push(
      `> **Load note:** the machine was shared (1-minute load ${results.load.start[0]} on ${m.cores} cores at the start), so times are noisy and likely pessimistic; compare ratios within this run rather than across runs.\n`,
    );
  }
  for (const note of results.notes) out.push(`> ${note}\n`);
  out.push(`${RATIO_NOTE}\n`);
  const has = (suite: string) => results.rows.some((r) => r.suite === suite);
  const pushPlots = (section: 'kernels' | 'decode' | 'memory') => {
    for (const plot of extras.plots)
      if ((plot.section ?? 'kernels') === section) out.push(`\n![${plot.title}](${plot.path})\n`);
  };
  if (has('kernels')) {
    out.push('## Attention kernels\n');
    out.push(
      'Causal self-attention, B = 1, Dh = 64, H = 8 up to L = 16k and H = 1 beyond. Time is the median of the timed runs after one warm-up. ' +
        'GFLOP/s counts causal attention work for every kernel: forward 4·B·H·L²·Dh / 2, forward+backward 3.5× that ' +
        '(so a sub-quadratic kernel shows dense-equivalent GFLOP/s). Peak MiB is the tf.profile() high-water mark of tensor bytes above the inputs ' +
        '(memory a custom kernel keeps outside tfjs tensors is not counted). A kernel stops at the first length whose extrapolated memory exceeds the budget, ' +
        'whose extrapolated time exceeds the per-point limit, or that throws; the row says which — and resumes at the first longer length with fewer heads (H = 1 past 16k), so a kernel that stops at 16k × 8 heads still gets its 32k and 64k points. ' +
        'Bidirectional-only kernels (marked "(bidirectional)": BigBird, Galerkin, Linformer, Nyström, Reformer, routing, Fourier, …) run the same shapes without the causal mask; they have no PyTorch ratio (the baseline is causal). ' +
        'Mixer rows (`mixer:*`) run a whole mixer sublayer (D = H·Dh) forward; segment-memory mixers (`@weft/memory-*`) are measured in the memory section instead.\n',
    );
    out.push(kernelsTable(results.rows));
    out.push(
      '\nScaling exponents: least-squares slope of log t on log L over the points with L ≥ 4k (up to 64k where the kernel got there; all points when fewer than two are ≥ 4k — the fit range column says which), time per (batch · head). About 2 is quadratic (dense), about 1 linear; on a shared machine single points are noisy, so read exponents to ±0.3. Rows marked "H1 sweep" come from a separate sweep at one head for every L ≥ 4k (`--sweep-heads 1 --min-len 4096 --passes fwd`): a kernel too slow for 8 heads at 8k–16k within the per-point limit still gets a 4k–64k exponent.\n',
    );
    out.push(exponentsTable(results.rows));
    pushPlots('kernels');
  }
  if (has('train')) {
    out.push('\n## Training step\n');
    out.push(
      'Tokens/s of one full step: forward, backward and AdamW (@weft/train), random tokens, median over the timed steps after one warm-up step. Models: learned embedding + sinusoidal positions, pre-norm LayerNorm blocks with multi-head attention (or the mixer) and a GELU MLP (×4), tied output.\n',
    );
    out.push(trainTable(results.rows));
  }
  if (has('decode')) {
    out.push('\n## Decoding\n');
    out.push(
      'Greedy generation with the reference model (4 layers, d = 128, 4 heads) after a random prompt of `context` tokens. `cache`: one model.step per token with the KV cache (or recurrent state); `recompute`: a full forward over the prefix per token. Latency is the median per generated token (first token excluded when there are more than two). ' +
        'Variants: each attention kernel (`dense`, `flash`, …) and mixer (`mixer:*`: its recurrent state replaces the KV cache, so its latency and cache size should stay flat as the context grows), and each head layout or KV cache on the dense model (`heads:*`: MQA, GQA with 2 KV heads, CLA sharing K/V across 2 layers, MLKV, SwitchHead, ResFormer/SVFormer value residuals, InAttention; `kv:*`: TOVA with a 256-token budget, GEAR 4-bit, Relay; these run `cache` only). ' +
        "Cache KiB is the cache's own `bytes()` after the last generated token (K/V, positions and any side state; a mixer's recurrent state).\n",
    );
    out.push(decodeTable(results.rows));
    pushPlots('decode');
  }
  if (has('reducers')) {
    out.push('\n## Token reducers\n');
    out.push(
      'One training step (forward + backward of the loss, no optimizer update) of a 4-layer, d = 128, 4-head model (B = 1, L = 512) whose layers 1–2 run on the sequence a token reducer shortened (`reducers: [{ at: 1, span: 2 }]`), against the same model without the reducer. ' +
        'Reducers allowed in causal models (hourglass, random-LTD, dynamic pooling) run in the causal LM; the others (funnel, ToMe, LTP — their capability says `causal: false`) in the same-shaped bidirectional classifier (mean pooling), each against the baseline of its own task. ' +
        "L' is the length the reducer actually returned in the timed steps (mean over calls). The FLOP estimate counts per layer 24·B·n·d² (projections and MLP) + 4·B·n²·d (scores and values; ½ when causal) with n = L' in the reduced layers, plus the LM head, ×3 for forward + backward; the reducer's own work is not counted. " +
        "Ratios below 1 are savings; a time ratio above the FLOP ratio is the reducer's overhead (gathers, pooling, restores) that the estimate leaves out.\n",
    );
    out.push(reducersTable(results.rows));
  }
  if (has('memory')) {
    out.push('\n## Segment memories\n');
    out.push(
      "Cost per token of a long input processed segment by segment (the model's `segmentLength` = 512; 2 layers, d = 128, 4 heads, B = 1) as the total input T grows, with each memory carrying state from one segment to the next: Transformer-XL (cached hidden states of the previous segment), RMT (memory tokens), Infini-attention (compressive memory), FAM (feedback tokens), Block-Recurrent (recurrent state). `memory:segments-only` is the same segmented model with no memory (each segment alone): the floor. " +
        'ms / token = time of `model.forward` over the whole input ÷ T (inference); a constant-size memory keeps it flat in T ("vs shortest T" ≈ 1×), where full attention over the whole input would grow ∝ T. ' +
        "Carried state KiB is `LayerState.bytes()` after the last segment, from the layer's own `forwardSegment` (or the memory slot's read/write) run over the same number of segments, summed over the layers that carry it. Peak MiB grows with T because the forward keeps every segment's outputs.\n",
    );
    out.push(memoryTable(results.rows));
    pushPlots('memory');
  }
  return out.join('\n');
}
