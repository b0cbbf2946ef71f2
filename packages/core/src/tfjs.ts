/**
 * The one place Weft touches tfjs. Everything else imports `tf` from here (or from
 * `@weft/core`), so a process has exactly one tfjs engine with:
 * - every gradient and chained op registered (the Node bundle of tfjs-core has neither);
 * - the cpu and wasm backends registered;
 * - the kernels tfjs lacks on a backend supplied by core (see ./kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../generated/tfjs-extras.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerCoreKernels } from './kernels/register.js';

// The cpu backend prints a banner advertising tfjs-node on first use in Node; PROD silences
// it. PROD only turns off tfjs's own debug-time warnings.
tf.env().set('PROD', true);
registerCoreKernels();
// tfjs would pick wasm (highest priority) on first use, but wasm starts asynchronously, so any
// op before `await tf.ready()` would throw. Start on cpu, which is ready synchronously; Weft's
// entry points (`useBackend`, `ensureBackend`, the CLI) then switch to wasm, the fast default.
if (tf.engine().backendName == null) void tf.setBackend('cpu');

export { tf };
export type { Tensor, Variable, Rank, DataType, TensorLike } from '@tensorflow/tfjs-core';
