/**
 * Writes docs/api/: one page per library package (packages/*), listing the public exports of
 * every entry in its package.json `exports` map (the `source` condition), with kinds and the
 * first sentence of each symbol's JSDoc. Plugin packages are documented by the plugin pages.
 *
 *   node --import tsx scripts/generate-api-pages.ts
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_PAGES_DIR, REPO_ROOT } from './lib/paths.js';
import { renderApiIndex, renderApiPage, type ApiEntry } from './lib/api-page.js';
import { publicExports } from './lib/public-exports.js';

interface PackageJson {
  name: string;
  description?: string;
  exports?: Record<string, string | { source?: string }>;
}

const packagesDir = join(REPO_ROOT, 'packages');
const pages: { slug: string; name: string; description: string }[] = [];

if (existsSync(API_PAGES_DIR)) rmSync(API_PAGES_DIR, { recursive: true });
mkdirSync(API_PAGES_DIR, { recursive: true });

for (const slug of readdirSync(packagesDir).sort()) {
  const pkgFile = join(packagesDir, slug, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as PackageJson;
  const entries: ApiEntry[] = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const source = typeof target === 'object' ? target.source : undefined;
    if (!source || !existsSync(join(packagesDir, slug, source))) continue;
    const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
    entries.push({ specifier, source: `packages/${slug}/${source.replace(/^\.\//, '')}`, symbols: publicExports(join(packagesDir, slug, source)) });
  }
  if (entries.length === 0) continue;
  writeFileSync(join(API_PAGES_DIR, `${slug}.md`), renderApiPage(pkg.name, pkg.description ?? '', entries));
  pages.push({ slug, name: pkg.name, description: pkg.description ?? '' });
}
writeFileSync(join(API_PAGES_DIR, 'index.md'), renderApiIndex(pages));
console.log(`generate-api-pages: ${pages.length} package pages in docs/api/`);
