import { join } from 'node:path';
import { describeWithBackends, runReadmeSnippet } from '@weft/core/testing';

describeWithBackends('README', () => {
  it('the "Use" snippet runs as written', async () => {
    await runReadmeSnippet(join(__dirname, '..', 'README.md'));
  });
}, ['wasm']);
