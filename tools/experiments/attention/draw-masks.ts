/**
 * Draw the attention mask of each sparse / exact-pattern kernel at L = 64 as an SVG into
 * docs/public/attention/<name>.svg, and write masks.json next to this file.
 *
 * The masks are measured from the kernels themselves, not re-derived from the papers: with
 * q = 0 every allowed logit is 0, so softmax is uniform over the allowed keys, and with
 * v = I (one-hot of the key index, Dv = L) the output row i is that distribution:
 * out[b, h, i, j] = 1/|A_i| > 0 exactly when key j is allowed for query i. Heads are drawn
 * separately when their masks differ.
 *
 * Run from the repository root:
 *   node --conditions=source --import tsx tools/experiments/attention/draw-masks.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { attentionContext, core, loadPlugin, machine, nn, type AttentionKernel } from './load.ts';

const { tf } = core;
const L = 64;
const OUT_DIR = new URL('../../../docs/public/attention/', import.meta.url);

interface Case {
  /** File name (docs/public/attention/<name>.svg). */
  name: string;
  plugin: string;
  config: { kind: string } & Record<string, unknown>;
  causal: boolean;
  heads: number;
  layerIndex?: number;
}

const CASES: Case[] = [
  { name: 'dense-causal', plugin: '(standard)', config: { kind: 'dense' }, causal: true, heads: 1 },
  {
    name: 'longformer',
    plugin: 'attn-longformer',
    config: { kind: 'longformer', window: 4, dilation: [1, 2], globalTokens: [0] },
    causal: false,
    heads: 2,
  },
  {
    name: 'sparse-transformer-strided',
    plugin: 'attn-sparse-transformer',
    config: { kind: 'sparse-transformer', pattern: 'strided', stride: 8 },
    causal: true,
    heads: 2,
  },
  {
    name: 'sparse-transformer-fixed',
    plugin: 'attn-sparse-transformer',
    config: { kind: 'sparse-transformer', pattern: 'fixed', stride: 8, c: 2 },
    causal: true,
    heads: 2,
  },
  {
    name: 'lm-infinite',
    plugin: 'attn-lm-infinite',
    config: { kind: 'lm-infinite', nGlobal: 4, nLocal: 16 },
    causal: true,
    heads: 1,
  },
  {
    name: 'bigbird',
    plugin: 'attn-bigbird',
    config: { kind: 'bigbird', blockSize: 4, numRandomBlocks: 1, seed: 0 },
    causal: false,
    heads: 2,
  },
  {
    name: 'longnet',
    plugin: 'attn-longnet',
    config: { kind: 'longnet', segmentLengths: [16, 32, 64], dilations: [1, 2, 4] },
    causal: true,
    heads: 4,
  },
  {
    name: 'flash-block-local',
    plugin: 'attn-flash',
    config: {
      kind: 'flash',
      blockQ: 8,
      blockK: 8,
      blockMask: { kind: 'local', windowBlocks: 1 },
      implementation: 'tiled',
    },
    causal: false,
    heads: 1,
  },
];

