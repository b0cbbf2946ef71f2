/** Collects auxiliary losses (MoE balance, router z-loss, ...) added by layers during a forward. */
import { tf, type AuxLosses, type Tensor } from '@weft/core';

export class AuxLossCollector implements AuxLosses {
  private readonly items: Array<{ name: string; value: Tensor; weight: number }> = [];

  add(name: string, value: Tensor, weight = 1): void {
    this.items.push({ name, value: tf.keep(value), weight });
  }

  get names(): string[] {
    return this.items.map((i) => i.name);
  }

  /** Σ weight · value as a scalar (0 when empty). The collected tensors are released. */
  total(): Tensor {
    const sum = tf.tidy(() => this.items.reduce<Tensor>((acc, i) => tf.add(acc, tf.mul(i.value, i.weight)), tf.scalar(0)));
    this.dispose();
    return sum;
  }

  dispose(): void {
    tf.dispose(this.items.map((i) => i.value));
    this.items.length = 0;
  }
}
