/**
 * Typed errors. Every error Weft throws on purpose is a `WeftError` with a stable `code`.
 * `instanceof` fails across two copies of a package, so errors carry a `Symbol.for` marker
 * and each class has a static `isInstance()` that checks it.
 */
const MARKER = Symbol.for('weft.error');

export type WeftErrorCode =
  | 'WEFT_CONFIG'
  | 'WEFT_REGISTRY_CONFLICT'
  | 'WEFT_UNKNOWN_KIND'
  | 'WEFT_INCOMPATIBLE'
  | 'WEFT_CHECKPOINT'
  | 'WEFT_SHAPE'
  | 'WEFT_BACKEND'
  | 'WEFT_PLUGIN'
  | 'WEFT_STATE'
  | 'WEFT_TRAINING';

export class WeftError extends Error {
  readonly [MARKER] = true;
  readonly code: WeftErrorCode;

  constructor(code: WeftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for any WeftError, from any copy of @weft/core. */
  static isInstance(value: unknown): value is WeftError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

function hasCode(value: unknown, code: WeftErrorCode): boolean {
  return WeftError.isInstance(value) && value.code === code;
}

/** A config or option failed validation. `path` is the JSON path of the bad field. */
export class ConfigError extends WeftError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('WEFT_CONFIG', path ? `${path}: ${message}` : message);
    this.path = path;
  }
  static override isInstance(value: unknown): value is ConfigError {
    return hasCode(value, 'WEFT_CONFIG');
  }
}

/** A config names a kind no installed plugin provides. */
export class UnknownKindError extends WeftError {
  readonly path: string;
  readonly kind: string;
  constructor(path: string, kind: string, message: string) {
    super('WEFT_UNKNOWN_KIND', path ? `${path}: ${message}` : message);
    this.path = path;
    this.kind = kind;
  }
  static override isInstance(value: unknown): value is UnknownKindError {
    return hasCode(value, 'WEFT_UNKNOWN_KIND');
  }
}

/** Two slot implementations that cannot work together (e.g. a bias encoding + a kernel without bias support). */
export class IncompatibleError extends WeftError {
  constructor(message: string) {
    super('WEFT_INCOMPATIBLE', message);
  }
  static override isInstance(value: unknown): value is IncompatibleError {
    return hasCode(value, 'WEFT_INCOMPATIBLE');
  }
}

/** Two plugins (or two versions of one plugin) claim the same slot and kind. */
export class RegistryConflictError extends WeftError {
  constructor(message: string) {
    super('WEFT_REGISTRY_CONFLICT', message);
  }
  static override isInstance(value: unknown): value is RegistryConflictError {
    return hasCode(value, 'WEFT_REGISTRY_CONFLICT');
  }
}

/** A plugin manifest is malformed. */
export class PluginError extends WeftError {
  constructor(message: string) {
    super('WEFT_PLUGIN', message);
  }
  static override isInstance(value: unknown): value is PluginError {
    return hasCode(value, 'WEFT_PLUGIN');
  }
}

/** A checkpoint file is corrupt, truncated, or does not match the model. */
export class CheckpointError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEFT_CHECKPOINT', message, options);
  }
  static override isInstance(value: unknown): value is CheckpointError {
    return hasCode(value, 'WEFT_CHECKPOINT');
  }
}

/** A tensor argument has the wrong rank, shape or dtype. */
export class ShapeError extends WeftError {
  constructor(message: string) {
    super('WEFT_SHAPE', message);
  }
  static override isInstance(value: unknown): value is ShapeError {
    return hasCode(value, 'WEFT_SHAPE');
  }
}

/** A compute backend is missing or failed to start. */
export class BackendError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEFT_BACKEND', message, options);
  }
  static override isInstance(value: unknown): value is BackendError {
    return hasCode(value, 'WEFT_BACKEND');
  }
}

/** An object was used in a state that does not allow it (disposed module, stepping past a cache). */
export class StateError extends WeftError {
  constructor(message: string) {
    super('WEFT_STATE', message);
  }
  static override isInstance(value: unknown): value is StateError {
    return hasCode(value, 'WEFT_STATE');
  }
}

/** Training cannot continue (e.g. too many non-finite losses in a row). */
export class TrainingError extends WeftError {
  constructor(message: string) {
    super('WEFT_TRAINING', message);
  }
  static override isInstance(value: unknown): value is TrainingError {
    return hasCode(value, 'WEFT_TRAINING');
  }
}
