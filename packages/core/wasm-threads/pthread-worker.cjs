// A pthread worker for tfjs's threaded wasm backend in Node.
//
// tfjs hands Emscripten a blob: URL for both the worker script and the module factory, and
// Node's worker_threads cannot load blob: URLs. Weft points the worker at this file instead
// (see src/node/wasm-threads.ts); here we run tfjs's own worker code and serve it the factory
// from the package's wasm-out folder.
'use strict';
const { dirname, join } = require('node:path');

const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
const factory = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'));
const { wasmWorkerContents } = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'));
const FACTORY_URL = 'weft:tfjs-backend-wasm-threaded-simd';

URL.createObjectURL = () => FACTORY_URL;
URL.revokeObjectURL = () => undefined;
// As tfjs does before making its blob: the contents hold raw newlines inside string literals.
new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);
const importScripts = global.importScripts;
global.importScripts = (url) => {
  if (url === FACTORY_URL) global.WasmBackendModuleThreadedSimd = factory;
  else importScripts(url);
};
