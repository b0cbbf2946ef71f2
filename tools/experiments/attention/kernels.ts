/**
 * The kernels measured by the approximation-error experiments (random inputs:
 * approximation-error.ts; trained inputs: trained-approximation-error.ts), the error metric and
 * the `uniform` reference, shared so that both runs measure exactly the same things.
 */
import { core, loadPlugin, nn, type Registry, type Tensor } from './load.ts';

const { tf } = core;

export interface Case {
  label: string;
  plugin: string;
  config: { kind: string } & Record<string, unknown>;
}

export const CASES: Case[] = [
  {
    label: 'flash (exact softmax: pipeline check)',
    plugin: 'attn-flash',
    config: { kind: 'flash' },
  },
  { label: 'linear', plugin: 'attn-linear', config: { kind: 'linear' } },
  { label: 'lightning', plugin: 'attn-lightning', config: { kind: 'lightning' } },
  { label: 'cottention', plugin: 'attn-cottention', config: { kind: 'cottention' } },
  { label: 'galerkin', plugin: 'attn-galerkin', config: { kind: 'galerkin' } },
  { label: 'fourier', plugin: 'attn-galerkin', config: { kind: 'fourier' } },
  { label: 'linformer', plugin: 'attn-linformer', config: { kind: 'linformer' } },
  { label: 'nystrom', plugin: 'attn-nystrom', config: { kind: 'nystrom' } },
  { label: 'taylorshift', plugin: 'attn-taylorshift', config: { kind: 'taylorshift' } },
  {
    label: 'taylorshift (normalizeInput: false)',
    plugin: 'attn-taylorshift',
    config: { kind: 'taylorshift', normalizeInput: false },
  },
];

/** A registry with `standard` and every plugin of CASES that loads; returns it and the loaded names. */
export async function kernelRegistry(): Promise<{ registry: Registry; loaded: Set<string> }> {
  const registry = core.createRegistry().use(nn.standard);
  const loaded = new Set<string>();
  for (const c of CASES) {
    if (loaded.has(c.plugin)) continue;
    const plugin = await loadPlugin(c.plugin);
    if (plugin) {
      registry.use(plugin as never);
      loaded.add(c.plugin);
    }
  }
  return { registry, loaded };
}

/**
 * [relative error, relative error after the best single rescaling α·O] — the second one is
 * sqrt(1 − cos²(O, O_softmax)): it forgives a wrong overall output scale (normalised or
 * length-divided outputs) and measures only the direction.
 */
export const relErr = (o: Tensor, ref: Tensor): [number, number] =>
  tf.tidy(() => {
    const rr = tf.sum(tf.square(ref)).dataSync()[0];
    const oo = tf.sum(tf.square(o)).dataSync()[0];
    const or = tf.sum(tf.mul(o, ref)).dataSync()[0];
    const err = Math.sqrt(tf.sum(tf.square(tf.sub(o, ref))).dataSync()[0] / rr);
    const cos2 = oo > 0 ? (or * or) / (oo * rr) : 0;
    return [err, Math.sqrt(Math.max(0, 1 - cos2))];
  });

/** Mean of v over the allowed keys (all, or j ≤ i when causal): softmax with every logit equal. */
export function uniformAttention(v: Tensor, causal: boolean): Tensor {
  return tf.tidy(() => {
    const L = v.shape[2] as number;
    if (!causal) return tf.tile(tf.mean(v, 2, true), [1, 1, L, 1]);
    const counts = tf.range(1, L + 1).reshape([1, 1, L, 1]);
    return tf.div(tf.cumsum(v, 2), counts);
  });
}
