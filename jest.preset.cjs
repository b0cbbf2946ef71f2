// Shared jest settings for every workspace package.
// Tests run on TypeScript sources (compiled by swc to CommonJS), and `@weft/*` imports are
// mapped to the sibling packages' sources, so a test never needs a prior build.
const fs = require('node:fs');
const path = require('node:path');

const root = __dirname;

function workspaceSourceMap() {
  const map = {};
  for (const group of ['packages', 'plugins', 'apps', 'tools']) {
    const dir = path.join(root, group);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      const pkgFile = path.join(dir, name, 'package.json');
      if (!fs.existsSync(pkgFile)) continue;
      const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
      if (!pkg.name || !pkg.name.startsWith('@weft/')) continue;
      const exportsMap = pkg.exports || {};
      for (const [subpath, target] of Object.entries(exportsMap)) {
        const source = (typeof target === 'object' && target.source) || null;
        if (!source) continue;
        const spec = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
        map[`^${spec.replace(/[/.]/g, (c) => '\\' + c)}$`] = path.join(dir, name, source);
      }
    }
  }
  return map;
}

module.exports = {
  testEnvironment: 'node',
  // tfjs keeps its engine on the global object; jest 30's global cleanup would fight it.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  // The `webgpu` package (Dawn for Node) is ESM-only: let swc turn it into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!\\.pnpm/webgpu@|webgpu/)'],
  moduleNameMapper: {
    ...workspaceSourceMap(),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  setupFiles: [path.join(root, 'jest.setup.cjs')],
  globalSetup: path.join(root, 'jest.global-setup.cjs'),
  testMatch: ['**/test/**/*.test.ts'],
  testTimeout: 120000,
};
