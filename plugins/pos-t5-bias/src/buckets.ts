/**
 * T5's relative-position bucketing (Raffel et al. 2020, §2.1 "Positional embeddings"; the
 * `_relative_position_bucket` of the reference Mesh TensorFlow code).
 *
 * Notation:
 *   r      relative position = key position - query position (r < 0: the key is in the past)
 *   n      distance fed to the buckets: |r| (bidirectional) or max(-r, 0) (causal)
 *   N      number of buckets (`numBuckets`); bidirectional spends N/2 per sign
 *   N'     buckets per direction: N/2 bidirectional, N causal
 *   E      exact region: n < E = N'/2 gets its own bucket
 *   M      `maxDistance`: distances E..M-1 share E + floor(log(n/E) / log(M/E) · (N' - E))
 *          log-spaced buckets; n >= M is clamped into the last bucket N' - 1.
 *
 * bucket(r) = [bidirectional and r > 0] · N/2 + (n < E ? n : min(E + floor(...), N' - 1)).
 *
 * Because every n >= M lands in bucket N' - 1, the map is determined by a table over
 * n = 0..M; `distanceBuckets` builds it once in float64, and the tensor path only clamps and
 * gathers (no logarithms on the device, so no float32 rounding at bucket boundaries).
 */

export interface BucketOptions {
  numBuckets: number;
  maxDistance: number;
  bidirectional: boolean;
}

/** Buckets per direction N' and the exact region E. */
export function bucketLayout({ numBuckets, bidirectional }: Pick<BucketOptions, 'numBuckets' | 'bidirectional'>) {
  const perDirection = bidirectional ? Math.floor(numBuckets / 2) : numBuckets; // N'
  const maxExact = Math.floor(perDirection / 2); // E
  return { perDirection, maxExact };
}

/** Bucket of a distance n >= 0 within one direction (0 .. N'-1). */
function distanceBucket(n: number, perDirection: number, maxExact: number, maxDistance: number): number {
  if (n < maxExact) return n;
  const large = maxExact + Math.floor((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (perDirection - maxExact));
  return Math.min(large, perDirection - 1);
}

/** table[n] = bucket of distance n for n = 0..M (index M stands for every n >= M). */
export function distanceBuckets(options: BucketOptions): Int32Array {
  const { perDirection, maxExact } = bucketLayout(options);
  const table = new Int32Array(options.maxDistance + 1);
  for (let n = 0; n <= options.maxDistance; n++) table[n] = distanceBucket(n, perDirection, maxExact, options.maxDistance);
  return table;
}

/** Scalar form of the bucket of relative position r = key - query (for docs and tests). */
export function relativePositionBucket(r: number, options: BucketOptions): number {
  const { perDirection, maxExact } = bucketLayout(options);
  let offset = 0;
  let n: number;
  if (options.bidirectional) {
    offset = r > 0 ? perDirection : 0;
    n = Math.abs(r);
  } else {
    n = Math.max(-r, 0);
  }
  return offset + distanceBucket(Math.min(n, options.maxDistance), perDirection, maxExact, options.maxDistance);
}
