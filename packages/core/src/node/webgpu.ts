/**
 * WebGPU in Node through the `webgpu` package (Google's Dawn). On a machine without a GPU,
 * Dawn can run on SwiftShader, the software Vulkan driver Debian's `chromium` package ships:
 * when no adapter is found and that driver exists, we point the Vulkan loader at it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BackendError } from '../errors.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface NodeGPU {
  requestAdapter(): Promise<unknown>;
}

let installed: Promise<void> | undefined;

type DawnModule = { create: (flags: string[]) => NodeGPU; globals: Record<string, unknown> };

/**
 * The `webgpu` package is ESM-only; where it cannot be imported (CommonJS hosts such as jest)
 * its native `dawn.node` addon is loaded directly.
 */
async function loadDawn(): Promise<DawnModule> {
  const spec = 'webgpu';
  try {
    return (await import(/* @vite-ignore */ spec)) as DawnModule;
  } catch (importError) {
    try {
      const require = createRequire(import.meta.url);
      const root = dirname(require.resolve(`${spec}/package.json`));
      const arch = process.platform === 'darwin' ? 'universal' : process.arch;
      return require(join(root, 'dist', `${process.platform}-${arch}`, 'dawn.node')) as DawnModule;
    } catch {
      throw new BackendError('WebGPU in Node needs the `webgpu` package (npm install webgpu).', { cause: importError });
    }
  }
}

async function tryAdapter(create: (flags: string[]) => NodeGPU): Promise<NodeGPU | null> {
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  return adapter ? gpu : null;
}

export function installNodeWebGPU(): Promise<void> {
  installed ??= (async () => {
    const mod = await loadDawn();
    Object.assign(globalThis, mod.globals);
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
    // The Vulkan loader reads VK_ICD_FILENAMES once, so choose SwiftShader before the first
    // adapter request, and only on a machine that shows no GPU device.
    const hasGpuDevice = ['/dev/dri/renderD128', '/dev/nvidia0', '/dev/dxg'].some((d) => existsSync(d));
    if (!hasGpuDevice && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const gpu = await tryAdapter(mod.create);
    if (!gpu) {
      throw new BackendError(
        'No WebGPU adapter: this machine has no GPU driver Dawn can use. Install the Vulkan loader and a software driver ' +
          `(Debian: apt-get install libvulkan1 chromium; chromium ships SwiftShader at ${SWIFTSHADER_ICD}) or use the wasm backend.`,
      );
    }
    Object.defineProperty(globalThis.navigator ?? ((globalThis as { navigator?: object }).navigator = {}), 'gpu', { value: gpu, configurable: true });
  })();
  return installed;
}
