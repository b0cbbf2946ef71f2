/**
 * Per-head decay rates λ_h of Lightning Attention / TransNormerLLM (arXiv 2307.14995).
 *
 * The paper's reference code (OpenNLPLab TransnormerLLM / lightning-attention) builds, for layer
 * l of N and head h of H:
 *   s_h   = ALiBi slopes: 2^(-8h/H), h = 1..H, for H a power of two; otherwise the slopes of the
 *           lower power of two p followed by every other slope of 2p (Press et al. 2022)
 *   s_h,l = s_h · (1 − l/(N−1) + 1e−5)          (N = 1: s_h · (1 + 1e−5))
 *   λ_h,l = exp(−s_h,l)
 * so early layers decay fast (local) and the last layer hardly decays (global). This is the
 * default schedule here; `decay` overrides it with explicit λ_h.
 */

/** ALiBi-style geometric slopes for `heads` heads. */
export function headSlopes(heads: number): number[] {
  const powerOfTwo = (p: number) => Array.from({ length: p }, (_, i) => 2 ** ((-8 * (i + 1)) / p));
  const p = 2 ** Math.floor(Math.log2(heads));
  if (p === heads) return powerOfTwo(heads);
  return [...powerOfTwo(p), ...powerOfTwo(2 * p).filter((_, i) => i % 2 === 0).slice(0, heads - p)];
}

/** log λ_h (≤ 0) of layer `layerIndex` of `layers`, TransNormerLLM schedule. */
export function transnormerLogDecay(heads: number, layerIndex: number, layers: number): number[] {
  const layerFactor = layers > 1 ? 1 - layerIndex / (layers - 1) + 1e-5 : 1 + 1e-5;
  return headSlopes(heads).map((s) => -s * layerFactor);
}
