/**
 * `slotRef('attention')` is the zod schema a provider uses for an option that is itself a
 * slot config (declare the field in `nested` too). It accepts `"dense"` or `{ kind, ...}`
 * loosely; the registry then validates the nested config against its own provider.
 */
import { z } from 'zod';
import type { SlotName } from '../slots.js';

export function slotRef(_slot: SlotName, defaultConfig?: { kind: string; [k: string]: unknown }) {
  const schema = z.union([z.string(), z.looseObject({ kind: z.string() })]);
  return defaultConfig ? schema.default(defaultConfig) : schema;
}
