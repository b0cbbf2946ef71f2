/** What a package's test folder says about it: test files, parity fixtures. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface TestStatus {
  testFiles: number;
  fixtures: number;
}

function countFiles(dir: string, keep: (name: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += countFiles(join(dir, entry.name), keep);
    else if (keep(entry.name)) n += 1;
  }
  return n;
}

export function testStatus(packageDir: string): TestStatus {
  const test = join(packageDir, 'test');
  return {
    testFiles: countFiles(test, (name) => /\.test\.[cm]?[jt]s$/.test(name)),
    fixtures: countFiles(join(test, 'fixtures'), () => true),
  };
}

export function renderTestStatus(s: TestStatus): string {
  const tests = s.testFiles === 1 ? '1 test file' : `${s.testFiles} test files`;
  const parity = s.fixtures
    ? `parity fixtures: yes (${s.fixtures} file${s.fixtures === 1 ? '' : 's'} in \`test/fixtures/\`, generated from a PyTorch reference)`
    : 'parity fixtures: none (`test/fixtures/` does not exist)';
  return `- ${tests}\n- ${parity}`;
}
