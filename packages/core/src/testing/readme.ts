/**
 * README snippets are run by tests: `await runReadmeSnippet(join(__dirname, '../README.md'))`
 * takes the first ```ts block under a heading (default "Use"), moves its imports to the top of
 * a generated module, wraps the rest in an async function, writes it next to the README (under
 * .snippets/, gitignored and outside the typechecked folders) and runs it through jest's own
 * transform and module mapping.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function readmeSnippet(readmePath: string, heading = 'Use'): string {
  const text = readFileSync(readmePath, 'utf8');
  const start = text.search(new RegExp(`^#{2,3} ${heading}\\s*$`, 'm'));
  if (start < 0) throw new Error(`${readmePath} has no "## ${heading}" section`);
  const block = /```(?:ts|typescript)\n([\s\S]*?)```/.exec(text.slice(start));
  if (!block) throw new Error(`${readmePath}: the "${heading}" section has no \`\`\`ts block`);
  return block[1];
}

/** Split a snippet into its import statements (possibly multi-line) and the remaining body. */
function splitImports(code: string): { imports: string; body: string } {
  const imports: string[] = [];
  const body: string[] = [];
  let pending: string[] | null = null;
  for (const line of code.split('\n')) {
    if (pending) {
      pending.push(line);
      if (/from\s+['"][^'"]+['"];?\s*$/.test(line)) {
        imports.push(pending.join('\n'));
        pending = null;
      }
    } else if (/^import\s/.test(line)) {
      if (/from\s+['"][^'"]+['"];?\s*$/.test(line) || /^import\s+['"]/.test(line)) imports.push(line);
      else pending = [line];
    } else body.push(line);
  }
  return { imports: imports.join('\n'), body: body.join('\n') };
}

/** Write the snippet as a module in `<package>/.snippets/` and run it; resolves to what the snippet's body returns. */
export async function runReadmeSnippet(readmePath: string, options: { heading?: string; dir?: string } = {}): Promise<unknown> {
  const { imports, body } = splitImports(readmeSnippet(readmePath, options.heading));
  const dir = options.dir ?? join(dirname(readmePath), '.snippets');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${basename(dirname(readmePath))}-${(options.heading ?? 'Use').toLowerCase()}.ts`);
  writeFileSync(file, `// Generated from ${basename(readmePath)} by runReadmeSnippet; do not edit.\n${imports}\n\nexport default async function snippet(): Promise<unknown> {\n${body}\n  return undefined;\n}\n`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { default: () => Promise<unknown> };
  return mod.default();
}
