/**
 * WebGPU in Node through the `webgpu` package (Google's Dawn). On a machine without a GPU,
 * Dawn can run on SwiftShader, the software Vulkan driver Debian's `chromium` package ships:
 * when no adapter is found and that driver exists, we point the Vulkan loader at it.
 */
import { existsSync } from 'node:fs';
import { BackendError } from '../errors.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface NodeGPU {
  requestAdapter(): Promise<unknown>;
}

let installed: Promise<void> | undefined;

async function tryAdapter(create: (flags: string[]) => NodeGPU): Promise<NodeGPU | null> {
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  return adapter ? gpu : null;
}

export function installNodeWebGPU(): Promise<void> {
  installed ??= (async () => {
    let mod: { create: (flags: string[]) => NodeGPU; globals: Record<string, unknown> };
    try {
      const spec = 'webgpu';
      mod = await import(/* @vite-ignore */ spec);
    } catch (cause) {
      throw new BackendError('WebGPU in Node needs the `webgpu` package (npm install webgpu).', { cause });
    }
    Object.assign(globalThis, mod.globals);
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
    let gpu = await tryAdapter(mod.create);
    if (!gpu && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      gpu = await tryAdapter(mod.create);
    }
    if (!gpu) {
      throw new BackendError(
        'No WebGPU adapter: this machine has no GPU driver Dawn can use. Install a software Vulkan driver ' +
          `(Debian: apt-get install chromium, which ships ${SWIFTSHADER_ICD}) or use the wasm backend.`,
      );
    }
    Object.defineProperty(globalThis.navigator ?? ((globalThis as { navigator?: object }).navigator = {}), 'gpu', { value: gpu, configurable: true });
  })();
  return installed;
}
