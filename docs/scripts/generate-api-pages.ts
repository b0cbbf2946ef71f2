/**
 * Writes docs/api/: the API reference of the library packages (packages/*), rendered by TypeDoc
 * with typedoc-plugin-markdown into Markdown pages VitePress builds like any other page. Every
 * subpath of a package's `exports` map whose `source` file exists is one entry point (one
 * TypeDoc module, named by its import specifier: `@weft/core`, `@weft/core/testing`, …); each
 * exported class, function, interface, type and variable gets a page with its full signature,
 * parameter types and doc comment. Plugin packages are documented by the plugin pages.
 *
 *   node --import tsx scripts/generate-api-pages.ts
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Application, Comment, Converter, ReflectionKind, type DeclarationReflection, type ProjectReflection } from 'typedoc';
import { apiEntries, type ApiEntry } from './lib/api-entries.js';
import { finishApiPages, moduleDir, renderApiIndex } from './lib/api-page.js';
import { API_PAGES_DIR, DOCS_DIR, REPO_ROOT } from './lib/paths.js';

const started = Date.now();
const entries: ApiEntry[] = apiEntries(join(REPO_ROOT, 'packages'));
const bySource = new Map(entries.map((e) => [e.file, e]));

if (existsSync(API_PAGES_DIR)) rmSync(API_PAGES_DIR, { recursive: true });

const app = await Application.bootstrapWithPlugins({
  entryPoints: entries.map((e) => e.file),
  entryPointStrategy: 'resolve',
  // One program over the package sources (`source` export condition), so cross-package types link.
  tsconfig: join(DOCS_DIR, 'tsconfig.api.json'),
  plugin: ['typedoc-plugin-markdown'],
  out: API_PAGES_DIR,
  readme: 'none',
  name: 'Weft API',
  // The packages are typechecked by their own `tsc`; here only declarations are read (faster on
  // two cores, and a package that does not typecheck at the moment does not block the docs).
  skipErrorChecking: true,
  // `tf` (tfjs-core) and `z` (zod) are re-exported by @weft/core; their own docs cover them.
  excludeExternals: true,
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  // "Defined in packages/…/x.ts:12", linked to the file when the git remote is a known host.
  basePath: REPO_ROOT,
  validation: { notExported: false, invalidLink: true, notDocumented: false },
  logLevel: 'Warn',
  // typedoc-plugin-markdown
  router: 'member',
  entryFileName: 'index',
  excludeScopesInPaths: true,
  hidePageHeader: true,
  hideBreadcrumbs: true,
  useCodeBlocks: true,
  expandObjects: false,
  parametersFormat: 'table',
  interfacePropertiesFormat: 'table',
  classPropertiesFormat: 'table',
  typeDeclarationFormat: 'table',
  indexFormat: 'table',
  sanitizeComments: true,
} as Parameters<typeof Application.bootstrapWithPlugins>[0]);

// Name each module by its import specifier and describe it with its package description.
app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
  const project: ProjectReflection = context.project;
  for (const mod of project.getReflectionsByKind(ReflectionKind.Module)) {
    const file = project.getSymbolIdFromReflection(mod)?.fileName;
    const entry = file ? bySource.get(file) : undefined;
    if (!entry) throw new Error(`generate-api-pages: no entry point for TypeDoc module "${mod.name}" (${file})`);
    mod.name = entry.specifier;
    if (!mod.comment) mod.comment = new Comment([{ kind: 'text', text: entry.description }]);
  }
});

// Inherited members are documented once, on the class or interface that declares them (every
// Module subclass would otherwise repeat Module's twenty methods); pages link to the base type.
app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
  const project: ProjectReflection = context.project;
  for (const owner of project.getReflectionsByKind(ReflectionKind.ClassOrInterface)) {
    for (const child of [...((owner as DeclarationReflection).children ?? [])]) {
      if (child.inheritedFrom && !child.overwrites) project.removeReflection(child);
    }
  }
});

const project = await app.convert();
if (!project) throw new Error('generate-api-pages: TypeDoc could not convert the packages');
await app.generateOutputs(project);
if (app.logger.hasErrors()) throw new Error('generate-api-pages: TypeDoc reported errors');

const pages = finishApiPages(API_PAGES_DIR);
for (const e of entries) {
  if (!existsSync(join(API_PAGES_DIR, moduleDir(e.specifier), 'index.md'))) throw new Error(`generate-api-pages: TypeDoc wrote no page for ${e.specifier}`);
}
writeFileSync(join(API_PAGES_DIR, 'index.md'), renderApiIndex(entries));
console.log(`generate-api-pages: ${entries.length} entry points, ${pages} pages in docs/api/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
