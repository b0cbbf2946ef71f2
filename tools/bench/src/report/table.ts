/** Markdown tables: a header row, the alignment row, then one line per row; `|` in cells is escaped. */

export function markdownTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  align?: ReadonlyArray<'l' | 'r'>,
): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rule = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  const lines = [header, rule, ...rows].map(
    (r, i) => `| ${(i === 1 ? r : r.map(cell)).join(' | ')} |`,
  );
  return lines.join('\n') + '\n';
}
