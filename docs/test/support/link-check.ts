/**
 * Checks every internal href/src of a built site: the file must exist, and a `#fragment`
 * must name an id on the target page.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileFor } from './static-server.js';

export interface BrokenLink {
  page: string;
  link: string;
  reason: string;
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? htmlFiles(join(dir, e.name)) : e.name.endsWith('.html') ? [join(dir, e.name)] : [],
  );
}

const decodeEntities = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

/** href and src attribute values of a page. */
export function linksOf(html: string): string[] {
  return [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) => decodeEntities(m[1]));
}

export function idsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => decodeEntities(m[1])));
}

const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

export function checkLinks(root: string): { pages: number; links: number; broken: BrokenLink[] } {
  const files = htmlFiles(root);
  const idCache = new Map<string, Set<string>>();
  const ids = (file: string) => {
    if (!idCache.has(file)) idCache.set(file, idsOf(readFileSync(file, 'utf8')));
    return idCache.get(file)!;
  };
  const broken: BrokenLink[] = [];
  let links = 0;
  for (const file of files) {
    const page = '/' + relative(root, file).split('\\').join('/');
    for (const link of linksOf(readFileSync(file, 'utf8'))) {
      if (link === '' || EXTERNAL.test(link)) continue;
      links += 1;
      const url = new URL(link, `http://site${page}`);
      const target = url.pathname === page ? file : fileFor(root, url.pathname);
      if (!target) {
        broken.push({ page, link, reason: 'no such file' });
        continue;
      }
      const fragment = decodeURIComponent(url.hash.slice(1));
      if (fragment && target.endsWith('.html') && !ids(target).has(fragment)) {
        broken.push({ page, link, reason: `no id "${fragment}" on the target page` });
      }
    }
  }
  return { pages: files.length, links, broken };
}
