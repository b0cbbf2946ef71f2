// Benchmark of @weft/attn-flash on the wasm backend: forward and forward+backward time and
// GFLOP/s for L = 512 … 65,536 (Dh = 64; B = 1, H = 4 up to 16k, H = 1 beyond).
//
//   cd plugins/attn-flash && node --conditions=source --import tsx ../../tools/bench/attn-flash/bench.mjs [maxL] [impls]
//
// impls: comma list of fused,tiled,dense (default fused; tiled and dense only run up to 2048).
// FLOPs: forward 4·B·H·L²·Dh (two matmuls, bidirectional); forward+backward 3.5× that
// (FA2's convention: backward = 2.5 forward matmuls).
import 'reflect-metadata'; // tsyringe (inside @weft/core) needs it once, at the entry
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Resolve @weft/core as the plugin sees it (the bench folder has no node_modules).
const pluginRequire = createRequire(new URL('../../../plugins/attn-flash/package.json', import.meta.url));
const { tf, useBackend, createRegistry, Rng } = await import(pathToFileURL(pluginRequire.resolve('@weft/core')).href);
const { default: flash } = await import('../../../plugins/attn-flash/src/index.ts');

const maxL = Number(process.argv[2] ?? 8192);
const impls = (process.argv[3] ?? 'fused').split(',');
await useBackend('wasm');
const registry = createRegistry().use(flash);

function dense(q, k, v, scale) {
  return tf.matMul(tf.softmax(tf.matMul(q, k, false, true).mul(scale)), v);
}

function time(fn, reps) {
  fn(); // warm-up
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) fn();
  return (performance.now() - t0) / reps;
}

const rows = [];
for (let L = 512; L <= maxL; L *= 2) {
  const B = 1;
  const H = L <= 16384 ? 4 : 1;
  const Dh = 64;
  const rng = new Rng(L);
  const q = rng.normalTensor([B, H, L, Dh]);
  const k = rng.normalTensor([B, H, L, Dh]);
  const v = rng.normalTensor([B, H, L, Dh]);
  const ctx = { causal: false, scale: 1 / Math.sqrt(Dh), queryOffset: 0, training: true, rng: new Rng(0), layerIndex: 0 };
  const flops = 4 * B * H * L * L * Dh;
  const reps = L <= 2048 ? 3 : 1;
  for (const impl of impls) {
    if (impl !== 'fused' && L > 2048) continue;
    const attend =
      impl === 'dense'
        ? (a, b, c) => dense(a, b, c, ctx.scale)
        : ((kernel) => (a, b, c) => kernel.attend(a, b, c, ctx))(registry.create('attention', { kind: 'flash', implementation: impl }));
    const fwd = time(() => tf.tidy(() => attend(q, k, v).dataSync()), reps);
    const fb = time(() => tf.tidy(() => tf.grads((a, b, c) => tf.sum(attend(a, b, c)))([q, k, v]).forEach((g) => g.dataSync())), reps);
    const row = {
      impl,
      L,
      B,
      H,
      Dh,
      fwdMs: +fwd.toFixed(1),
      fwdGflops: +(flops / fwd / 1e6).toFixed(2),
      fwdBwdMs: +fb.toFixed(1),
      fwdBwdGflops: +((3.5 * flops) / fb / 1e6).toFixed(2),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  tf.dispose([q, k, v]);
}
console.table(rows);
