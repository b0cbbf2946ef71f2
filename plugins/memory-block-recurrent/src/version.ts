/** This package's version, for the plugin manifest. `pnpm check-packages` checks it equals package.json's. */
export const VERSION = '0.1.0';
