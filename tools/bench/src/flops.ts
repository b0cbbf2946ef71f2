/**
 * FLOP counts of attention, used to turn times into GFLOP/s.
 *
 * Notation: B batch, H heads, L sequence length, Dh head width.
 * Forward attention is two matmuls, Q·Kᵀ and P·V, each 2·B·H·L²·Dh FLOPs: 4·B·H·L²·Dh in
 * all. Causal attention needs only the lower triangle, so we count half of it (the
 * FlashAttention papers' convention). The backward pass is 2.5× the forward (five matmuls
 * against two), so forward + backward = 3.5× forward.
 */

/** 4·B·H·L²·Dh, halved when causal. */
export function attentionForwardFlops(
  B: number,
  H: number,
  L: number,
  Dh: number,
  causal = true,
): number {
  const full = 4 * B * H * L * L * Dh;
  return causal ? full / 2 : full;
}

/** Forward + backward: 3.5 × forward (backward = 2.5 × forward). */
export function attentionForwardBackwardFlops(
  B: number,
  H: number,
  L: number,
  Dh: number,
  causal = true,
): number {
  return 3.5 * attentionForwardFlops(B, H, L, Dh, causal);
}

/** FLOPs per millisecond -> GFLOP/s. */
export function gflopsPerSecond(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
