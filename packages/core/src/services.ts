/**
 * Shared services: container singletons that plugins may ask for by token.
 */
import type { InjectionToken } from 'tsyringe';
import type { Rng } from './rng.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

/** A running progress display (a bar on a terminal, periodic lines elsewhere). */
export interface ProgressHandle {
  update(current: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export interface Progress {
  start(label: string, total: number): ProgressHandle;
}

export interface BackendInfo {
  readonly name: string;
  readonly threads: number;
}

export const RNG: InjectionToken<Rng> = Symbol.for('weft.service.rng');
export const LOGGER: InjectionToken<Logger> = Symbol.for('weft.service.logger');
export const PROGRESS: InjectionToken<Progress> = Symbol.for('weft.service.progress');
export const BACKEND_INFO: InjectionToken<BackendInfo> = Symbol.for('weft.service.backend');

export const consoleLogger: Logger = {
  debug: (m) => {
    if (typeof process !== 'undefined' && process.env?.WEFT_DEBUG) console.debug(m);
  },
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
};

export const silentProgress: Progress = {
  start: () => ({ update: () => undefined, stop: () => undefined }),
};
