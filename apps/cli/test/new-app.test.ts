import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWeft } from './helpers.js';

test('weft new app copies a template with published dependency ranges', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'weft-new-')), 'my-model');
  const result = await runWeft('new', 'app', 'node-train', dir);
  expect(result.code).toBe(0);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  expect(JSON.stringify(pkg)).not.toContain('workspace:');
  expect(existsSync(join(dir, 'src', 'train.ts'))).toBe(true);
  const bad = await runWeft('new', 'app', 'nope', join(dir, 'x'));
  expect(bad.code).not.toBe(0);
  expect(bad.err.join('\n')).toMatch(/node-train/);
});
