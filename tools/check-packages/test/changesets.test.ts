/**
 * Independent versions: with the repository's changesets config and the peer ranges plugins
 * declare, a core minor bumps core alone — no plugin is forced to a major (with `workspace:^`
 * peers on 0.x it would be, which this test guards against).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..', '..');
const changeset = join(repo, 'node_modules', '.bin', 'changeset');

function write(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');
}

test('a core minor changeset bumps core only; plugins keep their versions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-changesets-'));
  mkdirSync(join(dir, '.changeset'));
  copyFileSync(join(repo, '.changeset', 'config.json'), join(dir, '.changeset', 'config.json'));
  write(join(dir, 'package.json'), { name: 'workspace', private: true });
  write(join(dir, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - plugins/*\n');
  const core = JSON.parse(readFileSync(join(repo, 'packages', 'core', 'package.json'), 'utf8'));
  const rope = JSON.parse(readFileSync(join(repo, 'plugins', 'pos-rope', 'package.json'), 'utf8'));
  const xpos = JSON.parse(readFileSync(join(repo, 'plugins', 'pos-xpos', 'package.json'), 'utf8'));
  const strip = (pkg: Record<string, unknown>) => ({
    name: pkg.name,
    version: pkg.version,
    peerDependencies: pkg.peerDependencies,
    dependencies: Object.fromEntries(Object.entries((pkg.dependencies ?? {}) as Record<string, string>).filter(([n]) => n.startsWith('@weft/'))),
  });
  write(join(dir, 'packages', 'core', 'package.json'), { name: core.name, version: core.version });
  write(join(dir, 'plugins', 'pos-rope', 'package.json'), strip(rope));
  write(join(dir, 'plugins', 'pos-xpos', 'package.json'), strip(xpos));
  write(join(dir, '.changeset', 'core-minor.md'), '---\n"@weft/core": minor\n---\nA new slot option.\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.email=ci@weft.dev', '-c', 'user.name=ci', 'commit', '-qm', 'init');
  execFileSync(changeset, ['version'], { cwd: dir, stdio: 'pipe' });
  const version = (p: string) => JSON.parse(readFileSync(join(dir, p, 'package.json'), 'utf8')).version;
  const [major, minor] = String(core.version).split('.').map(Number);
  expect(version('packages/core')).toBe(major === 0 ? `0.${minor + 1}.0` : `${major}.${minor + 1}.0`);
  expect(version('plugins/pos-rope')).toBe(rope.version);
  expect(version('plugins/pos-xpos')).toBe(xpos.version);
  expect(readFileSync(join(dir, 'packages', 'core', 'CHANGELOG.md'), 'utf8')).toContain('A new slot option.');
}, 60000);
