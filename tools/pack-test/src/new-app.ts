/**
 * `weft new app <template> <dir>`: start a project from one of apps/templates.
 *
 * Copies the template (without node_modules, dist and run outputs) and rewrites its
 * `workspace:` dependency ranges to the published versions of the workspace packages
 * (`workspace:^` -> `^0.1.0`, `workspace:~` -> `~0.1.0`, `workspace:*` -> `^0.1.0`), so the
 * copy installs from npm like any project.
 */
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file lives in tools/pack-test/src (or dist). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TEMPLATES_DIR = join(REPO_ROOT, 'apps', 'templates');

/** Folders and files never copied from a template. */
const SKIP = new Set(['node_modules', 'dist', 'runs', '.turbo', 'package-lock.json', 'pnpm-lock.yaml']);
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

export interface NewAppOptions {
  /** Package name -> version used for workspace ranges (default: read from the workspace). */
  versions?: Record<string, string>;
  /** Dependency specs that replace the rewritten ones, e.g. `file:` paths to packed tarballs. */
  overrides?: Record<string, string>;
  /** Folder holding the templates (default apps/templates). */
  templatesDir?: string;
}

export interface NewAppResult {
  dir: string;
  /** The package name written (the folder's name, made npm-safe). */
  name: string;
  /** Dependencies whose range was rewritten: name -> new range. */
  rewritten: Record<string, string>;
}

/** The templates available: folders of apps/templates with a package.json. */
export function listTemplates(templatesDir = TEMPLATES_DIR): string[] {
  if (!existsSync(templatesDir)) return [];
  return readdirSync(templatesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(templatesDir, e.name, 'package.json')))
    .map((e) => e.name)
    .sort();
}

/** Name -> version of every package in the workspace (packages/*, plugins/*, apps/*, tools/*). */
export function workspaceVersions(root = REPO_ROOT): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const group of ['packages', 'plugins', 'apps', 'tools']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      const file = join(dir, entry, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name && pkg.version) versions[pkg.name] = pkg.version;
    }
  }
  return versions;
}

/** The published range for a `workspace:` spec (`workspace:^`, `workspace:~`, `workspace:*`, `workspace:^1.2.0`). */
export function publishedRange(spec: string, version: string): string {
  const rest = spec.slice('workspace:'.length);
  if (rest === '^' || rest === '*' || rest === '') return `^${version}`;
  if (rest === '~') return `~${version}`;
  return rest;
}

/** An npm package name from a folder name: lower case, unsafe characters to '-'. */
export function packageNameFor(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|-+$/g, '');
  return name || 'weft-app';
}

/** Copy `template` into `dir` (which must not exist or be empty) and rewrite its workspace ranges. */
export function newApp(template: string, dir: string, options: NewAppOptions = {}): NewAppResult {
  const templatesDir = options.templatesDir ?? TEMPLATES_DIR;
  const available = listTemplates(templatesDir);
  if (!available.includes(template)) {
    throw new Error(`Unknown template "${template}". Choose one of: ${available.join(', ') || '(none found in ' + templatesDir + ')'}.`);
  }
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new Error(`${target} already exists and is not empty. Choose a new folder, or empty this one first.`);
  }
  const source = join(templatesDir, template);
  cpSync(source, target, { recursive: true, filter: (path) => !SKIP.has(basename(path)) });

  const versions = options.versions ?? workspaceVersions();
  const pkgFile = join(target, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown>;
  const name = packageNameFor(target);
  const rewritten: Record<string, string> = {};
  for (const field of DEPENDENCY_FIELDS) {
    const deps = pkg[field] as Record<string, string> | undefined;
    if (!deps) continue;
    for (const [dep, spec] of Object.entries(deps)) {
      if (spec.startsWith('workspace:')) {
        const version = versions[dep];
        if (!version) throw new Error(`Template ${template} depends on ${dep} (${spec}), which is not a workspace package.`);
        deps[dep] = publishedRange(spec, version);
        rewritten[dep] = deps[dep];
      }
      if (options.overrides?.[dep]) {
        deps[dep] = options.overrides[dep];
        rewritten[dep] = deps[dep];
      }
    }
  }
  const out = { name, version: '0.1.0', private: true, ...Object.fromEntries(Object.entries(pkg).filter(([k]) => !['name', 'version', 'private'].includes(k))) };
  writeFileSync(pkgFile, `${JSON.stringify(out, null, 2)}\n`);
  return { dir: target, name, rewritten };
}

/**
 * The body of `weft new app <template> <dir>`: validates the arguments, creates the project
 * and returns the lines to print (throws with the fix on bad input).
 */
export function newAppCommand(template: string | undefined, dir: string | undefined): string[] {
  const templates = listTemplates();
  if (!template || !dir) throw new Error(`Usage: weft new app <template> <dir>. Templates: ${templates.join(', ')}.`);
  const { dir: target, name } = newApp(template, dir);
  return [
    `Created ${name} in ${target} from the ${template} template.`,
    `Next: cd ${dir} && npm install && npm run build`,
    ...(existsSync(join(target, 'README.md')) ? ['See its README.md for what it does and how to change it.'] : []),
  ];
}
