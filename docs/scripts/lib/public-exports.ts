/**
 * The public exports of one entry file (a package's src/index.ts), read with the TypeScript
 * parser: `export { a, b as c } from './x.js'`, `export * from './y.js'`, and declarations
 * exported in the file itself. Each export gets its kind and the first sentence of its JSDoc.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

export interface ExportedSymbol {
  name: string;
  kind: string;
  summary: string;
  typeOnly: boolean;
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** `./x.js` -> the .ts source next to it, or undefined for packages outside the repo. */
function resolveModule(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier.replace(/\.js$/, ''));
  return [`${base}.ts`, `${base}/index.ts`].find(existsSync);
}

function firstSentence(node: ts.Node): string {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const comment = docs.length ? ts.getTextOfJSDocComment(docs[docs.length - 1].comment) : undefined;
  if (!comment) return '';
  const text = comment.replace(/\s+/g, ' ').trim();
  return (/^(.+?[.!?])(\s|$)/.exec(text)?.[1] ?? text).slice(0, 200);
}

function isExported(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** Declarations a file exports itself: name -> { kind, summary }. */
function localDeclarations(sf: ts.SourceFile): Map<string, Omit<ExportedSymbol, 'name' | 'typeOnly'>> {
  const out = new Map<string, Omit<ExportedSymbol, 'name' | 'typeOnly'>>();
  for (const st of sf.statements) {
    if (!isExported(st)) continue;
    const add = (name: string | undefined, kind: string) => name && out.set(name, { kind, summary: firstSentence(st) });
    if (ts.isClassDeclaration(st)) add(st.name?.text, 'class');
    else if (ts.isFunctionDeclaration(st)) add(st.name?.text, 'function');
    else if (ts.isInterfaceDeclaration(st)) add(st.name.text, 'interface');
    else if (ts.isTypeAliasDeclaration(st)) add(st.name.text, 'type');
    else if (ts.isEnumDeclaration(st)) add(st.name.text, 'enum');
    else if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) add(d.name.text, 'const');
  }
  return out;
}

const TYPE_KINDS = new Set(['interface', 'type']);

export function publicExports(entry: string, seen = new Set<string>()): ExportedSymbol[] {
  if (seen.has(entry)) return [];
  seen.add(entry);
  const sf = parse(entry);
  const out: ExportedSymbol[] = [];
  for (const [name, d] of localDeclarations(sf)) out.push({ name, ...d, typeOnly: TYPE_KINDS.has(d.kind) });
  for (const st of sf.statements) {
    if (ts.isExportAssignment(st)) out.push({ name: 'default', kind: 'default export', summary: firstSentence(st), typeOnly: false });
    if (!ts.isExportDeclaration(st)) continue;
    const specifier = st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
    const target = specifier ? resolveModule(entry, specifier) : undefined;
    const targetDecls = target ? localDeclarations(parse(target)) : new Map();
    if (!st.exportClause) {
      // export * from './x.js'
      if (target) out.push(...publicExports(target, seen));
      continue;
    }
    if (ts.isNamespaceExport(st.exportClause)) {
      out.push({ name: st.exportClause.name.text, kind: 'namespace', summary: '', typeOnly: st.isTypeOnly });
      continue;
    }
    for (const el of st.exportClause.elements) {
      const local = (el.propertyName ?? el.name).text;
      const d = targetDecls.get(local);
      const external = specifier && !specifier.startsWith('.') ? `re-exported from \`${specifier}\`` : '';
      out.push({
        name: el.name.text,
        kind: d?.kind ?? (st.isTypeOnly || el.isTypeOnly ? 'type' : 'value'),
        summary: d?.summary || external,
        typeOnly: st.isTypeOnly || el.isTypeOnly || TYPE_KINDS.has(d?.kind ?? ''),
      });
    }
  }
  return out;
}
