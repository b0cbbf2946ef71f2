/**
 * The entry points of the API reference: every subpath of each library package's `exports`
 * map (packages/*) whose `source` condition names an existing file.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ApiEntry {
  /** The import specifier: `@weft/core`, `@weft/core/testing`. */
  specifier: string;
  /** The package folder name (`core`). */
  slug: string;
  /** Absolute path of the source entry file. */
  file: string;
  /** The package's description. */
  description: string;
}

interface PackageJson {
  name: string;
  description?: string;
  exports?: Record<string, string | { source?: string }>;
}

export function apiEntries(packagesDir: string): ApiEntry[] {
  const entries: ApiEntry[] = [];
  for (const slug of readdirSync(packagesDir).sort()) {
    const pkgFile = join(packagesDir, slug, 'package.json');
    if (!existsSync(pkgFile)) continue; // a folder being created
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as PackageJson;
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const source = typeof target === 'object' ? target.source : undefined;
      if (!source || !existsSync(join(packagesDir, slug, source))) continue;
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
      entries.push({ specifier, slug, file: join(packagesDir, slug, source), description: pkg.description ?? '' });
    }
  }
  return entries;
}
