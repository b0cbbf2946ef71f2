/**
 * Giraffe's ways of stretching a RoPE model's context (Pal et al. 2023, "Giraffe: Adventures
 * in Expanding Context Lengths in LLMs", arXiv 2308.10882, §3). Each is RoPE (pos-rope) with
 * a changed per-position frequency ω_i; the rotation itself is unchanged (angle = m · ω_i).
 *
 * Notation (paper → code):
 *   d        rotated dims per head                          rotaryDim
 *   θ_i      = base^(-2i/d), i = 0 .. d/2-1 (RoPE basis)    theta[i]
 *   s        linear scale (e.g. target / training length)   scale
 *   k        power of the power basis                       power
 *   a, b     lower / upper frequency cutoffs (a < b)        a, b
 *   ρ        fixed frequency for the band a ≤ ω_i < b        rho
 *   ω_i      per-position frequency used (angle = m · ω_i)  return value
 *
 *   linear     (§3.1, position interpolation):  ω_i = θ_i / s            (≡ positions m / s)
 *   power      (§3.3, power basis):             ω_i = θ_i · (1 − 2i/d)^k / s
 *              high frequencies (small i) stay ≈ unchanged, low ones shrink towards 0
 *   truncated  (§3.4, truncated basis):         with u_i = θ_i / s,
 *                                               ω_i = u_i  if u_i ≥ b
 *                                                     ρ    if a ≤ u_i < b
 *                                                     0    if u_i < a
 *              high frequencies kept exactly; the lowest (no full period inside the trained
 *              context) are set to 0 (no rotation: pure content dims); the band in between
 *              shares one fixed frequency ρ.
 * The cutoffs compare the frequencies the model actually uses per position, i.e. after the
 * linear scale (the authors' released code truncates the already-scaled basis); with s = 1
 * this is the paper's formula. The paper leaves ω = a unassigned; the released code puts it
 * in the ρ band, and so do we. ρ is a per-position frequency (not divided by s).
 */
export type GiraffeMethod = 'linear' | 'power' | 'truncated';

export interface BasisOptions {
  scale?: number;
  power?: number;
  a?: number;
  b?: number;
  rho?: number;
}

/** ω_i for the chosen method (float64): the rotation angle of plane i is m · ω_i. */
export function giraffeFrequencies(method: GiraffeMethod, rotaryDim: number, base: number, o: BasisOptions = {}): number[] {
  const s = o.scale ?? 1;
  const theta = Array.from({ length: rotaryDim / 2 }, (_, i) => Math.pow(base, (-2 * i) / rotaryDim)); // RoPE θ_i
  switch (method) {
    case 'linear':
      return theta.map((t) => t / s);
    case 'power':
      return theta.map((t, i) => (t * Math.pow(1 - (2 * i) / rotaryDim, o.power ?? 0)) / s); // θ_i(1 − 2i/d)^k / s
    case 'truncated':
      return theta.map((t) => {
        const u = t / s;
        return u >= o.b! ? u : u >= o.a! ? o.rho! : 0;
      });
  }
}
