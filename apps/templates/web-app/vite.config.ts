/**
 * tfjs's wasm backend fetches its .wasm binaries when it starts: serve them in dev and copy
 * them into the build under tfjs-wasm/ (src/main.ts points setWasmPaths there).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);

function tfjsWasmFiles(): Plugin {
  const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const files = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
  return {
    name: 'tfjs-wasm-files',
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

export default defineConfig({
  base: './',
  plugins: [tfjsWasmFiles()],
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
