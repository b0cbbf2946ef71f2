/** Files shipped with the CLI package (configs/, package.json), found relative to this module. */
import { fileURLToPath } from 'node:url';

/** The CLI package's root directory (this file is src/paths.ts or dist/paths.js). */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../configs/default.json', import.meta.url));
export const PACKAGE_JSON_PATH = fileURLToPath(new URL('../package.json', import.meta.url));

/** The field-by-field guide to run configs that `weft init` copies next to a new config. */
export const CONFIG_GUIDE_PATH = fileURLToPath(new URL('../configs/README.md', import.meta.url));
