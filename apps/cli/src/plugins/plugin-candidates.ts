/**
 * Plugin package names the CLI knows of, for "did you mean" suggestions: the @weft packages
 * in the CLI's own package.json and the packages core's KNOWN_KINDS catalogue names.
 * Nothing is scanned on disk.
 */
import { readFileSync } from 'node:fs';
import { KNOWN_KINDS } from '@weft/core';
import { PACKAGE_JSON_PATH } from '../paths.js';

function ownDependencies(): string[] {
  try {
    const pkg = JSON.parse(readFileSync(PACKAGE_JSON_PATH, 'utf8')) as Record<string, Record<string, string> | undefined>;
    return ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((field) => Object.keys(pkg[field] ?? {}));
  } catch {
    return [];
  }
}

export function pluginCandidates(): string[] {
  const catalogue = Object.values(KNOWN_KINDS).flatMap((kinds) => Object.values(kinds ?? {}));
  return [...new Set([...ownDependencies(), ...catalogue])].filter((name) => name.startsWith('@weft/'));
}

/** The plugin packages the CLI depends on (named in its package.json; nothing is scanned). */
export function bundledPluginPackages(): string[] {
  return ownDependencies()
    .filter((name) => /^@weft\/(pos|attn|heads|kv|mixer|moe|reduce|memory|ffn|train|parallel|tok)-/.test(name))
    .sort();
}
