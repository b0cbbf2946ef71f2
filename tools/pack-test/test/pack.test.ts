/**
 * Packed packages install and run like published ones.
 *
 * 1. Builds and `pnpm pack`s @weft/core, nn, tasks, train and two plugins (pos-rope,
 *    pos-alibi); checks each tarball has dist/ and no `workspace:` range left.
 * 2. In an empty project, `npm install`s the tarballs with @tensorflow/tfjs-core and tsyringe,
 *    and runs the root README's "Ten lines of TypeScript" (compiled with the repo's
 *    TypeScript): it must print a model summary.
 * 3. Generates each template with newApp, installs it from the tarballs, builds it, and runs
 *    the node-train template for a few steps on a tiny text file.
 *
 * Slow (npm installs from the registry): runs when CI=true or WEFT_PACK_TEST=1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { newApp, REPO_ROOT } from '../src/new-app.js';

const ENABLED = process.env.CI === 'true' || process.env.WEFT_PACK_TEST === '1';
if (!ENABLED) console.log('pack test skipped: it builds, packs and npm-installs packages (minutes); set WEFT_PACK_TEST=1 (CI=true runs it too).');
const maybe = ENABLED ? describe : describe.skip;

/** Packed packages and their folders. */
const PACKAGES: Record<string, string> = {
  '@weft/core': 'packages/core',
  '@weft/nn': 'packages/nn',
  '@weft/tasks': 'packages/tasks',
  '@weft/train': 'packages/train',
  '@weft/pos-rope': 'plugins/pos-rope',
  '@weft/pos-alibi': 'plugins/pos-alibi',
};
const THIRD_PARTY = { '@tensorflow/tfjs-core': '4.22.0', tsyringe: '^4.10.0', 'reflect-metadata': '^0.2.2' };
const NPM_FLAGS = ['--no-audit', '--no-fund', '--loglevel=error'];

/** pnpm must not install on its own before `pnpm build` (its verify-deps-before-run setting). */
const ENV = { ...process.env, pnpm_config_verify_deps_before_run: 'false', npm_config_verify_deps_before_run: 'false' };

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** The README's "Ten lines of TypeScript" block, compiled to an ES module. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Ten lines of TypeScript\s*$/m)[1];
  const code = /```ts\n([\s\S]*?)```/.exec(section ?? '')?.[1];
  if (!code) throw new Error('README.md has no ```ts block under "## Ten lines of TypeScript"');
  return ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

