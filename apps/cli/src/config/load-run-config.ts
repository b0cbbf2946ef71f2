/** The run config of `weft train`: a file or the default, with command-line overrides applied. */
import { DEFAULT_CONFIG_PATH } from '../paths.js';
import { readJsonFile } from './read-json-file.js';
import { parseRunConfig, type RunConfig } from './run-config.js';

/** Flags that override fields of the config file. */
export interface ConfigOverrides {
  steps?: number;
  batch?: number;
  seq?: number;
  lr?: number;
  backend?: string;
  evalEvery?: number;
  checkpointEvery?: number;
  seed?: number;
  /** --data PATH: train on this text file or directory instead. */
  data?: string;
  /** --task NAME: train on this synthetic task instead. */
  task?: string;
  /** --plugins a,b: load these plugin packages too. */
  plugins?: string[];
}

export interface LoadedRunConfig {
  config: RunConfig;
  /** Where it came from, for messages. */
  source: string;
}

const TRAIN_FLAGS = ['steps', 'batch', 'seq', 'lr', 'backend', 'evalEvery', 'checkpointEvery', 'seed'] as const;

export function applyOverrides(raw: Record<string, unknown>, overrides: ConfigOverrides): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const train = { ...((raw.train as Record<string, unknown>) ?? {}) };
  for (const key of TRAIN_FLAGS) if (overrides[key] !== undefined) train[key] = overrides[key];
  out.train = train;
  const fraction = (raw.data as Record<string, unknown> | undefined)?.validationFraction;
  const keep = fraction !== undefined ? { validationFraction: fraction } : {};
  if (overrides.data !== undefined) out.data = { path: overrides.data, ...keep };
  if (overrides.task !== undefined) out.data = { task: { name: overrides.task } };
  if (overrides.plugins?.length) out.plugins = [...new Set([...((raw.plugins as string[]) ?? []), ...overrides.plugins])];
  return out;
}

/** Read `path` (or configs/default.json), apply `overrides`, validate. */
export function loadRunConfig(path: string | undefined, overrides: ConfigOverrides = {}): LoadedRunConfig {
  const source = path ?? 'the default config';
  const raw = readJsonFile(path ?? DEFAULT_CONFIG_PATH, path ? 'config file' : 'default config');
  const merged = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? applyOverrides(raw as Record<string, unknown>, overrides) : raw;
  return { config: parseRunConfig(merged, source), source };
}
