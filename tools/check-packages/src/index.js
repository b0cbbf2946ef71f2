/**
 * check-packages: every workspace package follows the same layout.
 *
 * `checkPackages({ root })` walks packages/*, plugins/*, apps/*, apps/templates/*, tools/*
 * and docs (those with a package.json) and returns one problem per deviation:
 * `{ dir, name, problem, fix }`. `formatReport()` turns them into the text the bin prints.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  FAMILIES,
  GROUPS,
  PLUGIN_NAME_PATTERN,
  README_SECTIONS,
  SEMVER_PATTERN,
  SHARED_PEERS,
  SINGLE_PACKAGES,
} from './conventions.js';
import { findImports } from './imports.js';

export * from './conventions.js';
export { findImports, stripComments } from './imports.js';

const EXPORT_CONDITIONS = ['source', 'types', 'default'];
const LIBRARY_SCRIPTS = ['build', 'test', 'typecheck'];
const LIBRARY_CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'jest.config.cjs'];
const SOURCE_EXTENSIONS = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

function toPosix(path) {
  return path.split('\\').join('/');
}

function isDir(path) {
  return existsSync(path) && statSync(path).isDirectory();
}

function readText(path) {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

function listFiles(dir, accept) {
  if (!isDir(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.'))
      continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path, accept));
    else if (accept(entry.name)) out.push(path);
  }
  return out.sort();
}

/** The package folders of the workspace: [{ dir, folder, group, kind }]. */
export function findPackages(root) {
  const found = [];
  for (const { dir, kind } of GROUPS) {
    const groupDir = join(root, dir);
    if (!isDir(groupDir)) continue;
    for (const folder of readdirSync(groupDir).sort()) {
      const path = join(groupDir, folder);
      if (folder.startsWith('.') || !isDir(path)) continue;
      // apps/templates is a folder of packages, walked as its own group.
      if (`${dir}/${folder}` === 'apps/templates' && !existsSync(join(path, 'package.json')))
        continue;
      found.push({
        dir: path,
        folder,
        group: dir,
        kind,
        hasManifest: existsSync(join(path, 'package.json')),
      });
    }
  }
  for (const { dir, kind } of SINGLE_PACKAGES) {
    const path = join(root, dir);
    if (isDir(path))
      found.push({
        dir: path,
        folder: dir,
        group: dir,
        kind,
        hasManifest: existsSync(join(path, 'package.json')),
      });
  }
  return found;
}

/** Package names each changeset (.changeset/*.md front matter) releases: Map<file, names[]>. */
export function readChangesets(changesetDir) {
  const out = new Map();
  if (!isDir(changesetDir)) return out;
  for (const file of readdirSync(changesetDir).sort()) {
    if (!file.endsWith('.md') || file.toLowerCase() === 'readme.md') continue;
    const text = readFileSync(join(changesetDir, file), 'utf8');
    const front = text.match(/^---\r?\n([\s\S]*?)\r?\n---/);
    const releases = [];
    if (front) {
      for (const line of front[1].split(/\r?\n/)) {
        const m = line.match(/^\s*["']?([^"':]+)["']?\s*:\s*(\w+)\s*$/);
        if (m) releases.push({ name: m[1].trim(), bump: m[2] });
      }
    }
    out.set(file, releases);
  }
  return out;
}

