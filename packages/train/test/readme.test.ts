import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '@weft/core';
import { Trainer } from '../src/index.js';
import { toyModel, toySource, removeTempDirs, tempDir } from './toy.js';

afterAll(removeTempDirs);

describe('README', () => {
  beforeAll(() => useBackend('cpu'));

  it('runs the Use snippet, which appears verbatim in README.md', async () => {
    const model = toyModel();
    const source = toySource();
    const cwd = process.cwd();
    process.chdir(tempDir());
    try {
      // README:start
      const trainer = new Trainer(model, { lr: 3e-3, warmupSteps: 20, outDir: 'runs/x' });
      const summary = await trainer.train(source, { steps: 300 });
      console.log(
        `loss ${summary.firstLoss.toFixed(3)} -> ${summary.lastLoss.toFixed(3)}, checkpoint in ${summary.checkpoint}`,
      );
      // README:end
      expect(summary.lastLoss).toBeLessThan(summary.firstLoss);
      expect(existsSync(join('runs', 'x', 'loss.svg'))).toBe(true);
      trainer.dispose();
    } finally {
      process.chdir(cwd);
      model.dispose();
    }
    const self = readFileSync(join(__dirname, 'readme.test.ts'), 'utf8');
    const snippet = /\/\/ README:start\n([\s\S]*?)\s*\/\/ README:end/
      .exec(self)![1]
      .replace(/^ {6}/gm, '');
    expect(readFileSync(join(__dirname, '..', 'README.md'), 'utf8')).toContain(snippet);
  });
});
