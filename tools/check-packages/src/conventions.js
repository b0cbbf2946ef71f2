/**
 * The conventions every Weft package follows, in one place: the scaffolder
 * (@weft/create-plugin) writes them and the checker enforces them.
 *
 * Slot names, slot helpers and the family each slot is usually filled by are read from
 * @weft/core's sources, so core stays the single source of truth for them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Plugin families: the `<family>` part of a plugin folder `plugins/<family>-<technique>`
 * (see the architecture notes: "Families").
 */
export const FAMILIES = Object.freeze({
  pos: 'positional encodings',
  attn: 'attention kernels',
  heads: 'head layouts and KV sharing',
  mixer: 'non-attention token mixers (SSM, RNN, convolution, FFT)',
  ffn: 'feed-forward layers and norms',
  moe: 'mixtures of experts',
  reduce: 'token pruning, pooling, merging, dropping',
  memory: 'segment memory and recurrence',
  kv: 'KV-cache policies',
  train: 'training strategies',
  parallel: 'sequence / context parallelism',
  tok: 'tokenization',
});

/** The README template: `# @weft/<name>` then these sections, in this order. */
export const README_SECTIONS = Object.freeze([
  'What it is',
  'When to use it',
  'Install',
  'Use',
  'Options',
  'Compatibility',
  'Cost',
  'Paper & citation',
]);

/** Workspace folders that hold packages, and what kind of package each holds. */
export const GROUPS = Object.freeze([
  { dir: 'packages', kind: 'library' },
  { dir: 'plugins', kind: 'plugin' },
  { dir: 'apps', kind: 'private' },
  { dir: 'apps/templates', kind: 'private' },
  { dir: 'tools', kind: 'private' },
]);

/** Single-package folders (not a folder of packages). */
export const SINGLE_PACKAGES = Object.freeze([{ dir: 'docs', kind: 'private' }]);

/** Dependencies a library (other than core itself) takes as peers, so one copy of each exists. */
export const SHARED_PEERS = Object.freeze(['@weft/core', '@tensorflow/tfjs-core', 'tsyringe']);

/** `<family>-<technique>`: lowercase words joined by single dashes. */
export const PLUGIN_NAME_PATTERN = /^([a-z]+)-([a-z][a-z0-9]*(?:-[a-z0-9]+)*)$/;

export const SEMVER_PATTERN = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const SLOTS_FILE = 'packages/core/src/slots.ts';
const PLUGIN_FILE = 'packages/core/src/plugin.ts';

function quotedStrings(text) {
  return [...text.matchAll(/['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

function readCoreSource(root, file) {
  const path = join(root, file);
  if (!existsSync(path)) {
    throw new Error(
      `Cannot read the slots: ${file} does not exist under ${root}. Run this from the Weft repository.`,
    );
  }
  return readFileSync(path, 'utf8');
}

/**
 * Read core's slot table from its sources:
 * - `names`: SLOT_NAMES, in order;
 * - `families`: SLOT_FAMILIES (slot -> families whose plugins usually fill it);
 * - `helpers`: slot -> the provider helper exported by core (`kvCache` -> `kvCache`).
 *
 * @param {string} root the repository root
 * @returns {{ names: string[], families: Record<string, string[]>, helpers: Record<string, string> }}
 */
export function readSlots(root) {
  const slots = readCoreSource(root, SLOTS_FILE);
  const namesMatch = slots.match(/export const SLOT_NAMES\s*=\s*\[([\s\S]*?)\]\s*as const/);
  if (!namesMatch) {
    throw new Error(
      `Cannot find "export const SLOT_NAMES = [...] as const" in ${SLOTS_FILE}. ` +
        'If core changed how slots are declared, update readSlots() in tools/check-packages/src/conventions.js.',
    );
  }
  const names = quotedStrings(namesMatch[1]);

  /** @type {Record<string, string[]>} */
  const families = {};
  const familiesMatch = slots.match(/export const SLOT_FAMILIES[^=]*=\s*\{([\s\S]*?)\n\};/);
  if (familiesMatch) {
    for (const m of familiesMatch[1].matchAll(/^\s*(\w+)\s*:\s*\[([^\]]*)\]/gm))
      families[m[1]] = quotedStrings(m[2]);
  }

  /** @type {Record<string, string>} */
  const helpers = {};
  const plugin = readCoreSource(root, PLUGIN_FILE);
  for (const m of plugin.matchAll(
    /export const (\w+)\s*=\s*defineProvider\(\s*['"](\w+)['"]\s*\)/g,
  ))
    helpers[m[2]] = m[1];

  return { names, families, helpers };
}
