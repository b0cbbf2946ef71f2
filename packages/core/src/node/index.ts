/**
 * Node-only parts of core: atomic files, checkpoint files, WebGPU through Dawn, wasm threads.
 * Importing this module lets `useBackend('webgpu')` work in Node and `useBackend('wasm')` start
 * a thread pool (`setWasmThreads`).
 */
import { setNodeWasmStarter, setNodeWebGPUInstaller } from '../backends.js';
import { startWasm } from './wasm-threads.js';
import { installNodeWebGPU } from './webgpu.js';

setNodeWebGPUInstaller(installNodeWebGPU);
setNodeWasmStarter(startWasm);

export { writeFileAtomic } from './atomic-write.js';
export { saveSafetensorsFile, readSafetensorsFile, loadSafetensorsFile } from './checkpoint-file.js';
export { installNodeWebGPU, SWIFTSHADER_ICD } from './webgpu.js';
export { setWasmThreads, wasmThreads, MAX_WASM_THREADS } from './wasm-threads.js';