/** Headings (`## Title`, any level from 2) of a markdown file, outside code fences. */
function markdownHeadings(text) {
  const headings = [];
  let inFence = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const m = line.match(/^(#{1,6})\s+(.+?)\s*#*\s*$/);
    if (m) headings.push({ level: m[1].length, title: m[2] });
  }
  return headings;
}

function normalizeHeading(title) {
  return title
    .toLowerCase()
    .replace(/\band\b/g, '&')
    .replace(/[^a-z&]+/g, ' ')
    .trim();
}

function quoteList(items) {
  return items.map((s) => `"${s}"`).join(', ');
}

/**
 * Check one package folder. `context` carries what is shared across packages
 * (changeset releases). Returns a list of { problem, fix }.
 */
export function checkPackage(pkgInfo, context) {
  const { dir, folder, kind } = pkgInfo;
  const problems = [];
  const report = (problem, fix) => problems.push({ problem, fix });
  const isPlugin = kind === 'plugin';
  const isLibrary = kind === 'library' || isPlugin;

  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch (error) {
    report(
      `package.json is not valid JSON (${error.message})`,
      'fix the syntax; nothing else was checked',
    );
    return { name: undefined, problems };
  }
  const name = typeof pkg.name === 'string' ? pkg.name : undefined;
  const isCore = name === '@weft/core';

  // --- package.json fields every package has
  if (isLibrary) {
    const expected = `@weft/${folder}`;
    if (name !== expected)
      report(
        `"name" is ${JSON.stringify(pkg.name)}, but the folder ${folder}/ publishes as "${expected}"`,
        `set "name": "${expected}" (or rename the folder)`,
      );
  } else if (!name) {
    report('"name" is missing', `set "name": "@weft/${folder.replace(/\//g, '-')}"`);
  }
  if (typeof pkg.version !== 'string' || !SEMVER_PATTERN.test(pkg.version)) {
    report(
      `"version" is ${JSON.stringify(pkg.version)}, not a semver version`,
      `set "version": "${isLibrary ? '0.1.0' : '0.0.0'}" (changesets bumps it from there)`,
    );
  }
  if (typeof pkg.description !== 'string' || !pkg.description.trim()) {
    report(
      '"description" is missing or empty',
      'add one sentence saying what the package is (it shows on npm and in the docs)',
    );
  }
  if (pkg.license !== 'MIT')
    report(`"license" is ${JSON.stringify(pkg.license)}`, 'set "license": "MIT"');
  if (pkg.type !== 'module')
    report(`"type" is ${JSON.stringify(pkg.type)}`, 'set "type": "module" (Weft packages are ESM)');
  if (!existsSync(join(dir, 'README.md'))) {
    report(
      'README.md is missing',
      isPlugin
        ? `write it from the template: ${README_SECTIONS.join(' · ')}`
        : 'write a README.md: what it is, install, use',
    );
  }

  if (!isLibrary) {
    if (pkg.private !== true)
      report(
        '"private" is not true: apps, templates, tools and docs are never published',
        'set "private": true',
      );
    const tests = listFiles(join(dir, 'test'), (f) => /\.test\.[cm]?[jt]sx?$/.test(f));
    if (tests.length > 0) {
      if (!pkg.scripts?.test)
        report(
          `has ${tests.length} test file(s) under test/ but no "test" script, so \`pnpm test\` never runs them`,
          'add "scripts": { "test": "jest" }',
        );
      // Private packages may use another runner (docs uses node --test); jest needs the preset.
      if (/\bjest\b/.test(pkg.scripts?.test ?? '') && !existsSync(join(dir, 'jest.config.cjs')))
        report(
          'has tests but no jest.config.cjs',
          "add jest.config.cjs: module.exports = { ...require('../../jest.preset.cjs') };",
        );
    }
    return { name, problems };
  }

  // --- published libraries (packages/* and plugins/*)
  if (pkg.private === true)
    report(
      '"private" is true, so changesets will never publish it',
      'remove "private" (only apps, templates, tools and docs are private)',
    );
  if (!('sideEffects' in pkg))
    report(
      '"sideEffects" is missing',
      'add "sideEffects": false (or the list of files that have side effects) so bundlers can tree-shake',
    );

  checkExports(pkg, dir, report);

  if (
    !Array.isArray(pkg.files) ||
    !pkg.files.some((f) => f === 'dist' || f === 'dist/' || f === './dist')
  ) {
    report(
      '"files" does not include "dist", so the published package has no code',
      'set "files": ["dist", "README.md", "CHANGELOG.md"]',
    );
  }
  for (const script of LIBRARY_SCRIPTS) {
    if (!pkg.scripts?.[script])
      report(
        `"scripts.${script}" is missing`,
        `add ${JSON.stringify(script)}: ${JSON.stringify({ build: 'tsc -p tsconfig.build.json', test: 'jest', typecheck: 'tsc -p tsconfig.json --noEmit' }[script])}`,
      );
  }
  for (const file of LIBRARY_CONFIGS) {
    const text = readText(join(dir, file));
    if (text === null) {
      report(
        `${file} is missing`,
        `copy it from plugins/attn-flash/ (or run pnpm create-plugin and keep the generated one)`,
      );
    } else if (file === 'jest.config.cjs' && !text.includes('jest.preset.cjs')) {
      report(
        'jest.config.cjs does not use the shared preset, so @weft/* imports will not map to sources',
        "module.exports = { ...require('../../jest.preset.cjs') };",
      );
    } else if (file.startsWith('tsconfig') && !text.includes('tsconfig.base.json')) {
      report(
        `${file} does not extend the shared tsconfig.base.json`,
        'add "extends": "../../tsconfig.base.json"',
      );
    }
  }

  const releasedBy = context.releases.get(name) ?? [];
  if (!existsSync(join(dir, 'CHANGELOG.md')) && releasedBy.length === 0) {
    report(
      'no changeset mentions it and it has no CHANGELOG.md, so it will never be released',
      `run \`pnpm changeset\` and pick ${name ?? 'this package'} (or add .changeset/${folder}-initial.md)`,
    );
  }

  if (!isCore) {
    for (const dep of SHARED_PEERS) {
      if (pkg.dependencies?.[dep]) {
        report(
          `${dep} is a regular dependency, which can install a second copy (two tfjs engines / two containers)`,
          `move it to "peerDependencies" (and "devDependencies" for local work)`,
        );
      }
    }
    checkTfjsImports(dir, report);
  }

  if (isPlugin) checkPlugin(pkg, pkgInfo, report);
  return { name, problems };
}

function checkExports(pkg, dir, report) {
  const exportsMap = pkg.exports;
  const example =
    '{ ".": { "source": "./src/index.ts", "types": "./dist/index.d.ts", "default": "./dist/index.js" }, "./package.json": "./package.json" }';
  if (!exportsMap || typeof exportsMap !== 'object' || Array.isArray(exportsMap)) {
    report('"exports" is missing or not a map of subpaths', `set "exports": ${example}`);
    return;
  }
  if (!exportsMap['.']) report('"exports" has no "." entry', `set "exports": ${example}`);
  if (!('./package.json' in exportsMap))
    report(
      '"exports" does not expose "./package.json" (tools read it)',
      'add "./package.json": "./package.json" to "exports"',
    );
  for (const [subpath, target] of Object.entries(exportsMap)) {
    if (subpath === './package.json') continue;
    if (!target || typeof target !== 'object') {
      report(
        `"exports" entry ${JSON.stringify(subpath)} is a plain path`,
        `make it { "source", "types", "default" } (source first: jest and typecheck resolve through it)`,
      );
      continue;
    }
    const keys = Object.keys(target);
    const missing = EXPORT_CONDITIONS.filter((k) => !keys.includes(k));
    if (missing.length) {
      report(
        `"exports" entry ${JSON.stringify(subpath)} lacks ${quoteList(missing)}`,
        'give it "source" (./src/*.ts), "types" (./dist/*.d.ts) and "default" (./dist/*.js), in that order',
      );
      continue;
    }
    const order = keys.filter((k) => EXPORT_CONDITIONS.includes(k));
    if (order.join() !== EXPORT_CONDITIONS.join() || keys[keys.length - 1] !== 'default') {
      report(
        `"exports" entry ${JSON.stringify(subpath)} lists conditions as ${keys.join(', ')}`,
        'order them "source", "types", "default": conditions match first-listed, so "source" must precede "types" and "default" must be last',
      );
    }
    if (typeof target.source === 'string' && !existsSync(join(dir, target.source))) {
      report(
        `"exports" entry ${JSON.stringify(subpath)} points "source" at ${target.source}, which does not exist`,
        'create the file or fix the path',
      );
    }
  }
  const root = exportsMap['.'];
  if (root && typeof root === 'object') {
    if (pkg.main !== root.default)
      report(
        `"main" is ${JSON.stringify(pkg.main)} but exports["."].default is ${JSON.stringify(root.default)}`,
        `set "main": ${JSON.stringify(root.default)}`,
      );
    if (pkg.types !== root.types)
      report(
        `"types" is ${JSON.stringify(pkg.types)} but exports["."].types is ${JSON.stringify(root.types)}`,
        `set "types": ${JSON.stringify(root.types)}`,
      );
  }
}

function checkTfjsImports(dir, report) {
  for (const file of listFiles(
    join(dir, 'src'),
    (f) => SOURCE_EXTENSIONS.test(f) && !f.endsWith('.d.ts'),
  )) {
    for (const imp of findImports(readFileSync(file, 'utf8'))) {
      if (imp.typeOnly) continue;
      const where = `${toPosix(relative(dir, file))}:${imp.line}`;
      if (
        imp.specifier === '@tensorflow/tfjs-core' ||
        imp.specifier.startsWith('@tensorflow/tfjs-core/')
      ) {
        report(
          `${where} imports @tensorflow/tfjs-core at runtime (\`${imp.statement}\`): tfjs must come through @weft/core, or the process can end up with two engines`,
          "use `import { tf } from '@weft/core'` (types are fine: `import type { Tensor } from '@weft/core'`)",
        );
      } else if (imp.specifier === 'zod') {
        report(
          `${where} imports zod directly (\`${imp.statement}\`)`,
          "use `import { z } from '@weft/core'` so options schemas share core's zod",
        );
      }
    }
  }
}

function checkPlugin(pkg, { dir, folder }, report) {
  const nameMatch = folder.match(PLUGIN_NAME_PATTERN);
  if (!nameMatch) {
    report(
      `the folder name "${folder}" is not <family>-<technique>`,
      `rename it, e.g. plugins/attn-${folder.replace(/[^a-z0-9]+/g, '-')}`,
    );
  } else if (!(nameMatch[1] in FAMILIES)) {
    report(
      `"${nameMatch[1]}" in ${folder} is not a plugin family`,
      `use one of: ${Object.keys(FAMILIES).join(', ')}`,
    );
  }

  for (const dep of SHARED_PEERS) {
    if (!pkg.peerDependencies?.[dep]) {
      report(
        `"peerDependencies" lacks ${dep}`,
        `add "${dep}": ${JSON.stringify(dep === '@weft/core' ? '>=0.1.0 <1.0.0' : 'the version @weft/core uses')} (one copy of it must exist at runtime)`,
      );
    }
    if (!pkg.devDependencies?.[dep]) {
      report(
        `"devDependencies" lacks ${dep}, so it is not installed for the package's own tests`,
        `add "${dep}": ${JSON.stringify(dep === '@weft/core' ? 'workspace:*' : 'the same range as in peerDependencies')}`,
      );
    }
  }

  const indexPath = join(dir, 'src', 'index.ts');
  const index = readText(indexPath);
  if (index === null) {
    report(
      'src/index.ts is missing',
      'export default definePlugin({ name, version, paper, provides }) from src/index.ts',
    );
  } else {
    const code = index;
    if (!/\bdefinePlugin\s*\(/.test(code)) {
      report(
        'src/index.ts does not call definePlugin(',
        'export default definePlugin({ name, version, paper: { title, arxiv, year }, provides: [...] })',
      );
    } else {
      if (
        !/export\s+default\s+definePlugin\s*\(/.test(code) &&
        !/export\s+default\s+\w+\s*;/.test(code)
      ) {
        report(
          'src/index.ts has no default export of the plugin',
          'write `export default definePlugin({...})` (registry.use() takes the default export)',
        );
      }
      if (!/\bpapers?\s*:/.test(code)) {
        report(
          'the definePlugin manifest names no paper',
          "add paper: { title: '...', arxiv: '....', year: 20.. } (or papers: [...] for several)",
        );
      }
      const manifestName = code.match(/\bname\s*:\s*['"](@weft\/[^'"]+)['"]/);
      if (manifestName && manifestName[1] !== pkg.name) {
        report(
          `definePlugin's name is "${manifestName[1]}" but package.json's is "${pkg.name}"`,
          `use name: '${pkg.name}'`,
        );
      }
    }
    checkManifestVersion(pkg, dir, code, report);
  }

  const readme = readText(join(dir, 'README.md'));
  if (readme !== null) {
    const headings = markdownHeadings(readme);
    const title = headings.find((h) => h.level === 1);
    if (!title || title.title.trim() !== pkg.name)
      report(
        `README.md's title is ${title ? `"${title.title}"` : 'missing'}`,
        `start it with "# ${pkg.name}"`,
      );
    const have = new Set(
      headings.filter((h) => h.level >= 2).map((h) => normalizeHeading(h.title)),
    );
    const missing = README_SECTIONS.filter((s) => !have.has(normalizeHeading(s)));
    if (missing.length)
      report(
        `README.md lacks the section(s) ${quoteList(missing)}`,
        `add "## ${missing[0]}"${missing.length > 1 ? ' etc.' : ''}; the template is ${README_SECTIONS.join(' · ')}`,
      );
  }

  const tests = listFiles(join(dir, 'test'), (f) => /\.test\.tsx?$/.test(f));
  if (tests.length === 0) {
    report(
      'has no test file (test/*.test.ts)',
      'write the reference, property, gradient and parity tests PLUGIN-DONE.md lists',
    );
  } else if (
    readme !== null &&
    !tests.some((file) => readFileSync(file, 'utf8').includes('runReadmeSnippet('))
  ) {
    report(
      "no test runs the README's Use snippet (a copy pasted into a test drifts from the README)",
      "add test/readme.test.ts: await runReadmeSnippet(join(__dirname, '..', 'README.md')) with runReadmeSnippet from '@weft/core/testing'",
    );
  }
}

/** The manifest's version (a literal, or VERSION from src/version.ts) must equal package.json's. */
function checkManifestVersion(pkg, dir, index, report) {
  const literal = index.match(/\bversion\s*:\s*['"]([^'"]+)['"]/);
  if (literal && literal[1] !== pkg.version) {
    report(
      `definePlugin's version is "${literal[1]}" but package.json's is "${pkg.version}"`,
      `read it from package.json, or set it to '${pkg.version}'`,
    );
  }
  const versionFile = readText(join(dir, 'src', 'version.ts'));
  if (versionFile !== null) {
    const m = versionFile.match(/\bVERSION\s*=\s*['"]([^'"]+)['"]/);
    if (m && m[1] !== pkg.version) {
      report(
        `src/version.ts says VERSION = '${m[1]}' but package.json's version is "${pkg.version}"`,
        `set it to '${pkg.version}', or run \`pnpm check-packages --fix\``,
      );
    }
  }
}

/**
 * Check every package of the workspace at `root`.
 * Returns { packages: [{ dir, name, kind }], skipped: [dir], problems: [{ dir, name, problem, fix }] }
 * with `dir` relative to root.
 */
export function checkPackages({ root, changesetDir = join(root, '.changeset') }) {
  const changesets = readChangesets(changesetDir);
  const releases = new Map();
  for (const [file, entries] of changesets) {
    for (const { name } of entries) releases.set(name, [...(releases.get(name) ?? []), file]);
  }
  const context = { releases };
  const packages = [];
  const skipped = [];
  const problems = [];
  const names = new Map();

  for (const info of findPackages(root)) {
    const dir = toPosix(relative(root, info.dir));
    if (!info.hasManifest) {
      skipped.push(dir);
      continue;
    }
    const { name, problems: found } = checkPackage(info, context);
    packages.push({ dir, name, kind: info.kind });
    for (const p of found) problems.push({ dir, name, ...p });
    if (name) names.set(name, [...(names.get(name) ?? []), dir]);
  }

  for (const [name, dirs] of names) {
    if (dirs.length > 1) {
      for (const dir of dirs)
        problems.push({
          dir,
          name,
          problem: `the name "${name}" is also used by ${dirs.filter((d) => d !== dir).join(', ')}`,
          fix: 'give each package its own name',
        });
    }
  }

  // The docs site imports every plugin to generate its pages, so its build must come after
  // theirs: it lists each plugin as a workspace devDependency (turbo orders builds by deps).
  const docsManifest = join(root, 'docs', 'package.json');
  if (existsSync(docsManifest)) {
    const docs = JSON.parse(readFileSync(docsManifest, 'utf8'));
    const listed = new Set(Object.keys(docs.devDependencies ?? {}));
    for (const pkg of packages) {
      if (pkg.kind === 'plugin' && pkg.name && !listed.has(pkg.name))
        problems.push({
          dir: 'docs',
          name: docs.name,
          problem: `does not list ${pkg.name}, so its plugin page may be generated before the plugin is built`,
          fix: `add "${pkg.name}": "workspace:*" to docs/package.json devDependencies`,
        });
    }
  }

  const changesetRel = toPosix(relative(root, changesetDir)) || '.changeset';
  for (const [file, entries] of changesets) {
    const where = `${changesetRel}/${file}`;
    if (entries.length === 0)
      problems.push({
        dir: where,
        name: undefined,
        problem: 'has no front matter listing packages',
        fix: 'start it with ---, a line like \'"@weft/pos-rope": minor\', then ---',
      });
    for (const { name, bump } of entries) {
      if (!names.has(name))
        problems.push({
          dir: where,
          name,
          problem: `releases "${name}", which is not a workspace package`,
          fix: 'fix the name or delete the changeset',
        });
      if (!['major', 'minor', 'patch'].includes(bump))
        problems.push({
          dir: where,
          name,
          problem: `bumps "${name}" by "${bump}"`,
          fix: 'use major, minor or patch',
        });
    }
  }

  return { packages, skipped, problems };
}

/** Rewrite src/version.ts of every plugin whose VERSION differs from package.json. Returns changed files. */
export function syncVersionFiles({ root, write }) {
  const changed = [];
  for (const info of findPackages(root)) {
    const file = join(info.dir, 'src', 'version.ts');
    const text = readText(file);
    if (!info.hasManifest || text === null) continue;
    const { version } = JSON.parse(readFileSync(join(info.dir, 'package.json'), 'utf8'));
    const next = text.replace(/(\bVERSION\s*=\s*)(['"])[^'"]*\2/, `$1$2${version}$2`);
    if (next !== text) {
      write(file, next);
      changed.push(toPosix(relative(root, file)));
    }
  }
  return changed;
}

/** The text the CLI prints: problems grouped by package, each with its fix. */
export function formatReport({ packages, skipped, problems }) {
  if (problems.length === 0) {
    const kinds = { library: 0, plugin: 0, private: 0 };
    for (const p of packages) kinds[p.kind]++;
    const note = skipped.length
      ? `; skipped ${skipped.length} folder(s) without package.json: ${skipped.join(', ')}`
      : '';
    const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
    return (
      `check-packages: ${count(packages.length, 'package', 'packages')} OK ` +
      `(${count(kinds.library, 'library', 'libraries')}, ${count(kinds.plugin, 'plugin', 'plugins')}, ${kinds.private} private)${note}`
    );
  }
  const byDir = new Map();
  for (const p of problems) byDir.set(p.dir, [...(byDir.get(p.dir) ?? []), p]);
  const lines = [`check-packages: ${problems.length} problem(s) in ${byDir.size} place(s)`, ''];
  for (const [dir, list] of byDir) {
    const name = list[0].name;
    lines.push(name ? `${dir} (${name})` : dir);
    for (const p of list) {
      lines.push(`  ✗ ${p.problem}`);
      lines.push(`    fix: ${p.fix}`);
    }
    lines.push('');
  }
  if (skipped.length)
    lines.push(`Skipped ${skipped.length} folder(s) without package.json: ${skipped.join(', ')}`);
  return lines.join('\n').trimEnd();
}
