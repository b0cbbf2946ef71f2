import { join } from 'node:path';
import { runReadmeSnippet } from '@weft/core/testing';

test('the README usage snippet runs', async () => {
  await runReadmeSnippet(join(__dirname, '..', 'README.md'));
});
