/**
 * Module: a tree of named parameters, like torch.nn.Module.
 *
 * Parameters are tfjs Variables registered under dotted names (`blocks.3.mixer.wq`); child
 * modules are registered by name. The tree gives parameter counts, freezing, train/eval mode,
 * state dicts for checkpoints, and one `dispose()` for everything.
 */
import { tf } from './tfjs.js';
import type { Initializer } from './init.js';
import type { Rng } from './rng.js';
import { CheckpointError, StateError } from './errors.js';

const MODULE_MARKER = Symbol.for('weft.module');

export class Module {
  readonly [MODULE_MARKER] = true;
  private readonly params = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();
  private disposed = false;
  training = true;

  static isModule(value: unknown): value is Module {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MODULE_MARKER] === true;
  }

  /** Create and register a parameter initialised by `initializer` with values drawn from `rng`. */
  protected addParameter(name: string, shape: number[], initializer: Initializer, rng: Rng, trainable = true): tf.Variable {
    if (this.params.has(name) || this.children.has(name)) throw new StateError(`Parameter "${name}" is already registered on ${this.constructor.name}`);
    const values = initializer(shape, rng);
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable));
    this.params.set(name, variable);
    return variable;
  }

  /** Register a child module (or `undefined`, which is ignored) and return it. */
  protected addModule<M extends Module | undefined>(name: string, module: M): M {
    if (module === undefined) return module;
    if (this.params.has(name) || this.children.has(name)) throw new StateError(`Module "${name}" is already registered on ${this.constructor.name}`);
    this.children.set(name, module);
    return module;
  }

  /** Register an object only if it is a Module (slot instances may be plain objects). */
  protected adopt<T>(name: string, value: T): T {
    if (Module.isModule(value)) this.addModule(name, value);
    return value;
  }

  namedParameters(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [name, p] of this.params) out.push([prefix + name, p]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(`${prefix}${name}.`));
    return out;
  }

  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, p]) => p);
  }

  trainableParameters(): tf.Variable[] {
    return this.parameters().filter((p) => p.trainable);
  }

  numParameters(trainableOnly = false): number {
    return (trainableOnly ? this.trainableParameters() : this.parameters()).reduce((n, p) => n + p.size, 0);
  }

  /** Switch this module and all children to training (true) or evaluation (false) mode. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Stop gradients to parameters whose dotted name matches (all when no filter). */
  freeze(filter?: (name: string) => boolean): this {
    for (const [name, p] of this.namedParameters()) if (!filter || filter(name)) p.trainable = false;
    return this;
  }

  unfreeze(filter?: (name: string) => boolean): this {
    for (const [name, p] of this.namedParameters()) if (!filter || filter(name)) p.trainable = true;
    return this;
  }

  /** Name -> tensor view of every parameter (the variables themselves; do not dispose). */
  stateDict(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Assign values to parameters by name. With `strict`, every parameter must be present and
   * no unknown name may appear; shapes must always match.
   */
  loadStateDict(values: Record<string, tf.Tensor>, strict = true): void {
    const params = new Map(this.namedParameters());
    if (strict) {
      const missing = [...params.keys()].filter((n) => !(n in values));
      const unexpected = Object.keys(values).filter((n) => !params.has(n));
      if (missing.length || unexpected.length) {
        throw new CheckpointError(
          `State dict does not match the model: missing [${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}], ` +
            `unexpected [${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ', ...' : ''}]. ` +
            'Was it saved from a model with a different config?',
        );
      }
    }
    // Check every shape before assigning anything: a failed load leaves the model untouched.
    for (const [name, value] of Object.entries(values)) {
      const p = params.get(name);
      if (p && p.shape.join(',') !== value.shape.join(',')) {
        throw new CheckpointError(`Parameter "${name}" has shape [${p.shape}] but the checkpoint holds [${value.shape}]`);
      }
    }
    tf.tidy(() => {
      for (const [name, value] of Object.entries(values)) {
        const p = params.get(name);
        if (p) p.assign(value.dtype === p.dtype ? value : tf.cast(value, p.dtype));
      }
    });
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Free every parameter of the tree. The module cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const p of this.params.values()) p.dispose();
    for (const child of this.children.values()) child.dispose();
    this.params.clear();
    this.children.clear();
    this.disposed = true;
  }
}

/** An ordered list of modules registered as `0`, `1`, ... */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(module: M): void {
    this.addModule(String(this.items.length), module);
    this.items.push(module);
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    return this.items[i];
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
