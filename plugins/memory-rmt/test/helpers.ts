import { createRegistry, tf, type Tensor } from '@weft/core';
import { buildModel, standard, type CausalLM, type ModelConfigInput } from '@weft/nn';
import rmt from '../src/index.js';

export const registry = createRegistry().use(standard, rmt);

export function build(config: ModelConfigInput): CausalLM {
  return buildModel(registry, config) as CausalLM;
}

/** Copy every parameter `from` has into the same-named parameter of `to`. */
export function copyWeights(from: CausalLM, to: CausalLM): void {
  const target = new Map(to.namedParameters());
  for (const [name, p] of from.namedParameters()) target.get(name)!.assign(p);
}

export function maxAbs(t: Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
}

export const ids = (rows: number[][]): Tensor => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
