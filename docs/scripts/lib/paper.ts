/** A paper as a markdown line: title linked to arXiv (or its URL), and the year. */
import type { Paper } from '@weft/core';

export function paperUrl(p: Paper): string | undefined {
  if (p.arxiv) return `https://arxiv.org/abs/${p.arxiv.replace(/^https?:\/\/arxiv\.org\/abs\//, '')}`;
  return p.url;
}

export function renderPaper(p: Paper): string {
  const url = paperUrl(p);
  const title = url ? `[${p.title}](${url})` : p.title;
  return `${title} (${p.year})${p.arxiv ? ` · arXiv:${p.arxiv}` : ''}`;
}

export function papersOf(plugin: { paper?: Paper; papers?: Paper[] }): Paper[] {
  return [...(plugin.paper ? [plugin.paper] : []), ...(plugin.papers ?? [])];
}
