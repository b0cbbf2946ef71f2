/**
 * Builds apps/templates/web-app with its own vite.config.ts into the folder given as argv[2],
 * resolving @weft/* to their TypeScript sources (the `source` export condition), so the
 * workspace packages need no build first. Vite is ESM-only, hence a script the (CommonJS)
 * jest test runs in a child process.
 *
 *   node build-web-app.mjs <outDir>
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const template = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../apps/templates/web-app');
const outDir = resolve(process.argv[2] ?? join(template, 'dist'));
const vitePath = createRequire(join(template, 'package.json')).resolve('vite');
const { build, defaultClientConditions } = await import(pathToFileURL(vitePath).href);

await build({
  root: template,
  configFile: join(template, 'vite.config.ts'),
  logLevel: 'warn',
  resolve: {
    conditions: ['source', ...defaultClientConditions],
    // The template's tfjs backends and the workspace sources must share one tfjs-core.
    dedupe: ['@tensorflow/tfjs-core', 'tsyringe'],
  },
  build: {
    outDir,
    emptyOutDir: true,
    rollupOptions: {
      // zod 4 places /* @__PURE__ */ comments where Rollup cannot use them; harmless.
      onwarn(warning, warn) {
        if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
      },
    },
  },
});
console.log(`web-app built into ${outDir}`);
