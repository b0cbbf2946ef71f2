/** Where things are: the docs package and the monorepo around it. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DOCS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO_ROOT = resolve(DOCS_DIR, '..');
export const PLUGINS_DIR = resolve(REPO_ROOT, 'plugins');
export const PLUGIN_PAGES_DIR = resolve(DOCS_DIR, 'plugins');
export const API_PAGES_DIR = resolve(DOCS_DIR, 'api');
export const DIST_DIR = resolve(DOCS_DIR, '.vitepress/dist');
