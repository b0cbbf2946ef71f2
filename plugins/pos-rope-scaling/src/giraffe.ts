/**
 * Giraffe's ways of stretching a RoPE model's context (Pal et al. 2023, "Giraffe: Adventures
 * in Expanding Context Lengths in LLMs", arXiv 2308.10882, §3). Each is RoPE (pos-rope) with
 * a changed basis θ or changed positions m; the rotation itself is unchanged.
 *
 * Notation (paper → code):
 *   d        rotated dims per head                          rotaryDim
 *   θ_i      = base^(-2i/d), i = 0 .. d/2-1 (RoPE basis)    theta[i]
 *   s        scale factor (e.g. target / training length)   scale
 *   k        power of the power basis                       power
 *   a, b     lower / upper frequency cutoffs (a < b)        a, b
 *   ρ        fixed frequency for the band a < θ_i < b        rho
 *
 *   linear     (position interpolation):  angle = (m / s) · θ_i
 *   power      (power basis):             θ'_i = θ_i · (1 − 2i/d)^k          (angle = (m / s) · θ'_i)
 *              high frequencies (small i) stay ≈ unchanged, low ones shrink towards 0
 *   truncated  (truncated basis):         θ'_i = θ_i  if θ_i ≥ b
 *                                               ρ    if a < θ_i < b
 *                                               0    if θ_i ≤ a             (angle = (m / s) · θ'_i)
 *              high frequencies kept exactly; the lowest (whose periods exceed the trained
 *              context) are set to 0 (no rotation: pure content dims); the band in between
 *              shares one fixed frequency ρ.
 * The scale s divides positions for every method (1 = no interpolation).
 */
export type GiraffeMethod = 'linear' | 'power' | 'truncated';

export interface BasisOptions {
  power?: number;
  a?: number;
  b?: number;
  rho?: number;
}

/** θ'_i for the chosen method (float64). */
export function giraffeFrequencies(method: GiraffeMethod, rotaryDim: number, base: number, o: BasisOptions = {}): number[] {
  const theta = Array.from({ length: rotaryDim / 2 }, (_, i) => Math.pow(base, (-2 * i) / rotaryDim));
  switch (method) {
    case 'linear':
      return theta;
    case 'power':
      return theta.map((t, i) => t * Math.pow(1 - (2 * i) / rotaryDim, o.power ?? 0));
    case 'truncated':
      return theta.map((t) => (t >= o.b! ? t : t > o.a! ? o.rho! : 0));
  }
}
