/**
 * Node-only parts of core: atomic files, checkpoint files, WebGPU through Dawn.
 * Importing this module lets `useBackend('webgpu')` work in Node.
 */
import { setNodeWebGPUInstaller } from '../backends.js';
import { installNodeWebGPU } from './webgpu.js';

setNodeWebGPUInstaller(installNodeWebGPU);

export { writeFileAtomic } from './atomic-write.js';
export { saveSafetensorsFile, readSafetensorsFile, loadSafetensorsFile } from './checkpoint-file.js';
export { installNodeWebGPU, SWIFTSHADER_ICD } from './webgpu.js';
