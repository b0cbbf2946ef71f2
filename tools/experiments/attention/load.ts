/**
 * Shared loading for the attention experiments: @weft/core, @weft/nn and the attention plugins,
 * imported from their sources by relative path (this folder is not a workspace package, so
 * `@weft/*` does not resolve from here; the plugins' own `@weft/*` imports resolve through their
 * node_modules links, to the same source files under `--conditions=source`).
 */
import * as core from '../../../packages/core/src/index.ts';
import * as nn from '../../../packages/nn/src/index.ts';
import type {
  AttentionContext,
  AttentionKernel,
  Registry,
  Tensor,
} from '../../../packages/core/src/index.ts';

export { core, nn };
export type { AttentionContext, AttentionKernel, Registry, Tensor };

/** Import a plugin's default export from plugins/<name>/src/index.ts, or undefined if it has none. */
export async function loadPlugin(name: string): Promise<unknown | undefined> {
  const url = new URL(`../../../plugins/${name}/src/index.ts`, import.meta.url);
  try {
    const mod = (await import(url.href)) as { default?: unknown };
    return mod.default;
  } catch (error) {
    console.warn(`skipping ${name}: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** An AttentionContext for a direct kernel call (no padding, no segments, eval mode). */
export function attentionContext(causal: boolean, scale: number, layerIndex = 0): AttentionContext {
  return {
    causal,
    scale,
    queryOffset: 0,
    training: false,
    rng: new core.Rng(0),
    layerIndex,
  } as AttentionContext;
}

/** "AMD EPYC, 2 cores, 23.5 GiB RAM, Linux … x64" for the pages. */
export async function machine(): Promise<string> {
  const os = await import('node:os');
  const cpu = os.cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}`;
}
