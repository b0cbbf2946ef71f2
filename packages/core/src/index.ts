/**
 * @weft/core — the contracts every Weft package builds on.
 *
 * import { tf, createRegistry, definePlugin, positional, Module, Rng } from '@weft/core';
 */
// tsyringe needs the Reflect metadata polyfill before it loads; core brings it so users don't.
import 'reflect-metadata';
export { tf } from './tfjs.js';
export type { Tensor, Variable, Rank, DataType, TensorLike } from './tfjs.js';
export { z } from 'zod';

export * from './errors.js';
export { Rng, sizeOf, type RngState } from './rng.js';
export { init, type Initializer } from './init.js';
export { Module, ModuleList } from './module.js';
export type { ForwardContext, AttentionContext, StepContext, IndexRange, LogitBias, AuxLosses } from './context.js';
export * from './slots.js';
export {
  definePlugin,
  isPlugin,
  embedding,
  positional,
  attention,
  mixer,
  heads,
  feedforward,
  norm,
  reducer,
  memory,
  kvCache,
  trainer,
  parallel,
  type Plugin,
  type PluginManifest,
  type Paper,
  type Provider,
  type ProviderDef,
  type CreateContext,
  type CompatibilityEnv,
  type ModelDims,
  type SlotConfig,
  type OptionsSchema,
} from './plugin.js';
export { Registry, createRegistry, DEFAULT_DIMS, type RegistryEntry, type RegistryOptions } from './registry.js';
export { slotRef } from './config/slot-ref.js';
export { nearest, didYouMean, editDistance } from './config/did-you-mean.js';
export { formatPath, describeValue, formatZodIssues } from './config/format.js';
export { KNOWN_KINDS } from './config/catalogue.js';
export * from './services.js';
export { useBackend, ensureBackend, BACKEND_NAMES, DEFAULT_BACKEND, type BackendName } from './backends.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  DEFAULT_MAX_HEADER_BYTES,
  type Safetensors,
  type SafetensorsDtype,
  type TensorRecord,
} from './checkpoint/safetensors.js';
export { serializeModule, loadModuleState, recordsToTensors } from './checkpoint/state.js';
export { coreKernels, coreGradients } from './kernels/register.js';
export { assertShape, assertRank } from './shape.js';
export { withOwnTape, type TapeState, type TapeNodeLike } from './own-tape.js';
export { RunningState } from './running-state.js';
export { VERSION as CORE_VERSION } from './version.js';
