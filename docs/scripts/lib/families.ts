/** Plugin families: the `<family>-` prefix of a plugin's folder name. */

const FAMILY_TITLES: Record<string, string> = {
  standard: 'Standard Transformer',
  tok: 'Token embeddings',
  pos: 'Positional encodings',
  attn: 'Attention kernels',
  heads: 'Head layouts',
  kv: 'KV-cache policies',
  mixer: 'Sequence mixers',
  ffn: 'Feed-forward and norms',
  moe: 'Mixtures of experts',
  reduce: 'Token reduction',
  memory: 'Memory',
  train: 'Training strategies',
  parallel: 'Sequence parallelism',
};

/** Catalogue order: the order of the list above, unknown families last. */
export const FAMILY_ORDER = Object.keys(FAMILY_TITLES);

export function familyOf(slug: string): string {
  return slug === 'standard' ? 'standard' : slug.split('-')[0];
}

export function familyTitle(family: string): string {
  return FAMILY_TITLES[family] ?? family;
}

export function compareFamilies(a: string, b: string): number {
  const rank = (f: string) => (FAMILY_ORDER.includes(f) ? FAMILY_ORDER.indexOf(f) : FAMILY_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}