/** The measured mask, one L×L 0/1 array per head. */
function measureMask(kernel: AttentionKernel, c: Case): Uint8Array[] {
  const H = c.heads;
  const out = tf.tidy(() => {
    const q = tf.zeros([1, H, L, L]);
    const k = new core.Rng(1).normalTensor([1, H, L, L]);
    const v = tf.tile(tf.eye(L).reshape([1, 1, L, L]), [1, H, 1, 1]); // v[·, ·, j, :] = e_j
    return kernel.attend(q, k, v, attentionContext(c.causal, 1 / Math.sqrt(L), c.layerIndex ?? 0));
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return Array.from({ length: H }, (_, h) =>
    Uint8Array.from(data.subarray(h * L * L, (h + 1) * L * L), (x) => (x > 1e-6 ? 1 : 0)),
  );
}

const same = (a: Uint8Array, b: Uint8Array) => a.every((x, i) => x === b[i]);

/** One SVG: a panel (L×L cells, allowed = dark) per distinct head mask. */
function svg(
  title: string,
  subtitle: string,
  panels: { label: string; mask: Uint8Array }[],
): string {
  const cell = 5;
  const size = L * cell;
  const gap = 24;
  const top = 44;
  const width = Math.max(
    panels.length * size + (panels.length - 1) * gap + 2,
    Math.ceil(6 * subtitle.length),
    Math.ceil(7 * title.length),
  );
  const height = top + size + 22;
  const parts: string[] = [];
  panels.forEach(({ label, mask }, p) => {
    const x0 = 1 + p * (size + gap);
    parts.push(
      `<rect x="${x0}" y="${top}" width="${size}" height="${size}" fill="#f3f4f6" stroke="#9ca3af" stroke-width="1"/>`,
    );
    let d = '';
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L;) {
        if (!mask[i * L + j]) {
          j++;
          continue;
        }
        let e = j;
        while (e < L && mask[i * L + e]) e++;
        d += `M${x0 + j * cell} ${top + i * cell}h${(e - j) * cell}v${cell}h${-(e - j) * cell}z`;
        j = e;
      }
    }
    parts.push(`<path d="${d}" fill="#1f2937"/>`);
    const density = mask.reduce((a, b) => a + b, 0) / (L * L);
    parts.push(
      `<text x="${x0}" y="${top + size + 16}" font-size="12">${label} · ${(100 * density).toFixed(1)}% of cells</text>`,
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${title}: ${subtitle}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="1" y="16" font-size="13" font-weight="bold">${title}</text>`,
    `<text x="1" y="34" font-size="11" fill="#374151">${subtitle}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

await core.useBackend('cpu');
mkdirSync(OUT_DIR, { recursive: true });
const results: Record<string, unknown>[] = [];
for (const c of CASES) {
  const registry = core.createRegistry().use(nn.standard);
  if (c.plugin !== '(standard)') {
    const plugin = await loadPlugin(c.plugin);
    if (!plugin) continue;
    registry.use(plugin as never);
  }
  const kernel = registry.create('attention', c.config as never, {
    dims: { heads: c.heads, headDim: L, maxLen: L },
  });
  const masks = measureMask(kernel, c);
  const distinct: { label: string; mask: Uint8Array }[] = [];
  masks.forEach((mask, h) => {
    const twin = distinct.find((d) => same(d.mask, mask));
    if (twin)
      twin.label = twin.label.replace(/^heads? ([\d, ]+)/, (_, hs: string) => `heads ${hs}, ${h}`);
    else distinct.push({ label: `head ${h}`, mask });
  });
  if (distinct.length === 1)
    distinct[0].label = c.heads === 1 ? 'all queries × keys' : 'every head';
  const { kind, ...options } = c.config;
  const title = `${kind}${c.causal ? ', causal' : ', bidirectional'}, L = ${L} (rows: queries i, columns: keys j; dark = allowed)`;
  const subtitle = `options ${JSON.stringify(options)} · measured from the kernel (q = 0, v = one-hot)`;
  writeFileSync(new URL(`${c.name}.svg`, OUT_DIR), svg(title, subtitle, distinct));
  const rows = masks.map((m) =>
    Array.from({ length: L }, (_, i) => Array.from(m.subarray(i * L, (i + 1) * L)).join('')),
  );
  const density = masks.map((m) => m.reduce((a, b) => a + b, 0) / (L * L));
  results.push({
    name: c.name,
    plugin: c.plugin,
    config: c.config,
    causal: c.causal,
    heads: c.heads,
    density,
    rows,
  });
  console.log(
    `${c.name.padEnd(28)} heads=${c.heads} distinct=${distinct.length} density=${density.map((d) => (100 * d).toFixed(1) + '%').join(' ')}`,
  );
}
writeFileSync(
  new URL('masks.json', import.meta.url),
  JSON.stringify({
    date: new Date().toISOString(),
    machine: await machine(),
    backend: 'cpu',
    L,
    method: 'q = 0, k ~ N(0,1) (Rng 1), v = one-hot of the key index; allowed iff out > 1e-6',
    results,
  }) + '\n',
);