maybe('packed @weft packages', () => {
  let tmp: string;
  const tarballs: Record<string, string> = {};
  /** `file:` specs for every packed package, for dependencies and npm overrides. */
  const fileSpecs = () => Object.fromEntries(Object.entries(tarballs).map(([name, path]) => [name, `file:${path}`]));
  const overrides = () => Object.fromEntries(Object.keys(tarballs).map((name) => [name, `$${name}`]));

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'weft-pack-'));
    const filters = Object.keys(PACKAGES).flatMap((name) => ['--filter', name]);
    run('pnpm', [...filters, 'build'], REPO_ROOT);
    const packDir = join(tmp, 'tarballs');
    for (const [name, folder] of Object.entries(PACKAGES)) {
      const dir = join(REPO_ROOT, folder);
      expect({ name, dist: existsSync(join(dir, 'dist', 'index.js')) }).toEqual({ name, dist: true });
      const before = new Set(existsSync(packDir) ? readdirSync(packDir) : []);
      run('pnpm', ['pack', '--pack-destination', packDir], dir);
      const made = readdirSync(packDir).filter((f) => !before.has(f) && f.endsWith('.tgz'));
      expect(made).toHaveLength(1);
      tarballs[name] = join(packDir, made[0]);
    }
    expect(existsSync(join(REPO_ROOT, 'packages/core/generated/tfjs-extras.js'))).toBe(true);
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('tarballs hold dist/ and published ranges only', () => {
    for (const [name, tarball] of Object.entries(tarballs)) {
      const files = run('tar', ['-tzf', tarball], tmp).split('\n');
      expect(files).toContain('package/dist/index.js');
      if (name === '@weft/core') expect(files).toContain('package/generated/tfjs-extras.js');
      const pkg = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json'], tmp));
      const specs = ['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((f) => Object.values(pkg[f] ?? {})) as string[];
      expect({ name, workspaceRanges: specs.filter((s) => s.startsWith('workspace:')) }).toEqual({ name, workspaceRanges: [] });
    }
  });

  test("the README's ten lines run in a fresh npm project", () => {
    const project = join(tmp, 'readme');
    run('mkdir', ['-p', project], tmp);
    const dependencies = { ...fileSpecs(), ...THIRD_PARTY };
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-check', private: true, type: 'module', dependencies, overrides: overrides() }, null, 2));
    run('npm', ['install', ...NPM_FLAGS], project);
    writeFileSync(join(project, 'index.mjs'), readmeExample());
    let out: string;
    try {
      out = run('node', ['index.mjs'], project);
    } catch (error) {
      if (!/reflect polyfill/.test((error as Error).message)) throw error;
      // Say whether the polyfill is the only thing missing.
      writeFileSync(join(project, 'with-polyfill.mjs'), `import 'reflect-metadata';\n${readmeExample()}`);
      const rest = (() => {
        try {
          return /layer\s+kind\s+params/.test(run('node', ['with-polyfill.mjs'], project)) ? 'With it, the example prints the summary.' : 'Even with it, no summary is printed.';
        } catch (second) {
          return `Even with it, it fails: ${(second as Error).message.slice(0, 400)}`;
        }
      })();
      throw new Error(
        "The README's ten lines fail in a fresh project: tsyringe needs the Reflect metadata polyfill and nothing imports it. " +
          `Fix: have @weft/core import 'reflect-metadata' (as a dependency), or add it to the README example. ${rest}`,
      );
    }
    expect(out).toMatch(/layer\s+kind\s+params/);
    expect(out).toMatch(/blocks\.0\s+attention \+ mlp/);
    expect(out).toMatch(/total\s+[\d,]+/);
  }, 120_000);

  test('the templates install from the tarballs, build, and node-train trains', () => {
    const apps = join(tmp, 'apps');
    const installed = (dir: string) => {
      const pkgFile = join(dir, 'package.json');
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      pkg.overrides = overrides();
      writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
      run('npm', ['install', ...NPM_FLAGS], dir);
    };

    const train = join(apps, 'node-train');
    newApp('node-train', train, { overrides: fileSpecs() });
    installed(train);
    run('npm', ['run', 'build'], train);
    const config = JSON.parse(readFileSync(join(train, 'config.json'), 'utf8'));
    config.model = { ...config.model, dModel: 16, layers: 1, heads: 2 };
    config.train = { ...config.train, batchSize: 4, seqLen: 16, warmupSteps: 0 };
    config.generate = { ...config.generate, maxNewTokens: 8 };
    writeFileSync(join(train, 'config.json'), JSON.stringify(config));
    writeFileSync(join(train, 'tiny.txt'), 'the cat sat on the mat and the dog sat on the log. '.repeat(30));
    const out = run('node', ['dist/train.js', 'tiny.txt', '--steps', '6', '--out', 'runs/check'], train);
    expect(out).toMatch(/trained 6 steps: loss [\d.]+ -> [\d.]+/);
    expect(out).toMatch(/sample: The /);
    const checkpoint = /checkpoint: (\S+)/.exec(out)?.[1];
    expect(checkpoint && existsSync(resolve(train, checkpoint))).toBe(true);

    const web = join(apps, 'web-app');
    newApp('web-app', web, { overrides: fileSpecs() });
    installed(web);
    run('npm', ['run', 'typecheck'], web);
    run('npm', ['run', 'build'], web);
    expect(existsSync(join(web, 'dist', 'index.html'))).toBe(true);
    expect(readdirSync(join(web, 'dist', 'tfjs-wasm')).filter((f) => f.endsWith('.wasm')).length).toBeGreaterThan(0);
  }, 240_000);
});
