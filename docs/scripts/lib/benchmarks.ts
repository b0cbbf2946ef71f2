/**
 * Benchmark rows for a plugin from the repository's BENCHMARKS.md: the header and every
 * table row that names one of the plugin's kinds or its package, keeping each table's header.
 * Key/value tables (an empty header row, like the report's "Run" table, whose plugins line
 * names every package) are not benchmark rows and are skipped.
 */

export function benchmarkRows(benchmarksMd: string | undefined, needles: string[]): string | undefined {
  if (!benchmarksMd) return undefined;
  const words = needles.map((n) => new RegExp(`(^|[^A-Za-z0-9-])${n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}($|[^A-Za-z0-9-])`));
  const out: string[] = [];
  let header: string[] = [];
  let headerUsed = false;
  for (const line of benchmarksMd.split(/\r?\n/)) {
    if (!line.trim().startsWith('|')) {
      header = [];
      headerUsed = false;
      continue;
    }
    if (header.length < 2) {
      header.push(line);
      continue;
    }
    const keyValue = /^\|(\s*\|)+\s*$/.test(header[0].trim());
    if (!keyValue && words.some((w) => w.test(line))) {
      if (!headerUsed) {
        if (out.length) out.push('');
        out.push(...header);
        headerUsed = true;
      }
      out.push(line);
    }
  }
  return out.length ? out.join('\n') : undefined;
}
