// Builds generated/tfjs-extras.js: tfjs-core's gradient and chained-op registrations.
//
// The Node bundle of @tensorflow/tfjs-core (dist/tf-core.node.js) registers neither
// gradients nor chained ops, and its per-file ESM build cannot be imported by Node directly
// (extension-less imports). esbuild flattens those registration modules into one ESM file.
// The flattened copy of tfjs internals it contains is harmless: tfjs keeps its engine, kernel
// registry and gradient registry on the global object, so the registrations land in the one
// engine every other tfjs copy uses.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'generated', 'tfjs-extras.js');
const require = createRequire(import.meta.url);
const corePkg = require.resolve('@tensorflow/tfjs-core/package.json');
const coreDist = join(dirname(corePkg), 'dist');

if (existsSync(out) && statSync(out).mtimeMs > statSync(corePkg).mtimeMs) process.exit(0);
mkdirSync(dirname(out), { recursive: true });
await build({
  stdin: {
    contents: [
      `import ${JSON.stringify(join(coreDist, 'register_all_gradients.js'))};`,
      `import ${JSON.stringify(join(coreDist, 'public/chained_ops/register_all_chained_ops.js'))};`,
    ].join('\n'),
    resolveDir: here,
  },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  outfile: out,
  logLevel: 'warning',
  legalComments: 'none',
});
writeFileSync(
  join(dirname(out), 'tfjs-extras.d.ts'),
  "// Brings tfjs's chained-op typings (x.matMul(y), ...) along with their registration.\nimport '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';\nexport {};\n",
);
