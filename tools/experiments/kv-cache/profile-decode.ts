/**
 * Profile one decode step at a given context for a few head layouts (wasm backend): median
 * ms/token, plus the tfjs kernel times of one step (tf.profile) summed by kernel name.
 *
 *   node --conditions=source --import tsx tools/experiments/kv-cache/profile-decode.ts \
 *     [--context 1024] [--steps 8] [--layouts mha,mqa,gqa,mlkv] [--kernels]
 */
import { createRegistry, tf, useBackend } from '@weft/core';
import { buildModel, standard, type CausalLM, type ModelConfigInput } from '@weft/nn';
import mqa from '@weft/heads-mqa';
import cla from '@weft/heads-cla';
import mlkv from '@weft/heads-mlkv';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const CONTEXT = Number(arg('context', '1024'));
const STEPS = Number(arg('steps', '8'));
const SHAPE = { vocab: 64, dModel: 128, layers: 4, heads: 8, maxLen: CONTEXT + 64, seed: 0 } as const;
const LAYOUTS: Record<string, Partial<ModelConfigInput>> = {
  mha: {},
  mqa: { headLayout: { kind: 'mqa' } },
  gqa: { headLayout: { kind: 'gqa', kvHeads: 2 } },
  mlkv: { headLayout: { kind: 'mlkv', groups: 2, kvHeads: 1 }, kvCache: { kind: 'mlkv' } },
};

async function main(): Promise<void> {
  await useBackend('wasm');
  for (const name of arg('layouts', Object.keys(LAYOUTS).join(',')).split(',')) {
    const registry = createRegistry().use(standard, mqa, cla, mlkv);
    const model = buildModel(registry, { ...SHAPE, ...LAYOUTS[name] } as ModelConfigInput) as CausalLM;
    const cache = model.initCache(1);
    for (let at = 0; at < CONTEXT; at += 256) {
      const T = Math.min(256, CONTEXT - at);
      const ids = tf.tensor2d([Array.from({ length: T }, (_, i) => (at + i) % 64)], [1, T], 'int32');
      tf.dispose([ids, model.step(ids, cache)]);
    }
    const ids = tf.tensor2d([[3]], [1, 1], 'int32');
    tf.dispose(model.step(ids, cache)); // warm-up
    const times: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      const y = model.step(ids, cache);
      y.dataSync();
      times.push(performance.now() - t0);
      y.dispose();
    }
    times.sort((a, b) => a - b);
    console.log(`${name.padEnd(5)} context ${cache.position}: median ${times[times.length >> 1].toFixed(2)} ms/token (min ${times[0].toFixed(2)}, max ${times[times.length - 1].toFixed(2)})`);
    if (process.argv.includes('--kernels')) {
      const info = await tf.profile(() => model.step(ids, cache));
      const by = new Map<string, number>();
      for (const k of info.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number));
      console.log('   ', [...by].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, t]) => `${n} ${t.toFixed(2)}`).join(', '));
      tf.dispose(info.result as tf.Tensor);
    }
    ids.dispose();
    cache.dispose();
    model.dispose();
  }
}
await main();
