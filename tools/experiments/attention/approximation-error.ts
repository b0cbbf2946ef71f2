/**
 * Relative error of the approximate / softmax-free attention kernels against exact softmax
 * attention (the standard `dense` kernel of @weft/nn) on random inputs:
 *
 *   err = ‖O − O_softmax‖_F / ‖O_softmax‖_F   over the whole [B, H, L, Dh] output,
 *
 * with q, k, v ~ N(0, 1) from the seeded core Rng, B = 1, H = 2, Dh = 32, scale Dh^-1/2, and
 * L ∈ {64, 256, 1024}. A kernel that supports causal attention is measured causally (against
 * causal dense); a bidirectional-only kernel bidirectionally (against bidirectional dense).
 * Kernels are freshly created with their default initialisation (untrained learned parts).
 *
 * Two references are added to read the numbers against: `uniform` (every allowed key weighted
 * equally, i.e. softmax with q ignored) and `zero` (O = 0, error exactly 1).
 *
 * The same kernels on q, k, v captured from a trained model: trained-approximation-error.ts.
 *
 * Writes tools/experiments/attention/approximation-error.json. Run from the repository root:
 *   node --conditions=source --import tsx tools/experiments/attention/approximation-error.ts
 */
import { writeFileSync } from 'node:fs';
import { CASES, kernelRegistry, relErr, uniformAttention } from './kernels.ts';
import { attentionContext, core, machine, type AttentionKernel, type Tensor } from './load.ts';

const { tf } = core;
const B = 1;
const H = 2;
const DH = 32;
const LENGTHS = [64, 256, 1024];
const SEED = 2026;

await core.useBackend('cpu');
const { registry, loaded } = await kernelRegistry();
const dims = { heads: H, headDim: DH, dModel: H * DH, layers: 1, maxLen: Math.max(...LENGTHS) };
const dense = registry.create('attention', { kind: 'dense' }, { dims });

const rows: Record<string, unknown>[] = [];
const inputs = new Map<number, [Tensor, Tensor, Tensor]>();
for (const L of LENGTHS) {
  const rng = new core.Rng(SEED).fork(`L=${L}`);
  inputs.set(L, [
    rng.normalTensor([B, H, L, DH]),
    rng.normalTensor([B, H, L, DH]),
    rng.normalTensor([B, H, L, DH]),
  ]);
}
const scale = 1 / Math.sqrt(DH);
const refs = new Map<string, Tensor>();
const reference = (L: number, causal: boolean): Tensor => {
  const key = `${L}/${causal}`;
  if (!refs.has(key)) {
    const [q, k, v] = inputs.get(L)!;
    refs.set(key, tf.keep(dense.attend(q, k, v, attentionContext(causal, scale))));
  }
  return refs.get(key)!;
};

for (const c of [
  ...CASES.filter((x) => loaded.has(x.plugin)),
  { label: 'uniform (reference)', plugin: '', config: { kind: 'uniform' } },
]) {
  let kernel: AttentionKernel | undefined;
  let causal = true;
  if (c.plugin) {
    kernel = registry.create('attention', c.config as never, {
      dims,
      rng: new core.Rng(SEED).fork(c.label),
    });
    causal = registry.capabilities(
      'attention',
      registry.validate('attention', c.config as never, 'attention') as never,
    ).causal;
  }
  const errors: Record<string, number | string> = {};
  const rescaled: Record<string, number> = {};
  for (const mode of c.plugin ? [causal] : [true, false]) {
    for (const L of LENGTHS) {
      const [q, k, v] = inputs.get(L)!;
      const t0 = performance.now();
      try {
        const [err, errScaled] = tf.tidy(() => {
          const o = kernel
            ? kernel.attend(q, k, v, attentionContext(mode, scale))
            : uniformAttention(v, mode);
          return relErr(o, reference(L, mode));
        });
        const key = c.plugin ? `L${L}` : `${mode ? 'causal' : 'bidirectional'} L${L}`;
        errors[key] = err;
        rescaled[key] = errScaled;
        console.log(
          `${c.label.padEnd(38)} ${mode ? 'causal' : 'bidir.'} L=${String(L).padEnd(5)} err=${err.toExponential(3)} rescaled=${errScaled.toFixed(4)} (${(performance.now() - t0).toFixed(0)} ms)`,
        );
      } catch (error) {
        errors[`L${L}`] = `error: ${(error as Error).message.split('\n')[0]}`;
        console.log(`${c.label} L=${L} threw: ${(error as Error).message}`);
      }
    }
  }
  rows.push({
    label: c.label,
    plugin: c.plugin ? `@weft/${c.plugin}` : null,
    config: c.config,
    mode: c.plugin ? (causal ? 'causal' : 'bidirectional') : 'both',
    errors,
    errorsAfterBestRescale: rescaled,
  });
}

writeFileSync(
  new URL('approximation-error.json', import.meta.url),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: await machine(),
      backend: 'cpu',
      command:
        'node --conditions=source --import tsx tools/experiments/attention/approximation-error.ts',
      setup: {
        B,
        H,
        Dh: DH,
        lengths: LENGTHS,
        seed: SEED,
        inputs: 'q, k, v ~ N(0, 1) from core Rng(seed).fork(`L=${L}`)',
        scale: 'Dh^-1/2',
        reference: '@weft/nn standard dense kernel, same causality',
        metric: '‖O − O_softmax‖_F / ‖O_softmax‖_F',
        metricAfterRescale:
          'min over α of ‖αO − O_softmax‖_F / ‖O_softmax‖_F = sqrt(1 − cos²(O, O_softmax))',
      },
      rows,
    },
    null,
    2,
  ) + '\n',
);
