/**
 * Decoding-state size of each mixer, measured: the model of synthetic-accuracy.ts
 * (dModel 32, 2 layers, 2 heads, batch 1) steps t random tokens through `model.step` and
 * reads `ModelCache.bytes()`, at t = 16 and t = 32, so constant-size states and states that
 * grow with the context show apart.
 *
 *   node --conditions=source --import tsx tools/experiments/mixers/state-bytes.ts
 */
import { writeFileSync } from 'node:fs';
import { createRegistry, tf, useBackend } from '@weft/core';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import mamba from '@weft/mixer-mamba';
import minrnn from '@weft/mixer-mingru';
import rwkv from '@weft/mixer-rwkv';
import deltanet from '@weft/mixer-deltanet';
import s4 from '@weft/mixer-s4';
import h3 from '@weft/mixer-h3';
import hyena from '@weft/mixer-hyena';

const L_MAX = 64;
const MIXERS: Record<string, Record<string, unknown>> = {
  attention: { kind: 'attention' },
  mamba: { kind: 'mamba', d_state: 16 },
  mingru: { kind: 'mingru', expansion: 2 },
  minlstm: { kind: 'minlstm', expansion: 2 },
  rwkv: { kind: 'rwkv', channelMix: false },
  deltanet: { kind: 'deltanet', chunkSize: 16 },
  s4: { kind: 's4', d_state: 16 },
  h3: { kind: 'h3', d_state: 16 },
  hyena: { kind: 'hyena', l_max: L_MAX, filter_order: 16 },
};

await useBackend('wasm');
const rows: Array<{ mixer: string; bytesAt16: number; bytesAt32: number }> = [];
for (const [name, mixer] of Object.entries(MIXERS)) {
  const model = buildModel(createRegistry().use(standard, mamba, minrnn, rwkv, deltanet, s4, h3, hyena), {
    vocab: 16, dModel: 32, layers: 2, heads: 2, maxLen: L_MAX,
    positional: name === 'attention' ? 'learned' : 'none', mixer, seed: 1,
  }) as CausalLM;
  const cache = model.initCache(1);
  const bytes: number[] = [];
  for (let chunk = 0; chunk < 2; chunk++) {
    const ids = tf.tensor2d([Array.from({ length: 16 }, (_, i) => (i * 7 + chunk) % 16)], [1, 16], 'int32');
    tf.dispose([ids, model.step(ids, cache)]);
    bytes.push(cache.bytes());
  }
  rows.push({ mixer: name, bytesAt16: bytes[0], bytesAt32: bytes[1] });
  console.log(`${name.padEnd(9)} t=16: ${bytes[0]} B   t=32: ${bytes[1]} B`);
  cache.dispose();
  model.dispose();
}
writeFileSync(
  'tools/experiments/mixers/state-bytes.json',
  `${JSON.stringify({ date: new Date().toISOString(), model: 'dModel 32, 2 layers, 2 heads, batch 1, float32', rows }, null, 2)}\n`,
);
