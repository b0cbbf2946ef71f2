import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRAIN_VERSION } from '../src/index.js';

it('TRAIN_VERSION is the package.json version', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  expect(TRAIN_VERSION).toBe(pkg.version);
});
