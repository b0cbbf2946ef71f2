// Speed of @weft/attn-flash's WebGPU kernels (src/kernels/webgpu): forward and
// forward+backward wall time for L = 1k … 16k (B = 1, H = 8, Dh = 64, self-attention), one JSON
// line per (implementation, L), on the webgpu backend (Dawn in Node; a GPU where the machine has
// one, else SwiftShader — only useful at tiny sizes there).
//
//   cd plugins/attn-flash && node --conditions=source --import tsx ../../tools/bench/attn-flash/webgpu-speed.mjs [maxL] [impls] [minL] [causal]
//
// impls: comma list of webgpu,tiled (default webgpu; tiled only up to 4096). causal: 1 or 0
// (default 0). Each timing waits for the GPU by reading back one element of every result.
// FLOPs: forward 4·B·H·L²·Dh (halved when causal); forward+backward 3.5× that (FA2's convention).
import 'reflect-metadata'; // tsyringe (inside @weft/core) needs it once, at the entry
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Resolve @weft/core as the plugin sees it (the bench folder has no node_modules).
const pluginRequire = createRequire(new URL('../../../plugins/attn-flash/package.json', import.meta.url));
await import(pathToFileURL(pluginRequire.resolve('@weft/core/node')).href);
const { tf, useBackend, createRegistry, Rng } = await import(pathToFileURL(pluginRequire.resolve('@weft/core')).href);
const { default: flash } = await import('../../../plugins/attn-flash/src/index.ts');

const maxL = Number(process.argv[2] ?? 16384);
const impls = (process.argv[3] ?? 'webgpu').split(',');
const minL = Number(process.argv[4] ?? 1024);
const causal = process.argv[5] === '1';
await useBackend('webgpu');
const registry = createRegistry().use(flash);
const adapter = tf.backend().adapterInfo ?? {};

/** Wait until the GPU has produced `tensors`: read back one element of each. */
async function settle(tensors) {
  const firsts = tensors.map((t) => tf.tidy(() => t.reshape([-1]).slice(0, 1)));
  await Promise.all(firsts.map((t) => t.data()));
  tf.dispose(firsts);
}

async function time(fn, reps) {
  tf.dispose(await fn()); // warm-up: compiles the pipelines
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) tf.dispose(await fn());
  return (performance.now() - t0) / reps;
}

for (let L = minL; L <= maxL; L *= 2) {
  const B = 1;
  const H = 8;
  const Dh = 64;
  const rng = new Rng(L);
  const q = rng.normalTensor([B, H, L, Dh]);
  const k = rng.normalTensor([B, H, L, Dh]);
  const v = rng.normalTensor([B, H, L, Dh]);
  const ctx = { causal, scale: 1 / Math.sqrt(Dh), queryOffset: 0, training: true, rng: new Rng(0), layerIndex: 0 };
  const flops = (causal ? 2 : 4) * B * H * L * L * Dh;
  const reps = L <= 4096 ? 3 : 1;
  for (const impl of impls) {
    if (impl === 'tiled' && L > 4096) continue;
    const kernel = registry.create('attention', { kind: 'flash', implementation: impl });
    const fwd = await time(async () => {
      const out = kernel.attend(q, k, v, ctx);
      await settle([out]);
      return [out];
    }, reps);
    const fb = await time(async () => {
      const grads = tf.grads((a, b, c) => tf.sum(kernel.attend(a, b, c, ctx)))([q, k, v]);
      await settle(grads);
      return grads;
    }, reps);
    const row = {
      impl,
      L,
      B,
      H,
      Dh,
      causal,
      fwdMs: +fwd.toFixed(2),
      fwdGflops: +(flops / fwd / 1e6).toFixed(1),
      fwdBwdMs: +fb.toFixed(2),
      fwdBwdGflops: +((3.5 * flops) / fb / 1e6).toFixed(1),
      adapter: adapter.description || adapter.vendor || adapter.architecture || 'unknown',
      numTensors: tf.memory().numTensors,
    };
    console.log(JSON.stringify(row));
  }
  tf.dispose([q, k, v]);
}
